"""Tests of sae_forecast.data.splits: borders, train-only scaling, causal imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sae_forecast.data import load_dataset, prepare_benchmark, split_borders


def test_ett_borders_hourly_and_minutely():
    assert split_borders("ett_hour", 17420, 96) == {
        "train": (0, 8640),
        "valid": (8544, 11520),
        "test": (11424, 14400),
    }
    assert split_borders("ett_minute", 69680, 96) == {
        "train": (0, 34560),
        "valid": (34464, 46080),
        "test": (45984, 57600),
    }


def test_ratio_borders():
    # Weather: 52696 rows -> 36887 train, 10539 test, 5270 validation
    assert split_borders("ratio_7_1_2", 52696, 96) == {
        "train": (0, 36887),
        "valid": (36791, 42157),
        "test": (42061, 52696),
    }
    assert split_borders("ratio_6_2_2", 1000, 12) == {
        "train": (0, 600),
        "valid": (588, 800),
        "test": (788, 1000),
    }


def test_unknown_rule_and_short_data():
    with pytest.raises(ValueError, match="Unknown split rule 'halves'"):
        split_borders("halves", 100, 10)
    with pytest.raises(ValueError, match="rule 'ett_hour' needs 14400 rows, the data has 1000"):
        split_borders("ett_hour", 1000, 96)


def test_scaler_is_fitted_on_the_training_rows_only(data_home):
    frame = load_dataset("ETTh1", data_home)
    data = prepare_benchmark(frame, 96)
    train = frame.to_numpy()[:8640]
    np.testing.assert_allclose(data.mean, train.mean(axis=0))
    np.testing.assert_allclose(data.std, train.std(axis=0))
    assert not np.allclose(data.mean, frame.to_numpy().mean(axis=0))  # not the full series
    test_values, mask = data.part("test")
    assert test_values.shape == (14400 - 11424, 7) and mask is None
    np.testing.assert_allclose(
        test_values[-1], (frame.to_numpy()[14399] - data.mean) / data.std, rtol=1e-5, atol=1e-5
    )


def test_the_future_does_not_move_the_scaler():
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 2)))
    data = prepare_benchmark(frame, 10, rule="ratio_7_1_2")
    changed = frame.copy()
    changed.iloc[150:] *= 100
    assert np.allclose(prepare_benchmark(changed, 10, rule="ratio_7_1_2").mean, data.mean)


def test_gaps_are_forward_filled_and_marked():
    frame = pd.DataFrame(
        {"a": [np.nan, 1.0, np.nan, np.nan, 5.0, 3.0, 2.0, 4.0, 6.0, 8.0], "b": np.arange(10.0)}
    )
    data = prepare_benchmark(frame, 2, rule="ratio_7_1_2")
    a = data.values[:, 0] * data.std[0] + data.mean[0]
    assert a[0] == pytest.approx(data.mean[0])  # leading gap: training mean
    assert a[2] == pytest.approx(1.0) and a[3] == pytest.approx(1.0)  # last observation
    assert data.observed[:, 0].tolist() == [False, True, False, False] + [True] * 6
    assert data.observed[:, 1].all()
    assert data.mean[0] == pytest.approx(np.mean([1.0, 5.0, 3.0, 2.0]))  # observed train rows


def test_column_subset_and_rule_required():
    frame = pd.DataFrame(np.ones((50, 3)), columns=["x", "y", "z"])
    assert prepare_benchmark(frame, 5, rule="ratio_7_1_2", columns=["z", "x"]).columns == ["z", "x"]
    with pytest.raises(
        ValueError, match=r"pass rule=\.\.\. for a frame that is not a catalog dataset"
    ):
        prepare_benchmark(frame, 5)
