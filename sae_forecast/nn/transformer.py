"""The post-norm Transformer encoder shared by PatchTST and iTransformer."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from sae_forecast.nn.dropout import SeededDropout, apply_mask, keep_mask

__all__ = [
    "ACTIVATIONS",
    "EncoderLayer",
    "MultiHeadSelfAttention",
    "TransformerEncoder",
    "force_manual_attention",
    "sinusoidal_positions",
]

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}  # the feed-forward activations, by name
_NORMS = ("layer", "batch")
# The written-out attention materialises (batch, heads, T, T) maps several times. Above this
# many score entries per forward it runs in batch chunks that are recomputed in backward.
MAX_SCORES_PER_CHUNK = 1 << 25  # 32M floats, 128 MiB


def sinusoidal_positions(length: int, d_model: int) -> Tensor:
    """Return the fixed sine/cosine position table of Vaswani et al., shape ``(length, d_model)``.

    Examples
    --------
    >>> sinusoidal_positions(12, 8).shape
    torch.Size([12, 8])
    """
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    frequency = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )  # (ceil(d/2),)
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
    return table


class TokenBatchNorm(nn.Module):
    """BatchNorm over the feature axis of ``(batch, tokens, d_model)``, as in PatchTST.

    Statistics are taken over batch and tokens together.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(d_model)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape ``(batch, tokens, d_model)``."""
        return self.norm(x.reshape(-1, x.shape[-1])).view_as(x)


def _make_norm(norm: str, d_model: int) -> nn.Module:
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}.")
    return nn.LayerNorm(d_model) if norm == "layer" else TokenBatchNorm(d_model)


def _manual_attention(q: Tensor, k: Tensor, v: Tensor, p: float, seed: int) -> Tensor:
    """Softmax attention written out; for ``p > 0``, dropout on the weights drawn from ``seed``.

    The mask depends on ``seed`` only, so a checkpointed chunk redraws it exactly in backward.
    Shapes: ``q`` is ``(batch, heads, T, head_dim)``, ``k, v`` are ``(batch, heads, S,
    head_dim)`` (``S = T`` in self-attention, ``T + M`` with ``M`` memory tokens); the result
    is ``(batch, heads, T, head_dim)``.
    """
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, H, T, S)
    probs = scores.softmax(dim=-1)  # (B, H, T, S)
    if p > 0:
        generator = torch.Generator(device=q.device)
        generator.manual_seed(seed)
        probs = apply_mask(probs, keep_mask(probs.shape, p, generator, q.device), p)
    return probs @ v  # (B, H, T, head_dim)


class MultiHeadSelfAttention(nn.Module):
    """Full multi-head self-attention with dropout on the attention weights, and optional memory.

    Given ``memory`` (``M`` read-only tokens), the queries still come from ``x`` only, while the
    keys and values come from ``x`` and ``memory`` together (``T + M`` tokens, projected by the
    same key and value maps): every token of ``x`` attends over ``x`` and the memory, and the
    output has one row per token of ``x``. Without memory it is plain self-attention.

    Two ways to compute the same attention. Where no dropout mask is drawn (eval mode, or
    ``dropout=0``) it calls :func:`torch.nn.functional.scaled_dot_product_attention`, whose
    fused kernels are the fastest. In training with dropout it writes the attention out and
    draws the mask from ``self.dropout.generator``, so fits in parallel threads are bitwise
    reproducible (SDPA would draw from the global random state).

    Parameters
    ----------
    d_model : int
        Token width; must be divisible by ``n_heads``.
    n_heads : int
        Number of heads.
    dropout : float, default=0.0
        Dropout on the attention weights (training only).

    Attributes
    ----------
    force_manual : bool
        Class default ``False``. ``True`` on an instance makes it use the written-out path
        everywhere (for tests and timings); see :func:`force_manual_attention`.

    Examples
    --------
    >>> attn = MultiHeadSelfAttention(d_model=16, n_heads=4)
    >>> attn(torch.randn(2, 5, 16)).shape
    torch.Size([2, 5, 16])
    >>> attn(torch.randn(2, 5, 16), memory=torch.randn(2, 3, 16)).shape  # 5 queries, 8 keys
    torch.Size([2, 5, 16])
    """

    force_manual = False

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}.")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # query, key and value in one matmul
        self.out = nn.Linear(d_model, d_model)
        self.dropout = SeededDropout(dropout)

    def forward(self, x: Tensor, memory: Tensor | None = None) -> Tensor:
        """Attend from the tokens of ``x`` over ``x`` and ``memory``.

        Parameters
        ----------
        x : Tensor
            Shape ``(batch, tokens, d_model)``: the queries, and the first keys and values.
        memory : Tensor or None, default=None
            Shape ``(batch, memory_tokens, d_model)``: further keys and values only (they are
            read, never updated). ``None`` is self-attention over ``x``.

        Returns
        -------
        Tensor
            Shape ``(batch, tokens, d_model)``.
        """
        batch, tokens, d_model = x.shape
        q, k, v = self._queries_keys_values(x, memory)  # (B, H, T, hd), then (B, H, S, hd) twice
        p = self.dropout.p if self.training else 0.0
        if p == 0 and not self.force_manual:
            context = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, head_dim)
        else:
            context = self._attend_in_chunks(q, k, v, p)  # (B, H, T, head_dim)
        context = context.transpose(1, 2).reshape(batch, tokens, d_model)
        return self.out(context)

    def _queries_keys_values(self, x: Tensor, memory: Tensor | None) -> tuple[Tensor, ...]:
        """Split heads of the projections: queries of ``x``, keys and values of ``x`` and memory.

        With memory, the tokens of ``x`` and ``memory`` go through ``self.qkv`` in one matmul
        (the memory's queries are computed and dropped). On the CPU this measured faster than
        projecting the memory through slices of the weight, whose gradient costs extra passes
        over the whole weight: 7.2 against 9.2 ms forward and backward at batch 32, one token,
        two memory tokens, ``d_model=512``, one thread (under load).

        Returns
        -------
        tuple of Tensor
            ``q`` ``(batch, heads, tokens, head_dim)``; ``k`` and ``v`` ``(batch, heads, S,
            head_dim)`` with ``S = tokens + memory_tokens`` (``tokens`` without memory).
        """
        if memory is None:
            return self._split_heads(self.qkv(x))  # each (B, H, T, head_dim)
        read = torch.cat([x, memory], dim=1)  # (B, T+M, d_model)
        q, k, v = self._split_heads(self.qkv(read))  # each (B, H, T+M, head_dim)
        return q[:, :, : x.shape[1]], k, v  # queries from x only: (B, H, T, head_dim)

    def _split_heads(self, qkv: Tensor) -> tuple[Tensor, ...]:
        """``(B, S, 3 * d_model)`` to ``q, k, v``, each ``(B, heads, S, head_dim)``."""
        batch, tokens, width = qkv.shape
        head_dim = width // (3 * self.n_heads)
        qkv = qkv.view(batch, tokens, 3, self.n_heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, S, head_dim)
        return q, k, v

    def _attend_in_chunks(self, q: Tensor, k: Tensor, v: Tensor, p: float) -> Tensor:
        batch, heads, tokens, _ = q.shape
        keys = k.shape[2]  # T, or T + M with memory
        chunk = max(1, MAX_SCORES_PER_CHUNK // (heads * tokens * keys))
        starts = range(0, batch, chunk)
        # Without dropout no seed is drawn, so forcing this path leaves the generator alone.
        seeds = [self.dropout.draw_seed() if p > 0 else 0 for _ in starts]
        if len(starts) == 1:
            return _manual_attention(q, k, v, p, seeds[0])
        parts = [
            checkpoint(
                _manual_attention,
                q[i : i + chunk],  # (chunk, H, T, head_dim)
                k[i : i + chunk],  # (chunk, H, S, head_dim)
                v[i : i + chunk],
                p,
                seed,
                use_reentrant=False,
            )
            for i, seed in zip(starts, seeds, strict=True)
        ]
        return torch.cat(parts)  # (B, H, T, head_dim)


def force_manual_attention(model: nn.Module, force: bool = True) -> nn.Module:
    """Make every :class:`MultiHeadSelfAttention` in ``model`` use the written-out path.

    Parameters
    ----------
    model : torch.nn.Module
        Module whose attention layers are switched in place.
    force : bool, default=True
        ``False`` restores the default choice (SDPA wherever no dropout mask is drawn).

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> enc = force_manual_attention(TransformerEncoder(8, 2, 16, 1))
    >>> enc.layers[0].attention.force_manual
    True
    """
    for module in model.modules():
        if isinstance(module, MultiHeadSelfAttention):
            module.force_manual = force
    return model


class EncoderLayer(nn.Module):
    """Post-norm encoder layer: attention and a two-layer feed-forward, each with a residual.

    Parameters
    ----------
    d_model : int
        Token width.
    n_heads : int
        Number of attention heads.
    d_ff : int
        Hidden width of the feed-forward block.
    dropout : float, default=0.1
        Dropout on attention weights, residual branches and the feed-forward hidden layer.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.
    norm : {"layer", "batch"}, default="layer"
        LayerNorm (iTransformer) or BatchNorm over tokens (PatchTST).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}.")
        self.activation = activation
        self.attention = MultiHeadSelfAttention(d_model, n_heads, dropout)
        self.ff_in = nn.Linear(d_model, d_ff)
        self.ff_out = nn.Linear(d_ff, d_model)
        self.norm1 = _make_norm(norm, d_model)
        self.norm2 = _make_norm(norm, d_model)
        self.dropout = SeededDropout(dropout)

    def forward(self, x: Tensor, memory: Tensor | None = None) -> Tensor:
        """Transform ``x`` of shape ``(batch, tokens, d_model)``; same shape out.

        ``memory`` (``(batch, memory_tokens, d_model)``, optional) joins the keys and values of
        the attention only; the residuals, norms and feed-forward act on ``x`` alone.
        """
        x = self.norm1(x + self.dropout(self.attention(x, memory)))  # (B, T, d)
        hidden = self.dropout(ACTIVATIONS[self.activation](self.ff_in(x)))  # (B, T, d_ff)
        return self.norm2(x + self.dropout(self.ff_out(hidden)))


class TransformerEncoder(nn.Module):
    """A stack of post-norm :class:`EncoderLayer` followed by a final norm.

    Parameters
    ----------
    d_model : int
        Token width.
    n_heads : int
        Number of attention heads.
    d_ff : int
        Hidden width of each feed-forward block.
    n_layers : int
        Number of layers.
    dropout : float, default=0.1
        Dropout inside each layer.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.
    norm : {"layer", "batch"}, default="layer"
        Norm used inside the layers and at the end.

    Examples
    --------
    >>> enc = TransformerEncoder(d_model=16, n_heads=2, d_ff=32, n_layers=2, norm="batch")
    >>> enc(torch.randn(3, 7, 16)).shape
    torch.Size([3, 7, 16])
    >>> enc(torch.randn(3, 7, 16), memory=torch.randn(3, 2, 16)).shape  # memory is not returned
    torch.Size([3, 7, 16])
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        n_layers: int,
        *,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm: str = "layer",
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, dropout=dropout, activation=activation, norm=norm)
            for _ in range(n_layers)
        )
        self.norm = _make_norm(norm, d_model)

    def forward(self, x: Tensor, memory: Tensor | None = None) -> Tensor:
        """Encode ``x`` of shape ``(batch, tokens, d_model)``; same shape out.

        ``memory`` (``(batch, memory_tokens, d_model)``, optional) is given unchanged to every
        layer as read-only keys and values; only the tokens of ``x`` are encoded and returned.
        """
        for layer in self.layers:
            x = layer(x, memory)  # (B, T, d)
        return self.norm(x)
