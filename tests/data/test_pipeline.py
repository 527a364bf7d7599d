"""The one series pipeline: split, scale on the training span, fill gaps."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.data import Standardiser, continue_series, prepare_series, scale_and_fill


def _series(n_rows=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(loc=[5.0, -3.0], scale=[2.0, 0.5], size=(n_rows, 2))


def test_the_scaler_sees_the_training_span_only():
    values = _series()
    values[50:] += 100.0  # a level shift in the validation tail only
    series = prepare_series(values, seq_len=8, pred_len=4, validation_size=0.2)
    train_rows = series.train_rows
    assert train_rows == int(series.train[-1]) + 12 < 50
    np.testing.assert_allclose(series.scaler.mean, values[:train_rows].mean(axis=0))
    np.testing.assert_allclose(series.scaler.std, values[:train_rows].std(axis=0))
    assert series.values.dtype == np.float32 and series.observed is None


def test_no_validation_target_is_a_training_target():
    series = prepare_series(_series(), seq_len=8, pred_len=4, validation_size=5)
    assert len(series.valid) == 5
    last_train_target = int(series.train[-1]) + 8 + 4 - 1
    first_valid_target = int(series.valid[0]) + 8
    assert first_valid_target == last_train_target + 1


def test_gaps_are_filled_forward_and_marked():
    values = _series()
    values[10:13, 1] = np.nan
    series = prepare_series(values, seq_len=8, pred_len=4, validation_size=0.1)
    assert series.observed[10:13, 1].tolist() == [False] * 3
    assert (series.values[10:13, 1] == series.values[9, 1]).all()
    assert not np.isnan(values[:10]).any()  # the caller's array is unchanged around the gap
    assert np.isnan(values[10:13, 1]).all()


def test_a_short_series_names_the_fix_or_trains_on_everything():
    with pytest.raises(ValueError, match=r"y has 14 rows, too few to train: seq_len=8"):
        prepare_series(_series(14), seq_len=8, pred_len=4, validation_size=0.5)
    series = prepare_series(
        _series(14), seq_len=8, pred_len=4, validation_size=0.5, tail_required=False
    )
    assert series.train.tolist() == [0, 1, 2] and len(series.valid) == 0


def test_a_channel_never_observed_in_the_training_span_is_named():
    values = _series()
    values[:, 0] = np.nan
    with pytest.raises(ValueError, match=r"for channel\(s\) \['temp'\]"):
        prepare_series(values, seq_len=8, pred_len=4, validation_size=0.1, columns=["temp", "rain"])


def test_continue_series_scales_with_the_fitted_scaler_and_fills_from_the_last_row():
    scaler = Standardiser(np.array([1.0]), np.array([2.0]))
    filled, observed = continue_series(scaler, np.array([[np.nan], [5.0]]), np.array([-7.0]))
    assert filled[:, 0].tolist() == [-7.0, 2.0]
    assert observed[:, 0].tolist() == [False, True]
    assert continue_series(scaler, np.array([[3.0]]))[1] is None  # no gap: no mask


def test_scale_and_fill_is_the_protocol_scaler():
    values = _series()
    scaler, filled, observed = scale_and_fill(values, 30, scale=False)
    assert observed is None
    np.testing.assert_array_equal(filled, values.astype(np.float32))
    assert scaler.mean.tolist() == [0.0, 0.0]
