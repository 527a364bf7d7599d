"""Exogenous covariates (sktime's ``X``): which columns are known ahead, and their rows.

The forecasters read ``X`` as covariates, never as targets: a column named in
``future_covariates`` is known ahead (a weather or load forecast, the calendar) and the
network reads it over the lookback and the horizon; every other column is read over the
lookback only. :class:`Covariates` is what ``fit`` learned about ``X`` (``covariates_``):
the columns in the network's order (future-known first) and their scaler.

Gaps in ``X`` are treated like gaps in ``y``: a missing value (NaN, or a time stamp missing
from a regular index) takes the last observed value of its column. Rows of ``X`` that the
forecast needs must exist, though: ``fit`` and ``update`` need a row for every time stamp of
``y``, ``predict`` one for every time stamp of ``fh`` (horizon steps between them that ``X``
lacks are filled forward, as gaps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sae_forecast.data import Standardiser, continue_series
from sae_forecast.forecasting._checks import check_target
from sae_forecast.forecasting._time_index import regular_time_index

__all__ = [
    "Covariates",
    "check_covariate_rows",
    "check_covariates",
    "covariate_rows",
    "horizon_covariates",
    "scaled_covariates",
]


@dataclass(frozen=True)
class Covariates:
    """The covariates a forecaster was fitted with (its ``covariates_`` attribute).

    Parameters
    ----------
    columns : pd.Index
        The columns of ``X`` in the network's order: the ``n_future`` future-known columns
        first, then the past-only ones.
    n_future : int
        How many columns are known ahead.
    scaler : Standardiser or None, default=None
        Fitted on the training span of ``X`` (None until ``fit`` scaled them).

    Examples
    --------
    >>> spec = Covariates.from_columns(pd.Index(["temp", "load"]), ["load"])
    >>> list(spec.columns), spec.n_future, spec.n_past
    (['load', 'temp'], 1, 1)
    """

    columns: pd.Index
    n_future: int
    scaler: Standardiser | None = None

    @property
    def n_past(self) -> int:
        """How many columns are read over the lookback only."""
        return len(self.columns) - self.n_future

    @property
    def future(self) -> pd.Index:
        """The future-known columns."""
        return self.columns[: self.n_future]

    @classmethod
    def from_columns(cls, columns: pd.Index, future_covariates) -> Covariates:
        """Order ``columns`` for the network, the future-known ones (``"all"``, or a list of
        names) first; raise a ``ValueError`` naming a future-known column ``X`` lacks."""
        if isinstance(future_covariates, str):  # "all", checked by the parameter table
            future = list(columns)
        else:
            future = list(future_covariates)
            unknown = [name for name in future if name not in columns]
            if unknown:
                raise ValueError(
                    f"future_covariates names column(s) {unknown} that X does not have (X "
                    f"has {list(columns)}); name columns of X, or pass X with them."
                )
        past = [name for name in columns if name not in future]
        return cls(pd.Index(future + past), len(future))


def check_covariates(X) -> None:
    """Raise a clear error for a DataFrame ``X`` the forecasters cannot read (see
    ``check_target``; boolean columns are accepted). Other types are left to sktime.

    Examples
    --------
    >>> check_covariates(pd.DataFrame({"flag": [True, False, True]}))
    >>> check_covariates(pd.DataFrame({"kind": ["a", "b"]}))
    Traceback (most recent call last):
    ...
    TypeError: X has non-numeric (categorical, text or boolean) column(s) ['kind'] ...
    """
    if isinstance(X, (pd.DataFrame, pd.Series)):  # other types: sktime's own checks
        check_target(X, "X", booleans=True)


def covariate_rows(X, index: pd.Index, columns: pd.Index, where: str) -> np.ndarray:
    """The rows of ``X`` at the time stamps ``index``, columns in the order ``columns``.

    ``X`` is first put on its regular time grid (a missing time stamp is a gap, NaN). Raises
    a ``ValueError`` naming what is missing: columns, or time stamps of ``index``.

    Returns
    -------
    ndarray of shape (len(index), len(columns)), float64, NaN at gaps

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.RangeIndex(3))
    >>> covariate_rows(X, pd.RangeIndex(1, 3), pd.Index(["a"]), "fit").ravel().tolist()
    [2.0, 3.0]
    """
    frame = X.to_frame() if isinstance(X, pd.Series) else X
    _check_columns(frame, columns, where)
    frame = check_covariate_rows(frame, index, where)
    return frame.loc[index, list(columns)].to_numpy(dtype=np.float64)


def check_covariate_rows(X, index: pd.Index, where: str):
    """``X`` on its regular time grid; a ``ValueError`` when it lacks a time stamp of
    ``index`` or has another kind of index (before sktime's own, less specific check).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.RangeIndex(2))
    >>> check_covariate_rows(X, pd.RangeIndex(3), "fit")
    Traceback (most recent call last):
    ...
    ValueError: X passed to fit has no row for 1 of the 3 time stamps it must cover, e.g. [2]; ...
    """
    if not isinstance(X, (pd.DataFrame, pd.Series)):
        return X  # None, or another type that sktime's own checks refuse
    if isinstance(X.index, pd.MultiIndex) or isinstance(index, pd.MultiIndex):
        return X  # panels: checked device by device in pretrain
    _check_index_kind(X.index, index, where)
    X = regular_time_index(X)
    absent = index.difference(X.index)
    if len(absent):
        raise ValueError(
            f"X passed to {where} has no row for {len(absent)} of the {len(index)} time "
            f"stamps it must cover, e.g. {list(absent[:3])}; pass X with a row for every time "
            "stamp of y, NaN where a value is unknown."
        )
    return X


def scaled_covariates(
    spec: Covariates | None, X, index: pd.Index, where: str, last: np.ndarray | None = None
) -> np.ndarray | None:
    """``X``'s rows at ``index``, scaled with the fitted scaler and filled forward from
    ``last`` (the scaled row before them); None for a forecaster fitted without ``X``.

    Raises a ``ValueError`` when ``X`` is given to a forecaster fitted without it, or missing
    for one fitted with it.
    """
    if spec is None:
        if X is not None:
            raise ValueError(
                f"X was passed to {where}, but the forecaster was fitted without X; fit with X "
                f"to use covariates, or call {where} without X."
            )
        return None
    if X is None:
        raise ValueError(
            f"X is required in {where}: the forecaster was fitted with covariates "
            f"{list(spec.columns)}; pass X with a row for every time stamp of y."
        )
    check_covariates(X)
    rows = covariate_rows(X, index, spec.columns, where)
    return continue_series(spec.scaler, rows, last)[0]


def horizon_covariates(
    X, spec: Covariates, horizon: pd.Index, requested: pd.Index, last: np.ndarray
) -> np.ndarray:
    """The scaled covariate rows of the horizon ``horizon`` (steps 1..pred_len).

    Future-known columns come from ``X``, which must have a row for every time stamp of
    ``requested`` (the ``fh`` of ``predict``); other horizon rows and NaN values are gaps,
    filled forward from ``last`` (the last scaled row before the horizon). Past-only columns
    are zero: the network never reads their horizon rows.

    Returns
    -------
    ndarray of shape (len(horizon), len(spec.columns)), float32
    """
    rows = np.zeros((len(horizon), len(spec.columns)), np.float32)
    if spec.n_future == 0:
        return rows
    if X is None:
        raise ValueError(
            f"X is required in predict: the forecaster was fitted with future-known "
            f"covariates {list(spec.future)}, so it needs their values over fh. Pass X with "
            "a row for every time stamp of fh (or fit with future_covariates=[] to read "
            "every column of X over the lookback only)."
        )
    frame = X.to_frame() if isinstance(X, pd.Series) else X
    _check_columns(frame, spec.columns, "predict", required=spec.future)
    _check_index_kind(frame.index, horizon, "predict")
    absent = requested.difference(frame.index)
    if len(absent):
        raise ValueError(
            f"X passed to predict has no row for {len(absent)} time stamp(s) of fh, e.g. "
            f"{list(absent[:3])}; the future-known covariates {list(spec.future)} are read "
            "over the horizon: pass X with a row for every time stamp of fh."
        )
    values = frame.reindex(horizon)[list(spec.future)].to_numpy(dtype=np.float64)
    future = Standardiser(spec.scaler.mean[: spec.n_future], spec.scaler.std[: spec.n_future])
    rows[:, : spec.n_future] = continue_series(future, values, last[: spec.n_future])[0]
    return rows


def _check_columns(frame: pd.DataFrame, columns: pd.Index, where: str, required=None) -> None:
    required = columns if required is None else required
    missing = [name for name in required if name not in frame.columns]
    unknown = [name for name in frame.columns if name not in columns]
    if missing or unknown:
        raise ValueError(
            f"X passed to {where} has columns {list(frame.columns)}, but the forecaster was "
            f"fitted on {list(columns)} (missing: {missing}, not seen in fit: {unknown}). "
            "Pass the covariates fit saw, or fit again."
        )


def _check_index_kind(index: pd.Index, expected: pd.Index, where: str) -> None:
    kinds = (pd.DatetimeIndex, pd.PeriodIndex)
    same = any(isinstance(index, k) and isinstance(expected, k) for k in kinds) or (
        not isinstance(index, kinds)
        and not isinstance(expected, kinds)
        and pd.api.types.is_integer_dtype(index)
        and pd.api.types.is_integer_dtype(expected)
    )
    if not same:
        raise ValueError(
            f"X passed to {where} has a {type(index).__name__}, but y's time index is a "
            f"{type(expected).__name__}; give X the same kind of index as y (its rows are "
            "matched to y's by time stamp)."
        )
