"""Tests of sae_forecast.data.synthetic: determinism, layout and recoverable channel types."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from sae_forecast.data import make_heterogeneous_series

SMALL = dict(n_channels=8, n_types=2, n_steps=120)


def _autocorrelations(values, max_lag=24):
    """Per-channel sample autocorrelation at lags 1..max_lag, shape (n_channels, max_lag)."""
    centred = values - values.mean(axis=0)
    variance = (centred**2).sum(axis=0)
    lags = range(1, max_lag + 1)
    return np.stack([(centred[lag:] * centred[:-lag]).sum(axis=0) / variance for lag in lags], 1)


def test_same_seed_same_frame_and_global_state_unused():
    frame, types = make_heterogeneous_series(**SMALL, random_state=3)
    np.random.seed(123)  # noqa: NPY002 - checks that the legacy global state plays no part
    again, types_again = make_heterogeneous_series(**SMALL, random_state=3)
    pd.testing.assert_frame_equal(frame, again)
    np.testing.assert_array_equal(types, types_again)
    generator_frame, _ = make_heterogeneous_series(**SMALL, random_state=np.random.default_rng(3))
    pd.testing.assert_frame_equal(frame, generator_frame)


def test_different_seeds_differ():
    first, _ = make_heterogeneous_series(**SMALL, random_state=0)
    second, _ = make_heterogeneous_series(**SMALL, random_state=1)
    assert not np.allclose(first.to_numpy(), second.to_numpy())


def test_layout_index_and_column_names():
    frame, types = make_heterogeneous_series(n_channels=12, n_types=3, n_steps=50, random_state=0)
    assert frame.shape == (50, 12) and types.shape == (12,)
    assert frame.dtypes.eq(np.float64).all() and np.isfinite(frame.to_numpy()).all()
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.freqstr == "h" and frame.index.name == "date"
    assert frame.index[0] == pd.Timestamp("2020-01-01")
    for channel, (name, kind) in enumerate(zip(frame.columns, types, strict=True)):
        assert re.fullmatch(r"type\d_ch\d{2}", name)
        assert name == f"type{kind}_ch{channel:02d}"
    assert np.bincount(types).tolist() == [4, 4, 4]  # spread evenly over the types
    daily, _ = make_heterogeneous_series(**SMALL, freq="D", random_state=0)
    assert daily.index.freqstr == "D"


def test_clustered_types_are_recoverable_from_autocorrelations():
    for seed in (0, 1):
        frame, types = make_heterogeneous_series(
            n_channels=16, n_types=4, n_steps=1000, random_state=seed
        )
        features = _autocorrelations(frame.to_numpy())
        labels = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(features)
        assert adjusted_rand_score(types, labels) >= 0.9


def test_shared_structure_has_one_type():
    frame, types = make_heterogeneous_series(**SMALL, structure="shared", random_state=0)
    np.testing.assert_array_equal(types, 0)
    assert all(name.startswith("type0_ch") for name in frame.columns)


def test_independent_structure_gives_every_channel_its_own_type():
    frame, types = make_heterogeneous_series(
        n_channels=12, n_steps=60, structure="independent", random_state=0
    )
    np.testing.assert_array_equal(types, np.arange(12))
    assert frame.columns[11] == "type11_ch11" and frame.columns[3] == "type03_ch03"


def test_noise_free_channels_of_one_type_share_the_seasonal_period():
    frame, types = make_heterogeneous_series(
        n_channels=6, n_types=2, n_steps=800, noise=0.0, random_state=2
    )
    features = _autocorrelations(frame.to_numpy())
    distance = np.abs(features[:, None] - features[None]).max(axis=-1)  # (N, N)
    same_type = types[:, None] == types[None]
    off_diagonal = ~np.eye(len(types), dtype=bool)
    assert distance[same_type & off_diagonal].max() < distance[~same_type].min()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"structure": "mixed"},
            r"structure must be one of \('clustered', 'shared', 'independent'\)",
        ),
        ({"n_channels": 3, "n_types": 4}, "n_types=4 exceeds n_channels=3"),
        ({"n_steps": 0}, "n_steps must be a positive integer, got 0"),
        ({"noise": -0.1}, "noise must be non-negative, got -0.1"),
    ],
)
def test_argument_messages(arguments, message):
    with pytest.raises(ValueError, match=message):
        make_heterogeneous_series(**arguments)
