"""Tests of sae_forecast.training.callbacks: a diverged training run fails loudly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.data import sliding_windows
from sae_forecast.nn import RLinear
from sae_forecast.training import (
    ForecastingNet,
    SeriesWindows,
    StopOnNonFiniteLoss,
    TrainingDivergedError,
)

SEQ, PRED, N = 8, 2, 2


def _series(n_rows=120):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n_rows, N)).astype(np.float32)


def _net(module=RLinear, **kwargs):
    options = dict(module__seq_len=SEQ, module__pred_len=PRED, module__n_channels=N, random_state=0)
    options.update(kwargs)
    return ForecastingNet(module, **options)


def test_huge_learning_rate_raises_naming_epoch_loss_and_a_lower_lr():
    net = _net(lr=1e20, max_epochs=5)
    with pytest.raises(
        TrainingDivergedError,
        match=r"Training diverged in epoch 1: train_loss is inf \(not a finite number\)\. "
        r"The learning rate is probably too high: lr=1e\+20; try lr=1e\+19 \(lr / 10\)",
    ):
        net.fit(SeriesWindows(_series(), SEQ, PRED))
    assert len(net.history) == 1  # stopped at once, not after early stopping's patience


class _NaNAfter(torch.nn.Module):
    """RLinear whose output turns NaN in evaluation mode from the given epoch on."""

    def __init__(self, epochs: int, **kwargs):
        super().__init__()
        self.inner = RLinear(**kwargs)
        self.epochs = epochs
        self.calls = 0

    def forward(self, x):
        out = self.inner(x)
        if not self.training:
            self.calls += 1
            if self.calls > self.epochs:
                return out * float("nan")
        return out


def test_nan_validation_loss_names_valid_loss_and_the_current_lr():
    # one validation batch per epoch: the loss of epoch 3 is NaN
    net = _net(module=_NaNAfter, module__epochs=2, lr=0.01, max_epochs=5, batch_size=512)
    X, y = sliding_windows(_series(), SEQ, PRED)
    with pytest.raises(
        TrainingDivergedError,
        match=r"epoch 3: valid_loss is nan .* lr=0\.01 \(0\.0025 in this epoch\); try lr=0\.001",
    ):
        net.fit(X, y)
    assert np.isfinite(net.history[:, "train_loss"]).all()


def test_finite_training_is_not_interrupted_and_runs_before_early_stopping():
    net = _net(lr=0.01, max_epochs=2).fit(SeriesWindows(_series(), SEQ, PRED))
    names = [name for name, _ in net.callbacks_]
    assert len(net.history) == 2
    assert names.index("valid_loss") < names.index("stop_on_non_finite_loss")
    assert names.index("stop_on_non_finite_loss") < names.index("early_stopping")
    assert isinstance(dict(net.callbacks_)["stop_on_non_finite_loss"], StopOnNonFiniteLoss)


def test_the_check_can_be_switched_off():
    net = _net(lr=1e20, max_epochs=2, patience=None, callbacks__stop_on_non_finite_loss=None)
    net.fit(SeriesWindows(_series(), SEQ, PRED))
    assert not np.isfinite(net.history[-1, "train_loss"])
