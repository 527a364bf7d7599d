"""Tests of sae_forecast.nn.transformer."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn.transformer import (
    MultiHeadSelfAttention,
    TransformerEncoder,
    force_manual_attention,
    sinusoidal_positions,
)


def test_manual_attention_path_equals_sdpa_without_dropout():
    attn = MultiHeadSelfAttention(16, 4, dropout=0.0)
    x = torch.randn(2, 6, 16)
    eval_out = attn.eval()(x)
    attn.dropout.p = 1e-9  # force the manual path in training mode; the mask keeps everything
    attn.train()
    assert torch.allclose(attn(x), eval_out, atol=1e-5)


def test_attention_mixes_tokens():
    attn = MultiHeadSelfAttention(8, 2).eval()
    x = torch.randn(1, 4, 8)
    y1 = attn(x)
    x2 = x.clone()
    x2[0, 3] += 1.0
    assert not torch.allclose(attn(x2)[0, 0], y1[0, 0])  # token 0 sees token 3


def test_heads_must_divide_width():
    with pytest.raises(ValueError, match="d_model=10 must be divisible by n_heads=4"):
        MultiHeadSelfAttention(10, 4)


def test_unknown_norm_and_activation():
    with pytest.raises(ValueError, match=r"norm must be one of \('layer', 'batch'\), got 'rms'"):
        TransformerEncoder(8, 2, 8, 1, norm="rms")
    with pytest.raises(ValueError, match=r"activation must be one of \['gelu', 'relu'\]"):
        TransformerEncoder(8, 2, 8, 1, activation="tanh")


def test_batch_norm_encoder_uses_batch_statistics():
    enc = TransformerEncoder(8, 2, 16, 1, norm="batch", dropout=0.0).train()
    out = enc(torch.randn(4, 5, 8) * 3 + 1)
    assert torch.allclose(out.reshape(-1, 8).mean(0), torch.zeros(8), atol=1e-5)


def test_positions_match_formula():
    table = sinusoidal_positions(5, 6)
    assert torch.allclose(table[3, 2], torch.sin(torch.tensor(3 / 10000 ** (2 / 6))))
    assert torch.allclose(table[3, 3], torch.cos(torch.tensor(3 / 10000 ** (2 / 6))))


def _chunked_run(monkeypatch, recompute: bool):
    from sae_forecast.nn import transformer

    monkeypatch.setattr(transformer, "MAX_SCORES_PER_CHUNK", 2 * 2 * 5 * 5)  # 2 rows per chunk
    if not recompute:
        monkeypatch.setattr(transformer, "checkpoint", lambda f, *a, **_: f(*a))
    torch.manual_seed(0)
    attn = MultiHeadSelfAttention(8, 2, dropout=0.3).train()
    attn.dropout.generator = torch.Generator().manual_seed(11)
    x = torch.randn(6, 5, 8, requires_grad=True)
    out = attn(x)
    out.square().sum().backward()
    return out.detach(), x.grad, attn.qkv.weight.grad


def test_chunked_attention_recomputes_the_same_dropout_masks(monkeypatch):
    out, grad_x, grad_w = _chunked_run(monkeypatch, recompute=True)
    ref_out, ref_grad_x, ref_grad_w = _chunked_run(monkeypatch, recompute=False)
    assert torch.equal(out, ref_out)
    assert torch.allclose(grad_x, ref_grad_x, atol=1e-6)
    assert torch.allclose(grad_w, ref_grad_w, atol=1e-6)
    assert (out == 0).sum() == 0  # dropout hits the attention weights, not the outputs


def test_attention_dropout_is_reproducible_from_the_generator():
    attn = MultiHeadSelfAttention(8, 2, dropout=0.5).train()
    x = torch.randn(3, 4, 8)
    attn.dropout.generator = torch.Generator().manual_seed(1)
    a = attn(x)
    attn.dropout.generator = torch.Generator().manual_seed(1)
    assert torch.equal(a, attn(x))
    assert not torch.allclose(a, attn.eval()(x))


def _sdpa_and_manual(attn: MultiHeadSelfAttention, x: torch.Tensor):
    """Output and input gradient of ``attn`` on ``x`` through SDPA, then the manual path."""
    results = []
    for force in (False, True):
        attn.force_manual = force
        x_ = x.clone().requires_grad_(True)
        out = attn(x_)
        out.square().sum().backward()
        results.append((out.detach(), x_.grad))
    return results


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize(
    ("batch", "tokens", "d_model", "n_heads", "max_scores"),
    [
        (2, 6, 16, 4, None),
        (5, 13, 24, 3, None),
        (6, 5, 8, 2, 2 * 2 * 5 * 5),  # 2 rows per chunk: the checkpointed chunks
    ],
)
def test_sdpa_and_manual_attention_agree(
    monkeypatch, train, batch, tokens, d_model, n_heads, max_scores
):
    from sae_forecast.nn import transformer

    if max_scores is not None:
        monkeypatch.setattr(transformer, "MAX_SCORES_PER_CHUNK", max_scores)
    attn = MultiHeadSelfAttention(d_model, n_heads, dropout=0.0).train(train)
    x = 2 * torch.randn(batch, tokens, d_model)  # peaked enough that a wrong scale shows
    (sdpa, sdpa_grad), (manual, manual_grad) = _sdpa_and_manual(attn, x)
    assert torch.allclose(manual, sdpa, atol=1e-5)
    assert torch.allclose(manual_grad, sdpa_grad, atol=1e-5)
    uniform = attn.out(attn.qkv(x)[..., 2 * d_model :].mean(1, keepdim=True))  # weights 1/T
    assert not torch.allclose(sdpa, uniform.expand_as(sdpa), atol=1e-3)


def test_eval_mode_with_dropout_uses_sdpa_and_forcing_skips_the_mask(monkeypatch):
    from sae_forecast.nn import transformer

    calls = []
    sdpa = transformer.F.scaled_dot_product_attention
    monkeypatch.setattr(
        transformer.F, "scaled_dot_product_attention", lambda *a: calls.append(1) or sdpa(*a)
    )
    attn = MultiHeadSelfAttention(8, 2, dropout=0.5).eval()
    attn.dropout.generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8)
    out = attn(x)
    assert calls == [1]
    state = attn.dropout.generator.get_state()
    assert torch.allclose(force_manual_attention(attn)(x), out, atol=1e-5)
    assert calls == [1]
    assert torch.equal(attn.dropout.generator.get_state(), state)  # no seed drawn


@pytest.mark.parametrize(
    ("backbone", "options"),
    [
        ("iTransformer", {"d_model": 16, "n_heads": 4, "d_ff": 32, "n_layers": 2}),
        ("PatchTST", {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_layers": 2, "patch_len": 8}),
    ],
)
def test_backbone_eval_forward_is_the_same_on_both_paths(monkeypatch, backbone, options):
    from sae_forecast.nn import BACKBONES, transformer

    manual_calls = []
    manual = transformer._manual_attention
    monkeypatch.setattr(
        transformer, "_manual_attention", lambda *a: manual_calls.append(1) or manual(*a)
    )
    model = BACKBONES[backbone](32, 8, 5, embedding="lightsae", pool_size=2, **options).eval()
    x = torch.randn(4, 32, 5)
    with torch.no_grad():
        sdpa = model(x)
        assert manual_calls == []
        manual_out = force_manual_attention(model)(x)
    assert len(manual_calls) == options["n_layers"]
    assert torch.allclose(manual_out, sdpa, atol=1e-5)
    assert torch.equal(force_manual_attention(model, force=False)(x), sdpa)
