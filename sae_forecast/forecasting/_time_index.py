"""Put a series on its regular time grid: missing time stamps become rows of NaN (gaps).

The forecasters read ``y`` row by row as equally spaced steps, so a dropped time stamp would
silently shift every later value by one step. :func:`regular_time_index` restores the grid
(the forecasters then treat the inserted rows as gaps) or says why it cannot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["regular_time_index"]

# A grid more than this many times longer than the series is mostly empty rows: the stamps
# are then irregular samples rather than a regular series with gaps.
_MAX_GROWTH = 10
# Coarsest first: the unit a typical step is rounded to when suggesting a frequency.
_UNITS = ("D", "h", "min", "s", "ms", "us", "ns")


def regular_time_index(y):
    """Return ``y`` on its regular time grid, with a row of NaN for every missing time stamp.

    For a ``DatetimeIndex`` the frequency is the index's own ``freq``, else the coarsest
    frequency (inferred by pandas, or the smallest step) whose grid holds every time stamp.
    A ``PeriodIndex`` uses its own ``freq``; an integer index the smallest step. The result
    is a new object (with ``freq`` set for time stamps and periods); the caller's object is
    not modified. Other index types, indexes that are not strictly increasing (which
    ``check_target`` reports) and series of fewer than 3 rows are returned unchanged.

    Parameters
    ----------
    y : pd.DataFrame or pd.Series
        The series; anything else is returned unchanged.

    Returns
    -------
    pd.DataFrame or pd.Series
        ``y`` reindexed onto the regular grid (inserted rows are NaN), or a copy of ``y``
        with ``freq`` set when no time stamp is missing.

    Raises
    ------
    ValueError
        When the steps are not whole multiples of one step (e.g. jittered time stamps), or
        when the grid they imply would be mostly empty rows; the message suggests a
        resampling frequency.

    Examples
    --------
    >>> index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 03:00"])
    >>> y = pd.DataFrame({"load": [1.0, 2.0, 4.0]}, index=index)
    >>> regular = regular_time_index(y)
    >>> regular["load"].tolist(), regular.index.freqstr
    ([1.0, 2.0, nan, 4.0], 'h')
    """
    if not isinstance(y, (pd.DataFrame, pd.Series)) or not _regularisable(y.index):
        return y
    index = y.index
    if isinstance(index, pd.DatetimeIndex):
        grid = index if index.freq is not None else _datetime_grid(index)
    elif isinstance(index, pd.PeriodIndex):
        grid = pd.period_range(index[0], index[-1], freq=index.freq)
    else:
        grid = _integer_grid(index)
    grid = grid.rename(index.name)
    _check_growth(index, grid)
    if len(grid) == len(index):
        regular = y.copy()
        regular.index = grid
        return regular
    return y.reindex(grid)


def _regularisable(index: pd.Index) -> bool:
    """Whether the index is a single-level time index, strictly increasing, of 3+ rows."""
    if isinstance(index, pd.MultiIndex) or len(index) < 3:
        return False
    if not isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) and not (
        pd.api.types.is_integer_dtype(index) and not pd.api.types.is_bool_dtype(index)
    ):
        return False
    return index.is_monotonic_increasing and not index.has_duplicates


def _datetime_grid(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The shortest regular ``date_range`` from the first to the last stamp holding them all."""
    grids = []
    for offset in _candidate_offsets(index):
        step = (index[0] + offset) - index[0]
        if step <= pd.Timedelta(0) or (index[-1] - index[0]) / step > _MAX_GROWTH * len(index):
            continue  # a step backwards, or a grid far too long to build
        grid = pd.date_range(index[0], index[-1], freq=offset)
        if grid.get_indexer(index).min() >= 0:
            grids.append(grid)
    if grids:
        return min(grids, key=len)
    smallest = _steps(index).min()
    n_grid = (index[-1] - index[0]) // smallest + 1
    if n_grid > _MAX_GROWTH * len(index):
        _raise_irregular(index, _sparse_reason(n_grid, _step_text(smallest), len(index)))
    _raise_irregular(index, "its steps are not whole multiples of one step")


def _candidate_offsets(index: pd.DatetimeIndex) -> list:
    """Frequencies pandas infers from the whole index and from a few runs of 7 stamps
    (calendar frequencies such as business days or month ends), then the smallest step."""
    candidates = [pd.infer_freq(index)]
    starts = np.linspace(0, len(index) - 3, num=min(8, len(index) - 2)).astype(int)
    candidates += [pd.infer_freq(index[start : start + 7]) for start in starts]
    offsets = []
    for candidate in candidates:
        if candidate is not None and to_offset(candidate) not in offsets:
            offsets.append(to_offset(candidate))
    return [*offsets, to_offset(_steps(index).min())]


def _integer_grid(index: pd.Index) -> pd.Index:
    """The index itself if its steps are equal, else the range at its smallest step."""
    steps = np.diff(index.to_numpy())
    if (steps == steps[0]).all():
        return index.copy()
    smallest = int(steps.min())
    if (steps % smallest).any():
        _raise_irregular(index, "its steps are not whole multiples of the smallest step")
    return pd.RangeIndex(index[0], index[-1] + 1, smallest, name=index.name)


def _check_growth(index: pd.Index, grid: pd.Index) -> None:
    """Refuse grids that would be mostly inserted rows (the stamps are irregular samples)."""
    if len(grid) <= _MAX_GROWTH * len(index):
        return
    if isinstance(index, pd.PeriodIndex):
        step = index.freqstr
    elif isinstance(index, pd.DatetimeIndex):
        step = _step_text(grid[1] - grid[0])
    else:
        step = int(grid[1] - grid[0])
    _raise_irregular(index, _sparse_reason(len(grid), step, len(index)))


def _sparse_reason(n_grid: int, step, n_rows: int) -> str:
    return (
        f"a regular grid at its smallest step ({step}) would have {n_grid} rows, more than "
        f"{_MAX_GROWTH} times the {n_rows} rows of y (mostly inserted gaps)"
    )


def _steps(index: pd.Index):
    return index[1:] - index[:-1]


def _raise_irregular(index: pd.Index, reason: str) -> None:
    """Raise a ``ValueError`` giving the reason, example steps and a resampling frequency."""
    source = "y"
    if isinstance(index, pd.PeriodIndex):
        index, source = index.to_timestamp(), "y.to_timestamp()"
    typical = _typical_step(index)
    if isinstance(index, pd.DatetimeIndex):
        freq = _step_text(typical)
        fix = (
            f'{source}.resample("{freq}").mean() (the mean of each step) or '
            f'{source}.asfreq("{freq}") (the values on the grid); "{freq}" is the typical step'
        )
    else:
        fix = f"y.groupby(y.index // {typical} * {typical}).mean() ({typical} is the typical step)"
    raise ValueError(
        f"y's time index is not regular: {reason}; e.g. steps {_odd_steps(index, typical)}. "
        "Missing time stamps cannot be told apart from irregular sampling, so put y on a "
        f"regular grid first, e.g. {fix}."
    )


def _typical_step(index: pd.Index):
    """The median step, rounded to the coarsest unit within 5% of it (time) or to an int."""
    steps = _steps(index)
    if not isinstance(index, pd.DatetimeIndex):
        return max(1, round(float(np.median(np.asarray(steps)))))
    median = pd.Timedelta(np.median(steps.asi8), unit=steps.unit)
    for unit in _UNITS:
        rounded = median.round(unit)
        if rounded > pd.Timedelta(0) and abs(rounded - median) <= 0.05 * median:
            return rounded
    return median


def _odd_steps(index: pd.Index, typical) -> str:
    """Up to three distinct steps that differ from the typical step, as text."""
    steps = pd.Index(_steps(index))
    if isinstance(index, pd.DatetimeIndex):
        finest = next(u for u in _UNITS if pd.Timedelta(1, unit=u) <= typical / 1000)
        steps, typical = steps.round(finest), typical.round(finest)
    distinct = steps.unique()
    odd = distinct[distinct != typical]
    shown = (odd if len(odd) else distinct)[:3]
    if isinstance(index, pd.DatetimeIndex):
        return ", ".join(_step_text(step) for step in shown)
    return ", ".join(str(int(step)) for step in shown)


def _step_text(step: pd.Timedelta) -> str:
    """A time step as a pandas frequency string with its number, e.g. ``"1h"``, ``"993ms"``."""
    if step >= pd.Timedelta(days=1) and step % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{step.days}D"
    text = to_offset(step).freqstr
    return text if text[0].isdigit() else f"1{text}"
