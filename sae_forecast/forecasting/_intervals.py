"""Prediction intervals: interval methods as small objects behind one protocol.

An interval method says how the network is trained (:meth:`training`), learns from residuals
(:meth:`calibrate` at the end of ``fit``, :meth:`extend` in ``update``; ``uses_residuals``
says whether it needs them) and turns point forecasts, and the network's quantile outputs
where it has them, into quantiles (:meth:`quantiles`). The forecaster keeps the fitted method
in ``intervals_``.

:class:`SplitConformal` (``interval_method="conformal"``, the default) needs no extra
training. The residuals ``y - y_hat`` (original units, NaN at gaps) are indexed by the row
they forecast and the step: at row ``t`` and step ``h`` the error of the forecast made ``h``
steps earlier. A quantile ``a`` at step ``h`` is the point forecast plus the split-conformal
order statistic of that step's residuals (rank ``floor((n+1) a)`` below the median,
``ceil((n+1) a)`` above; clipped to the smallest/largest residual when ``n`` is too small),
the lower quantiles never above and the upper never below the point forecast. ``extend``
appends newer rows and drops the oldest beyond ``size`` rows (a rolling window).

:class:`QuantileHead` (``interval_method="quantile"``) trains the backbone's quantile variant
(:mod:`sae_forecast.nn.quantile`) with the pinball loss; quantiles between its trained levels
are interpolated linearly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS, check_levels, quantile_backbone
from sae_forecast.training import ForecastingNet
from sae_forecast.training.quantile import QuantileNet

__all__ = [
    "INTERVAL_METHODS",
    "IN_SAMPLE_ROWS",
    "QuantileHead",
    "SplitConformal",
    "calibration_start",
    "diagonal_residuals",
    "interpolate_levels",
    "interval_method",
    "quantile_frame",
]

IN_SAMPLE_ROWS = 1000  # rows calibrating in sample when there is no validation tail


def diagonal_residuals(forecasts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Residuals indexed by target row and step, from forecasts of consecutive origins.

    ``forecasts[j]`` ``(H, N)`` starts ``H - 1 - j`` rows before ``targets[0]``, so there are
    ``len(targets) + H - 1`` of them; the result ``R (n, H, N)`` holds at ``R[i, h]`` the error
    of forecasting ``targets[i]`` ``h + 1`` steps ahead.

    Examples
    --------
    >>> forecasts = np.arange(6.0).reshape(3, 2, 1)  # origins -1, 0, 1; H = 2
    >>> diagonal_residuals(forecasts, np.zeros((2, 1)))[:, :, 0].tolist()
    [[-2.0, -1.0], [-4.0, -3.0]]
    """
    n_targets, horizon = len(targets), forecasts.shape[1]
    steps = np.arange(horizon)
    origin = np.arange(n_targets)[:, None] + horizon - 1 - steps  # (n, H)
    return targets[:, None, :] - forecasts[origin, steps]  # (n, H, N)


def calibration_start(
    n_rows: int, valid: np.ndarray, *, seq_len: int, pred_len: int, size: int | None
) -> int:
    """The first row whose residuals calibrate at the end of ``fit``.

    Every row the validation windows ``valid`` forecast (the most recent ``size`` when set);
    without validation windows the last :data:`IN_SAMPLE_ROWS` training rows, in sample.

    Examples
    --------
    >>> calibration_start(200, np.arange(150, 171), seq_len=24, pred_len=6, size=None)
    174
    """
    if len(valid):
        first = int(valid[0]) + seq_len
    else:
        first = max(seq_len + pred_len - 1, n_rows - IN_SAMPLE_ROWS)
    return first if size is None else max(first, n_rows - size)


class SplitConformal:
    """Split-conformal intervals from signed residuals per (target row, step, channel).

    Parameters
    ----------
    size : int or None, default=None
        Rows of residuals kept (the most recent); None keeps as many as :meth:`calibrate`
        was given.

    Attributes
    ----------
    residuals : ndarray of shape (n_rows, pred_len, n_channels)
        The residuals kept, oldest row first; NaN where the target was a gap.
    source : {"validation", "training"}
        Where the first residuals came from (``"training"``: in sample, too optimistic).

    Examples
    --------
    >>> conformal = SplitConformal().calibrate(np.arange(-4.0, 5.0)[:, None, None])
    >>> conformal.offsets([0.1, 0.5, 0.9])[:, 0, 0].tolist()
    [-4.0, 0.0, 4.0]
    >>> conformal.extend(np.full((9, 1, 1), 10.0)).offsets([0.9])[:, 0, 0].tolist()
    [10.0]
    """

    uses_residuals = True

    def __init__(self, size: int | None = None) -> None:
        self.size = size

    def training(self, backbone: type) -> tuple[type, type, dict]:
        """Net class, module class and extra net settings: the plain point forecaster."""
        return ForecastingNet, backbone, {}

    def calibrate(self, residuals, *, source: str = "validation") -> SplitConformal:
        """Keep ``residuals`` ``(n_rows, H, N)`` (the last ``size`` rows); returns self."""
        residuals = np.asarray(residuals, dtype=np.float32)
        self.size_ = self.size or len(residuals)
        self.source = source
        self.residuals = residuals[-self.size_ :]
        return self._sort()

    def extend(self, residuals) -> SplitConformal:
        """Append the residuals of newer rows, drop the oldest beyond ``size``; returns self."""
        joined = np.concatenate([self.residuals, np.asarray(residuals, dtype=np.float32)])
        self.residuals = joined[-self.size_ :]
        return self._sort()

    def _sort(self) -> SplitConformal:
        self.sorted_ = np.sort(self.residuals, axis=0)  # (n, H, N), NaN last
        self.counts_ = np.count_nonzero(~np.isnan(self.residuals), axis=0)  # (H, N)
        return self

    def offsets(self, alpha) -> np.ndarray:
        """Offsets from the point forecast of the quantiles ``alpha``: ``(len(alpha), H, N)``.

        NaN where a step and channel has no observed residual.
        """
        n = self.counts_
        result = []
        for level in np.asarray(alpha, dtype=np.float64):
            if level == 0.5:
                result.append(np.where(n > 0, 0.0, np.nan))
                continue
            rank = (n + 1) * level
            rank = np.floor(rank + 1e-9) if level < 0.5 else np.ceil(rank - 1e-9)
            index = np.clip(rank.astype(np.int64), 1, np.maximum(n, 1)) - 1  # (H, N)
            value = np.take_along_axis(self.sorted_, index[None], axis=0)[0]
            bound = np.minimum(value, 0.0) if level < 0.5 else np.maximum(value, 0.0)
            result.append(np.where(n > 0, bound, np.nan))
        return np.stack(result)

    def quantiles(self, point: np.ndarray, head, alpha, steps=None) -> np.ndarray:
        """Quantiles ``(len(alpha), *point.shape)`` of ``point (..., S, N)`` (original units)
        at the horizon ``steps`` (1-based; all steps by default). ``head`` is unused."""
        offsets = self.offsets(alpha)  # (A, H, N)
        if steps is not None:
            offsets = offsets[:, np.asarray(steps) - 1]
        extra = point.ndim - 2
        return point[None] + offsets.reshape(len(offsets), *(1,) * extra, *offsets.shape[1:])


class QuantileHead:
    """Intervals from the network's own quantile outputs, trained with the pinball loss.

    Parameters
    ----------
    levels : tuple of float or None, default=None
        Levels trained; must include 0.5. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9,
        0.95, 0.975).

    Examples
    --------
    >>> head = QuantileHead((0.1, 0.5, 0.9))
    >>> outputs = np.array([[[0.0, 1.0, 3.0]]])  # (S=1, N=1, Q=3), original units
    >>> head.quantiles(None, outputs, [0.3, 0.7])[:, 0, 0].round(6).tolist()
    [0.5, 2.0]
    """

    uses_residuals = False

    def __init__(self, levels=None) -> None:
        self.levels = check_levels(levels or DEFAULT_QUANTILE_LEVELS)

    def training(self, backbone: type) -> tuple[type, type, dict]:
        """Net class, module class and extra net settings: the quantile variant."""
        extra = {"module__levels": self.levels, "criterion__levels": self.levels}
        return QuantileNet, quantile_backbone(backbone), extra

    def calibrate(self, residuals, *, source: str = "validation") -> QuantileHead:
        """Nothing to calibrate: the bands are the network's (returns self)."""
        return self

    def extend(self, residuals) -> QuantileHead:
        """Nothing to update (returns self)."""
        return self

    def quantiles(self, point, head: np.ndarray, alpha, steps=None) -> np.ndarray:
        """Quantiles ``alpha`` interpolated from ``head (..., S, N, Q)`` (original units)."""
        return interpolate_levels(head, self.levels, alpha)


INTERVAL_METHODS = {"conformal": SplitConformal, "quantile": QuantileHead}


def interval_method(name: str, *, calibration_size=None, quantile_levels=None):
    """The unfitted interval method of a forecaster's ``interval_method`` parameter
    (checked with the other parameters, see ``forecasting/_parameters.py``)."""
    if name == "quantile":
        return QuantileHead(quantile_levels)
    return SplitConformal(calibration_size)


def interpolate_levels(quantiles: np.ndarray, levels, alpha) -> np.ndarray:
    """Quantiles ``alpha`` by linear interpolation between trained ``levels``.

    ``quantiles`` has the levels on its last axis; the result has ``alpha`` on its first.

    Examples
    --------
    >>> interpolate_levels(np.array([[0.0, 1.0, 3.0]]), (0.1, 0.5, 0.9), [0.3, 0.7])[:, 0]
    array([0.5, 2. ])
    """
    levels = np.asarray(levels, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    outside = alpha[(alpha < levels[0]) | (alpha > levels[-1])]
    if len(outside):
        raise ValueError(
            f"alpha {outside.tolist()} lies outside the trained quantile levels "
            f"[{levels[0]}, {levels[-1]}]; refit with quantile_levels that include it, or use "
            "interval_method='conformal' (any alpha)."
        )
    low = np.clip(np.searchsorted(levels, alpha, side="right") - 1, 0, len(levels) - 2)
    weight = (alpha - levels[low]) / (levels[low + 1] - levels[low])  # (A,)
    moved = np.moveaxis(quantiles, -1, 0)  # (Q, ...)
    shape = (-1,) + (1,) * (moved.ndim - 1)
    return moved[low] * (1 - weight.reshape(shape)) + moved[low + 1] * weight.reshape(shape)


def quantile_frame(values: np.ndarray, index, levels: list):
    """``values (A, S, N)`` as a frame: rows ``index``, columns the product of ``levels``
    (variables first, then the levels whose product is A). The column index is built from
    codes: ``MultiIndex.from_product`` costs more than a small model's forecast."""
    n_alpha, n_steps, n_channels = values.shape
    codes = np.indices([len(level) for level in levels]).reshape(len(levels), -1)
    columns = pd.MultiIndex(levels=levels, codes=codes)
    table = values.transpose(1, 2, 0).reshape(n_steps, n_channels * n_alpha)
    return pd.DataFrame(table, index=index, columns=columns)
