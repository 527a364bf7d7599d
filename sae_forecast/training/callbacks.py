"""The callbacks skorch lacks here: timing the training part of an epoch, and stopping
loudly when the loss stops being a finite number."""

from __future__ import annotations

import math
import time

from skorch.callbacks import Callback

__all__ = ["StopOnNonFiniteLoss", "TrainingDivergedError", "TrainingTimer"]


class TrainingTimer(Callback):
    """Record the seconds spent on the training batches of each epoch as ``train_dur``.

    skorch's ``EpochTimer`` (``dur``) covers training and validation together; reference
    implementations (TSLib and the LightSAE code) report the training loop alone, so this
    keeps the two comparable.

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.nn import RLinear
    >>> from sae_forecast.training import ForecastingNet, SeriesWindows
    >>> data = SeriesWindows(np.random.rand(80, 2), seq_len=8, pred_len=2)
    >>> net = ForecastingNet(
    ...     RLinear, module__seq_len=8, module__pred_len=2, module__n_channels=2, max_epochs=2
    ... ).fit(data)
    >>> all(0 < t <= d for t, d in zip(net.history[:, "train_dur"], net.history[:, "dur"]))
    True
    """

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.perf_counter()
        self._recorded = False

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training and not self._recorded:
            self._record(net)

    def on_epoch_end(self, net, **kwargs):
        if not self._recorded:
            self._record(net)

    def _record(self, net) -> None:
        net.history.record("train_dur", time.perf_counter() - self._start)
        self._recorded = True


class TrainingDivergedError(RuntimeError):
    """Raised when the training or validation loss of an epoch is NaN or infinite.

    Examples
    --------
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """


class StopOnNonFiniteLoss(Callback):
    """Stop training with a :class:`TrainingDivergedError` once an epoch's loss is not finite.

    Without it a diverged net trains on silently: every later loss is NaN, early stopping
    never sees an improvement and the predictions are NaN. At the end of each epoch this
    checks ``train_loss`` and ``valid_loss`` (when there is a validation set) and raises an
    error naming the epoch, the loss, its value and a lower learning rate to try. It runs
    before early stopping; disable it with ``callbacks__stop_on_non_finite_loss=None``.

    Parameters
    ----------
    max_loss : float or None, default=None
        Also stop when a loss exceeds this bound: a finite loss can still be absurd (Adam at
        ``lr=1e10`` moves linear weights by ~1e10 per step and the loss settles near 1e23).
        The forecasters set it to 1e4 times the variance of their scaled training values.

    Examples
    --------
    >>> import numpy as np
    >>> from sae_forecast.nn import RLinear
    >>> from sae_forecast.training import ForecastingNet, SeriesWindows
    >>> data = SeriesWindows(np.random.rand(80, 2), seq_len=8, pred_len=2)
    >>> net = ForecastingNet(
    ...     RLinear, module__seq_len=8, module__pred_len=2, module__n_channels=2, lr=1e20
    ... )
    >>> net.fit(data)
    Traceback (most recent call last):
    ...
    sae_forecast.training.callbacks.TrainingDivergedError: Training diverged in epoch 1: ...
    """

    def __init__(self, max_loss: float | None = None) -> None:
        self.max_loss = max_loss

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        for name in ("train_loss", "valid_loss"):
            value = row.get(name)
            if value is None:
                continue
            if not math.isfinite(value):
                reason = "not a finite number"
            elif self.max_loss is not None and value > self.max_loss:
                reason = f"above {self.max_loss:g}, the bound for a sane forecast"
            else:
                continue
            raise TrainingDivergedError(_diverged_message(net, row["epoch"], name, value, reason))


def _diverged_message(net, epoch: int, name: str, value: float, reason: str) -> str:
    lr = net.lr
    current = net.optimizer_.param_groups[0]["lr"] if hasattr(net, "optimizer_") else lr
    now = f" ({current:g} in this epoch)" if current != lr else ""
    return (
        f"Training diverged in epoch {epoch}: {name} is {value:g} ({reason}). The "
        f"learning rate is probably too high: lr={lr:g}{now}; try lr={lr / 10:g} (lr / 10). "
        "If a lower lr does not help, check the data for NaN or infinite values that are not "
        "marked as gaps."
    )
