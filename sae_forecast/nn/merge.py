"""Export trained SAE-family embeddings as plain per-channel weights."""

from __future__ import annotations

import copy

import torch
from torch import nn

from sae_forecast.nn.embeddings import ChannelEmbedding, IndependentEmbedding

__all__ = ["merge_embeddings", "to_independent"]


def to_independent(embedding: ChannelEmbedding) -> IndependentEmbedding:
    """Return an :class:`IndependentEmbedding` holding ``embedding``'s merged weights.

    The result computes the same function (to float rounding) with one batched matmul and no
    shared base, pool or gates: the deployable form of a trained SAE or LightSAE embedding.

    Examples
    --------
    >>> import torch
    >>> from sae_forecast.nn import LightSAEEmbedding
    >>> emb = LightSAEEmbedding(3, 8, 4, rank=2, pool_size=2)
    >>> plain = to_independent(emb)
    >>> x = torch.randn(5, 3, 8)
    >>> bool(torch.allclose(plain(x), emb(x), atol=1e-6))
    True
    """
    weight = embedding.merged_weight().detach()
    bias = embedding.merged_bias()
    plain = IndependentEmbedding(
        embedding.n_channels, embedding.in_features, embedding.out_features, bias=bias is not None
    ).to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        plain.weight.copy_(weight)
        if bias is not None:
            plain.bias.copy_(bias)
    return plain


def merge_embeddings(model: nn.Module) -> nn.Module:
    """Return a copy of ``model`` with every channel embedding replaced by its merged weights.

    Examples
    --------
    >>> import torch
    >>> from sae_forecast.nn import RLinear
    >>> model = RLinear(16, 4, n_channels=3, embedding="lightsae", rank=2, pool_size=2).eval()
    >>> merged = merge_embeddings(model)
    >>> type(merged.embedding).__name__
    'IndependentEmbedding'
    """
    merged = copy.deepcopy(model)
    targets = [
        (name, sub)
        for name, sub in merged.named_modules()
        if name and isinstance(sub, ChannelEmbedding) and not isinstance(sub, IndependentEmbedding)
    ]
    if isinstance(merged, ChannelEmbedding) and not isinstance(merged, IndependentEmbedding):
        return to_independent(merged).train(merged.training)
    for name, sub in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = merged.get_submodule(parent_name) if parent_name else merged
        setattr(parent, attr, to_independent(sub).train(sub.training))
    return merged
