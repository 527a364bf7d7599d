"""Find the channel embedding inside whatever the user hands to an analysis function."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor, nn

from sae_forecast.nn import (
    ChannelEmbedding,
    LightSAEEmbedding,
    LowRankSAEEmbedding,
    SAEEmbedding,
)

__all__ = ["get_embedding", "require_auxiliary", "to_numpy"]

AUXILIARY_KINDS = (SAEEmbedding, LowRankSAEEmbedding, LightSAEEmbedding)


def get_embedding(obj: Any) -> ChannelEmbedding:
    """Return the channel embedding of a fitted forecaster, a backbone or an embedding.

    Parameters
    ----------
    obj : forecaster, torch.nn.Module or ChannelEmbedding
        A fitted forecaster (anything with a ``model_`` backbone), a backbone (a module
        storing its embedding as ``.embedding``) or a :class:`~sae_forecast.nn.ChannelEmbedding`.

    Returns
    -------
    ChannelEmbedding

    Raises
    ------
    TypeError
        If ``obj`` is none of the three.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> model = RLinear(16, 4, n_channels=3, embedding="lightsae", rank=2, pool_size=2)
    >>> type(get_embedding(model)).__name__
    'LightSAEEmbedding'
    >>> get_embedding(model.embedding) is model.embedding
    True
    """
    if isinstance(obj, ChannelEmbedding):
        return obj
    if isinstance(obj, nn.Module):
        embedding = getattr(obj, "embedding", None)
        if isinstance(embedding, ChannelEmbedding):
            return embedding
        raise TypeError(
            f"{type(obj).__name__} has no channel embedding: expected a backbone whose "
            "`.embedding` attribute is a sae_forecast.nn.ChannelEmbedding."
        )
    if _defines(obj, "model_"):
        return get_embedding(obj.model_)  # an unfitted forecaster raises NotFittedError here
    raise TypeError(
        "Expected a fitted forecaster (with `model_`), a backbone module with `.embedding` or "
        f"a sae_forecast.nn.ChannelEmbedding, got {type(obj).__name__}."
    )


def require_auxiliary(embedding: ChannelEmbedding, *, purpose: str) -> None:
    """Raise a ValueError unless ``embedding`` belongs to the SAE family."""
    if not isinstance(embedding, AUXILIARY_KINDS):
        names = ", ".join(cls.__name__ for cls in AUXILIARY_KINDS)
        raise ValueError(
            f"{purpose} needs an auxiliary weight, which only the SAE family ({names}) has; "
            f"got {type(embedding).__name__}."
        )


def to_numpy(tensor: Tensor) -> np.ndarray:
    """Detach ``tensor``, move it to the CPU and return it as a float64 array."""
    return tensor.detach().cpu().double().numpy()


def _defines(obj: Any, name: str) -> bool:
    """Whether ``obj`` declares ``name`` without evaluating it (properties may raise)."""
    return hasattr(type(obj), name) or name in getattr(obj, "__dict__", {})
