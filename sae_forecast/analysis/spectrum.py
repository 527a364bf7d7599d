"""Singular-value energy of the per-channel weights: is the auxiliary path low-rank?

The paper motivates LightSAE by the observation that the channel-specific residuals ``W_i -
W_sh`` learned by a full-rank SAE concentrate their energy in a few singular values. The
functions here measure that: ``E_k = sum_{j<=k} s_j^2 / sum_j s_j^2`` per channel and the
smallest ``k`` reaching a given share of the energy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from sae_forecast.analysis._inputs import get_embedding, require_auxiliary, to_numpy

__all__ = ["channel_spectra", "energy_ratio", "rank_for_energy", "spectrum_table"]

DEFAULT_LEVELS = (0.9, 0.95, 0.99)
LEVEL_TOLERANCE = 1e-10  # a curve counts as reaching a level within float rounding
WEIGHT_KINDS = ("auxiliary", "merged")


def _as_spectra(singular_values: Any) -> np.ndarray:
    values = np.asarray(singular_values, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise ValueError(
            "singular_values must be a non-empty 1-D array or a 2-D array (n_channels, r), "
            f"got shape {values.shape}."
        )
    if (values < 0).any() or not np.isfinite(values).all():
        raise ValueError("singular_values must be finite and non-negative.")
    return values


def energy_ratio(singular_values: Any) -> np.ndarray:
    """Cumulative energy ``E_k = sum_{j<=k} s_j^2 / sum_j s_j^2`` along the last axis.

    Parameters
    ----------
    singular_values : array-like of shape (r,) or (n_channels, r)
        Singular values in decreasing order (one row per channel).

    Returns
    -------
    ndarray of the same shape
        ``E_1, ..., E_r``: non-decreasing, the last entry exactly 1. A row of zeros (a zero
        matrix needs no component) gives a row of ones.

    Examples
    --------
    >>> energy_ratio([3.0, 1.0, 0.0])
    array([0.9, 1. , 1. ])
    >>> energy_ratio([[1.0, 1.0], [0.0, 0.0]])
    array([[0.5, 1. ],
           [1. , 1. ]])
    """
    energy = np.cumsum(_as_spectra(singular_values) ** 2, axis=-1)
    total = energy[..., -1:]  # the cumulative sum itself, so the last entry is exactly 1
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total > 0, np.minimum(energy / safe_total, 1.0), 1.0)


def rank_for_energy(singular_values: Any, levels: Sequence[float] = DEFAULT_LEVELS) -> np.ndarray:
    """Smallest number of singular values whose energy share reaches each level.

    Parameters
    ----------
    singular_values : array-like of shape (r,) or (n_channels, r)
        Singular values in decreasing order (one row per channel).
    levels : sequence of float, default=(0.9, 0.95, 0.99)
        Energy shares in ``(0, 1]``.

    Returns
    -------
    ndarray of int, shape (n_levels,) or (n_channels, n_levels)
        ``min{k : E_k >= level}``; 0 for a zero matrix.

    Examples
    --------
    >>> rank_for_energy([3.0, 1.0, 0.3], levels=(0.5, 0.9, 0.999))
    array([1, 2, 3])
    """
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0 or (levels <= 0).any() or (levels > 1).any():
        raise ValueError(f"levels must be a non-empty sequence of values in (0, 1], got {levels}.")
    spectra = _as_spectra(singular_values)
    energy = energy_ratio(spectra)
    reached = energy[..., None, :] >= levels[:, None] - LEVEL_TOLERANCE  # (..., n_levels, r)
    ranks = reached.argmax(axis=-1) + 1
    is_zero = (spectra == 0).all(axis=-1)
    return np.where(is_zero[..., None], 0, ranks)


def channel_spectra(obj: Any, which: str = "auxiliary") -> np.ndarray:
    """Singular values of every channel's weight, in float64.

    Parameters
    ----------
    obj : forecaster, torch.nn.Module or ChannelEmbedding
        Anything :func:`get_embedding` accepts.
    which : {"auxiliary", "merged"}, default="auxiliary"
        ``"auxiliary"``: the channel-specific part ``W_i - W_sh`` (SAE family only).
        ``"merged"``: the whole weight ``W_i`` (every embedding; the only choice for
        ``SharedEmbedding`` and ``IndependentEmbedding``).

    Returns
    -------
    ndarray of shape (n_channels, min(in_features, out_features))
        Singular values per channel, in decreasing order.

    Examples
    --------
    >>> from sae_forecast.nn import LowRankSAEEmbedding
    >>> emb = LowRankSAEEmbedding(n_channels=3, in_features=8, out_features=6, rank=2)
    >>> channel_spectra(emb).shape  # the residual starts at zero
    (3, 6)
    >>> float(channel_spectra(emb).max())
    0.0
    """
    if which not in WEIGHT_KINDS:
        raise ValueError(f"which must be one of {WEIGHT_KINDS}, got {which!r}.")
    embedding = get_embedding(obj)
    with torch.no_grad():
        if which == "auxiliary":
            require_auxiliary(embedding, purpose="which='auxiliary' (use which='merged')")
            weight = to_numpy(embedding.auxiliary_weight())
        else:
            weight = to_numpy(embedding.merged_weight())
    return np.linalg.svd(weight, compute_uv=False)  # (N, min(in, out))


def spectrum_table(
    obj: Any, which: str = "auxiliary", levels: Sequence[float] = DEFAULT_LEVELS
) -> pd.DataFrame:
    """One row per channel: ranks reaching each energy level, plus a spectrum summary.

    Parameters
    ----------
    obj : forecaster, torch.nn.Module or ChannelEmbedding
        Anything :func:`get_embedding` accepts.
    which : {"auxiliary", "merged"}, default="auxiliary"
        Which weight to decompose (see :func:`channel_spectra`).
    levels : sequence of float, default=(0.9, 0.95, 0.99)
        Energy shares; one column ``rank_<percent>`` each.

    Returns
    -------
    DataFrame
        Indexed by ``channel``; columns ``rank_90``, ``rank_95``, ``rank_99`` (for the
        default levels), ``max_rank`` (``min(in, out)``), ``numerical_rank`` (singular values
        above the usual ``s_max * max(in, out) * eps`` threshold, with the machine epsilon of
        the embedding's parameter dtype), ``top_share`` (energy in the largest singular value)
        and ``frobenius_norm``.

    Examples
    --------
    >>> import torch
    >>> from sae_forecast.nn import SharedEmbedding
    >>> emb = SharedEmbedding(n_channels=2, in_features=6, out_features=4)
    >>> table = spectrum_table(emb, which="merged")
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['rank_90', 'rank_95', 'rank_99', 'max_rank', 'numerical_rank', 'top_share',
     'frobenius_norm']
    >>> table["numerical_rank"].tolist()
    [4, 4]
    """
    spectra = channel_spectra(obj, which=which)
    ranks = rank_for_energy(spectra, levels=levels)
    table = pd.DataFrame(
        ranks, columns=[f"rank_{100 * level:g}" for level in levels], dtype="int64"
    )
    embedding = get_embedding(obj)
    size = max(embedding.in_features, embedding.out_features)
    eps = torch.finfo(next(embedding.parameters()).dtype).eps  # the precision the weights have
    threshold = spectra.max(axis=1, keepdims=True) * size * eps
    energy = (spectra**2).sum(axis=1)
    table["max_rank"] = spectra.shape[1]
    table["numerical_rank"] = ((spectra > threshold) & (spectra > 0)).sum(axis=1)
    table["top_share"] = np.divide(
        spectra[:, 0] ** 2, energy, out=np.zeros_like(energy), where=energy > 0
    )
    table["frobenius_norm"] = np.sqrt(energy)
    table.index.name = "channel"
    return table
