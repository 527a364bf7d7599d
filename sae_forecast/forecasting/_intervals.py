"""Prediction intervals: rolling conformal calibration, or the quantiles of a quantile head.

``interval_method="conformal"`` (default) needs no extra training. At the end of ``fit`` the
trained network forecasts the validation tail that ``fit`` held out; the signed residuals
``y - y_hat`` (original units, observed targets only) are kept per horizon step and channel,
indexed by the row they forecast: for row ``t`` and step ``h`` the residual of the forecast
made ``h`` steps earlier. A quantile ``a`` of the forecast at step ``h`` is the point forecast
plus the split-conformal order statistic of that step's residuals (rank ``floor((n+1) a)``
below the median, ``ceil((n+1) a)`` above; clipped to the smallest/largest residual when
``n`` is too small), with the lower quantiles never above and the upper never below the point
forecast. ``update`` forecasts the new rows with the network as it was before the update and
appends their residuals; the oldest are dropped beyond ``calibration_size`` rows (a rolling
window; by default as many rows as the validation tail gave).

``interval_method="quantile"`` trains the backbone's quantile variant
(:mod:`sae_forecast.nn.quantile`) with the pinball loss; quantiles between its trained levels
are interpolated linearly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS, check_levels, quantile_backbone
from sae_forecast.training import ForecastingNet, SeriesWindows
from sae_forecast.training.quantile import QuantileNet

__all__ = [
    "INTERVAL_METHODS",
    "ConformalCalibration",
    "calibrate",
    "diagonal_residuals",
    "extend_calibration",
    "interpolate_levels",
    "interval_net",
    "origin_forecasts",
    "predict_interval",
    "predict_quantiles",
    "target_residuals",
]

INTERVAL_METHODS = ("conformal", "quantile")
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


class ConformalCalibration:
    """Signed residuals per (target row, step, channel), kept as a rolling window.

    Parameters
    ----------
    residuals : ndarray of shape (n_rows, pred_len, n_channels)
        Residuals in original units, oldest row first; NaN where the target was a gap.
    size : int
        Rows kept; older rows are dropped.
    tail : ndarray of shape (seq_len + pred_len - 1, n_channels)
        The scaled, filled rows that forecasts of the next rows need.
    source : {"validation", "training"}, default="validation"
        Where the first residuals came from (``"training"``: in-sample, too optimistic).

    Examples
    --------
    >>> calibration = ConformalCalibration(np.arange(-4.0, 5.0)[:, None, None], size=9, tail=None)
    >>> calibration.offsets([0.1, 0.5, 0.9])[:, 0, 0].tolist()
    [-4.0, 0.0, 4.0]
    """

    def __init__(self, residuals, *, size: int, tail, source: str = "validation") -> None:
        self.size = size
        self.source = source
        self.residuals = np.asarray(residuals, dtype=np.float32)[-size:]
        self.tail = tail
        self._sort()

    def _sort(self) -> None:
        self.sorted_ = np.sort(self.residuals, axis=0)  # (n, H, N), NaN last
        self.counts_ = np.count_nonzero(~np.isnan(self.residuals), axis=0)  # (H, N)

    def add(self, residuals: np.ndarray, tail: np.ndarray) -> None:
        """Append the residuals of newer rows, drop the oldest beyond ``size``."""
        joined = np.concatenate([self.residuals, np.asarray(residuals, dtype=np.float32)])
        self.residuals = joined[-self.size :]
        self.tail = tail
        self._sort()

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


def interval_net(forecaster) -> tuple[type, type, dict]:
    """Net class, module class and extra net settings for the forecaster's interval method.

    Raises ``ValueError`` for unknown settings, before any training.
    """
    method = forecaster.interval_method
    if method not in INTERVAL_METHODS:
        raise ValueError(f"interval_method must be one of {INTERVAL_METHODS}, got {method!r}.")
    size = forecaster.calibration_size
    integer = isinstance(size, (int, np.integer)) and not isinstance(size, bool)
    if size is not None and not (integer and size >= 1):
        raise ValueError(f"calibration_size must be None or a positive integer, got {size!r}.")
    if method == "conformal":
        return ForecastingNet, forecaster._backbone, {}
    if getattr(forecaster, "accelerator", None) is not None:
        raise ValueError(
            "interval_method='quantile' does not train data-parallel yet; pass "
            "accelerator=None, or use interval_method='conformal'."
        )
    levels = check_levels(forecaster.quantile_levels or DEFAULT_QUANTILE_LEVELS)
    extra = {"module__levels": levels, "criterion__levels": levels}
    return QuantileNet, quantile_backbone(forecaster._backbone), extra


def origin_forecasts(forecaster, series: np.ndarray, first: int) -> np.ndarray:
    """Scaled forecasts ``(len(series) - first + H - 1, H, N)`` from every origin whose
    forecast reaches a row ``first:`` of the scaled, filled ``series`` (oldest first).

    Forecast ``j`` reads the ``seq_len`` rows before row ``first - H + 1 + j``.
    """
    seq_len, horizon = forecaster.seq_len, forecaster.pred_len_
    starts = np.arange(first - horizon + 1 - seq_len, len(series) - seq_len)
    padded = np.concatenate([series, np.zeros((horizon, series.shape[1]), series.dtype)])
    windows = SeriesWindows(padded, seq_len, horizon, starts=starts, device=forecaster.device)
    return forecaster.net_.predict(windows)  # targets past the end are padding, unused


def target_residuals(forecaster, series: np.ndarray, observed, first: int) -> np.ndarray:
    """Residuals ``(n, H, N)`` in original units of rows ``first:`` of the scaled, filled
    ``series`` (see :func:`diagonal_residuals`); NaN where ``observed`` is False."""
    horizon = forecaster.pred_len_
    forecasts = origin_forecasts(forecaster, series, first)
    residuals = diagonal_residuals(forecasts, series[first:]) * forecaster.scaler_.std
    if observed is not None:
        residuals[~observed[first:, None, :].repeat(horizon, axis=1)] = np.nan
    return residuals


def calibrate(forecaster, series: np.ndarray, observed, valid) -> ConformalCalibration | None:
    """The conformal calibration at the end of ``fit`` (None for ``interval_method="quantile"``).

    ``valid`` are the validation window indices: every row they forecast calibrates (the
    most recent ``calibration_size`` when it is set). Without any, the last
    ``IN_SAMPLE_ROWS`` rows of the training span are used in sample (intervals then tend to
    be too narrow).
    """
    if forecaster.interval_method != "conformal":
        return None
    seq_len, horizon = forecaster.seq_len, forecaster.pred_len_
    if len(valid):
        first = int(valid[0]) + seq_len
    else:
        first = max(seq_len + horizon - 1, len(series) - IN_SAMPLE_ROWS)
    if forecaster.calibration_size is not None:
        first = max(first, len(series) - forecaster.calibration_size)
    return ConformalCalibration(
        target_residuals(forecaster, series, observed, first),
        size=forecaster.calibration_size or len(series) - first,
        tail=series[-(seq_len + horizon - 1) :],
        source="validation" if len(valid) else "training",
    )


def extend_calibration(forecaster, new: np.ndarray, values: np.ndarray) -> None:
    """In ``update``, before any fine-tuning: add the residuals of the new rows.

    ``new`` are the new rows scaled and filled, ``values`` scaled with NaN at gaps.
    """
    calibration = getattr(forecaster, "calibration_", None)
    if calibration is None or len(new) == 0:
        return
    tail = calibration.tail
    series = np.concatenate([tail, new])
    seen = ~np.isnan(values)
    observed = None if seen.all() else np.concatenate([np.ones(tail.shape, bool), seen])
    residuals = target_residuals(forecaster, series, observed, len(tail))
    calibration.add(residuals, tail=series[-len(tail) :])


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


def _quantile_head(forecaster, steps: np.ndarray, alpha) -> np.ndarray:
    _, quantiles = forecaster.net_.forward(forecaster._context[None].astype(np.float32))
    scaler = forecaster.scaler_
    values = quantiles[0].cpu().to(torch.float64).numpy()  # (H, N, Q), scaled
    values = values * scaler.std[:, None] + scaler.mean[:, None]
    return interpolate_levels(values[steps - 1], forecaster.model_.levels, alpha)


def _quantile_values(forecaster, fh, alpha) -> tuple[np.ndarray, pd.Index]:
    """Quantiles ``alpha`` of the forecast at ``fh``: ``(A, S, N)`` and the row index."""
    steps = forecaster._check_horizon(fh)
    if forecaster.interval_method == "quantile":
        values = _quantile_head(forecaster, steps, alpha)  # (A, S, N)
        return values, fh.to_absolute_index(forecaster.cutoff)
    calibration = forecaster.calibration_
    if calibration.source == "training":
        warnings.warn(
            "validation_size=0: the conformal intervals are calibrated on in-sample "
            "residuals of the training windows and tend to be too narrow; fit with "
            "validation_size > 0 for calibrated intervals.",
            UserWarning,
            stacklevel=5,
        )
    point = forecaster._predict(fh)  # (S, N), original units
    values = point.to_numpy()[None] + calibration.offsets(alpha)[:, steps - 1]
    return values, point.index  # sktime's absolute index is slow to build: build it once


def _table(values: np.ndarray, index: pd.Index, levels: list) -> pd.DataFrame:
    """``values (A, S, N)`` as a frame: rows ``index``, columns the product of ``levels``
    (variables first, then the levels whose product is A). The column index is built from
    codes: ``MultiIndex.from_product`` costs more than a small model's forecast."""
    n_alpha, n_steps, n_channels = values.shape
    codes = np.indices([len(level) for level in levels]).reshape(len(levels), -1)
    columns = pd.MultiIndex(levels=levels, codes=codes)
    table = values.transpose(1, 2, 0).reshape(n_steps, n_channels * n_alpha)
    return pd.DataFrame(table, index=index, columns=columns)


def predict_quantiles(forecaster, fh, alpha) -> pd.DataFrame:
    """``_predict_quantiles``: columns (variable, alpha), rows the absolute ``fh``."""
    values, index = _quantile_values(forecaster, fh, alpha)
    return _table(values, index, [forecaster.columns_, list(alpha)])


def predict_interval(forecaster, fh, coverage) -> pd.DataFrame:
    """``_predict_interval``: columns (variable, coverage, "lower"/"upper")."""
    alpha = [level for c in coverage for level in (0.5 - c / 2, 0.5 + c / 2)]
    values, index = _quantile_values(forecaster, fh, alpha)
    return _table(values, index, [forecaster.columns_, list(coverage), ["lower", "upper"]])
