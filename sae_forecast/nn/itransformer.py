"""iTransformer (Liu et al., 2024): one token per channel, attention across channels."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.backbone import Backbone
from sae_forecast.nn.covariates import CovariateTokens
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import DEFAULT_POOL_SIZE, DEFAULT_RANK, make_embedding
from sae_forecast.nn.transformer import TransformerEncoder

__all__ = ["iTransformer"]


class iTransformer(Backbone):
    """iTransformer whose inverted series embedding is a channel embedding of the SAE family.

    Each channel's whole window becomes one ``d_model`` token through the channel embedding;
    a post-LayerNorm encoder (with a final LayerNorm) attends across channels; a linear
    projector maps each token to the horizon. Covariates become variate tokens of their own
    (:class:`~sae_forecast.nn.CovariateTokens`) that are read, never encoded: in every layer
    the channels' tokens attend over the channels' and the covariates' tokens together (the
    covariate tokens join the keys and values only, as TimeXer reads exogenous variates), and
    only the channels' tokens pass through the residuals, norms and feed-forward blocks and are
    projected to the horizon: a covariate adds a key and a value, not a token to encode.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    embedding : str, default="shared"
        Kind of series embedding (see :func:`~sae_forecast.nn.make_embedding`).
    rank : int, default=25
        Residual rank (``sae_lowrank``, ``lightsae``).
    pool_size : int, default=10
        Pool size ``K`` (``lightsae``).
    pooled_bias : bool, default=False
        ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K``
        biases, as the authors' RLinear does (see :class:`~sae_forecast.nn.LightSAEEmbedding`).
    d_model : int, default=512
        Token width.
    n_heads : int, default=8
        Attention heads.
    d_ff : int, default=512
        Feed-forward width.
    n_layers : int, default=2
        Encoder layers.
    dropout : float, default=0.1
        Dropout after the embedding and inside the encoder.
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
    chunk_size : int or None, default=None
        In training, encode at most this many windows at a time and recompute their
        activations in backward, so that peak memory grows with the chunk rather than with the
        batch. It costs one more forward pass of the encoder; the forecasts equal the
        unchunked ones and the gradients agree to float rounding. ``None`` encodes all at once.

    Examples
    --------
    >>> import torch
    >>> model = iTransformer(
    ...     96, 24, n_channels=5, embedding="lightsae", pool_size=2, d_model=16, n_heads=2, d_ff=16
    ... )
    >>> model(torch.randn(4, 96, 5)).shape
    torch.Size([4, 24, 5])
    >>> with_calendar = iTransformer(
    ...     96, 24, n_channels=5, d_model=16, n_heads=2, d_ff=16, n_future_covariates=2
    ... )
    >>> with_calendar(torch.randn(4, 96, 5), torch.randn(4, 96 + 24, 2)).shape
    torch.Size([4, 24, 5])
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
        d_model: int = 512,
        n_heads: int = 8,
        d_ff: int = 512,
        n_layers: int = 2,
        dropout: float = 0.1,
        activation: str = "gelu",
        revin: bool = True,
        revin_affine: bool = False,
        precision: str = "fp32",
        n_future_covariates: int = 0,
        n_past_covariates: int = 0,
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
        self.embedding = make_embedding(
            embedding,
            n_channels,
            seq_len,
            d_model,
            rank=rank,
            pool_size=pool_size,
            pooled_bias=pooled_bias,
        )
        self.dropout = SeededDropout(dropout)
        self.encoder = TransformerEncoder(
            d_model,
            n_heads,
            d_ff,
            n_layers,
            dropout=dropout,
            activation=activation,
            norm="layer",
            chunk_size=chunk_size,
        )
        self.projector = nn.Linear(d_model, pred_len)
        if self.n_covariates:  # built last: the other layers draw as without covariates
            self.covariate_tokens = CovariateTokens(
                seq_len, pred_len, n_future_covariates, n_past_covariates, d_model
            )

    def _forecast(self, z: Tensor) -> Tensor:
        tokens = self.dropout(self.embedding(z.transpose(1, 2)))  # (B, N, d_model)
        encoded = self.encoder(tokens)  # (B, N, d_model)
        return self.projector(encoded).transpose(1, 2)  # (B, H, N)

    def _forecast_covariates(self, z: Tensor, covariates: Tensor) -> Tensor:
        targets = self.embedding(z.transpose(1, 2))  # (B, N, d_model)
        extra = self.covariate_tokens(covariates)  # (B, C, d_model)
        tokens = self.dropout(torch.cat([targets, extra], dim=1))  # (B, N+C, d_model)
        # the channels' tokens are encoded; the covariates' tokens are read-only keys and values
        memory = tokens[:, self.n_channels :]  # (B, C, d_model)
        encoded = self.encoder(tokens[:, : self.n_channels], memory)  # (B, N, d_model)
        return self.projector(encoded).transpose(1, 2)  # (B, H, N)
