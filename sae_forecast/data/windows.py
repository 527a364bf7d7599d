"""Sliding windows over a multivariate series, without copying it (numpy only)."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["chronological_split", "count_windows", "sliding_windows"]


def count_windows(n_rows: int, seq_len: int, pred_len: int) -> int:
    """Number of complete ``(seq_len, pred_len)`` windows with stride 1 in ``n_rows`` rows.

    Every window counts: there is no ``drop_last``.

    Examples
    --------
    >>> count_windows(200, 96, 96)
    9
    >>> count_windows(100, 96, 96)
    0
    """
    return max(0, n_rows - seq_len - pred_len + 1)


def sliding_windows(
    values: np.ndarray, seq_len: int, pred_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return read-only views ``X (n, seq_len, N)`` and ``Y (n, pred_len, N)`` of ``values``.

    Window ``i`` reads rows ``[i, i + seq_len)`` as input and ``[i + seq_len, i + seq_len +
    pred_len)`` as target. Both are strided views of ``values``: no window is copied.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_channels)
        The series, time along axis 0.
    seq_len : int
        Lookback length.
    pred_len : int
        Horizon.

    Examples
    --------
    >>> series = np.arange(20.0).reshape(10, 2)
    >>> X, Y = sliding_windows(series, 3, 2)
    >>> X.shape, Y.shape
    ((6, 3, 2), (6, 2, 2))
    >>> float(Y[0, 0, 0]), np.shares_memory(X, series)
    (6.0, True)
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D (n_rows, n_channels), got shape {values.shape}.")
    n = count_windows(len(values), seq_len, pred_len)
    if n == 0:
        raise ValueError(
            f"a series of {len(values)} rows has no window of seq_len={seq_len} + "
            f"pred_len={pred_len}; it needs at least {seq_len + pred_len} rows."
        )
    # (rows - w + 1, N, w) -> (n, w, N) with w = seq_len + pred_len
    full = sliding_window_view(values, seq_len + pred_len, axis=0)[:n].transpose(0, 2, 1)
    return full[:, :seq_len], full[:, seq_len:]


def chronological_split(
    n_windows: int, validation_size: float | int, gap: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split window indices into an earlier training part and a later validation tail.

    Parameters
    ----------
    n_windows : int
        Number of consecutive (stride 1) windows, in time order.
    validation_size : float or int
        Fraction of the windows (``0 <= v < 1``) or number of windows (int) in the tail.
        A non-zero fraction gives at least one validation window.
    gap : int, default=0
        Windows dropped between the two parts. With ``gap = pred_len - 1`` no validation
        target overlaps a training target.

    Returns
    -------
    train : ndarray of int
        Indices ``0 .. n_train - 1``.
    valid : ndarray of int
        The last indices (empty when ``validation_size`` is 0).

    Examples
    --------
    >>> train, valid = chronological_split(20, 0.2, gap=3)
    >>> train.tolist(), valid.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [16, 17, 18, 19])
    """
    if isinstance(validation_size, (float, np.floating)):
        if not 0.0 <= validation_size < 1.0:
            raise ValueError(f"validation_size must be in [0, 1) or an int, got {validation_size}.")
        n_valid = math.ceil(validation_size * n_windows)
    else:
        n_valid = int(validation_size)
        if n_valid < 0:
            raise ValueError(f"validation_size must be non-negative, got {validation_size}.")
    n_train = n_windows - n_valid - (gap if n_valid else 0)
    if n_train < 1:
        raise ValueError(
            f"{n_windows} windows leave no training window after a validation tail of {n_valid} "
            f"and a gap of {gap}."
        )
    return np.arange(n_train), np.arange(n_windows - n_valid, n_windows)
