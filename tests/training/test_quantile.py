"""Tests of sae_forecast.training.quantile: the pinball loss and the quantile net."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.nn.quantile import QuantileRLinear
from sae_forecast.training import SeriesWindows, Targets
from sae_forecast.training.quantile import PinballLoss, QuantileNet

LEVELS = (0.1, 0.5, 0.9)


def test_pinball_matches_its_definition():
    rng = np.random.default_rng(0)
    quantiles, target = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5))
    error = target[..., None] - quantiles
    alpha = np.array(LEVELS)
    expected = np.maximum(alpha * error, (alpha - 1) * error).mean()
    loss = PinballLoss(LEVELS)(torch.tensor(quantiles), torch.tensor(target))
    assert loss.item() == pytest.approx(expected)


def test_unobserved_targets_do_not_count():
    quantiles, target = torch.randn(6, 4, 3), torch.randn(6, 4)
    observed = torch.rand(6, 4) > 0.4
    weight = observed.float()
    changed = torch.where(observed, target, target + 100.0)
    loss = PinballLoss(LEVELS)
    assert loss(quantiles, changed, weight) == loss(quantiles, target, weight)
    assert loss(quantiles, changed) != loss(quantiles, target)
    kept = loss(quantiles[observed], target[observed])
    torch.testing.assert_close(loss(quantiles, target, weight), kept)


def test_weight_one_is_bitwise_no_weight():
    """Batches without a gap carry no weight: the switch keeps the loss and gradient bits."""
    quantiles = torch.randn(32, 24, 7, 3, requires_grad=True)
    target = torch.randn(32, 24, 7)
    plain = PinballLoss(LEVELS)(quantiles, target)
    plain.backward()
    plain_grad, quantiles.grad = quantiles.grad, None
    weighted = PinballLoss(LEVELS)(quantiles, target, torch.ones_like(target))
    weighted.backward()
    assert torch.equal(weighted, plain) and torch.equal(quantiles.grad, plain_grad)


def test_minimiser_is_the_empirical_quantile():
    sample = torch.randn(4000, dtype=torch.float64)
    loss = PinballLoss((0.1, 0.5, 0.9))
    best = torch.quantile(sample, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
    at_best = loss(best.expand(len(sample), 3), sample)
    for shift in (-0.2, 0.2):
        assert loss((best + shift).expand(len(sample), 3), sample) > at_best


def _net(**overrides):
    options = {
        "module__seq_len": 16,
        "module__pred_len": 4,
        "module__n_channels": 2,
        "module__levels": LEVELS,
        "criterion__levels": LEVELS,
        "max_epochs": 3,
        "lr": 0.01,
        "random_state": 0,
        **overrides,
    }
    return QuantileNet(QuantileRLinear, **options)


def test_trains_with_a_target_mask_and_predicts_the_median():
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(300) / 4)[:, None] + rng.normal(0, 0.3, size=(300, 2))
    observed = rng.random(series.shape) > 0.2
    data = SeriesWindows(series.astype(np.float32), 16, 4, observed=observed)
    net = _net(iterator_valid__batch_size=64).fit(data)  # one validation batch per epoch
    # the restored best weights give the best validation loss: the masked pinball loss
    _, valid = net.train_split(data)
    _, targets = valid.batch(np.arange(len(valid)))
    assert targets.weight is not None and not targets.weight.all()
    with torch.no_grad():
        quantiles = net.module_.eval()(valid.batch(np.arange(len(valid)))[0])[1]
    loss = PinballLoss(LEVELS)(quantiles, targets.values, targets.weight).item()
    assert loss == pytest.approx(min(net.history[:, "valid_loss"]), rel=1e-5)
    assert loss != pytest.approx(PinballLoss(LEVELS)(quantiles, targets.values).item(), rel=1e-3)
    X = data.batch(np.arange(5))[0].numpy()
    median, quantiles = net.forward(X)
    np.testing.assert_array_equal(net.predict(X), median.numpy())
    assert (quantiles.diff(dim=-1) >= 0).all()


def test_gate_penalty_is_added_when_training_only():
    net = _net(module__embedding="lightsae", module__pool_size=2, gate_penalty="entropy")
    net.initialize()
    X, y = torch.randn(3, 16, 2), Targets(torch.randn(3, 4, 2), None)
    y_pred = net.infer(X)
    plain = net.criterion_(y_pred[1], y.values)
    assert net.get_loss(y_pred, y, training=False) == plain
    penalty = net.module_.embedding.gate_penalty("entropy")
    torch.testing.assert_close(net.get_loss(y_pred, y, training=True), plain + 0.01 * penalty)


def test_gate_penalty_without_lightsae_names_the_fix():
    net = _net(gate_penalty="balance").initialize()
    y_pred = net.infer(torch.randn(2, 16, 2))
    with pytest.raises(ValueError, match="module__embedding='lightsae'"):
        net.get_loss(y_pred, Targets(torch.randn(2, 4, 2), None), training=True)
