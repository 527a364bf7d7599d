"""Exogenous covariates (X): they are read, they help where they should, bad X is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sktime.forecasting.base import ForecastingHorizon

from sae_forecast import (
    LightSAEiTransformerForecaster,
    LightSAEPatchTSTForecaster,
    LightSAERLinearForecaster,
    LightSAERMLPForecaster,
)
from sae_forecast.forecasting._exogenous import Covariates, covariate_rows
from tests.forecasting.conftest import TINY

SMALL = {
    LightSAERLinearForecaster: {"lr": 0.02},
    LightSAERMLPForecaster: {"d_model": 16, "lr": 0.01},
    LightSAEPatchTSTForecaster: {
        "d_model": 16,
        "n_heads": 2,
        "d_ff": 16,
        "n_layers": 1,
        "patch_len": 4,
        "stride": 4,
        "dropout": 0.0,
        "lr": 0.02,
    },
    LightSAEiTransformerForecaster: {
        "d_model": 16,
        "n_heads": 2,
        "d_ff": 16,
        "n_layers": 1,
        "dropout": 0.0,
        "lr": 0.01,
    },
}


def driven(n_rows=600, seed=0):
    """A target that is a known function of a future-known covariate (i.i.d. noise), and a
    past-only covariate that carries nothing."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n_rows, freq="h")
    X = pd.DataFrame(
        {"forecast": rng.normal(size=n_rows), "sensor": rng.normal(size=n_rows)}, index=index
    )
    y = pd.DataFrame({"price": 10 + 3 * X["forecast"] + 0.05 * rng.normal(size=n_rows)})
    return y, X


def tiny(cls=LightSAERLinearForecaster, **overrides):
    return cls(**{**TINY, **SMALL[cls], "max_epochs": 6, **overrides})


def held_out_mse(forecaster, y, X, split):
    start = split - forecaster.seq_len
    return forecaster.score_windows(y, None if X is None else X, start=start)["mse"]


@pytest.mark.parametrize("cls", list(SMALL))
def test_a_known_function_of_a_future_covariate_is_learned_only_through_x(cls):
    y, X = driven()
    split, small = 480, {"batch_size": 8}
    with_x = tiny(cls, future_covariates=["forecast"], **small).fit(y[:split], X=X[:split])
    without = tiny(cls, **small).fit(y[:split])
    past_only = tiny(cls, future_covariates=[], **small).fit(y[:split], X=X[:split])
    error_with = held_out_mse(with_x, y, X, split)
    error_without = held_out_mse(without, y, None, split)
    error_past = held_out_mse(past_only, y, X, split)
    assert error_with * 10 <= error_without, (error_with, error_without)
    # the gain comes from reading the covariate over the horizon, not from X as such
    assert error_with * 10 <= error_past, (error_with, error_past)


def test_predict_reads_x_over_fh_and_matches_the_window_forecast():
    y, X = driven(n_rows=200)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    fh = ForecastingHorizon(np.arange(1, 7))
    forecast = fitted.predict(fh, X=X[150:156])
    windows = fitted.forecast_windows(y[:156], X=X[:156], start=150 - TINY["seq_len"])
    np.testing.assert_allclose(forecast.to_numpy(), windows.point[0], rtol=1e-5)
    shifted = X[150:156].copy()
    shifted["forecast"] += 1.0
    assert not np.allclose(fitted.predict(fh, X=shifted), forecast)


def test_past_only_columns_are_never_read_over_the_horizon():
    y, X = driven(n_rows=200)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    future = X[150:156].copy()
    forecast = fitted.predict([1, 2, 3], X=future)
    future["sensor"] = 1e6
    pd.testing.assert_frame_equal(fitted.predict([1, 2, 3], X=future), forecast)
    pd.testing.assert_frame_equal(fitted.predict([1, 2, 3], X=future[["forecast"]]), forecast)


def test_past_only_covariates_need_no_x_in_predict():
    y, X = driven(n_rows=200)
    fitted = tiny(future_covariates=[]).fit(y[:150], X=X[:150])
    assert fitted.covariates_.n_future == 0
    assert fitted.predict([1, 2]).shape == (2, 1)


def test_horizon_rows_between_fh_steps_are_filled_forward():
    y, X = driven(n_rows=200)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    sparse = fitted.predict([2, 5], X=X.iloc[[151, 154]])
    filled = X[150:156].copy()
    filled.iloc[0] = X.iloc[149]  # step 1 takes the last row before the horizon
    filled.iloc[2:4] = X.iloc[151].to_numpy()
    filled.iloc[5] = X.iloc[154]
    full = fitted.predict([1, 2, 3, 4, 5, 6], X=filled)
    np.testing.assert_allclose(sparse.to_numpy(), full.iloc[[1, 4]].to_numpy(), rtol=1e-5)


def test_update_carries_the_covariate_context():
    y, X = driven(n_rows=220)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    fitted.update(y[150:180], X=X[150:180], update_params=False)
    forecast = fitted.predict(np.arange(1, 7), X=X[180:186])
    windows = fitted.forecast_windows(y[:186], X=X[:186], start=180 - TINY["seq_len"])
    np.testing.assert_allclose(forecast.to_numpy(), windows.point[0], rtol=1e-5)


def test_update_with_training_fine_tunes_on_covariates():
    y, X = driven(n_rows=220)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    before = {k: v.clone() for k, v in fitted.model_.state_dict().items()}
    fitted.update(y[150:190], X=X[150:190])
    after = fitted.model_.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("method", ["conformal", "quantile"])
def test_intervals_with_covariates(method):
    y, X = driven(n_rows=240)
    fitted = tiny(future_covariates=["forecast"], interval_method=method).fit(y[:200], X=X[:200])
    fh = [1, 2, 3]
    interval = fitted.predict_interval(fh, X=X[200:206], coverage=0.9)
    point = fitted.predict(fh, X=X[200:206])
    lower, upper = interval.iloc[:, 0].to_numpy(), interval.iloc[:, 1].to_numpy()
    assert (lower <= point.iloc[:, 0].to_numpy()).all()
    assert (point.iloc[:, 0].to_numpy() <= upper).all()
    if method == "quantile":
        median = fitted.predict_quantiles(fh, X=X[200:206], alpha=[0.5])
        np.testing.assert_allclose(median.to_numpy(), point.to_numpy(), rtol=1e-5)


def test_row_residuals_read_x():
    y, X = driven(n_rows=200)
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    with_x = fitted.row_residuals(y, X, first=170)
    assert with_x.shape == (30, TINY["pred_len"], 1)
    assert np.nanmean(np.abs(with_x)) < 3 * float(y.std().iloc[0])


def test_the_callers_x_is_never_modified():
    y, X = driven(n_rows=200)
    X.iloc[[5, 40], 0] = np.nan
    before = X.copy()
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150])
    fitted.update(y[150:170], X=X[150:170])
    fitted.predict([1, 2], X=X[170:176])
    fitted.score_windows(y, X, start=150)
    pd.testing.assert_frame_equal(X, before)


def test_gaps_in_x_are_filled_forward_like_gaps_in_y():
    y, X = driven(n_rows=200)
    gappy = X.copy()
    gappy.iloc[60:64, 0] = np.nan
    gappy = gappy.drop(index=gappy.index[[80, 81]])  # dropped time stamps are gaps too
    rows = covariate_rows(
        gappy, y.index[50:90], Covariates.from_columns(X.columns, "all").columns, "fit"
    )
    np.testing.assert_array_equal(rows[10:14, 0], np.full(4, np.nan))
    assert np.isnan(rows[30:32]).all()
    fitted = tiny(future_covariates=["forecast"]).fit(y[:150], X=gappy[gappy.index < y.index[150]])
    assert np.isfinite(fitted.predict([1, 2], X=X[150:152])).all().all()


def test_boolean_covariates_are_accepted():
    y, X = driven(n_rows=200)
    X["holiday"] = X.index.dayofweek >= 5
    fitted = tiny(future_covariates=["forecast", "holiday"]).fit(y[:150], X=X[:150])
    assert fitted.predict([1], X=X[150:151]).shape == (1, 1)


def test_columns_of_x_never_become_targets():
    y, X = driven(n_rows=200)
    fitted = tiny().fit(y[:150], X=X[:150])
    assert list(fitted.predict([1, 2], X=X[150:152]).columns) == ["price"]
    assert fitted.model_.n_channels == 1


# -- bad X: one test per case, each asserting its message ---------------------------------
@pytest.fixture
def fitted_with_x():
    y, X = driven(n_rows=200)
    return tiny(future_covariates=["forecast"]).fit(y[:150], X=X[:150]), y, X


def test_x_with_another_kind_of_index_is_refused():
    y, X = driven(n_rows=200)
    with pytest.raises(
        ValueError,
        match=r"X passed to fit has a RangeIndex, but y's time index "
        r"is a DatetimeIndex; give X the same kind of index as y",
    ):
        tiny().fit(y[:150], X=X[:150].reset_index(drop=True))


def test_x_without_rows_for_y_is_refused():
    y, X = driven(n_rows=200)
    with pytest.raises(
        ValueError,
        match=r"X passed to fit has no row for 10 of the 150 time "
        r"stamps it must cover, e.g. \[Timestamp\('2024-01-06 20:00:00'\)",
    ):
        tiny().fit(y[:150], X=X[:140])


def test_missing_fh_rows_are_named(fitted_with_x):
    fitted, _, X = fitted_with_x
    with pytest.raises(
        ValueError,
        match=r"X passed to predict has no row for 1 time stamp\(s\) "
        r"of fh, e.g. \[Timestamp\('2024-01-07 08:00:00'\)\]",
    ):
        fitted.predict([1, 2, 3], X=X[150:152])


def test_x_is_required_in_predict_for_future_known_columns(fitted_with_x):
    fitted, _, _ = fitted_with_x
    with pytest.raises(
        ValueError,
        match=r"X is required in predict: the forecaster was fitted "
        r"with future-known covariates \['forecast'\]",
    ):
        fitted.predict([1, 2])


def test_non_numeric_x_is_refused():
    y, X = driven(n_rows=200)
    X["kind"] = "a"
    with pytest.raises(TypeError, match=r"X has non-numeric .* column\(s\) \['kind'\]"):
        tiny().fit(y[:150], X=X[:150])


def test_x_nan_everywhere_in_training_is_refused():
    y, X = driven(n_rows=200)
    X["sensor"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"X has no observed \(non-NaN\) value in the training "
        r"span for channel\(s\) \['sensor'\]; .*X\.drop\(columns=\['sensor'\]\)",
    ):
        tiny().fit(y[:150], X=X[:150])


def test_other_columns_at_predict_are_refused(fitted_with_x):
    fitted, _, X = fitted_with_x
    renamed = X[150:156].rename(columns={"forecast": "load"})
    with pytest.raises(
        ValueError,
        match=r"X passed to predict has columns \['load', 'sensor'\], "
        r"but the forecaster was fitted on \['forecast', 'sensor'\] \(missing: "
        r"\['forecast'\], not seen in fit: \['load'\]\)",
    ):
        fitted.predict([1, 2], X=renamed)


def test_x_in_predict_without_x_in_fit_is_refused():
    y, X = driven(n_rows=200)
    fitted = tiny().fit(y[:150])
    with pytest.raises(
        ValueError,
        match=r"X was passed to predict, but the forecaster was "
        r"fitted without X",
    ):
        fitted.predict([1], X=X[150:151])


def test_unknown_future_covariate_names_are_refused():
    y, X = driven(n_rows=200)
    with pytest.raises(
        ValueError,
        match=r"future_covariates names column\(s\) \['wind'\] that "
        r"X does not have",
    ):
        tiny(future_covariates=["wind"]).fit(y[:150], X=X[:150])


def test_future_covariates_parameter_is_checked():
    y, X = driven(n_rows=200)
    with pytest.raises(
        ValueError,
        match=r'future_covariates must be "all" or a list of '
        r"distinct column names of X .* E\.g\. future_covariates=\['forecast'\]",
    ):
        tiny(future_covariates="forecast").fit(y[:150], X=X[:150])


def test_update_without_x_is_refused_after_fit_with_x(fitted_with_x):
    fitted, y, _ = fitted_with_x
    with pytest.raises(ValueError, match=r"X is required in update"):
        fitted.update(y[150:160])


# -- fleets ------------------------------------------------------------------------------
def panel(frames):
    return pd.concat(frames, keys=[f"d{i}" for i in range(len(frames))], names=["device", "t"])


def test_pretrain_with_panel_x_then_fit_a_device_with_x():
    devices = [driven(n_rows=200, seed=seed) for seed in range(3)]
    forecaster = tiny(future_covariates=["forecast"], embedding="lightsae")
    forecaster.pretrain(panel([y for y, _ in devices]), X=panel([X for _, X in devices]))
    assert list(forecaster.fleet_.covariates.columns) == ["forecast", "sensor"]
    y, X = driven(n_rows=200, seed=9)
    forecaster.fit(y[:150], X=X[:150])
    assert forecaster.predict([1, 2], X=X[150:152]).shape == (2, 1)
    with pytest.raises(
        ValueError,
        match=r"fit got no X, but the network was pretrained with X "
        r"columns \['forecast', 'sensor'\] \(1 known ahead\)",
    ):
        forecaster.fit(y[:150])


# -- calendar features come from sktime ----------------------------------------------------
@pytest.mark.filterwarnings("ignore:Level of selected dummy variable")
def test_calendar_features_from_sktime_datetimefeatures_in_a_pipeline():
    """DateTimeFeatures makes the calendar covariates; a weekend level shift that a 12-hour
    lookback cannot foresee becomes predictable once the calendar is known ahead."""
    from sktime.forecasting.compose import ForecastingPipeline
    from sktime.transformations.series.date import DateTimeFeatures

    index = pd.date_range("2024-01-01", periods=24 * 7 * 8, freq="h")
    rng = np.random.default_rng(0)
    weekend = (index.dayofweek >= 5).astype(float)
    y = pd.DataFrame({"load": 10.0 * weekend + 0.1 * rng.normal(size=len(index))}, index=index)
    empty = pd.DataFrame(index=index)  # X without columns: the calendar is all there is
    split = len(index) - 24 * 7

    def calendar(forecaster):
        features = DateTimeFeatures(
            ts_freq="H", manual_selection=["is_weekend"], keep_original_columns=False
        )
        return ForecastingPipeline([("calendar", features), ("forecaster", forecaster)])

    settings = {"batch_size": 16, "max_epochs": 6}
    pipeline = calendar(tiny(**settings)).fit(y[:split], X=empty[:split])
    assert list(pipeline.steps_[-1][1].covariates_.columns) == ["is_weekend"]
    alone = tiny(**settings).fit(y[:split])

    def errors(forecast):
        return float(((forecast - y.loc[forecast.index]) ** 2).mean().iloc[0])

    with_calendar, without = [], []
    for origin in range(split, len(index) - 6, 6):  # rolling origins over the test weeks
        if origin > split:  # the rows since the last origin become known
            pipeline.update(
                y[origin - 6 : origin], X=empty[origin - 6 : origin], update_params=False
            )
            alone.update(y[origin - 6 : origin], update_params=False)
        fh = ForecastingHorizon(index[origin : origin + 6], is_relative=False)
        with_calendar.append(errors(pipeline.predict(fh, X=empty.loc[fh.to_pandas()])))
        without.append(errors(alone.predict(fh)))
    assert np.mean(with_calendar) * 3 <= np.mean(without), (
        np.mean(with_calendar),
        np.mean(without),
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cls", list(SMALL))
def test_covariates_on_cuda_are_learned_as_on_the_cpu(cls):
    y, X = driven()
    split = 480
    fitted = tiny(cls, future_covariates=["forecast"], batch_size=8, device="cuda")
    fitted.fit(y[:split], X=X[:split]).update(y[split:500], X=X[split:500])
    assert next(fitted.model_.parameters()).device.type == "cuda"
    assert held_out_mse(fitted, y, X, 500) < 0.1  # without X about 0.9 (scaled)
    bands = fitted.predict_interval([1, 2, 3], X=X[500:506], coverage=0.9)
    assert np.isfinite(bands.to_numpy()).all()
