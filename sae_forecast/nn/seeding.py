"""Reproducible initialisation and dropout from a caller-owned ``torch.Generator``.

Global seeding (``torch.manual_seed``) is not thread-safe: two models built or trained at once
in two threads interleave their draws. These helpers take an explicit generator instead.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sae_forecast.nn.covariates import CovariateProjection
from sae_forecast.nn.embeddings import ChannelEmbedding

__all__ = ["attach_generator", "reset_parameters"]


def _reset_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    # Same distribution as torch's default (kaiming_uniform with a=sqrt(5)), seeded.
    fan_in = layer.weight.shape[1]
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound, generator=generator)


def reset_parameters(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Re-draw every parameter of ``module`` from ``generator``, in a fixed module order.

    Linear layers get torch's default distribution; modules with their own
    ``reset_parameters(generator)`` (the channel embeddings and the covariate projections) use
    it; norms are reset to their deterministic defaults.

    Parameters
    ----------
    module : torch.nn.Module
        Model whose parameters are re-initialised in place.
    generator : torch.Generator or None, default=None
        Source of randomness; ``None`` uses the global random state.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.

    Examples
    --------
    >>> import torch
    >>> layer = torch.nn.Linear(3, 2)
    >>> w = reset_parameters(layer, torch.Generator().manual_seed(0)).weight.clone()
    >>> bool(torch.equal(w, reset_parameters(layer, torch.Generator().manual_seed(0)).weight))
    True
    """
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            _reset_linear(sub, generator)
        elif isinstance(sub, (ChannelEmbedding, CovariateProjection)):
            sub.reset_parameters(generator)
        elif hasattr(sub, "reset_parameters"):  # norms: deterministic defaults
            sub.reset_parameters()
    return module


def attach_generator(module: nn.Module, generator: torch.Generator | None) -> nn.Module:
    """Make every generator-aware submodule (dropout) draw from ``generator``.

    Pass ``None`` to detach (the modules then use the global random state).

    Examples
    --------
    >>> from sae_forecast.nn.dropout import SeededDropout
    >>> drop = attach_generator(SeededDropout(0.1), torch.Generator().manual_seed(1))
    >>> drop.generator is not None
    True
    """
    for sub in module.modules():
        if hasattr(sub, "generator"):
            sub.generator = generator
    return module
