"""Quantile forecasts from any backbone: its forecast is the median, a head adds the spreads.

The backbone (and so its channel embedding) is used unchanged; its output is the median. A
small head maps each channel's normalised lookback window to positive gaps between adjacent
quantile levels, scaled by the window's standard deviation (with a learned floor per channel,
so a flat window does not collapse the bands). Quantiles are the median shifted
by cumulative sums of these gaps, so they never cross and the median level equals the
backbone's forecast exactly.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from sae_forecast.nn.itransformer import iTransformer
from sae_forecast.nn.patchtst import PatchTST
from sae_forecast.nn.rlinear import RLinear
from sae_forecast.nn.rmlp import RMLP

__all__ = [
    "DEFAULT_QUANTILE_LEVELS",
    "FLOOR_START",
    "QUANTILE_BACKBONES",
    "QuantileITransformer",
    "QuantileMixin",
    "QuantilePatchTST",
    "QuantileRLinear",
    "QuantileRMLP",
    "QuantileSpread",
    "check_levels",
    "quantile_backbone",
]

# The levels of the 50/80/90/95% central intervals and the median.
DEFAULT_QUANTILE_LEVELS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
_EPS = 1e-5  # added to the window variance, as RevIN does
FLOOR_START = 0.1  # the spreads' floor at initialisation, in units of the input's scale


def check_levels(levels) -> tuple[float, ...]:
    """Validate quantile levels: increasing, inside (0, 1), including the median 0.5.

    Examples
    --------
    >>> check_levels([0.1, 0.5, 0.9])
    (0.1, 0.5, 0.9)
    """
    levels = tuple(float(level) for level in levels)
    if (
        len(levels) < 2
        or any(not 0.0 < level < 1.0 for level in levels)
        or any(b <= a for a, b in itertools.pairwise(levels))
        or 0.5 not in levels
    ):
        raise ValueError(
            f"quantile levels must be at least two increasing values strictly between 0 and "
            f"1 that include 0.5 (the point forecast is the median), got {levels}; e.g. "
            f"{DEFAULT_QUANTILE_LEVELS}."
        )
    return levels


def _inverse_softplus(value: Tensor) -> Tensor:
    # softplus^-1(v) = log(e^v - 1) = v + log(1 - e^-v), stable for small and large v
    return value + torch.log(-torch.expm1(-value))


class QuantileSpread(nn.Module):
    """Positive gaps between adjacent quantile levels, from a normalised lookback window.

    ``gap = softplus(bias[h, j] + channel_bias[n, j] + (z @ U) @ V)`` for step ``h``, gap
    ``j`` and channel ``n``: a step-wise and a channel-wise level plus a low-rank function of
    the window ``z``. At initialisation ``V = 0`` and the gaps are those of a standard normal
    distribution, so the quantiles start as Gaussian bands of the window's scale. The gaps are
    in units of :meth:`scale`: the window's standard deviation, never below a floor per
    channel, ``softplus(floor[n])``, learned (it starts at 0.1 of the input's unit): without
    it, a flat window (a dry rain gauge, a sensor stuck after an outlier) gives bands of
    width zero however uncertain the next values are.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    levels : tuple of float
        Quantile levels (increasing, see :func:`check_levels`).
    rank : int, default=8
        Rank of the window-dependent term.

    Examples
    --------
    >>> import torch
    >>> head = QuantileSpread(16, 4, 3, (0.1, 0.5, 0.9))
    >>> gaps = head(torch.randn(2, 3, 16))
    >>> tuple(gaps.shape), bool((gaps > 0).all())
    ((2, 3, 4, 2), True)
    """

    def __init__(
        self, seq_len: int, pred_len: int, n_channels: int, levels, *, rank: int = 8
    ) -> None:
        super().__init__()
        self.levels = check_levels(levels)
        self.pred_len = pred_len
        n_gaps = len(self.levels) - 1
        self.window = nn.Linear(seq_len, rank, bias=False)  # seeded like every Linear
        self.mix = nn.Parameter(torch.zeros(rank, pred_len * n_gaps))
        self.bias = nn.Parameter(torch.zeros(pred_len, n_gaps))
        self.channel_bias = nn.Parameter(torch.zeros(n_channels, n_gaps))
        self.floor = nn.Parameter(torch.zeros(n_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Deterministic start: no window term, standard-normal gaps, no channel offsets."""
        normal = torch.special.ndtri(torch.tensor(self.levels, dtype=torch.float64))
        gaps = _inverse_softplus(torch.diff(normal)).to(self.bias.dtype)
        floor = _inverse_softplus(torch.tensor(FLOOR_START, dtype=torch.float64))
        with torch.no_grad():
            self.mix.zero_()
            self.channel_bias.zero_()
            self.bias.copy_(gaps.expand_as(self.bias))
            self.floor.fill_(float(floor))

    def scale(self, variance: Tensor) -> Tensor:
        """The unit of the gaps for windows of ``variance (batch, 1, n_channels)``:
        ``sqrt(variance + softplus(floor)^2)``."""
        return torch.sqrt(variance + nn.functional.softplus(self.floor).square())

    def forward(self, z: Tensor) -> Tensor:
        """Gaps for normalised windows ``z (batch, n_channels, seq_len)``.

        Returns
        -------
        Tensor
            Shape ``(batch, n_channels, pred_len, n_levels - 1)``, all positive.
        """
        batch, n_channels, _ = z.shape
        varying = (self.window(z) @ self.mix).view(batch, n_channels, self.pred_len, -1)
        logits = varying + self.bias + self.channel_bias[:, None, :]  # (B, N, H, Q-1)
        return nn.functional.softplus(logits)


class QuantileMixin:
    """Mixin that turns a :class:`~sae_forecast.nn.Backbone` into a quantile forecaster.

    The backbone's own layers and forward are unchanged (so are its parameter names: the
    channel embedding stays ``.embedding``); its forecast is the median. A
    :class:`QuantileSpread` head adds the gaps between adjacent levels in units of each
    window's standard deviation (never below a learned floor per channel), and cumulative
    sums of the gaps around the median give quantiles that never cross. Combine it first:
    ``class QuantileX(QuantileMixin, X)``.

    Parameters
    ----------
    seq_len : int
        Lookback length ``L``.
    pred_len : int
        Horizon ``H``.
    n_channels : int
        Number of channels ``N``.
    levels : tuple of float, default=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
        Quantile levels; must include 0.5.
    spread_rank : int, default=8
        Rank of the window-dependent part of the spreads.
    **backbone_params
        Keyword arguments of the backbone (``embedding``, ``rank``, ``d_model``...).

    Examples
    --------
    >>> import torch
    >>> model = QuantileRLinear(16, 4, 3, levels=(0.1, 0.5, 0.9), embedding="lightsae")
    >>> median, quantiles = model(torch.randn(2, 16, 3))
    >>> tuple(quantiles.shape), bool(torch.equal(quantiles[..., 1], median))
    ((2, 4, 3, 3), True)
    """

    def __init__(
        self,
        seq_len: int,
        pred_len: int,
        n_channels: int,
        *,
        levels=DEFAULT_QUANTILE_LEVELS,
        spread_rank: int = 8,
        **backbone_params,
    ) -> None:
        super().__init__(seq_len, pred_len, n_channels, **backbone_params)
        self.levels = check_levels(levels)
        self.median_index = self.levels.index(0.5)
        self.spread = QuantileSpread(seq_len, pred_len, n_channels, self.levels, rank=spread_rank)

    def forward(self, x: Tensor, covariates: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Median and quantile forecasts.

        Parameters
        ----------
        x : Tensor
            Lookback windows, shape ``(batch, seq_len, n_channels)``.
        covariates : Tensor or None, default=None
            Passed to the backbone (see :meth:`Backbone.forward
            <sae_forecast.nn.Backbone.forward>`); the spread head reads ``x`` only.

        Returns
        -------
        median : Tensor
            The backbone's forecast, shape ``(batch, pred_len, n_channels)``.
        quantiles : Tensor
            Shape ``(batch, pred_len, n_channels, n_levels)``, non-decreasing along the last
            axis; ``quantiles[..., median_index]`` equals ``median``.
        """
        median = super().forward(x, covariates)  # (B, H, N)
        mean = x.mean(dim=1, keepdim=True)  # (B, 1, N)
        variance = (x - mean).square().mean(dim=1, keepdim=True) + _EPS  # (B, 1, N)
        z = ((x - mean) / torch.sqrt(variance)).transpose(1, 2)  # (B, N, L)
        scale = self.spread.scale(variance)  # (B, 1, N)
        gaps = self.spread(z).transpose(1, 2) * scale[..., None]  # (B, H, N, Q-1)
        steps = torch.cumsum(gaps, dim=-1)
        offsets = torch.cat([torch.zeros_like(steps[..., :1]), steps], dim=-1)  # (B, H, N, Q)
        offsets = offsets - offsets[..., self.median_index : self.median_index + 1]
        return median, median[..., None] + offsets


class QuantileRLinear(QuantileMixin, RLinear):
    """:class:`~sae_forecast.nn.RLinear` forecasting quantiles (see :class:`QuantileMixin`)."""


class QuantileRMLP(QuantileMixin, RMLP):
    """:class:`~sae_forecast.nn.RMLP` forecasting quantiles (see :class:`QuantileMixin`)."""


class QuantilePatchTST(QuantileMixin, PatchTST):
    """:class:`~sae_forecast.nn.PatchTST` forecasting quantiles (see :class:`QuantileMixin`)."""


class QuantileITransformer(QuantileMixin, iTransformer):
    """:class:`~sae_forecast.nn.iTransformer` forecasting quantiles (see
    :class:`QuantileMixin`)."""


QUANTILE_BACKBONES = {
    RLinear: QuantileRLinear,
    RMLP: QuantileRMLP,
    PatchTST: QuantilePatchTST,
    iTransformer: QuantileITransformer,
}


def quantile_backbone(backbone: type) -> type:
    """The quantile class of a backbone class.

    Examples
    --------
    >>> quantile_backbone(RLinear).__name__
    'QuantileRLinear'
    """
    if backbone not in QUANTILE_BACKBONES:
        raise ValueError(
            f"no quantile variant of {backbone.__name__}; define "
            f"class Quantile{backbone.__name__}(QuantileMixin, {backbone.__name__}) and add it "
            "to QUANTILE_BACKBONES."
        )
    return QUANTILE_BACKBONES[backbone]
