"""Tests of sae_forecast.training.split."""

from __future__ import annotations

import numpy as np

from sae_forecast.training import ArrayWindows, ChronologicalSplit, SeriesWindows


def test_tail_is_validation_and_gap_is_pred_len_minus_one():
    data = SeriesWindows(np.arange(100.0)[:, None], seq_len=10, pred_len=5)  # 86 windows
    train, valid = ChronologicalSplit(0.1)(data)
    assert valid.starts.tolist() == list(range(77, 86))  # ceil(8.6) = 9 windows
    assert train.starts.tolist() == list(range(73))  # 86 - 9 - 4
    last_train_target = train.starts[-1] + 10 + 5
    assert last_train_target == valid.starts[0] + 10  # no target row in both parts


def test_gap_from_y_for_window_arrays_and_explicit_gap():
    X, y = np.zeros((30, 6, 1)), np.zeros((30, 3, 1))
    train, valid = ChronologicalSplit(5)(ArrayWindows(X, y), y)
    assert len(valid) == 5 and len(train) == 30 - 5 - 2
    train, _ = ChronologicalSplit(5, gap=0)(ArrayWindows(X, y), y)
    assert len(train) == 25


def test_zero_validation_gives_none():
    data = SeriesWindows(np.zeros((20, 1)), 4, 2)
    train, valid = ChronologicalSplit(0.0)(data)
    assert valid is None and len(train) == len(data)


def test_repr_lists_parameters():
    assert repr(ChronologicalSplit(0.2)) == "ChronologicalSplit(validation_size=0.2, gap='auto')"
