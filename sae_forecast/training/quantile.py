"""Quantile training: the pinball loss, the quantile output as a mixin, and the quantile net."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS, check_levels
from sae_forecast.training.dataset import Targets
from sae_forecast.training.net import ForecastingNet

__all__ = ["PinballLoss", "QuantileNet", "QuantileOutputMixin"]


class PinballLoss(nn.Module):
    """Pinball (quantile) loss averaged over quantile levels and observed targets.

    For level ``a`` and error ``e = y - q``: ``max(a * e, (a - 1) * e)``. Its minimiser is
    the ``a``-quantile of ``y``, so the mean over levels trains all quantiles at once; at
    ``a = 0.5`` it is half the absolute error.

    Parameters
    ----------
    levels : tuple of float, default=(0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
        Quantile levels, in the order of the last axis of the predictions.

    Examples
    --------
    >>> import torch
    >>> loss = PinballLoss((0.1, 0.5, 0.9))
    >>> quantiles = torch.tensor([[-1.0, 0.0, 1.0]])  # one target, three levels
    >>> round(loss(quantiles, torch.tensor([2.0])).item(), 4)  # (0.1*3 + 0.5*2 + 0.9*1) / 3
    0.7333
    """

    def __init__(self, levels=DEFAULT_QUANTILE_LEVELS) -> None:
        super().__init__()
        self.levels = check_levels(levels)
        self.register_buffer("_alpha", torch.tensor(self.levels), persistent=False)

    def forward(self, quantiles: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        """Mean pinball loss.

        Parameters
        ----------
        quantiles : Tensor
            Shape ``(*shape, n_levels)``.
        target : Tensor
            Shape ``shape``.
        weight : Tensor of float or None, default=None
            Shape ``shape``, 1.0 where the target was observed and 0.0 elsewhere; where
            given, only observed targets count.

        Returns
        -------
        Tensor
            A scalar.
        """
        alpha = self._alpha.to(quantiles.dtype)
        error = target[..., None] - quantiles  # (*shape, Q)
        loss = torch.maximum(alpha * error, (alpha - 1) * error).mean(dim=-1)  # shape
        if weight is None:
            return loss.mean()
        return (loss * weight).sum() / weight.sum().clamp(min=1.0)


class QuantileOutputMixin:
    """Quantile output for :class:`~sae_forecast.training.ForecastingNet` and its variants.

    Composes before the net in the bases (``class Net(QuantileOutputMixin, ForecastingNet)``):
    the target loss becomes :class:`PinballLoss` on the quantiles (the module's second output;
    on observed targets only when the windows carry a mask), the spread head trains in
    parameter groups of its own, and ``predict`` returns the median (the module's first
    output, skorch's convention); ``forward`` returns both outputs. Everything else (the gate
    penalty, early stopping, lr decay, clipping, seeding) is the net's.

    Parameters
    ----------
    module : type
        A quantile backbone, e.g. :class:`~sae_forecast.nn.quantile.QuantileRLinear`; set its
        levels with ``module__levels`` and the loss's alike with ``criterion__levels``.
    criterion : type, default=PinballLoss
        The quantile loss.
    spread_lr : float or None, default=0.01
        Floor on the learning rate of the spread head (``spread.*`` parameters): its gaps
        start at those of a standard normal and must move by O(1) whatever the backbone's
        learning rate (1e-4 for the Transformers), so they train in their own group at
        ``max(lr, spread_lr)``, decayed on the same schedule. None: one group at ``lr``.
    **kwargs
        Everything the net it composes with takes.

    Examples
    --------
    >>> from sae_forecast.training import ForecastingNet
    >>> class MyQuantileNet(QuantileOutputMixin, ForecastingNet):
    ...     pass
    >>> MyQuantileNet(None).criterion is PinballLoss
    True
    """

    def __init__(self, module, *, criterion=PinballLoss, spread_lr=0.01, **kwargs) -> None:
        super().__init__(module, criterion=criterion, **kwargs)
        self.spread_lr = spread_lr

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's optimiser arguments, the spread parameters in groups of their own whose
        learning rate is at least ``spread_lr``."""
        named = list(named_parameters)
        args, kwargs = super().get_params_for_optimizer(prefix, named)
        if prefix != "optimizer" or self.spread_lr is None:
            return args, kwargs
        spread = {id(p) for name, p in named if name.startswith("spread.")}
        groups = []
        for group in args[0]:
            lr = max(group.get("lr", kwargs["lr"]), self.spread_lr)
            body = [p for p in group["params"] if id(p) not in spread]
            head = [p for p in group["params"] if id(p) in spread]
            groups += [{**group, "params": body}] if body else []
            groups += [{**group, "params": head, "lr": lr}] if head else []
        return (groups, *args[1:]), kwargs

    def target_loss(self, y_pred, targets: Targets) -> Tensor:
        """Pinball loss of the quantiles ``y_pred[1]`` (observed targets only when
        ``targets.weight`` is set)."""
        _, quantiles = y_pred
        values = targets.values.to(quantiles.device)
        weight = None if targets.weight is None else targets.weight.to(quantiles.device)
        return self.criterion_(quantiles, values, weight)


class QuantileNet(QuantileOutputMixin, ForecastingNet):
    """:class:`ForecastingNet` for a quantile backbone (:mod:`sae_forecast.nn.quantile`).

    The reference protocol of :class:`ForecastingNet` with the quantile output of
    :class:`QuantileOutputMixin` (see both for the parameters).

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.data import sliding_windows
    >>> from sae_forecast.nn.quantile import QuantileRLinear
    >>> X, y = sliding_windows(np.sin(np.arange(200) / 4)[:, None] * np.ones((1, 2)), 16, 4)
    >>> levels = (0.1, 0.5, 0.9)
    >>> net = QuantileNet(
    ...     QuantileRLinear,
    ...     module__seq_len=16,
    ...     module__pred_len=4,
    ...     module__n_channels=2,
    ...     module__levels=levels,
    ...     criterion__levels=levels,
    ...     max_epochs=2,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> net.predict(X[:3]).shape, tuple(net.forward(X[:3])[1].shape)
    ((3, 4, 2), (3, 4, 2, 3))
    """
