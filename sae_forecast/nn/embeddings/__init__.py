"""The Shared-Auxiliary Embedding (SAE) family: one linear map per channel.

Every class maps ``(batch, n_channels, *, in_features)`` to ``(batch, n_channels, *,
out_features)``; channel ``i`` is multiplied by its own weight ``W_i`` (``in_features x
out_features``) and shifted by its bias ``b_i``. The classes differ only in how ``W_i`` is
parameterised:

===============  ===================================  ===========================================
kind             weight for channel i                 parameters (plus bias)
===============  ===================================  ===========================================
``shared``       ``W_sh``                             ``in*out``
``independent``  ``W_i``                              ``N*in*out``
``sae``          ``W_sh + W_i``                       ``(N+1)*in*out``
``sae_lowrank``  ``W_sh + A_i B_i``                   ``in*out + N*r*(in+out)``
``lightsae``     ``W_sh + (sum_k g_ik A_k) B``        ``in*out + K*in*r + r*out + N*K``
===============  ===================================  ===========================================

The bias is one vector of ``out`` entries for ``shared`` and one per channel (``N*out``) for
every other kind. The auxiliary path of ``sae``, ``sae_lowrank`` and ``lightsae`` starts at
exactly zero, so at initialisation each of them computes the same function as ``shared``.
"""

from __future__ import annotations

from sae_forecast.nn.embeddings.auxiliary import LowRankSAEEmbedding, SAEEmbedding
from sae_forecast.nn.embeddings.base import (
    DEFAULT_POOL_SIZE,
    DEFAULT_RANK,
    ChannelEmbedding,
    channel_matmul,
    channel_rows,
)
from sae_forecast.nn.embeddings.lightsae import LightSAEEmbedding
from sae_forecast.nn.embeddings.plain import IndependentEmbedding, SharedEmbedding

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_RANK",
    "EMBEDDING_KINDS",
    "ChannelEmbedding",
    "IndependentEmbedding",
    "LightSAEEmbedding",
    "LowRankSAEEmbedding",
    "SAEEmbedding",
    "SharedEmbedding",
    "channel_matmul",
    "channel_rows",
    "make_embedding",
    "parameter_count",
]


EMBEDDING_KINDS: dict[str, type[ChannelEmbedding]] = {
    "shared": SharedEmbedding,
    "independent": IndependentEmbedding,
    "sae": SAEEmbedding,
    "sae_lowrank": LowRankSAEEmbedding,
    "lightsae": LightSAEEmbedding,
}


def make_embedding(
    kind: str,
    n_channels: int,
    in_features: int,
    out_features: int,
    *,
    rank: int = DEFAULT_RANK,
    pool_size: int = DEFAULT_POOL_SIZE,
    bias: bool = True,
    pooled_bias: bool = False,
) -> ChannelEmbedding:
    """Build an embedding of the family by name.

    Parameters
    ----------
    kind : {"shared", "independent", "sae", "sae_lowrank", "lightsae"}
        Which parameterisation of the per-channel weight to use.
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    rank : int, default=25
        Rank of the residuals (``sae_lowrank`` and ``lightsae``; ignored otherwise).
    pool_size : int, default=10
        Number of pooled left factors (``lightsae`` only; ignored otherwise).
    bias : bool, default=True
        Whether to learn a bias (shared for ``shared``, per channel otherwise).

    Returns
    -------
    ChannelEmbedding

    Examples
    --------
    >>> emb = make_embedding("lightsae", 7, 96, 96, rank=25, pool_size=3)
    >>> type(emb).__name__
    'LightSAEEmbedding'
    """
    if kind not in EMBEDDING_KINDS:
        raise ValueError(f"Unknown embedding kind {kind!r}; choose one of {list(EMBEDDING_KINDS)}.")
    cls = EMBEDDING_KINDS[kind]
    options: dict[str, int | bool] = {"bias": bias}
    if cls in (LowRankSAEEmbedding, LightSAEEmbedding):
        options["rank"] = rank
    if cls is LightSAEEmbedding:
        options.update(pool_size=pool_size, pooled_bias=pooled_bias)
    elif pooled_bias:
        raise ValueError(
            f"pooled_bias needs the 'lightsae' embedding (it uses its gates), got {kind!r}."
        )
    return cls(n_channels, in_features, out_features, **options)


def parameter_count(
    kind: str,
    n_channels: int,
    in_features: int,
    out_features: int,
    *,
    rank: int = DEFAULT_RANK,
    pool_size: int = DEFAULT_POOL_SIZE,
    bias: bool = True,
    pooled_bias: bool = False,
) -> int:
    """Return the number of parameters of an embedding from the formulas in the table above.

    Examples
    --------
    >>> parameter_count("lightsae", 7, 96, 96, rank=25, pool_size=3)
    19509
    >>> parameter_count("lightsae", 7, 96, 96, rank=25, pool_size=3, pooled_bias=True)
    19125
    """
    n, i, o, r, k = n_channels, in_features, out_features, rank, pool_size
    weights = {
        "shared": i * o,
        "independent": n * i * o,
        "sae": (n + 1) * i * o,
        "sae_lowrank": i * o + n * r * (i + o),
        "lightsae": i * o + k * i * r + r * o + n * k,
    }[kind]
    if not bias:
        bias_size = 0
    elif pooled_bias and kind == "lightsae":
        bias_size = k * o
    else:
        bias_size = o if kind == "shared" else n * o
    return weights + bias_size
