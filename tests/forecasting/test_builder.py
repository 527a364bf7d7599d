"""The one builder: every forecaster parameter reaches the net or the backbone."""

from __future__ import annotations

import inspect

import pytest

from sae_forecast.forecasting import FORECASTERS
from sae_forecast.forecasting._builder import NET_PARAMETERS, build_net

CHANGED = {
    "lr": 0.123,
    "max_epochs": 7,
    "batch_size": 5,
    "patience": 2,
    "verbose": 0,
    "gate_penalty": "entropy",
    "gate_penalty_weight": 0.5,
    "random_state": 11,
    "rank": 3,
    "pool_size": 4,
    "pooled_bias": True,
    "embedding": "lightsae",
    "precision": "bf16",
    "compile": True,
    "seq_len": 32,
}


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_every_parameter_reaches_the_net_or_the_backbone(name):
    cls = FORECASTERS[name]
    forecaster = cls(**CHANGED)
    net = build_net(cls._backbone, forecaster.get_params(), (8, 3))
    for key in NET_PARAMETERS:
        assert getattr(net, key) == getattr(forecaster, key), key
    module = net.get_params()
    backbone = inspect.signature(cls._backbone).parameters
    reached = {k for k in forecaster.get_params() if k in backbone}
    for key in reached - {"pred_len"}:
        assert module[f"module__{key}"] == getattr(forecaster, key), key
    assert (module["module__pred_len"], module["module__n_channels"]) == (8, 3)
    unused = set(forecaster.get_params()) - reached - set(NET_PARAMETERS)
    # the rest is read by the base (split, scaling, update), the interval, fleet and
    # data-parallel modules: a new parameter must be added here knowingly
    assert unused == {
        "validation_size", "scale", "fine_tune_epochs", "interval_method", "quantile_levels",
        "calibration_size", "interval_step_size", "adapt", "accelerator", "future_covariates",
    }  # fmt: skip


def test_overrides_replace_net_settings():
    cls = FORECASTERS["RLinear"]
    net = build_net(cls._backbone, cls(lr=0.1).get_params(), (4, 2), lr=0.01, train_split=None)
    assert net.lr == 0.01
