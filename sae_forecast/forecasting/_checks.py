"""Input checks with messages that name the problem and the fix (pandas and numpy only)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_columns_match", "check_length", "check_target"]

_IMPUTE_HINT = (
    "Fill the gaps first, for example with sktime's Imputer in a pipeline: "
    "TransformedTargetForecaster([('impute', Imputer(method='ffill')), ('forecast', "
    "<this forecaster>)]) (from sktime.transformations.series.impute import Imputer)."
)


def _as_frame(y) -> pd.DataFrame | None:
    if isinstance(y, pd.Series):
        return y.to_frame()
    if isinstance(y, pd.DataFrame):
        return y
    if isinstance(y, np.ndarray) and y.ndim in (1, 2):
        return pd.DataFrame(y.reshape(len(y), -1))
    return None  # other sktime mtypes: sktime's own checks apply


def check_target(y, name: str = "y") -> None:
    """Raise a ``ValueError`` or ``TypeError`` describing what is wrong with target ``y``.

    Checks: not empty; numeric columns only; no NaN or infinite values (the offending columns
    are named); a unique, increasing time index. Panel and hierarchical data (MultiIndex)
    are checked for values only. The caller's data is never modified.

    Examples
    --------
    >>> check_target(pd.DataFrame({"a": [1.0, np.nan]}))
    Traceback (most recent call last):
    ...
    ValueError: y has missing values (NaN) in column(s) ['a'] (1 value in all). ...
    """
    frame = _as_frame(y)
    if frame is None:
        return
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {frame.shape}); pass at least one column with observations."
        )
    non_numeric = [
        c
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]
    if non_numeric:
        kinds = sorted({str(frame[c].dtype) for c in non_numeric})
        raise TypeError(
            f"{name} has non-numeric (categorical, text or boolean) column(s) "
            f"{non_numeric} (dtype {kinds}); forecasters need numbers: convert "
            "them or drop them before fitting."
        )
    values = frame.to_numpy(dtype=np.float64)
    missing = np.isnan(values)
    if missing.any():
        columns = [c for c, bad in zip(frame.columns, missing.any(axis=0), strict=True) if bad]
        count = int(missing.sum())
        raise ValueError(
            f"{name} has missing values (NaN) in column(s) {columns} ({count} "
            f"value{'s' if count != 1 else ''} in all). {_IMPUTE_HINT}"
        )
    infinite = np.isinf(values)
    if infinite.any():
        columns = [c for c, bad in zip(frame.columns, infinite.any(axis=0), strict=True) if bad]
        raise ValueError(
            f"{name} has infinite values in column(s) {columns}; replace them "
            "(e.g. y.replace([np.inf, -np.inf], np.nan)) and impute. " + _IMPUTE_HINT
        )
    if isinstance(frame.index, pd.MultiIndex):
        return
    if frame.index.has_duplicates:
        duplicated = frame.index[frame.index.duplicated()].unique()[:3].tolist()
        raise ValueError(
            f"{name} has duplicate time index values, e.g. {duplicated}; "
            "aggregate or drop the duplicates (y[~y.index.duplicated()])."
        )
    if not frame.index.is_monotonic_increasing:
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


def check_length(
    n_rows: int, needed: int, *, seq_len: int, pred_len: int, n_valid: int, gap: int
) -> None:
    """Raise a ``ValueError`` saying how many rows training needs when ``y`` is too short.

    Examples
    --------
    >>> check_length(50, 120, seq_len=96, pred_len=12, n_valid=1, gap=11)
    Traceback (most recent call last):
    ...
    ValueError: y has 50 rows, but training needs at least 120: ...
    """
    if n_rows < needed:
        raise ValueError(
            f"y has {n_rows} rows, but training needs at least {needed}: seq_len={seq_len} + "
            f"pred_len={pred_len} for the first window, plus {n_valid} validation window(s) "
            f"after a gap of {gap} (pred_len - 1, so that validation targets are unseen). "
            "Pass a longer series, or lower seq_len, pred_len or validation_size "
            "(validation_size=0 trains without early stopping)."
        )
