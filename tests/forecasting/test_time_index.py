"""Tests of sae_forecast.forecasting._time_index: missing time stamps become rows of NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sae_forecast.forecasting._time_index import regular_time_index
from tests.forecasting.conftest import make_frame


def _without_freq(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the index's ``freq`` forgotten, as after reading a CSV file."""
    frame = frame.copy()
    frame.index = pd.Index(list(frame.index), name=frame.index.name)
    return frame


def test_hourly_gaps_are_restored_as_nan_rows():
    full = make_frame(n_rows=48)
    gappy = _without_freq(full.drop(full.index[[5, 20, 21]]))
    before = gappy.copy()
    regular = regular_time_index(gappy)
    assert regular.index.freqstr == "h"
    assert regular.index.equals(full.index)
    missing = regular.isna().all(axis=1)
    assert missing.sum() == 3
    assert list(regular.index[missing]) == list(full.index[[5, 20, 21]])
    pd.testing.assert_frame_equal(regular[~missing], before, check_freq=False)
    pd.testing.assert_frame_equal(gappy, before)  # the caller's frame is untouched
    assert gappy.index.freq is None


def test_period_index_gaps_are_restored():
    full = make_frame(n_rows=24, index="period")
    regular = regular_time_index(full.drop(full.index[[3, 10]]))
    assert regular.index.equals(full.index)
    assert regular.index.freqstr == "M"
    assert regular.isna().all(axis=1).tolist() == [i in (3, 10) for i in range(24)]


def test_regular_index_without_freq_gets_one_and_nothing_else_changes():
    full = make_frame(n_rows=30)
    loaded = _without_freq(full)
    before = loaded.copy()
    regular = regular_time_index(loaded)
    assert regular is not loaded
    assert regular.index.freqstr == "h"
    np.testing.assert_array_equal(regular.to_numpy(), loaded.to_numpy())
    pd.testing.assert_frame_equal(loaded, before)
    assert loaded.index.freq is None


def test_business_days_keep_their_calendar():
    days = pd.bdate_range("2024-01-01", periods=30)
    y = pd.Series(np.arange(30.0), index=days).drop(days[[7, 8]])
    y.index = pd.DatetimeIndex(list(y.index))
    regular = regular_time_index(y)
    assert regular.index.freqstr == "B"
    assert regular.isna().sum() == 2  # weekends are not gaps


def test_jittered_stamps_are_refused_with_a_resampling_fix():
    rng = np.random.default_rng(0)
    offsets = pd.to_timedelta(np.arange(40) + rng.uniform(-0.01, 0.01, 40), unit="s")
    y = pd.DataFrame({"a": np.arange(40.0)}, index=pd.Timestamp("2024-01-01") + offsets)
    with pytest.raises(ValueError) as info:
        regular_time_index(y)
    message = str(info.value)
    assert "time index is not regular: its steps are not whole multiples of one step" in message
    assert 'y.resample("1s").mean()' in message and 'y.asfreq("1s")' in message
    assert "e.g. steps 9" in message  # shows offending steps, e.g. 993ms


def test_mostly_empty_grid_is_refused():
    index = pd.DatetimeIndex(["2024-01-01 00:00:00", "2024-01-01 00:00:01"]).append(
        pd.date_range("2024-01-01 00:01:01", periods=4, freq="min")
    )
    with pytest.raises(ValueError, match=r"would have 242 rows, more than 10 times the 6 rows"):
        regular_time_index(pd.Series(1.0, index=index))


def test_integer_index_with_a_gap():
    y = pd.DataFrame({"a": [1.0, 2.0, 3.0, 5.0, 6.0]}, index=[0, 2, 4, 8, 10])
    regular = regular_time_index(y)
    assert regular.index.equals(pd.RangeIndex(0, 12, 2))
    assert regular["a"].isna().tolist() == [False, False, False, True, False, False]


def test_integer_index_with_equal_steps_is_kept():
    y = make_frame(n_rows=20, index="range")
    regular = regular_time_index(y)
    pd.testing.assert_frame_equal(regular, y)


def test_integer_steps_that_are_not_multiples_are_refused():
    y = pd.Series(1.0, index=[0, 2, 5, 7])
    with pytest.raises(
        ValueError, match=r"not whole multiples of the smallest step; e\.g\. steps 3\. .*groupby"
    ):
        regular_time_index(y)


@pytest.mark.parametrize("n_rows", [1, 2])
def test_one_or_two_rows_are_returned_unchanged(n_rows):
    y = _without_freq(make_frame(n_rows=n_rows))
    assert regular_time_index(y) is y


def test_other_index_types_are_returned_unchanged():
    y = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=[0.0, 0.5, 2.0])
    assert regular_time_index(y) is y
