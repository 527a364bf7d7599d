"""Windows of a fleet: several series (devices) with the same channels, scaled per device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sae_forecast.data import PreparedSeries, Standardiser, count_windows, prepare_series
from sae_forecast.training.dataset import SeriesWindows

__all__ = ["FleetWindows"]


@dataclass(frozen=True)
class FleetWindows:
    """Training and validation windows of a fleet of devices, each scaled on its own.

    Build it with :meth:`from_series`. The devices' series are concatenated once (no window
    is materialised) and windows never cross from one device to the next; shuffled batches
    mix devices. Each device is standardised with the statistics of its own training span,
    so devices at different levels share one model, and its validation windows are its own
    chronological tail: the early-stopping loss covers the latest stretch of every device.

    Parameters
    ----------
    train : SeriesWindows
        The training windows of every device.
    valid : SeriesWindows or None
        The validation tails of every device (None when no device has one).
    scalers : list of Standardiser
        One per device that has at least one window, in the order of ``used``.
    used : list of int
        Positions (in the input list) of the devices that gave windows.
    without_tail : list of int
        Positions of devices too short for a validation tail: all their windows train.
    without_window : list of int
        Positions of devices shorter than one window (``seq_len + pred_len`` rows): unused.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> devices = [rng.normal(size=(60, 2)), 100 + rng.normal(size=(40, 2))]
    >>> fleet = FleetWindows.from_series(devices, 8, 4, validation_size=0.2)
    >>> len(fleet.train), len(fleet.valid)
    (56, 16)
    >>> [round(float(s.mean[0])) for s in fleet.scalers]
    [0, 100]
    """

    train: SeriesWindows
    valid: SeriesWindows | None
    scalers: list[Standardiser]
    used: list[int]
    without_tail: list[int]
    without_window: list[int]

    @classmethod
    def from_series(
        cls,
        series: Sequence[np.ndarray],
        seq_len: int,
        pred_len: int,
        *,
        validation_size: float | int = 0.1,
        scale: bool = True,
        names: Sequence | None = None,
        columns: Sequence | None = None,
        device: str = "cpu",
        covariates: Sequence[np.ndarray] | None = None,
        covariate_columns: Sequence | None = None,
    ) -> FleetWindows:
        """Split, scale and window every device of ``series``.

        Parameters
        ----------
        series : list of ndarray of shape (n_rows_d, n_channels)
            One array per device, in original units; NaN marks a gap. All have the same
            channels (columns) in the same order.
        seq_len, pred_len : int
            Lookback and horizon.
        validation_size : float or int, default=0.1
            Each device's validation tail: a fraction of its windows or a number of windows;
            ``pred_len - 1`` windows between its training part and its tail are dropped. A
            device too short for a tail trains on all its windows.
        scale : bool, default=True
            Standardise each device's channels with its training span (else the identity).
        names : sequence or None, default=None
            Device names for error messages (positions by default).
        columns : sequence or None, default=None
            Channel names for error messages.
        device : str, default="cpu"
            Where the windows live.
        covariates : list of ndarray of shape (n_rows_d, n_covariates) or None, default=None
            Each device's exogenous series, row by row beside its ``series`` entry; scaled on
            the device's training span like its targets (see
            :func:`~sae_forecast.data.prepare_series`).
        covariate_columns : sequence or None, default=None
            Covariate names for error messages.

        Returns
        -------
        FleetWindows

        Raises
        ------
        ValueError
            When no device has a complete window, or a device never observes a channel in
            its training span (the message names the device and the channels).
        """
        names = list(range(len(series))) if names is None else list(names)
        parts, used, tailless, empty, offset = [], [], [], [], 0
        settings = {"seq_len": seq_len, "pred_len": pred_len, "scale": scale, "columns": columns}
        settings["covariate_columns"] = covariate_columns
        for position, values in enumerate(series):
            exogenous = None if covariates is None else covariates[position]
            part = _Device.prepare(
                values, names[position], validation_size, covariates=exogenous, **settings
            )
            if part is None:
                empty.append(position)
                continue
            if len(part.valid) == 0 and validation_size != 0:
                tailless.append(position)
            parts.append(part.shifted(offset))
            used.append(position)
            offset += part.n_windows
        if not parts:
            longest = max((len(v) for v in series), default=0)
            raise ValueError(
                f"no device has a complete window of seq_len + pred_len = {seq_len + pred_len} "
                f"rows (the longest has {longest}); pass longer series, or lower seq_len or "
                "pred_len."
            )
        windows = SeriesWindows(
            [p.series.values for p in parts],
            seq_len,
            pred_len,
            observed=_masks(parts),
            device=device,
            covariates=None if covariates is None else [p.series.covariates for p in parts],
        )
        valid = np.concatenate([p.valid for p in parts])
        return cls(
            train=windows.subset(np.concatenate([p.train for p in parts])),
            valid=windows.subset(valid) if len(valid) else None,
            scalers=[p.series.scaler for p in parts],
            used=used,
            without_tail=tailless,
            without_window=empty,
        )


@dataclass(frozen=True)
class _Device:
    """One device's prepared series (see :func:`~sae_forecast.data.prepare_series`), placed
    at window offset ``offset`` of the fleet."""

    series: PreparedSeries
    offset: int = 0

    @classmethod
    def prepare(cls, values, name, validation_size, **settings):
        """Split, scale and fill one device (``settings``: :func:`prepare_series`'s window
        shape, ``scale`` and ``columns``); None when it is shorter than one window."""
        if count_windows(len(values), settings["seq_len"], settings["pred_len"]) == 0:
            return None
        try:
            series = prepare_series(
                values, validation_size=validation_size, tail_required=False, **settings
            )
        except ValueError as error:
            raise ValueError(f"device {name!r}: {error}") from None
        return cls(series)

    @property
    def n_windows(self) -> int:
        return count_windows(len(self.series.values), self.series.seq_len, self.series.pred_len)

    @property
    def train(self) -> np.ndarray:
        return self.series.train + self.offset

    @property
    def valid(self) -> np.ndarray:
        return self.series.valid + self.offset

    def shifted(self, offset: int) -> _Device:
        """The same device with its window indices moved by ``offset``."""
        return replace(self, offset=offset)


def _masks(parts: list[_Device]) -> list | None:
    """The observed masks of every device, or None when no device has a gap."""
    masks = [p.series.observed for p in parts]
    if all(mask is None for mask in masks):
        return None
    return [
        np.ones(p.series.values.shape, bool) if mask is None else mask
        for p, mask in zip(parts, masks, strict=True)
    ]
