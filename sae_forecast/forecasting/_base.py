"""The sktime forecaster base: ``_fit``, ``_predict`` and ``_update`` written once."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from skorch.helper import predefined_split
from sktime.forecasting.base import ForecastingHorizon

from sae_forecast.data import continue_series, count_windows, prepare_series
from sae_forecast.forecasting._builder import build_net, fine_tune
from sae_forecast.forecasting._checks import (
    check_columns_match,
    check_horizon,
    check_target,
    warn_caller,
)
from sae_forecast.forecasting._common import COMMON_PARAMETERS, CommonParameters
from sae_forecast.forecasting._exogenous import (
    Covariates,
    check_covariate_rows,
    check_covariates,
    covariate_rows,
    horizon_covariates,
    scaled_covariates,
)
from sae_forecast.forecasting._fleet import (
    adapted_parameters,
    check_fleet,
    check_same_columns,
    check_same_covariates,
    fit_net,
    pretrain_fleet,
    pretrained_horizon,
)
from sae_forecast.forecasting._intervals import (
    calibration_start,
    interval_levels,
    interval_method,
    quantile_frame,
)
from sae_forecast.forecasting._onnx import export_forecaster
from sae_forecast.forecasting._parameters import check_parameters
from sae_forecast.forecasting._signature import (
    backbone_parameters,
    fill_parameters,
    forecaster_init,
    parameter_docs,
)
from sae_forecast.forecasting._time_index import regular_time_index
from sae_forecast.forecasting._windows import WindowMethods
from sae_forecast.training import SeriesWindows, window_inputs

__all__ = ["LightSAEForecaster"]

PANEL_MTYPES = ("pd-multiindex", "pd_multiindex_hier")
DEFAULT_PRED_LEN = 96  # the paper's first horizon, used when neither pred_len nor fh is given
COMMON = [parameter.name for parameter in COMMON_PARAMETERS]


class LightSAEForecaster(WindowMethods, CommonParameters):
    """Base class: a backbone with a channel embedding, trained by skorch on windows of ``y``.

    A subclass names its backbone (``_backbone``, an :mod:`sae_forecast.nn` class) and, where
    they differ, its usual defaults (``_defaults``); its signature is these common parameters
    plus the backbone's own keyword parameters, with the backbone's defaults and docs.

    Missing values (NaN, and timestamps absent from a regular ``DatetimeIndex`` or
    ``PeriodIndex``) are gaps: the scaler uses observed values, the network reads inputs
    filled forward in time, and the loss counts observed targets only.

    ``X`` (exogenous covariates) is read as input only: see ``future_covariates``.

    Parameters
    ----------
    {parameters}

    Examples
    --------
    >>> from sae_forecast.forecasting import LightSAEForecaster, LightSAERLinearForecaster
    >>> issubclass(LightSAERLinearForecaster, LightSAEForecaster)
    True
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_backbone" not in cls.__dict__:
            return
        cls.__init__ = forecaster_init(CommonParameters.__init__, cls._backbone, cls._defaults)
        text = parameter_docs(CommonParameters, COMMON)
        for name, value in cls._defaults.items():
            text = re.sub(rf"^({name} : .*default=)\S+$", rf"\g<1>{value!r}", text, flags=re.M)
        own = [p.name for p in backbone_parameters(cls._backbone)]
        fill_parameters(cls, text + "\n" + parameter_docs(cls._backbone, own))

    # -- public entry points: clearer input errors before sktime's generic ones ----------
    def fit(self, y, X=None, fh=None):
        """Fit to ``y`` with covariates ``X`` (see ``BaseForecaster.fit``)."""
        check_target(y)
        check_covariates(X)
        y = regular_time_index(y)
        return super().fit(y, X=check_covariate_rows(X, y.index, "fit"), fh=fh)

    def predict(self, fh=None, X=None):
        """Forecast ``fh``; ``X`` covers ``fh`` for future-known covariates (see
        ``BaseForecaster.predict``)."""
        check_covariates(X)
        return super().predict(fh=fh, X=X)

    def update(self, y, X=None, update_params=True):
        """Update with new data ``y`` and its covariates ``X`` (see ``BaseForecaster.update``)."""
        check_target(y)
        check_covariates(X)
        y = regular_time_index(y)
        X = check_covariate_rows(X, y.index, "update")
        return super().update(y, X=X, update_params=update_params)

    def pretrain(self, y, X=None, fh=None):
        """Train one network on every series of panel ``y`` (see ``BaseForecaster.pretrain``).

        The series (devices) must have the same columns; each is scaled on its own training
        span and validated on its own chronological tail. ``fit(y_device)`` then adapts the
        network to one device (see ``adapt``); a second ``pretrain`` continues training.
        """
        check_fleet(y)
        check_target(y)
        check_covariates(X)
        if X is None:
            return super().pretrain(y, fh=fh)
        # sktime widens y's inner mtypes to panels for pretrain, not X's: widen them here,
        # so that a panel X reaches _pretrain whole, beside the panel y
        inner = self.get_tag("X_inner_mtype")
        self.set_tags(X_inner_mtype=[inner, *PANEL_MTYPES])
        try:
            return super().pretrain(y, X=X, fh=fh)
        finally:
            self.set_tags(X_inner_mtype=inner)

    # -- sktime extension methods --------------------------------------------------------
    def _pretrain(self, y, X=None, fh=None):
        self._check_parameters()
        if fh is not None and not fh.is_relative:
            raise ValueError(
                "pretrain needs fh as steps ahead (e.g. fh=[1, ..., 24]), or pred_len: a panel "
                "has no single cutoff to count absolute time stamps from."
            )
        previous = getattr(self, "fleet_", None)
        steps = None if fh is None else fh.to_numpy()
        horizon = self._resolve_pred_len(steps) if previous is None else None
        pred_len = horizon or pretrained_horizon(previous, steps)
        self.fleet_ = pretrain_fleet(self._backbone, self.get_params(), y, pred_len, previous, X=X)
        return self

    _pretrain_update = _pretrain

    def _fit(self, y, X=None, fh=None):
        self._check_parameters()
        fleet = getattr(self, "fleet_", None)
        steps = None if fh is None else fh.to_relative(self.cutoff).to_numpy()
        self.pred_len_ = self._resolve_pred_len(steps)
        spec = None if X is None else Covariates.from_columns(X.columns, self.future_covariates)
        series = prepare_series(
            y.to_numpy(dtype=np.float64),
            seq_len=self.seq_len,
            pred_len=self.pred_len_,
            validation_size=self.validation_size,
            scale=self.scale,
            columns=y.columns,
            covariates=None if spec is None else covariate_rows(X, y.index, spec.columns, "fit"),
            covariate_columns=None if spec is None else spec.columns,
        )
        self.scaler_, self.columns_, self.n_channels_ = series.scaler, y.columns, y.shape[1]
        self.covariates_ = None if spec is None else replace(spec, scaler=series.covariate_scaler)
        if fleet is not None:
            check_same_covariates(spec, fleet.covariates, "fit")
        self.trainable_ = self._trainable(fleet, y.columns)
        windows = SeriesWindows(
            series.values,
            self.seq_len,
            self.pred_len_,
            observed=series.observed,
            device=self.device,
            covariates=series.covariates,
        )
        valid = predefined_split(windows.subset(series.valid)) if len(series.valid) else None
        ceiling = 1e4 * float(
            np.nanmean(np.nanvar(series.values[: series.train_rows], axis=0)) or 1.0
        )
        net = build_net(
            self._backbone,
            self.get_params(),
            (self.pred_len_, self.n_channels_),
            covariates=self._covariate_counts(),
            train_split=valid,
            trainable=self.trainable_ or None,
            callbacks__stop_on_non_finite_loss__max_loss=ceiling,
        )
        self.net_ = fit_net(net, windows.subset(series.train), fleet, self.trainable_)
        self.n_epochs_ = len(self.net_.history)
        best = [row["epoch"] for row in self.net_.history if row.get("valid_loss_best")]
        self.best_epoch_ = best[-1] if best else self.n_epochs_
        self._context, self._observed = self._tail(series.values, series.observed)
        self._covariate_context = self._covariate_tail(series.covariates)
        self._n_updates = 0
        self.intervals_ = self._calibrated(series)
        return self

    def _predict(self, fh, X=None):
        rows = self._point_rows(fh, X, self._steps(fh))
        return pd.DataFrame(rows, index=fh.to_absolute_index(self.cutoff), columns=self.columns_)

    def _point_rows(self, fh, X, steps: np.ndarray) -> np.ndarray:
        """The point forecast at the horizon ``steps`` (1-based), original units: (S, N)."""
        forecast = self.net_.predict(self._next_inputs(fh, X))[0]  # (H, N), scaled
        return self.scaler_.inverse_transform(forecast[steps - 1])

    def _predict_quantiles(self, fh, X, alpha):
        # sktime derives predict_var from it (a normal with the same interquartile range)
        values, index = self._quantile_values(fh, X, alpha)
        return quantile_frame(values, index, [self.columns_, list(alpha)])

    def _predict_interval(self, fh, X, coverage):  # sktime's default would cost 25% more
        values, index = self._quantile_values(fh, X, interval_levels(coverage))
        return quantile_frame(values, index, [self.columns_, list(coverage), ["lower", "upper"]])

    def _update(self, y, X=None, update_params=True):
        check_columns_match(y, self.columns_, "update")
        new, seen = continue_series(self.scaler_, y.to_numpy(dtype=np.float64), self._context[-1])
        seen = np.ones(new.shape, bool) if seen is None else seen
        last = None if self.covariates_ is None else self._covariate_context[-1]
        exogenous = scaled_covariates(self.covariates_, X, y.index, "update", last)
        if self.intervals_.uses_scores and len(new):  # before fine-tuning
            self.intervals_.extend(self._scores(new, seen, exogenous))
        series = np.concatenate([self._context[-self.seq_len :], new])
        observed = np.concatenate([self._observed[-self.seq_len :], seen])
        covariates = None
        if exogenous is not None:
            covariates = np.concatenate([self._covariate_context[-self.seq_len :], exogenous])
        if update_params and count_windows(len(series), self.seq_len, self.pred_len_) > 0:
            self._n_updates += 1
            self._fine_tune(series, None if observed.all() else observed, covariates)
        self._context, self._observed = self._tail(
            np.concatenate([self._context, new]), np.concatenate([self._observed, seen])
        )
        if exogenous is not None:
            self._covariate_context = self._covariate_tail(
                np.concatenate([self._covariate_context, exogenous])
            )
        return self

    def to_onnx(self, path) -> None:
        """Write the fitted model to the ONNX file ``path``, for a runtime without torch.

        The graph holds RevIN and the model with its channel embedding merged into plain
        per-channel weights (no gates or pool at run time); it maps scaled, gap-filled windows
        ``(batch, seq_len, n_channels)`` to scaled forecasts ``(batch, pred_len, n_channels)``
        (dynamic batch, opset 18, fp32; the median for ``interval_method="quantile"``); with
        covariates ``X``, a second input takes their scaled, filled windows over lookback and
        horizon. The file's ``metadata_props`` hold the scalers, ``seq_len``, ``pred_len``,
        the columns and the gap rule, so :class:`~sae_forecast.deploy.OnnxPredictor`
        forecasts from the raw recent rows alone. See the "Deploying to a gateway" page.

        Raises ``NotImplementedError`` for a forecaster fitted on a panel or with
        ``precision="bf16"``, and sktime's ``NotFittedError`` before ``fit``. Needs
        ``pip install "sae-forecast[onnx]"``.
        """
        export_forecaster(self, path)

    @property
    def model_(self) -> torch.nn.Module:
        """The trained backbone (a :mod:`sae_forecast.nn` module)."""
        self.check_is_fitted()
        return self.net_.module_

    # -- helpers -------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        check_parameters(self)  # every parameter, before any training

    def _resolve_pred_len(self, steps) -> int:
        if getattr(self, "fleet_", None) is not None:
            return pretrained_horizon(self.fleet_, steps)
        if self.pred_len is not None:
            return int(self.pred_len)
        return DEFAULT_PRED_LEN if steps is None else int(max(1, steps.max()))

    def _trainable(self, fleet, columns):
        """What ``fit`` and ``update`` train: None (everything) without a fleet."""
        if fleet is None:
            return None
        check_same_columns(columns, fleet.columns, "fit")
        return adapted_parameters(self.adapt, self.embedding)

    def _tail(self, series: np.ndarray, observed: np.ndarray | None):
        """The rows a forecaster keeps: every forecast of the next row reads them."""
        rows = self.seq_len + self.pred_len_ - 1
        seen = np.ones_like(series, bool) if observed is None else observed
        return series[-rows:], seen[-rows:]

    def _covariate_tail(self, covariates: np.ndarray | None) -> np.ndarray | None:
        """The covariate rows beside :meth:`_tail`'s (None without covariates)."""
        return None if covariates is None else covariates[-(self.seq_len + self.pred_len_ - 1) :]

    def _covariate_counts(self) -> tuple[int, int]:
        """Future-known and past-only covariates the network reads."""
        spec = self.covariates_
        return (0, 0) if spec is None else (spec.n_future, spec.n_past)

    def _next_inputs(self, fh, X):
        """The network's inputs for the forecast from the cutoff: the lookback ``(1, L, N)``,
        with covariates the dict of :func:`~sae_forecast.training.window_inputs`."""
        lookback = self._context[None, -self.seq_len :]
        spec = self.covariates_
        if spec is None:
            scaled_covariates(None, X, None, "predict")  # refuses an X fit never saw
            return lookback
        steps = np.arange(1, self.pred_len_ + 1)
        horizon = ForecastingHorizon(steps, is_relative=True, freq=fh.freq)
        future = horizon_covariates(
            X,
            spec,
            horizon.to_absolute_index(self.cutoff),
            fh.to_absolute_index(self.cutoff),
            self._covariate_context[-1],
        )
        window = np.concatenate([self._covariate_context[-self.seq_len :], future])
        return window_inputs(lookback, window[None])

    def _scores(self, rows: np.ndarray, seen: np.ndarray, covariates=None) -> np.ndarray:
        """The interval method's scores of scaled, filled ``rows`` (and their scaled
        ``covariates``) that follow the context."""
        context = self._context
        observed = None if seen.all() else np.concatenate([np.ones(context.shape, bool), seen])
        if covariates is not None:
            covariates = np.concatenate([self._covariate_context, covariates])
        return self._origin_scores(
            self.intervals_, np.concatenate([context, rows]), observed, len(context), covariates
        )

    def _calibrated(self, series):
        """The interval method, calibrated on the rows the validation windows forecast."""
        method = interval_method(
            self.interval_method,
            calibration_size=self.calibration_size,
            quantile_levels=self.quantile_levels,
            step_size=self.interval_step_size,
        )
        if not method.uses_scores:
            return method
        n_rows = len(series.values)
        first = calibration_start(
            n_rows,
            series.valid,
            seq_len=self.seq_len,
            pred_len=self.pred_len_,
            size=self.calibration_size,
        )
        scores = self._origin_scores(
            method, series.values, series.observed, first, series.covariates
        )
        source = "validation" if len(series.valid) else "training"
        return method.calibrate(scores, source=source, scale=self.scaler_.std)

    def _fine_tune(self, series: np.ndarray, observed: np.ndarray | None, covariates) -> None:
        if self.trainable_ == ():
            return
        windows = SeriesWindows(
            series,
            self.seq_len,
            self.pred_len_,
            observed=observed,
            device=self.device,
            covariates=covariates,
        )
        state = fine_tune(
            self.net_,
            self._backbone,
            self.get_params(),
            windows,
            update=self._n_updates,
            best_epoch=self.best_epoch_,
            trainable=self.trainable_,
            covariates=self._covariate_counts(),
        )
        self.net_.module_.load_state_dict(state)

    def _steps(self, fh) -> np.ndarray:
        steps = fh.to_relative(self.cutoff).to_numpy().astype(int)
        check_horizon(steps, self.pred_len_, type(self).__name__)
        return steps

    def _quantile_values(self, fh, X, alpha):
        """Quantiles ``alpha`` of the forecast at ``fh``: ``(A, S, N)`` and the row index."""
        steps = self._steps(fh)
        if getattr(self.intervals_, "source", None) == "training":
            warn_caller(
                "validation_size=0: the intervals are calibrated on in-sample scores of the "
                "training windows and tend to be too narrow; fit with validation_size > 0 "
                "for calibrated intervals."
            )
        if self.intervals_.needs_head:  # from the network's own quantiles
            _, head = self.net_.forward(self._next_inputs(fh, X))
            head = head[0].cpu().to(torch.float64).numpy()[steps - 1]  # (S, N, Q), scaled
            head = head * self.scaler_.std[:, None] + self.scaler_.mean[:, None]
            values = self.intervals_.quantiles(None, head, alpha, steps)
            return values, fh.to_absolute_index(self.cutoff)
        # sktime's horizon conversions cost more than RLinear's forecast: each is done once
        point = self._point_rows(fh, X, steps)  # (S, N), original units
        values = self.intervals_.quantiles(point, None, alpha, steps)
        return values, fh.to_absolute_index(self.cutoff)


fill_parameters(LightSAEForecaster, parameter_docs(CommonParameters, COMMON))
