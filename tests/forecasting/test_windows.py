"""The window methods: every window at once, equal to the per-call sktime methods."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.forecasting import SplitConformal, WindowForecasts
from tests.forecasting.conftest import TINY, make_frame

FH = list(range(1, 7))


def _fitted(frame, **overrides):
    return LightSAERLinearForecaster(**{**TINY, **overrides}).fit(frame)


@pytest.mark.parametrize("method", ["conformal", "quantile"])
def test_the_last_window_equals_predict_and_predict_quantiles(method):
    frame = make_frame(200)
    forecaster = _fitted(frame.iloc[:194], interval_method=method)
    forecasts = forecaster.forecast_windows(frame, start=200 - 6 - 12, alpha=[0.1, 0.5, 0.9])
    assert isinstance(forecasts, WindowForecasts)
    assert forecasts.point.shape == (1, 6, 3) and forecasts.quantiles.shape == (1, 3, 6, 3)
    np.testing.assert_allclose(forecasts.point[0], forecaster.predict(fh=FH).to_numpy(), rtol=1e-6)
    expected = forecaster.predict_quantiles(fh=FH, alpha=[0.1, 0.5, 0.9]).to_numpy()
    got = forecasts.quantiles[0].transpose(1, 2, 0).reshape(6, -1)  # columns (channel, alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(forecasts.target[0], frame.iloc[-6:].to_numpy())


def test_targets_at_gaps_are_nan_and_unobserved():
    frame = make_frame(200)
    frame.iloc[190, 1] = np.nan
    forecaster = _fitted(frame.iloc[:150])
    forecasts = forecaster.forecast_windows(frame, start=150)
    row = 190 - 150 - 12  # window whose first target is row 190
    assert not forecasts.observed[row, 0, 1] and np.isnan(forecasts.target[row, 0, 1])
    assert forecasts.observed.sum() == forecasts.observed.size - 6  # six windows reach it
    assert forecasts.quantiles is None and forecasts.alpha is None


def test_score_windows_is_the_mse_of_forecast_windows_in_scaled_units():
    frame = make_frame(200)
    forecaster = _fitted(frame.iloc[:150])
    forecasts = forecaster.forecast_windows(frame, start=140)
    std = forecaster.scaler_.std
    expected = np.mean(((forecasts.point - forecasts.target) / std) ** 2)
    assert forecaster.score_windows(frame, start=140)["mse"] == pytest.approx(expected, rel=1e-5)


def test_row_residuals_are_the_residuals_that_calibrate_the_intervals():
    frame = make_frame(160)
    forecaster = _fitted(frame)
    calibration = forecaster.intervals_.residuals
    residuals = forecaster.row_residuals(frame, first=160 - len(calibration))
    np.testing.assert_allclose(residuals, calibration, rtol=1e-5, atol=1e-5)
    rebuilt = SplitConformal().calibrate(residuals).offsets([0.05, 0.95])
    np.testing.assert_allclose(rebuilt, forecaster.intervals_.offsets([0.05, 0.95]), atol=1e-5)
    with pytest.raises(ValueError, match=r"first=5 leaves too few rows before it.*first >= 17"):
        forecaster.row_residuals(frame, first=5)


def test_window_methods_refuse_other_columns():
    frame = make_frame(160)
    forecaster = _fitted(frame)
    with pytest.raises(ValueError, match="y passed to forecast_windows has columns"):
        forecaster.forecast_windows(frame.rename(columns={"sensor_0": "x"}))


def test_warnings_point_at_the_callers_line():
    frame = make_frame(160)
    forecaster = _fitted(frame, validation_size=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecaster.predict_interval(fh=[1])
    assert [w.filename for w in caught] == [__file__]
