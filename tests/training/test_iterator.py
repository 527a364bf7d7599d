"""Tests of sae_forecast.training.iterator."""

from __future__ import annotations

import numpy as np
import torch

from sae_forecast.training import BatchIterator, SeriesWindows, Targets


def _data(n_rows=50):
    return SeriesWindows(np.arange(n_rows, dtype=np.float32)[:, None], seq_len=4, pred_len=2)


def test_every_window_once_without_drop_last():
    data = _data()
    seen = torch.cat([X[:, 0, 0] for X, _ in BatchIterator(data, batch_size=16)])
    assert seen.tolist() == list(range(len(data)))
    assert len(BatchIterator(data, batch_size=16)) == 3


def test_drop_last():
    batches = list(BatchIterator(_data(), batch_size=16, drop_last=True))
    assert [len(X) for X, _ in batches] == [16, 16]


def test_shuffle_is_a_permutation_reproducible_from_the_generator():
    data = _data()

    def order(seed):
        it = BatchIterator(data, 8, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return torch.cat([X[:, 0, 0] for X, _ in it]).tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == list(range(len(data)))


def test_plain_dataset_falls_back_to_a_dataloader():
    dataset = torch.utils.data.TensorDataset(torch.zeros(10, 3), torch.arange(10.0)[:, None])
    batches = list(BatchIterator(dataset, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    targets = batches[1][1]
    assert isinstance(targets, Targets) and targets.weight is None
    assert targets.values[:, 0].tolist() == [4.0, 5.0, 6.0, 7.0]
