"""ForecastingNet(trainable=...): the optimiser trains the chosen parameters only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sae_forecast.data import sliding_windows
from sae_forecast.nn import RMLP
from sae_forecast.training import ForecastingNet
from sae_forecast.training._trainable import matches_any


def _data():
    series = np.sin(np.arange(200) / 4)[:, None] * np.linspace(1, 2, 3)[None]
    return sliding_windows(series.astype(np.float32), 16, 4)


def _net(module=RMLP, **kwargs):
    options = {
        "module__seq_len": 16,
        "module__pred_len": 4,
        "module__n_channels": 3,
        "module__d_model": 8,
        "module__embedding": "lightsae",
        "module__rank": 2,
        "module__pool_size": 2,
        "max_epochs": 2,
        "lr": 0.01,
        "random_state": 0,
        "train_split": None,
    }
    return ForecastingNet(module, **{**options, **kwargs})


def _trained_and_initial(**kwargs):
    """Train every weight first (the LightSAE right factor starts at 0, so the gates get no
    gradient before it has moved), then continue with ``kwargs`` from those weights."""
    X, y = _data()
    start = _net().fit(X, y).module_.state_dict()
    net = _net(**kwargs).initialize()
    net.module_.load_state_dict(start)
    before = {k: v.clone() for k, v in net.module_.state_dict().items()}
    net.partial_fit(X, y)
    return net, before


def test_only_matching_parameters_change_and_the_rest_stay_bitwise_equal():
    net, before = _trained_and_initial(trainable=["embedding.gate_logits", "embedding.bias"])
    after = net.module_.state_dict()
    changed = {name for name in after if not torch.equal(after[name], before[name])}
    assert changed == {"embedding.gate_logits", "embedding.bias"}
    frozen = [p.requires_grad for n, p in net.module_.named_parameters() if n not in changed]
    assert frozen and not any(frozen)


def test_optimiser_and_clipping_see_only_the_trainable_parameters():
    net, _ = _trained_and_initial(trainable=["embedding.*"])
    names = [name for name, _ in net.get_all_learnable_params()]
    assert names and all(name.startswith("embedding.") for name in names)
    n_optimised = sum(len(group["params"]) for group in net.optimizer_.param_groups)
    assert n_optimised == len(names)


def test_none_trains_every_parameter():
    net, before = _trained_and_initial(trainable=None)
    after = net.module_.state_dict()
    assert all(
        not torch.equal(after[k], before[k]) for k in ("temporal.0.weight", "embedding.right")
    )


def test_patterns_matching_nothing_name_the_parameters():
    with pytest.raises(ValueError, match=r"matches none of the module's parameters \["):
        _net(trainable=["gates"]).initialize()


def test_a_single_string_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"write trainable=\['embedding\.\*'\]"):
        _net(trainable="embedding.*").initialize()


def test_trainable_is_a_hyperparameter_that_survives_clone():
    net = _net(trainable=["embedding.*"])
    assert clone(net).get_params()["trainable"] == ["embedding.*"]


def test_matches_any_is_a_case_sensitive_glob():
    assert matches_any("embedding.bias", ["embedding.*"])
    assert not matches_any("Embedding.bias", ["embedding.*"])


def test_frozen_normalisation_layers_keep_their_running_statistics():
    from sae_forecast.nn import PatchTST

    X, y = _data()
    sizes = {"module__d_model": 8, "module__n_heads": 2, "module__d_ff": 8, "module__n_layers": 1}
    sizes.update(module__patch_len=4, module__stride=4)
    net = _net(module=PatchTST, **sizes)
    start = net.fit(X, y).module_.state_dict()
    adapted = _net(module=PatchTST, trainable=["embedding.gate_logits"], **sizes).initialize()
    adapted.module_.load_state_dict(start)
    adapted.partial_fit(X, y)
    after = adapted.module_.state_dict()
    assert {k for k in after if not torch.equal(after[k], start[k])} == {"embedding.gate_logits"}
    assert any("running_mean" in k for k in after)  # the check covers BatchNorm statistics
