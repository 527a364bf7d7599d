"""RMLP (Li et al., 2023): channel embedding, a residual MLP block and a linear head."""

from __future__ import annotations

from torch import Tensor, nn

from sae_forecast.nn.backbone import Backbone
from sae_forecast.nn.covariates import make_covariate_projection
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import DEFAULT_POOL_SIZE, DEFAULT_RANK, make_embedding

__all__ = ["RMLP"]


class RMLP(Backbone):
    """RMLP: embed each channel's window to ``d_model``, refine it, project to the horizon.

    ``h = E_i(x_i)``; ``h = h + W2 drop(relu(W1 h))``; ``y_i = W_out h``. The channel embedding
    ``E`` is the only channel-specific part. Covariates add a linear term of their windows to
    the embedded state before the residual block, ``h = E_i(x_i) + P(c)``, so the block mixes
    covariates and history non-linearly.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    embedding : str, default="shared"
        Kind of input embedding (see :func:`~sae_forecast.nn.make_embedding`).
    rank : int, default=25
        Residual rank (``sae_lowrank``, ``lightsae``).
    pool_size : int, default=10
        Pool size ``K`` (``lightsae``).
    pooled_bias : bool, default=False
        ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K``
        biases, as the authors' RLinear does (see :class:`~sae_forecast.nn.LightSAEEmbedding`).
    d_model : int, default=512
        Hidden width.
    dropout : float, default=0.1
        Dropout inside the residual block.
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

    Examples
    --------
    >>> import torch
    >>> model = RMLP(96, 24, n_channels=7, embedding="lightsae", d_model=32, pool_size=3)
    >>> model(torch.randn(4, 96, 7)).shape
    torch.Size([4, 24, 7])
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
        dropout: float = 0.1,
        revin: bool = True,
        revin_affine: bool = False,
        precision: str = "fp32",
        n_future_covariates: int = 0,
        n_past_covariates: int = 0,
        covariate_gates: bool = False,
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
        self.temporal = nn.Sequential(
            nn.Linear(d_model, d_model),
            nn.ReLU(),
            SeededDropout(dropout),
            nn.Linear(d_model, d_model),
        )
        self.projection = nn.Linear(d_model, pred_len)
        if self.n_covariates:  # built last: the other layers draw as without covariates
            self.covariate_projection = make_covariate_projection(
                seq_len,
                pred_len,
                n_channels,
                n_future_covariates,
                n_past_covariates,
                d_model,
                gates=covariate_gates,
            )

    def _forecast(self, z: Tensor) -> Tensor:
        return self._refine(self.embedding(z.transpose(1, 2)))  # (B, H, N)

    def _forecast_covariates(self, z: Tensor, covariates: Tensor) -> Tensor:
        hidden = self.embedding(z.transpose(1, 2))  # (B, N, d_model)
        return self._refine(hidden + self.covariate_projection(covariates))  # (B, H, N)

    def _refine(self, hidden: Tensor) -> Tensor:
        hidden = hidden + self.temporal(hidden)  # (B, N, d_model)
        return self.projection(hidden).transpose(1, 2)  # (B, H, N)
