"""RLinear (Li et al., 2023): one linear map from lookback to horizon inside RevIN."""

from __future__ import annotations

from torch import Tensor

from sae_forecast.nn.backbone import Backbone
from sae_forecast.nn.covariates import make_covariate_projection
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import DEFAULT_POOL_SIZE, DEFAULT_RANK, make_embedding

__all__ = ["RLinear"]


class RLinear(Backbone):
    """RLinear with a channel embedding of the SAE family as its whole body.

    The embedding maps each channel's lookback window (``seq_len``) straight to its forecast
    (``pred_len``), so ``embedding="lightsae"`` gives every channel its own merged linear model.
    Covariates add a linear term of their windows to the forecast (in RevIN's normalised
    space), ``y_i = E_i(x_i) + P(c)``, so the model stays linear.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    embedding : str, default="shared"
        Kind of embedding (see :func:`~sae_forecast.nn.make_embedding`).
    rank : int, default=25
        Residual rank (``sae_lowrank``, ``lightsae``).
    pool_size : int, default=10
        Pool size ``K`` (``lightsae``).
    pooled_bias : bool, default=False
        ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K``
        biases, as the authors' RLinear does (see :class:`~sae_forecast.nn.LightSAEEmbedding`).
    dropout : float, default=0.0
        Dropout on the normalised input.
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
    >>> model = RLinear(96, 24, n_channels=7, embedding="lightsae", pool_size=3)
    >>> model(torch.randn(4, 96, 7)).shape
    torch.Size([4, 24, 7])

    With two covariates known over the horizon and one observed only up to the origin:

    >>> model = RLinear(96, 24, n_channels=7, n_future_covariates=2, n_past_covariates=1)
    >>> model(torch.randn(4, 96, 7), covariates=torch.randn(4, 96 + 24, 3)).shape
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
        dropout: float = 0.0,
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
        self.dropout = SeededDropout(dropout)
        self.embedding = make_embedding(
            embedding,
            n_channels,
            seq_len,
            pred_len,
            rank=rank,
            pool_size=pool_size,
            pooled_bias=pooled_bias,
        )
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
        channels = self.dropout(z.transpose(1, 2))  # (B, N, L)
        return self.embedding(channels).transpose(1, 2)  # (B, H, N)

    def _forecast_covariates(self, z: Tensor, covariates: Tensor) -> Tensor:
        term = self.covariate_projection(covariates).transpose(1, 2)  # (B, H, N)
        return self._forecast(z) + term  # (B, H, N)
