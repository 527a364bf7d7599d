"""Tests of sae_forecast.analysis.spectrum: energy curves, ranks, per-channel spectra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_forecast.analysis import channel_spectra, energy_ratio, rank_for_energy, spectrum_table
from sae_forecast.nn import (
    IndependentEmbedding,
    LightSAEEmbedding,
    LowRankSAEEmbedding,
    RLinear,
    SharedEmbedding,
)

N, IN, OUT, RANK = 4, 10, 7, 2


def _randomise(module):
    """Give every parameter a non-trivial value so the auxiliary path is active."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0.0, 0.3)
    return module


def _rank_k_matrix(rank, shape=(9, 6), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(shape[0], rank)) @ rng.normal(size=(rank, shape[1]))


@pytest.mark.parametrize("rank", [1, 3, 5])
def test_energy_of_rank_k_matrix_reaches_one_exactly_at_k(rank):
    energy = energy_ratio(np.linalg.svd(_rank_k_matrix(rank), compute_uv=False))
    np.testing.assert_allclose(energy[rank - 1 :], 1.0, rtol=0, atol=1e-12)
    assert energy[-1] == 1.0
    if rank > 1:
        assert energy[rank - 2] < 1 - 1e-6
    assert (np.diff(energy) >= 0).all()


def test_energy_ratio_works_row_wise():
    spectra = np.array([[3.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    expected = [[0.9, 1.0, 1.0], [1 / 3, 2 / 3, 1.0], [1.0, 1.0, 1.0]]
    np.testing.assert_allclose(energy_ratio(spectra), expected)
    np.testing.assert_allclose(energy_ratio(spectra[1]), expected[1])


def test_energy_ratio_rejects_bad_input():
    with pytest.raises(ValueError, match="must be finite and non-negative"):
        energy_ratio([1.0, -0.5])
    with pytest.raises(ValueError, match=r"non-empty 1-D array or a 2-D array \(n_channels, r\)"):
        energy_ratio(np.ones((2, 2, 2)))


def test_rank_for_energy_known_values():
    # energies 4/6, 5/6, 1
    assert rank_for_energy([2.0, 1.0, 1.0], levels=(0.5, 0.8, 0.9, 1.0)).tolist() == [1, 2, 3, 3]
    ranks = rank_for_energy([[2.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert ranks.shape == (3, 3)
    assert ranks.tolist() == [[3, 3, 3], [1, 1, 1], [0, 0, 0]]


@pytest.mark.parametrize("rank", [1, 4])
def test_rank_for_energy_of_rank_k_matrix_is_at_most_k(rank):
    spectrum = np.linalg.svd(_rank_k_matrix(rank), compute_uv=False)
    assert rank_for_energy(spectrum, levels=(0.99, 1.0)).max() == rank


def test_rank_for_energy_rejects_bad_levels():
    with pytest.raises(
        ValueError, match=r"levels must be a non-empty sequence of values in \(0, 1\]"
    ):
        rank_for_energy([1.0, 0.5], levels=(0.5, 1.5))


def test_low_rank_residuals_have_rank_at_most_r():
    embedding = _randomise(LowRankSAEEmbedding(N, IN, OUT, rank=RANK)).double()  # exact zeros
    spectra = channel_spectra(embedding)
    assert spectra.shape == (N, min(IN, OUT)) and spectra.dtype == np.float64
    assert (spectra[:, RANK:] <= 1e-10 * spectra[:, :1]).all()
    assert (spectra[:, RANK - 1] > 1e-3).all()
    expected = torch.linalg.svdvals(embedding.auxiliary_weight().detach().double())
    np.testing.assert_allclose(spectra, expected.numpy(), atol=1e-12)


def test_lightsae_merged_spectrum_through_a_backbone():
    model = RLinear(IN, OUT, n_channels=N, embedding="lightsae", rank=RANK, pool_size=3)
    _randomise(model)
    auxiliary = channel_spectra(model, which="auxiliary")
    merged = channel_spectra(model, which="merged")
    assert auxiliary.shape == merged.shape == (N, OUT)
    assert (rank_for_energy(auxiliary, levels=(1.0,)) <= RANK).all()
    assert (rank_for_energy(merged, levels=(1.0,)) > RANK).all()  # W_sh is full rank


def test_merged_is_the_only_choice_without_auxiliary_weight():
    for embedding in (SharedEmbedding(N, IN, OUT), IndependentEmbedding(N, IN, OUT)):
        assert channel_spectra(embedding, which="merged").shape == (N, OUT)
        with pytest.raises(ValueError, match=r"only the SAE family .* has; got \w+Embedding"):
            channel_spectra(embedding)


def test_unknown_weight_kind_message():
    with pytest.raises(ValueError, match=r"which must be one of \('auxiliary', 'merged'\)"):
        channel_spectra(LightSAEEmbedding(N, IN, OUT), which="shared")


def test_spectrum_table_rows_and_columns():
    embedding = _randomise(LowRankSAEEmbedding(N, IN, OUT, rank=RANK))
    table = spectrum_table(embedding)
    assert table.index.name == "channel" and list(table.index) == list(range(N))
    assert list(table.columns[:3]) == ["rank_90", "rank_95", "rank_99"]
    assert (table["numerical_rank"] == RANK).all()
    assert (table["rank_99"] <= RANK).all() and (table["max_rank"] == OUT).all()
    assert ((table["top_share"] > 0) & (table["top_share"] <= 1)).all()
    custom = spectrum_table(embedding, levels=(0.5, 0.999))
    assert list(custom.columns[:2]) == ["rank_50", "rank_99.9"]


def test_untrained_auxiliary_weight_needs_no_component():
    table = spectrum_table(LowRankSAEEmbedding(N, IN, OUT, rank=RANK))
    assert (table[["rank_90", "rank_95", "rank_99", "numerical_rank"]] == 0).all().all()
    assert (table["frobenius_norm"] == 0).all()
