"""Gates and channel clusters: do channels specialise, and do they group by type?

LightSAE gives channel ``i`` the mixture ``g_i = softmax(G_i)`` over a pool of ``K`` low-rank
components. These functions read the gates, measure how spread they are (entropy in nats,
effective number of components used) and cluster channels by their gates or their auxiliary
weights, to compare with known channel types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import entr
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score

from sae_forecast.analysis._inputs import get_embedding, require_auxiliary, to_numpy
from sae_forecast.nn import LightSAEEmbedding

__all__ = [
    "agreement",
    "cluster_channels",
    "collapse_report",
    "effective_components",
    "gate_entropy",
    "gate_matrix",
    "residual_features",
]

SUM_TOLERANCE = 1e-4  # float32 softmax rows sum to 1 within about 1e-7
CLUSTER_METHODS = ("kmeans", "agglomerative")


def _as_gates(gates: Any) -> np.ndarray:
    values = np.asarray(gates, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise ValueError(
            f"gates must be a 1-D (K,) or 2-D (n_channels, K) array, got shape {values.shape}."
        )
    if (values < 0).any() or not np.allclose(values.sum(axis=-1), 1.0, atol=SUM_TOLERANCE):
        raise ValueError("gates must be non-negative with every row summing to 1.")
    return values


def gate_matrix(obj: Any) -> np.ndarray:
    """Softmax gates of a LightSAE embedding as a float64 array.

    Parameters
    ----------
    obj : forecaster, torch.nn.Module or ChannelEmbedding
        Anything :func:`~sae_forecast.analysis.get_embedding` accepts, holding a
        :class:`~sae_forecast.nn.LightSAEEmbedding`.

    Returns
    -------
    ndarray of shape (n_channels, pool_size)
        Row ``i`` is ``g_i``; every row sums to 1.

    Examples
    --------
    >>> from sae_forecast.nn import LightSAEEmbedding
    >>> gate_matrix(LightSAEEmbedding(4, 8, 8, rank=2, pool_size=3)).shape
    (4, 3)
    """
    embedding = get_embedding(obj)
    if not isinstance(embedding, LightSAEEmbedding):
        raise TypeError(
            f"gate_matrix needs a LightSAEEmbedding (only LightSAE has gates), got "
            f"{type(embedding).__name__}."
        )
    with torch.no_grad():
        return to_numpy(embedding.gates())


def gate_entropy(gates: Any) -> np.ndarray | float:
    """Entropy of each channel's gate vector, in nats.

    Parameters
    ----------
    gates : array-like of shape (n_channels, K) or (K,)
        Gate rows (non-negative, summing to 1).

    Returns
    -------
    ndarray of shape (n_channels,), or float for one gate vector
        ``H_i = -sum_k g_ik log g_ik``: ``log K`` for uniform gates, 0 for one-hot gates.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(gate_entropy(np.full(4, 0.25)), np.log(4)))
    True
    >>> gate_entropy([[1.0, 0.0], [0.0, 1.0]])
    array([0., 0.])
    """
    entropy = entr(_as_gates(gates)).sum(axis=-1)
    return float(entropy) if entropy.ndim == 0 else entropy


def effective_components(gates: Any) -> float:
    """How many pool components the channels use overall: ``exp`` of the mean gate's entropy.

    Parameters
    ----------
    gates : array-like of shape (n_channels, K)
        Gate rows.

    Returns
    -------
    float
        Between 1 (every channel picks the same single component) and ``K`` (the pool is used
        evenly across channels, whether by uniform gates or by specialised channels that
        spread over all components).

    Examples
    --------
    >>> import numpy as np
    >>> round(effective_components(np.eye(3)), 6)  # every channel its own component
    3.0
    >>> effective_components([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    1.0
    """
    mean_gate = np.atleast_2d(_as_gates(gates)).mean(axis=0)
    return float(np.exp(entr(mean_gate).sum()))


def collapse_report(
    gates: Any, *, uniform_threshold: float = 0.99, single_threshold: float = 1.1
) -> dict[str, float | int | bool]:
    """Summarise whether the gates specialised, stayed uniform or collapsed onto one component.

    Parameters
    ----------
    gates : array-like of shape (n_channels, K)
        Gate rows.
    uniform_threshold : float, default=0.99
        ``uniform`` is True when the mean normalised entropy exceeds it.
    single_threshold : float, default=1.1
        ``single_component`` is True when the effective number of components is below it.

    Returns
    -------
    dict
        ``pool_size`` (K), ``mean_entropy`` (nats), ``normalised_entropy`` (mean of
        ``H_i / log K``; 1 when ``K = 1``), ``effective_components``, ``largest_share``
        (largest entry of the mean gate), ``uniform`` (gates did not specialise) and
        ``single_component`` (the pool collapsed onto one component).

    Examples
    --------
    >>> import numpy as np
    >>> report = collapse_report(np.full((5, 4), 0.25))
    >>> report["uniform"], report["single_component"], round(report["effective_components"], 6)
    (True, False, 4.0)
    """
    values = np.atleast_2d(_as_gates(gates))
    pool_size = values.shape[1]
    entropy = gate_entropy(values)
    normalised = entropy / np.log(pool_size) if pool_size > 1 else np.ones_like(entropy)
    effective = effective_components(values)
    return {
        "pool_size": pool_size,
        "mean_entropy": float(entropy.mean()),
        "normalised_entropy": float(normalised.mean()),
        "effective_components": effective,
        "largest_share": float(values.mean(axis=0).max()),
        "uniform": bool(normalised.mean() > uniform_threshold),
        "single_component": bool(effective < single_threshold),
    }


def cluster_channels(
    features: Any, n_clusters: int, *, method: str = "kmeans", random_state: int | None = 0
) -> np.ndarray:
    """Cluster channels by their feature rows (gates, residual weights, statistics).

    Parameters
    ----------
    features : array-like of shape (n_channels, n_features)
        One row per channel; used as given (scale them first if their units differ).
    n_clusters : int
        Number of clusters, at most ``n_channels``.
    method : {"kmeans", "agglomerative"}, default="kmeans"
        ``KMeans`` (10 restarts) or Ward ``AgglomerativeClustering`` from scikit-learn.
    random_state : int or None, default=0
        Seed of k-means (agglomerative clustering is deterministic).

    Returns
    -------
    ndarray of int, shape (n_channels,)
        Cluster label of every channel.

    Examples
    --------
    >>> features = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
    >>> labels = cluster_channels(features, 2)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    >>> agreement(cluster_channels(features, 2, method="agglomerative"), [0, 0, 1, 1])
    1.0
    """
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"features must be 2-D (n_channels, n_features), got {values.shape}.")
    if not 1 <= n_clusters <= len(values):
        raise ValueError(f"n_clusters must be in [1, {len(values)}], got {n_clusters}.")
    if method == "kmeans":
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
    elif method == "agglomerative":
        model = AgglomerativeClustering(n_clusters=n_clusters, linkage="ward")
    else:
        raise ValueError(f"method must be one of {CLUSTER_METHODS}, got {method!r}.")
    return model.fit_predict(values).astype(np.int64)


def residual_features(obj: Any) -> np.ndarray:
    """Flattened auxiliary weights ``W_i - W_sh``, one row per channel, for clustering.

    Parameters
    ----------
    obj : forecaster, torch.nn.Module or ChannelEmbedding
        Anything :func:`~sae_forecast.analysis.get_embedding` accepts, holding an embedding
        of the SAE family.

    Returns
    -------
    ndarray of shape (n_channels, in_features * out_features)

    Examples
    --------
    >>> from sae_forecast.nn import SAEEmbedding
    >>> residual_features(SAEEmbedding(n_channels=3, in_features=4, out_features=2)).shape
    (3, 8)
    """
    embedding = get_embedding(obj)
    require_auxiliary(embedding, purpose="residual_features")
    with torch.no_grad():
        weight = to_numpy(embedding.auxiliary_weight())  # (N, in, out)
    return weight.reshape(len(weight), -1)  # (N, in*out)


def agreement(labels: Any, known_types: Any) -> float:
    """Adjusted Rand index between found clusters and known channel types.

    Parameters
    ----------
    labels : array-like of shape (n_channels,)
        Cluster labels (their ids need not match the types').
    known_types : array-like of shape (n_channels,)
        Ground-truth type of every channel.

    Returns
    -------
    float
        1 for the same partition, about 0 for a random one.

    Examples
    --------
    >>> agreement([0, 0, 1, 1], [7, 7, 3, 3])
    1.0
    """
    labels, known_types = np.asarray(labels), np.asarray(known_types)
    if labels.ndim != 1 or labels.shape != known_types.shape:
        raise ValueError(
            f"labels and known_types must be 1-D of equal length, got shapes {labels.shape} "
            f"and {known_types.shape}."
        )
    return float(adjusted_rand_score(known_types, labels))
