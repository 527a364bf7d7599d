"""Gaps as a capability: NaN cells and outages, dropped timestamps, failed training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sae_forecast.data import fill_gaps, sliding_windows
from sae_forecast.training import TrainingDivergedError
from tests.forecasting.conftest import make_frame
from tests.forecasting.test_forecasters import ALL, tiny


def _gappy(n_rows=240, seed=0) -> pd.DataFrame:
    frame = make_frame(n_rows=n_rows, seed=seed)
    rng = np.random.default_rng(seed)
    values = frame.to_numpy(copy=True)
    values[rng.random(values.shape) < 0.1] = np.nan  # random cells
    values[60:100, 1] = np.nan  # an outage of one sensor
    values[-3:, 2] = np.nan  # a gap at the end of the context
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


@pytest.mark.parametrize("cls", ALL)
def test_fit_update_predict_with_gaps_give_finite_forecasts(cls):
    frame = _gappy()
    before = frame.copy()
    forecaster = tiny(cls).fit(frame.iloc[:200])
    pd.testing.assert_frame_equal(frame, before)  # the caller's data is not modified
    assert np.isfinite(forecaster.predict(fh=[1, 2, 3]).to_numpy()).all()
    forecaster.update(frame.iloc[200:], update_params=True)
    y_pred = forecaster.predict(fh=[1, 2])
    assert np.isfinite(y_pred.to_numpy()).all()
    assert y_pred.index[0] == frame.index[-1] + frame.index.freq


def test_imputed_targets_are_not_trained_on_as_real_ones():
    """Unscaled, without a leading gap, native inputs equal forward-filled ones; only the
    loss differs (it skips missing targets), so the fits differ only if the mask works."""
    frame = _gappy()
    frame.iloc[0] = make_frame(n_rows=240).iloc[0]
    native = tiny(scale=False).fit(frame.iloc[:200]).model_.state_dict()
    ffilled = tiny(scale=False).fit(frame.ffill().iloc[:200]).model_.state_dict()
    assert not all(torch.equal(v, ffilled[k]) for k, v in native.items())


def test_score_windows_is_the_mean_over_observed_targets_only():
    frame = _gappy()
    forecaster = tiny().fit(frame.iloc[:200])
    score = forecaster.score_windows(frame.iloc[:200], start=150)
    filled, observed = fill_gaps(forecaster.scaler_.transform(frame.iloc[:200].to_numpy()))
    X, Y = sliding_windows(filled[150:], 12, 6)
    _, seen = sliding_windows(observed[150:], 12, 6)
    error = (forecaster.predict_windows(X) - Y)[seen]
    assert (~seen).sum() > 0 and score["n_windows"] == len(X) == 200 - 150 - 12 - 6 + 1
    assert score["mse"] == pytest.approx(float(np.mean(error.astype(np.float64) ** 2)), rel=1e-6)


def test_dropped_timestamps_are_gaps_and_the_forecast_index_is_the_true_future():
    frame = make_frame(n_rows=200)
    dropped = frame.drop(index=frame.index[[50, 51, 120]])
    forecaster = tiny().fit(dropped)
    y_pred = forecaster.predict(fh=[1, 2, 3])
    expected = pd.date_range(frame.index[-1], periods=4, freq="h")[1:]
    pd.testing.assert_index_equal(y_pred.index, expected, check_names=False)
    assert forecaster.n_channels_ == 3 and forecaster._observed.all()


def test_an_index_without_a_frequency_is_refused_with_the_fix():
    frame = make_frame(n_rows=200)
    jitter = pd.to_timedelta(np.random.default_rng(0).integers(0, 900, 200), unit="ms")
    jittered = frame.set_axis(frame.index + jitter)
    with pytest.raises(ValueError, match=r"resample|asfreq"):
        tiny().fit(jittered)


@pytest.mark.parametrize("lr", [1e10, 1e20])
def test_a_diverging_fit_is_loud(lr):
    with pytest.raises(TrainingDivergedError, match=r"epoch 1: .* try lr="):
        tiny(lr=lr, max_epochs=3).fit(make_frame(n_rows=200))


def test_a_channel_missing_from_the_training_span_is_named():
    frame = _gappy()
    frame.iloc[:180, 0] = np.nan  # the training span ends at row 176
    with pytest.raises(ValueError, match=r"\['sensor_0'\]"):
        tiny().fit(frame.iloc[:200])


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("batch_size", 0, r"batch_size must be an int >= 1"),
        ("validation_size", -0.1, r"validation_size must be .*got -0\.1"),
        ("validation_size", 1.0, r"validation_size must be .*got 1\.0"),
    ],
)
def test_bad_settings_are_named_by_the_forecaster(setting, value, message):
    with pytest.raises(ValueError, match=message):
        tiny(**{setting: value}).fit(make_frame())


def test_duplicate_column_names_are_named_by_the_forecaster():
    frame = make_frame()
    frame.columns = ["a", "b", "a"]
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['a'\]"):
        tiny().fit(frame)
