"""Data-parallel training of a forecasting net on several processes (GPUs or nodes).

Hugging Face ``accelerate`` starts the processes (``accelerate launch``) and skorch's
``AccelerateMixin`` trains through it: the module is wrapped in ``DistributedDataParallel``,
so the gradients are averaged over the processes after every backward pass. This module adds
what the forecasting net needs on top of skorch's mixin:

- batches that ``accelerate`` can shard: the window dataset is served through a
  ``DataLoader`` whose sampler yields whole batches of indices (one gather per batch, as
  :class:`~sae_forecast.training.BatchIterator` does), so each process trains on every
  ``n``-th batch of one shuffled order;
- skorch's ``DistributedHistory``, so that every process records the batch losses of all
  processes, computes the same epoch losses and early stopping ends all of them at the same
  epoch (a process that stopped alone would leave the others waiting for it forever);
- dropout generators on the device that ``accelerate`` chose for the process.

The additions form :class:`DataParallelMixin`, which composes with
:class:`~sae_forecast.training.ForecastingNet` (:class:`AcceleratedForecastingNet`) and with
the quantile output as well (:class:`AcceleratedQuantileNet`).

``accelerate`` is an optional dependency (``pip install "sae-forecast[distributed]"``); this
module imports without it.
"""

from __future__ import annotations

import torch
from skorch.callbacks import PrintLog
from skorch.hf import AccelerateMixin
from skorch.history import DistributedHistory

from sae_forecast.nn.seeding import attach_generator
from sae_forecast.training._sharding import DeviceBatches, batch_loader, history_store
from sae_forecast.training.net import ForecastingNet
from sae_forecast.training.quantile import QuantileOutputMixin

__all__ = [
    "AcceleratedForecastingNet",
    "AcceleratedQuantileNet",
    "DataParallelMixin",
    "batch_loader",
    "require_accelerate",
]

INSTALL_HINT = 'pip install "sae-forecast[distributed]" (or pip install accelerate)'


def require_accelerate():
    """Import and return the ``accelerate`` package, or explain how to install it.

    Examples
    --------
    >>> require_accelerate().__name__
    'accelerate'
    """
    try:
        import accelerate
    except ImportError as error:
        raise ImportError(
            f"Data-parallel training needs the optional dependency accelerate: {INSTALL_HINT}."
        ) from error
    return accelerate


class DataParallelMixin(AccelerateMixin):
    """Data-parallel training by ``accelerate`` for :class:`~sae_forecast.training.ForecastingNet`.

    skorch's ``AccelerateMixin`` with what the forecasting nets need (see the module
    docstring); it composes before the net in the bases, after an output mixin:
    ``class Net(QuantileOutputMixin, DataParallelMixin, ForecastingNet)``.

    Run the same script in every process (``accelerate launch script.py``); each process
    builds the net with its ``Accelerator`` and calls ``fit`` on the same windows. Each
    process trains on its share of every epoch's batches, the gradients are averaged after
    each backward pass (so every process holds the same weights), the losses of an epoch are
    the averages over all processes (skorch's ``DistributedHistory``), and early stopping
    ends every process at the same epoch. ``predict`` also runs sharded and returns every
    forecast in every process. In one process it trains exactly like the net without it.

    Parameters
    ----------
    module : type or torch.nn.Module
        The backbone, as for :class:`~sae_forecast.training.ForecastingNet`.
    accelerator : accelerate.Accelerator
        The process's ``Accelerator``; it places the model and the batches on its device
        (``accelerator.device``), so the net's ``device`` stays ``None``. Its
        ``mixed_precision`` may be ``"no"`` or ``"bf16"`` (or use the backbone's
        ``precision="bf16"``); fp16 loss scaling and gradient accumulation are not supported.
    **kwargs
        Any parameter of the net it composes with, or of skorch.

    Notes
    -----
    With ``n`` processes the effective batch is ``n * batch_size`` (scale ``lr`` or
    ``batch_size`` to keep the single-process schedule). The validation windows are sharded
    too. When the number of batches is not a multiple of ``n``, ``accelerate`` completes the
    last round with windows from the start of the epoch, so a few windows count twice in that
    epoch. Between fits ``module_`` is the plain backbone and the net pickles; after each fit
    the net releases what ``accelerate`` holds for it (``Accelerator.free_memory``, as
    ``accelerate`` advises between trainings), so share an ``Accelerator`` with other
    training code only between fits. With several processes the shared history lives in a
    ``torch.distributed.TCPStore`` that the main process serves on a free port of its host
    (``MASTER_ADDR``) for the duration of each fit: the other processes must reach that host
    on any port, not only ``MASTER_PORT``.

    Examples
    --------
    >>> from sae_forecast.training import ForecastingNet
    >>> class MyAcceleratedNet(DataParallelMixin, ForecastingNet):
    ...     pass
    >>> issubclass(MyAcceleratedNet, AccelerateMixin)
    True
    """

    def initialize_module(self):
        """Build and seed the module; dropout draws on the accelerator's device."""
        super().initialize_module()
        device = self.accelerator.device
        if self.dropout_generator_.device != device:
            seed = self.dropout_generator_.initial_seed()
            self.dropout_generator_ = torch.Generator(device=device).manual_seed(seed)
            attach_generator(self.module_, self.dropout_generator_)
        return self

    def initialize_callbacks(self):
        """skorch's callbacks; the log goes through ``accelerator.print`` (main process only)
        and, as in ``ForecastingNet``, only when ``verbose`` is set."""
        super().initialize_callbacks()
        if not self.verbose:  # PrintLog writes to any sink but print whatever verbose says
            for _, callback in self.callbacks_:
                if isinstance(callback, PrintLog):
                    callback.sink = _discard
        return self

    def initialize_history(self):
        """A history shared by the processes (skorch's ``DistributedHistory``) when there
        are several."""
        if self.accelerator.num_processes == 1:
            return super().initialize_history()
        self.history_ = DistributedHistory(
            store=history_store(self.accelerator),
            rank=self.accelerator.process_index,  # global rank: unique across nodes too
            world_size=self.accelerator.num_processes,
        )
        return self

    def initialize(self):
        """Initialise as skorch does; the module is wrapped for training only, in
        :meth:`partial_fit`."""
        super().initialize()
        self._unwrap_accelerator()
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train in every process (see ``ForecastingNet.fit`` for ``X`` and ``y``)."""
        if not self.initialized_:
            self.initialize()
        self._initialize_accelerator()
        try:
            return super().partial_fit(X, y, classes=classes, **fit_params)
        finally:
            self._unwrap_accelerator()
            self.accelerator.free_memory()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Wait for every process; the module stays wrapped until the callbacks are done
        (early stopping restores the best weights, saved from the wrapped module)."""
        self.accelerator.wait_for_everyone()
        # skip AccelerateMixin.on_train_end, which would unwrap before the callbacks
        return super(AccelerateMixin, self).on_train_end(net, X=X, y=y, **kwargs)

    def get_iterator(self, dataset, training=False):
        """A batch loader over ``dataset``, sharded over the processes by ``accelerate``."""
        if self.accelerator.num_processes == 1:
            # Nothing to shard (and accelerate cannot prepare a loader whose sampler yields
            # batches in a single process): move the plain iterator's batches instead.
            batches = super(AccelerateMixin, self).get_iterator(dataset, training=training)
            return DeviceBatches(batches, self.accelerator.device)
        from accelerate.data_loader import prepare_data_loader

        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        batch_size = kwargs.get("batch_size", self.batch_size)
        loader = batch_loader(
            dataset,
            batch_size=len(dataset) if batch_size == -1 else batch_size,
            shuffle=bool(training and kwargs.get("shuffle", False)),
            generator=self.shuffle_generator_ if training else None,
        )
        return prepare_data_loader(  # not accelerator.prepare: it would keep every loader
            loader,
            self.accelerator.device,
            num_processes=self.accelerator.num_processes,
            process_index=self.accelerator.process_index,
            put_on_device=self.accelerator.device_placement,
            rng_types=["generator"],  # every process draws the main process's order
        )

    def _validate_params(self):
        super()._validate_params()
        if self.accelerator.mixed_precision == "fp16":
            raise ValueError(
                f"{type(self).__name__} does not support fp16 loss scaling: create the "
                'Accelerator with mixed_precision="bf16" (or "no"), or pass precision="bf16".'
            )
        if self.accelerator.gradient_accumulation_steps != 1:
            raise ValueError(
                f"{type(self).__name__} does not support gradient accumulation: create the "
                "Accelerator with gradient_accumulation_steps=1 and raise batch_size instead."
            )

    def _initialize_accelerator(self):
        # skorch's version also prepares the criterion, which DistributedDataParallel refuses
        # (no parameters), and the optimiser, whose wrapper (needed only for fp16 and
        # gradient accumulation) cannot be pickled once an LR scheduler has used it.
        if not self._wrapped_with_accelerator:
            for name in self._modules + self._criteria:
                module = getattr(self, name + "_")
                if isinstance(module, torch.nn.Module) and _trains(module):
                    setattr(self, name + "_", self.accelerator.prepare(module))
            self._wrapped_with_accelerator = True
        return self


class AcceleratedForecastingNet(DataParallelMixin, ForecastingNet):
    """:class:`~sae_forecast.training.ForecastingNet` trained data-parallel by ``accelerate``.

    See :class:`DataParallelMixin` for the parameters and how the processes share the work.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from sae_forecast.nn import RLinear
    >>> from sae_forecast.training import SeriesWindows
    >>> data = SeriesWindows(np.random.rand(120, 3), seq_len=16, pred_len=4)
    >>> net = AcceleratedForecastingNet(
    ...     RLinear,
    ...     accelerator=Accelerator(cpu=True),
    ...     module__seq_len=16,
    ...     module__pred_len=4,
    ...     module__n_channels=3,
    ...     max_epochs=2,
    ...     random_state=0,
    ... )
    >>> net.fit(data).predict(data).shape
    (101, 4, 3)
    """


class AcceleratedQuantileNet(QuantileOutputMixin, DataParallelMixin, ForecastingNet):
    """:class:`~sae_forecast.training.quantile.QuantileNet` trained data-parallel by
    ``accelerate``.

    See :class:`~sae_forecast.training.quantile.QuantileOutputMixin` and
    :class:`DataParallelMixin` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from sae_forecast.data import sliding_windows
    >>> from sae_forecast.nn.quantile import QuantileRLinear
    >>> X, y = sliding_windows(np.sin(np.arange(100) / 4)[:, None], 16, 4)
    >>> levels = {"module__levels": (0.1, 0.5, 0.9), "criterion__levels": (0.1, 0.5, 0.9)}
    >>> sizes = {"module__seq_len": 16, "module__pred_len": 4, "module__n_channels": 1}
    >>> accelerator = Accelerator(cpu=True)
    >>> net = AcceleratedQuantileNet(QuantileRLinear, accelerator=accelerator, **levels, **sizes)
    >>> net = net.fit(X, y, epochs=1)
    >>> tuple(net.forward(X[:2])[1].shape)  # (windows, pred_len, n_channels, levels)
    (2, 4, 1, 3)
    """


def _trains(module: torch.nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _discard(text) -> None:
    """A log sink that writes nothing."""
