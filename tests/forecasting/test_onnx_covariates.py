"""to_onnx with covariates X: a second graph input, and the predictor equal to predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.deploy import OnnxPredictor
from tests.forecasting.conftest import make_frame
from tests.forecasting.test_forecasters import ALL, tiny

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

N_ROWS, SEQ_LEN, PRED_LEN = 160, 12, 6
FH = list(range(1, PRED_LEN + 1))


def _series() -> tuple[pd.DataFrame, pd.DataFrame]:
    """y, and X over y's rows and the next PRED_LEN, with gaps in the lookback and horizon."""
    y = make_frame(n_rows=N_ROWS)
    index = pd.date_range(y.index[0], periods=N_ROWS + PRED_LEN, freq="h")
    rng = np.random.default_rng(3)
    steps = np.arange(len(index))
    X = pd.DataFrame(
        {
            "temperature": 20 + 5 * np.sin(steps / 7) + rng.normal(size=len(index)),
            "load": 300 + 40 * np.cos(steps / 5) + rng.normal(size=len(index)) * 10,
        },
        index=index,
    )
    X.iloc[N_ROWS - 10, 0] = np.nan  # a gap in the lookback
    X.iloc[N_ROWS - 3 : N_ROWS - 1, 1] = np.nan
    X.iloc[[N_ROWS, N_ROWS + 2], 0] = np.nan  # unknown future values: filled forward, the
    # first from the last lookback row
    return y, X


def _fit_and_load(tmp_path, cls=LightSAERLinearForecaster, **params):
    y, X = _series()
    forecaster = tiny(cls, embedding="lightsae", **params).fit(y, X=X.iloc[:N_ROWS])
    forecaster.to_onnx(tmp_path / "covariates.onnx")
    return forecaster, OnnxPredictor.load(tmp_path / "covariates.onnx", n_threads=1), y, X


def _assert_close(actual, expected, scale) -> None:
    difference = np.abs(np.asarray(actual) - np.asarray(expected))
    assert np.all(difference <= 1e-5 * np.asarray(scale)), difference.max()


@pytest.mark.parametrize("cls", ALL, ids=[cls.__name__ for cls in ALL])
def test_predictor_with_future_and_past_covariates_equals_predict(tmp_path, cls):
    forecaster, predictor, y, X = _fit_and_load(tmp_path, cls, future_covariates=["temperature"])
    expected = forecaster.predict(fh=FH, X=X.iloc[N_ROWS:])
    past, ahead = X.iloc[:N_ROWS], X.iloc[N_ROWS:]
    forecast = predictor.predict(
        y.tail(SEQ_LEN), covariates=past.tail(SEQ_LEN), future_covariates=ahead
    )
    _assert_close(forecast, expected, forecaster.scaler_.std)
    future_only = ahead[["temperature"]].to_numpy()  # arrays: the future-known columns only
    arrays = predictor.predict(y.to_numpy(), past.to_numpy(), future_only)
    _assert_close(arrays, expected, forecaster.scaler_.std)


@pytest.mark.parametrize("cls", ALL, ids=[cls.__name__ for cls in ALL])
def test_graph_with_covariates_equals_the_torch_model(tmp_path, cls):
    forecaster, predictor, *_ = _fit_and_load(tmp_path, cls, future_covariates=["temperature"])
    rng = np.random.default_rng(0)
    window = rng.normal(size=(4, SEQ_LEN, 3)).astype(np.float32)
    covariates = rng.normal(size=(4, SEQ_LEN + PRED_LEN, 2)).astype(np.float32)
    (graph,) = predictor.session.run(None, {"window": window, "covariates": covariates})
    with torch.no_grad():
        expected = forecaster.model_(torch.from_numpy(window), torch.from_numpy(covariates))
    assert np.abs(graph - expected.numpy()).max() <= 1e-5


@pytest.mark.parametrize(
    "params",
    [{"future_covariates": []}, {"future_covariates": "all", "covariate_gates": True}],
    ids=["past-only", "all-future-gated"],
)
def test_predictor_equals_predict_for_past_only_and_all_future(tmp_path, params):
    forecaster, predictor, y, X = _fit_and_load(tmp_path, **params)
    future = None if params["future_covariates"] == [] else X.iloc[N_ROWS:]
    expected = forecaster.predict(fh=FH, X=future)
    forecast = predictor.predict(y, covariates=X.iloc[:N_ROWS], future_covariates=future)
    _assert_close(forecast, expected, forecaster.scaler_.std)
    assert predictor.metadata.n_future_covariates == (0 if future is None else 2)
    scaler = forecaster.covariates_.scaler
    np.testing.assert_array_equal(predictor.metadata.covariate_mean, scaler.mean)
    np.testing.assert_array_equal(predictor.metadata.covariate_std, scaler.std)


def test_missing_or_misaligned_covariates_say_what_to_pass(tmp_path):
    _, predictor, y, X = _fit_and_load(tmp_path, future_covariates=["temperature"])
    past, ahead = X.iloc[:N_ROWS], X.iloc[N_ROWS:]
    with pytest.raises(ValueError, match=r"fitted with covariates \['temperature', 'load'\]"):
        predictor.predict(y)
    with pytest.raises(ValueError, match=r"future-known covariates \['temperature'\]"):
        predictor.predict(y, covariates=past)
    with pytest.raises(ValueError, match="pass one covariate row per row of rows"):
        predictor.predict(y, covariates=past.tail(20), future_covariates=ahead)
    with pytest.raises(ValueError, match=r"pass pred_len=6 rows of the columns \['temperature'\]"):
        predictor.predict(y, covariates=past, future_covariates=ahead.head(4))
    with pytest.raises(ValueError, match=r"covariates has columns \['load'\]"):
        predictor.predict(y, covariates=past[["load"]], future_covariates=ahead)


def test_covariates_to_a_model_without_them_are_refused(tmp_path):
    y = make_frame()
    tiny().fit(y).to_onnx(tmp_path / "plain.onnx")
    predictor = OnnxPredictor.load(tmp_path / "plain.onnx", n_threads=1)
    with pytest.raises(ValueError, match=r"fitted without X; call predict\(rows\) alone"):
        predictor.predict(y, covariates=y)
