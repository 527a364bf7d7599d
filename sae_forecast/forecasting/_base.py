"""The sktime forecaster base: ``_fit``, ``_predict`` and ``_update`` written once."""

from __future__ import annotations

import inspect
import re
import textwrap

import numpy as np
import pandas as pd
import torch
from skorch.helper import predefined_split
from sktime.forecasting.base import BaseForecaster

from sae_forecast.data.windows import chronological_split, count_windows
from sae_forecast.forecasting._checks import check_columns_match, check_length, check_target
from sae_forecast.training import ForecastingNet, SeriesWindows, spawn_seeds

__all__ = ["COMMON_PARAMETERS", "LightSAEForecaster", "common_parameters"]

DEFAULT_PRED_LEN = 96  # the paper's first horizon, used when neither pred_len nor fh is given

COMMON_PARAMETERS = """\
seq_len : int, default=96
    Lookback window: the forecaster reads the last ``seq_len`` rows.
pred_len : int or None, default=None
    Horizon the network is trained for. ``None``: ``max(fh)`` when ``fh`` is passed to
    ``fit``, else 96. ``predict`` accepts any out-of-sample ``fh`` up to it.
embedding : {"lightsae", "shared", "independent", "sae", "sae_lowrank"}, default="lightsae"
    Channel embedding; ``"shared"`` is the paper's channel-independent baseline.
rank : int, default=25
    Rank ``r`` of the channel-specific residuals (``lightsae``, ``sae_lowrank``).
pool_size : int, default=10
    Number ``K`` of pooled left factors (``lightsae``).
pooled_bias : bool, default=False
    ``lightsae`` only: mix each channel's embedding bias from a gated pool of ``K`` biases
    (the authors' RLinear) instead of learning one bias per channel.
max_epochs : int, default=20
    Upper bound on training epochs; early stopping usually ends sooner.
batch_size : int, default=32
    Windows per batch.
lr : float, default={lr}
    Initial Adam learning rate, halved after every epoch.
patience : int, default=3
    Epochs without validation improvement before early stopping (best weights kept).
validation_size : float, default=0.1
    Fraction of the training windows, taken from the end of ``y``, used for early
    stopping. 0 trains for ``max_epochs`` without validation.
scale : bool, default=True
    Standardise each column with mean and standard deviation of the training span
    (validation tail excluded); forecasts are returned in the original units.
fine_tune_epochs : int, default=1
    Epochs of training on the new data when ``update(..., update_params=True)``.
gate_penalty : {"balance", "entropy"} or None, default=None
    Optional regulariser on the LightSAE gates (see ``LightSAEEmbedding.gate_penalty``).
gate_penalty_weight : float, default=0.01
    Weight of the gate regulariser in the training loss.
device : str, default="cpu"
    Torch device, e.g. ``"cuda"``.
precision : {"fp32", "bf16"}, default="fp32"
    ``"bf16"`` runs the model body under bfloat16 autocast.
random_state : int or None, default=None
    Seed for initialisation, dropout and batch order; equal seeds give identical
    forecasts, also for fits running in parallel threads.
verbose : int, default=0
    1 prints a line per epoch; 2 adds a progress bar over each epoch's batches."""


def common_parameters(arguments: dict) -> dict:
    """The base-class arguments among a subclass constructor's ``locals()``.

    Subclasses list every parameter explicitly in their signature (sktime reads
    ``get_params`` from it) and pass the common ones on with
    ``super().__init__(**common_parameters(locals()))``.
    """
    names = inspect.signature(LightSAEForecaster.__init__).parameters
    return {name: value for name, value in arguments.items() if name in names and name != "self"}


class LightSAEForecaster(BaseForecaster):
    """Base class: a backbone with a channel embedding, trained by skorch on windows of ``y``.

    Subclasses set ``_backbone`` (an :mod:`sae_forecast.nn` class), ``_backbone_params`` (the
    names of their own hyperparameters) and an explicit ``__init__``; see
    :class:`~sae_forecast.LightSAERLinearForecaster` for the parameters.

    Parameters
    ----------
    {common}

    Examples
    --------
    >>> from sae_forecast.forecasting import LightSAEForecaster, LightSAERLinearForecaster
    >>> issubclass(LightSAERLinearForecaster, LightSAEForecaster)
    True
    """

    _tags = {
        "authors": ["sae_forecast developers"],
        "maintainers": ["sae_forecast developers"],
        "python_dependencies": ["torch", "skorch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:random_state": True,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }
    # The context window and scaler are stored by the forecaster itself (_context, mean_,
    # scale_), so sktime need not keep a copy of all data seen.
    _config = {"remember_data": False}

    _backbone: type[torch.nn.Module]
    _backbone_params: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        seq_len=96,
        pred_len=None,
        embedding="lightsae",
        rank=25,
        pool_size=10,
        pooled_bias=False,
        max_epochs=20,
        batch_size=32,
        lr=1e-3,
        patience=3,
        validation_size=0.1,
        scale=True,
        fine_tune_epochs=1,
        gate_penalty=None,
        gate_penalty_weight=0.01,
        device="cpu",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        self.seq_len = seq_len
        self.pred_len = pred_len
        self.embedding = embedding
        self.rank = rank
        self.pool_size = pool_size
        self.pooled_bias = pooled_bias
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.validation_size = validation_size
        self.scale = scale
        self.fine_tune_epochs = fine_tune_epochs
        self.gate_penalty = gate_penalty
        self.gate_penalty_weight = gate_penalty_weight
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        # sktime stores data seen in _y/_X only when remember_data is True; its checks may
        # switch that config on after construction and expect the attributes to exist.
        self._y = None
        self._X = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        placeholder = re.search(r"^( *)\{common\}$", cls.__doc__ or "", flags=re.MULTILINE)
        if placeholder:
            lr = inspect.signature(cls.__init__).parameters["lr"].default
            text = textwrap.indent(COMMON_PARAMETERS.replace("{lr}", repr(lr)), placeholder[1])
            cls.__doc__ = cls.__doc__.replace(placeholder[0], text.rstrip("\n"))

    # -- public entry points: clearer input errors before sktime's generic ones ----------
    def fit(self, y, X=None, fh=None):
        """Fit to ``y`` (see ``sktime.forecasting.base.BaseForecaster.fit``)."""
        check_target(y)
        return super().fit(y, X=X, fh=fh)

    def update(self, y, X=None, update_params=True):
        """Update with new data ``y`` (see ``BaseForecaster.update``)."""
        check_target(y)
        return super().update(y, X=X, update_params=update_params)

    # -- sktime extension methods --------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        pred_len = self._resolve_pred_len(fh)
        values = y.to_numpy(dtype=np.float64)
        train, valid = self._split_windows(len(values), pred_len)
        train_rows = int(train[-1]) + self.seq_len + pred_len
        self.mean_, self.scale_ = self._fit_scaler(values[:train_rows])
        scaled = self._transform(values)
        windows = SeriesWindows(scaled, self.seq_len, pred_len, device=self.device)
        self.columns_ = y.columns
        self.pred_len_ = pred_len
        self.n_channels_ = values.shape[1]
        self.net_ = self._make_net(
            train_split=predefined_split(windows.subset(valid)) if len(valid) else None,
            random_state=self.random_state,
        )
        self.net_.fit(windows.subset(train), None)
        self.n_epochs_ = len(self.net_.history)
        best = [row["epoch"] for row in self.net_.history if row.get("valid_loss_best")]
        self.best_epoch_ = best[-1] if best else self.n_epochs_
        self._context = scaled[-self.seq_len :]
        self._n_updates = 0
        return self

    def _predict(self, fh, X=None):
        steps = self._check_horizon(fh)
        forecast = self.predict_windows(self._context[None])[0]  # (pred_len, N), scaled
        rows = self._inverse_transform(forecast[steps - 1])
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(rows, index=index, columns=self.columns_)

    def _update(self, y, X=None, update_params=True):
        check_columns_match(y, self.columns_, "update")
        new = self._transform(y.to_numpy(dtype=np.float64))
        series = np.concatenate([self._context, new])
        if update_params and count_windows(len(series), self.seq_len, self.pred_len_) > 0:
            self._fine_tune(series)
        self._context = series[-self.seq_len :]
        return self

    # -- helpers -------------------------------------------------------------------------
    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Forecast ``pred_len_`` steps for each scaled window ``(n, seq_len, N)``.

        The windows must be in the scaled units of the fitted forecaster (see ``scale``);
        used by the benchmark to score every test window at once.
        """
        self.check_is_fitted()
        return self.net_.predict(np.asarray(windows, dtype=np.float32))

    def _resolve_pred_len(self, fh) -> int:
        if self.pred_len is not None:
            return int(self.pred_len)
        if fh is None:
            return DEFAULT_PRED_LEN
        steps = fh.to_relative(self.cutoff).to_numpy()
        return int(max(1, steps.max()))

    def _split_windows(self, n_rows: int, pred_len: int):
        gap = pred_len - 1
        n_windows = count_windows(n_rows, self.seq_len, pred_len)
        n_valid = int(np.ceil(self.validation_size * max(n_windows, 1)))
        needed = self.seq_len + pred_len + (n_valid + gap if n_valid else 0)
        check_length(
            n_rows, needed, seq_len=self.seq_len, pred_len=pred_len, n_valid=n_valid, gap=gap
        )
        return chronological_split(n_windows, n_valid, gap)

    def _fit_scaler(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.scale:
            return np.zeros(values.shape[1]), np.ones(values.shape[1])
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        return mean, np.where(std > 0, std, 1.0)  # constant columns keep their unit

    def _transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean_) / self.scale_).astype(np.float32)

    def _inverse_transform(self, values: np.ndarray) -> np.ndarray:
        return values.astype(np.float64) * self.scale_ + self.mean_

    def _check_horizon(self, fh) -> np.ndarray:
        steps = fh.to_relative(self.cutoff).to_numpy().astype(int)
        if (steps < 1).any():
            raise ValueError(
                f"{type(self).__name__} forecasts out of sample only, but fh contains the "
                f"in-sample step(s) {steps[steps < 1].tolist()}; pass steps 1..{self.pred_len_}."
            )
        if steps.max() > self.pred_len_:
            raise ValueError(
                f"fh reaches {steps.max()} steps ahead, but the forecaster was trained for "
                f"pred_len={self.pred_len_}. Refit with pred_len={steps.max()} (or pass this "
                "fh to fit), or shorten fh."
            )
        return steps

    def _module_params(self) -> dict:
        params = {name: getattr(self, name) for name in self._backbone_params}
        params.update(
            seq_len=self.seq_len,
            pred_len=self.pred_len_,
            n_channels=self.n_channels_,
            embedding=self.embedding,
            rank=self.rank,
            pool_size=self.pool_size,
            pooled_bias=self.pooled_bias,
            precision=self.precision,
        )
        return {f"module__{name}": value for name, value in params.items()}

    def _make_net(self, **overrides) -> ForecastingNet:
        options = dict(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            patience=self.patience,
            device=self.device,
            verbose=self.verbose,
            gate_penalty=self.gate_penalty,
            gate_penalty_weight=self.gate_penalty_weight,
        )
        options.update(overrides)
        return ForecastingNet(self._backbone, **self._module_params(), **options)

    def _fine_tune(self, series: np.ndarray) -> None:
        self._n_updates += 1
        seed = None
        if self.random_state is not None:
            seed = spawn_seeds([self.random_state, self._n_updates], 1)[0]
        tuner = self._make_net(
            train_split=None,
            patience=None,
            max_epochs=self.fine_tune_epochs,
            lr=self.lr * 0.5 ** (self.best_epoch_ - 1),
            random_state=seed,
        )
        tuner.initialize()
        tuner.module_.load_state_dict(self.net_.module_.state_dict())
        tuner.partial_fit(SeriesWindows(series, self.seq_len, self.pred_len_, device=self.device))
        self.net_.module_.load_state_dict(tuner.module_.state_dict())

    @property
    def model_(self) -> torch.nn.Module:
        """The trained backbone (a :mod:`sae_forecast.nn` module)."""
        self.check_is_fitted()
        return self.net_.module_


LightSAEForecaster.__doc__ = LightSAEForecaster.__doc__.replace(
    "    {common}", textwrap.indent(COMMON_PARAMETERS.replace("{lr}", "0.001"), "    ").rstrip("\n")
)
