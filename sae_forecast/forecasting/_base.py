"""The sktime forecaster base: ``_fit``, ``_predict`` and ``_update`` written once."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import torch
from skorch.helper import predefined_split
from sktime.forecasting.base import BaseForecaster

from sae_forecast.data import Standardiser, chronological_split, count_windows, fill_gaps
from sae_forecast.forecasting._builder import fine_tune
from sae_forecast.forecasting._checks import (
    check_columns_match,
    check_observed,
    check_settings,
    check_target,
)
from sae_forecast.forecasting._fleet import (
    check_fleet,
    fit_net,
    pretrain_fleet,
    pretrained_horizon,
)
from sae_forecast.forecasting._intervals import (
    calibrate,
    extend_calibration,
    predict_interval,
    predict_quantiles,
)
from sae_forecast.forecasting._scoring import score_windows
from sae_forecast.forecasting._signature import (
    backbone_parameters,
    fill_parameters,
    forecaster_init,
    parameter_docs,
)
from sae_forecast.forecasting._time_index import regular_time_index
from sae_forecast.nn import DEFAULT_POOL_SIZE, DEFAULT_RANK
from sae_forecast.training import SeriesWindows

__all__ = ["LightSAEForecaster"]

DEFAULT_PRED_LEN = 96  # the paper's first horizon, used when neither pred_len nor fh is given


class LightSAEForecaster(BaseForecaster):
    """Base class: a backbone with a channel embedding, trained by skorch on windows of ``y``.

    A subclass names its backbone (``_backbone``, an :mod:`sae_forecast.nn` class) and, where
    they differ, its usual defaults (``_defaults``); its signature is these common parameters
    plus the backbone's own keyword parameters, with the backbone's defaults and docs.

    Missing values (NaN, and timestamps absent from a regular ``DatetimeIndex`` or
    ``PeriodIndex``) are gaps: the scaler uses observed values, the network reads inputs
    filled forward in time, and the loss counts observed targets only.

    Parameters
    ----------
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
    lr : float, default=0.001
        Initial Adam learning rate, halved after every epoch.
    patience : int, default=3
        Epochs without validation improvement before early stopping (best weights kept).
    validation_size : float or int, default=0.1
        Validation windows, taken from the end of ``y`` for early stopping: a fraction of
        the windows (``0 <= v < 1``) or a number of windows (int). 0 trains for
        ``max_epochs`` without validation. ``pred_len - 1`` windows between training and
        validation are dropped, so no validation target is a training target.
    scale : bool, default=True
        Standardise each column with mean and standard deviation of the observed training
        values (validation tail excluded); forecasts are returned in the original units.
    fine_tune_epochs : int, default=1
        Epochs of training on the new data when ``update(..., update_params=True)``.
    interval_method : {"conformal", "quantile"}, default="conformal"
        How ``predict_interval``, ``predict_quantiles`` and ``predict_var`` work.
        ``"conformal"`` needs no extra training: the validation tail that ``fit`` holds out
        is forecast once, and the signed residuals per horizon step and channel (original
        units) give the quantiles (split conformal); ``update`` adds the residuals of the new
        rows (a rolling window of ``calibration_size`` rows). With ``validation_size=0`` the
        last 1000 training rows are used in sample and a warning says the intervals may be
        too narrow. ``"quantile"``: the network also forecasts ``quantile_levels``, trained with
        the pinball loss; the point forecast is its median.
    quantile_levels : tuple of float or None, default=None
        Levels trained by ``interval_method="quantile"``; must include 0.5, other levels
        are interpolated between them. None: (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9,
        0.95, 0.975).
    calibration_size : int or None, default=None
        ``interval_method="conformal"``: number of most recent forecast rows whose
        residuals calibrate the intervals, and the rolling window ``update`` keeps. None:
        every row of the validation tail, and as many rows after ``update``.
    gate_penalty : {"balance", "entropy"} or None, default=None
        Optional regulariser on the LightSAE gates (see ``LightSAEEmbedding.gate_penalty``).
    gate_penalty_weight : float, default=0.01
        Weight of the gate regulariser in the training loss.
    adapt : {"auto", "gates", "embedding", "all", "none"}, default="auto"
        What ``fit`` trains after ``pretrain``, starting from the pretrained weights
        (without ``pretrain`` it is ignored): ``"gates"`` only the LightSAE gate logits and
        per-channel embedding bias (the device's own mix of the fleet's pool), ``"embedding"``
        the channel embedding, ``"all"`` every weight, ``"none"`` nothing. ``"auto"``:
        ``"gates"`` for ``embedding="lightsae"``, else ``"all"``. ``update(...,
        update_params=True)`` trains the same parameters. Use ``pretrain(y_panel)`` then
        ``fit(y_device)`` for one network shared by devices with the same columns (e.g. a
        new device with little history); ``fit`` on a panel trains one network per series
        (after ``pretrain``, one adapted copy of the pretrained network per series).
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the model body under bfloat16 autocast.
    random_state : int or None, default=None
        Seed for initialisation, dropout and batch order; equal seeds give identical
        forecasts, also for fits running in parallel threads.
    verbose : int, default=0
        1 prints a line per epoch; 2 adds a progress bar over each epoch's batches.
    accelerator : accelerate.Accelerator or None, default=None
        Train data-parallel on the processes of this ``Accelerator`` (several GPUs or
        nodes, started by ``accelerate launch``; see the "Scaling out" page). It places the
        model and batches on its device; ``device`` only says where the windows are kept.
        Needs ``pip install "sae-forecast[distributed]"``.

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
        "capability:pred_int": True,
        "capability:missing_values": True,
        "capability:update": True,
        "capability:pretrain": True,
        "capability:random_state": True,
        "requires-fh-in-fit": False,
        "fit_is_empty": False,
    }
    # The context window and the scaler are stored by the forecaster itself (_context,
    # scaler_), so sktime need not keep a copy of all data seen.
    _config = {"remember_data": False}

    _backbone: type[torch.nn.Module]
    _defaults: dict = {}

    def __init__(
        self,
        *,
        seq_len=96,
        pred_len=None,
        embedding="lightsae",
        rank=DEFAULT_RANK,
        pool_size=DEFAULT_POOL_SIZE,
        pooled_bias=False,
        max_epochs=20,
        batch_size=32,
        lr=1e-3,
        patience=3,
        validation_size=0.1,
        scale=True,
        fine_tune_epochs=1,
        interval_method="conformal",
        quantile_levels=None,
        calibration_size=None,
        gate_penalty=None,
        gate_penalty_weight=0.01,
        adapt="auto",
        device="cpu",
        precision="fp32",
        random_state=None,
        verbose=0,
        accelerator=None,
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
        self.interval_method = interval_method
        self.quantile_levels = quantile_levels
        self.calibration_size = calibration_size
        self.gate_penalty = gate_penalty
        self.gate_penalty_weight = gate_penalty_weight
        self.adapt = adapt
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.accelerator = accelerator
        super().__init__()
        # sktime stores data seen in _y/_X only when remember_data is True; its checks may
        # switch that config on after construction and expect the attributes to exist.
        self._y = None
        self._X = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_backbone" not in cls.__dict__:
            return
        cls.__init__ = forecaster_init(LightSAEForecaster.__init__, cls._backbone, cls._defaults)
        common = list(inspect.signature(LightSAEForecaster.__init__).parameters)[1:]
        text = parameter_docs(LightSAEForecaster, common)
        for name, value in cls._defaults.items():
            text = re.sub(rf"^({name} : .*default=)\S+$", rf"\g<1>{value!r}", text, flags=re.M)
        own = [p.name for p in backbone_parameters(cls._backbone)]
        fill_parameters(cls, text + "\n" + parameter_docs(cls._backbone, own))

    # -- public entry points: clearer input errors before sktime's generic ones ----------
    def fit(self, y, X=None, fh=None):
        """Fit to ``y`` (see ``sktime.forecasting.base.BaseForecaster.fit``)."""
        check_target(y)
        return super().fit(regular_time_index(y), X=X, fh=fh)

    def update(self, y, X=None, update_params=True):
        """Update with new data ``y`` (see ``BaseForecaster.update``)."""
        check_target(y)
        return super().update(regular_time_index(y), X=X, update_params=update_params)

    def pretrain(self, y, X=None, fh=None):
        """Train one network on every series of panel ``y`` (see ``BaseForecaster.pretrain``).

        The series (devices) must have the same columns; each is scaled on its own training
        span and validated on its own chronological tail. ``fit(y_device)`` then adapts the
        network to one device (see ``adapt``); a second ``pretrain`` continues training.
        """
        check_fleet(y)
        check_target(y)
        return super().pretrain(y, X=X, fh=fh)

    # -- sktime extension methods --------------------------------------------------------
    def _pretrain(self, y, X=None, fh=None):
        pretrain_fleet(self, y, fh)
        return self

    def _pretrain_update(self, y, X=None, fh=None):
        pretrain_fleet(self, y, fh)
        return self

    def _fit(self, y, X=None, fh=None):
        self._check_settings()
        self.pred_len_ = self._resolve_pred_len(fh)
        values = y.to_numpy(dtype=np.float64)
        train, valid = self._split_windows(len(values))
        train_rows = int(train[-1]) + self.seq_len + self.pred_len_
        check_observed(values[:train_rows], y.columns)
        self.scaler_ = Standardiser.fit(values[:train_rows], columns=y.columns, enabled=self.scale)
        series, observed = fill_gaps(self.scaler_.transform(values))
        windows = SeriesWindows(
            series, self.seq_len, self.pred_len_, observed=observed, device=self.device
        )
        self.columns_ = y.columns
        self.n_channels_ = values.shape[1]
        validation = predefined_split(windows.subset(valid)) if len(valid) else None
        ceiling = 1e4 * float(np.nanmean(np.nanvar(series[:train_rows], axis=0)) or 1.0)
        self.net_ = fit_net(  # from the pretrained weights after pretrain (see adapt)
            self,
            windows.subset(train),
            train_split=validation,
            callbacks__stop_on_non_finite_loss__max_loss=ceiling,
        )
        self.n_epochs_ = len(self.net_.history)
        best = [row["epoch"] for row in self.net_.history if row.get("valid_loss_best")]
        self.best_epoch_ = best[-1] if best else self.n_epochs_
        self._keep_context(series, observed)
        self._n_updates = 0
        self.calibration_ = calibrate(self, series, observed, valid)  # None for "quantile"
        return self

    def _predict(self, fh, X=None):
        steps = self._check_horizon(fh)
        forecast = self.predict_windows(self._context[None])[0]  # (pred_len, N), scaled
        rows = self.scaler_.inverse_transform(forecast[steps - 1])
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(rows, index=index, columns=self.columns_)

    def _predict_quantiles(self, fh, X, alpha):
        # sktime derives predict_var from it (a normal with the same interquartile range)
        return predict_quantiles(self, fh, alpha)

    def _predict_interval(self, fh, X, coverage):
        return predict_interval(self, fh, coverage)  # sktime's default would cost 25% more

    def _update(self, y, X=None, update_params=True):
        check_columns_match(y, self.columns_, "update")
        values = self.scaler_.transform(y.to_numpy(dtype=np.float64))
        new, _ = fill_gaps(values, last=self._context[-1])
        extend_calibration(self, new, values)  # residuals of the new rows, before fine-tuning
        series = np.concatenate([self._context, new])
        seen = np.concatenate([self._observed, ~np.isnan(values)])
        if update_params and count_windows(len(series), self.seq_len, self.pred_len_) > 0:
            self._n_updates += 1
            fine_tune(self, series, None if seen.all() else seen)
        self._keep_context(series, seen)
        return self

    # -- public helpers ------------------------------------------------------------------
    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """Forecast ``pred_len_`` steps for each scaled window ``(n, seq_len, N)``.

        The windows must be in the scaled units of the fitted forecaster (see ``scale``).
        """
        self.check_is_fitted()
        return self.net_.predict(np.asarray(windows, dtype=np.float32))

    def score_windows(self, y, *, start: int = 0, std=None) -> dict:
        """Forecast every window of ``y`` at once and score it on the observed targets.

        Every stretch of ``seq_len + pred_len`` rows of ``y`` (stride 1) whose lookback
        begins at row ``start`` or later is a window: the forecaster reads its first
        ``seq_len`` rows and forecasts the next ``pred_len``. Rows before ``start`` only
        carry gaps forward (causal filling), so passing the whole history up to the end of a
        test span, with ``start`` at its first lookback row, scores exactly the test windows
        of the standard protocol. This is how the benchmark scores its rows.

        Parameters
        ----------
        y : DataFrame
            Series with the columns seen in ``fit``, in original units; NaN are gaps.
        start : int, default=0
            Row position of the first window's first lookback row.
        std : array-like of shape (n_channels,) or None, default=None
            Report errors in units of this per-channel standard deviation instead of the
            forecaster's own scaler (to compare forecasters whose scalers saw different
            training data, e.g. imputed and not).

        Returns
        -------
        dict
            ``mse`` and ``mae`` over observed targets in the scaled units (the papers'
            convention: per-channel standardisation fitted on the training span),
            ``n_windows`` and ``seconds`` (the forecasting time, eval mode).
        """
        self.check_is_fitted()
        check_columns_match(y, self.columns_, "score_windows")
        return score_windows(self, y.to_numpy(dtype=np.float64), start, std)

    @property
    def model_(self) -> torch.nn.Module:
        """The trained backbone (a :mod:`sae_forecast.nn` module)."""
        self.check_is_fitted()
        return self.net_.module_

    # -- helpers -------------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_settings(
            seq_len=self.seq_len,
            pred_len=self.pred_len,
            batch_size=self.batch_size,
            validation_size=self.validation_size,
            max_epochs=self.max_epochs,
            lr=self.lr,
        )

    def _resolve_pred_len(self, fh) -> int:
        if self.state == "pretrained":
            return pretrained_horizon(self, fh)
        if self.pred_len is not None:
            return int(self.pred_len)
        if fh is None:
            return DEFAULT_PRED_LEN
        steps = fh.to_relative(self.cutoff).to_numpy()
        return int(max(1, steps.max()))

    def _split_windows(self, n_rows: int):
        n_windows = count_windows(n_rows, self.seq_len, self.pred_len_)
        gap = self.pred_len_ - 1
        try:
            return chronological_split(n_windows, self.validation_size, gap)
        except ValueError as error:
            raise ValueError(
                f"y has {n_rows} rows, too few to train: seq_len={self.seq_len} + "
                f"pred_len={self.pred_len_} rows make one window, and {error} Pass a longer "
                "series, or lower seq_len, pred_len or validation_size (validation_size=0 "
                "trains without early stopping)."
            ) from None

    def _keep_context(self, series: np.ndarray, observed: np.ndarray | None) -> None:
        self._context = series[-self.seq_len :]
        seen = np.ones_like(series, bool) if observed is None else observed
        self._observed = seen[-self.seq_len :]

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
