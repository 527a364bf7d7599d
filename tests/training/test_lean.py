"""LeanLoopMixin against plain skorch: bitwise the same training, fewer steps per batch.

The mixin overrides skorch's ``notify``, ``get_all_learnable_params`` and the private
``_set_training``; these tests pin the skorch versions in ``pyproject.toml``: the same losses
and weights as skorch's own loop, and the mode switched once per phase (a skorch that stopped
calling ``_set_training`` would leave the override dead, and this test fails).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sae_forecast.nn import PatchTST, RLinear
from sae_forecast.training import ForecastingNet, SeriesWindows
from sae_forecast.training._lean import LeanLoopMixin

SEQ, PRED, N = 16, 4, 3


class PlainLoopNet(ForecastingNet):
    """ForecastingNet with skorch's own notify, parameter walk and mode switches."""

    def notify(self, method_name, **cb_kwargs):
        return super(LeanLoopMixin, self).notify(method_name, **cb_kwargs)

    def get_all_learnable_params(self):
        return super(LeanLoopMixin, self).get_all_learnable_params()

    def _set_training(self, training=True):
        return super(LeanLoopMixin, self)._set_training(training)


class CountHooks(Callback):
    """Counts the batch hooks it receives (a callback that defines hooks must get them all)."""

    def initialize(self):
        self.calls = {"on_batch_begin": 0, "on_batch_end": 0, "on_epoch_end": 0}
        return self

    def on_batch_begin(self, net, **kwargs):
        self.calls["on_batch_begin"] += 1

    def on_batch_end(self, net, **kwargs):
        self.calls["on_batch_end"] += 1

    def on_epoch_end(self, net, **kwargs):
        self.calls["on_epoch_end"] += 1


def _data():
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(240) / 5)[:, None] + rng.normal(0, 0.2, size=(240, N))
    return SeriesWindows(series.astype(np.float32), SEQ, PRED)


BACKBONES = {
    "rlinear-lightsae": (RLinear, {"module__embedding": "lightsae", "module__pool_size": 2}),
    "patchtst-dropout": (
        PatchTST,
        {
            "module__d_model": 8,
            "module__n_heads": 2,
            "module__d_ff": 8,
            "module__n_layers": 1,
            "module__patch_len": 4,
            "module__stride": 4,
            "module__dropout": 0.2,
        },
    ),
}


def _fit(net_class, backbone, **kwargs):
    module, sizes = BACKBONES[backbone]
    options = {
        "module__seq_len": SEQ,
        "module__pred_len": PRED,
        "module__n_channels": N,
        "max_epochs": 4,
        "lr": 0.01,
        "random_state": 0,
        "callbacks": [("count", CountHooks())],
        **sizes,
        **kwargs,
    }
    return net_class(module, **options).fit(_data())


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("trainable", [None, ["embedding.*"]], ids=["all", "embedding"])
def test_lean_loop_trains_bitwise_like_plain_skorch(backbone, trainable):
    lean = _fit(ForecastingNet, backbone, trainable=trainable)
    plain = _fit(PlainLoopNet, backbone, trainable=trainable)
    for key in ("train_loss", "valid_loss", "train_batch_count", "valid_batch_count"):
        assert lean.history[:, key] == plain.history[:, key], key
    assert lean.history[:, "event_lr"] == plain.history[:, "event_lr"]
    lean_state, plain_state = lean.module_.state_dict(), plain.module_.state_dict()
    assert list(lean_state) == list(plain_state)
    assert all(torch.equal(lean_state[k], plain_state[k]) for k in lean_state)
    counts = dict(lean.callbacks_)["count"].calls
    assert counts == dict(plain.callbacks_)["count"].calls
    n_batches = sum(lean.history[:, "train_batch_count"]) + sum(
        lean.history[:, "valid_batch_count"]
    )
    assert counts == {"on_batch_begin": n_batches, "on_batch_end": n_batches, "on_epoch_end": 4}


class _CountModeSwitches(torch.nn.Module):
    """RLinear that counts ``train(mode)`` calls reaching it."""

    def __init__(self, **kwargs):
        super().__init__()
        self.inner = RLinear(**kwargs)
        self.switches = 0

    def train(self, mode=True):
        self.switches += 1
        return super().train(mode)

    def forward(self, x):
        return self.inner(x)


def test_mode_switches_once_per_phase_not_per_batch():
    options = {"max_epochs": 2, "batch_size": 16, "callbacks": []}
    module_options = {"module__seq_len": SEQ, "module__pred_len": PRED, "module__n_channels": N}
    lean = ForecastingNet(_CountModeSwitches, random_state=0, **options, **module_options)
    lean.fit(_data())
    plain = PlainLoopNet(_CountModeSwitches, random_state=0, **options, **module_options)
    plain.fit(_data())
    batches = sum(plain.history[:, "train_batch_count"]) + sum(
        plain.history[:, "valid_batch_count"]
    )
    assert plain.module_.switches == batches == 30  # skorch: once per batch
    # lean: eval, train, eval (a new module is in train mode when the first epoch starts)
    assert lean.module_.switches == 3
