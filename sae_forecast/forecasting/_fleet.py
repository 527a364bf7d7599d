"""Fleets: pretrain one network on a panel of devices, then adapt it to one device in ``fit``.

sktime's ``pretrain(y_panel)`` reaches :func:`pretrain_fleet` (``_pretrain`` and
``_pretrain_update``): every device is split into its own training span and validation tail,
scaled on its own training span, and one network is trained on the windows of all devices
(:class:`~sae_forecast.training.FleetWindows`). The pretrained weights are kept in
``pretrained_weights_``, which sktime preserves through ``fit`` and ``clone``. ``fit(y)``
then starts from them (:func:`fit_net`) and trains only the parameters that ``adapt`` names;
``update(update_params=True)`` trains the same ones (``trainable_``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from skorch.helper import predefined_split

from sae_forecast.forecasting._builder import build_net
from sae_forecast.forecasting._checks import check_target
from sae_forecast.forecasting._time_index import regular_time_index
from sae_forecast.training import FleetWindows, ForecastingNet, spawn_seeds

__all__ = [
    "ADAPTATIONS",
    "adapted_parameters",
    "check_fleet",
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


def adapted_parameters(forecaster) -> tuple[str, ...] | None:
    """The parameter-name patterns ``fit`` trains after ``pretrain`` (None: every parameter).

    ``"gates"`` is the LightSAE gate logits (``N x K``) and the per-channel embedding bias
    (with ``pooled_bias`` the bias pool is shared, so it stays fixed); ``"embedding"`` the
    whole channel embedding; ``"all"`` everything; ``"none"`` nothing; ``"auto"`` is
    ``"gates"`` for the LightSAE embedding and ``"all"`` for the others.

    Examples
    --------
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> adapted_parameters(LightSAERLinearForecaster(adapt="gates"))
    ('embedding.gate_logits', 'embedding.bias')
    >>> adapted_parameters(LightSAERLinearForecaster(embedding="shared", adapt="gates"))
    Traceback (most recent call last):
    ...
    ValueError: adapt='gates' trains the LightSAE gates, but embedding='shared' has none; ...
    """
    adapt = forecaster.adapt
    if adapt not in ADAPTATIONS:
        raise ValueError(f"adapt must be one of {list(ADAPTATIONS)}, got {adapt!r}.")
    if adapt == "auto":
        adapt = "gates" if forecaster.embedding == "lightsae" else "all"
    if adapt == "gates" and forecaster.embedding != "lightsae":
        raise ValueError(
            f"adapt='gates' trains the LightSAE gates, but embedding={forecaster.embedding!r} "
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


def pretrain_fleet(forecaster, y: pd.DataFrame, fh=None) -> None:
    """Train the fleet network on every device of panel ``y`` (``_pretrain``, ``_pretrain_update``).

    A first call trains from a fresh initialisation; later calls continue from the pretrained
    weights on the new devices. Sets ``pretrained_weights_``, ``pretrained_columns_``,
    ``pretrained_pred_len_``, ``pretrain_devices_`` and ``pretrain_history_``.
    """
    forecaster._check_settings()
    adapted_parameters(forecaster)  # a wrong adapt fails before a long pretraining
    if fh is not None and not fh.is_relative:
        raise ValueError(
            "pretrain needs fh as steps ahead (e.g. fh=[1, ..., 24]), or pred_len: a panel "
            "has no single cutoff to count absolute time stamps from."
        )
    update = hasattr(forecaster, "pretrained_weights_")
    if update:
        _check_same_columns(y.columns, forecaster.pretrained_columns_, "pretrain")
    pred_len = pretrained_horizon(forecaster, fh) if update else forecaster._resolve_pred_len(fh)
    names, frames = panel_devices(y)
    fleet = FleetWindows.from_series(
        [frame.to_numpy(dtype=np.float64) for frame in frames],
        forecaster.seq_len,
        pred_len,
        validation_size=forecaster.validation_size,
        scale=forecaster.scale,
        names=names,
        columns=list(y.columns),
        device=forecaster.device,
    )
    _warn_short_devices(fleet, names, forecaster.seq_len + pred_len)
    net = _train_fleet(forecaster, fleet, (pred_len, y.shape[1]), update)
    state = net.module_.state_dict()
    forecaster.pretrained_weights_ = {k: v.detach().cpu().clone() for k, v in state.items()}
    forecaster.pretrained_columns_ = y.columns
    forecaster.pretrained_pred_len_ = pred_len
    earlier = list(forecaster.pretrain_devices_) if update else []
    forecaster.pretrain_devices_ = earlier + [names[i] for i in fleet.used]
    forecaster.pretrain_history_ = net.history


def _train_fleet(forecaster, fleet: FleetWindows, shape, update: bool) -> ForecastingNet:
    seed = forecaster.random_state
    if update and seed is not None:  # a new, reproducible stream for every further round
        seed = spawn_seeds([seed, len(forecaster.pretrain_devices_)], 1)[0]
    validation = predefined_split(fleet.valid) if fleet.valid is not None else None
    net = build_net(forecaster, shape, train_split=validation, random_state=seed)
    if not update:
        return net.fit(fleet.train)
    net.initialize()
    net.module_.load_state_dict(forecaster.pretrained_weights_)
    return net.partial_fit(fleet.train)


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
        warnings.warn("pretrain: " + "; ".join(messages) + ".", UserWarning, stacklevel=6)


def pretrained_horizon(forecaster, fh) -> int:
    """The pretrained network's horizon; raises if ``fh`` reaches beyond it."""
    horizon = forecaster.pretrained_pred_len_
    if fh is not None:
        steps = fh.to_relative(forecaster.cutoff).to_numpy()
        if steps.max() > horizon:
            raise ValueError(
                f"fh reaches {steps.max()} steps ahead, but the network was pretrained for "
                f"pred_len={horizon}. Shorten fh, or pretrain again with pred_len="
                f"{steps.max()} (a new forecaster)."
            )
    return horizon


def fit_net(forecaster, train, **overrides) -> ForecastingNet:
    """Train the network of ``fit`` on the windows ``train``.

    Without ``pretrain`` a fresh network is trained; after it, the network starts from the
    pretrained weights and trains only what ``adapt`` names (sets ``trainable_``).
    ``overrides`` are net settings (``train_split``...).
    """
    if forecaster.state != "pretrained":
        forecaster.trainable_ = None
        return build_net(forecaster, **overrides).fit(train)
    trainable = adapted_parameters(forecaster)
    _check_same_columns(forecaster.columns_, forecaster.pretrained_columns_, "fit")
    forecaster.trainable_ = trainable
    net = build_net(forecaster, trainable=trainable or None, **overrides)
    net.initialize()
    net.module_.load_state_dict(forecaster.pretrained_weights_)
    return net if trainable == () else net.partial_fit(train)


def _check_same_columns(columns: pd.Index, pretrained: pd.Index, where: str) -> None:
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
    warnings.warn(
        f"y passed to {where} has columns {list(columns)}, the network was pretrained on "
        f"{list(pretrained)}: channels are matched by position.",
        UserWarning,
        stacklevel=6,
    )
