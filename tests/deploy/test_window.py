"""The predictor's scaling and gap filling equal the forecasters' (sae_forecast.data), bitwise."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.data import Standardiser, fill_gaps
from sae_forecast.deploy import scaled_window


def _pipeline(rows: np.ndarray, scaler: Standardiser) -> np.ndarray:
    return fill_gaps(scaler.transform(rows))[0]  # what fit and predict read


@pytest.mark.parametrize("gap_rate", [0.0, 0.1, 0.5, 0.95])
def test_scaled_window_equals_the_data_pipeline(gap_rate):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 5)) * 100 + 1e4
    rows[rng.random(rows.shape) < gap_rate] = np.nan
    rows[:3, 1] = np.nan  # a leading gap
    rows[:, 4] = np.nan  # a channel without any observation in the window
    scaler = Standardiser(mean=rng.normal(size=5) + 1e4, std=rng.random(5) * 50 + 1)
    expected = _pipeline(rows, scaler)
    actual = scaled_window(rows, scaler.mean, scaler.std)
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(actual, expected)


def test_scaled_window_fills_each_window_of_a_batch_on_its_own():
    rng = np.random.default_rng(1)
    batch = rng.normal(size=(3, 20, 2))
    batch[rng.random(batch.shape) < 0.3] = np.nan
    scaler = Standardiser(mean=np.array([1.0, -1.0]), std=np.array([2.0, 0.5]))
    actual = scaled_window(batch, scaler.mean, scaler.std)
    for window, expected in zip(batch, actual, strict=True):
        np.testing.assert_array_equal(_pipeline(window, scaler), expected)


def test_a_leading_gap_takes_the_row_before_when_given():
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(6, 3))
    rows[:2, 0] = np.nan
    rows[:, 2] = np.nan
    last = rng.normal(size=3).astype(np.float32)  # the scaled row before (the context's end)
    scaler = Standardiser(mean=np.zeros(3), std=np.ones(3))
    expected = fill_gaps(scaler.transform(rows), last=last)[0]  # what predict does with X
    np.testing.assert_array_equal(scaled_window(rows, scaler.mean, scaler.std, last=last), expected)
