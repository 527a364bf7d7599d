"""Forecast intervals: conformal calibration and quantile training through the sktime API."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.performance_metrics.forecasting.probabilistic import EmpiricalCoverage, PinballLoss
from sktime.split import ExpandingWindowSplitter
from sktime.transformations.series.boxcox import LogTransformer
from sktime.utils.estimator_checks import check_estimator

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import prepare_series
from sae_forecast.forecasting._intervals import (
    DEFAULT_STEP_SIZE,
    DEFAULT_TRACKING_STEPS,
    ConformalQuantiles,
    QuantileHead,
    SplitConformal,
    diagonal_residuals,
    interpolate_levels,
    interval_method,
)
from tests.forecasting.conftest import TINY

METHODS = ["adaptive", "conformal", "quantile", "tracking"]
ALPHAS = [0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975]


def tiny(**overrides):
    return LightSAERLinearForecaster(**{**TINY, **overrides})


def noisy_sine(n_rows, noise=1.0, seed=0, offset=100.0, columns=3):
    """Daily sine plus iid Gaussian noise of known standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    values = offset + 10 * np.sin(2 * np.pi * t / 24 + np.arange(columns))
    values = values + rng.normal(0.0, noise, size=(n_rows, columns))
    index = pd.date_range("2022-01-01", periods=n_rows, freq="h")
    return pd.DataFrame(values, index=index, columns=[f"s{i}" for i in range(columns)])


def _widths(forecaster, fh, coverage):
    bands = forecaster.predict_interval(fh=fh, coverage=coverage)
    return (bands.xs("upper", axis=1, level=2) - bands.xs("lower", axis=1, level=2)).to_numpy()


# -- layout and invariants ------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_columns_and_index_follow_sktime_layout_on_multivariate_y(frame, method):
    forecaster = tiny(interval_method=method).fit(frame)
    quantiles = forecaster.predict_quantiles(fh=[1, 3], alpha=[0.1, 0.9])
    expected = pd.MultiIndex.from_product([frame.columns, [0.1, 0.9]])
    assert quantiles.columns.equals(expected)
    assert list(quantiles.index) == list(frame.index[-1] + pd.to_timedelta([1, 3], unit="h"))
    assert np.isfinite(quantiles.to_numpy()).all()


@pytest.mark.parametrize("method", METHODS)
def test_quantiles_are_monotone_in_alpha(frame, method):
    forecaster = tiny(interval_method=method).fit(frame)
    quantiles = forecaster.predict_quantiles(fh=list(range(1, 7)), alpha=ALPHAS)
    for column in frame.columns:
        assert (np.diff(quantiles[column].to_numpy(), axis=1) >= 0).all(), column


@pytest.mark.parametrize("method", METHODS)
def test_interval_contains_the_point_forecast_and_the_median_is_it(frame, method):
    forecaster = tiny(interval_method=method).fit(frame)
    fh = list(range(1, 7))
    point = forecaster.predict(fh=fh)
    bands = forecaster.predict_interval(fh=fh, coverage=[0.05, 0.5, 0.95])
    for column in frame.columns:
        for coverage in (0.05, 0.5, 0.95):
            assert (bands[(column, coverage, "lower")] <= point[column]).all()
            assert (bands[(column, coverage, "upper")] >= point[column]).all()
    median = forecaster.predict_quantiles(fh=fh, alpha=[0.5]).xs(0.5, axis=1, level=1)
    np.testing.assert_allclose(median.to_numpy(), point.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_intervals_are_in_original_units_after_scaling(method):
    y = noisy_sine(300)
    small = tiny(interval_method=method).fit(y)
    large = tiny(interval_method=method).fit(y * 1000.0 - 3.0)
    fh = [1, 4, 6]
    expected = small.predict_quantiles(fh=fh, alpha=ALPHAS) * 1000.0 - 3.0
    got = large.predict_quantiles(fh=fh, alpha=ALPHAS)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-4)


def test_variance_is_positive_and_grows_with_the_noise():
    settings = {"seq_len": 24, "validation_size": 0.3, "max_epochs": 10, "lr": 0.02}
    quiet = tiny(**settings).fit(noisy_sine(600, noise=0.5))
    loud = tiny(**settings).fit(noisy_sine(600, noise=3.0))
    assert (quiet.predict_var(fh=[1, 2]).to_numpy() > 0).all()
    assert (
        loud.predict_var(fh=[1, 2]).to_numpy() > 4 * quiet.predict_var(fh=[1, 2]).to_numpy()
    ).all()


# -- calibration ----------------------------------------------------------------------------
def _rolling_coverage(forecaster, y, start, coverages, step):
    """Empirical coverage per nominal level over origins every ``step`` rows from ``start``,
    updating the forecaster (without training) with the rows in between."""
    hits, horizon = {c: [] for c in coverages}, forecaster.pred_len_
    fh = list(range(1, horizon + 1))
    for origin in range(start, len(y) - horizon + 1, step):
        if origin > start:
            forecaster.update(y.iloc[origin - step : origin], update_params=False)
        bands = forecaster.predict_interval(fh=fh, coverage=coverages)
        actual = y.iloc[origin : origin + horizon].to_numpy()
        for coverage in coverages:
            lower = bands.xs((coverage, "lower"), axis=1, level=[1, 2]).to_numpy()
            upper = bands.xs((coverage, "upper"), axis=1, level=[1, 2]).to_numpy()
            hits[coverage].append((lower <= actual) & (actual <= upper))
    return {coverage: float(np.mean(found)) for coverage, found in hits.items()}


@pytest.mark.parametrize(
    ("method", "tolerance"),
    [
        ("conformal", 0.05),
        ("adaptive", 0.05),
        pytest.param("quantile", 0.05, marks=pytest.mark.slow),
    ],
)
def test_coverage_is_near_nominal_on_a_series_with_known_noise(method, tolerance):
    y = noisy_sine(2400, noise=2.0, seed=1)
    forecaster = LightSAERLinearForecaster(
        seq_len=48,
        pred_len=12,
        validation_size=0.3,
        max_epochs=8,
        batch_size=8,
        lr=0.01,
        interval_method=method,
        random_state=0,
    ).fit(y.iloc[:1600])
    found = _rolling_coverage(forecaster, y, 1600, [0.8, 0.9], step=12)
    for coverage, share in found.items():
        assert abs(share - coverage) < tolerance, found


def test_by_default_every_row_the_validation_windows_forecast_calibrates():
    y = noisy_sine(2600)
    forecaster = tiny(validation_size=0.5, max_epochs=1).fit(y.iloc[:2500])
    valid = prepare_series(
        y.iloc[:2500].to_numpy(), seq_len=12, pred_len=6, validation_size=0.5
    ).valid
    n_rows = 2500 - (int(valid[0]) + forecaster.seq_len)
    assert n_rows > 1000  # more than a fixed window of 1000 rows would keep
    assert len(forecaster.intervals_.residuals) == n_rows
    forecaster.update(y.iloc[2500:], update_params=False)
    assert len(forecaster.intervals_.residuals) == n_rows  # a rolling window of that size
    capped = tiny(validation_size=0.5, max_epochs=1, calibration_size=7).fit(y.iloc[:2500])
    assert len(capped.intervals_.residuals) == 7


def test_update_shifts_the_calibration_to_the_new_noise_level():
    quiet, loud = noisy_sine(600, noise=0.5, seed=2), noisy_sine(800, noise=4.0, seed=3)
    y = pd.concat([quiet, loud.iloc[600:]])
    settings = {"seq_len": 24, "validation_size": 0.3, "max_epochs": 10, "lr": 0.02}
    forecaster = tiny(**settings, calibration_size=150, interval_method="adaptive")
    forecaster.fit(y.iloc[:600])
    before = _widths(forecaster, [1, 6], 0.9)
    forecaster.update(y.iloc[600:], update_params=False)
    assert len(forecaster.intervals_.residuals) == 150
    assert (_widths(forecaster, [1, 6], 0.9) > 3 * before).all()


def _variance_shift(n_rows: int, shift_at: int, seed: int = 0) -> pd.DataFrame:
    """Two sines whose Gaussian noise triples (1 -> 3) at row ``shift_at``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    noise = np.where(t < shift_at, 1.0, 3.0) * rng.normal(size=(n_rows, 2))
    values = 100 + 10 * np.sin(2 * np.pi * t / 24 + np.arange(2)) + noise
    index = pd.date_range("2022-01-01", periods=n_rows, freq="h")
    return pd.DataFrame(values, index=index, columns=["a", "b"])


@pytest.mark.parametrize(
    ("method", "step_size", "recovers"),
    [
        ("adaptive", 0.005, True),
        ("adaptive", 0.0, False),
        ("conformal", 0.005, False),
        ("tracking", 0.02, True),
        ("tracking", 0.0, False),
    ],
)
def test_after_a_variance_shift_only_the_online_levels_recover_nominal_coverage(
    method, step_size, recovers
):
    """Calibrated on the quiet half, updated every 24 rows through the loud half: the
    rolling window of split conformal (and ACI with its update rule off, ``step_size=0``)
    lags the shift by its length (348 rows), ACI's levels move with the misses."""
    y = _variance_shift(1200, shift_at=720)
    settings = {"seq_len": 48, "pred_len": 24, "max_epochs": 3, "validation_size": 0.5}
    forecaster = tiny(**settings, interval_method=method, interval_step_size=step_size)
    forecaster.fit(y.iloc[:720])
    found = _rolling_coverage(forecaster, y, 720, [0.8], step=24)[0.8]
    assert (abs(found - 0.8) < 0.04) == recovers, found
    if not recovers:
        assert found < 0.72


def test_update_adds_the_residuals_of_the_forecasts_made_before_the_new_rows(frame):
    rolling = {"calibration_size": 10_000, "interval_method": "adaptive"}  # a window
    forecaster = tiny(**rolling).fit(frame.iloc[:150])
    context = forecaster.scaler_.transform(frame.iloc[:150].to_numpy())
    n_before = len(forecaster.intervals_.residuals)
    forecaster.update(frame.iloc[150:153], update_params=False)
    added = forecaster.intervals_.residuals[n_before:]  # rows 150..152, every step
    assert added.shape == (3, 6, 3)
    # row 151 forecast 4 steps ahead: from the 12 rows before row 148
    window = context[148 - 12 : 148][None].astype(np.float32)
    forecast = forecaster.scaler_.inverse_transform(forecaster.predict_windows(window)[0][3])
    np.testing.assert_allclose(added[1, 3], frame.iloc[151].to_numpy() - forecast, rtol=1e-4)


def test_gaps_in_the_validation_tail_leave_their_residuals_out(frame):
    y = frame.copy()
    y.iloc[-20:-10, 0] = np.nan
    forecaster = tiny().fit(y)
    calibration = forecaster.intervals_
    assert (calibration.window.counts[:, 0] < calibration.window.counts[:, 1]).all()
    assert np.isfinite(forecaster.predict_interval(fh=[1, 6]).to_numpy()).all()


def test_validation_size_zero_warns_that_intervals_are_in_sample(frame):
    forecaster = tiny(validation_size=0).fit(frame)
    assert forecaster.intervals_.source == "training"
    with pytest.warns(UserWarning, match="in-sample"):
        bands = forecaster.predict_interval(fh=[1, 2])
    assert np.isfinite(bands.to_numpy()).all()


def test_with_validation_no_warning_is_raised(frame):
    forecaster = tiny().fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.predict_interval(fh=[1, 2])


# -- the pieces -----------------------------------------------------------------------------
def test_diagonal_residuals_match_a_loop():
    rng = np.random.default_rng(0)
    horizon, n_rows = 4, 7
    forecasts, targets = (
        rng.normal(size=(n_rows + horizon - 1, horizon, 2)),
        rng.normal(size=(7, 2)),
    )
    result = diagonal_residuals(forecasts, targets)
    for row in range(n_rows):
        for step in range(horizon):
            origin = row - step + horizon - 1  # the forecast made step + 1 rows before the row
            np.testing.assert_allclose(result[row, step], targets[row] - forecasts[origin, step])


def test_conformal_ranks_clipping_gaps_and_rolling_window():
    residuals = np.arange(1.0, 20.0)[:, None, None] - 10.0  # -9..9, n = 19
    calibration = SplitConformal(19).calibrate(residuals)
    # ranks floor(20 * 0.1) = 2, ceil(20 * 0.6) = 12, ceil(20 * 0.9) = 18; 0.999 is clipped
    offsets = calibration.offsets([0.1, 0.6, 0.9, 0.999])[:, 0, 0]
    np.testing.assert_array_equal(offsets, [-8.0, 2.0, 8.0, 9.0])
    biased = SplitConformal(19).calibrate(residuals + 20.0)
    assert biased.offsets([0.1])[0, 0, 0] == 0.0  # a lower quantile never above the forecast
    calibration.extend(np.full((5, 1, 1), np.nan))
    assert calibration.window.counts.item() == 14
    calibration.extend(np.full((14, 1, 1), np.nan))
    assert np.isnan(calibration.offsets([0.1, 0.5])).all()


def test_conformalized_quantiles_cover_where_the_head_is_too_narrow():
    """A head whose bands have the right shape (proportional to the noise) but a third of
    the width: calibrated on 2000 rows, the next 2000 are covered at nominal, each band
    still proportional to the head's spread."""
    rng = np.random.default_rng(0)
    spread = rng.uniform(0.5, 2.0, size=(4000, 1, 1))
    target = rng.normal(size=(4000, 1, 1)) * spread
    z = norm.ppf(0.9)
    head = np.stack([-z * spread / 3, 0 * spread, z * spread / 3], axis=-1)  # (n, 1, 1, 3)
    levels = (0.1, 0.5, 0.9)
    method = ConformalQuantiles(levels)
    scores = method.scores(None, head, target, np.ones(1))
    method.calibrate(scores[:2000], scale=np.ones(1))
    lower, upper = method.quantiles(None, head[2000:], [0.1, 0.9])
    later = target[2000:]
    assert abs(((lower <= later) & (later <= upper)).mean() - 0.8) < 0.03
    ratio = (upper - lower) / spread[2000:]  # the same multiple of every window's spread
    np.testing.assert_allclose(ratio, np.full_like(ratio, ratio[0, 0, 0]), rtol=1e-6)
    raw_lower, raw_upper = QuantileHead(levels).quantiles(None, head[2000:], [0.1, 0.9])
    assert ((raw_lower <= later) & (later <= raw_upper)).mean() < 0.5


def test_interpolation_between_levels_and_its_range_error():
    quantiles = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_allclose(
        interpolate_levels(quantiles, (0.1, 0.5, 0.9), [0.1, 0.3, 0.9])[:, 0], [-1.0, -0.5, 2.0]
    )
    with pytest.raises(ValueError, match="outside the trained quantile levels"):
        interpolate_levels(quantiles, (0.1, 0.5, 0.9), [0.05])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"interval_method": "bootstrap"}, "interval_method must be one of"),
        ({"calibration_size": 0}, r"calibration_size must be None or an int >= 1"),
        ({"interval_method": "quantile", "quantile_levels": (0.1, 0.9)}, r"include 0\.5"),
    ],
)
def test_bad_interval_settings_fail_before_training(frame, settings, message):
    with pytest.raises(ValueError, match=message):
        tiny(**settings).fit(frame)


def test_conformalized_quantiles_reach_any_coverage_beyond_the_trained_levels(frame):
    # the bands are multiples of the head's spread: coverage beyond 0.8 needs no 0.05 level
    forecaster = tiny(interval_method="quantile", quantile_levels=(0.1, 0.5, 0.9)).fit(frame)
    bands = forecaster.predict_interval(fh=[1, 2], coverage=[0.5, 0.8, 0.98]).to_numpy()
    widths = (bands[:, 1::2] - bands[:, 0::2]).reshape(2, 3, 3)  # (step, channel, coverage)
    assert np.isfinite(widths).all()
    assert (np.diff(widths, axis=2) > 0).all()


def test_tracking_update_moves_the_quantiles_and_leaves_the_calibration_window(frame):
    forecaster = tiny(interval_method="tracking", interval_step_size=0.05).fit(frame.iloc[:150])
    residuals = forecaster.intervals_.residuals.copy()
    before = _widths(forecaster, [1, 2], 0.9)
    loud = frame.iloc[150:].copy()
    loud.iloc[:, :] = loud.to_numpy() + np.random.default_rng(0).normal(0, 20, loud.shape)
    forecaster.update(loud, update_params=False)
    np.testing.assert_array_equal(forecaster.intervals_.residuals, residuals)  # no window
    assert forecaster.intervals_.tracker.rows_seen == len(loud)
    assert (_widths(forecaster, [1, 2], 0.9) > before).all()


def test_tracking_mixes_one_tracker_per_step_given(frame):
    steps = [0.01, 0.2]
    forecaster = tiny(interval_method="tracking", interval_step_size=steps).fit(frame.iloc[:150])
    forecaster.update(frame.iloc[150:], update_params=False)
    mixture = forecaster.intervals_.tracker
    assert len(mixture.trackers) == 2 and steps == [0.01, 0.2]  # the caller's list is kept
    small, large = (tracker.gains for tracker in mixture.trackers)
    np.testing.assert_allclose(large, 20 * small)
    np.testing.assert_allclose(mixture.weights.sum(axis=0), 1.0)
    offsets = forecaster.intervals_.offsets([0.9])[0]
    upper = mixture.values[forecaster.intervals_.levels.index(0.9)]
    np.testing.assert_allclose(offsets, np.maximum(upper, 0.0))  # never below the forecast
    default = tiny(interval_method="tracking").fit(frame.iloc[:150]).intervals_.tracker
    assert len(default.trackers) == len(DEFAULT_TRACKING_STEPS)


def test_tracking_reads_untracked_levels_shifted_like_their_neighbours(frame):
    forecaster = tiny(interval_method="tracking", interval_step_size=0.05).fit(frame.iloc[:150])
    method = forecaster.intervals_
    tracker = method.tracker.trackers[0]  # the one step given: weight 1
    tracker.values[method.levels.index(0.9)] += 1.0  # as if 0.9 had moved up by 1
    tracker.values[method.levels.index(0.95)] += 1.0
    moved = method.offsets([0.9, 0.925])
    fixed = SplitConformal().calibrate(method.residuals).offsets([0.9, 0.925])
    np.testing.assert_allclose(moved - fixed, 1.0, atol=1e-9)


# -- sktime composition ---------------------------------------------------------------------
def test_pipeline_inverse_transforms_the_intervals():
    y = noisy_sine(300, offset=50.0)
    pipe = TransformedTargetForecaster([("log", LogTransformer()), ("model", tiny())]).fit(y)
    inner = pipe.steps_[-1][1]
    bands = pipe.predict_interval(fh=[1, 3], coverage=0.9)
    expected = np.exp(inner.predict_interval(fh=[1, 3], coverage=0.9))
    np.testing.assert_allclose(bands.to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_evaluate_with_probabilistic_scorers():
    y = noisy_sine(400)
    cv = ExpandingWindowSplitter(fh=list(range(1, 7)), initial_window=300, step_length=40)
    results = evaluate(tiny(), cv=cv, y=y, scoring=[PinballLoss(), EmpiricalCoverage()])
    assert len(results) == 3
    # the last fold by hand: the same fit, sktime's default levels (0.05, 0.95 / 90%)
    train, test = y.iloc[:380], y.iloc[380:386]
    forecaster = tiny().fit(train)
    quantiles = forecaster.predict_quantiles(fh=list(range(1, 7)), alpha=[0.05, 0.95])
    loss = np.mean(
        [
            np.maximum(a * (test - q), (a - 1) * (test - q)).to_numpy().mean()
            for a, q in ((a, quantiles.xs(a, axis=1, level=1)) for a in (0.05, 0.95))
        ]
    )
    assert results["test_PinballLoss"].iloc[-1] == pytest.approx(loss, rel=1e-6)
    bands = forecaster.predict_interval(fh=list(range(1, 7)), coverage=0.9).to_numpy()
    inside = (bands[:, 0::2] <= test.to_numpy()) & (test.to_numpy() <= bands[:, 1::2])
    assert results["test_EmpiricalCoverage"].iloc[-1] == pytest.approx(inside.mean())
    assert (results["test_EmpiricalCoverage"] >= 0.8).all()  # nominal 90%, noise std 1


@pytest.mark.slow
def test_quantile_training_passes_sktime_check_estimator():
    forecaster = tiny(interval_method="quantile", seq_len=4, pred_len=5)
    results = check_estimator(forecaster, raise_exceptions=False)
    failed = {test: str(result)[:300] for test, result in results.items() if result != "PASSED"}
    assert failed == {}


@pytest.mark.parametrize(
    ("method", "step_size", "expected"),
    [
        ("adaptive", None, DEFAULT_STEP_SIZE),
        ("quantile", None, 0.0),  # scaled scores: levels near 1 read extreme multiples
        ("quantile", 0.02, 0.02),
        ("adaptive", 0.0, 0.0),
        ("tracking", None, DEFAULT_TRACKING_STEPS),
        ("tracking", 0.001, 0.001),
    ],
)
def test_interval_step_size_none_keeps_each_methods_own_default(method, step_size, expected):
    chosen = interval_method(method, step_size=step_size)
    assert chosen.step_size == expected


@pytest.mark.parametrize("method", ["tracking", "adaptive"])
def test_interval_bounds_are_the_tracked_quantiles_themselves(frame, method):
    # 0.5 - 0.95 / 2 is 0.025000000000000022 in floating point: the bounds must still be
    # the tracked 0.025 and 0.975 quantiles (the ones with the coverage guarantee), not
    # values interpolated next to them
    forecaster = tiny(interval_method=method, interval_step_size=0.05).fit(frame.iloc[:150])
    loud = frame.iloc[150:].copy()
    loud.iloc[:, :] = loud.to_numpy() + np.random.default_rng(1).normal(0, 5, loud.shape)
    forecaster.update(loud, update_params=False)
    fh = [1, 2, 3]
    bands = forecaster.predict_interval(fh=fh, coverage=[0.8, 0.95])
    quantiles = forecaster.predict_quantiles(fh=fh, alpha=[0.025, 0.1, 0.9, 0.975])
    for coverage, lower, upper in ((0.8, 0.1, 0.9), (0.95, 0.025, 0.975)):
        for side, level in (("lower", lower), ("upper", upper)):
            expected = quantiles.xs(level, axis=1, level=1).to_numpy()
            got = bands.xs((coverage, side), axis=1, level=(1, 2)).to_numpy()
            np.testing.assert_array_equal(got, expected)
