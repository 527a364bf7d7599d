"""What every backbone shares: input checks, RevIN around the model, optional bf16 autocast."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.covariates import CovariateNorm
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

    A model built with covariates (``n_future_covariates + n_past_covariates > 0``) takes a
    covariate tensor beside the targets, normalises it with :class:`CovariateNorm` when
    ``revin=True`` (as given otherwise) and runs ``_forecast_covariates(z, covariates)``
    instead, which subclasses define; its additive terms live in the targets' normalised
    space, before RevIN's denormalisation. Without covariates (the default) the model has no
    covariate module at all: same parameters, same random draws, same results as before.

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
    n_future_covariates : int, default=0
        Number of covariates known over the horizon (read over all ``seq_len + pred_len``
        rows).
    n_past_covariates : int, default=0
        Number of covariates observed up to the forecast origin only (read over the first
        ``seq_len`` rows; their horizon rows are ignored).

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
        n_future_covariates: int = 0,
        n_past_covariates: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (
            ("seq_len", seq_len),
            ("pred_len", pred_len),
            ("n_channels", n_channels),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        for name, value in (
            ("n_future_covariates", n_future_covariates),
            ("n_past_covariates", n_past_covariates),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.n_channels = n_channels
        self.precision = precision
        self.n_future_covariates = n_future_covariates
        self.n_past_covariates = n_past_covariates
        self.n_covariates = n_future_covariates + n_past_covariates
        self.revin = RevIN(n_channels, affine=revin_affine, enabled=revin)
        if self.n_covariates:  # no module at all without covariates
            self.covariate_norm = CovariateNorm(seq_len) if revin else nn.Identity()

    def forward(self, x: Tensor, covariates: Tensor | None = None) -> Tensor:
        """Forecast ``pred_len`` steps.

        Parameters
        ----------
        x : Tensor
            Lookback windows, shape ``(batch, seq_len, n_channels)``.
        covariates : Tensor or None, default=None
            Required when the model was built with covariates, refused otherwise. Shape
            ``(batch, seq_len + pred_len, n_future_covariates + n_past_covariates)``,
            future-known columns first; rows ``seq_len..`` are the horizon (arbitrary values
            in the past-only columns, which are never read there). Cast to ``x``'s dtype.

        Returns
        -------
        Tensor
            Forecasts of the targets, shape ``(batch, pred_len, n_channels)``, dtype of ``x``.
        """
        if x.dim() != 3 or x.shape[1] != self.seq_len or x.shape[2] != self.n_channels:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, seq_len={self.seq_len}, "
                f"n_channels={self.n_channels}), got {tuple(x.shape)}."
            )
        self._check_covariates(x, covariates)
        z, stats = self.revin.normalize(x)
        if covariates is not None:
            covariates = self.covariate_norm(covariates.to(x.dtype))  # (B, L+H, C)
        with torch.autocast(x.device.type, torch.bfloat16, enabled=self.precision == "bf16"):
            if covariates is None:
                y = self._forecast(z)  # (B, H, N)
            else:
                y = self._forecast_covariates(z, covariates)  # (B, H, N)
        return self.revin.denormalize(y.to(x.dtype), stats)

    def _check_covariates(self, x: Tensor, covariates: Tensor | None) -> None:
        name = type(self).__name__
        if not self.n_covariates:
            if covariates is not None:
                raise ValueError(
                    f"{name} was built without covariates (n_future_covariates=0, "
                    f"n_past_covariates=0), got covariates of shape "
                    f"{tuple(covariates.shape)}; build it with n_future_covariates or "
                    "n_past_covariates to use them."
                )
            return
        expected = (x.shape[0], self.seq_len + self.pred_len, self.n_covariates)
        if covariates is None or tuple(covariates.shape) != expected:
            given = None if covariates is None else tuple(covariates.shape)
            raise ValueError(
                f"{name} expected covariates of shape (batch={expected[0]}, seq_len + "
                f"pred_len={expected[1]}, n_future_covariates + n_past_covariates="
                f"{expected[2]}), got {given}."
            )

    def _forecast(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def _forecast_covariates(self, z: Tensor, covariates: Tensor) -> Tensor:
        raise NotImplementedError
