"""Input checks with messages that name the problem and the fix (pandas and numpy only)."""

from __future__ import annotations

import inspect
import os
import sys
import warnings

import numpy as np
import pandas as pd

__all__ = [
    "check_columns_match",
    "check_horizon",
    "check_target",
    "warn_caller",
]


def _as_frame(y) -> pd.DataFrame | None:
    if isinstance(y, pd.Series):
        return y.to_frame()
    if isinstance(y, pd.DataFrame):
        return y
    if isinstance(y, np.ndarray) and y.ndim in (1, 2):
        return pd.DataFrame(y.reshape(len(y), -1))
    return None  # other sktime mtypes: sktime's own checks apply


def _columns_where(columns, flags: np.ndarray) -> list:
    """The column names whose entry in the 1-D boolean ``flags`` is true."""
    return [column for column, flag in zip(columns, flags, strict=True) if flag]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def check_target(y, name: str = "y", *, booleans: bool = False) -> None:
    """Raise a ``ValueError`` or ``TypeError`` describing what is wrong with target ``y``.

    Checks: not empty; unique column names; numeric columns only; no infinite values (the
    offending columns are named); a unique, increasing time index. Missing values (NaN) are
    allowed: the forecasters treat them as gaps. Panel and hierarchical data (MultiIndex)
    are checked for values only. The caller's data is never modified.

    Parameters
    ----------
    y : pd.DataFrame, pd.Series or np.ndarray
        The target series (other sktime mtypes are left to sktime's own checks).
    name : str, default="y"
        How ``y`` is called in the messages.
    booleans : bool, default=False
        Accept boolean columns (flags are fine covariates, not targets).

    Raises
    ------
    TypeError
        For non-numeric (categorical, text or boolean) columns.
    ValueError
        For any other problem listed above.

    Examples
    --------
    >>> check_target(pd.DataFrame({"a": [1.0, np.nan, 3.0]}))  # gaps are fine
    >>> check_target(pd.DataFrame({"a": [1.0, np.inf]}))
    Traceback (most recent call last):
    ...
    ValueError: y has infinite values in column(s) ['a'] (1 value in all); ...
    """
    frame = _as_frame(y)
    if frame is None:
        return
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {frame.shape}); pass at least one column with observations."
        )
    _check_column_names(frame, name)
    _check_numeric(frame, name, booleans)
    _check_finite(frame, name)
    if not isinstance(frame.index, pd.MultiIndex):
        _check_time_index(frame.index, name)


def _check_column_names(frame: pd.DataFrame, name: str) -> None:
    if frame.columns.has_duplicates:
        duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
        raise ValueError(
            f"{name} has duplicate column name(s) {duplicated}; each column is one channel "
            "and needs its own name. Rename them (e.g. y.columns = [...] with unique names) "
            "or drop the repeats (y.loc[:, ~y.columns.duplicated()])."
        )


def _check_numeric(frame: pd.DataFrame, name: str, booleans: bool = False) -> None:
    dtypes = frame.dtypes
    bad = [
        not pd.api.types.is_numeric_dtype(dtype)
        or (pd.api.types.is_bool_dtype(dtype) and not booleans)
        for dtype in dtypes
    ]
    if any(bad):
        kinds = sorted({str(dtype) for dtype, flag in zip(dtypes, bad, strict=True) if flag})
        raise TypeError(
            f"{name} has non-numeric (categorical, text or boolean) column(s) "
            f"{_columns_where(frame.columns, bad)} (dtype {kinds}); forecasters need numbers: "
            "convert them or drop them before fitting."
        )


def _check_finite(frame: pd.DataFrame, name: str) -> None:
    infinite = np.isinf(frame.to_numpy(dtype=np.float64))
    if infinite.any():
        columns = _columns_where(frame.columns, infinite.any(axis=0))
        raise ValueError(
            f"{name} has infinite values in column(s) {columns} "
            f"({_plural(int(infinite.sum()), 'value')} in all); replace them with NaN "
            "(y.replace([np.inf, -np.inf], np.nan)), which the forecaster handles as gaps."
        )


def _check_time_index(index: pd.Index, name: str) -> None:
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:3].tolist()
        raise ValueError(
            f"{name} has duplicate time index values, e.g. {duplicated}; "
            "aggregate or drop the duplicates (y[~y.index.duplicated()])."
        )
    if not index.is_monotonic_increasing:
        raise ValueError(f"{name}'s time index is not increasing; sort it first (y.sort_index()).")


def check_columns_match(y: pd.DataFrame, columns: pd.Index, where: str) -> None:
    """Raise a ``ValueError`` when ``y``'s columns differ from those seen in ``fit``.

    Examples
    --------
    >>> check_columns_match(pd.DataFrame({"b": [1.0]}), pd.Index(["a"]), "update")
    Traceback (most recent call last):
    ...
    ValueError: y passed to update has columns ['b'], but the forecaster was fitted on ['a']. ...
    """
    if list(y.columns) != list(columns):
        raise ValueError(
            f"y passed to {where} has columns {list(y.columns)}, but the forecaster "
            f"was fitted on {list(columns)}. Pass the same columns in the same "
            "order, or fit again."
        )


def check_horizon(steps: np.ndarray, pred_len: int, owner: str, trained: str = "trained") -> None:
    """Raise a ``ValueError`` when relative ``steps`` are in sample or beyond ``pred_len``.

    Examples
    --------
    >>> check_horizon(np.array([1, 30]), 24, "LightSAERLinearForecaster")
    Traceback (most recent call last):
    ...
    ValueError: fh reaches 30 steps ahead, but the forecaster was trained for pred_len=24. ...
    """
    if (steps < 1).any():
        raise ValueError(
            f"{owner} forecasts out of sample only, but fh contains the in-sample step(s) "
            f"{steps[steps < 1].tolist()}; pass steps 1..{pred_len}."
        )
    if steps.max() > pred_len:
        fix = (
            f"Refit with pred_len={steps.max()} (or pass this fh to fit), or shorten fh."
            if trained == "trained"
            else f"Shorten fh, or pretrain again with pred_len={steps.max()} (a new forecaster)."
        )
        raise ValueError(
            f"fh reaches {steps.max()} steps ahead, but the "
            f"{'forecaster was' if trained == 'trained' else 'network was'} {trained} for "
            f"pred_len={pred_len}. {fix}"
        )


_PACKAGE = os.path.dirname(sys.modules["sae_forecast"].__file__) + os.sep


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with the location of the first caller outside sae_forecast, sktime and skbase.

    However deep sktime calls the forecaster, the warning points at the user's line (a fixed
    ``stacklevel`` would depend on sktime's call depth).
    """
    skipped = (_PACKAGE, os.sep + "sktime" + os.sep, os.sep + "skbase" + os.sep)
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and any(part in frame.f_code.co_filename for part in skipped):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
