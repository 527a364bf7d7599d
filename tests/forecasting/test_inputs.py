"""Every wrong input gets a clear error naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sae_forecast import LightSAERLinearForecaster
from tests.forecasting.conftest import TINY, make_frame


def tiny(**overrides):
    return LightSAERLinearForecaster(**{**TINY, **overrides})


def test_nan_names_columns_and_suggests_imputer():
    frame = make_frame()
    frame.iloc[[3, 9], 1] = np.nan
    frame.iloc[5, 2] = np.nan
    with pytest.raises(ValueError) as info:
        tiny().fit(frame)
    message = str(info.value)
    assert "missing values (NaN) in column(s) ['sensor_1', 'sensor_2'] (3 values in all)" in message
    assert "Imputer" in message and "TransformedTargetForecaster" in message


def test_infinite_values():
    frame = make_frame()
    frame.iloc[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"infinite values in column\(s\) \['sensor_0'\]"):
        tiny().fit(frame)


def test_too_short_says_how_many_rows():
    with pytest.raises(
        ValueError,
        match=r"y has 20 rows, but training needs at least 24: "
        r"seq_len=12 \+ pred_len=6 for the first window, plus "
        r"1 validation window\(s\) after a gap of 5",
    ):
        tiny(seq_len=12, pred_len=6, validation_size=0.1).fit(make_frame(n_rows=20))


def test_non_numeric_columns():
    frame = make_frame()
    frame["label"] = "x"
    with pytest.raises(
        TypeError,
        match=r"non-numeric \(categorical, text or boolean\) "
        r"column\(s\) \['label'\]",
    ):
        tiny().fit(frame)


def test_duplicate_index():
    frame = make_frame()
    frame.index = frame.index[:1].append(frame.index[:-1])
    with pytest.raises(ValueError, match="duplicate time index values"):
        tiny().fit(frame)


def test_non_monotonic_index():
    frame = make_frame().iloc[::-1]
    with pytest.raises(ValueError, match=r"time index is not increasing; sort it first"):
        tiny().fit(frame)


def test_columns_differ_at_update():
    full = make_frame(n_rows=170)
    forecaster = tiny().fit(full.iloc[:160])
    renamed = full.iloc[160:].rename(columns={"sensor_0": "other"})
    with pytest.raises(ValueError, match=r"y passed to update has columns \['other', "):
        forecaster.update(renamed, update_params=False)


def test_empty_input():
    with pytest.raises(ValueError, match=r"y is empty \(shape \(0, 3\)\)"):
        tiny().fit(make_frame().iloc[:0])


def test_bad_embedding_kind_surfaces_at_fit():
    with pytest.raises(ValueError, match="Unknown embedding kind 'nonsense'"):
        tiny(embedding="nonsense").fit(make_frame())


def test_nan_in_update_is_refused_too():
    full = make_frame(n_rows=170)
    forecaster = tiny().fit(full.iloc[:160])
    new = full.iloc[160:].copy()
    new.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"missing values \(NaN\) in column\(s\) \['sensor_0'\]"):
        forecaster.update(new)


def test_caller_data_untouched_by_failed_fit():
    frame = make_frame()
    frame.iloc[0, 0] = np.nan
    before = frame.copy()
    with pytest.raises(ValueError):
        tiny().fit(frame)
    pd.testing.assert_frame_equal(frame, before)
