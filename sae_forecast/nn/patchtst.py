"""PatchTST (Nie et al., 2023): channel-independent patches through a Transformer encoder."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from sae_forecast.nn.backbone import Backbone
from sae_forecast.nn.covariates import make_covariate_projection
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import DEFAULT_POOL_SIZE, DEFAULT_RANK, make_embedding
from sae_forecast.nn.transformer import TransformerEncoder, sinusoidal_positions

__all__ = ["PatchTST"]


class PatchTST(Backbone):
    """PatchTST whose patch value embedding is a channel embedding of the SAE family.

    Each channel's window is padded at the end by ``stride`` (replicating the last value), cut
    into ``(seq_len - patch_len) // stride + 2`` patches, embedded with the channel's own weight
    (shared over its patches), given fixed sine/cosine positions, encoded by a BatchNorm
    Transformer encoder, flattened and projected to the horizon. Covariates add a linear term
    of their windows to the head's output (after the head dropout), ``y_i = head_i + P(c)``.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L`` (at least ``patch_len``).
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    embedding : str, default="shared"
        Kind of patch embedding (see :func:`~sae_forecast.nn.make_embedding`).
    rank : int, default=25
        Residual rank (``sae_lowrank``, ``lightsae``).
    pool_size : int, default=10
        Pool size ``K`` (``lightsae``).
    pooled_bias : bool, default=False
        ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K``
        biases, as the authors' RLinear does (see :class:`~sae_forecast.nn.LightSAEEmbedding`).
    patch_len : int, default=16
        Patch length.
    stride : int, default=8
        Distance between patch starts.
    d_model : int, default=512
        Token width.
    n_heads : int, default=8
        Attention heads.
    d_ff : int, default=2048
        Feed-forward width.
    n_layers : int, default=2
        Encoder layers.
    dropout : float, default=0.1
        Dropout in the embedding and the encoder.
    head_dropout : float, default=0.0
        Dropout after the flatten head.
    activation : {"gelu", "relu"}, default="gelu"
        Feed-forward activation.
    revin : bool, default=True
        Whether to normalise each window.
    revin_affine : bool, default=False
        Whether RevIN is affine.
    precision : {"fp32", "bf16"}, default="fp32"
        Autocast precision of the body.
    n_future_covariates : int, default=0
        Number of covariates known over the horizon (see :class:`~sae_forecast.nn.Backbone`).
    n_past_covariates : int, default=0
        Number of covariates observed up to the forecast origin only.
    covariate_gates : bool, default=False
        Weight the covariate terms per target channel
        (:class:`~sae_forecast.nn.GatedCovariateProjection`) instead of sharing them
        (:class:`~sae_forecast.nn.CovariateProjection`); no effect without covariates.
    chunk_size : int or None, default=None
        In training, encode at most this many (window, channel) series at a time and
        recompute their activations in backward, so that peak memory grows with the chunk
        (plus a few tensors of all series per layer) rather than with ``batch x n_channels``:
        for many channels. It costs one more forward pass of the encoder; the forecasts equal
        the unchunked ones and the gradients agree to float rounding. ``None`` encodes all at
        once.

    Examples
    --------
    >>> import torch
    >>> model = PatchTST(
    ...     96,
    ...     24,
    ...     n_channels=3,
    ...     embedding="lightsae",
    ...     pool_size=2,
    ...     d_model=16,
    ...     n_heads=2,
    ...     d_ff=32,
    ...     n_layers=1,
    ... )
    >>> model(torch.randn(4, 96, 3)).shape
    torch.Size([4, 24, 3])
    """

    def __init__(
        self,
        seq_len: int,
        pred_len: int,
        n_channels: int,
        *,
        embedding: str = "shared",
        rank: int = DEFAULT_RANK,
        pool_size: int = DEFAULT_POOL_SIZE,
        pooled_bias: bool = False,
        patch_len: int = 16,
        stride: int = 8,
        d_model: int = 512,
        n_heads: int = 8,
        d_ff: int = 2048,
        n_layers: int = 2,
        dropout: float = 0.1,
        head_dropout: float = 0.0,
        activation: str = "gelu",
        revin: bool = True,
        revin_affine: bool = False,
        precision: str = "fp32",
        n_future_covariates: int = 0,
        n_past_covariates: int = 0,
        covariate_gates: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__(
            seq_len,
            pred_len,
            n_channels,
            revin=revin,
            revin_affine=revin_affine,
            precision=precision,
            n_future_covariates=n_future_covariates,
            n_past_covariates=n_past_covariates,
        )
        if not 1 <= patch_len <= seq_len or stride < 1:
            raise ValueError(
                f"need 1 <= patch_len <= seq_len and stride >= 1, got patch_len={patch_len}, "
                f"stride={stride}, seq_len={seq_len}."
            )
        self.patch_len = patch_len
        self.stride = stride
        self.n_patches = (seq_len - patch_len) // stride + 2
        self.embedding = make_embedding(
            embedding,
            n_channels,
            patch_len,
            d_model,
            rank=rank,
            pool_size=pool_size,
            pooled_bias=pooled_bias,
        )
        self.register_buffer(
            "positions", sinusoidal_positions(self.n_patches, d_model), persistent=False
        )
        self.dropout = SeededDropout(dropout)
        self.encoder = TransformerEncoder(
            d_model,
            n_heads,
            d_ff,
            n_layers,
            dropout=dropout,
            activation=activation,
            norm="batch",
            chunk_size=chunk_size,
        )
        self.head = nn.Linear(self.n_patches * d_model, pred_len)
        self.head_dropout = SeededDropout(head_dropout)
        if self.n_covariates:  # built last: the other layers draw as without covariates
            self.covariate_projection = make_covariate_projection(
                seq_len,
                pred_len,
                n_channels,
                n_future_covariates,
                n_past_covariates,
                pred_len,
                gates=covariate_gates,
            )

    def _forecast(self, z: Tensor) -> Tensor:
        batch, _, n_channels = z.shape
        series = F.pad(z.transpose(1, 2), (0, self.stride), mode="replicate")  # (B, N, L+S)
        patches = series.unfold(-1, self.patch_len, self.stride)  # (B, N, P, patch_len)
        tokens = self.embedding(patches) + self.positions  # (B, N, P, d)
        tokens = self.dropout(tokens).flatten(0, 1)  # (B*N, P, d)
        encoded = self.encoder(tokens)  # (B*N, P, d)
        flat = encoded.reshape(batch, n_channels, -1)  # (B, N, P*d)
        return self.head_dropout(self.head(flat)).transpose(1, 2)  # (B, H, N)

    def _forecast_covariates(self, z: Tensor, covariates: Tensor) -> Tensor:
        term = self.covariate_projection(covariates).transpose(1, 2)  # (B, H, N)
        return self._forecast(z) + term  # (B, H, N)
