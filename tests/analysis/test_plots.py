"""Tests of sae_forecast.analysis.plots: every function returns a Figure that saves to PNG."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure

from sae_forecast.analysis import (
    energy_ratio,
    plot_channel_map,
    plot_energy_curves,
    plot_gain_vs_channels,
    plot_gate_heatmap,
)

PNG_SIGNATURE = b"\x89PNG"


def _saves_png(fig, path):
    assert isinstance(fig, Figure)
    fig.savefig(path)
    assert path.read_bytes()[:4] == PNG_SIGNATURE


def _spectra(n_channels=5, rank=6, decay=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return np.sort(rng.exponential(decay, size=(n_channels, rank)), axis=1)[:, ::-1]


def test_energy_curves_one_line_and_band_per_entry(tmp_path):
    fig = plot_energy_curves({"SAE": _spectra(), "LightSAE": _spectra(decay=0.2, seed=1)})
    (ax,) = fig.axes
    assert len(ax.lines) == 2 + 3  # two mean curves, three dashed level lines
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["SAE", "LightSAE"]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    _saves_png(fig, tmp_path / "energy.png")


def test_energy_curves_accept_energy_and_crop():
    spectra = _spectra()
    fig = plot_energy_curves({"a": energy_ratio(spectra)}, kind="energy", max_rank=3, levels=())
    (mean_line,) = fig.axes[0].lines
    np.testing.assert_allclose(mean_line.get_ydata(), energy_ratio(spectra)[:, :3].mean(axis=0))


def test_energy_curves_messages():
    with pytest.raises(ValueError, match="curves is empty"):
        plot_energy_curves({})
    with pytest.raises(ValueError, match=r"kind must be one of \('singular_values', 'energy'\)"):
        plot_energy_curves({"a": _spectra()}, kind="singular")


def test_gate_heatmap_groups_channels(tmp_path):
    gates = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    names = np.array(["a", "b", "c", "d"])
    fig = plot_gate_heatmap(gates, labels=[1, 0, 1, 0], channel_names=names)
    heatmap, colourbar = fig.axes
    assert len(heatmap.images) == 1 and colourbar.get_ylabel().startswith("gate weight")
    ticks = [tick.get_text() for tick in heatmap.get_yticklabels()]
    assert ticks == ["d", "b", "a", "c"]  # group 0 first, then by dominant component
    np.testing.assert_allclose(heatmap.images[0].get_array(), gates[[3, 1, 0, 2]])
    assert len(heatmap.lines) == 1  # one separator between the two groups
    _saves_png(fig, tmp_path / "gates.png")


def test_gate_heatmap_without_labels_and_message():
    fig = plot_gate_heatmap(np.full((50, 3), 1 / 3))
    assert fig.axes[0].get_yticklabels() == []  # too many channels to name
    with pytest.raises(ValueError, match=r"labels must have one entry per channel \(50\)"):
        plot_gate_heatmap(np.full((50, 3), 1 / 3), labels=[0, 1])


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_channel_map_one_colour_per_type(method, tmp_path):
    rng = np.random.default_rng(0)
    types = np.repeat([0, 1, 2], 4)
    features = 5.0 * np.eye(3, 6)[types] + rng.normal(scale=0.1, size=(12, 6))
    fig = plot_channel_map(features, types=types, method=method)
    (ax,) = fig.axes
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == 3
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["0", "1", "2"]
    _saves_png(fig, tmp_path / f"map_{method}.png")


def test_channel_map_without_types_and_messages():
    features = np.random.default_rng(0).normal(size=(6, 3))
    ax = plot_channel_map(features).axes[0]
    assert len(ax.collections) == 1 and ax.get_legend() is None
    assert ax.get_xlabel().startswith("PC 1")
    with pytest.raises(ValueError, match=r"method must be one of \('pca', 'tsne'\)"):
        plot_channel_map(features, method="umap")
    with pytest.raises(ValueError, match="at least 2 channels and 2 features"):
        plot_channel_map(features[:, :1])


def test_gain_vs_channels_lines_and_labels(tmp_path):
    gains = {"RLinear": [-1.0, -3.0, -2.0], "PatchTST": [0.5, -1.0, -0.5]}
    fig = plot_gain_vs_channels([7, 321, 21], gains, labels=["ETTh1", "ECL", "Weather"])
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert len(ax.lines) == 1 + 2  # the zero line and one line per series
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [7, 21, 321])  # sorted by count
    assert [text.get_text() for text in ax.texts] == ["ETTh1", "ECL", "Weather"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["RLinear", "PatchTST"]
    _saves_png(fig, tmp_path / "gain.png")


def test_gain_vs_channels_single_series_and_message():
    ax = plot_gain_vs_channels([7, 21], [-1.0, -2.0]).axes[0]
    assert len(ax.lines) == 2 and ax.get_legend() is None
    with pytest.raises(ValueError, match=r"one value per entry of n_channels \(2\)"):
        plot_gain_vs_channels([7, 21], [-1.0])
