"""Scores of interval forecasts over test windows, shared by the calibration benchmark."""

from __future__ import annotations

import numpy as np

from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS

__all__ = ["CHUNK", "COVERAGES", "LEVELS", "IntervalScore"]

COVERAGES = (0.5, 0.8, 0.9, 0.95)
LEVELS = np.array(DEFAULT_QUANTILE_LEVELS)  # 0.5 -/+ c/2 for every coverage c, and 0.5
CHUNK = 256  # test windows scored at once


class IntervalScore:
    """Running sums of coverage, width, Winkler score and pinball loss on observed targets;
    with ``naive``, the MASE of the median, and with ``mean`` and ``std``, the weighted
    quantile loss (WQL, original units).

    Parameters
    ----------
    naive : ndarray of shape (N,) or None, default=None
        Each channel's mean absolute error of the seasonal naive forecast on the training
        rows, in the units scored: the MASE's denominator.
    mean, std : ndarray of shape (N,) or None, default=None
        What turns the units scored into original units: ``WQL = 2 sum pinball / sum |y|``
        over the observed targets, the pinball loss averaged over ``LEVELS``.

    Examples
    --------
    >>> score = IntervalScore()
    >>> quantiles = np.linspace(-1, 1, len(LEVELS))[None, :, None, None]  # (1, Q, 1, 1)
    >>> score.add(quantiles, np.zeros((1, 1, 1)), None)
    >>> score.result()["cover 95"]
    100.0
    """

    def __init__(self, naive=None, mean=None, std=None) -> None:
        self.naive, self.mean, self.std = naive, mean, std
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, quantiles: np.ndarray, target: np.ndarray, observed) -> None:
        """``quantiles (b, Q, H, N)`` at ``LEVELS``, ``target (b, H, N)``, same units.

        Targets whose interval is undefined (NaN) are left out of that interval's figures
        and counted in ``defined``.
        """
        mask = np.ones(target.shape, bool) if observed is None else np.asarray(observed)
        self.accumulate("observed", np.ones(target.shape), mask)
        for coverage in COVERAGES:
            lower = quantiles[:, int(np.argmin(abs(LEVELS - (0.5 - coverage / 2))))]
            upper = quantiles[:, int(np.argmin(abs(LEVELS - (0.5 + coverage / 2))))]
            known = mask & np.isfinite(lower) & np.isfinite(upper)
            miss = np.maximum(lower - target, 0) + np.maximum(target - upper, 0)
            label = f"{100 * coverage:g}"
            self.accumulate(
                f"cover {label}", 100.0 * ((lower <= target) & (target <= upper)), known
            )
            self.accumulate(f"width {label}", upper - lower, known)
            self.accumulate(f"winkler {label}", upper - lower + 2 / (1 - coverage) * miss, known)
        error = target[:, None] - quantiles  # (b, Q, H, N)
        alpha = LEVELS[None, :, None, None]
        loss = np.maximum(alpha * error, (alpha - 1) * error).mean(axis=1)
        known = mask & np.isfinite(loss)
        self.accumulate("pinball", loss, known)
        if self.naive is not None:
            median = quantiles[:, int(np.argmin(abs(LEVELS - 0.5)))]
            self.accumulate("mase", np.abs(target - median) / self.naive, known)
        if self.std is not None:
            self.accumulate("wql loss", 2 * loss * self.std, known)
            self.accumulate("wql |y|", np.abs(target * self.std + self.mean), known)

    def accumulate(self, name: str, values: np.ndarray, mask: np.ndarray) -> None:
        """Add the ``values`` where ``mask`` holds to the running sum of figure ``name``."""
        self.sums[name] = self.sums.get(name, 0.0) + float(np.where(mask, values, 0).sum())
        self.counts[name] = self.counts.get(name, 0) + int(mask.sum())

    def result(self) -> dict:
        """Means per figure, and ``defined``: % of observed targets with a 90% interval."""
        means = {k: total / max(self.counts[k], 1) for k, total in self.sums.items()}
        means["defined"] = 100.0 * self.counts["cover 90"] / max(self.counts["observed"], 1)
        if "wql loss" in means:  # both over the same targets: the ratio of the sums
            means["wql"] = means.pop("wql loss") / means.pop("wql |y|")
        del means["observed"]
        return means
