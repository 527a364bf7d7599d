"""Tests of sae_forecast.analysis.plots.plot_forecast_bands: actual, forecast and bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sae_forecast.analysis.plots import plot_forecast_bands


def _forecast_and_bands(columns=("a", "b", "c", "d"), coverages=(0.8, 0.95)):
    index = pd.date_range("2024-01-01", periods=12, freq="h")
    point = pd.DataFrame(
        np.arange(12.0)[:, None] * np.ones(len(columns)), index=index, columns=list(columns)
    )
    bands = {}
    for column in columns:
        for coverage in coverages:
            bands[(column, coverage, "lower")] = point[column] - 10 * coverage
            bands[(column, coverage, "upper")] = point[column] + 10 * coverage
    return point, pd.concat(bands, axis=1)


def test_one_panel_per_channel_with_a_band_per_coverage(tmp_path):
    point, bands = _forecast_and_bands()
    fig = plot_forecast_bands(point + 1.0, point, bands, channels=["b", "d"])
    assert isinstance(fig, Figure)
    assert [ax.get_ylabel() for ax in fig.axes] == ["b", "d"]
    for ax in fig.axes:
        assert len(ax.collections) == 2  # one band per coverage
        assert len(ax.lines) == 2  # actual and forecast
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["95% interval", "80% interval", "actual", "forecast"]
    fig.savefig(tmp_path / "bands.png")
    assert (tmp_path / "bands.png").read_bytes()[:4] == b"\x89PNG"


def test_defaults_to_the_first_three_channels():
    point, bands = _forecast_and_bands()
    fig = plot_forecast_bands(point, point, bands)
    assert [ax.get_ylabel() for ax in fig.axes] == ["a", "b", "c"]


def test_the_band_spans_lower_to_upper():
    point, bands = _forecast_and_bands(columns=("a",), coverages=(0.5,))
    fig = plot_forecast_bands(point, point, bands)
    vertices = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert vertices.min() == pytest.approx(-5.0)
    assert vertices.max() == pytest.approx(16.0)


def test_unknown_channels_are_named():
    point, bands = _forecast_and_bands()
    with pytest.raises(ValueError, match=r"channels \['z'\]"):
        plot_forecast_bands(point, point, bands, channels=["a", "z"])
