"""Tests of sae_forecast.nn.dropout."""

from __future__ import annotations

import pickle

import pytest
import torch

from sae_forecast.nn.dropout import SeededDropout, apply_mask, keep_mask
from sae_forecast.nn.seeding import attach_generator


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5, 0.9])
def test_keep_rate_and_scale(p):
    drop = SeededDropout(p)
    drop.generator = torch.Generator().manual_seed(0)
    out = drop(torch.ones(200_000))
    kept = out != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / (1 - p)))


def test_same_generator_seed_same_mask_and_different_seed_differs():
    def mask(seed):
        return keep_mask(torch.Size([1000]), 0.3, torch.Generator().manual_seed(seed), "cpu")

    assert torch.equal(mask(1), mask(1))
    assert not torch.equal(mask(1), mask(2))


def test_mask_draws_are_independent_of_the_global_state():
    g = torch.Generator().manual_seed(4)
    torch.manual_seed(0)
    a = keep_mask(torch.Size([64]), 0.5, g, "cpu")
    g = torch.Generator().manual_seed(4)
    torch.manual_seed(123)
    assert torch.equal(a, keep_mask(torch.Size([64]), 0.5, g, "cpu"))


def test_eval_mode_and_zero_p_are_identity():
    x = torch.randn(10)
    assert SeededDropout(0.5).eval()(x) is x
    assert SeededDropout(0.0)(x) is x


def test_gradient_is_masked_and_scaled():
    drop = SeededDropout(0.5)
    drop.generator = torch.Generator().manual_seed(0)
    x = torch.ones(100, requires_grad=True)
    out = drop(x)
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())


def test_invalid_probability_message():
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\), got 1.0"):
        SeededDropout(1.0)


def test_pickle_drops_the_generator():
    drop = SeededDropout(0.2)
    drop.generator = torch.Generator().manual_seed(0)
    assert pickle.loads(pickle.dumps(drop)).generator is None


def test_apply_mask_keeps_only_the_boolean_mask_for_backward():
    x = torch.randn(1000, requires_grad=True)
    mask = torch.rand(1000) > 0.5
    out = apply_mask(x, mask, 0.5)
    saved = out.grad_fn.saved_tensors
    assert len(saved) == 1 and saved[0].dtype == torch.bool
    out.sum().backward()
    assert torch.equal(x.grad, mask.float() * 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_seeds_are_drawn_from_a_cuda_generator():
    from sae_forecast.nn import iTransformer

    drop = SeededDropout(0.1)
    drop.generator = torch.Generator(device="cuda").manual_seed(0)
    assert isinstance(drop.draw_seed(), int)
    model = iTransformer(16, 4, 3, d_model=8, n_heads=2, d_ff=8, dropout=0.1).cuda().train()
    attach_generator(model, torch.Generator(device="cuda").manual_seed(0))
    model(torch.randn(2, 16, 3, device="cuda")).sum().backward()  # attention dropout on cuda
