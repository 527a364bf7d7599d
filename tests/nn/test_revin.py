"""Tests of sae_forecast.nn.revin."""

from __future__ import annotations

import torch

from sae_forecast.nn.revin import RevIN


def test_normalised_windows_have_zero_mean_unit_std():
    z, (mean, std) = RevIN(3).normalize(torch.randn(4, 50, 3) * 7 + 2)
    assert torch.allclose(z.mean(dim=1), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(z.std(dim=1, unbiased=False), torch.ones(4, 3), atol=1e-3)
    assert mean.shape == std.shape == (4, 1, 3)


def test_round_trip_affine():
    revin = RevIN(3, affine=True)
    with torch.no_grad():
        revin.weight.fill_(2.0)
        revin.bias.fill_(0.5)
    x = torch.randn(4, 20, 3) * 3 + 1
    z, stats = revin.normalize(x)
    assert torch.allclose(revin.denormalize(z, stats), x, atol=1e-4)


def test_constant_window_stays_finite():
    x = torch.full((2, 10, 3), 4.0)
    z, stats = RevIN(3).normalize(x)
    assert torch.isfinite(z).all()
    assert torch.allclose(RevIN(3).denormalize(z, stats), x)


def test_disabled_is_identity_and_has_no_parameters():
    revin = RevIN(3, affine=True, enabled=False)
    x = torch.randn(2, 5, 3)
    z, stats = revin.normalize(x)
    assert z is x
    assert revin.denormalize(x, stats) is x
    assert not list(revin.parameters())
