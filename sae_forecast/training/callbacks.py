"""The one callback skorch lacks here: timing the training part of an epoch."""

from __future__ import annotations

import time

from skorch.callbacks import Callback

__all__ = ["TrainingTimer"]


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
