"""Every wrong input gets a clear error naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sae_forecast import LightSAERLinearForecaster
from sae_forecast.data import Standardiser
from sae_forecast.forecasting._checks import check_target
from tests.forecasting.conftest import TINY, make_frame


def tiny(**overrides):
    return LightSAERLinearForecaster(**{**TINY, **overrides})


def test_nan_gaps_are_accepted_and_left_untouched():
    frame = make_frame()
    frame.iloc[[3, 9], 1] = np.nan
    frame.iloc[5, 2] = np.nan
    before = frame.copy()
    check_target(frame)
    check_target(frame.to_numpy())
    check_target(frame["sensor_1"])
    pd.testing.assert_frame_equal(frame, before)


def test_infinite_values_are_named_and_nan_is_the_fix():
    frame = make_frame()
    frame.iloc[4, 0] = np.inf
    frame.iloc[7, 2] = -np.inf
    with pytest.raises(
        ValueError,
        match=r"y has infinite values in column\(s\) \['sensor_0', 'sensor_2'\] \(2 values in "
        r"all\); replace them with NaN \(y\.replace\(\[np\.inf, -np\.inf\], np\.nan\)\), which "
        r"the forecaster handles as gaps\.",
    ):
        check_target(frame)


def test_duplicate_column_names_are_named_with_the_fix():
    frame = make_frame(n_columns=4)
    frame.columns = ["a", "b", "a", "b"]
    with pytest.raises(
        ValueError, match=r"y has duplicate column name\(s\) \['a', 'b'\]; .* Rename them"
    ):
        check_target(frame)


def test_duplicate_non_numeric_column_names_report_the_duplicates_first():
    frame = pd.DataFrame([["x", "y"]], columns=["label", "label"])
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['label'\]"):
        check_target(frame)


def test_channel_without_observation_is_named():
    values = make_frame().to_numpy(copy=True)
    values[:, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"y has no observed \(non-NaN\) value in the training span for channel\(s\) "
        r"\['sensor_1'\]; .* Drop it \(y\.drop\(columns=\['sensor_1'\]\)\)",
    ):
        Standardiser.fit(values, columns=["sensor_0", "sensor_1", "sensor_2"])
    values[0, 1] = 1.0
    Standardiser.fit(values, columns=["sensor_0", "sensor_1", "sensor_2"])  # one is enough


def test_infinite_values():
    frame = make_frame()
    frame.iloc[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"infinite values in column\(s\) \['sensor_0'\]"):
        tiny().fit(frame)


def test_too_short_says_how_many_rows():
    with pytest.raises(
        ValueError,
        match=r"y has 20 rows, too few to train: seq_len=12 \+ pred_len=6 rows make one "
        r"window, and 3 windows leave no training window after a validation tail of 1 and "
        r"a gap of 5\. Pass a longer series",
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
    with pytest.raises(ValueError, match=r"^embedding must be one of .*got 'nonsense'"):
        tiny(embedding="nonsense").fit(make_frame())


def test_caller_data_untouched_by_failed_fit():
    frame = make_frame()
    frame.iloc[0, 0] = np.inf
    before = frame.copy()
    with pytest.raises(ValueError):
        tiny().fit(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_a_forecaster_names_a_channel_never_observed_in_its_training_span():
    frame = make_frame()
    frame.iloc[:150, 1] = np.nan  # observed only in the validation tail
    with pytest.raises(ValueError, match=r"for channel\(s\) \['sensor_1'\]"):
        tiny().fit(frame)
