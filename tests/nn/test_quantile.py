"""Tests of sae_forecast.nn.quantile: any backbone becomes a non-crossing quantile forecaster."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn import BACKBONES
from sae_forecast.nn.quantile import (
    FLOOR_START,
    QUANTILE_BACKBONES,
    QuantileSpread,
    check_levels,
    quantile_backbone,
)
from sae_forecast.nn.seeding import reset_parameters
from tests.models import N_CHANNELS, PRED_LEN, SEQ_LEN, TINY, build_backbone

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def _quantile_model(name, embedding="lightsae", levels=LEVELS, **extra):
    options = {"embedding": embedding, "rank": 4, "pool_size": 2, **TINY[name], **extra}
    model = quantile_backbone(BACKBONES[name])(
        SEQ_LEN, PRED_LEN, N_CHANNELS, levels=levels, **options
    )
    return reset_parameters(model, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", list(BACKBONES))
def test_shapes_and_median_is_the_backbone_forecast(name):
    model = _quantile_model(name).eval()
    x = torch.randn(4, SEQ_LEN, N_CHANNELS)
    median, quantiles = model(x)
    assert quantiles.shape == (4, PRED_LEN, N_CHANNELS, len(LEVELS))
    assert torch.equal(median, BACKBONES[name].forward(model, x))
    assert torch.equal(quantiles[..., LEVELS.index(0.5)], median)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_backbone_and_embedding_are_unchanged_with_the_same_parameter_names(name):
    model = _quantile_model(name)
    plain = build_backbone(name, "lightsae")
    assert isinstance(model, BACKBONES[name])
    assert type(model.embedding) is type(plain.embedding)
    shapes = {k: v.shape for k, v in model.state_dict().items() if not k.startswith("spread.")}
    assert shapes == {k: v.shape for k, v in plain.state_dict().items()}
    plain.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith("spread.")}
    )
    x = torch.randn(2, SEQ_LEN, N_CHANNELS)
    torch.testing.assert_close(model.eval()(x)[0], plain.eval()(x))


def test_every_backbone_has_its_quantile_variant_and_others_get_a_fix():
    assert set(QUANTILE_BACKBONES) == set(BACKBONES.values())
    with pytest.raises(ValueError, match=r"class QuantileLinear\(QuantileMixin, Linear\)"):
        quantile_backbone(torch.nn.Linear)


def test_quantiles_never_cross_even_with_large_random_parameters():
    model = _quantile_model("RLinear")
    with torch.no_grad():
        for parameter in model.spread.parameters():
            parameter.normal_(0.0, 5.0)
    _, quantiles = model(torch.randn(64, SEQ_LEN, N_CHANNELS) * 10)
    assert (quantiles.diff(dim=-1) >= 0).all()
    assert (quantiles.diff(dim=-1) > 0).any()


def test_initial_bands_are_gaussian_in_units_of_the_window_std_with_its_floor():
    model = _quantile_model("RLinear", levels=(0.1587, 0.5, 0.8413))  # -1 and +1 sigma
    x = torch.randn(8, SEQ_LEN, N_CHANNELS) * 0.3 + 7.0
    median, quantiles = model(x)
    std = x.std(dim=1, unbiased=False)[:, None, :]  # (B, 1, N)
    std = torch.sqrt(std.square() + FLOOR_START**2)  # the floor is 0.1 at the start
    torch.testing.assert_close(quantiles[..., 2] - median, std.expand_as(median), rtol=2e-3, atol=0)
    torch.testing.assert_close(median - quantiles[..., 0], std.expand_as(median), rtol=2e-3, atol=0)


def test_a_flat_window_keeps_bands_of_the_floors_width():
    model = _quantile_model("RLinear", levels=(0.1587, 0.5, 0.8413))
    with torch.no_grad():
        model.spread.floor.copy_(torch.tensor([-2.0, 0.0, 2.0]))
    median, quantiles = model(torch.full((2, SEQ_LEN, N_CHANNELS), 5.0))  # a stuck sensor
    floor = torch.nn.functional.softplus(model.spread.floor)  # (N,)
    expected = torch.sqrt(floor.square() + 1e-5).expand_as(median)
    torch.testing.assert_close(quantiles[..., 2] - median, expected, rtol=2e-3, atol=0)


def test_gradients_reach_the_spread_and_the_backbone():
    model = _quantile_model("RLinear")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(6, SEQ_LEN, N_CHANNELS), torch.randn(6, PRED_LEN, N_CHANNELS)
    alpha = torch.tensor(LEVELS)
    for _ in range(2):  # the low-rank factors start at 0, so the window term moves from step 2
        optimiser.zero_grad()
        error = y[..., None] - model(x)[1]
        torch.maximum(alpha * error, (alpha - 1) * error).mean().backward()
        optimiser.step()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


def test_spread_gaps_are_positive():
    gaps = QuantileSpread(SEQ_LEN, PRED_LEN, N_CHANNELS, LEVELS)(torch.randn(5, 3, SEQ_LEN))
    assert gaps.shape == (5, N_CHANNELS, PRED_LEN, len(LEVELS) - 1)
    assert (gaps > 0).all()


@pytest.mark.parametrize(
    "levels", [(0.1, 0.9), (0.5,), (0.5, 0.4), (0.0, 0.5), (0.2, 0.5, 1.0), (0.5, 0.5, 0.9)]
)
def test_bad_levels_are_refused_with_the_rule(levels):
    with pytest.raises(ValueError, match=r"include 0\.5"):
        check_levels(levels)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_covariates_reach_the_median_and_the_spread_reads_only_the_targets(name):
    options = {"n_future_covariates": 1, "n_past_covariates": 1}
    if name != "iTransformer":
        options["covariate_gates"] = True
    model = _quantile_model(name, **options).eval()
    x = torch.randn(4, SEQ_LEN, N_CHANNELS)
    covariates = torch.randn(4, SEQ_LEN + PRED_LEN, 2)
    other = covariates + torch.randn_like(covariates)
    with torch.no_grad():
        median, quantiles = model(x, covariates)
        assert torch.equal(median, BACKBONES[name].forward(model, x, covariates))
        other_median, other_quantiles = model(x, other)
        assert not torch.allclose(other_median, median)
        spreads = quantiles - median[..., None]
        torch.testing.assert_close(other_quantiles - other_median[..., None], spreads)
    with pytest.raises(ValueError, match="expected covariates of shape"):
        model(x)
