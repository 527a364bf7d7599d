"""Fleets: pretrain one network on a panel of devices, then adapt it to one device in ``fit``.

sktime's ``pretrain(y_panel)`` reaches :func:`pretrain_fleet` (``_pretrain`` and
``_pretrain_update``): every device is split into its own training span and validation tail,
scaled on its own training span, and one network is trained on the windows of all devices
(:class:`~sae_forecast.training.FleetWindows`). What pretraining learned is one
:class:`FleetState` (``fleet_``), which sktime preserves through ``fit`` and ``clone``.
``fit(y)`` then starts from its weights (:func:`fit_net`) and trains only the parameters that
``adapt`` names; ``update(update_params=True)`` trains the same ones (``trainable_``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from skorch.helper import predefined_split

from sae_forecast.forecasting._builder import build_net
from sae_forecast.forecasting._checks import check_horizon, check_target, warn_caller
from sae_forecast.forecasting._exogenous import Covariates, covariate_rows
from sae_forecast.forecasting._time_index import regular_time_index
from sae_forecast.training import FleetWindows, ForecastingNet, spawn_seeds

__all__ = [
    "ADAPTATIONS",
    "FleetState",
    "adapted_parameters",
    "check_fleet",
    "check_same_columns",
    "check_same_covariates",
    "fit_net",
    "panel_devices",
    "pretrain_fleet",
    "pretrained_horizon",
]

# What ``fit`` trains after ``pretrain``: glob patterns of backbone parameter names (None: all).
ADAPTATIONS = {
    "auto": None,  # resolved by adapted_parameters: "gates" for lightsae, else "all"
    "gates": ("embedding.gate_logits", "embedding.bias"),
    "embedding": ("embedding.*",),
    "all": None,
    "none": (),
}


@dataclass(frozen=True)
class FleetState:
    """What ``pretrain`` learned from a fleet: the network and what it was trained on.

    Parameters
    ----------
    weights : dict of str to Tensor
        The pretrained network's state dict (on the CPU).
    columns : pd.Index
        The channels, in the order the network learned them.
    pred_len : int
        The horizon the network was trained for.
    devices : list
        The names of the devices whose windows trained it, over every ``pretrain`` call.
    history : skorch.History
        The training log of the last ``pretrain`` call.
    covariates : Covariates or None, default=None
        The covariate columns the network reads (future-known first), when pretrained
        with ``X``; each device's covariates are scaled on its own training span.

    Examples
    --------
    >>> state = FleetState({}, pd.Index(["temp"]), 24, ["north"], None)
    >>> state.pred_len, state.devices
    (24, ['north'])
    """

    weights: dict
    columns: pd.Index
    pred_len: int
    devices: list
    history: object
    covariates: Covariates | None = None


def adapted_parameters(adapt: str, embedding: str) -> tuple[str, ...] | None:
    """The parameter-name patterns ``fit`` trains after ``pretrain`` (None: every parameter).

    ``"gates"`` is the LightSAE gate logits (``N x K``) and the per-channel embedding bias
    (with ``pooled_bias`` the bias pool is shared, so it stays fixed); ``"embedding"`` the
    whole channel embedding; ``"all"`` everything; ``"none"`` nothing; ``"auto"`` is
    ``"gates"`` for the LightSAE embedding and ``"all"`` for the others.

    Examples
    --------
    >>> adapted_parameters("gates", "lightsae")
    ('embedding.gate_logits', 'embedding.bias')
    >>> adapted_parameters("gates", "shared")
    Traceback (most recent call last):
    ...
    ValueError: adapt='gates' trains the LightSAE gates, but embedding='shared' has none; ...
    """
    if adapt == "auto":
        adapt = "gates" if embedding == "lightsae" else "all"
    if adapt == "gates" and embedding != "lightsae":
        raise ValueError(
            f"adapt='gates' trains the LightSAE gates, but embedding={embedding!r} "
            "has none; pass embedding='lightsae', or adapt='embedding' (the channel "
            "embedding) or adapt='all' (every weight)."
        )
    return ADAPTATIONS[adapt]


def check_fleet(y) -> None:
    """Raise a ``ValueError`` when the series of a list-of-frames panel differ in columns.

    Examples
    --------
    >>> a = pd.DataFrame({"temp": [1.0, 2.0], "rain": [0.0, 1.0]})
    >>> check_fleet([a, a[["rain", "temp"]]])
    Traceback (most recent call last):
    ...
    ValueError: The devices of a fleet must report the same columns in the same order, ...
    """
    if not isinstance(y, list) or not all(isinstance(f, pd.DataFrame) for f in y):
        return
    first = list(y[0].columns)
    for position, frame in enumerate(y[1:], start=1):
        if list(frame.columns) != first:
            raise ValueError(
                "The devices of a fleet must report the same columns in the same order, but "
                f"series 0 has {first} and series {position} has {list(frame.columns)}. One "
                "network learns every device's channels in one order: select and order the "
                f"columns alike (e.g. frame[{first}]) before pretrain."
            )


def panel_devices(y: pd.DataFrame) -> tuple[list, list[pd.DataFrame]]:
    """Split a panel (row MultiIndex, time last) into device names and per-device frames.

    Each device's frame is put on its regular time grid (missing time stamps become gaps).

    Examples
    --------
    >>> index = pd.MultiIndex.from_product([["a", "b"], range(4)], names=["device", "t"])
    >>> names, frames = panel_devices(pd.DataFrame({"x": np.arange(8.0)}, index=index))
    >>> names, [len(f) for f in frames]
    (['a', 'b'], [4, 4])
    """
    levels = list(range(y.index.nlevels - 1))
    names, frames = [], []
    for key, frame in y.groupby(level=levels, sort=False):
        name = key[0] if isinstance(key, tuple) and len(key) == 1 else key
        frame = frame.droplevel(levels)
        check_target(frame, name=f"device {name!r}")
        names.append(name)
        frames.append(regular_time_index(frame))
    _check_shared_columns(names, frames)
    return names, frames


def _check_shared_columns(names: list, frames: list[pd.DataFrame]) -> None:
    """A column without any value on a device means the devices' columns differ."""
    absent = {
        name: list(frame.columns[frame.isna().all().to_numpy()])
        for name, frame in zip(names, frames, strict=True)
    }
    absent = {name: columns for name, columns in absent.items() if columns}
    if absent:
        shown = "; ".join(f"device {n!r} has no value in {c}" for n, c in list(absent.items())[:3])
        columns = sorted({c for cols in absent.values() for c in cols}, key=str)
        raise ValueError(
            f"The devices of a fleet must report the same columns, but {shown}"
            f"{' (and more)' if len(absent) > 3 else ''}. One network learns every device's "
            f"channels: drop those columns from the panel (y.drop(columns={columns})), or "
            "leave those devices out of pretrain."
        )


def pretrain_fleet(
    backbone: type,
    params: dict,
    y: pd.DataFrame,
    pred_len: int,
    previous: FleetState | None,
    X: pd.DataFrame | None = None,
) -> FleetState:
    """Train the fleet network on every device of panel ``y`` and return what it learned.

    A first call (``previous`` None) trains from a fresh initialisation; later calls continue
    from ``previous.weights`` on the new devices (with a new, reproducible seed). ``X``: the
    covariates, a panel beside ``y`` (same devices, a row for every time stamp of each).
    """
    adapted_parameters(params["adapt"], params["embedding"])  # fails before a long training
    if previous is not None:
        check_same_columns(y.columns, previous.columns, "pretrain")
    names, frames = panel_devices(y)
    spec = None if X is None else Covariates.from_columns(X.columns, params["future_covariates"])
    if previous is not None:
        check_same_covariates(spec, previous.covariates, "pretrain")
    exogenous = None if spec is None else _device_covariates(X, names, frames, spec)
    fleet = FleetWindows.from_series(
        [frame.to_numpy(dtype=np.float64) for frame in frames],
        params["seq_len"],
        pred_len,
        validation_size=params["validation_size"],
        scale=params["scale"],
        names=names,
        columns=list(y.columns),
        device=params["device"],
        covariates=exogenous,
        covariate_columns=None if spec is None else list(spec.columns),
    )
    _warn_short_devices(fleet, names, params["seq_len"] + pred_len)
    seed = params["random_state"]
    if previous is not None and seed is not None:  # a new, reproducible stream per round
        seed = spawn_seeds([seed, len(previous.devices)], 1)[0]
    validation = predefined_split(fleet.valid) if fleet.valid is not None else None
    net = build_net(
        backbone,
        params,
        (pred_len, y.shape[1]),
        covariates=(0, 0) if spec is None else (spec.n_future, spec.n_past),
        train_split=validation,
        random_state=seed,
    )
    if previous is None:
        net.fit(fleet.train)
    else:
        net.initialize()
        net.module_.load_state_dict(previous.weights)
        net.partial_fit(fleet.train)
    weights = {k: v.detach().cpu().clone() for k, v in net.module_.state_dict().items()}
    earlier = [] if previous is None else list(previous.devices)
    devices = earlier + [names[i] for i in fleet.used]
    return FleetState(weights, y.columns, pred_len, devices, net.history, spec)


def _device_covariates(X: pd.DataFrame, names: list, frames: list, spec: Covariates) -> list:
    """Each device's covariate rows at its time stamps, columns in ``spec``'s order."""
    if not isinstance(X.index, pd.MultiIndex):
        raise ValueError(
            "X passed to pretrain must be a panel like y (a row MultiIndex: device, then "
            f"time), got a {type(X.index).__name__}."
        )
    levels = list(range(X.index.nlevels - 1))
    by_device = {}
    for key, frame in X.groupby(level=levels, sort=False):
        by_device[key[0] if isinstance(key, tuple) and len(key) == 1 else key] = frame
    missing = [name for name in names if name not in by_device]
    if missing:
        raise ValueError(
            f"X passed to pretrain has no rows for device(s) {missing[:5]}; pass X for every "
            "device of y."
        )
    return [
        covariate_rows(by_device[name].droplevel(levels), frame.index, spec.columns, "pretrain")
        for name, frame in zip(names, frames, strict=True)
    ]


def check_same_covariates(spec: Covariates | None, pretrained: Covariates | None, where: str):
    """Raise a ``ValueError`` when the covariates differ from those the network was
    pretrained with (names, order and which are known ahead)."""

    def described(covariates):
        if covariates is None:
            return "no X"
        return f"X columns {list(covariates.columns)} ({covariates.n_future} known ahead)"

    same = (spec is None and pretrained is None) or (
        spec is not None
        and pretrained is not None
        and list(spec.columns) == list(pretrained.columns)
        and spec.n_future == pretrained.n_future
    )
    if not same:
        raise ValueError(
            f"{where} got {described(spec)}, but the network was pretrained with "
            f"{described(pretrained)}; pass the same covariates (and future_covariates), or "
            "pretrain a new forecaster."
        )


def _warn_short_devices(fleet: FleetWindows, names: list, window: int) -> None:
    messages = []
    if fleet.without_window:
        left_out = [names[i] for i in fleet.without_window]
        messages.append(f"device(s) {left_out} have fewer than {window} rows and were left out")
    if fleet.without_tail:
        tailless = [names[i] for i in fleet.without_tail]
        messages.append(
            f"device(s) {tailless} are too short for a validation tail, so all their windows "
            "train" + ("" if fleet.valid is not None else " (no early stopping)")
        )
    if messages:
        warn_caller("pretrain: " + "; ".join(messages) + ".")


def pretrained_horizon(fleet: FleetState, steps: np.ndarray | None) -> int:
    """The pretrained network's horizon; raises if relative ``steps`` reach beyond it."""
    if steps is not None:
        check_horizon(steps, fleet.pred_len, "", trained="pretrained")
    return fleet.pred_len


def fit_net(net: ForecastingNet, train, fleet: FleetState | None, trainable) -> ForecastingNet:
    """Train ``net`` (unfitted) on the windows ``train`` and return it.

    Without a fleet a fresh network is trained; with one, the network starts from the
    pretrained weights and trains only ``trainable`` (nothing for ``()``).
    """
    if fleet is None:
        return net.fit(train)
    net.initialize()
    net.module_.load_state_dict(fleet.weights)
    return net if trainable == () else net.partial_fit(train)


def check_same_columns(columns: pd.Index, pretrained: pd.Index, where: str) -> None:
    """Channels are matched by position: same count required, same names in another order
    refused, other names accepted with a warning."""
    if list(columns) == list(pretrained):
        return
    if len(columns) != len(pretrained) or set(columns) == set(pretrained):
        raise ValueError(
            f"y passed to {where} has columns {list(columns)}, but the network was "
            f"pretrained on {list(pretrained)}. Pass the same columns in the same order "
            f"(y[{list(pretrained)}]), or pretrain a new forecaster on these columns."
        )
    warn_caller(
        f"y passed to {where} has columns {list(columns)}, the network was pretrained on "
        f"{list(pretrained)}: channels are matched by position."
    )
