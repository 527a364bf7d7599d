"""The predictor's input checks: frames or arrays -> float64 arrays, with messages that name the
problem and the fix (numpy only; pandas objects are read through their attributes)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_rows", "check_regular"]


def as_rows(data, names, what: str, *, extra_columns: bool = False) -> np.ndarray:
    """``data`` as float64 ``(n_rows, n_columns)`` or ``(batch, n_rows, n_columns)``.

    A DataFrame's columns are matched to ``names`` by name (other columns are dropped when
    ``extra_columns``) and its time index must be regular (:func:`check_regular`); an array's
    columns are taken in the order of ``names``. ``what`` names ``data`` in the messages.

    Examples
    --------
    >>> as_rows([[1.0, 2.0], [3.0, 4.0]], ("a", "b"), "rows").shape
    (2, 2)
    >>> as_rows([[1.0, 2.0]], ("a", "b", "c"), "rows")
    Traceback (most recent call last):
    ...
    ValueError: rows must have shape (n_rows, 3) or (batch, n_rows, 3), got (1, 2); ...
    """
    names = list(names)
    columns = getattr(data, "columns", None)
    if columns is not None:
        data = _select_columns(data, list(columns), names, what, extra_columns)
        check_regular(getattr(data, "index", None), what)
    values = np.asarray(data, dtype=np.float64)
    if values.ndim == 1 and len(names) == 1:
        values = values[:, None]
    if values.ndim not in (2, 3) or values.shape[-1] != len(names):
        raise ValueError(
            f"{what} must have shape (n_rows, {len(names)}) or (batch, n_rows, {len(names)}), "
            f"got {values.shape}; pass one column per name in {names}."
        )
    if np.isinf(values).any():
        raise ValueError(f"{what} has infinite values; replace them with NaN (a gap).")
    return values


def _select_columns(frame, given: list, expected: list, what: str, extra_columns: bool):
    if given == expected:
        return frame
    by_name = {str(name): name for name in given}
    missing = [name for name in expected if str(name) not in by_name]
    if missing or (not extra_columns and len(given) != len(expected)):
        raise ValueError(
            f"{what} has columns {given}, the model reads {expected}; pass a frame with "
            f"{'these' if extra_columns else 'exactly these'} columns."
        )
    return frame[[by_name[str(name)] for name in expected]]


def check_regular(index, what: str = "rows") -> None:
    """Refuse a pandas time index with missing or repeated steps (duck-typed: no pandas).

    A ``DatetimeIndex`` must have an inferable frequency, a ``PeriodIndex`` evenly spaced
    ordinals; any other index (or None) is taken as consecutive rows.

    Examples
    --------
    >>> check_regular(None)
    """
    if index is None or len(index) < 3:
        return
    if hasattr(index, "inferred_freq"):  # DatetimeIndex: None when the step is not regular
        regular = index.inferred_freq is not None
    elif hasattr(index, "freqstr") and hasattr(index, "asi8"):  # PeriodIndex: ordinals
        regular = len(set(np.diff(index.asi8).tolist())) == 1
    else:  # a RangeIndex or any other: the rows are taken as consecutive
        return
    if not regular:
        raise ValueError(
            f"{what}' time index has no regular step between {index[0]} and {index[-1]} (a "
            "missing or repeated time stamp); the model reads consecutive time steps, as "
            "predict does after putting a missing time stamp in as a row of NaN. Pass "
            f"{what}.asfreq(freq) (e.g. freq='h')."
        )
