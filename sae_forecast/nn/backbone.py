"""What every backbone shares: input checks, RevIN around the model, optional bf16 autocast."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.embeddings import ChannelEmbedding
from sae_forecast.nn.revin import RevIN

__all__ = ["PRECISIONS", "Backbone"]

PRECISIONS = ("fp32", "bf16")


class Backbone(nn.Module):
    """Base class of the four forecasting backbones.

    Maps ``(batch, seq_len, n_channels)`` to ``(batch, pred_len, n_channels)``: normalises each
    window with :class:`RevIN`, runs ``_forecast`` (under bf16 autocast when
    ``precision="bf16"``) and undoes the normalisation in fp32. Subclasses build their layers,
    store the channel embedding as ``self.embedding`` and define ``_forecast``.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    revin : bool, default=True
        Whether to normalise each input window (RevIN).
    revin_affine : bool, default=False
        Whether RevIN learns a per-channel affine map.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the model body under ``torch.autocast`` with bfloat16.

    Examples
    --------
    >>> import torch
    >>> from sae_forecast.nn import Backbone, make_embedding
    >>> class Linear(Backbone):
    ...     def __init__(self, seq_len, pred_len, n_channels):
    ...         super().__init__(seq_len, pred_len, n_channels)
    ...         self.embedding = make_embedding("shared", n_channels, seq_len, pred_len)
    ...
    ...     def _forecast(self, z):
    ...         return self.embedding(z.transpose(1, 2)).transpose(1, 2)
    >>> Linear(16, 4, 2)(torch.randn(3, 16, 2)).shape
    torch.Size([3, 4, 2])
    """

    embedding: ChannelEmbedding

    def __init__(
        self,
        seq_len: int,
        pred_len: int,
        n_channels: int,
        *,
        revin: bool = True,
        revin_affine: bool = False,
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        for name, value in (
            ("seq_len", seq_len),
            ("pred_len", pred_len),
            ("n_channels", n_channels),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.n_channels = n_channels
        self.precision = precision
        self.revin = RevIN(n_channels, affine=revin_affine, enabled=revin)

    def forward(self, x: Tensor) -> Tensor:
        """Forecast ``pred_len`` steps.

        Parameters
        ----------
        x : Tensor
            Lookback windows, shape ``(batch, seq_len, n_channels)``.

        Returns
        -------
        Tensor
            Forecasts, shape ``(batch, pred_len, n_channels)``, dtype of ``x``.
        """
        if x.dim() != 3 or x.shape[1] != self.seq_len or x.shape[2] != self.n_channels:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, seq_len={self.seq_len}, "
                f"n_channels={self.n_channels}), got {tuple(x.shape)}."
            )
        z, stats = self.revin.normalize(x)
        with torch.autocast(x.device.type, torch.bfloat16, enabled=self.precision == "bf16"):
            y = self._forecast(z)  # (B, H, N)
        return self.revin.denormalize(y.to(x.dtype), stats)

    def _forecast(self, z: Tensor) -> Tensor:
        raise NotImplementedError
