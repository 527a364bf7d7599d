"""Tests of sae_forecast.nn.batchnorm."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn import batchnorm
from sae_forecast.nn.batchnorm import TokenBatchNorm


def _pair(weight=None, bias=None, momentum=0.1):
    plain = TokenBatchNorm(6).train()
    plain.norm.momentum = momentum
    with torch.no_grad():
        plain.norm.weight.copy_(torch.linspace(0.5, 2.0, 6) if weight is None else weight)
        plain.norm.bias.copy_(torch.linspace(-1.0, 1.0, 6) if bias is None else bias)
    keeping = TokenBatchNorm(6).train()
    keeping.load_state_dict(plain.state_dict())
    keeping.norm.momentum = momentum
    return plain, keeping


def _run(norm, method, x, upstream):
    x = x.clone().requires_grad_()
    y = getattr(norm, method)(x)
    (y * upstream).sum().backward()
    return y.detach(), x.grad, norm.norm.weight.grad, norm.norm.bias.grad


@pytest.mark.parametrize("momentum", [0.1, None])
def test_keeping_the_output_gives_the_same_output_statistics_and_gradients(momentum):
    x = torch.randn(5, 7, 6) * 3 + 2
    upstream = torch.randn(5, 7, 6)
    plain, keeping = _pair(momentum=momentum)
    for _ in range(2):  # the second step reads num_batches_tracked (momentum None)
        expected = _run(plain, "forward", x, upstream)
        found = _run(keeping, "forward_keeping_output", x, upstream)
        assert torch.equal(found[0], expected[0])
        for a, b in zip(found[1:], expected[1:], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    state = plain.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in keeping.state_dict().items())
    assert int(keeping.norm.num_batches_tracked) == 2


def test_it_saves_the_output_and_not_the_input():
    _, keeping = _pair()
    x = torch.randn(4, 3, 6).requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = keeping.forward_keeping_output(x)
    big = [t for t in saved if t.numel() == x.numel()]
    assert len(big) == 1 and big[0].data_ptr() == y.data_ptr()


@pytest.mark.parametrize("weight", [torch.zeros(6), torch.full((6,), 1e-3)])
def test_a_weight_too_small_to_divide_by_keeps_the_input_and_stays_exact(weight):
    x = torch.randn(4, 3, 6).requires_grad_()
    _, keeping = _pair(weight=weight)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        keeping.forward_keeping_output(x)
    assert any(t.data_ptr() == x.data_ptr() for t in saved)
    upstream = torch.randn(4, 3, 6)
    plain, keeping = _pair(weight=weight)
    for a, b in zip(
        _run(keeping, "forward_keeping_output", x.detach(), upstream),
        _run(plain, "forward", x.detach(), upstream),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_the_bias_to_weight_limit_is_what_switches(monkeypatch):
    monkeypatch.setattr(batchnorm, "MAX_BIAS_TO_WEIGHT", 0.1)  # |bias| / |weight| reaches 2
    _, keeping = _pair()
    x = torch.randn(4, 3, 6).requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        keeping.forward_keeping_output(x)
    assert any(t.data_ptr() == x.data_ptr() for t in saved)


def test_outside_training_it_is_the_plain_forward():
    plain, keeping = _pair()
    x = torch.randn(4, 3, 6)
    plain.eval(), keeping.eval()
    assert torch.equal(keeping.forward_keeping_output(x), plain(x))
    assert int(keeping.norm.num_batches_tracked) == 0


def test_column_dot_sums_products_over_rows_in_blocks():
    a, b = torch.randn(10, 4), torch.randn(10, 4)
    found = batchnorm._column_dot(a, b, rows_per_block=3)  # blocks of 3, 3, 3 and 1 rows
    torch.testing.assert_close(found, (a * b).sum(0))
