"""Datasets that cut training windows out of a series lazily, one batch at a time.

Every dataset here yields ``(inputs, targets)`` pairs (skorch's batch protocol), ``targets``
always a :class:`Targets` (or None when predicting). ``inputs`` is the lookback tensor, or,
with covariates, the dict ``{"x": lookback, "covariates": window}`` that skorch passes to
the module's ``forward`` as keyword arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, default_collate

__all__ = [
    "ArrayWindows",
    "SeriesWindows",
    "Targets",
    "collate_pairs",
    "observed_weight",
    "window_inputs",
]


def observed_weight(observed: Tensor, dtype: torch.dtype) -> Tensor:
    """The boolean mask ``observed`` as 1.0 / 0.0 of ``dtype``: the weight of a masked loss.

    Read as bytes first: torch converts bool to float about 3.5x slower than uint8 on the
    CPU (14 against 4 us for a batch of 32 x 96 x 7, timed while another job ran); the
    values are the same. :class:`SeriesWindows` converts its mask once, so batches carry the
    weight already as floats (bool operations are 3-5x slower than float ones on the CPU).

    Examples
    --------
    >>> observed_weight(torch.tensor([True, False]), torch.float32).tolist()
    [1.0, 0.0]
    """
    return observed.view(torch.uint8).to(dtype)


def window_inputs(lookback: Tensor, covariates: Tensor | None):
    """The inputs of a batch: the lookback alone, or with its covariate windows as the dict
    ``{"x": lookback, "covariates": covariates}`` (skorch calls ``forward(**inputs)``).

    Examples
    --------
    >>> import torch
    >>> sorted(window_inputs(torch.zeros(2, 4, 1), torch.zeros(2, 6, 3)))
    ['covariates', 'x']
    """
    return lookback if covariates is None else {"x": lookback, "covariates": covariates}


class Targets(NamedTuple):
    """The targets of a batch of windows: values and the weight of each (where observed).

    The one type every window dataset yields beside the inputs; losses and scores read its
    fields by name, never by position. A field added later (covariates over the horizon, say)
    goes at the end with a default of None, so every constructor and reader keeps working.

    Attributes
    ----------
    values : Tensor of shape (batch, pred_len, n_channels)
        The target windows (scaled).
    weight : Tensor of float, same shape as ``values``, or None
        1.0 where the target was observed, 0.0 where a gap was imputed; None when the windows
        have no gap.
    n_observed : int or None, default=None
        How many targets of the batch were observed (the sum of ``weight``), where the
        dataset counted them: the masked loss then divides by it instead of summing the
        weight. None leaves the count to the loss.

    Examples
    --------
    >>> import torch
    >>> targets = Targets(torch.zeros(2, 3, 1), None)
    >>> targets.select(1).values.shape, targets.weight
    (torch.Size([3, 1]), None)
    """

    values: Tensor
    weight: Tensor | None
    n_observed: int | None = None

    def select(self, index) -> Targets:
        """Index the tensors with ``index`` (e.g. one window; None stays None). The count
        ``n_observed`` is the whole batch's, so the selection leaves it None."""
        values, weight = (None if field is None else field[index] for field in self[:2])
        return Targets(values, weight)


def collate_pairs(samples) -> tuple:
    """Collate ``(input, target)`` samples into a batch ``(inputs, Targets)``.

    The ``collate_fn`` of a ``DataLoader`` that draws one window at a time: from the
    datasets here (whose samples carry a :class:`Targets`, or None when predicting) or
    from any dataset of ``(input, target array)`` pairs (targets without a mask).

    Examples
    --------
    >>> import torch
    >>> inputs, targets = collate_pairs([(torch.zeros(4), torch.ones(2))] * 3)
    >>> tuple(inputs.shape), tuple(targets.values.shape), targets.weight
    ((3, 4), (3, 2), None)
    """
    inputs = default_collate([sample[0] for sample in samples])
    targets = [sample[1] for sample in samples]
    if targets[0] is None:
        return inputs, None
    if not isinstance(targets[0], Targets):  # a foreign dataset's target arrays
        return inputs, Targets(default_collate(targets), None)
    fields = zip(*targets, strict=True)  # one tuple per field, one entry per sample
    return inputs, Targets(*(None if f[0] is None else default_collate(list(f)) for f in fields))


# the most bytes that :meth:`SeriesWindows.batches` gathers at once: blocks of 1-2 MiB took
# the least time per batch in an RLinear epoch on ETTh1 (one 8 MiB block took twice as long)
BLOCK_BYTES = 1 << 21
# the alignment in bytes that torch's CPU allocator gives every new tensor
ALIGNMENT = 64


class SeriesWindows(Dataset):
    """Windows ``(seq_len, pred_len)`` of one or more series, gathered per batch.

    The series stay in memory once; a batch is gathered with one indexing operation, so the
    windows are never materialised as a copy (a stride-1 window set would otherwise hold
    ``seq_len + pred_len`` copies of every row).

    Parameters
    ----------
    series : array-like or Tensor of shape (n_rows, n_channels), or a list of them
        The (already scaled) series; several series of the same width give windows that never
        cross from one series to the next.
    seq_len : int
        Lookback length.
    pred_len : int
        Horizon.
    observed : array-like of bool, same shape as ``series``, or a list, default=None
        Where the targets were observed (False where a gap was imputed). When given, batches
        carry it as the float ``Targets.weight`` and the loss ignores unobserved targets.
    starts : array-like of int, default=None
        Row offsets (into the concatenated series) of the windows to keep; all complete windows
        by default.
    device : str or torch.device, default="cpu"
        Where the series and the batches live.
    covariates : array-like of shape (n_rows, n_covariates), or a list, default=None
        Exogenous series beside ``series`` (already scaled, gaps filled). Each window then
        carries its covariate rows over lookback and horizon, ``(seq_len + pred_len,
        n_covariates)``, as the input ``"covariates"``; which of them a model may read over
        the horizon is the model's business (future-known columns only).

    Examples
    --------
    >>> import numpy as np
    >>> data = SeriesWindows(np.arange(40.0).reshape(20, 2), seq_len=4, pred_len=2)
    >>> len(data)
    15
    >>> X, y = data.batch(np.array([0, 3]))
    >>> tuple(X.shape), tuple(y.values.shape), y.weight
    ((2, 4, 2), (2, 2, 2), None)
    """

    def __init__(
        self,
        series,
        seq_len: int,
        pred_len: int,
        *,
        observed=None,
        starts=None,
        device="cpu",
        covariates=None,
    ) -> None:
        parts = _parts(series)
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.values = _stack(parts, torch.float32, device)  # (rows, N)
        self.weight = None  # (rows, N): 1.0 observed, 0.0 imputed
        if observed is not None:
            mask = _stack(_parts(observed), torch.bool, device)
            self.weight = observed_weight(mask, torch.float32)
        self.covariates = None
        if covariates is not None:
            self.covariates = _stack(_parts(covariates), torch.float32, device)  # (rows, C)
            if len(self.covariates) != len(self.values):
                raise ValueError(
                    f"covariates have {len(self.covariates)} rows but the series has "
                    f"{len(self.values)}; pass one covariate row per row of the series."
                )
        if starts is None:
            starts = _all_starts([len(p) for p in parts], seq_len, pred_len)
        self.starts = torch.as_tensor(np.asarray(starts), dtype=torch.long, device=device)
        self._observed_targets = None  # per window, on the CPU: its observed target values
        if observed is not None:
            self._observed_targets = _observed_targets(mask, np.asarray(starts), seq_len, pred_len)

    @property
    def n_channels(self) -> int:
        """Number of channels (columns) of the series."""
        return self.values.shape[1]

    @property
    def n_covariates(self) -> int:
        """Number of covariate columns (0 without covariates)."""
        return 0 if self.covariates is None else self.covariates.shape[1]

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int):
        X, y = self._gather(torch.tensor([index]), weigh_complete=True)
        if isinstance(X, dict):
            return {key: value[0] for key, value in X.items()}, y.select(0)
        return X[0], y.select(0)

    def batch(self, indices):
        """Gather windows ``indices``: inputs ``(b, seq_len, N)`` (with covariates, the dict
        of :func:`window_inputs`) and their :class:`Targets` (values ``(b, pred_len, N)``, and
        the observed weight when a target of the batch falls on a gap).

        A batch whose targets were all observed carries no weight, so it takes the plain loss,
        which has the same bits as the masked one at weight 1 (a test pins it) without its
        cost; sparse gaps then cost only the batches that reach them. A batch with a weight
        also carries its count of observed targets (``Targets.n_observed``)."""
        return self._gather(indices, weigh_complete=False)

    def batches(self, indices, batch_size: int):
        """Yield ``batch(indices[i : i + batch_size])`` for ``i = 0, batch_size, ...``.

        The same batches, with the same values, layout and weights, but gathered several at
        a time: one copy of a block of up to ``BLOCK_BYTES`` of consecutive batches, which each
        batch is a view of. On the CPU a gather costs about as much to launch as to copy: in
        an RLinear epoch on ETTh1 (batches of 32 x 192 x 7) a batch took 128 us to draw one
        at a time and 48 in blocks, 250 and 81 with a gap in every window's targets
        (docs/changelog.md). A batch bigger than the budget is gathered alone.

        Examples
        --------
        >>> import numpy as np
        >>> data = SeriesWindows(np.arange(40.0).reshape(20, 2), seq_len=4, pred_len=2)
        >>> [tuple(X.shape) for X, _ in data.batches(np.arange(len(data)), 6)]
        [(6, 4, 2), (6, 4, 2), (3, 4, 2)]
        """
        step = self._batches_per_block(batch_size) * batch_size
        for begin in range(0, len(indices), step):
            block = indices[begin : begin + step]
            inputs, targets = self._gather(block, weigh_complete=False)
            firsts = range(0, len(block), batch_size)
            counts = [None] * len(firsts)
            if targets.weight is not None:
                counts = np.add.reduceat(self._observed_targets[_cpu(block)], firsts).tolist()
            for first, n_observed in zip(firsts, counts, strict=True):
                part = slice(first, first + batch_size)
                yield _select_inputs(inputs, part), self._targets(targets.select(part), n_observed)

    def _batches_per_block(self, batch_size: int) -> int:
        """How many batches one gather copies: as many as fit in ``BLOCK_BYTES``, or one where
        a batch's bytes in a field are no multiple of ``ALIGNMENT`` (a batch cut from a block
        then keeps the alignment of a batch gathered alone, on which kernels may depend)."""
        length = self.seq_len + self.pred_len
        field_rows = [length * self.n_channels, length * self.n_covariates]
        if self.weight is not None:
            field_rows.append(self.pred_len * self.n_channels)
        batch_bytes = [batch_size * rows * self.values.element_size() for rows in field_rows]
        if any(size % ALIGNMENT for size in batch_bytes):
            return 1
        return max(1, BLOCK_BYTES // sum(batch_bytes))

    def _targets(self, targets: Targets, n_observed: int | None) -> Targets:
        """``targets`` with the count ``n_observed``, or without a weight when every one of
        its targets was observed (or none was counted)."""
        if n_observed is None or n_observed == targets.values.numel():
            return Targets(targets.values, None)
        return Targets(targets.values, targets.weight, n_observed)

    def _gather(self, indices, weigh_complete: bool):
        starts = self.starts[torch.as_tensor(indices, device=self.starts.device)]
        length = self.seq_len + self.pred_len
        window = _windows(self.values, starts, length)  # (b, L+H, N)
        X, y = window[:, : self.seq_len], window[:, self.seq_len :]
        targets = Targets(y, None)
        if self.weight is not None:
            n_observed = int(self._observed_targets[_cpu(indices)].sum())
            if weigh_complete or n_observed < y.numel():
                weight = _windows(self.weight, starts + self.seq_len, self.pred_len)  # (b, H, N)
                targets = Targets(y, weight, n_observed)
        covariates = None
        if self.covariates is not None:
            covariates = _windows(self.covariates, starts, length)  # (b, L+H, C)
        return window_inputs(X, covariates), targets

    def subset(self, indices) -> SeriesWindows:
        """Return the windows ``indices`` as a dataset sharing this one's series."""
        view = object.__new__(SeriesWindows)
        view.__dict__.update(self.__dict__)
        view.starts = self.starts[torch.as_tensor(np.asarray(indices), dtype=torch.long)]
        if self._observed_targets is not None:
            view._observed_targets = self._observed_targets[_cpu(indices)]
        return view


class ArrayWindows(Dataset):
    """Pre-cut windows ``X (n, seq_len, N)`` and ``y (n, pred_len, N)`` as one dataset.

    Wraps arrays the user already windowed (as sklearn's ``GridSearchCV`` passes them). The
    arrays are kept as given (numpy views stay views); each batch is converted to a float32
    tensor when it is drawn, so only one batch is ever copied.

    Parameters
    ----------
    X : array-like or Tensor of shape (n_windows, seq_len, n_channels)
        Input windows.
    y : array-like or Tensor of shape (n_windows, pred_len, n_channels), default=None
        Target windows (None for prediction).
    device : str or torch.device, default="cpu"
        Where the batches are placed.
    covariates : array-like or Tensor of shape (n_windows, seq_len + pred_len, C), default=None
        Covariate windows over lookback and horizon (see :class:`SeriesWindows`); the inputs
        then are the dict of :func:`window_inputs`.

    Examples
    --------
    >>> import numpy as np
    >>> data = ArrayWindows(np.zeros((5, 4, 2)), np.zeros((5, 3, 2)))
    >>> data.batch(np.array([1, 2]))[1].values.shape
    torch.Size([2, 3, 2])
    """

    def __init__(self, X, y=None, *, device="cpu", covariates=None) -> None:
        self.X = _as_array(X)
        self.y = None if y is None else _as_array(y)
        self.covariates = None if covariates is None else _as_array(covariates)
        if self.covariates is not None and (
            self.covariates.ndim != 3 or len(self.covariates) != len(self.X)
        ):
            raise ValueError(
                f"covariates must have shape (n_windows={len(self.X)}, seq_len + pred_len, "
                f"n_covariates), got {tuple(self.covariates.shape)}."
            )
        if self.X.ndim != 3:
            raise ValueError(
                f"X must have shape (n_windows, seq_len, n_channels), got {tuple(self.X.shape)}."
            )
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"X has {len(self.X)} windows but y has {len(self.y)}.")
        self.device = device
        self.index = np.arange(len(self.X))
        self.seq_len = self.X.shape[1]
        self.pred_len = None if self.y is None else self.y.shape[1]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int):
        X, y = self.batch(np.array([index]))
        X = {k: v[0] for k, v in X.items()} if isinstance(X, dict) else X[0]
        return X, (None if y is None else y.select(0))

    def batch(self, indices):
        """Return ``X[indices]`` (with covariates, the dict of :func:`window_inputs`) and
        ``Targets(y[indices], None)`` as float32 tensors (the targets None without ``y``)."""
        rows = self.index[np.asarray(indices.cpu() if isinstance(indices, Tensor) else indices)]
        X = _to_float_tensor(self.X[rows], self.device)
        covariates = None
        if self.covariates is not None:
            covariates = _to_float_tensor(self.covariates[rows], self.device)
        X = window_inputs(X, covariates)
        if self.y is None:
            return X, None
        return X, Targets(_to_float_tensor(self.y[rows], self.device), None)

    def subset(self, indices) -> ArrayWindows:
        """Return the windows ``indices`` as a dataset sharing these arrays."""
        view = object.__new__(ArrayWindows)
        view.__dict__.update(self.__dict__)
        view.index = self.index[np.asarray(indices)]
        return view


def _all_starts(lengths: Sequence[int], seq_len: int, pred_len: int) -> np.ndarray:
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    parts = [
        o + np.arange(max(0, n - seq_len - pred_len + 1))
        for o, n in zip(offsets, lengths, strict=True)
    ]
    return np.concatenate(parts).astype(np.int64)


def _parts(series) -> list:
    return list(series) if isinstance(series, (list, tuple)) else [series]


def _observed_targets(mask: Tensor, starts: np.ndarray, seq_len: int, pred_len: int):
    """Per window starting at ``starts``: how many of its target values were observed."""
    observed = np.concatenate([[0], np.cumsum(mask.sum(dim=1).cpu().numpy())])
    first = starts.astype(np.int64) + seq_len
    return observed[first + pred_len] - observed[first]


def _select_inputs(inputs, part: slice):
    """Batch rows ``part`` of the inputs: a lookback tensor or the dict of :func:`window_inputs`."""
    if isinstance(inputs, dict):
        return {name: tensor[part] for name, tensor in inputs.items()}
    return inputs[part]


def _cpu(indices) -> np.ndarray:
    """Window indices as a numpy array (from a tensor on any device, a list or an array)."""
    return indices.cpu().numpy() if isinstance(indices, Tensor) else np.asarray(indices)


def _windows(table: Tensor, starts: Tensor, length: int) -> Tensor:
    """The ``length`` rows of ``table (rows, columns)`` from each of ``starts``, as a new
    contiguous ``(len(starts), length, columns)`` tensor.

    One ``index_select`` on the table's sliding-window view (every window a view of the same
    memory): a copy of the windows and nothing else, about 4x faster per batch than
    selecting their rows by a flat row index (same values, same layout).

    Examples
    --------
    >>> table = torch.arange(10.0).view(5, 2)
    >>> _windows(table, torch.tensor([3, 0]), 2).tolist()
    [[[6.0, 7.0], [8.0, 9.0]], [[0.0, 1.0], [2.0, 3.0]]]
    """
    n_rows, n_columns = table.shape
    row_step, column_step = table.stride()
    sliding = table.as_strided(
        (max(n_rows - length + 1, 0), length, n_columns), (row_step, row_step, column_step)
    )
    return sliding.index_select(0, starts)


def _stack(parts, dtype, device) -> Tensor:
    tensors = [torch.as_tensor(np.asarray(p) if not isinstance(p, Tensor) else p) for p in parts]
    for t in tensors:
        if t.dim() != 2:
            raise ValueError(f"each series must be 2-D (n_rows, n_channels), got {tuple(t.shape)}.")
    return torch.cat([t.to(device=device, dtype=dtype) for t in tensors])


def _as_array(values):
    return values if isinstance(values, Tensor) else np.asarray(values)


def _to_float_tensor(values, device) -> Tensor:
    if isinstance(values, Tensor):
        return values.to(device=device, dtype=torch.float32)
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).to(device)
