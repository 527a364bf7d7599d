"""Scoring every window of a series at once, on observed targets only."""

from __future__ import annotations

import time

import numpy as np
import torch

from sae_forecast.data import fill_gaps
from sae_forecast.training import SeriesWindows

__all__ = ["masked_errors", "score_windows"]


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


def score_windows(forecaster, values: np.ndarray, start: int, std=None) -> dict:
    """See :meth:`LightSAEForecaster.score_windows`; ``values`` in original units."""
    series, observed = fill_gaps(forecaster.scaler_.transform(values))
    windows = SeriesWindows(
        series[start:],
        forecaster.seq_len,
        forecaster.pred_len_,
        observed=None if observed is None else observed[start:],
        device=forecaster.device,
    )
    if len(windows) == 0:
        raise ValueError(
            f"y has no complete window after row {start}: scoring needs at least seq_len + "
            f"pred_len = {forecaster.seq_len + forecaster.pred_len_} rows from there."
        )
    began = time.perf_counter()
    pred = forecaster.net_.predict(windows)  # eval mode, no grad: merged weights cached
    seconds = time.perf_counter() - began
    targets = windows.batch(torch.arange(len(windows)))[1]
    target = targets.values.cpu().numpy()
    if std is not None:  # errors in units of ``std`` instead of the forecaster's scaler
        factor = (forecaster.scaler_.std / np.asarray(std, dtype=np.float64)).astype(np.float32)
        pred, target = pred * factor, target * factor
    mask = None if targets.observed is None else targets.observed.cpu().numpy()
    mse, mae = masked_errors(pred, target, mask)
    return {"mse": mse, "mae": mae, "n_windows": len(windows), "seconds": seconds}
