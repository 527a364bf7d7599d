"""Tests of sae_forecast.training.dataset: lazy windows equal the materialised ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.data import sliding_windows
from sae_forecast.training import ArrayWindows, SeriesWindows, Targets
from sae_forecast.training.dataset import collate_pairs


def test_batches_equal_sliding_windows():
    values = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    data = SeriesWindows(values, seq_len=8, pred_len=5)
    X_ref, Y_ref = sliding_windows(values, 8, 5)
    assert len(data) == len(X_ref) == 48
    idx = np.array([0, 17, 47])
    X, Y = data.batch(idx)
    assert isinstance(Y, Targets) and Y.weight is None
    np.testing.assert_array_equal(X.numpy(), X_ref[idx])
    np.testing.assert_array_equal(Y.values.numpy(), Y_ref[idx])


def test_every_field_is_a_contiguous_copy_of_its_rows_in_each_part():
    """The batch is cut from a sliding-window view of each table: every window of both
    parts, values, weight and covariates, equals the rows sliced directly, is contiguous
    (the layout the kernels saw before) and does not alias the series."""
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=(n, 2)).astype(np.float32) for n in (11, 14)]
    observed = [rng.random(p.shape) > 0.3 for p in parts]
    covariates = [rng.normal(size=(len(p), 3)).astype(np.float32) for p in parts]
    data = SeriesWindows(parts, 4, 3, observed=observed, covariates=covariates)
    inputs, targets = data.batch(torch.arange(len(data)))
    starts = [(k, s) for k, p in enumerate(parts) for s in range(len(p) - 6)]
    fields = [inputs["x"], targets.values, targets.weight, inputs["covariates"]]
    for window, (k, s) in enumerate(starts):
        np.testing.assert_array_equal(fields[0][window], parts[k][s : s + 4])
        np.testing.assert_array_equal(fields[1][window], parts[k][s + 4 : s + 7])
        np.testing.assert_array_equal(fields[2][window], observed[k][s + 4 : s + 7])
        np.testing.assert_array_equal(fields[3][window], covariates[k][s : s + 7])
    assert targets.weight.is_contiguous() and inputs["covariates"].is_contiguous()
    assert inputs["x"].stride() == (14, 2, 1)  # a slice of the (b, L+H, N) window copy
    targets.values.fill_(99.0)
    assert not (data.values == 99.0).any()


def test_series_stored_once_not_per_window():
    values = np.zeros((10_000, 4), dtype=np.float32)
    data = SeriesWindows(values, seq_len=96, pred_len=96)
    stored = data.values.numel() + data.starts.numel()
    assert stored < 2 * values.size  # materialised windows would hold ~192x the series


def test_windows_never_cross_series():
    a, b = np.zeros((10, 1)), np.ones((12, 1))
    data = SeriesWindows([a, b], seq_len=3, pred_len=2)
    assert len(data) == (10 - 4) + (12 - 4)
    X, Y = data.batch(torch.arange(len(data)))
    whole = torch.cat([X, Y.values], dim=1)[..., 0]
    assert bool(((whole == 0).all(1) | (whole == 1).all(1)).all())


def test_observed_mask_travels_with_the_targets():
    values = np.arange(20.0).reshape(10, 2)
    observed = np.ones((10, 2), dtype=bool)
    observed[6, 1] = False
    data = SeriesWindows(values, 4, 3, observed=observed)
    _X, targets = data.batch([2])
    assert targets.values.shape == targets.weight.shape == (1, 3, 2)
    assert targets.weight.dtype == torch.float32
    assert targets.weight[0, :, 1].tolist() == [0.0, 1.0, 1.0]  # rows 6, 7, 8
    assert targets.values[0, :, 1].tolist() == [13.0, 15.0, 17.0]
    _x, one = data[2]
    assert one.weight[:, 1].tolist() == [0.0, 1.0, 1.0]
    assert one.values[:, 1].tolist() == [13.0, 15.0, 17.0]


def test_subset_shares_the_series():
    data = SeriesWindows(np.zeros((30, 2)), 4, 2)
    part = data.subset([3, 4, 5])
    assert len(part) == 3 and part.values is data.values
    assert part.starts.tolist() == [3, 4, 5]


def test_getitem_single_window():
    data = SeriesWindows(np.arange(12.0).reshape(6, 2), 2, 1)
    x, y = data[1]
    assert x.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    assert y.values.tolist() == [[6.0, 7.0]] and y.weight is None


def test_series_must_be_2d():
    with pytest.raises(
        ValueError, match=r"each series must be 2-D \(n_rows, n_channels\), got \(10,\)"
    ):
        SeriesWindows(np.zeros(10), 2, 1)


def test_array_windows_convert_one_batch_at_a_time():
    X, Y = sliding_windows(np.arange(40.0).reshape(20, 2), 4, 2)  # read-only float64 views
    data = ArrayWindows(X, Y)
    assert data.X is X  # kept as given, no copy of all windows
    xb, yb = data.batch(np.array([0, 5]))
    assert xb.dtype == torch.float32 and yb.values.shape == (2, 2, 2) and yb.weight is None
    np.testing.assert_array_equal(yb.values.numpy(), Y[[0, 5]])
    assert data.subset([4, 5]).batch([1])[0][0, 0, 0].item() == X[5, 0, 0]


def test_array_windows_errors():
    with pytest.raises(
        ValueError, match=r"X must have shape \(n_windows, seq_len, n_channels\), got \(5, 4\)"
    ):
        ArrayWindows(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="X has 5 windows but y has 4"):
        ArrayWindows(np.zeros((5, 4, 1)), np.zeros((4, 2, 1)))


def test_array_windows_without_targets_yield_none():
    data = ArrayWindows(np.ones((3, 4, 2)))
    X, y = data.batch([0, 2])
    assert y is None and X.shape == (2, 4, 2)
    assert data[1][1] is None


def test_only_batches_whose_targets_reach_a_gap_carry_a_weight():
    values = np.arange(40.0).reshape(20, 2)
    observed = np.ones((20, 2), dtype=bool)
    observed[12, 1] = False  # a target of windows 6..8 (seq_len 4, pred_len 3)
    data = SeriesWindows(values, 4, 3, observed=observed)
    assert data.batch([0, 1, 2])[1].weight is None  # targets rows 4..8
    assert data.batch([9, 5])[1].weight is None  # lookback of window 9, targets of none
    reached = data.batch([0, 8])[1].weight
    assert reached[0].all() and reached[1, :, 1].tolist() == [0.0, 1.0, 1.0]  # rows 12..14
    assert data[1][1].weight.all()  # one window always carries it (collate_pairs stacks them)


def test_collate_pairs_builds_the_batch_that_batch_gathers():
    values = np.arange(40.0).reshape(20, 2)
    observed = np.ones((20, 2), dtype=bool)
    observed[9, 0] = False
    data = SeriesWindows(values, 4, 3, observed=observed)
    X, targets = collate_pairs([data[i] for i in (1, 5, 6)])
    X_ref, ref = data.batch([1, 5, 6])
    assert torch.equal(X, X_ref) and torch.equal(targets.values, ref.values)
    assert torch.equal(targets.weight, ref.weight) and not ref.weight.all()
    plain = ArrayWindows(np.zeros((4, 3, 2)))
    assert collate_pairs([plain[0], plain[1]])[1] is None
