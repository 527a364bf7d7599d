"""Raw recent rows -> the graph's input: scale and fill gaps as ``predict`` does (numpy only).

The forecasters scale with :class:`sae_forecast.data.Standardiser` and fill gaps with
:func:`sae_forecast.data.fill_gaps`; ``sae_forecast.data`` imports pandas, which a gateway
need not have, so the same arithmetic is written here once more, in the same order and
dtypes, and ``tests/deploy/test_window.py`` keeps the two bitwise equal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scaled_window"]


def scaled_window(
    rows: np.ndarray, mean: np.ndarray, std: np.ndarray, last: np.ndarray | None = None
) -> np.ndarray:
    """Standardise ``rows`` ``(..., n_rows, n_channels)`` and fill their gaps forward.

    ``(rows - mean) / std`` in float64; then a NaN takes its channel's last observed
    (scaled) value in the same window, and a NaN before any observation ``last`` (the scaled
    row before ``rows``, ``(..., n_channels)``) when given, else 0 (the training mean); the
    result is float32, as the network reads it.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[np.nan, 4.0], [3.0, np.nan], [np.nan, 8.0]])
    >>> scaled_window(rows, mean=np.array([1.0, 2.0]), std=np.array([2.0, 2.0])).tolist()
    [[0.0, 1.0], [1.0, 1.0], [1.0, 3.0]]
    """
    values = (np.asarray(rows, dtype=np.float64) - mean) / std
    missing = np.isnan(values)
    if not missing.any():
        return values.astype(np.float32)
    steps = np.arange(values.shape[-2])[:, None]  # (T, 1)
    latest = np.maximum.accumulate(np.where(missing, 0, steps), axis=-2)  # last observed row
    filled = np.take_along_axis(values, latest, axis=-2)
    never = missing & (np.cumsum(~missing, axis=-2) == 0)  # nothing observed yet
    start = 0.0 if last is None else np.asarray(last, dtype=np.float64)[..., None, :]
    return np.where(never, start, filled).astype(np.float32)
