"""Tests of sae_forecast.nn.transformer."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from sae_forecast.nn import transformer
from sae_forecast.nn.seeding import attach_generator
from sae_forecast.nn.transformer import (
    EncoderLayer,
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


def _written_out_attention(attn: MultiHeadSelfAttention, x, memory):
    """Attention from ``x`` over ``cat(x, memory)``, one batch row and one head at a time."""
    d_model = x.shape[-1]
    head_dim = d_model // attn.n_heads
    w, b = attn.qkv.weight, attn.qkv.bias
    rows = []
    for x_row, m_row in zip(x, memory, strict=True):
        both = torch.cat([x_row, m_row])  # (T+M, d): every token that is read
        q = x_row @ w[:d_model].T + b[:d_model]  # (T, d): queries from x only
        k = both @ w[d_model : 2 * d_model].T + b[d_model : 2 * d_model]  # (T+M, d)
        v = both @ w[2 * d_model :].T + b[2 * d_model :]  # (T+M, d)
        heads = []
        for h in range(attn.n_heads):
            cols = slice(h * head_dim, (h + 1) * head_dim)
            weights = torch.softmax(q[:, cols] @ k[:, cols].T / head_dim**0.5, dim=-1)  # (T, T+M)
            heads.append(weights @ v[:, cols])  # (T, head_dim)
        rows.append(attn.out(torch.cat(heads, dim=-1)))  # (T, d)
    return torch.stack(rows)  # (B, T, d)


@pytest.mark.parametrize("force", [False, True])
def test_attention_with_memory_matches_a_written_out_reference(force):
    attn = MultiHeadSelfAttention(8, 2, dropout=0.0).eval()
    attn.force_manual = force
    x, memory = 2 * torch.randn(3, 4, 8), 2 * torch.randn(3, 2, 8)
    with torch.no_grad():
        out = attn(x, memory)
        expected = _written_out_attention(attn, x, memory)
        self_only = _written_out_attention(attn, x, memory[:, :0])
    assert out.shape == (3, 4, 8)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attn(x).detach(), self_only, atol=1e-5, rtol=1e-5)


def test_memory_changes_the_output_and_receives_gradients():
    attn = MultiHeadSelfAttention(8, 2).eval()
    x = torch.randn(2, 4, 8)
    memory = torch.randn(2, 3, 8, requires_grad=True)
    out = attn(x, memory)
    assert not torch.allclose(out, attn(x), atol=1e-4)
    assert not torch.allclose(out, attn(x, memory + 1.0), atol=1e-4)
    out.square().sum().backward()
    assert memory.grad.abs().min() > 0


def test_attention_with_memory_is_self_attention_over_both_restricted_to_x():
    attn = MultiHeadSelfAttention(8, 2).eval()
    x, memory = torch.randn(2, 4, 8), torch.randn(2, 3, 8)
    with torch.no_grad():
        joint = attn(torch.cat([x, memory], dim=1))[:, :4]  # memory tokens as queries too
        torch.testing.assert_close(attn(x, memory), joint, atol=1e-5, rtol=1e-5)
        # empty memory is no memory
        torch.testing.assert_close(attn(x, memory[:, :0]), attn(x), atol=1e-6, rtol=0)


def _paths_with_memory(attn: MultiHeadSelfAttention, x, memory):
    """Output and gradients of ``x`` and ``memory`` through SDPA, then the manual path."""
    results = []
    for force in (False, True):
        attn.force_manual = force
        x_, m_ = x.clone().requires_grad_(True), memory.clone().requires_grad_(True)
        out = attn(x_, m_)
        out.square().sum().backward()
        results.append((out.detach(), x_.grad, m_.grad))
    return results


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize(
    ("batch", "tokens", "memory_tokens", "d_model", "n_heads", "max_scores"),
    [
        (2, 1, 2, 16, 4, None),  # one target token, two covariate tokens (EPF)
        (5, 6, 3, 24, 3, None),
        (6, 5, 3, 8, 2, 2 * 2 * 5 * 8),  # 2 rows per chunk: the checkpointed chunks
    ],
)
def test_sdpa_and_manual_attention_agree_with_memory(
    monkeypatch, train, batch, tokens, memory_tokens, d_model, n_heads, max_scores
):
    from sae_forecast.nn import transformer

    if max_scores is not None:
        monkeypatch.setattr(transformer, "MAX_SCORES_PER_CHUNK", max_scores)
    attn = MultiHeadSelfAttention(d_model, n_heads, dropout=0.0).train(train)
    x = 2 * torch.randn(batch, tokens, d_model)
    memory = 2 * torch.randn(batch, memory_tokens, d_model)
    (sdpa, *sdpa_grads), (manual, *manual_grads) = _paths_with_memory(attn, x, memory)
    torch.testing.assert_close(manual, sdpa, atol=1e-5, rtol=1e-5)
    for manual_grad, sdpa_grad in zip(manual_grads, sdpa_grads, strict=True):
        torch.testing.assert_close(manual_grad, sdpa_grad, atol=1e-5, rtol=1e-5)


def _chunked_memory_run(monkeypatch, max_scores, recompute=True, dropout=0.0):
    from sae_forecast.nn import transformer

    monkeypatch.setattr(transformer, "MAX_SCORES_PER_CHUNK", max_scores)
    if not recompute:
        monkeypatch.setattr(transformer, "checkpoint", lambda f, *a, **_: f(*a))
    chunks = []
    manual = transformer._manual_attention
    monkeypatch.setattr(
        transformer, "_manual_attention", lambda q, *a: chunks.append(len(q)) or manual(q, *a)
    )
    torch.manual_seed(0)
    attn = force_manual_attention(MultiHeadSelfAttention(8, 2, dropout=dropout).train())
    attn.dropout.generator = torch.Generator().manual_seed(11)
    x = torch.randn(6, 5, 8, requires_grad=True)
    memory = torch.randn(6, 3, 8, requires_grad=True)
    out = attn(x, memory)
    out.square().sum().backward()
    return chunks, out.detach(), x.grad, memory.grad, attn.qkv.weight.grad


def test_chunked_attention_with_memory_agrees_with_unchunked(monkeypatch):
    # scores per row: 2 heads x 5 queries x 8 keys = 80; the chunk size counts the memory keys
    chunks, *chunked = _chunked_memory_run(monkeypatch, max_scores=2 * 80 + 79)
    assert chunks[:3] == [2, 2, 2]  # three checkpointed chunks of 2 rows (then recomputed)
    whole_chunks, *whole = _chunked_memory_run(monkeypatch, max_scores=6 * 80)
    assert whole_chunks == [6]
    for a, b in zip(chunked, whole, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_chunked_attention_with_memory_recomputes_the_same_dropout_masks(monkeypatch):
    _, *out = _chunked_memory_run(monkeypatch, 2 * 80, recompute=True, dropout=0.3)
    _, *ref = _chunked_memory_run(monkeypatch, 2 * 80, recompute=False, dropout=0.3)
    assert torch.equal(out[0], ref[0])
    for a, b in zip(out[1:], ref[1:], strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_encoder_layer_reads_memory_without_updating_it():
    layer = EncoderLayer(8, 2, 16, dropout=0.0).eval()
    fed = []
    layer.ff_in.register_forward_hook(lambda _m, args, _o: fed.append(args[0].shape))
    x, memory = torch.randn(3, 4, 8), torch.randn(3, 2, 8)
    with torch.no_grad():
        out = layer(x, memory)
        attended = layer.norm1(x + layer.attention(x, memory))  # attention over x and memory
        expected = layer.norm2(attended + layer.ff_out(F.gelu(layer.ff_in(attended))))
    assert out.shape == (3, 4, 8)
    assert set(fed) == {torch.Size([3, 4, 8])}  # the feed-forward sees the tokens of x only
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(out, layer(x).detach(), atol=1e-4)


def test_encoder_gives_the_same_memory_to_every_layer():
    enc = TransformerEncoder(8, 2, 16, 2, dropout=0.0).eval()
    x, memory = torch.randn(3, 4, 8), torch.randn(3, 2, 8)
    first, second = enc.layers
    with torch.no_grad():
        out = enc(x, memory)
        every = enc.norm(second(first(x, memory), memory))
        first_only = enc.norm(second(first(x, memory)))
    assert out.shape == (3, 4, 8)
    torch.testing.assert_close(out, every, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(out, first_only, atol=1e-4)


def _encoder_pair(norm: str, dropout: float, chunk_size: int):
    whole = TransformerEncoder(8, 2, 12, 2, dropout=dropout, norm=norm).train()
    chunked = TransformerEncoder(8, 2, 12, 2, dropout=dropout, norm=norm, chunk_size=chunk_size)
    chunked.load_state_dict(whole.state_dict())
    return whole, chunked.train()


def _train_step(encoder, x, memory, seed=5):
    generator = torch.Generator().manual_seed(seed)
    attach_generator(encoder, generator)
    x = x.clone().requires_grad_()
    out = encoder(x, memory)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(9))).sum().backward()
    grads = [x.grad] + [p.grad for p in encoder.parameters()]
    return out.detach(), grads, generator.get_state()


@pytest.mark.parametrize("norm", ["batch", "layer"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("with_memory", [False, True])
def test_chunked_encoder_gives_the_same_output_and_gradients(
    monkeypatch, norm, dropout, with_memory
):
    monkeypatch.setattr(transformer, "MAX_SCORES_PER_CHUNK", 7 * 2 * 5 * 7)  # 7-row maps
    x = torch.randn(23, 5, 8) * 2 + 1
    memory = torch.randn(23, 2, 8) if with_memory else None
    whole, chunked = _encoder_pair(norm, dropout, chunk_size=4)
    out, grads, state = _train_step(whole, x, memory)
    chunked_out, chunked_grads, chunked_state = _train_step(chunked, x, memory)
    assert torch.equal(chunked_out, out)
    assert torch.equal(chunked_state, state)  # the same draws from the generator
    scale = max(g.abs().max() for g in grads)
    for a, b in zip(chunked_grads, grads, strict=True):
        assert (a - b).abs().max() <= 1e-6 * scale
    expected = whole.state_dict()  # BatchNorm's running statistics
    assert all(torch.equal(v, expected[k]) for k, v in chunked.state_dict().items())


def test_chunked_encoder_keeps_far_fewer_activations():
    x = torch.randn(64, 6, 8).requires_grad_()

    def saved_bytes(encoder):
        sizes = []

        def pack(t):
            sizes.append(t.numel() * t.element_size())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            encoder(x)
        return sum(sizes)

    whole, chunked = _encoder_pair("batch", 0.1, chunk_size=8)
    whole_bytes, chunked_bytes = saved_bytes(whole), saved_bytes(chunked)
    assert chunked_bytes < 0.4 * whole_bytes, (chunked_bytes, whole_bytes)


def test_chunks_run_only_in_training_with_gradients_and_above_the_chunk(monkeypatch):
    calls = []
    real = transformer.checkpoint
    monkeypatch.setattr(transformer, "checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    _, chunked = _encoder_pair("batch", 0.1, chunk_size=4)
    x = torch.randn(10, 5, 8)
    chunked.eval()(x)
    with torch.no_grad():
        chunked.train()(x)
    chunked(x[:4])
    assert calls == []
    chunked(x)
    assert len(calls) == 2 * 2 * 3  # two blocks per layer, two layers, three chunks of rows


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size must be a positive number of rows or None"):
        TransformerEncoder(8, 2, 8, 1, chunk_size=0)
