"""LightSAE: a shared base plus residuals drawn from a gated pool of low-rank factors."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sae_forecast.nn.embeddings.auxiliary import _AuxiliaryEmbedding
from sae_forecast.nn.embeddings.base import (
    DEFAULT_POOL_SIZE,
    DEFAULT_RANK,
    FACTOR_STD,
    GATE_STD,
    SHARED_STD,
    _check_positive,
    _normal,
    channel_matmul,
)

__all__ = ["LightSAEEmbedding"]


class LightSAEEmbedding(_AuxiliaryEmbedding):
    """LightSAE: shared base plus a gated pool of low-rank residuals.

    ``W_i = W_sh + (sum_k g_ik A_k) B`` with ``g_i = softmax(G_i)``: ``K`` left factors
    ``A_k`` (``in x r``) form a pool shared by all channels through per-channel gates, and one
    right factor ``B`` (``r x out``) is shared by all (Ren & Yu, 2025).

    Parameters
    ----------
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    rank : int, default=25
        Rank ``r`` of the residuals.
    pool_size : int, default=10
        Number ``K`` of left factors in the pool.
    bias : bool, default=True
        Whether to learn a bias.
    pooled_bias : bool, default=False
        Draw each channel's bias from a gated pool of ``K`` biases, ``b_i = sum_k g_ik c_k``
        with the same gates as the weights (``K x out`` parameters instead of ``N x out``),
        as the authors' RLinear does; otherwise each channel has its own bias.

    Notes
    -----
    Training mixes the pool once per forward (``A_mix_i = sum_k g_ik A_k``) and computes
    ``x W_sh + (x A_mix_i) B``, the fastest form measured on CPU when ``rank < in_features``;
    otherwise the merged weight is built first. In ``eval()`` mode without gradients the merged
    weight is cached, so prediction costs one batched matmul, as for an independent embedding.

    Examples
    --------
    >>> import torch
    >>> emb = LightSAEEmbedding(n_channels=7, in_features=96, out_features=16, rank=4, pool_size=3)
    >>> emb(torch.randn(2, 7, 96)).shape
    torch.Size([2, 7, 16])
    >>> emb.gates().shape
    torch.Size([7, 3])
    """

    def __init__(
        self,
        n_channels: int,
        in_features: int,
        out_features: int,
        *,
        rank: int = DEFAULT_RANK,
        pool_size: int = DEFAULT_POOL_SIZE,
        bias: bool = True,
        pooled_bias: bool = False,
    ):
        super().__init__(n_channels, in_features, out_features, bias=bias and not pooled_bias)
        _check_positive(rank=rank, pool_size=pool_size)
        self.rank = rank
        self.pool_size = pool_size
        self.left_pool = nn.Parameter(torch.empty(pool_size, in_features, rank))
        self.right = nn.Parameter(torch.empty(rank, out_features))
        self.gate_logits = nn.Parameter(torch.empty(n_channels, pool_size))
        self.bias_pool = (
            nn.Parameter(torch.empty(pool_size, out_features)) if bias and pooled_bias else None
        )
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W_sh ~ N(0, 1e-2)``, ``A_k ~ N(0, 1e-5)``, ``G ~ N(0, 1e-2)``; ``B = 0``.

        Per-channel biases start at zero; pooled biases are drawn from ``N(0, 1e-2)``, as the
        authors' code does (equal pooled biases would mix to the same bias for every channel).
        """
        with torch.no_grad():
            self._reset_shared(generator)
            self.left_pool.copy_(_normal(self.left_pool.shape, FACTOR_STD, generator))
            self.right.zero_()
            self.gate_logits.copy_(_normal(self.gate_logits.shape, GATE_STD, generator))
            if self.bias_pool is not None:
                self.bias_pool.copy_(_normal(self.bias_pool.shape, SHARED_STD, generator))

    def merged_bias(self) -> Tensor | None:
        """Return each channel's bias, shape ``(n_channels, out)``, or None.

        With ``pooled_bias``, ``b_i = sum_k g_ik c_k`` is mixed from the pool.
        """
        if self.bias_pool is not None:
            return self.gates() @ self.bias_pool
        return self.bias

    def gates(self) -> Tensor:
        """Return the softmax gate weights ``g``, shape ``(n_channels, pool_size)``."""
        return torch.softmax(self.gate_logits, dim=-1)

    def gate_penalty(self, kind: str) -> Tensor:
        """Regularisation term on the gates (the paper's open question on gate collapse).

        Parameters
        ----------
        kind : {"balance", "entropy"}
            ``"balance"``: KL divergence of the pool's mean usage ``u = mean_i g_i`` from the
            uniform distribution (0 when every component is used equally often), against all
            channels collapsing onto one component. ``"entropy"``: mean gate entropy divided by
            ``log K`` (0 for one-hot gates), pushing each channel to pick components instead of
            keeping uniform gates.

        Returns
        -------
        Tensor
            A scalar, differentiable with respect to the gate logits.

        Examples
        --------
        >>> emb = LightSAEEmbedding(4, 8, 8, rank=2, pool_size=3)
        >>> round(emb.gate_penalty("entropy").item(), 3)  # near-uniform gates at initialisation
        1.0
        """
        gates = self.gates()
        if kind == "balance":
            usage = gates.mean(dim=0)  # (K,)
            return (usage * torch.log(usage * self.pool_size)).sum()
        if kind == "entropy":
            entropy = -(gates * torch.log(gates.clamp_min(1e-12))).sum(dim=1)  # (N,)
            return entropy.mean() / max(math.log(self.pool_size), 1e-12)
        raise ValueError(f"gate penalty must be 'balance' or 'entropy', got {kind!r}.")

    def mixed_left(self) -> Tensor:
        """Return each channel's mixed left factor ``sum_k g_ik A_k``, shape ``(N, in, r)``."""
        pool = self.left_pool.reshape(self.pool_size, -1)  # (K, in*r)
        return (self.gates() @ pool).view(self.n_channels, self.in_features, self.rank)

    def auxiliary_weight(self) -> Tensor:
        """Return ``(sum_k g_ik A_k) B`` for every channel, shape ``(n_channels, in, out)``."""
        return self.mixed_left() @ self.right

    def _embed(self, x: Tensor) -> Tensor:
        if self.rank >= self.in_features:  # the factors do not compress: merge first
            return channel_matmul(x, self.merged_weight(), self.merged_bias())
        x = x.contiguous()  # one copy here, so both products below read it in place
        rows = x.view(-1, self.in_features)  # (B*N*S, in)
        hidden = channel_matmul(x, self.mixed_left()).view(-1, self.rank)  # (B*N*S, r)
        out = torch.addmm(rows @ self.shared_weight, hidden, self.right)  # (B*N*S, out)
        out = out.view(*x.shape[:-1], self.out_features)  # (B, N, *, out)
        bias = self.merged_bias()
        if bias is not None:
            out = out + bias.view(self.n_channels, *([1] * (x.dim() - 3)), -1)
        return out

    def extra_repr(self) -> str:
        pooled = ", pooled_bias=True" if self.bias_pool is not None else ""
        return f"{super().extra_repr()}, rank={self.rank}, pool_size={self.pool_size}{pooled}"
