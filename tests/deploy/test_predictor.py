"""OnnxPredictor without torch: loading, input errors, and a process that never imports torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sae_forecast.deploy import ForecastMetadata, OnnxPredictor
from sae_forecast.nn import RLinear
from sae_forecast.nn.export import export_onnx
from tests.forecasting.conftest import make_frame
from tests.forecasting.test_forecasters import tiny

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny fitted forecaster, its ONNX file and the frame it was fitted on."""
    frame = make_frame()
    forecaster = tiny(embedding="lightsae").fit(frame)
    path = tmp_path_factory.mktemp("deploy") / "model.onnx"
    forecaster.to_onnx(path)
    return forecaster, path, frame


def test_predictor_process_imports_neither_torch_nor_sktime_nor_skorch(fitted, tmp_path):
    forecaster, path, frame = fitted
    np.save(tmp_path / "rows.npy", frame.to_numpy()[-12:])
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from sae_forecast.deploy import OnnxPredictor
        predictor = OnnxPredictor.load({str(path)!r}, n_threads=1)
        forecast = predictor.predict(np.load({str(tmp_path / "rows.npy")!r}))
        np.save({str(tmp_path / "forecast.npy")!r}, forecast)
        loaded = [m for m in ("torch", "sktime", "skorch", "pandas") if m in sys.modules]
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)
    expected = forecaster.predict(fh=list(range(1, 7))).to_numpy()
    forecast = np.load(tmp_path / "forecast.npy")
    assert np.all(np.abs(forecast - expected) <= 1e-5 * forecaster.scaler_.std)


def test_predictor_reads_the_metadata(fitted):
    forecaster, path, _ = fitted
    predictor = OnnxPredictor.load(path, n_threads=1)
    assert (predictor.seq_len, predictor.pred_len) == (12, 6)
    assert predictor.columns == ("sensor_0", "sensor_1", "sensor_2")
    assert predictor.metadata.forecaster == "LightSAERLinearForecaster"
    np.testing.assert_array_equal(predictor.metadata.mean, forecaster.scaler_.mean)
    np.testing.assert_array_equal(predictor.metadata.std, forecaster.scaler_.std)


def test_predictor_matches_columns_by_name(fitted):
    _, path, frame = fitted
    predictor = OnnxPredictor.load(path, n_threads=1)
    shuffled = frame[["sensor_2", "sensor_0", "sensor_1"]]
    np.testing.assert_array_equal(predictor.predict(shuffled), predictor.predict(frame))


def test_too_few_rows_say_how_many_are_needed(fitted):
    _, path, frame = fitted
    predictor = OnnxPredictor.load(path, n_threads=1)
    with pytest.raises(ValueError, match=r"rows has 11 rows, fewer than the seq_len=12"):
        predictor.predict(frame.to_numpy()[-11:])


def test_wrong_channels_are_named(fitted):
    _, path, frame = fitted
    predictor = OnnxPredictor.load(path, n_threads=1)
    with pytest.raises(ValueError, match=r"\(n_rows, 3\) .* got \(12, 2\); pass one column"):
        predictor.predict(frame.to_numpy()[-12:, :2])
    renamed = frame.rename(columns={"sensor_1": "humidity"})
    with pytest.raises(ValueError, match=r"columns \['sensor_0', 'humidity', 'sensor_2'\]"):
        predictor.predict(renamed)


def test_infinite_values_are_refused(fitted):
    _, path, frame = fitted
    rows = frame.to_numpy()[-12:].copy()
    rows[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinite values; replace them with NaN"):
        OnnxPredictor.load(path, n_threads=1).predict(rows)


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(FileNotFoundError, match=r"no ONNX file at .*nowhere\.onnx.*to_onnx"):
        OnnxPredictor.load(missing)


def test_file_without_metadata_names_the_missing_keys(tmp_path):
    export_onnx(RLinear(12, 6, n_channels=3), tmp_path / "bare.onnx")
    with pytest.raises(ValueError, match=r"lacks the metadata \['sae_forecast.format_version'"):
        OnnxPredictor.load(tmp_path / "bare.onnx")


def test_unknown_format_version_is_refused():
    meta = ForecastMetadata(4, 2, ("a",), np.zeros(1), np.ones(1))
    props = {**meta.to_props(), "sae_forecast.format_version": '"99"'}
    with pytest.raises(ValueError, match="format version '99'"):
        ForecastMetadata.from_props(props)


def test_export_without_onnxscript_says_which_extra_to_install(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxscript" else find_spec(name)
    )
    with pytest.raises(ImportError, match=r"needs onnxscript .*'sae-forecast\[onnx\]'"):
        export_onnx(RLinear(12, 6, n_channels=3), tmp_path / "model.onnx")


def test_a_missing_time_stamp_is_refused_not_read_as_consecutive(fitted):
    _, path, frame = fitted
    predictor = OnnxPredictor.load(path, n_threads=1)
    holed = frame.tail(14).drop(frame.index[-5])
    with pytest.raises(ValueError, match=r"no regular step .* rows\.asfreq\(freq\)"):
        predictor.predict(holed)
    filled = predictor.predict(holed.asfreq("h"))  # the hole as a row of NaN: fine
    assert np.isfinite(filled).all()
    monthly = frame.tail(14).set_axis(pd.period_range("2000-01", periods=14, freq="M"))
    np.testing.assert_array_equal(predictor.predict(monthly), predictor.predict(frame))
    with pytest.raises(ValueError, match="no regular step between 2000-01 and 2001-02"):
        predictor.predict(monthly.drop(monthly.index[3]))
