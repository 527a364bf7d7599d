"""Shared base plus channel-specific residuals: SAE (full rank) and low-rank SAE."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.embeddings.base import (
    DEFAULT_RANK,
    FACTOR_STD,
    SHARED_STD,
    ChannelEmbedding,
    _check_positive,
    _normal,
    channel_matmul,
)

__all__ = ["LowRankSAEEmbedding", "SAEEmbedding"]


class _AuxiliaryEmbedding(ChannelEmbedding):
    """Shared base plus a channel-specific auxiliary weight (the SAE family).

    Subclasses define :meth:`auxiliary_weight`. In ``eval()`` mode with gradients off, the
    merged weight is cached and reused until a parameter changes (any in-place update, such as
    an optimiser step or ``load_state_dict``, bumps the parameter's version counter) or the
    module goes back to ``train()``.
    """

    def __init__(self, n_channels: int, in_features: int, out_features: int, *, bias: bool):
        super().__init__(n_channels, in_features, out_features)
        self.shared_weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = self._new_bias(n_channels, out_features, bias=bias)
        self._cache: tuple[tuple, Tensor] | None = None

    def auxiliary_weight(self) -> Tensor:
        """Return the channel-specific residual ``W_i - W_sh``, shape ``(n_channels, in, out)``."""
        raise NotImplementedError

    def merged_weight(self) -> Tensor:
        """Return ``W_sh + residual_i`` for every channel, shape ``(n_channels, in, out)``."""
        return self.shared_weight + self.auxiliary_weight()

    def merged_bias(self) -> Tensor | None:
        """Return the per-channel biases, shape ``(n_channels, out)``, or None."""
        return self.bias

    def forward(self, x: Tensor) -> Tensor:
        """Embed every channel (see :meth:`ChannelEmbedding.forward` for shapes)."""
        self._check_input(x)
        if self.training or torch.is_grad_enabled():
            return self._embed(x)
        return channel_matmul(x, self._cached_weight(), self.merged_bias())

    def _cached_weight(self) -> Tensor:
        key = tuple((p.data_ptr(), p._version) for p in self.parameters())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self.merged_weight().contiguous())
        return self._cache[1]

    def train(self, mode: bool = True) -> _AuxiliaryEmbedding:
        self._cache = None
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)

    def _reset_shared(self, generator: torch.Generator | None) -> None:
        self._cache = None
        self.shared_weight.copy_(_normal(self.shared_weight.shape, SHARED_STD, generator))
        if self.bias is not None:
            self.bias.zero_()


class SAEEmbedding(_AuxiliaryEmbedding):
    """Shared base plus a full-rank residual per channel: ``W_i = W_sh + R_i``.

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

    Notes
    -----
    The residuals ``R_i`` start at zero (the reference draws them from ``N(0, 1e-5)``), so the
    model starts exactly as the shared baseline; each ``R_i`` still receives its own gradient.

    Examples
    --------
    >>> import torch
    >>> emb = SAEEmbedding(n_channels=3, in_features=8, out_features=4)
    >>> bool(torch.equal(emb.merged_weight()[1], emb.shared_weight))
    True
    """

    def __init__(self, n_channels: int, in_features: int, out_features: int, *, bias: bool = True):
        super().__init__(n_channels, in_features, out_features, bias=bias)
        self.residual = nn.Parameter(torch.empty(n_channels, in_features, out_features))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W_sh ~ N(0, 1e-2)``; residuals and biases start at zero."""
        with torch.no_grad():
            self._reset_shared(generator)
            self.residual.zero_()

    def auxiliary_weight(self) -> Tensor:
        """Return the residuals ``R_i``, shape ``(n_channels, in, out)``."""
        return self.residual


class LowRankSAEEmbedding(_AuxiliaryEmbedding):
    """Shared base plus a rank-``r`` residual per channel: ``W_i = W_sh + A_i B_i``.

    Parameters
    ----------
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    rank : int, default=25
        Rank ``r`` of each residual.
    bias : bool, default=True
        Whether each channel has its own bias.

    Examples
    --------
    >>> import torch
    >>> emb = LowRankSAEEmbedding(n_channels=3, in_features=8, out_features=4, rank=2)
    >>> emb(torch.randn(5, 3, 8)).shape
    torch.Size([5, 3, 4])
    """

    def __init__(
        self,
        n_channels: int,
        in_features: int,
        out_features: int,
        *,
        rank: int = DEFAULT_RANK,
        bias: bool = True,
    ):
        super().__init__(n_channels, in_features, out_features, bias=bias)
        _check_positive(rank=rank)
        self.rank = rank
        self.left = nn.Parameter(torch.empty(n_channels, in_features, rank))
        self.right = nn.Parameter(torch.empty(n_channels, rank, out_features))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W_sh ~ N(0, 1e-2)`` and ``A_i ~ N(0, 1e-5)``; ``B_i`` and biases start at 0."""
        with torch.no_grad():
            self._reset_shared(generator)
            self.left.copy_(_normal(self.left.shape, FACTOR_STD, generator))
            self.right.zero_()

    def auxiliary_weight(self) -> Tensor:
        """Return ``A_i B_i`` for every channel, shape ``(n_channels, in, out)``."""
        return torch.bmm(self.left, self.right)

    def _embed(self, x: Tensor) -> Tensor:
        if self.rank >= self.in_features:  # the factors do not compress: merge first
            return channel_matmul(x, self.merged_weight(), self.bias)
        x = x.contiguous()  # one copy here, so both products below read it in place
        hidden = channel_matmul(x, self.left)  # (B, N, *, r)
        aux = channel_matmul(hidden, self.right, self.bias)  # (B, N, *, out)
        return torch.addmm(
            aux.view(-1, self.out_features), x.view(-1, self.in_features), self.shared_weight
        ).view(aux.shape)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.rank}"
