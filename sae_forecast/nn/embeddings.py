"""The Shared-Auxiliary Embedding (SAE) family: one linear map per channel.

Every class maps ``(batch, n_channels, *, in_features)`` to ``(batch, n_channels, *,
out_features)``; channel ``i`` is multiplied by its own weight ``W_i`` (``in_features x
out_features``) and shifted by its bias ``b_i``. The classes differ only in how ``W_i`` is
parameterised:

==============  ===================================  ===========================================
kind            weight for channel i                 parameters (plus bias)
==============  ===================================  ===========================================
``shared``      ``W_sh``                             ``in*out``
``independent`` ``W_i``                              ``N*in*out``
``sae``         ``W_sh + W_i``                       ``(N+1)*in*out``
``sae_lowrank`` ``W_sh + A_i B_i``                   ``in*out + N*r*(in+out)``
``lightsae``    ``W_sh + (sum_k g_ik A_k) B``        ``in*out + K*in*r + r*out + N*K``
==============  ===================================  ===========================================

The bias is one vector of ``out`` entries for ``shared`` and one per channel (``N*out``) for
every other kind. The auxiliary path of ``sae``, ``sae_lowrank`` and ``lightsae`` starts at
exactly zero, so at initialisation each of them computes the same function as ``shared``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "EMBEDDING_KINDS",
    "ChannelEmbedding",
    "IndependentEmbedding",
    "LightSAEEmbedding",
    "LowRankSAEEmbedding",
    "SAEEmbedding",
    "SharedEmbedding",
    "make_embedding",
    "parameter_count",
]

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
        return channel_matmul(x, self._cached_weight(), self.bias)

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
        rank: int = 25,
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
        Whether each channel has its own bias.

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
        rank: int = 25,
        pool_size: int = 10,
        bias: bool = True,
    ):
        super().__init__(n_channels, in_features, out_features, bias=bias)
        _check_positive(rank=rank, pool_size=pool_size)
        self.rank = rank
        self.pool_size = pool_size
        self.left_pool = nn.Parameter(torch.empty(pool_size, in_features, rank))
        self.right = nn.Parameter(torch.empty(rank, out_features))
        self.gate_logits = nn.Parameter(torch.empty(n_channels, pool_size))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W_sh ~ N(0, 1e-2)``, ``A_k ~ N(0, 1e-5)``, ``G ~ N(0, 1e-2)``; ``B = 0``."""
        with torch.no_grad():
            self._reset_shared(generator)
            self.left_pool.copy_(_normal(self.left_pool.shape, FACTOR_STD, generator))
            self.right.zero_()
            self.gate_logits.copy_(_normal(self.gate_logits.shape, GATE_STD, generator))

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
            return channel_matmul(x, self.merged_weight(), self.bias)
        x = x.contiguous()  # one copy here, so both products below read it in place
        rows = x.view(-1, self.in_features)  # (B*N*S, in)
        hidden = channel_matmul(x, self.mixed_left()).view(-1, self.rank)  # (B*N*S, r)
        out = torch.addmm(rows @ self.shared_weight, hidden, self.right)  # (B*N*S, out)
        out = out.view(*x.shape[:-1], self.out_features)  # (B, N, *, out)
        if self.bias is not None:
            out = out + self.bias.view(self.n_channels, *([1] * (x.dim() - 3)), -1)
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rank={self.rank}, pool_size={self.pool_size}"


EMBEDDING_KINDS: dict[str, type[ChannelEmbedding]] = {
    "shared": SharedEmbedding,
    "independent": IndependentEmbedding,
    "sae": SAEEmbedding,
    "sae_lowrank": LowRankSAEEmbedding,
    "lightsae": LightSAEEmbedding,
}


def make_embedding(
    kind: str,
    n_channels: int,
    in_features: int,
    out_features: int,
    *,
    rank: int = 25,
    pool_size: int = 10,
    bias: bool = True,
) -> ChannelEmbedding:
    """Build an embedding of the family by name.

    Parameters
    ----------
    kind : {"shared", "independent", "sae", "sae_lowrank", "lightsae"}
        Which parameterisation of the per-channel weight to use.
    n_channels : int
        Number of channels ``N``.
    in_features : int
        Input length per channel.
    out_features : int
        Output length per channel.
    rank : int, default=25
        Rank of the residuals (``sae_lowrank`` and ``lightsae``; ignored otherwise).
    pool_size : int, default=10
        Number of pooled left factors (``lightsae`` only; ignored otherwise).
    bias : bool, default=True
        Whether to learn a bias (shared for ``shared``, per channel otherwise).

    Returns
    -------
    ChannelEmbedding

    Examples
    --------
    >>> emb = make_embedding("lightsae", 7, 96, 96, rank=25, pool_size=3)
    >>> type(emb).__name__
    'LightSAEEmbedding'
    """
    if kind not in EMBEDDING_KINDS:
        raise ValueError(f"Unknown embedding kind {kind!r}; choose one of {list(EMBEDDING_KINDS)}.")
    cls = EMBEDDING_KINDS[kind]
    options: dict[str, int | bool] = {"bias": bias}
    if cls in (LowRankSAEEmbedding, LightSAEEmbedding):
        options["rank"] = rank
    if cls is LightSAEEmbedding:
        options["pool_size"] = pool_size
    return cls(n_channels, in_features, out_features, **options)


def parameter_count(
    kind: str,
    n_channels: int,
    in_features: int,
    out_features: int,
    *,
    rank: int = 25,
    pool_size: int = 10,
    bias: bool = True,
) -> int:
    """Return the number of parameters of an embedding from the formulas in the table above.

    Examples
    --------
    >>> parameter_count("lightsae", 7, 96, 96, rank=25, pool_size=3)
    19509
    """
    n, i, o, r, k = n_channels, in_features, out_features, rank, pool_size
    weights = {
        "shared": i * o,
        "independent": n * i * o,
        "sae": (n + 1) * i * o,
        "sae_lowrank": i * o + n * r * (i + o),
        "lightsae": i * o + k * i * r + r * o + n * k,
    }[kind]
    bias_size = (o if kind == "shared" else n * o) if bias else 0
    return weights + bias_size
