"""Prediction intervals: interval methods as small objects behind one protocol.

An interval method says how the network is trained (:meth:`training`), turns forecasts and
what happened into conformity scores (:meth:`scores`), learns from them (:meth:`calibrate`
at the end of ``fit``, on the rows the validation windows forecast; :meth:`extend` in
``update``, on the new rows) and turns point forecasts, and the network's quantile outputs
where it needs them (``needs_head``), into quantiles (:meth:`quantiles`). The forecaster
keeps the fitted method in ``intervals_``. The score window and the level tracking live in
:mod:`sae_forecast.forecasting._conformal`.

:class:`SplitConformal` (``interval_method="conformal"``): the scores are the signed
residuals ``y - y_hat`` (original units, NaN at gaps), indexed by the row they forecast and
the step: at row ``t`` and step ``h`` the error of the forecast made ``h`` steps earlier. A
quantile ``a`` at step ``h`` is the point forecast plus the split-conformal order statistic
of that step's residuals, the lower quantiles never above and the upper never below the
point forecast. ``extend`` appends newer rows and drops the oldest beyond ``size`` rows.

:class:`AdaptiveConformal` (``interval_method="adaptive"``) reads the same window at levels
that adaptive conformal inference moves with every miss ``update`` brings: when the new
rows fall outside their intervals more (less) often than nominal, the intervals widen
(narrow). Until the first ``update`` it is split conformal.

:class:`TrackedConformal` (``interval_method="tracking"``, the forecasters' default) starts
from split conformal's quantiles and moves each one in value space by the misses of the
intervals issued, with no window; by default two trackers of different steps, mixed by the
pinball loss each one's quantiles scored.

:class:`ConformalQuantiles` (``interval_method="quantile"``) trains the backbone's quantile
variant (:mod:`sae_forecast.nn.quantile`) with the pinball loss and calibrates its bands:
the score is the error of the median in units of the network's own spread on that side, so
a quantile is the median plus a conformal multiple of the spread, adapted online like
:class:`AdaptiveConformal`. :class:`QuantileHead` is the network's bands as trained.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sae_forecast.forecasting._conformal import (
    LevelTracker,
    ScoreWindow,
    TrackerMixture,
    interpolate_shift,
    side_bound,
)
from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS, check_levels, quantile_backbone
from sae_forecast.training import ForecastingNet
from sae_forecast.training.quantile import QuantileNet

__all__ = [
    "DEFAULT_STEP_SIZE",
    "INTERVAL_METHODS",
    "IN_SAMPLE_ROWS",
    "AdaptiveConformal",
    "ConformalQuantiles",
    "QuantileHead",
    "SplitConformal",
    "TrackedConformal",
    "calibration_start",
    "diagonal",
    "diagonal_residuals",
    "interpolate_levels",
    "interval_levels",
    "interval_method",
    "quantile_frame",
]

IN_SAMPLE_ROWS = 1000  # rows calibrating in sample when there is no validation tail
DEFAULT_STEP_SIZE = 0.005  # ACI's learning rate (Gibbs and Candes, 2021, use 0.005)
DEFAULT_TRACKING_STEPS = (0.0002, 0.0005)  # TrackedConformal's, mixed: chosen on validation rows
SPREAD_FLOOR = 1e-3  # the least spread of ConformalQuantiles, in channel standard deviations


def diagonal(forecasts: np.ndarray, n_targets: int) -> np.ndarray:
    """The forecasts of ``n_targets`` consecutive rows, indexed by target row and step.

    ``forecasts[j]`` ``(H, ...)`` starts ``H - 1 - j`` rows before the first target, so there
    are ``n_targets + H - 1`` of them; the result ``(n_targets, H, ...)`` holds at ``[i, h]``
    the forecast of target ``i`` made ``h + 1`` steps ahead.

    Examples
    --------
    >>> diagonal(np.arange(6.0).reshape(3, 2, 1), 2)[:, :, 0].tolist()  # origins -1, 0, 1
    [[2.0, 1.0], [4.0, 3.0]]
    """
    horizon = forecasts.shape[1]
    steps = np.arange(horizon)
    origin = np.arange(n_targets)[:, None] + horizon - 1 - steps  # (n, H)
    return forecasts[origin, steps]


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
    return targets[:, None, :] - diagonal(forecasts, len(targets))  # (n, H, N)


def calibration_start(
    n_rows: int, valid: np.ndarray, *, seq_len: int, pred_len: int, size: int | None
) -> int:
    """The first row whose residuals calibrate at the end of ``fit``.

    Every row the validation windows ``valid`` forecast (the most recent ``size`` when set);
    without validation windows the last :data:`IN_SAMPLE_ROWS` training rows, in sample.

    Examples
    --------
    >>> calibration_start(200, np.arange(150, 171), seq_len=24, pred_len=6, size=None)
    174
    """
    if len(valid):
        first = int(valid[0]) + seq_len
    else:
        first = max(seq_len + pred_len - 1, n_rows - IN_SAMPLE_ROWS)
    return first if size is None else max(first, n_rows - size)


class SplitConformal:
    """Split-conformal intervals from signed residuals per (target row, step, channel).

    Parameters
    ----------
    size : int or None, default=None
        Rows of residuals kept (the most recent); None keeps as many as :meth:`calibrate`
        was given.

    Attributes
    ----------
    window : ScoreWindow
        The residuals kept (``window.scores``, oldest row first; NaN where the target was a
        gap), sorted per step and channel.
    source : {"validation", "training"}
        Where the first residuals came from (``"training"``: in sample, too optimistic).

    Examples
    --------
    >>> conformal = SplitConformal().calibrate(np.arange(-4.0, 5.0)[:, None, None])
    >>> conformal.offsets([0.1, 0.5, 0.9])[:, 0, 0].tolist()
    [-4.0, 0.0, 4.0]
    >>> conformal.extend(np.full((9, 1, 1), 10.0)).offsets([0.9])[:, 0, 0].tolist()
    [10.0]
    """

    uses_scores = True
    needs_head = False

    def __init__(self, size: int | None = None) -> None:
        self.size = size

    def training(self, backbone: type) -> tuple[type, type, dict]:
        """Net class, module class and extra net settings: the plain point forecaster."""
        return ForecastingNet, backbone, {}

    def scores(self, point, head, target, std) -> np.ndarray:
        """Residuals in original units of scaled ``point`` forecasts and ``target``s
        (``std``: the channels' scale); ``head`` is unused."""
        return (target - point) * std

    def calibrate(self, scores, *, source: str = "validation", scale=None) -> SplitConformal:
        """Keep ``scores`` ``(n_rows, H, N)`` (the last ``size`` rows); returns self.
        ``scale``: the channels' standard deviations (unused here)."""
        self.window = ScoreWindow(scores, self.size)
        self.source = source
        return self

    def extend(self, scores) -> SplitConformal:
        """Append the scores of newer rows, drop the oldest beyond ``size``; returns self."""
        self.window.extend(scores)
        return self

    @property
    def residuals(self) -> np.ndarray:
        """The scores kept ``(n_rows, H, N)``, oldest row first."""
        return self.window.scores

    def offsets(self, alpha) -> np.ndarray:
        """Offsets from the point forecast of the quantiles ``alpha``: ``(len(alpha), H, N)``.

        NaN where a step and channel has no observed residual.
        """
        alpha = np.asarray(alpha, np.float64)
        return self._read(np.broadcast_to(alpha[:, None, None], (len(alpha), 1, 1)), alpha)

    def _read(self, levels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Offsets of the quantiles ``alpha`` read from the window at ``levels`` ``(A, H or
        1, N or 1)``: on their side of the point forecast, 0 at the median."""
        nominal = alpha[:, None, None]
        values = side_bound(self.window.quantile(levels, nominal=nominal), nominal)
        return np.where(nominal == 0.5, np.where(self.window.counts > 0, 0.0, np.nan), values)

    def quantiles(self, point: np.ndarray, head, alpha, steps=None) -> np.ndarray:
        """Quantiles ``(len(alpha), *point.shape)`` of ``point (..., S, N)`` (original units)
        at the horizon ``steps`` (1-based; all steps by default). ``head`` is unused."""
        offsets = self.offsets(alpha)  # (A, H, N)
        if steps is not None:
            offsets = offsets[:, np.asarray(steps) - 1]
        extra = point.ndim - 2
        return point[None] + offsets.reshape(len(offsets), *(1,) * extra, *offsets.shape[1:])


class AdaptiveConformal(SplitConformal):
    """Split conformal whose levels adaptive conformal inference (ACI) moves online.

    Every quantile level in ``levels`` is read from the residual window at a level of its
    own per horizon step (``pooled``, the default: one for all channels) or per step and
    channel. :meth:`extend` (what ``update`` calls with the new
    rows' residuals) first checks each new residual against the current quantiles and moves
    each level by ``step_size * (level - covered)`` (Gibbs and Candes, 2021), then adds the
    residuals to the window. Over ``T`` rows the fraction below each tracked quantile is
    within ``(1 + step_size) / (step_size * T)`` of its level, however the series drifts
    (see :mod:`sae_forecast.forecasting._conformal`). Levels between the tracked ones move
    by the interpolated shift. Before any ``extend`` it equals :class:`SplitConformal`.

    Parameters
    ----------
    size : int or None, default=None
        Rows of residuals kept, as in :class:`SplitConformal`.
    step_size : float, default=0.005
        How far one miss moves a level.
    pooled : bool, default=True
        One level per step for all channels, moved by their mean miss (per channel, the
        levels move with each channel's few misses and lag the errors they correct: the
        calibration benchmark measured 71% at 80% on Weather per channel, 79% pooled).
    levels : tuple of float or None, default=None
        The levels tracked. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975),
        the bounds of the 50/80/90/95% intervals.

    Attributes
    ----------
    tracker : LevelTracker
        The levels as they stand.

    Examples
    --------
    >>> adaptive = AdaptiveConformal(step_size=0.05).calibrate(
    ...     np.linspace(-1, 1, 101)[:, None, None]
    ... )
    >>> round(float(adaptive.offsets([0.9])[0, 0, 0]), 3)
    0.82
    >>> for _ in range(10):  # the series' errors triple: every new residual is a miss
    ...     _ = adaptive.extend(np.full((1, 1, 1), 3.0))
    >>> bool(adaptive.offsets([0.9])[0, 0, 0] > 0.82)
    True
    """

    def __init__(
        self,
        size: int | None = None,
        step_size: float = DEFAULT_STEP_SIZE,
        pooled: bool = True,
        levels=None,
    ) -> None:
        super().__init__(size)
        self.step_size = step_size
        self.pooled = pooled
        self.levels = check_levels(levels or DEFAULT_QUANTILE_LEVELS)

    def calibrate(self, scores, *, source: str = "validation", scale=None) -> AdaptiveConformal:
        """Keep ``scores`` and start every level at its nominal value; returns self."""
        super().calibrate(scores, source=source, scale=scale)
        shape = self.window.scores.shape[1:]
        self.tracker = LevelTracker(
            self.levels, shape, step_size=self.step_size, pooled=self.pooled
        )
        return self

    def extend(self, scores) -> AdaptiveConformal:
        """Move the levels with the new rows' misses, then add their scores; returns self."""
        self.tracker.observe(scores, self.window)
        return super().extend(scores)

    def offsets(self, alpha) -> np.ndarray:
        """Offsets of the quantiles ``alpha`` read at their adapted levels."""
        return self._read(self.tracker.adjusted(alpha), np.asarray(alpha, np.float64))


class TrackedConformal(SplitConformal):
    """Conformal quantile tracking: each quantile moved in value space by the misses of the
    intervals issued, with no window to keep sorted (``interval_method="tracking"``); with
    several step sizes, their trackers mixed by their pinball loss.

    Calibration is split conformal (the first quantiles are the validation residuals'),
    then every :meth:`extend` (what ``update`` calls) moves the quantile of each tracked
    level ``a``, horizon step and channel by ``gain * (a - 1{residual <= issued quantile})``
    per new residual, the issued quantile being the one in force at the forecast's origin
    (:class:`~sae_forecast.forecasting._conformal.QuantileTracker`, with its long-run
    coverage bound). Unlike :class:`AdaptiveConformal`, a quantile is not capped by the
    largest residual kept, and an update costs a few operations per new residual and level
    (no window is rewritten). The gain of level ``a`` at step ``h`` and channel ``c`` is

        step * spread_h * scale_c / min(a, 1 - a) * delay_h

    ``scale_c``: the 5-95% range of channel ``c``'s calibration residuals (all steps);
    ``spread_h``: the median over channels of step ``h``'s 5-95% range in those units;
    ``1 / min(a, 1 - a)``: a tail quantile moves as far per miss as its rarity calls for;
    ``delay_h``, proportional to ``1 / (h + H / 4)`` with mean 1: a step whose misses
    arrive ``h`` rows late moves less per miss, which keeps it from overshooting.
    With several ``step_size``, one tracker runs per step and the quantile issued is their
    mix, weighted per level and channel by the pinball loss each tracker's issued
    quantiles scored so far
    (:class:`~sae_forecast.forecasting._conformal.TrackerMixture`): a channel whose errors
    are stable follows the small step, a drifting one the large step.
    Levels between the tracked ones are read from the calibration residuals and shifted
    as the tracked levels beside them moved.

    Parameters
    ----------
    size : int or None, default=None
        Rows of validation residuals that calibrate, as in :class:`SplitConformal`.
    step_size : float or tuple of float, default=(0.0002, 0.0005)
        The gains' common factor; several: one tracker each, mixed. The default was
        chosen on the validation rows of the calibration benchmark (docs/intervals.md).
    levels : tuple of float or None, default=None
        The levels tracked. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975).

    Attributes
    ----------
    tracker : TrackerMixture
        The trackers and their weights; ``tracker.values``: the quantiles as they stand.

    Examples
    --------
    >>> tracked = TrackedConformal(step_size=0.01).calibrate(np.linspace(-1, 1, 101)[:, None, None])
    >>> round(float(tracked.offsets([0.9])[0, 0, 0]), 3)
    0.82
    >>> for _ in range(10):  # the series' errors triple: every new residual is a miss
    ...     _ = tracked.extend(np.full((1, 1, 1), 3.0))
    >>> bool(tracked.offsets([0.9])[0, 0, 0] > 0.82)
    True
    """

    def __init__(
        self, size: int | None = None, step_size=DEFAULT_TRACKING_STEPS, levels=None
    ) -> None:
        super().__init__(size)
        self.step_size = step_size
        self.levels = check_levels(levels or DEFAULT_QUANTILE_LEVELS)

    def calibrate(self, scores, *, source: str = "validation", scale=None) -> TrackedConformal:
        """Keep ``scores``, start every quantile at its split-conformal value; returns self."""
        super().calibrate(scores, source=source, scale=scale)
        nominal = np.asarray(self.levels)
        self._start = super().offsets(nominal)  # (Q, H, N)
        spread, unit = tracking_spread(self.window.scores)
        gains = spread[None] / np.minimum(nominal, 1 - nominal)[:, None, None]
        steps = tuple(np.atleast_1d(np.asarray(self.step_size, np.float64)))
        self.tracker = TrackerMixture(nominal, self._start, gains, steps=steps, unit=unit)
        return self

    def extend(self, scores) -> TrackedConformal:
        """Move the quantiles with the new rows' residuals; returns self."""
        self.tracker.observe(scores)
        return self

    def offsets(self, alpha) -> np.ndarray:
        """Offsets of the quantiles ``alpha``: the tracked values at tracked levels, the
        calibration quantile plus the interpolated shift between them."""
        alpha = np.asarray(alpha, np.float64)
        nominal = self.tracker.nominal
        tracked = self.tracker.values
        index = np.clip(np.searchsorted(nominal, alpha), 0, len(nominal) - 1)
        if np.array_equal(nominal[index], alpha):
            values = tracked[index]
        else:
            shift = interpolate_shift(nominal, tracked - self._start, alpha)
            values = super().offsets(alpha) + shift
        return side_bound(values, alpha[:, None, None])


def tracking_spread(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``spread_h * scale_c * delay_h`` of :class:`TrackedConformal` ``(H, N)`` (0 where a
    channel has no residual spread) and ``scale_c`` ``(N,)``.

    ``scale_c`` is the channel's 5-95% range, or 3.29 standard deviations (a normal's
    5-95% range) where more than 90% of its residuals are one value.

    Examples
    --------
    >>> scores = np.stack([np.linspace(-1, 1, 11)] * 2, axis=1)[:, :, None]  # (11, 2, 1)
    >>> spread, scale = tracking_spread(scores)
    >>> spread[:, 0].round(3).tolist(), scale.round(3).tolist()  # step 1 arrives sooner
    ([2.25, 1.35], [1.98])
    """
    n_channels = scores.shape[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a channel without residuals
        flat = scores.reshape(-1, n_channels)
        low, high = np.nanpercentile(flat, [5, 95], axis=0)  # (N,)
        scale = np.where(high > low, high - low, 3.29 * np.nanstd(flat, axis=0))
        low, high = np.nanpercentile(scores, [5, 95], axis=0)  # (H, N)
        spread = np.nanmedian((high - low) / np.where(scale > 0, scale, np.nan), axis=1)
    horizon = scores.shape[1]
    delay = 1.0 / (np.arange(1, horizon + 1) + horizon / 4)
    delay = delay / delay.mean()
    scale = np.nan_to_num(scale)
    return np.nan_to_num(spread[:, None] * scale[None] * delay[:, None]), scale


class ConformalQuantiles(AdaptiveConformal):
    """The quantile network's bands, calibrated by conformal prediction and adapted online.

    The network is trained with the pinball loss at ``levels`` (as :class:`QuantileHead`).
    Its score for a target ``y`` is the error of its median ``m`` in units of its spread on
    ``y``'s side: ``(y - m) / (m - q_lo)`` below the median, ``(y - m) / (q_hi - m)`` above
    it, with ``q_lo`` and ``q_hi`` the trained levels nearest 0.1 and 0.9 (each spread at
    least 0.001 channel standard deviations). A quantile is ``m`` plus the conformal
    quantile of these scores times the spread on its side: the network's shape, scaled until
    the validation tail is covered (conformalized quantile regression, Romano et al., 2019,
    in its scaled form), then recalibrated on a rolling window by ``extend`` (and adapted
    online like :class:`AdaptiveConformal` with ``step_size > 0``). The collapse
    of the trained bands on flat lookback windows is corrected on average: collapsed spreads
    give large scores, which widen every band.

    Parameters
    ----------
    levels : tuple of float or None, default=None
        Levels trained and tracked; must include 0.5.
    size : int or None, default=None
        Rows of scores kept, as in :class:`SplitConformal`.
    step_size : float, default=0.0
        How far one miss moves a level, as in :class:`AdaptiveConformal`. The default 0
        recalibrates on the rolling window only: the scores are multiples of the network's
        spread, so a level pushed near 1 reads the largest multiple kept (a collapsed
        spread's) and the bands explode (Weather RLinear: 95% Winkler score 8.5 at step
        0.005 against 3.3 at 0, docs/intervals.md).
    pooled : bool, default=True
        One level per step for all channels, as in :class:`AdaptiveConformal`.

    Examples
    --------
    >>> head = np.array([[[[-1.0, 0.0, 1.0]]]])  # (rows=1, H=1, N=1, Q=3): 0.1, 0.5, 0.9
    >>> method = ConformalQuantiles((0.1, 0.5, 0.9))
    >>> scores = method.scores(None, head, np.full((1, 1, 1), 3.0), np.ones(1))  # too narrow
    >>> method = method.calibrate(np.concatenate([scores, -scores]), scale=np.ones(1))
    >>> method.quantiles(None, head[0], [0.1, 0.9])[:, 0, 0].tolist()
    [-3.0, 3.0]
    """

    needs_head = True

    def __init__(
        self, levels=None, size: int | None = None, step_size: float = 0.0, pooled=True
    ) -> None:
        super().__init__(size, step_size, pooled, levels)
        self.median = self.levels.index(0.5)
        self.low = int(np.argmin(np.abs(np.asarray(self.levels) - 0.1)))
        self.high = int(np.argmin(np.abs(np.asarray(self.levels) - 0.9)))

    def training(self, backbone: type) -> tuple[type, type, dict]:
        """Net class, module class and extra net settings: the quantile variant."""
        return QuantileHead(self.levels).training(backbone)

    def _spreads(self, head: np.ndarray, floor) -> tuple[np.ndarray, np.ndarray]:
        median = head[..., self.median]
        below = np.maximum(median - head[..., self.low], floor)
        above = np.maximum(head[..., self.high] - median, floor)
        return below, above

    def scores(self, point, head, target, std) -> np.ndarray:
        """Scaled errors of the median of scaled quantile outputs ``head (..., Q)``."""
        below, above = self._spreads(head, SPREAD_FLOOR)
        error = target - head[..., self.median]
        return error / np.where(error > 0, above, below)

    def calibrate(self, scores, *, source="validation", scale=None) -> ConformalQuantiles:
        """Keep ``scores``; ``scale`` (the channels' standard deviations) sets the spread's
        floor in original units; returns self."""
        self.floor = SPREAD_FLOOR * (1.0 if scale is None else np.asarray(scale, np.float64))
        return super().calibrate(scores, source=source, scale=scale)

    def quantiles(self, point, head: np.ndarray, alpha, steps=None) -> np.ndarray:
        """Quantiles ``alpha`` of quantile outputs ``head (..., S, N, Q)`` (original units)
        at the horizon ``steps`` (1-based; all steps by default). ``point`` is unused."""
        multiples = self.offsets(alpha)  # (A, H, N)
        if steps is not None:
            multiples = multiples[:, np.asarray(steps) - 1]
        multiples = multiples.reshape(len(multiples), *(1,) * (head.ndim - 3), *multiples.shape[1:])
        below, above = self._spreads(head, self.floor)
        median = head[..., self.median]
        return median[None] + multiples * np.where(multiples > 0, above[None], below[None])


class QuantileHead:
    """Intervals from the network's own quantile outputs, trained with the pinball loss.

    The bands as trained, with no calibration (:class:`ConformalQuantiles` calibrates them).

    Parameters
    ----------
    levels : tuple of float or None, default=None
        Levels trained; must include 0.5. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9,
        0.95, 0.975).

    Examples
    --------
    >>> head = QuantileHead((0.1, 0.5, 0.9))
    >>> outputs = np.array([[[0.0, 1.0, 3.0]]])  # (S=1, N=1, Q=3), original units
    >>> head.quantiles(None, outputs, [0.3, 0.7])[:, 0, 0].round(6).tolist()
    [0.5, 2.0]
    """

    uses_scores = False
    needs_head = True

    def __init__(self, levels=None) -> None:
        self.levels = check_levels(levels or DEFAULT_QUANTILE_LEVELS)

    def training(self, backbone: type) -> tuple[type, type, dict]:
        """Net class, module class and extra net settings: the quantile variant."""
        extra = {"module__levels": self.levels, "criterion__levels": self.levels}
        return QuantileNet, quantile_backbone(backbone), extra

    def quantiles(self, point, head: np.ndarray, alpha, steps=None) -> np.ndarray:
        """Quantiles ``alpha`` interpolated from ``head (..., S, N, Q)`` (original units)."""
        return interpolate_levels(head, self.levels, alpha)


INTERVAL_METHODS = {
    "adaptive": AdaptiveConformal,
    "conformal": SplitConformal,
    "quantile": ConformalQuantiles,
    "tracking": TrackedConformal,
}


def interval_method(name: str, *, calibration_size=None, quantile_levels=None, step_size=None):
    """The unfitted interval method of a forecaster's ``interval_method`` parameter
    (checked with the other parameters, see ``forecasting/_parameters.py``); ``step_size``
    None keeps the method's own default."""
    online = {} if step_size is None else {"step_size": step_size}
    if name == "quantile":
        return ConformalQuantiles(quantile_levels, calibration_size, **online)
    if name == "adaptive":
        return AdaptiveConformal(calibration_size, levels=quantile_levels, **online)
    if name == "tracking":
        return TrackedConformal(calibration_size, levels=quantile_levels, **online)
    return SplitConformal(calibration_size)


def interval_levels(coverage) -> list[float]:
    """The quantile levels of central intervals: ``0.5 - c / 2`` and ``0.5 + c / 2`` for each
    coverage ``c``, rounded to 12 decimals.

    In floating point ``0.5 - 0.95 / 2`` is 0.025000000000000022: unrounded, it misses the
    tracked level 0.025 and is read between levels instead of being the tracked quantile.

    Examples
    --------
    >>> 0.5 - 0.95 / 2
    0.025000000000000022
    >>> interval_levels([0.8, 0.95])
    [0.1, 0.9, 0.025, 0.975]
    """
    return [round(0.5 + side * c / 2, 12) for c in coverage for side in (-1, 1)]


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


def quantile_frame(values: np.ndarray, index, levels: list):
    """``values (A, S, N)`` as a frame: rows ``index``, columns the product of ``levels``
    (variables first, then the levels whose product is A). The column index is built from
    codes: ``MultiIndex.from_product`` costs more than a small model's forecast."""
    n_alpha, n_steps, n_channels = values.shape
    codes = np.indices([len(level) for level in levels]).reshape(len(levels), -1)
    columns = pd.MultiIndex(levels=levels, codes=codes)
    table = values.transpose(1, 2, 0).reshape(n_steps, n_channels * n_alpha)
    return pd.DataFrame(table, index=index, columns=columns)
