"""Root pytest configuration: doctests that read the benchmark data find it or skip (fail in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_HOME = Path(os.environ.get("SAE_FORECAST_DATA", Path(__file__).parent / "../shared/data"))


@pytest.fixture(autouse=True)
def _doctests_need_data(request):
    if request.node.__class__.__name__ == "DoctestItem" and "loaders" in request.node.name:
        if not (DATA_HOME / "ETTh1.csv.gz").is_file():
            if os.environ.get("CI"):
                pytest.fail(f"benchmark data not found in {DATA_HOME.resolve()}")
            pytest.skip(f"benchmark data not found in {DATA_HOME.resolve()}")
        os.environ.setdefault("SAE_FORECAST_DATA", str(DATA_HOME.resolve()))
    yield
