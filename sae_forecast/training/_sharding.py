"""Batches and history for data-parallel training (used by :mod:`.distributed`).

A window dataset seen as a loader whose sampler yields whole batches (so that ``accelerate``
can shard it), batches moved to the accelerator's device, and the key-value store that
skorch's ``DistributedHistory`` shares between the processes. ``accelerate`` is imported
only when these run.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from sae_forecast.training.dataset import collate_pairs

__all__ = ["DeviceBatches", "batch_loader", "history_store"]


class _Batches(Dataset):
    """A window dataset seen as a dataset of batches: item ``indices`` -> one gathered batch."""

    def __init__(self, windows) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, indices):
        return self.windows.batch(indices)


def batch_loader(dataset, *, batch_size: int, shuffle: bool = False, generator=None):
    """A ``DataLoader`` that gathers each batch of a window dataset with one indexing call.

    ``accelerate`` shards a ``DataLoader`` whose sampler yields batches of indices (process
    ``p`` of ``n`` takes batches ``p, p + n, ...``); skorch's default loader would collate
    the windows one by one. Datasets without a ``batch`` method get an ordinary loader.

    Parameters
    ----------
    dataset : SeriesWindows, ArrayWindows or torch Dataset
        The windows.
    batch_size : int
        Windows per batch.
    shuffle : bool, default=False
        Visit the windows in a random order drawn from ``generator``.
    generator : torch.Generator or None, default=None
        Source of the shuffling order.

    Returns
    -------
    torch.utils.data.DataLoader

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.training import SeriesWindows
    >>> data = SeriesWindows(np.zeros((50, 2)), seq_len=8, pred_len=4)
    >>> [tuple(X.shape) for X, _ in batch_loader(data, batch_size=30)]
    [(30, 8, 2), (9, 8, 2)]
    """
    if not hasattr(dataset, "batch"):
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            generator=generator,
            collate_fn=collate_pairs,
        )
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = BatchSampler(order, batch_size=batch_size, drop_last=False)
    return DataLoader(_Batches(dataset), sampler=batches, batch_size=None)


class DeviceBatches:
    """Iterate over ``batches`` with every tensor moved to ``device``."""

    def __init__(self, batches, device) -> None:
        self.batches = batches
        self.device = device

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        from accelerate.utils import send_to_device

        for batch in self.batches:
            yield send_to_device(batch, self.device)


def history_store(accelerator):
    """A key-value store for the processes' shared history: a ``TCPStore`` that the main
    process serves on a free port of ``MASTER_ADDR`` and the others join."""
    from accelerate.utils import broadcast_object_list

    host = os.environ.get("MASTER_ADDR", "127.0.0.1")
    options = {"world_size": accelerator.num_processes, "wait_for_workers": False}
    served = None
    if accelerator.is_main_process:
        served = torch.distributed.TCPStore(host, 0, is_master=True, **options)
    port = [None if served is None else served.port]
    broadcast_object_list(port)  # every process takes the main process's port
    return served or torch.distributed.TCPStore(host, port[0], is_master=False, **options)
