"""The one builder: a forecaster's parameters -> the skorch net that trains its backbone.

Every path that trains a network for a forecaster (``fit``, ``update``, the benchmark through
``fit``) goes through :func:`build_net`, so no second configuration path can drift from it.
"""

from __future__ import annotations

import inspect

import numpy as np

from sae_forecast.forecasting._intervals import interval_net
from sae_forecast.training import ForecastingNet, SeriesWindows, spawn_seeds
from sae_forecast.training.distributed import AcceleratedForecastingNet

__all__ = ["build_net", "fine_tune", "module_parameters"]

# Forecaster parameters that configure the skorch net (same names there).
NET_PARAMETERS = (
    "lr",
    "max_epochs",
    "batch_size",
    "patience",
    "device",
    "verbose",
    "gate_penalty",
    "gate_penalty_weight",
    "random_state",
)


def module_parameters(forecaster, shape: tuple[int, int] | None = None) -> dict:
    """The backbone's constructor arguments: every forecaster parameter the backbone takes,
    plus what the data decided (``pred_len_``, ``n_channels_``, or ``shape``, a pair
    ``(pred_len, n_channels)``, where the forecaster is not fitted yet, as in ``pretrain``).

    Examples
    --------
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> forecaster = LightSAERLinearForecaster(rank=4)
    >>> forecaster.pred_len_, forecaster.n_channels_ = 24, 7
    >>> params = module_parameters(forecaster)
    >>> params["rank"], params["pred_len"], params["n_channels"]
    (4, 24, 7)
    """
    accepted = inspect.signature(forecaster._backbone).parameters
    params = {k: v for k, v in forecaster.get_params(deep=False).items() if k in accepted}
    pred_len, n_channels = shape or (forecaster.pred_len_, forecaster.n_channels_)
    params.update(pred_len=pred_len, n_channels=n_channels)
    return params


def build_net(forecaster, shape: tuple[int, int] | None = None, **overrides) -> ForecastingNet:
    """The unfitted :class:`ForecastingNet` for a forecaster whose data shape is known.

    ``overrides`` replace net settings (``train_split``, or the fine-tuning schedule);
    ``shape`` is passed to :func:`module_parameters`.
    """
    options = {name: getattr(forecaster, name) for name in NET_PARAMETERS}
    options.update(overrides)
    module = {f"module__{k}": v for k, v in module_parameters(forecaster, shape).items()}
    net, backbone, extra = interval_net(forecaster)  # QuantileNet for quantile training
    if forecaster.accelerator is not None:  # data-parallel: accelerate places the model
        options.update(accelerator=forecaster.accelerator, device=None)
        return AcceleratedForecastingNet(forecaster._backbone, **module, **options)
    return net(backbone, **module, **extra, **options)


def fine_tune(forecaster, series: np.ndarray, observed: np.ndarray | None) -> None:
    """Train the fitted net ``fine_tune_epochs`` more epochs on ``series`` (scaled, filled).

    The learning rate continues the decay where the best epoch left it; the seed is derived
    from ``random_state`` and the number of updates so far, so equal seeds stay reproducible.
    After ``pretrain`` only the parameters that ``fit`` adapted are trained (``trainable_``;
    none for ``adapt="none"``).
    """
    if forecaster.trainable_ == ():
        return
    seed = None
    if forecaster.random_state is not None:
        seed = spawn_seeds([forecaster.random_state, forecaster._n_updates], 1)[0]
    tuner = build_net(
        forecaster,
        train_split=None,
        patience=None,
        max_epochs=forecaster.fine_tune_epochs,
        lr=forecaster.lr * 0.5 ** (forecaster.best_epoch_ - 1),
        random_state=seed,
        trainable=forecaster.trainable_,
    )
    tuner.initialize()
    tuner.module_.load_state_dict(forecaster.net_.module_.state_dict())
    windows = SeriesWindows(
        series,
        forecaster.seq_len,
        forecaster.pred_len_,
        observed=observed,
        device=forecaster.device,
    )
    tuner.partial_fit(windows)
    forecaster.net_.module_.load_state_dict(tuner.module_.state_dict())
