"""The one series pipeline: split, scale, fill and mark gaps, ready for windows (numpy only).

Every path that turns a series into training or scoring windows goes through here: ``fit``,
``pretrain`` (once per device), ``update``, ``score_windows`` and the benchmark protocol. The
windows themselves are cut lazily by :class:`~sae_forecast.training.SeriesWindows` from the
``values`` and ``observed`` arrays of a :class:`PreparedSeries`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sae_forecast.data.scaling import Standardiser, fill_gaps
from sae_forecast.data.windows import chronological_split, count_windows

__all__ = ["PreparedSeries", "continue_series", "prepare_series", "scale_and_fill"]


@dataclass(frozen=True)
class PreparedSeries:
    """A series scaled on its training span, gaps filled, and its windows split in time.

    Built by :func:`prepare_series`.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_channels), float32
        Standardised with the training span's statistics, gaps filled forward in time.
    observed : ndarray of bool of the same shape, or None
        False where the original value was missing; None when nothing was.
    scaler : Standardiser
        Fitted on the observed values of the training span.
    train : ndarray of int
        Indices of the training windows (window ``i`` reads rows ``i .. i + seq_len - 1``).
    valid : ndarray of int
        Indices of the validation windows: the chronological tail (may be empty).
    seq_len, pred_len : int
        The window shape.
    covariates : ndarray of shape (n_rows, n_covariates), float32, or None
        The covariates (exogenous ``X``) scaled on the same training span with their own
        scaler, gaps filled forward in time; None without covariates.
    covariate_scaler : Standardiser or None
        The covariates' scaler.

    Examples
    --------
    >>> series = prepare_series(
    ...     np.arange(40.0).reshape(20, 2), seq_len=4, pred_len=2, validation_size=0.2
    ... )
    >>> series.train.tolist(), series.valid.tolist(), series.train_rows
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [12, 13, 14], 16)
    """

    values: np.ndarray
    observed: np.ndarray | None
    scaler: Standardiser
    train: np.ndarray
    valid: np.ndarray
    seq_len: int
    pred_len: int
    covariates: np.ndarray | None = None
    covariate_scaler: Standardiser | None = None

    @property
    def train_rows(self) -> int:
        """Rows that the training windows read (inputs and targets): the training span."""
        return int(self.train[-1]) + self.seq_len + self.pred_len if len(self.train) else 0


def scale_and_fill(
    values: np.ndarray, train_rows: int, *, columns=None, scale: bool = True, name: str = "y"
) -> tuple[Standardiser, np.ndarray, np.ndarray | None]:
    """Fit the scaler on rows ``:train_rows``, standardise every row and fill its gaps.

    Returns ``(scaler, filled float32, observed mask or None)``; raises a ``ValueError``
    naming the channels (``columns``) never observed in the training span (``name``: what
    the message calls the data, ``"y"`` or ``"X"``).

    Examples
    --------
    >>> scaler, filled, observed = scale_and_fill(np.array([[1.0], [3.0], [np.nan]]), 2)
    >>> filled[:, 0].tolist(), observed[:, 0].tolist()
    ([-1.0, 1.0, 1.0], [True, True, False])
    """
    values = np.asarray(values, dtype=np.float64)
    scaler = Standardiser.fit(values[:train_rows], columns=columns, enabled=scale, name=name)
    filled, observed = fill_gaps(scaler.transform(values))
    return scaler, filled, observed


def prepare_series(
    values,
    *,
    seq_len: int,
    pred_len: int,
    validation_size: float | int,
    scale: bool = True,
    columns=None,
    tail_required: bool = True,
    covariates=None,
    covariate_columns=None,
) -> PreparedSeries:
    """Split a series' windows in time, fit the scaler on the training span, scale and fill.

    Parameters
    ----------
    values : array-like of shape (n_rows, n_channels)
        The series in original units; NaN marks a gap.
    seq_len, pred_len : int
        Lookback and horizon: a window spans ``seq_len + pred_len`` rows (stride 1).
    validation_size : float or int
        Validation tail: a fraction of the windows (``0 <= v < 1``) or a number of windows;
        ``pred_len - 1`` windows between the parts are dropped, so no validation target is a
        training target.
    scale : bool, default=True
        Standardise each channel with its observed training values (else the identity).
    columns : sequence or None, default=None
        Channel names for error messages.
    tail_required : bool, default=True
        False: a series too short for a validation tail trains on all its windows (a device
        of a fleet) instead of raising.
    covariates : array-like of shape (n_rows, n_covariates) or None, default=None
        Exogenous series aligned row by row with ``values`` (NaN marks a gap); scaled on the
        same training span with a scaler of their own and filled forward like ``values``.
        They are inputs only: they have no mask, as they never enter the loss.
    covariate_columns : sequence or None, default=None
        Covariate names for error messages.

    Returns
    -------
    PreparedSeries

    Raises
    ------
    ValueError
        When the series is too short for a training window (and, with ``tail_required``, a
        validation tail), or a channel is never observed in the training span.
    """
    values = np.asarray(values, dtype=np.float64)
    n_windows = count_windows(len(values), seq_len, pred_len)
    try:
        train, valid = chronological_split(n_windows, validation_size, pred_len - 1)
    except ValueError as error:
        if tail_required or n_windows == 0:
            raise ValueError(
                f"y has {len(values)} rows, too few to train: seq_len={seq_len} + "
                f"pred_len={pred_len} rows make one window, and {error} Pass a longer "
                "series, or lower seq_len, pred_len or validation_size (validation_size=0 "
                "trains without early stopping)."
            ) from None
        train, valid = np.arange(n_windows), np.arange(0)
    train_rows = int(train[-1]) + seq_len + pred_len
    scaler, filled, observed = scale_and_fill(values, train_rows, columns=columns, scale=scale)
    series = PreparedSeries(filled, observed, scaler, train, valid, seq_len, pred_len)
    if covariates is None:
        return series
    covariates = np.asarray(covariates, dtype=np.float64)
    if covariates.shape[0] != len(values):
        raise ValueError(
            f"covariates have {covariates.shape[0]} rows but the series has {len(values)}; "
            "pass one covariate row per row of the series."
        )
    covariate_scaler, covariates, _ = scale_and_fill(
        covariates, train_rows, columns=covariate_columns, scale=scale, name="X"
    )
    return replace(series, covariates=covariates, covariate_scaler=covariate_scaler)


def continue_series(
    scaler: Standardiser, values, last: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Scale rows with a fitted scaler and fill their gaps from ``last`` (the row before; the
    training mean when None).

    Returns ``(filled float32, observed mask or None)``, the mask None without gaps (as
    :func:`prepare_series`).

    Examples
    --------
    >>> scaler = Standardiser(np.zeros(1), np.ones(1))
    >>> filled, observed = continue_series(scaler, np.array([[np.nan], [2.0]]), np.array([5.0]))
    >>> filled[:, 0].tolist(), observed[:, 0].tolist()
    ([5.0, 2.0], [False, True])
    """
    return fill_gaps(scaler.transform(values), last=last)
