"""Tests of sae_forecast.nn.merge: the exported plain-weight model computes the same function."""

from __future__ import annotations

import pytest
import torch

from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS, IndependentEmbedding
from sae_forecast.nn.embeddings import make_embedding
from sae_forecast.nn.merge import merge_embeddings, to_independent
from tests.models import build_backbone


def _randomise(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return module


@pytest.mark.parametrize("kind", list(EMBEDDING_KINDS))
def test_to_independent_same_outputs(kind):
    emb = _randomise(make_embedding(kind, 4, 10, 6, rank=3, pool_size=2))
    plain = to_independent(emb)
    assert isinstance(plain, IndependentEmbedding)
    x = torch.randn(8, 4, 10)
    assert torch.allclose(plain(x), emb(x), atol=1e-6)


def test_to_independent_without_bias():
    emb = make_embedding("lightsae", 4, 10, 6, rank=3, pool_size=2, bias=False)
    assert to_independent(emb).bias is None


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("kind", ["sae", "sae_lowrank", "lightsae"])
def test_merged_backbone_same_outputs(backbone, kind):
    model = _randomise(build_backbone(backbone, kind)).eval()
    merged = merge_embeddings(model)
    assert isinstance(merged.embedding, IndependentEmbedding)
    assert type(model.embedding) is not IndependentEmbedding  # the original is untouched
    x = torch.randn(4, model.seq_len, model.n_channels)
    with torch.no_grad():
        assert torch.allclose(merged(x), model(x), atol=1e-5)


def test_merge_embedding_itself():
    emb = make_embedding("sae", 2, 3, 4)
    assert isinstance(merge_embeddings(emb), IndependentEmbedding)


def test_to_independent_keeps_a_pooled_bias():
    emb = _randomise(make_embedding("lightsae", 4, 10, 6, rank=3, pool_size=2, pooled_bias=True))
    x = torch.randn(8, 4, 10)
    assert torch.allclose(to_independent(emb)(x), emb(x), atol=1e-6)


@pytest.mark.parametrize(
    ("backbone", "extra"),
    [
        ("RLinear", {"covariate_gates": True}),
        ("RMLP", {"covariate_gates": True}),
        ("PatchTST", {"covariate_gates": False}),
        ("iTransformer", {}),
    ],
)
def test_merged_backbone_with_covariates_same_outputs(backbone, extra):
    options = {"n_future_covariates": 2, "n_past_covariates": 1, **extra}
    model = _randomise(build_backbone(backbone, "lightsae", **options)).eval()
    merged = merge_embeddings(model)
    assert isinstance(merged.embedding, IndependentEmbedding)
    for name, module in model.named_modules():  # the covariate modules are copied as they are
        if "covariate" in name:
            assert type(merged.get_submodule(name)) is type(module)
    x = torch.randn(4, model.seq_len, model.n_channels)
    covariates = torch.randn(4, model.seq_len + model.pred_len, 3)
    with torch.no_grad():
        assert torch.allclose(merged(x, covariates), model(x, covariates), atol=1e-5)
