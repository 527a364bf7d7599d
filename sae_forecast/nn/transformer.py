"""The post-norm Transformer encoder shared by PatchTST and iTransformer."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from sae_forecast.nn.batchnorm import TokenBatchNorm
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
    mask = _attention_mask(q.shape[:3] + k.shape[2:3], p, seed, q.device) if p > 0 else None
    return _masked_attention(q, k, v, p, mask)


def _attention_mask(shape: torch.Size, p: float, seed: int, device) -> Tensor:
    """The keep mask of attention weights of ``shape`` drawn from ``seed`` (see ``keep_mask``)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return keep_mask(shape, p, generator, device)


def _masked_attention(q: Tensor, k: Tensor, v: Tensor, p: float, mask: Tensor | None) -> Tensor:
    """Softmax attention written out, its weights dropped where ``mask`` (if given) is False."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, H, T, S)
    probs = scores.softmax(dim=-1)  # (B, H, T, S)
    if mask is not None:
        probs = apply_mask(probs, mask, p)
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
        q, k, v = self._queries_keys_values(x, memory)  # (B, H, T, hd), then (B, H, S, hd) twice
        p = self.dropout.p if self.training else 0.0
        if p == 0 and not self.force_manual:
            context = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, head_dim)
        else:
            context = self._attend_in_chunks(q, k, v, p)  # (B, H, T, head_dim)
        return self._merge_heads(context)

    def draw_weight_mask(self, batch: int, tokens: int, keys: int, device) -> Tensor | None:
        """Draw the keep mask :meth:`forward` would draw for its attention weights, whole.

        The same seeds, drawn in the same order, give the same mask, shape ``(batch, heads,
        tokens, keys)``; ``None`` where :meth:`forward` draws none (eval mode, or no dropout).
        Rows of it go to :meth:`forward_with_mask` with the same rows of the input.
        """
        p = self.dropout.p if self.training else 0.0
        if p == 0:
            return None
        chunk = self._rows_per_chunk(tokens, keys)
        shape = (self.n_heads, tokens, keys)
        masks = [
            _attention_mask(
                (min(chunk, batch - start), *shape), p, self.dropout.draw_seed(), device
            )
            for start in range(0, batch, chunk)
        ]
        return torch.cat(masks)  # (B, H, T, S)

    def forward_with_mask(
        self, x: Tensor, memory: Tensor | None, weight_mask: Tensor | None
    ) -> Tensor:
        """:meth:`forward` with the keep mask of the attention weights given, not drawn.

        ``weight_mask`` is rows of :meth:`draw_weight_mask` matching the rows of ``x``, or
        ``None`` (no dropout). Nothing random is drawn, so a recomputation gives the same
        result.
        """
        q, k, v = self._queries_keys_values(x, memory)
        if weight_mask is None and not self.force_manual:
            context = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, head_dim)
        else:
            context = _masked_attention(q, k, v, self.dropout.p, weight_mask)
        return self._merge_heads(context)

    def _merge_heads(self, context: Tensor) -> Tensor:
        """``(B, heads, T, head_dim)`` to the output projection of ``(B, T, d_model)``."""
        batch, _, tokens, _ = context.shape
        return self.out(context.transpose(1, 2).reshape(batch, tokens, -1))

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
        batch, _, tokens, _ = q.shape
        chunk = self._rows_per_chunk(tokens, k.shape[2])  # keys: T, or T + M with memory
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

    def _rows_per_chunk(self, tokens: int, keys: int) -> int:
        """Rows whose attention maps hold at most ``MAX_SCORES_PER_CHUNK`` scores."""
        return max(1, MAX_SCORES_PER_CHUNK // (self.n_heads * tokens * keys))


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

    def forward_in_chunks(self, x: Tensor, memory: Tensor | None, chunk_size: int) -> Tensor:
        """:meth:`forward` on ``chunk_size`` rows at a time, recomputed in backward.

        The attention block and the feed-forward block each run on row chunks under
        activation checkpointing, so they keep only their inputs; the norms run on all rows
        (BatchNorm's statistics span them) and keep their outputs where they can
        (:meth:`~sae_forecast.nn.batchnorm.TokenBatchNorm.forward_keeping_output`). The dropout
        masks are drawn whole first, in :meth:`forward`'s order from the same generators, and
        sliced per chunk: the output equals :meth:`forward`'s and the gradients agree to float
        rounding (they are sums over chunks).
        """
        batch, tokens, _ = x.shape
        keys = tokens if memory is None else tokens + memory.shape[1]
        weight_mask = self.attention.draw_weight_mask(batch, tokens, keys, x.device)
        after_attention = self._draw_mask(x.shape, x.device)
        hidden = self._draw_mask((batch, tokens, self.ff_in.out_features), x.device)
        after_feed_forward = self._draw_mask(x.shape, x.device)
        x = _rows_in_chunks(
            self._attention_block, chunk_size, x, memory, weight_mask, after_attention
        )
        x = _norm_keeping_output(self.norm1, x)
        x = _rows_in_chunks(self._feed_forward_block, chunk_size, x, hidden, after_feed_forward)
        return _norm_keeping_output(self.norm2, x)

    def _draw_mask(self, shape, device) -> Tensor | None:
        """The keep mask ``self.dropout`` would draw for ``shape``, or ``None`` if it draws none."""
        if not self.training or self.dropout.p == 0:
            return None
        return keep_mask(torch.Size(shape), self.dropout.p, self.dropout.generator, device)

    def _attention_block(self, x, memory, weight_mask, after_attention) -> Tensor:
        attended = self.attention.forward_with_mask(x, memory, weight_mask)  # (b, T, d)
        return x + _drop(attended, after_attention, self.dropout.p)

    def _feed_forward_block(self, x, hidden_mask, after_feed_forward) -> Tensor:
        hidden = _drop(ACTIVATIONS[self.activation](self.ff_in(x)), hidden_mask, self.dropout.p)
        return x + _drop(self.ff_out(hidden), after_feed_forward, self.dropout.p)


def _drop(x: Tensor, mask: Tensor | None, p: float) -> Tensor:
    return x if mask is None else apply_mask(x, mask, p)


def _norm_keeping_output(norm: nn.Module, x: Tensor) -> Tensor:
    """``norm(x)``, through ``norm.forward_keeping_output`` where the norm has one."""
    return getattr(norm, "forward_keeping_output", norm)(x)


def _rows_in_chunks(block, chunk_size: int, *inputs: Tensor | None) -> Tensor:
    """``block(*inputs)`` on ``chunk_size`` rows of every input at a time, checkpointed.

    Each chunk keeps only its inputs for backward and runs again there. ``block`` must act on
    each row alone and draw nothing random (its masks are inputs). ``None`` inputs are passed
    to every chunk as ``None``.
    """
    rows = next(t.shape[0] for t in inputs if t is not None)
    n_chunks = -(-rows // chunk_size)
    pieces = [[None] * n_chunks if t is None else t.split(chunk_size) for t in inputs]
    outputs = [
        checkpoint(block, *chunk, use_reentrant=False, preserve_rng_state=False)
        for chunk in zip(*pieces, strict=True)
    ]
    return torch.cat(outputs)


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
    chunk_size : int or None, default=None
        In training, encode at most this many rows (sequences) at a time and recompute their
        activations in backward (:meth:`EncoderLayer.forward_in_chunks`): peak memory then
        grows with the chunk, plus a few tensors of all rows per layer, instead of with all
        rows. It costs one more forward pass of the layers. ``None`` encodes all rows at once.

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
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(
                f"chunk_size must be a positive number of rows or None, got {chunk_size}."
            )
        self.chunk_size = chunk_size
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
        if self._chunked(x):
            for layer in self.layers:
                x = layer.forward_in_chunks(x, memory, self.chunk_size)  # (B, T, d)
            return _norm_keeping_output(self.norm, x)
        for layer in self.layers:
            x = layer(x, memory)  # (B, T, d)
        return self.norm(x)

    def _chunked(self, x: Tensor) -> bool:
        """Whether this call keeps activations for backward and has more rows than a chunk."""
        if self.chunk_size is None or not (self.training and torch.is_grad_enabled()):
            return False
        return x.shape[0] > self.chunk_size
