"""The online parts of the conformal interval methods: a rolling window of conformity
scores, adaptive conformal inference (ACI) on the quantile levels it is read at, and
quantile tracking in value space, alone or as a mixture of step sizes.

Scores are indexed like residuals: ``(row, step, channel)``, the row being the target's, NaN
at gaps. :class:`ScoreWindow` keeps the most recent rows sorted per step and channel and
reads their split-conformal quantile at any level. :class:`LevelTracker` moves the level
each quantile is read at from the misses it observes (Gibbs and Candes, 2021):

    a_{t+1} = a_t + step_size * (a - 1{score_t <= Q_t(a_t)})

for every nominal level ``a`` it tracks, per horizon step and channel (or pooled over the
channels). Over any ``T`` rows the fraction of scores at or below the quantile read at
``a_t`` then differs from ``a`` by at most ``(1 + step_size) / (step_size * T)``, whatever
the series does, as long as the window's extreme scores bound the new ones (the level is
kept in [0, 1], where the quantile is the window's smallest or largest score).

:class:`QuantileTracker` keeps no window: it moves each quantile itself by the misses of the
quantiles issued at the forecasts' origins. :class:`TrackerMixture` runs trackers of several
step sizes and mixes them by the pinball loss of what each issued.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LevelTracker", "QuantileTracker", "ScoreWindow", "TrackerMixture", "side_bound"]


def side_bound(values: np.ndarray, level) -> np.ndarray:
    """``values`` kept on their level's side of the point forecast: at most 0 below the
    median, at least 0 above it, 0 at it (``level`` broadcasts against ``values``)."""
    level = np.asarray(level)
    return np.where(level < 0.5, np.minimum(values, 0.0), np.maximum(values, 0.0))


_SIGN = np.uint32(1 << 31)
_BLOCK_VALUES = 1 << 18  # issued quantiles gathered at once (1 MiB of float32), so memory
# stays bounded for a long update of many channels
LOSS_STRIDE = 4  # the pinball loss of a tracker is summed over every 4th horizon step


def _canonical(values: np.ndarray) -> np.ndarray:
    """float32 ``values`` with one NaN and one zero (-0.0 becomes 0.0)."""
    return np.where(np.isnan(values), np.float32(np.nan), values + np.float32(0.0))


def _orderable(values: np.ndarray) -> np.ndarray:
    """The bits of float32 ``values`` as uint32 whose order is the floats' order, NaN last.

    Examples
    --------
    >>> values = np.array([np.nan, 2.0, -0.0, -3.0, np.inf, 0.0], np.float32)
    >>> np.argsort(_orderable(values), kind="stable").tolist()
    [3, 2, 5, 1, 4, 0]
    >>> _from_orderable(_orderable(values)).tolist()[1:]
    [2.0, 0.0, -3.0, inf, 0.0]
    """
    bits = _canonical(np.asarray(values, np.float32)).view(np.uint32)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _from_orderable(bits: np.ndarray) -> np.ndarray:
    """The float32 values of :func:`_orderable` bits."""
    return np.where(bits & _SIGN, bits & ~_SIGN, ~bits).view(np.float32)


def _search_rows(rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``searchsorted(rows[k], queries[k], side="left")`` for every row ``k`` at once: a
    binary search over all queries together.

    Examples
    --------
    >>> _search_rows(np.array([[1, 3, 5], [2, 2, 2]]), np.array([[0, 3, 6], [2, 1, 3]])).tolist()
    [[0, 1, 3], [0, 0, 3]]
    """
    n_rows, width = rows.shape
    low = np.zeros(queries.shape, np.int64)
    high = np.full(queries.shape, width, np.int64)
    offsets = np.arange(n_rows)[:, None] * width
    flat = rows.reshape(-1)
    for _ in range(int(width).bit_length()):
        middle = (low + high) // 2
        value = flat[offsets + np.minimum(middle, width - 1)]
        right = (low < high) & (value < queries)
        low = np.where(right, middle + 1, low)
        high = np.where((low < high) & ~right, middle, high)
    return low


def _rank_among_equals(ordered: np.ndarray) -> np.ndarray:
    """For rows sorted along axis 1: how many equal values precede each one in its row.

    Examples
    --------
    >>> _rank_among_equals(np.array([[1, 1, 2, 2, 2, 3]])).tolist()
    [[0, 1, 0, 1, 2, 0]]
    """
    position = np.arange(ordered.shape[1])
    starts = np.ones(ordered.shape, bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    return position - first


class ScoreWindow:
    """The most recent ``size`` rows of scores ``(n_rows, H, N)``, sorted per step and channel.

    Parameters
    ----------
    scores : array-like of shape (n_rows, H, N)
        The first scores, oldest row first; NaN where the target was a gap.
    size : int or None, default=None
        Rows kept; None keeps ``len(scores)`` rows.

    Examples
    --------
    >>> window = ScoreWindow(np.arange(-4.0, 5.0)[:, None, None])
    >>> window.quantile(0.9).tolist(), window.quantile(np.full((1, 1), 0.1)).tolist()
    ([[4.0]], [[-4.0]])
    >>> float(window.extend(np.full((9, 1, 1), 10.0)).quantile(0.9)[0, 0])
    10.0
    """

    def __init__(self, scores, size: int | None = None) -> None:
        scores = np.asarray(scores, dtype=np.float32)
        self.size = size or len(scores)
        self.scores = scores[-self.size :]
        self._sort()

    def extend(self, scores) -> ScoreWindow:
        """Append the scores of newer rows, drop the oldest beyond ``size``; returns self.

        The sorted columns are updated in place of a new sort: the dropped rows' scores are
        found by binary search and deleted, the new ones inserted where they belong (a
        sort costs ``n log n`` per step and channel; this, ``m log n`` for ``m`` new rows
        and one copy).
        """
        new = np.asarray(scores, dtype=np.float32)
        joined = np.concatenate([self.scores, new])
        n_dropped = len(joined) - min(len(joined), self.size)
        if n_dropped >= len(self.scores) or not len(new):
            self.scores = joined[n_dropped:]
            return self._sort()
        dropped = self.scores[:n_dropped]
        self.scores = joined[n_dropped:]
        self._merge(dropped, new)
        return self

    def _sort(self) -> ScoreWindow:
        ordered = np.sort(_canonical(self.scores), axis=0)  # (n, H, N), NaN last
        columns = ordered.reshape(len(ordered), -1).T  # (H * N, n)
        self._columns = _orderable(np.ascontiguousarray(columns))
        self.counts = np.count_nonzero(~np.isnan(self.scores), axis=0)  # (H, N)
        return self

    def _merge(self, dropped: np.ndarray, new: np.ndarray) -> None:
        """Delete ``dropped``'s scores from the sorted columns, insert ``new``'s."""
        columns, (n_columns, n_rows) = self._columns, self._columns.shape
        gone = np.sort(_orderable(dropped.reshape(len(dropped), n_columns).T), axis=1)
        at = _search_rows(columns, gone) + _rank_among_equals(gone)
        at += np.arange(n_columns)[:, None] * n_rows
        kept = np.delete(columns.reshape(-1), at.reshape(-1))
        n_kept = n_rows - gone.shape[1]
        added = np.sort(_orderable(new.reshape(len(new), n_columns).T), axis=1)
        at = _search_rows(kept.reshape(n_columns, n_kept), added)
        at += np.arange(n_columns)[:, None] * n_kept
        merged = np.insert(kept, at.reshape(-1), added.reshape(-1))
        self._columns = merged.reshape(n_columns, n_kept + added.shape[1])
        lost = np.count_nonzero(~np.isnan(dropped), axis=0)
        self.counts = self.counts - lost + np.count_nonzero(~np.isnan(new), axis=0)

    @property
    def sorted(self) -> np.ndarray:
        """The scores kept ``(n_rows, H, N)``, sorted per step and channel, NaN last."""
        values = _from_orderable(self._columns).T
        return values.reshape(len(values), *self.counts.shape)

    def quantile(self, level, *, nominal=None) -> np.ndarray:
        """The split-conformal quantile ``(H, N)`` of the scores at ``level`` (a number or an
        array broadcasting to ``(H, N)``; ``(Q, H, N)`` for ``Q`` quantiles at once): rank
        ``floor((n + 1) level)`` below the median, ``ceil((n + 1) level)`` above it (the side
        is ``nominal``'s, ``level``'s by default), clipped to the smallest and largest score;
        NaN where a step and channel has no score.
        """
        level = np.asarray(level, dtype=np.float64)
        below = np.asarray(level if nominal is None else nominal) < 0.5
        value = self._take(self._index(level, below))  # ([Q,] H, N)
        return np.where(self.counts > 0, value, np.nan)

    def _take(self, index: np.ndarray) -> np.ndarray:
        """``sorted[index[..., h, c], h, c]``, as a flat gather (3x faster than
        ``take_along_axis``; ACI's per-row update calls it a lot)."""
        n_columns, n_rows = self._columns.shape
        column = np.arange(n_columns).reshape(self.counts.shape)
        return _from_orderable(self._columns.reshape(-1)[column * n_rows + index])

    def _index(self, level: np.ndarray, below: np.ndarray) -> np.ndarray:
        """Row of ``sorted`` holding each quantile: the conformal rank, 0-based, clipped."""
        rank = (self.counts + 1) * level
        rank = np.where(below, np.floor(rank + 1e-9), np.ceil(rank - 1e-9))
        return np.clip(rank.astype(np.int64), 1, np.maximum(self.counts, 1)) - 1


class LevelTracker:
    """Adaptive conformal inference: the level each nominal quantile level is read at.

    Parameters
    ----------
    nominal : array-like of float
        The quantile levels tracked, increasing; 0.5 (the point forecast) is never moved.
    shape : tuple of int
        ``(H, N)``: a level per horizon step and channel.
    step_size : float
        ACI's learning rate: how far one miss moves the level.
    pooled : bool, default=False
        One level per step for every channel, moved by the channels' mean miss.

    Attributes
    ----------
    levels : ndarray of shape (len(nominal), H, N or 1)
        The current levels, each kept in [0, 1].

    Examples
    --------
    >>> tracker = LevelTracker([0.1, 0.9], (1, 1), step_size=0.1)
    >>> window = ScoreWindow(np.arange(-4.0, 5.0)[:, None, None])
    >>> tracker.observe(np.full((1, 1, 1), 9.0), window)  # above the 0.9 quantile: a miss
    >>> tracker.levels[:, 0, 0].round(3).tolist()  # both quantiles move up
    [0.11, 0.99]
    """

    def __init__(self, nominal, shape, *, step_size: float, pooled: bool = False) -> None:
        self.nominal = np.asarray(nominal, dtype=np.float64)
        self.step_size = step_size
        self.pooled = pooled
        width = 1 if pooled else shape[1]
        start = self.nominal[:, None, None]
        self.levels = np.broadcast_to(start, (len(self.nominal), shape[0], width)).copy()

    def observe(self, scores: np.ndarray, window: ScoreWindow) -> None:
        """Move the levels with the misses of the rows ``scores (m, H, N)``, in time order,
        each against the quantiles ``window`` gives at the current levels."""
        moving = self.nominal != 0.5
        nominal = self.nominal[:, None, None]
        below = nominal < 0.5
        scores = np.asarray(scores, dtype=np.float64)
        known = ~np.isnan(scores) & (window.counts > 0)  # (m, H, N): the rows' observed
        if self.pooled:
            seen = np.maximum(known.sum(axis=2, keepdims=True), 1)  # (m, H, 1)
        for t, row in enumerate(scores):
            index = window._index(self.levels, below)  # (Q, H, N): the window is fixed
            bound = window._take(index)
            bound = np.where(below, np.minimum(bound, 0.0), np.maximum(bound, 0.0))
            step = np.where(known[t], nominal - (row <= bound), 0.0)  # (Q, H, N)
            if self.pooled:
                step = step.sum(axis=2, keepdims=True) / seen[t]
            moved = np.clip(self.levels + self.step_size * step, 0.0, 1.0)
            self.levels = np.where(moving[:, None, None], moved, self.levels)

    def bounds(self, window: ScoreWindow) -> np.ndarray:
        """The quantiles ``(Q, H, N)`` of ``window`` at the current levels, each on its
        nominal level's side of 0."""
        nominal = self.nominal[:, None, None]
        return side_bound(window.quantile(self.levels, nominal=nominal), nominal)

    def adjusted(self, alpha) -> np.ndarray:
        """The levels ``(A, H, N or 1)`` to read the quantiles ``alpha`` at: each nominal
        level's shift, linear between tracked levels (and 0 at 0.5), the nearest tracked
        level's beyond them; then clipped to [0, 1]."""
        alpha = np.asarray(alpha, dtype=np.float64)
        shift = interpolate_shift(self.nominal, self.levels - self.nominal[:, None, None], alpha)
        moved = np.clip(alpha[:, None, None] + shift, 0.0, 1.0)
        return np.where(alpha[:, None, None] == 0.5, 0.5, moved)


def interpolate_shift(nominal: np.ndarray, shifts: np.ndarray, alpha: np.ndarray):
    """Shifts ``(A, H, N)`` at levels ``alpha``, linear between the ``shifts (Q, H, N)`` of
    the tracked ``nominal`` levels and 0 at 0.5; the nearest tracked level's beyond them.

    Examples
    --------
    >>> interpolate_shift(np.array([0.1, 0.9]), np.array([[[-2.0]], [[2.0]]]), [0.7, 0.95])
    array([[[1.]],
    <BLANKLINE>
           [[2.]]])
    """
    grid = np.union1d(nominal, [0.5])
    at_grid = np.zeros((len(grid), *shifts.shape[1:]))
    at_grid[np.searchsorted(grid, nominal)] = shifts
    at_grid[np.searchsorted(grid, 0.5)] = 0.0
    result = []
    for a in np.asarray(alpha, dtype=np.float64):
        upper = int(np.clip(np.searchsorted(grid, a), 1, len(grid) - 1))
        low, high = grid[upper - 1], grid[upper]
        weight = float(np.clip((a - low) / (high - low), 0.0, 1.0))
        result.append((1 - weight) * at_grid[upper - 1] + weight * at_grid[upper])
    return np.stack(result)


class QuantileTracker:
    """Conformal quantile tracking: each quantile moved in value space by the misses of the
    intervals that were issued (Angelopoulos et al., 2023, the P part of conformal PID).

    For every tracked level ``a``, horizon step and channel, a new score ``s`` (forecast
    ``h`` steps ahead, from an origin ``h`` rows before its target) moves the quantile by

        q <- q + gain * (a - 1{s <= q_issued})

    where ``q_issued`` is the quantile in force when that forecast's origin was the last row
    seen: the snapshot after the :meth:`observe` call that brought the origin (the first
    values before any). Counting misses against the intervals a user was given, not the
    current ones, is what makes the long-run guarantee hold for them: while ``q`` stays
    bounded (it cannot run away: past the largest score every new score is covered and
    pulls it back), the fraction of the ``T`` forecasts of a step and channel at or below
    their issued quantile differs from ``a`` by at most ``(range + gain * (1 + delay)) /
    (gain * T)``, whatever the series does. There is no window of scores: an update costs a
    comparison per new score and level.

    Parameters
    ----------
    nominal : array-like of float
        The quantile levels tracked, increasing; 0.5 (the point forecast) is never moved.
    values : array-like of shape (len(nominal), H, N)
        The first quantiles, from the calibration scores.
    gains : array-like of shape (len(nominal), H, N)
        How far one unit of ``a - 1{s <= q}`` moves each quantile.
    track_loss : bool, default=False
        Also sum the pinball loss of the issued quantiles (what :class:`TrackerMixture`
        weighs trackers by).

    Attributes
    ----------
    values : ndarray of shape (len(nominal), H, N)
        The quantiles as they stand.
    rows_seen : int
        Rows observed so far.
    loss : ndarray of shape (len(nominal), N) or None
        With ``track_loss``: the pinball loss of the scores observed against their issued
        quantiles, summed over rows and every ``LOSS_STRIDE``-th horizon step (1, 5, 9,
        ...: neighbouring steps' errors are alike, and a quarter of them cost a quarter)
        per level and channel.

    Examples
    --------
    >>> tracker = QuantileTracker([0.9], np.zeros((1, 1, 1)), np.ones((1, 1, 1)))
    >>> tracker.observe(np.full((1, 1, 1), 5.0))  # above the 0.9 quantile: a miss
    >>> tracker.values.ravel().round(3).tolist()
    [0.9]
    >>> tracker.observe(np.full((1, 1, 1), -5.0))  # covered: down by 1 - 0.9
    >>> tracker.values.ravel().round(3).tolist()
    [0.8]
    """

    def __init__(self, nominal, values, gains, *, track_loss: bool = False) -> None:
        self.nominal = np.asarray(nominal, dtype=np.float64)
        moving = (self.nominal != 0.5)[:, None, None]
        self.values = np.array(values, dtype=np.float64)
        self.gains = np.where(moving, np.nan_to_num(np.asarray(gains, np.float64)), 0.0)
        self.rows_seen = 0
        self._issued = [(0, self._snapshot())]  # (rows seen when issued, values), oldest first
        self.loss = np.zeros((len(self.nominal), self.values.shape[2])) if track_loss else None
        self.loss_count = np.zeros(self.values.shape[2])  # scores in ``loss`` per channel

    def _snapshot(self) -> np.ndarray:
        """The values as issued: float32 ``(Q, H, N)`` (what new scores are compared with)."""
        return self.values.astype(np.float32)

    def observe(self, scores) -> None:
        """Move the quantiles with the scores ``(m, H, N)`` of the next ``m`` rows (NaN at
        gaps), each compared with the quantile issued at its forecast's origin."""
        scores = np.asarray(scores, dtype=np.float32)
        horizon = scores.shape[1]
        covered = np.zeros(self.values.shape, np.float64)
        counts = np.zeros(scores.shape[1:], np.float64)
        table, columns = self._issued_columns(len(scores), horizon)
        rows = min(255, max(1, _BLOCK_VALUES // self.values.size))  # uint8 counts, bounded
        for first in range(0, len(scores), rows):
            block = scores[first : first + rows]
            issued = np.take(table, columns[first : first + rows].reshape(-1), axis=1)
            issued = issued.reshape(len(issued), *block.shape)  # (Q, rows, H, N)
            covered += _count_below(block, issued)
            if self.loss is not None:  # every LOSS_STRIDE-th step: alike, and 4x cheaper
                sampled = block[:, ::LOSS_STRIDE]
                self.loss += _pinball_sums(sampled, issued[:, :, ::LOSS_STRIDE], self.nominal)
                self.loss_count += np.count_nonzero(sampled == sampled, axis=(0, 1))
            known = (block == block).view(np.uint8)  # not NaN
            counts += np.add.reduce(known, axis=0, dtype=np.uint8)
        self.values += self.gains * (self.nominal[:, None, None] * counts - covered)
        self.rows_seen += len(scores)
        seen = np.array([rows for rows, _ in self._issued])
        oldest = np.searchsorted(seen, self.rows_seen - horizon + 1, side="right") - 1
        self._issued = [*self._issued[max(int(oldest), 0) :], (self.rows_seen, self._snapshot())]

    def _issued_columns(self, n_rows: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """The snapshots side by side ``(Q, K * H, N)`` and, for each of the next ``n_rows``
        rows and each step ``(n_rows, H)``, the column of the quantile issued at its
        forecast's origin."""
        seen = np.array([rows for rows, _ in self._issued])
        origin = self.rows_seen + np.arange(n_rows)[:, None] - np.arange(horizon)
        which = np.maximum(np.searchsorted(seen, origin, side="right") - 1, 0)  # (m, H)
        table = np.concatenate([values for _, values in self._issued], axis=1)
        return table, which * horizon + np.arange(horizon)

    def bounds(self) -> np.ndarray:
        """The quantiles ``(Q, H, N)``, each on its nominal level's side of 0."""
        return side_bound(self.values, self.nominal[:, None, None])


def _count_below(scores: np.ndarray, issued: np.ndarray) -> np.ndarray:
    """How many of ``scores (m, H, N)`` are at or below ``issued (Q, m, H, N)`` per level,
    step and channel: uint8 ``(Q, H, N)`` (NaN scores count as above)."""
    below = (scores[None] <= issued).view(np.uint8)
    return np.add.reduce(below, axis=1, dtype=np.uint8)


def _pinball_sums(scores: np.ndarray, issued: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """The pinball loss of ``issued (Q, m, H, N)`` quantiles at levels ``nominal`` for
    ``scores (m, H, N)``, summed over rows and steps: ``(Q, N)``; NaN scores add nothing.

    Examples
    --------
    >>> scores = np.array([[[1.0]], [[np.nan]], [[-1.0]]])  # (m=3, H=1, N=1)
    >>> _pinball_sums(scores, np.zeros((1, 3, 1, 1)), np.array([0.9])).round(6).tolist()
    [[1.0]]
    """
    n_levels, n_channels = len(issued), scores.shape[2]
    error = np.subtract(scores[None], issued).reshape(n_levels, -1, n_channels)
    ones = np.ones(error.shape[1], np.float32)  # sums by matmul: fast along any axis
    above = (ones @ np.fmax(error, 0)).astype(np.float64)  # NaN -> 0
    below = (ones @ np.fmin(error, 0, out=error)).astype(np.float64)
    level = nominal[:, None]
    return level * above + (level - 1) * below


class TrackerMixture:
    """Quantile trackers of several step sizes, mixed by exponential weights on the pinball
    loss of the quantiles each issued (aggregated adaptive conformal inference, Zaffran et
    al., 2022, with value-space trackers as its experts).

    A small step follows a stable series closely and a large one a drifting series; which
    one suits a channel is learned online. Tracker ``k``'s weight for a level and channel is

        w_k ∝ exp(-learning_rate * (l_k - min_j l_j) * sqrt(n) / unit)

    with ``l_k`` its mean pinball loss there (over every ``LOSS_STRIDE``-th step),
    ``n`` the channel's scores observed and ``unit`` the channel's scale: the
    exponentially weighted forecaster on the summed losses ``n * l_k`` with a
    ``1 / sqrt(n)`` learning rate. The pinball loss is convex in the quantile, so the
    mixture's mean pinball loss exceeds the best tracker's by at most
    ``O(sqrt(log K / n))`` (losses in ``unit`` bounded); its coverage carries no bound of
    its own (each tracker's does, see :class:`QuantileTracker`): the calibration
    benchmark measures it.

    Parameters
    ----------
    nominal : array-like of float
        The quantile levels tracked, increasing; 0.5 is never moved.
    values : array-like of shape (len(nominal), H, N)
        The first quantiles.
    gains : array-like of shape (len(nominal), H, N)
        The gains of a tracker of step 1.
    steps : sequence of float
        One tracker per step, with gains ``step * gains``.
    unit : array-like of shape (N,)
        Each channel's scale: the pinball loss is counted in these units.
    learning_rate : float, default=1.0
        How sharply the weights follow the loss differences.

    Attributes
    ----------
    trackers : list of QuantileTracker
        One per step.

    Examples
    --------
    >>> start, gains = np.zeros((1, 1, 1)), np.ones((1, 1, 1))
    >>> mixture = TrackerMixture([0.9], start, gains, steps=(0.01, 1.0), unit=np.ones(1))
    >>> for _ in range(20):  # the errors jump to 5: the large step gets there first
    ...     mixture.observe(np.full((1, 1, 1), 5.0))
    >>> mixture.weights[:, 0, 0].round(2).tolist()
    [0.0, 1.0]
    """

    def __init__(self, nominal, values, gains, *, steps, unit, learning_rate: float = 1.0):
        gains = np.asarray(gains, np.float64)
        several = len(steps) > 1
        self.trackers = [
            QuantileTracker(nominal, values, step * gains, track_loss=several) for step in steps
        ]
        self.nominal = self.trackers[0].nominal
        self.unit = np.where(np.asarray(unit, np.float64) > 0, unit, 1.0)
        self.learning_rate = learning_rate
        self.seen = np.zeros(self.unit.shape)
        self._mixed = self._mix()

    @property
    def rows_seen(self) -> int:
        """Rows observed so far."""
        return self.trackers[0].rows_seen

    def observe(self, scores) -> None:
        """Every tracker observes the scores ``(m, H, N)`` of the next ``m`` rows."""
        scores = np.asarray(scores, dtype=np.float32)
        for tracker in self.trackers:
            tracker.observe(scores)
        self.seen += np.count_nonzero(scores == scores, axis=(0, 1))
        self._mixed = self._mix()

    @property
    def weights(self) -> np.ndarray:
        """Each tracker's weight per level and channel ``(K, Q, N)``, summing to 1."""
        if len(self.trackers) == 1:
            return np.ones((1, *self.trackers[0].values.shape[::2]))
        counted = np.maximum(self.trackers[0].loss_count, 1)
        mean = np.stack([tracker.loss for tracker in self.trackers]) / counted  # (K, Q, N)
        excess = (mean - mean.min(axis=0)) * np.sqrt(self.seen) / self.unit
        weights = np.exp(-self.learning_rate * excess)
        return weights / weights.sum(axis=0)

    @property
    def values(self) -> np.ndarray:
        """The mixed quantiles ``(Q, H, N)`` as of the last :meth:`observe` (mixed once per
        update, not per forecast); with one tracker, its own values."""
        return self._mixed

    def _mix(self) -> np.ndarray:
        if len(self.trackers) == 1:
            return self.trackers[0].values
        weights = self.weights[:, :, None, :]
        return sum(w * tracker.values for w, tracker in zip(weights, self.trackers, strict=True))

    def bounds(self) -> np.ndarray:
        """The mixed quantiles, each on its nominal level's side of 0."""
        return side_bound(self.values, self.nominal[:, None, None])
