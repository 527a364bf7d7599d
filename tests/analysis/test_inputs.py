"""Tests of sae_forecast.analysis._inputs: finding the embedding in what the user passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sae_forecast.analysis import get_embedding
from sae_forecast.analysis._inputs import to_numpy
from sae_forecast.nn import RLinear, SharedEmbedding


def _backbone():
    return RLinear(8, 4, n_channels=3, embedding="lightsae", rank=2, pool_size=2)


class _FittedForecaster:
    def __init__(self, model):
        self.model_ = model


class _UnfittedForecaster:
    @property
    def model_(self):
        raise ValueError("This forecaster has not been fitted yet.")


def test_accepts_embedding_backbone_and_fitted_forecaster():
    model = _backbone()
    assert get_embedding(model.embedding) is model.embedding
    assert get_embedding(model) is model.embedding
    assert get_embedding(_FittedForecaster(model)) is model.embedding


def test_unfitted_forecaster_error_is_not_hidden():
    with pytest.raises(ValueError, match="has not been fitted yet"):
        get_embedding(_UnfittedForecaster())


def test_module_without_embedding_message():
    with pytest.raises(TypeError, match=r"Linear has no channel embedding: expected a backbone"):
        get_embedding(nn.Linear(2, 2))


def test_other_objects_message():
    with pytest.raises(TypeError, match=r"Expected a fitted forecaster .* got ndarray"):
        get_embedding(np.zeros(3))


def test_to_numpy_detaches_to_float64():
    weight = SharedEmbedding(2, 3, 4).merged_weight()
    assert weight.requires_grad
    values = to_numpy(weight)
    assert values.dtype == np.float64 and values.shape == (2, 3, 4)
    np.testing.assert_allclose(values, weight.detach().to(torch.float64).numpy())
