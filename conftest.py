"""Root pytest configuration: doctests that read the benchmark data find it or skip (fail in CI);
doctests that export or run ONNX skip without the ``onnx`` extra."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ONNX_DOCTESTS = ("nn.export.export_onnx", "deploy.predictor.OnnxPredictor")  # export, run
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


@pytest.fixture(autouse=True)
def _doctests_need_onnx(request):
    if request.node.__class__.__name__ == "DoctestItem" and any(
        part in request.node.name for part in ONNX_DOCTESTS
    ):
        missing = [m for m in ("onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            pytest.skip(f"{missing} not installed: pip install 'sae-forecast[onnx]'")
    yield
