"""A skorch batch iterator that slices whole batches instead of collating samples."""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from sae_forecast.training.dataset import collate_pairs

__all__ = ["BatchIterator"]


class BatchIterator:
    """Yield ``dataset.batch(indices)`` for consecutive (or shuffled) index blocks.

    skorch's default ``torch.utils.data.DataLoader`` calls ``__getitem__`` once per window and
    collates the results; for small forecasting models that per-sample work dominates an epoch.
    This iterator asks the dataset for a whole batch at once (one gather per batch), or for
    all of them through its ``batches`` method where it has one (a
    :class:`~sae_forecast.training.SeriesWindows` then gathers several batches per copy: the
    same batches, the same bits). Datasets without a ``batch`` method fall back to a
    ``DataLoader`` over their ``(input, target)`` samples, with the targets of each batch as
    :class:`~sae_forecast.training.Targets`.

    Parameters
    ----------
    dataset : Dataset
        A :class:`~sae_forecast.training.SeriesWindows`, an
        :class:`~sae_forecast.training.ArrayWindows`, or any ``torch.utils.data.Dataset``.
    batch_size : int, default=32
        Windows per batch.
    shuffle : bool, default=False
        Whether to visit the windows in a random order (drawn from ``generator``).
    generator : torch.Generator or None, default=None
        Source of the shuffling order; ``None`` uses the global random state.
    drop_last : bool, default=False
        Whether to skip a final incomplete batch (off: every window is used).

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.training import SeriesWindows
    >>> data = SeriesWindows(np.zeros((50, 2)), seq_len=8, pred_len=4)
    >>> [len(X) for X, _ in BatchIterator(data, batch_size=16)]
    [16, 16, 7]
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 32,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        if not hasattr(self.dataset, "batch"):
            yield from DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                generator=self.generator,
                drop_last=self.drop_last,
                collate_fn=collate_pairs,
            )
            return
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        if hasattr(self.dataset, "batches"):  # gathers several batches at a time
            yield from self.dataset.batches(order[:stop], self.batch_size)
            return
        for begin in range(0, stop, self.batch_size):
            yield self.dataset.batch(order[begin : begin + self.batch_size])
