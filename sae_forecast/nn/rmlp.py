"""RMLP (Li et al., 2023): channel embedding, a residual MLP block and a linear head."""

from __future__ import annotations

from torch import Tensor, nn

from sae_forecast.nn.backbone import Backbone
from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.embeddings import DEFAULT_POOL_SIZE, DEFAULT_RANK, make_embedding

__all__ = ["RMLP"]


class RMLP(Backbone):
    """RMLP: embed each channel's window to ``d_model``, refine it, project to the horizon.

    ``h = E_i(x_i)``; ``h = h + W2 drop(relu(W1 h))``; ``y_i = W_out h``. The channel embedding
    ``E`` is the only channel-specific part.

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
    ) -> None:
        super().__init__(
            seq_len,
            pred_len,
            n_channels,
            revin=revin,
            revin_affine=revin_affine,
            precision=precision,
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

    def _forecast(self, z: Tensor) -> Tensor:
        hidden = self.embedding(z.transpose(1, 2))  # (B, N, d_model)
        hidden = hidden + self.temporal(hidden)  # (B, N, d_model)
        return self.projection(hidden).transpose(1, 2)  # (B, H, N)
