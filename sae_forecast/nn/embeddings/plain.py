"""The two ends of the family: one shared weight, or an independent weight per channel."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from sae_forecast.nn.embeddings.base import SHARED_STD, ChannelEmbedding, _normal

__all__ = ["IndependentEmbedding", "SharedEmbedding"]


class SharedEmbedding(ChannelEmbedding):
    """One weight shared by every channel: the channel-independent baseline.

    Parameters
    ----------
    n_channels : int
        Number of channels ``N`` (used to check inputs and to broadcast the merged weight).
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    bias : bool, default=True
        Whether to add one learned bias vector (``out_features`` entries).

    Examples
    --------
    >>> import torch
    >>> emb = SharedEmbedding(n_channels=3, in_features=8, out_features=4)
    >>> emb(torch.randn(2, 3, 8)).shape
    torch.Size([2, 3, 4])
    """

    def __init__(self, n_channels: int, in_features: int, out_features: int, *, bias: bool = True):
        super().__init__(n_channels, in_features, out_features)
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = self._new_bias(out_features, bias=bias)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W_sh ~ N(0, 1e-2)``; the bias starts at zero."""
        with torch.no_grad():
            self.weight.copy_(_normal(self.weight.shape, SHARED_STD, generator))
            if self.bias is not None:
                self.bias.zero_()

    def _embed(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight.t(), self.bias)

    def merged_weight(self) -> Tensor:
        """Return ``W_sh`` broadcast to ``(n_channels, in_features, out_features)``."""
        return self.weight.expand(self.n_channels, -1, -1)

    def merged_bias(self) -> Tensor | None:
        """Return the shared bias broadcast to ``(n_channels, out_features)``, or None."""
        return None if self.bias is None else self.bias.expand(self.n_channels, -1)


class IndependentEmbedding(ChannelEmbedding):
    """A separate weight and bias for every channel.

    Parameters
    ----------
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    bias : bool, default=True
        Whether each channel has its own bias.

    Examples
    --------
    >>> import torch
    >>> emb = IndependentEmbedding(n_channels=3, in_features=8, out_features=4)
    >>> emb.merged_weight().shape
    torch.Size([3, 8, 4])
    """

    def __init__(self, n_channels: int, in_features: int, out_features: int, *, bias: bool = True):
        super().__init__(n_channels, in_features, out_features)
        self.weight = nn.Parameter(torch.empty(n_channels, in_features, out_features))
        self.bias = self._new_bias(n_channels, out_features, bias=bias)
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every ``W_i ~ N(0, 1e-2)``; biases start at zero."""
        with torch.no_grad():
            self.weight.copy_(_normal(self.weight.shape, SHARED_STD, generator))
            if self.bias is not None:
                self.bias.zero_()

    def merged_weight(self) -> Tensor:
        """Return the per-channel weights, shape ``(n_channels, in, out)``."""
        return self.weight

    def merged_bias(self) -> Tensor | None:
        """Return the per-channel biases, shape ``(n_channels, out)``, or None."""
        return self.bias
