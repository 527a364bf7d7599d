"""Tests of sae_forecast.nn.embeddings: shapes, counts, initialisation, merging, caching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sae_forecast.nn.embeddings import (
    EMBEDDING_KINDS,
    LightSAEEmbedding,
    channel_matmul,
    make_embedding,
    parameter_count,
)

AUXILIARY = ["sae", "sae_lowrank", "lightsae"]
N, IN, OUT, RANK, POOL = 5, 12, 7, 3, 4


def _build(kind, in_features=IN, rank=RANK, bias=True):
    return make_embedding(kind, N, in_features, OUT, rank=rank, pool_size=POOL, bias=bias)


def _randomise(module):
    """Give every parameter a non-trivial value so the auxiliary path is active."""
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.3)
    return module


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
@pytest.mark.parametrize("middle", [(), (4,), (2, 3)])
def test_output_shape(kind, middle):
    x = torch.randn(6, N, *middle, IN)
    assert _build(kind)(x).shape == (6, N, *middle, OUT)


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_matches_formula(kind, bias):
    emb = _build(kind, bias=bias)
    expected = parameter_count(kind, N, IN, OUT, rank=RANK, pool_size=POOL, bias=bias)
    assert sum(p.numel() for p in emb.parameters()) == expected


def test_parameter_formulas_by_hand():
    # The DESIGN.md table written out for N=7, in=out=96, r=25, K=3.
    assert parameter_count("shared", 7, 96, 96) == 96 * 96 + 96
    assert parameter_count("independent", 7, 96, 96) == 7 * 96 * 96 + 7 * 96
    assert parameter_count("sae", 7, 96, 96) == 8 * 96 * 96 + 7 * 96
    assert parameter_count("sae_lowrank", 7, 96, 96) == 96 * 96 + 7 * 25 * 192 + 7 * 96
    assert parameter_count("lightsae", 7, 96, 96, pool_size=3) == (
        96 * 96 + 3 * 96 * 25 + 25 * 96 + 7 * 3 + 7 * 96
    )


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
def test_merged_weight_shape(kind):
    emb = _build(kind)
    assert emb.merged_weight().shape == (N, IN, OUT)
    assert emb.merged_bias().shape == (N, OUT)


@pytest.mark.parametrize("kind", AUXILIARY)
def test_auxiliary_path_starts_at_zero(kind):
    emb = _build(kind)
    shared = emb.shared_weight.expand(N, -1, -1)
    assert torch.equal(emb.merged_weight(), shared)
    x = torch.randn(3, N, IN)
    assert torch.allclose(emb(x), F.linear(x, emb.shared_weight.t()), atol=1e-6)


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
@pytest.mark.parametrize("in_features", [IN, 2])  # 2 < rank: the merge-first path
def test_training_forward_equals_merged_forward(kind, in_features):
    emb = _randomise(_build(kind, in_features=in_features))
    x = torch.randn(4, N, 3, in_features)
    merged = channel_matmul(x, emb.merged_weight(), emb.merged_bias())
    assert torch.allclose(emb(x), merged, atol=1e-5)


def test_lightsae_gates_are_softmax_rows():
    emb = _randomise(_build("lightsae"))
    gates = emb.gates()
    assert gates.shape == (N, POOL)
    assert torch.allclose(gates.sum(dim=1), torch.ones(N))
    assert torch.equal(gates, torch.softmax(emb.gate_logits, dim=-1))


def test_lightsae_residual_is_gated_pool_times_right_factor():
    emb = _randomise(_build("lightsae"))
    g = emb.gates()
    by_hand = torch.stack(
        [sum(g[i, k] * emb.left_pool[k] for k in range(POOL)) @ emb.right for i in range(N)]
    )
    assert torch.allclose(emb.auxiliary_weight(), by_hand, atol=1e-5)


def test_lowrank_residual_rank_is_at_most_r():
    emb = _randomise(_build("sae_lowrank"))
    ranks = torch.linalg.matrix_rank(emb.auxiliary_weight())
    assert int(ranks.max()) <= RANK


@pytest.mark.parametrize("kind", AUXILIARY)
def test_eval_cache_is_reused_and_invalidated(kind):
    emb = _randomise(_build(kind)).eval()
    x = torch.randn(2, N, IN)
    with torch.no_grad():
        first = emb(x)
        cached = emb._cache[1]
        assert torch.equal(emb(x), first)
        assert emb._cache[1] is cached  # reused, not rebuilt
        next(emb.parameters()).add_(0.5)  # an in-place update, as an optimiser step does
        changed = emb(x)
    assert not torch.allclose(changed, first)
    expected = channel_matmul(x, emb.merged_weight(), emb.merged_bias())
    assert torch.allclose(changed, expected, atol=1e-5)


@pytest.mark.parametrize("kind", AUXILIARY)
def test_cache_cleared_by_load_state_dict_and_train(kind):
    emb = _randomise(_build(kind)).eval()
    other = _randomise(_build(kind))
    x = torch.randn(2, N, IN)
    with torch.no_grad():
        before = emb(x)
        emb.load_state_dict(other.state_dict())
        after = emb(x)
    assert not torch.allclose(before, after)
    assert torch.allclose(after, other.eval()(x), atol=1e-6)
    emb.train()
    assert emb._cache is None


def test_cache_not_used_when_gradients_are_needed():
    emb = _randomise(_build("lightsae")).eval()
    emb(torch.randn(2, N, IN)).sum().backward()
    assert emb._cache is None
    assert emb.gate_logits.grad is not None


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
def test_wrong_channel_count_names_shapes(kind):
    with pytest.raises(
        ValueError, match=r"n_channels=5, \.\.\., in_features=12\), got \(2, 4, 12\)"
    ):
        _build(kind)(torch.randn(2, 4, IN))


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
def test_wrong_feature_size_names_shapes(kind):
    with pytest.raises(ValueError, match=r"in_features=12\), got \(2, 5, 11\)"):
        _build(kind)(torch.randn(2, N, 11))


def test_unknown_kind_lists_choices():
    with pytest.raises(ValueError, match=r"Unknown embedding kind 'moe'; choose one of \['shared'"):
        make_embedding("moe", N, IN, OUT)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_invalid_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        LightSAEEmbedding(N, IN, OUT, rank=bad)


def test_reset_parameters_uses_generator():
    emb = _build("lightsae")
    emb.reset_parameters(torch.Generator().manual_seed(3))
    first = [p.clone() for p in emb.parameters()]
    emb.reset_parameters(torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first, emb.parameters(), strict=True))


def _gated(logits):
    emb = LightSAEEmbedding(len(logits), IN, OUT, rank=RANK, pool_size=len(logits[0]))
    with torch.no_grad():
        emb.gate_logits.copy_(torch.tensor(logits, dtype=torch.float32))
    return emb


def test_balance_penalty_is_zero_for_even_usage_and_positive_when_collapsed():
    even = _gated([[30.0, 0.0], [0.0, 30.0]])  # each channel its own component: usage 1/2, 1/2
    collapsed = _gated([[30.0, 0.0], [30.0, 0.0]])  # everyone on component 0
    assert even.gate_penalty("balance").item() == pytest.approx(0.0, abs=1e-3)
    assert collapsed.gate_penalty("balance").item() == pytest.approx(np.log(2), abs=1e-3)


def test_entropy_penalty_is_one_for_uniform_and_zero_for_one_hot():
    assert _gated([[0.0, 0.0, 0.0]] * 2).gate_penalty("entropy").item() == pytest.approx(1.0)
    assert _gated([[30.0, 0.0, 0.0]] * 2).gate_penalty("entropy").item() == pytest.approx(
        0, abs=1e-6
    )


def test_gate_penalty_has_gradients_and_rejects_unknown_kinds():
    emb = _randomise(_build("lightsae"))
    emb.gate_penalty("balance").backward()
    assert emb.gate_logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="gate penalty must be 'balance' or 'entropy', got 'l2'"):
        emb.gate_penalty("l2")


def _pooled(in_features=IN):
    return LightSAEEmbedding(N, in_features, OUT, rank=RANK, pool_size=POOL, pooled_bias=True)


def test_pooled_bias_is_the_gated_mix_of_k_biases():
    emb = _randomise(_pooled())
    assert emb.bias is None and emb.bias_pool.shape == (POOL, OUT)
    g = emb.gates()
    by_hand = torch.stack([sum(g[i, k] * emb.bias_pool[k] for k in range(POOL)) for i in range(N)])
    assert torch.allclose(emb.merged_bias(), by_hand, atol=1e-6)
    expected = parameter_count("lightsae", N, IN, OUT, rank=RANK, pool_size=POOL, pooled_bias=True)
    assert sum(p.numel() for p in emb.parameters()) == expected
    assert expected == parameter_count("lightsae", N, IN, OUT, rank=RANK, pool_size=POOL) - (
        (N - POOL) * OUT
    )


@pytest.mark.parametrize("in_features", [IN, 2])  # 2 < rank: the merge-first path
def test_pooled_bias_enters_training_and_cached_eval_forward(in_features):
    emb = _randomise(_pooled(in_features))
    x = torch.randn(4, N, 3, in_features)
    merged = channel_matmul(x, emb.merged_weight(), emb.merged_bias())
    assert torch.allclose(emb(x), merged, atol=1e-5)
    emb.eval()
    with torch.no_grad():
        assert torch.allclose(emb(x), merged, atol=1e-5)
    emb.train()
    emb(x).sum().backward()
    assert emb.bias_pool.grad is not None and emb.bias_pool.grad.abs().sum() > 0


def test_pooled_biases_start_apart_so_channels_differ():
    emb = _pooled()
    emb.reset_parameters(torch.Generator().manual_seed(0))
    assert 0 < emb.bias_pool.std().item() < 0.05
    assert "pooled_bias=True" in repr(emb)


def test_pooled_bias_needs_the_lightsae_embedding():
    with pytest.raises(ValueError, match="pooled_bias needs the 'lightsae' embedding"):
        make_embedding("sae", N, IN, OUT, pooled_bias=True)
