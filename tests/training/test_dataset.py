"""Tests of sae_forecast.training.dataset: lazy windows equal the materialised ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.data import sliding_windows
from sae_forecast.training import ArrayWindows, SeriesWindows, Targets
from sae_forecast.training import dataset as dataset_module
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
    reached = data.batch([0, 8])[1]
    assert reached.weight[0].all() and reached.weight[1, :, 1].tolist() == [0.0, 1.0, 1.0]
    assert reached.n_observed == 11  # 2 windows x 3 rows x 2 channels, one gap
    assert data.subset([8, 0]).batch([0, 1])[1].n_observed == 11
    one = data[1][1]  # one window always carries it (collate_pairs stacks them)
    assert one.weight.all() and one.n_observed is None  # a whole batch's count


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


def _gappy_parts(seed=2):
    """Two series with covariates; a gap in one target row, so only some batches reach one."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(size=(n, 3)).astype(np.float32) for n in (120, 90)]
    observed = [np.ones(p.shape, dtype=bool) for p in parts]
    observed[1][20, 2] = False
    covariates = [rng.normal(size=(len(p), 2)).astype(np.float32) for p in parts]
    return SeriesWindows(parts, 6, 4, observed=observed, covariates=covariates)


@pytest.mark.parametrize("block_bytes", [0, 8000, 1 << 21])  # one batch, a few, all at once
@pytest.mark.parametrize("batch_size", [16, 7])  # 7 x 4 bytes: a batch cut is not 64-aligned
def test_batches_in_blocks_are_the_batches_one_at_a_time(monkeypatch, block_bytes, batch_size):
    """Every batch of ``batches`` equals ``batch`` of its indices: values, layout (strides,
    alignment), and a weight exactly where that batch's own targets reach a gap."""
    monkeypatch.setattr(dataset_module, "BLOCK_BYTES", block_bytes)
    data = _gappy_parts()
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    batches = list(data.batches(order, batch_size))
    assert len(batches) == -(-len(data) // batch_size)
    weighted = 0
    for number, (inputs, targets) in enumerate(batches):
        ref_inputs, ref_targets = data.batch(order[number * batch_size :][:batch_size])
        pairs = [(inputs[k], ref_inputs[k]) for k in ("x", "covariates")]
        pairs.append((targets.values, ref_targets.values))
        assert (targets.weight is None) == (ref_targets.weight is None)
        assert targets.n_observed == ref_targets.n_observed
        if targets.weight is not None:
            pairs.append((targets.weight, ref_targets.weight))
            assert targets.n_observed == int(targets.weight.sum()) < targets.weight.numel()
            weighted += 1
        for got, want in pairs:
            assert torch.equal(got, want) and got.stride() == want.stride()
            assert got.data_ptr() % 64 == want.data_ptr() % 64
    assert 0 < weighted < len(batches)


def _gather_sizes(monkeypatch, data, batch_size):
    gathered = []
    original = SeriesWindows._gather
    monkeypatch.setattr(
        SeriesWindows,
        "_gather",
        lambda self, indices, **kw: gathered.append(len(indices)) or original(self, indices, **kw),
    )
    list(data.batches(torch.arange(len(data)), batch_size))
    return gathered


def test_a_block_holds_at_most_block_bytes_and_keeps_the_alignment(monkeypatch):
    data = _gappy_parts()  # 111 + 81 windows
    per_window = (10 * (3 + 2) + 4 * 3) * 4  # values and covariates, weight over the horizon
    monkeypatch.setattr(dataset_module, "BLOCK_BYTES", 3 * 16 * per_window)
    assert _gather_sizes(monkeypatch, data, 16) == [48] * 4
    monkeypatch.setattr(dataset_module, "BLOCK_BYTES", 16 * per_window - 1)
    assert _gather_sizes(monkeypatch, data, 16) == [16] * 12  # a batch over the budget: alone
    monkeypatch.setattr(dataset_module, "BLOCK_BYTES", 1 << 21)
    assert _gather_sizes(monkeypatch, data, 7) == [7] * 27 + [3]  # 7 x 4 bytes: unaligned
