"""The one builder: a forecaster's parameters -> the skorch net that trains its backbone.

Every path that trains a network for a forecaster (``fit``, ``pretrain``, ``update``, the
benchmark through ``fit``) goes through :func:`build_net`, so no second configuration path
can drift from it. The functions take the parameters as a dict (``get_params()``) and return
what they build; the forecaster stores it.
"""

from __future__ import annotations

import inspect

from sae_forecast.forecasting._intervals import interval_method
from sae_forecast.training import ForecastingNet, SeriesWindows, spawn_seeds
from sae_forecast.training.distributed import AcceleratedForecastingNet, AcceleratedQuantileNet
from sae_forecast.training.quantile import QuantileNet

__all__ = ["build_net", "fine_tune", "module_parameters"]

# The data-parallel composition of each net an interval method trains.
DATA_PARALLEL = {ForecastingNet: AcceleratedForecastingNet, QuantileNet: AcceleratedQuantileNet}

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
    "compile",
)


def module_parameters(
    backbone: type, params: dict, shape: tuple[int, int], covariates: tuple[int, int] = (0, 0)
) -> dict:
    """The backbone's constructor arguments: every forecaster parameter the backbone takes,
    plus what the data decided: ``shape``, the pair ``(pred_len, n_channels)``, and
    ``covariates``, the numbers of future-known and past-only covariates (passed only when
    there are any).

    Examples
    --------
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> from sae_forecast.nn import RLinear
    >>> params = LightSAERLinearForecaster(rank=4).get_params()
    >>> module = module_parameters(RLinear, params, (24, 7))
    >>> module["rank"], module["pred_len"], module["n_channels"]
    (4, 24, 7)
    """
    accepted = inspect.signature(backbone).parameters
    module = {k: v for k, v in params.items() if k in accepted}
    module.update(pred_len=shape[0], n_channels=shape[1])
    if any(covariates):
        module.update(n_future_covariates=covariates[0], n_past_covariates=covariates[1])
    return module


def build_net(
    backbone: type,
    params: dict,
    shape: tuple[int, int],
    *,
    covariates: tuple[int, int] = (0, 0),
    **overrides,
) -> ForecastingNet:
    """The unfitted :class:`ForecastingNet` for forecaster parameters ``params``.

    ``shape`` is ``(pred_len, n_channels)``, ``covariates`` the numbers of future-known and
    past-only covariates; ``overrides`` replace net settings (``train_split``,
    ``trainable``, or the fine-tuning schedule). The interval method decides the net and
    module classes (a quantile net for ``interval_method="quantile"``).
    """
    options = {name: params[name] for name in NET_PARAMETERS}
    options.update(overrides)
    arguments = module_parameters(backbone, params, shape, covariates)
    module = {f"module__{k}": v for k, v in arguments.items()}
    method = interval_method(
        params["interval_method"],
        calibration_size=params["calibration_size"],
        quantile_levels=params["quantile_levels"],
    )
    net, module_class, extra = method.training(backbone)
    if params["accelerator"] is not None:  # data-parallel: accelerate places the model
        net = DATA_PARALLEL[net]
        options.update(accelerator=params["accelerator"], device=None)
    return net(module_class, **module, **extra, **options)


def fine_tune(
    net: ForecastingNet,
    backbone: type,
    params: dict,
    windows: SeriesWindows,
    *,
    update: int,
    best_epoch: int,
    trainable,
    covariates: tuple[int, int] = (0, 0),
) -> dict:
    """Train a copy of the fitted ``net`` ``fine_tune_epochs`` more epochs on ``windows``;
    return the tuned weights (a state dict) for the caller to load.

    The learning rate continues the decay where the best epoch left it; the seed is derived
    from ``random_state`` and ``update`` (the number of updates so far, this one included),
    so equal seeds stay reproducible. Only ``trainable`` parameters are trained;
    ``covariates`` as in :func:`build_net`.
    """
    seed = params["random_state"]
    if seed is not None:
        seed = spawn_seeds([seed, update], 1)[0]
    tuner = build_net(
        backbone,
        params,
        (windows.pred_len, windows.n_channels),
        covariates=covariates,
        train_split=None,
        patience=None,
        max_epochs=params["fine_tune_epochs"],
        lr=params["lr"] * 0.5 ** (best_epoch - 1),
        random_state=seed,
        trainable=trainable,
    )
    tuner.initialize()
    tuner.module_.load_state_dict(net.module_.state_dict())
    tuner.partial_fit(windows)
    return tuner.module_.state_dict()
