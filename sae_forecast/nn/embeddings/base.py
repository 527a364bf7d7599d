"""Base class of the embedding family, per-channel matmul, initialisation constants."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_RANK",
    "ChannelEmbedding",
    "channel_matmul",
    "channel_rows",
]

# The reference configuration's rank r and the pool size K of its 100+ channel sets; every
# signature of the package (embeddings, backbones, forecasters) takes its default from here.
DEFAULT_RANK = 25
DEFAULT_POOL_SIZE = 10

SHARED_STD = 1e-2  # W_sh ~ N(0, 1e-2), as in the reference code
FACTOR_STD = 1e-5  # left factors A ~ N(0, 1e-5); right factors start at 0
GATE_STD = 1e-2  # gate logits G ~ N(0, 1e-2)


def channel_rows(x: Tensor) -> Tensor:
    """Regroup ``(batch, n_channels, *, in)`` as ``(n_channels, rows, in)``.

    A strided view (no copy) when there are no middle dimensions; ``torch.bmm`` accepts it
    as is.
    """
    batch, n_channels = x.shape[:2]
    grouped = x.reshape(batch, n_channels, -1, x.shape[-1]).transpose(0, 1)  # (N, B, S, in)
    return grouped.reshape(n_channels, -1, x.shape[-1])  # (N, B*S, in)


def channel_matmul(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Multiply every channel by its own matrix with one batched matmul.

    Parameters
    ----------
    x : Tensor
        Input of shape ``(batch, n_channels, *, in_features)``.
    weight : Tensor
        Per-channel weights of shape ``(n_channels, in_features, out_features)``.
    bias : Tensor or None, default=None
        Per-channel bias of shape ``(n_channels, out_features)``.

    Returns
    -------
    Tensor
        Contiguous output of shape ``(batch, n_channels, *, out_features)``. Returning the
        batch-major layout costs one copy but keeps every later elementwise op (RevIN, loss)
        on the layout the shared embedding produces, which measured faster overall.
    """
    batch, n_channels, *middle, _ = x.shape
    rows = channel_rows(x)  # (N, B*S, in)
    if bias is None:
        out = torch.bmm(rows, weight)  # (N, B*S, out)
    else:
        out = torch.baddbmm(bias.unsqueeze(1), rows, weight)  # (N, B*S, out)
    out = out.view(n_channels, batch, -1, weight.shape[-1]).transpose(0, 1)  # (B, N, S, out)
    return out.contiguous().view(batch, n_channels, *middle, weight.shape[-1])


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _normal(shape: tuple[int, ...], std: float, generator: torch.Generator | None) -> Tensor:
    return torch.empty(shape).normal_(0.0, std, generator=generator)


class ChannelEmbedding(nn.Module):
    """Base class of the family: input checks and the merged-weight contract.

    Subclasses define :meth:`merged_weight`, :meth:`merged_bias`, :meth:`reset_parameters`
    and ``_embed`` (the training-time computation).

    Parameters
    ----------
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Length of each channel's input vector (lookback window or patch).
    out_features : int
        Length of each channel's output vector.

    Examples
    --------
    >>> from sae_forecast.nn import ChannelEmbedding, SAEEmbedding
    >>> isinstance(SAEEmbedding(3, 8, 4), ChannelEmbedding)
    True
    """

    def __init__(self, n_channels: int, in_features: int, out_features: int) -> None:
        super().__init__()
        _check_positive(n_channels=n_channels, in_features=in_features, out_features=out_features)
        self.n_channels = n_channels
        self.in_features = in_features
        self.out_features = out_features

    def forward(self, x: Tensor) -> Tensor:
        """Embed every channel.

        Parameters
        ----------
        x : Tensor
            Shape ``(batch, n_channels, *, in_features)``.

        Returns
        -------
        Tensor
            Shape ``(batch, n_channels, *, out_features)``.
        """
        self._check_input(x)
        return self._embed(x)

    def _embed(self, x: Tensor) -> Tensor:
        return channel_matmul(x, self.merged_weight(), self.merged_bias())

    def merged_weight(self) -> Tensor:
        """Return every channel's effective weight, shape ``(n_channels, in, out)``."""
        raise NotImplementedError

    def merged_bias(self) -> Tensor | None:
        """Return every channel's effective bias, shape ``(n_channels, out)``, or None."""
        raise NotImplementedError

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw the initial parameters (from ``generator`` when given)."""
        raise NotImplementedError

    def _check_input(self, x: Tensor) -> None:
        if x.dim() < 3 or x.shape[1] != self.n_channels or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, n_channels="
                f"{self.n_channels}, ..., in_features={self.in_features}), "
                f"got {tuple(x.shape)}."
            )

    def _new_bias(self, *shape: int, bias: bool) -> nn.Parameter | None:
        return nn.Parameter(torch.zeros(shape)) if bias else None

    def extra_repr(self) -> str:
        return (
            f"n_channels={self.n_channels}, in_features={self.in_features}, "
            f"out_features={self.out_features}"
        )
