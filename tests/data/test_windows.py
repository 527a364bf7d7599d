"""Tests of sae_forecast.data.windows."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.data.windows import chronological_split, count_windows, sliding_windows


def test_every_window_is_counted():
    # 100 rows, L=10, H=5: starts 0..85 -> 86 windows, none dropped
    assert count_windows(100, 10, 5) == 86
    X, Y = sliding_windows(np.zeros((100, 3)), 10, 5)
    assert len(X) == len(Y) == 86


def test_windows_are_views_with_the_right_rows():
    values = np.arange(60.0).reshape(30, 2)
    X, Y = sliding_windows(values, 4, 3)
    assert np.shares_memory(X, values) and np.shares_memory(Y, values)
    for i in (0, 7, len(X) - 1):
        np.testing.assert_array_equal(X[i], values[i : i + 4])
        np.testing.assert_array_equal(Y[i], values[i + 4 : i + 7])
    assert Y[-1, -1, -1] == values[-1, -1]  # the last window reaches the last row


def test_too_short_series_message():
    with pytest.raises(
        ValueError, match="has no window of seq_len=8 \\+ pred_len=4; it needs at least 12 rows"
    ):
        sliding_windows(np.zeros((10, 1)), 8, 4)


def test_non_2d_input_message():
    with pytest.raises(
        ValueError, match=r"values must be 2-D \(n_rows, n_channels\), got shape \(10,\)"
    ):
        sliding_windows(np.zeros(10), 2, 1)


def test_split_tail_gap_and_fraction():
    train, valid = chronological_split(100, 0.1, gap=4)
    assert valid.tolist() == list(range(90, 100))
    assert train.tolist() == list(range(86))
    assert chronological_split(100, 0.0)[1].size == 0
    assert chronological_split(10, 0.01)[1].tolist() == [9]  # a fraction gives >= 1 window
    assert chronological_split(10, 3)[1].tolist() == [7, 8, 9]


def test_gap_prevents_target_overlap():
    seq_len, pred_len = 6, 4
    train, valid = chronological_split(50, 0.2, gap=pred_len - 1)
    last_train_target_end = train[-1] + seq_len + pred_len  # exclusive
    first_valid_target_start = valid[0] + seq_len
    assert last_train_target_end == first_valid_target_start


def test_split_errors():
    with pytest.raises(ValueError, match=r"validation_size must be in \[0, 1\) or an int, got 1.5"):
        chronological_split(10, 1.5)
    with pytest.raises(
        ValueError,
        match="10 windows leave no training window after a validation tail of 5 and a gap of 5",
    ):
        chronological_split(10, 5, gap=5)
