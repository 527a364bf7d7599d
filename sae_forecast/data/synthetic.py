"""Synthetic multivariate series with known channel types (numpy and pandas only).

Each channel is ``level + seasonal + AR(2) + white noise``. The dynamics (AR coefficients,
seasonal period, seasonal shape and amplitude) belong to a *type*; channels of one type share
them but draw their own noise, seasonal phase and level, so one linear predictor is optimal
for the whole type (up to the level) and a different one for every other type. This is the
setting where a channel-specific embedding should help and channels should cluster by type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_heterogeneous_series"]

STRUCTURES = ("clustered", "shared", "independent")
BURN_IN = 200  # AR steps dropped so every series starts in its stationary regime
AR_STD = 0.5  # marginal standard deviation of the AR(2) component
LEVEL_RANGE = (-3.0, 3.0)  # per-channel level
PERIOD_RANGE = (4.0, 192.0)  # seasonal periods are drawn from a geometric grid over this range


def _draw_ar_coefficients(rng: np.random.Generator, n_groups: int) -> np.ndarray:
    """Stationary AR(2) coefficients ``(phi_1, phi_2)`` from roots inside the unit circle."""
    modulus = rng.uniform(0.5, 0.95, size=n_groups)
    angle = rng.uniform(0.2, 2.5, size=n_groups)
    real_roots = rng.uniform(-0.9, 0.95, size=(n_groups, 2))
    complex_pair = rng.random(n_groups) < 0.5
    phi_1 = np.where(complex_pair, 2 * modulus * np.cos(angle), real_roots.sum(axis=1))
    phi_2 = np.where(complex_pair, -(modulus**2), -real_roots.prod(axis=1))
    return np.stack([phi_1, phi_2], axis=1)  # (n_groups, 2)


def _draw_periods(rng: np.random.Generator, n_groups: int) -> np.ndarray:
    """Distinct seasonal periods while the grid allows, drawn without replacement."""
    grid = np.unique(np.round(np.geomspace(*PERIOD_RANGE, num=2 * n_groups + 4)))
    return rng.choice(grid, size=n_groups, replace=len(grid) < n_groups)


def _draw_dynamics(rng: np.random.Generator, n_groups: int) -> dict[str, np.ndarray]:
    return {
        "ar": _draw_ar_coefficients(rng, n_groups),  # (G, 2)
        "period": _draw_periods(rng, n_groups),  # (G,)
        "amplitude": rng.uniform(0.8, 1.5, size=n_groups),  # (G,)
        "harmonic": rng.uniform(0.0, 0.7, size=n_groups),  # second-harmonic weight
        "harmonic_shift": rng.uniform(0.0, 2 * np.pi, size=n_groups),
    }


def _assign_types(rng: np.random.Generator, structure: str, n_channels: int, n_types: int):
    if structure == "shared":
        return np.zeros(n_channels, dtype=np.int64), 1
    if structure == "independent":
        return np.arange(n_channels, dtype=np.int64), n_channels
    balanced = np.arange(n_channels, dtype=np.int64) % n_types
    return rng.permutation(balanced), n_types


def _seasonal(dynamics: dict, types: np.ndarray, phase: np.ndarray, n_steps: int) -> np.ndarray:
    """Unit-variance seasonal shape times the type's amplitude, shape ``(n_steps, N)``."""
    period = dynamics["period"][types]
    weight = dynamics["harmonic"][types]
    angle = 2 * np.pi * (np.arange(n_steps)[:, None] + phase * period) / period  # (T, N)
    shape = np.cos(angle) + weight * np.cos(2 * angle + dynamics["harmonic_shift"][types])
    return dynamics["amplitude"][types] * shape / np.sqrt((1 + weight**2) / 2)


def _autoregressive(rng: np.random.Generator, coefficients: np.ndarray, n_steps: int):
    """AR(2) paths with marginal std ``AR_STD``, one per row of ``coefficients`` (N, 2)."""
    phi_1, phi_2 = coefficients.T
    variance = (1 - phi_2) / ((1 + phi_2) * ((1 - phi_2) ** 2 - phi_1**2))  # unit innovations
    innovations = rng.standard_normal((n_steps + BURN_IN, len(coefficients)))
    innovations *= AR_STD / np.sqrt(variance)
    path = np.zeros_like(innovations)  # (T + burn-in, N)
    for t in range(2, len(path)):
        path[t] = phi_1 * path[t - 1] + phi_2 * path[t - 2] + innovations[t]
    return path[BURN_IN:]


def _check_arguments(structure, n_channels, n_types, n_steps, noise) -> None:
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}.")
    for name, value in {"n_channels": n_channels, "n_types": n_types, "n_steps": n_steps}.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if structure == "clustered" and n_types > n_channels:
        raise ValueError(f"n_types={n_types} exceeds n_channels={n_channels}.")
    if not noise >= 0:
        raise ValueError(f"noise must be non-negative, got {noise!r}.")


def _column_names(types: np.ndarray) -> list[str]:
    type_width = len(str(types.max()))
    channel_width = max(2, len(str(len(types) - 1)))
    return [
        f"type{kind:0{type_width}d}_ch{channel:0{channel_width}d}"
        for channel, kind in enumerate(types)
    ]


def make_heterogeneous_series(
    n_channels: int = 32,
    n_types: int = 4,
    n_steps: int = 2000,
    *,
    structure: str = "clustered",
    noise: float = 0.1,
    freq: str = "h",
    random_state: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Multivariate series whose channels fall into types with their own dynamics.

    Channel ``i`` of type ``t`` is ``level_i + s_t(step + phase_i) + a_i + noise * e_i``: a
    seasonal shape ``s_t`` (period, second-harmonic weight and amplitude of type ``t``), an
    AR(2) path ``a_i`` (coefficients of type ``t``, standard deviation 0.5, its own
    innovations) and white noise ``e_i``. Channels are mutually independent.

    Parameters
    ----------
    n_channels : int, default=32
        Number of channels (columns).
    n_types : int, default=4
        Number of types for ``structure="clustered"`` (at most ``n_channels``; channels are
        spread evenly over the types in random order). Ignored otherwise.
    n_steps : int, default=2000
        Number of time steps (rows).
    structure : {"clustered", "shared", "independent"}, default="clustered"
        ``"clustered"``: ``n_types`` types. ``"shared"``: every channel of one type, the
        setting where a shared embedding suffices. ``"independent"``: every channel its own
        random dynamics (``types = arange(n_channels)``).
    noise : float, default=0.1
        Standard deviation of the white observation noise.
    freq : str, default="h"
        Frequency of the ``DatetimeIndex`` (starting 2020-01-01).
    random_state : int, numpy Generator or None, default=None
        Seed; equal seeds give identical series. The global numpy state is never used.

    Returns
    -------
    frame : DataFrame of shape (n_steps, n_channels)
        Float columns named ``type<t>_ch<i>`` (e.g. ``"type2_ch05"``), index named ``date``.
    types : ndarray of int, shape (n_channels,)
        The type of every channel (``frame``'s column order).

    Examples
    --------
    >>> frame, types = make_heterogeneous_series(
    ...     n_channels=6, n_types=2, n_steps=50, random_state=0
    ... )
    >>> frame.shape, frame.index.freqstr, sorted(set(types.tolist()))
    ((50, 6), 'h', [0, 1])
    >>> all(name.startswith(f"type{t}_ch") for name, t in zip(frame.columns, types))
    True
    """
    _check_arguments(structure, n_channels, n_types, n_steps, noise)
    rng = np.random.default_rng(random_state)
    types, n_groups = _assign_types(rng, structure, n_channels, n_types)
    dynamics = _draw_dynamics(rng, n_groups)
    phase = rng.random(n_channels)  # fraction of a period
    level = rng.uniform(*LEVEL_RANGE, size=n_channels)
    values = level + _seasonal(dynamics, types, phase, n_steps)
    values += _autoregressive(rng, dynamics["ar"][types], n_steps)
    values += noise * rng.standard_normal((n_steps, n_channels))
    index = pd.date_range("2020-01-01", periods=n_steps, freq=freq, name="date")
    return pd.DataFrame(values, index=index, columns=_column_names(types)), types
