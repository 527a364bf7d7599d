"""The one scaler and the one gap filler of the package (numpy only).

The forecasters and the standard benchmark protocol both standardise with statistics of the
training span (observed values only) and fill gaps causally, so a benchmark row and a
forecaster fitted on the same rows see bitwise the same series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Standardiser", "fill_gaps"]


@dataclass(frozen=True)
class Standardiser:
    """Per-channel standardisation ``(x - mean) / std`` fitted on observed values.

    Build it with :meth:`fit`. A constant channel keeps its unit (``std = 1``); NaN stays NaN
    through :meth:`transform`, so gaps survive scaling and are filled afterwards.

    Parameters
    ----------
    mean : ndarray of shape (n_channels,)
        Per-channel mean of the observed training values.
    std : ndarray of shape (n_channels,)
        Per-channel standard deviation (ddof 0), 1 where it is 0.

    Examples
    --------
    >>> import numpy as np
    >>> scaler = Standardiser.fit(np.array([[1.0, 5.0], [3.0, np.nan]]))
    >>> scaler.mean.tolist(), scaler.std.tolist()
    ([2.0, 5.0], [1.0, 1.0])
    >>> scaler.transform(np.array([[3.0, 6.0]])).tolist()
    [[1.0, 1.0]]
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(
        cls, values: np.ndarray, *, columns=None, enabled: bool = True, name: str = "y"
    ) -> Standardiser:
        """Fit on ``values`` ``(n_rows, n_channels)``; ``enabled=False`` gives the identity.

        Raises ``ValueError`` naming the channels (``columns``) without any observed value;
        ``name`` is what the message calls the data (``"y"``, or ``"X"`` for covariates).
        """
        values = np.asarray(values, dtype=np.float64)
        n_channels = values.shape[1]
        empty = np.isnan(values).all(axis=0)
        if empty.any():
            names = list(range(n_channels)) if columns is None else list(columns)
            missing = [name for name, bad in zip(names, empty, strict=True) if bad]
            raise ValueError(
                f"{name} has no observed (non-NaN) value in the training span for channel(s) "
                f"{missing}; a channel that is never observed can be neither scaled nor learned. "
                f"Drop it ({name}.drop(columns={missing})), or pass a series in which every "
                "channel has at least one observation in the training span."
            )
        if not enabled:
            return cls(np.zeros(n_channels), np.ones(n_channels))
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        return cls(mean, np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardise ``values`` (float64 in, float64 out; NaN kept)."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """Back to the original units (float64)."""
        return np.asarray(values, dtype=np.float64) * self.std + self.mean


def fill_gaps(
    values: np.ndarray, last: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fill NaN causally and return ``(filled float32, observed mask or None)``.

    A missing value takes the last observed value of its channel (forward fill). A gap at
    the start takes ``last`` (the row before ``values``, e.g. the end of a forecaster's
    context) when given, else 0: the training mean after standardisation. The mask is None
    when nothing was missing, so clean data takes the unmasked path everywhere.

    Examples
    --------
    >>> import numpy as np
    >>> filled, observed = fill_gaps(np.array([[np.nan, 1.0], [2.0, np.nan]]))
    >>> filled.tolist(), observed.tolist()
    ([[0.0, 1.0], [2.0, 1.0]], [[False, True], [True, False]])
    >>> fill_gaps(np.ones((2, 1)))[1] is None
    True
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if not missing.any():
        return values.astype(np.float32), None
    start = np.zeros(values.shape[1]) if last is None else np.asarray(last, dtype=np.float64)
    rows = np.where(missing, 0, np.arange(len(values))[:, None])  # (T, N): own row if observed
    latest = np.maximum.accumulate(rows, axis=0)  # (T, N): last observed row so far
    filled = values[latest, np.arange(values.shape[1])]
    never = missing & (np.cumsum(~missing, axis=0) == 0)  # no observation yet in the channel
    filled = np.where(never, start, filled)
    return filled.astype(np.float32), ~missing
