"""Shared fixtures: a fixed seed for every test and the data directory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    """Seed the global generators so every test is repeatable on its own."""
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - seeds code that still uses the legacy global state
    yield


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The folder holding the real benchmark files (``$SAE_FORECAST_DATA``).

    Outside CI a missing folder skips the test; in CI (``CI=true``) it fails, so a broken
    data set-up cannot pass silently.
    """
    path = Path(os.environ.get("SAE_FORECAST_DATA", Path(__file__).parents[1] / "../shared/data"))
    if not (path / "ETTh1.csv.gz").is_file():
        message = f"benchmark data not found in {path.resolve()} (set SAE_FORECAST_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path.resolve()
