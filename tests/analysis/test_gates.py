"""Tests of sae_forecast.analysis.gates: entropy, collapse flags, clustering, agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.analysis import (
    agreement,
    cluster_channels,
    collapse_report,
    effective_components,
    gate_entropy,
    gate_matrix,
    residual_features,
)
from sae_forecast.nn import LightSAEEmbedding, RLinear, SAEEmbedding, SharedEmbedding

N, IN, OUT, K = 6, 8, 5, 4


def _blobs(n_per_blob=5, n_blobs=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.eye(n_blobs, 4)
    types = np.repeat(np.arange(n_blobs), n_per_blob)
    return centres[types] + rng.normal(scale=0.3, size=(len(types), 4)), types


@pytest.mark.parametrize("pool_size", [2, 3, 10])
def test_uniform_gates_have_entropy_log_k(pool_size):
    gates = np.full((N, pool_size), 1 / pool_size)
    np.testing.assert_allclose(gate_entropy(gates), np.log(pool_size))
    report = collapse_report(gates)
    assert report["uniform"] and not report["single_component"]
    assert report["normalised_entropy"] == pytest.approx(1.0)
    assert report["effective_components"] == pytest.approx(pool_size)


def test_one_hot_gates_on_one_component_collapse():
    gates = np.zeros((N, K))
    gates[:, 2] = 1.0
    np.testing.assert_array_equal(gate_entropy(gates), 0.0)
    assert effective_components(gates) == pytest.approx(1.0)
    report = collapse_report(gates)
    assert report["single_component"] and not report["uniform"]
    assert report["largest_share"] == 1.0 and report["mean_entropy"] == 0.0


def test_specialised_one_hot_gates_use_the_whole_pool():
    gates = np.eye(K)[np.arange(8) % K]  # every component chosen by two channels
    report = collapse_report(gates)
    assert report["effective_components"] == pytest.approx(K)
    assert not report["uniform"] and not report["single_component"]
    assert report["largest_share"] == pytest.approx(1 / K)


def test_collapse_report_keys_and_thresholds():
    gates = np.full((3, K), 1 / K)
    report = collapse_report(gates, uniform_threshold=1.5, single_threshold=5.0)
    assert set(report) == {
        "pool_size",
        "mean_entropy",
        "normalised_entropy",
        "effective_components",
        "largest_share",
        "uniform",
        "single_component",
    }
    assert report["pool_size"] == K
    assert not report["uniform"] and report["single_component"]


def test_gate_functions_reject_rows_that_are_not_distributions():
    with pytest.raises(ValueError, match="non-negative with every row summing to 1"):
        gate_entropy([[0.5, 0.6]])
    with pytest.raises(ValueError, match="non-negative with every row summing to 1"):
        collapse_report([[1.5, -0.5]])


def test_gate_matrix_reads_lightsae_through_a_backbone():
    model = RLinear(IN, OUT, n_channels=N, embedding="lightsae", rank=2, pool_size=K)
    with torch.no_grad():
        model.embedding.gate_logits.normal_(0.0, 2.0)
    gates = gate_matrix(model)
    assert gates.shape == (N, K) and gates.dtype == np.float64
    np.testing.assert_allclose(gates.sum(axis=1), 1.0)
    np.testing.assert_allclose(gates, model.embedding.gates().detach().double().numpy())


@pytest.mark.parametrize("embedding", [SharedEmbedding(N, IN, OUT), SAEEmbedding(N, IN, OUT)])
def test_gate_matrix_needs_lightsae(embedding):
    with pytest.raises(
        TypeError, match=rf"needs a LightSAEEmbedding .* got {type(embedding).__name__}"
    ):
        gate_matrix(embedding)


def test_perfect_clustering_with_permuted_ids_has_ari_one():
    types = np.array([0, 0, 1, 1, 2, 2, 2])
    permuted = np.array([5, 5, 3, 3, 9, 9, 9])
    assert agreement(permuted, types) == 1.0
    assert agreement([0, 1, 0, 1, 0, 1, 0], types) < 0.5


def test_agreement_shape_message():
    with pytest.raises(
        ValueError, match=r"must be 1-D of equal length, got shapes \(3,\) and \(2,\)"
    ):
        agreement([0, 1, 1], [0, 1])


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_cluster_channels_recovers_separated_blobs(method):
    features, types = _blobs()
    labels = cluster_channels(features, 3, method=method)
    assert labels.shape == types.shape and labels.dtype == np.int64
    assert agreement(labels, types) == 1.0


def test_cluster_channels_is_deterministic_per_seed():
    features, _ = _blobs(seed=1)
    first = cluster_channels(features, 2, random_state=3)
    np.testing.assert_array_equal(first, cluster_channels(features, 2, random_state=3))


def test_cluster_channels_messages():
    features, _ = _blobs()
    with pytest.raises(ValueError, match=r"method must be one of \('kmeans', 'agglomerative'\)"):
        cluster_channels(features, 2, method="dbscan")
    with pytest.raises(ValueError, match=r"n_clusters must be in \[1, 15\], got 16"):
        cluster_channels(features, 16)
    with pytest.raises(ValueError, match="features must be 2-D"):
        cluster_channels(features[0], 2)


def test_residual_features_flatten_the_auxiliary_weight():
    embedding = LightSAEEmbedding(N, IN, OUT, rank=2, pool_size=K)
    with torch.no_grad():
        for parameter in embedding.parameters():
            parameter.normal_(0.0, 0.3)
    features = residual_features(embedding)
    assert features.shape == (N, IN * OUT)
    expected = embedding.auxiliary_weight().detach().double().numpy().reshape(N, -1)
    np.testing.assert_allclose(features, expected)


def test_residual_features_need_the_sae_family():
    with pytest.raises(ValueError, match=r"residual_features needs an auxiliary weight"):
        residual_features(SharedEmbedding(N, IN, OUT))
