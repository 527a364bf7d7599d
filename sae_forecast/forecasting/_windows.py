"""Forecasting many windows at once: the public window methods of the forecasters.

:class:`WindowMethods` gives a fitted forecaster ``predict_windows``, ``forecast_windows``,
``score_windows`` and ``row_residuals``; they read the fitted state and write none. The
network calls and the residual arithmetic are plain functions with explicit inputs, which
``fit`` and ``update`` use too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from sae_forecast.data import continue_series
from sae_forecast.forecasting._checks import check_columns_match
from sae_forecast.forecasting._exogenous import scaled_covariates
from sae_forecast.forecasting._intervals import SplitConformal, diagonal
from sae_forecast.training import SeriesWindows, window_inputs

__all__ = [
    "WindowForecasts",
    "WindowMethods",
    "masked_errors",
    "origin_residuals",
    "origin_scores",
]


@dataclass(frozen=True)
class WindowForecasts:
    """Forecasts of every window of a series, in original units.

    Returned by :meth:`~sae_forecast.forecasting.LightSAEForecaster.forecast_windows`.

    Parameters
    ----------
    point : ndarray of shape (n_windows, pred_len, n_channels)
        Point forecasts.
    target : ndarray of the same shape
        What happened (NaN at gaps).
    observed : ndarray of bool of the same shape
        True where the target was observed.
    alpha : tuple of float or None
        Quantile levels of ``quantiles``.
    quantiles : ndarray of shape (n_windows, len(alpha), pred_len, n_channels) or None
        The forecaster's quantiles (its interval method) at ``alpha``.
    seconds : float
        Time the network took to forecast every window.
    interval_seconds : float
        Time taken to form the quantiles from the forecasts.
    head : ndarray of shape (n_windows, pred_len, n_channels, n_levels) or None, default=None
        The network's own quantiles at its trained levels, as trained (uncalibrated), when
        it forecasts them (``interval_method="quantile"``).

    Examples
    --------
    >>> forecasts = WindowForecasts(
    ...     np.zeros((1, 2, 1)), np.ones((1, 2, 1)), np.ones((1, 2, 1), bool), None, None, 0.0, 0.0
    ... )
    >>> forecasts.point.shape
    (1, 2, 1)
    """

    point: np.ndarray
    target: np.ndarray
    observed: np.ndarray
    alpha: tuple | None
    quantiles: np.ndarray | None
    seconds: float
    interval_seconds: float
    head: np.ndarray | None = None


def masked_errors(pred: np.ndarray, target: np.ndarray, observed: np.ndarray | None):
    """MSE and MAE over all entries, or over observed entries only when a mask is given.

    Examples
    --------
    >>> masked_errors(np.zeros(3), np.array([1.0, 2.0, 9.0]), np.array([True, True, False]))
    (2.5, 1.5)
    """
    error = pred.astype(np.float64) - target.astype(np.float64)
    if observed is not None:
        error = error[observed]
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


SCORE_CHUNK = 1 << 25  # forecast values held at once while scoring (128 MB in float32)


def origin_residuals(
    net, series, observed, first: int, *, seq_len: int, pred_len: int, std, covariates=None
) -> np.ndarray:
    """Residuals ``(len(series) - first, H, N)`` in original units (``std`` per channel) of
    rows ``first:`` of the scaled, filled ``series``, from every origin whose forecast
    reaches them (see :func:`~sae_forecast.forecasting._intervals.diagonal_residuals`); NaN
    where ``observed`` is False. ``covariates``: the scaled covariate rows beside ``series``;
    past the last row they are unknown and filled forward (as gaps, like ``predict`` does)."""
    return origin_scores(
        net,
        SplitConformal(),
        series,
        observed,
        first,
        seq_len=seq_len,
        pred_len=pred_len,
        std=std,
        covariates=covariates,
    )


def origin_scores(
    net, method, series, observed, first: int, *, seq_len, pred_len, std, covariates=None
) -> np.ndarray:
    """The conformity scores ``(len(series) - first, H, N)`` of interval ``method`` (its
    :meth:`scores`) for rows ``first:`` of the scaled, filled ``series``, as
    :func:`origin_residuals`; a method that ``needs_head`` gets the network's quantile
    outputs, computed a chunk of rows at a time."""
    horizon, n_channels = pred_len, series.shape[1]
    padded = np.concatenate([series, np.zeros((horizon, n_channels), series.dtype)])
    if covariates is not None:
        covariates = np.concatenate([covariates, np.repeat(covariates[-1:], horizon, axis=0)])
    n_targets = len(series) - first
    width = horizon * n_channels * (len(method.levels) if method.needs_head else 1)
    chunk = n_targets if not method.needs_head else max(horizon, SCORE_CHUNK // width)
    parts = []
    for begin in range(0, n_targets, chunk):
        end = min(n_targets, begin + chunk)
        starts = np.arange(first + begin - horizon + 1, first + end) - seq_len
        windows = SeriesWindows(
            padded, seq_len, horizon, starts=starts, device=net.device, covariates=covariates
        )
        point, head = _outputs(net, windows, method.needs_head)  # padded targets unused
        point, target = diagonal(point, end - begin), series[first + begin : first + end]
        head = None if head is None else diagonal(head, end - begin)
        parts.append(method.scores(point, head, target[:, None, :], std))
    scores = np.concatenate(parts)
    if observed is not None:
        scores[~observed[first:, None, :].repeat(horizon, axis=1)] = np.nan
    return scores


def _outputs(net, windows, with_head: bool):
    """The network's point forecasts of ``windows`` and, ``with_head``, its quantiles."""
    if not with_head:
        return net.predict(windows), None
    point, head = net.forward(windows)
    return point.cpu().float().numpy(), head.cpu().float().numpy()


class WindowMethods:
    """Window methods of :class:`~sae_forecast.forecasting.LightSAEForecaster` (a mixin)."""

    def predict_windows(self, windows: np.ndarray, covariates=None) -> np.ndarray:
        """Forecast ``pred_len_`` steps for each scaled window ``(n, seq_len, N)``.

        The windows must be in the scaled units of the fitted forecaster (see ``scale``);
        so must ``covariates`` ``(n, seq_len + pred_len, C)``, the covariate windows over
        lookback and horizon (columns in the order of ``covariates_.columns``), required when
        the forecaster was fitted with ``X``.
        """
        self.check_is_fitted()
        windows = np.asarray(windows, dtype=np.float32)
        expected = 0 if self.covariates_ is None else len(self.covariates_.columns)
        given = 0 if covariates is None else np.shape(covariates)[-1]
        if expected != given:
            raise ValueError(
                f"the forecaster reads {expected} covariate(s), but covariates with {given} "
                "column(s) were passed; pass covariate windows (n, seq_len + pred_len, C) "
                "exactly when the forecaster was fitted with X."
            )
        if covariates is None:
            return self.net_.predict(windows)
        covariates = np.asarray(covariates, dtype=np.float32)
        return self.net_.predict(window_inputs(windows, covariates))

    def _scaled(self, y, where: str):
        """``y`` scaled with the fitted scaler and filled: ``(series, observed or None)``."""
        self.check_is_fitted()
        check_columns_match(y, self.columns_, where)
        return continue_series(self.scaler_, y.to_numpy(dtype=np.float64))

    def _checked_covariates(self, X, y, where: str):
        """``X``'s rows at ``y``'s time stamps, scaled and filled (None without covariates)."""
        return scaled_covariates(self.covariates_, X, y.index, where)

    def _scored_windows(self, y, X, start: int, where: str) -> SeriesWindows:
        series, observed = self._scaled(y, where)
        covariates = self._checked_covariates(X, y, where)
        windows = SeriesWindows(
            series[start:],
            self.seq_len,
            self.pred_len_,
            observed=None if observed is None else observed[start:],
            device=self.device,
            covariates=None if covariates is None else covariates[start:],
        )
        if len(windows) == 0:
            raise ValueError(
                f"y has no complete window after row {start}: scoring needs at least seq_len + "
                f"pred_len = {self.seq_len + self.pred_len_} rows from there."
            )
        return windows

    def forecast_windows(self, y, X=None, *, start: int = 0, alpha=None) -> WindowForecasts:
        """Forecast every window of ``y`` at once, with quantiles ``alpha`` if asked.

        Every stretch of ``seq_len + pred_len`` rows of ``y`` (stride 1) whose lookback
        begins at row ``start`` or later is a window; rows before ``start`` only carry gaps
        forward. The quantiles come from the forecaster's interval method (``intervals_``).

        Parameters
        ----------
        y : DataFrame
            Series with the columns seen in ``fit``, in original units; NaN are gaps.
        X : DataFrame or None, default=None
            Its covariates, a row for every time stamp of ``y`` (required when the
            forecaster was fitted with ``X``); future-known columns are read over each
            window's horizon, so the last windows read them up to the end of ``y``.
        start : int, default=0
            Row position of the first window's first lookback row.
        alpha : list of float or None, default=None
            Quantile levels to forecast too.

        Returns
        -------
        WindowForecasts
        """
        windows = self._scored_windows(y, X, start, "forecast_windows")
        inputs, targets = windows.batch(torch.arange(len(windows)))
        began = time.perf_counter()
        if self.intervals_.needs_head:
            point, head = (
                part.cpu().to(torch.float64).numpy() for part in self.net_.forward(inputs)
            )
        else:
            point, head = self.net_.predict(inputs).astype(np.float64), None
        seconds = time.perf_counter() - began
        mean, std = self.scaler_.mean, self.scaler_.std
        point = point * std + mean
        observed = _observed(targets, point.shape)
        target = targets.values.cpu().numpy().astype(np.float64) * std + mean
        target[~observed] = np.nan
        head = None if head is None else head * std[:, None] + mean[:, None]
        began, quantiles = time.perf_counter(), None
        if alpha is not None:
            quantiles = np.moveaxis(self.intervals_.quantiles(point, head, alpha), 0, 1)
        interval_seconds = time.perf_counter() - began
        alpha = None if alpha is None else tuple(alpha)
        return WindowForecasts(
            point, target, observed, alpha, quantiles, seconds, interval_seconds, head
        )

    def score_windows(self, y, X=None, *, start: int = 0, std=None) -> dict:
        """Forecast every window of ``y`` at once and score it on the observed targets.

        Windows as in :meth:`forecast_windows`: passing the whole history up to the end of a
        test span, with ``start`` at its first lookback row, scores exactly the test windows
        of the standard protocol. This is how the benchmark scores its rows.

        Parameters
        ----------
        y, X, start
            As in :meth:`forecast_windows`.
        std : array-like of shape (n_channels,) or None, default=None
            Report errors in units of this per-channel standard deviation instead of the
            forecaster's own scaler (to compare forecasters whose scalers saw different
            training data, e.g. imputed and not).

        Returns
        -------
        dict
            ``mse`` and ``mae`` over observed targets in the scaled units (the papers'
            convention: per-channel standardisation fitted on the training span),
            ``n_windows`` and ``seconds`` (the forecasting time, eval mode).
        """
        windows = self._scored_windows(y, X, start, "score_windows")
        began = time.perf_counter()
        pred = self.net_.predict(windows)  # eval mode, no grad: merged weights cached
        seconds = time.perf_counter() - began
        targets = windows.batch(torch.arange(len(windows)))[1]
        target = targets.values.cpu().numpy()
        if std is not None:  # errors in units of ``std`` instead of the forecaster's scaler
            factor = (self.scaler_.std / np.asarray(std, dtype=np.float64)).astype(np.float32)
            pred, target = pred * factor, target * factor
        mask = None if targets.weight is None else _observed(targets, target.shape)
        mse, mae = masked_errors(pred, target, mask)
        return {"mse": mse, "mae": mae, "n_windows": len(windows), "seconds": seconds}

    def row_residuals(self, y, X=None, *, first: int) -> np.ndarray:
        """Signed residuals ``y - y_hat`` of rows ``first:`` of ``y``, by row and step.

        At row ``i`` and step ``h`` the error of the forecast made ``h + 1`` steps earlier,
        in original units, NaN at gaps: the residuals that conformal calibration uses.
        ``first`` must leave ``seq_len + pred_len - 1`` rows before it. ``X``: the
        covariates of ``y``, as in :meth:`forecast_windows`.

        Returns
        -------
        ndarray of shape (len(y) - first, pred_len, n_channels)
        """
        self.check_is_fitted()
        self._check_first(first)
        series, observed = self._scaled(y, "row_residuals")
        covariates = self._checked_covariates(X, y, "row_residuals")
        return self._origin_residuals(series, observed, first, covariates)

    def row_scores(self, y, X=None, *, first: int) -> np.ndarray:
        """The fitted interval method's conformity scores of rows ``first:`` of ``y``.

        Indexed as :meth:`row_residuals` (its residuals are the scores of
        ``interval_method="conformal"``, ``"adaptive"`` and ``"tracking"``); with
        ``"quantile"``, the errors of the network's median in units of its spread on their side (see
        :class:`~sae_forecast.forecasting.ConformalQuantiles`). ``intervals_.extend`` takes
        them, as ``update`` does with the new rows'.

        Returns
        -------
        ndarray of shape (len(y) - first, pred_len, n_channels)
        """
        self.check_is_fitted()
        if not self.intervals_.uses_scores:
            raise ValueError(
                f"{type(self.intervals_).__name__} intervals use no conformity scores; fit "
                "with interval_method 'adaptive', 'conformal', 'quantile' or 'tracking'."
            )
        self._check_first(first)
        series, observed = self._scaled(y, "row_scores")
        covariates = self._checked_covariates(X, y, "row_scores")
        return self._origin_scores(self.intervals_, series, observed, first, covariates)

    def _check_first(self, first: int) -> None:
        least = self.seq_len + self.pred_len_ - 1
        if first < least:
            raise ValueError(
                f"first={first} leaves too few rows before it: the earliest forecast of row "
                f"first reads the {least} rows before it (seq_len + pred_len - 1); pass "
                f"first >= {least}."
            )

    def _origin_residuals(self, series, observed, first: int, covariates=None) -> np.ndarray:
        """:func:`origin_residuals` of the scaled, filled ``series`` with this forecaster."""
        return self._origin_scores(SplitConformal(), series, observed, first, covariates)

    def _origin_scores(self, method, series, observed, first: int, covariates=None):
        """:func:`origin_scores` of interval ``method`` for the scaled, filled ``series``."""
        return origin_scores(
            self.net_,
            method,
            series,
            observed,
            first,
            seq_len=self.seq_len,
            pred_len=self.pred_len_,
            std=self.scaler_.std,
            covariates=covariates,
        )


def _observed(targets, shape) -> np.ndarray:
    """Where the targets were observed, as a boolean array (all True without a weight)."""
    if targets.weight is None:
        return np.ones(shape, bool)
    return targets.weight.cpu().numpy() > 0
