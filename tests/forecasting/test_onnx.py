"""to_onnx: the merged model in one graph, equal to torch; the predictor equal to predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.exceptions import NotFittedError

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import load_dataset
from sae_forecast.deploy import OnnxPredictor
from sae_forecast.nn import LightSAEEmbedding
from tests.forecasting.conftest import make_frame
from tests.forecasting.test_forecasters import ALL, tiny

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")  # the exporter writes the graph with it

EMBEDDINGS = ["shared", "lightsae"]
CASES = [(cls, embedding) for cls in ALL for embedding in EMBEDDINGS]
IDS = [f"{cls.__name__}-{embedding}" for cls, embedding in CASES]
TOLERANCE = 1e-5  # scaled units (the graph's); original units: relative (see _assert_close)
ETTH1_COLUMNS = ["HUFL", "MUFL", "OT"]  # three of ETTh1's channels: the tiny models' three


def _spread_gates(model: torch.nn.Module) -> None:
    """Make the LightSAE residual large: after two epochs it is still almost zero (B starts
    at 0), so merged and unmerged weights would agree whether or not the merge is right."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, LightSAEEmbedding):
            with torch.no_grad():
                for parameter in (module.left_pool, module.right, module.gate_logits):
                    noise = torch.randn(parameter.shape, generator=generator)
                    parameter.add_(noise * 0.3)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Fitted and exported forecasters, one per backbone x embedding, made on first use."""
    folder = tmp_path_factory.mktemp("onnx")
    cache = {}

    def get(cls, embedding):
        if (cls, embedding) not in cache:
            forecaster = tiny(cls, embedding=embedding).fit(make_frame())
            _spread_gates(forecaster.model_)
            path = folder / f"{cls.__name__}-{embedding}.onnx"
            forecaster.to_onnx(path)
            cache[cls, embedding] = forecaster, path
        return cache[cls, embedding]

    return get


def _session(path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _torch_forecast(forecaster, windows: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return forecaster.model_(torch.from_numpy(windows)).numpy()


def _max_difference(forecaster, path, windows: np.ndarray) -> float:
    (graph,) = _session(path).run(["forecast"], {"window": windows})
    return float(np.abs(graph - _torch_forecast(forecaster, windows)).max())


def _assert_close(actual, expected, scale) -> None:
    """Equal within TOLERANCE in scaled units: ``scale`` is the scaler's std per channel."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    difference = np.abs(actual - expected)
    assert np.all(difference <= TOLERANCE * np.asarray(scale)), difference.max()


@pytest.mark.parametrize(("cls", "embedding"), CASES, ids=IDS)
def test_graph_equals_the_torch_model_on_random_windows(exported, cls, embedding):
    forecaster, path = exported(cls, embedding)
    rng = np.random.default_rng(0)
    for batch in (1, 5):  # the batch axis is dynamic
        windows = rng.normal(size=(batch, 12, 3)).astype(np.float32) * 3 + 1
        assert _max_difference(forecaster, path, windows) <= TOLERANCE


@pytest.mark.parametrize(("cls", "embedding"), CASES, ids=IDS)
def test_graph_equals_the_torch_model_on_etth1_windows(exported, data_home, cls, embedding):
    forecaster, path = exported(cls, embedding)
    values = load_dataset("ETTh1", data_home)[ETTH1_COLUMNS].to_numpy()
    values = (values - values.mean(axis=0)) / values.std(axis=0)
    windows = np.stack([values[start : start + 12] for start in (0, 5000, 17000)])
    assert _max_difference(forecaster, path, windows.astype(np.float32)) <= TOLERANCE


@pytest.mark.parametrize(("cls", "embedding"), CASES, ids=IDS)
def test_predictor_equals_predict(exported, cls, embedding):
    forecaster, path = exported(cls, embedding)
    predictor = OnnxPredictor.load(path, n_threads=1)
    frame = make_frame()
    expected = forecaster.predict(fh=list(range(1, 7)))
    _assert_close(predictor.predict(frame.tail(12)), expected, forecaster.scaler_.std)
    _assert_close(predictor.predict(frame), expected, forecaster.scaler_.std)  # longer rows


@pytest.mark.parametrize("cls", ALL, ids=[cls.__name__ for cls in ALL])
def test_graph_holds_the_merged_weights_and_no_gates_or_pool(exported, cls):
    forecaster, path = exported(cls, "lightsae")
    weights = {w.name: onnx.numpy_helper.to_array(w) for w in onnx.load(path).graph.initializer}
    embedding = forecaster.model_.embedding
    for name in ("left_pool", "right", "gate_logits", "shared_weight", "bias_pool"):
        assert not any(name in key for key in weights), (name, sorted(weights))
        unmerged = getattr(embedding, name, None)
        if unmerged is not None:  # nor under another name
            unmerged = unmerged.detach().numpy()
            assert not any(np.array_equal(w, unmerged) for w in weights.values()), name
    merged = embedding.merged_weight().detach().numpy()  # (N, in, out)
    assert any(np.array_equal(w, merged) for w in weights.values())


def test_metadata_holds_the_scaler_window_and_columns(exported):
    forecaster, path = exported(LightSAERLinearForecaster, "lightsae")
    props = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(props["sae_forecast.scaler_mean"]) == forecaster.scaler_.mean.tolist()
    assert json.loads(props["sae_forecast.scaler_std"]) == forecaster.scaler_.std.tolist()
    assert json.loads(props["sae_forecast.seq_len"]) == 12
    assert json.loads(props["sae_forecast.pred_len"]) == 6
    assert json.loads(props["sae_forecast.columns"]) == ["sensor_0", "sensor_1", "sensor_2"]
    assert json.loads(props["sae_forecast.fill"]) == "forward"


def test_predictor_undoes_the_scaler_of_a_series_far_from_zero(tmp_path):
    frame = make_frame() * 1000 + 1e5  # mean ~1e5, std ~7e3: a dropped scaler is far off
    forecaster = tiny(embedding="lightsae").fit(frame)
    forecaster.to_onnx(tmp_path / "big.onnx")
    predictor = OnnxPredictor.load(tmp_path / "big.onnx", n_threads=1)
    expected = forecaster.predict(fh=list(range(1, 7))).to_numpy()
    _assert_close(predictor.predict(frame.tail(12)), expected, forecaster.scaler_.std)
    assert np.abs(expected).min() > 5e4


def test_predictor_fills_gaps_as_predict_does(tmp_path):
    frame = make_frame()
    values = frame.to_numpy(copy=True)
    values[-12, 0] = np.nan  # a gap at the start of the window: filled from the row before
    values[-5:-2, 1] = np.nan  # an outage inside it
    values[-1, 2] = np.nan  # the latest row missing
    values[-30:, 0][::4] = np.nan
    gappy = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    forecaster = tiny(embedding="lightsae").fit(gappy)
    forecaster.to_onnx(tmp_path / "gaps.onnx")
    predictor = OnnxPredictor.load(tmp_path / "gaps.onnx", n_threads=1)
    expected = forecaster.predict(fh=list(range(1, 7))).to_numpy()
    _assert_close(predictor.predict(gappy.tail(13)), expected, forecaster.scaler_.std)
    _assert_close(predictor.predict(gappy), expected, forecaster.scaler_.std)
    # the last 12 rows alone: the leading gap takes the training mean, not the row before
    assert not np.allclose(predictor.predict(gappy.tail(12)), expected, atol=1e-4)


def test_predictor_equals_predict_after_update(tmp_path):
    frame = make_frame(n_rows=200)
    forecaster = tiny().fit(frame.iloc[:160]).update(frame.iloc[160:], update_params=False)
    forecaster.to_onnx(tmp_path / "updated.onnx")
    predictor = OnnxPredictor.load(tmp_path / "updated.onnx", n_threads=1)
    expected = forecaster.predict(fh=list(range(1, 7)))
    _assert_close(predictor.predict(frame.tail(12)), expected, forecaster.scaler_.std)


@pytest.mark.parametrize("cls", ALL, ids=[cls.__name__ for cls in ALL])
def test_predictor_equals_predict_on_etth1(tmp_path, data_home, cls):
    y = load_dataset("ETTh1", data_home).iloc[:400]
    forecaster = tiny(cls, embedding="lightsae", max_epochs=1).fit(y)
    forecaster.to_onnx(tmp_path / "etth1.onnx")
    predictor = OnnxPredictor.load(tmp_path / "etth1.onnx", n_threads=1)
    expected = forecaster.predict(fh=list(range(1, 7)))
    _assert_close(predictor.predict(y.tail(12)), expected, forecaster.scaler_.std)
    batch = np.stack([y.to_numpy()[-12:], y.to_numpy()[-12:]])  # (2, L, N): batched rows
    _assert_close(predictor.predict(batch)[1], expected, forecaster.scaler_.std)


def test_quantile_forecaster_exports_its_median(tmp_path):
    forecaster = tiny(interval_method="quantile", quantile_levels=(0.1, 0.5, 0.9))
    forecaster.fit(make_frame())
    forecaster.to_onnx(tmp_path / "median.onnx")
    predictor = OnnxPredictor.load(tmp_path / "median.onnx", n_threads=1)
    expected = forecaster.predict(fh=list(range(1, 7)))
    _assert_close(predictor.predict(make_frame().tail(12)), expected, forecaster.scaler_.std)


def test_to_onnx_before_fit_says_fit_first(tmp_path):
    with pytest.raises(NotFittedError, match="has not been fitted"):
        tiny().to_onnx(tmp_path / "model.onnx")


def test_to_onnx_refuses_bf16(tmp_path):
    forecaster = tiny(max_epochs=1, precision="bf16").fit(make_frame())
    with pytest.raises(NotImplementedError, match="precision='fp32'"):
        forecaster.to_onnx(tmp_path / "model.onnx")
