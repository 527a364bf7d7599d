"""A fitted forecaster -> one ONNX file: the merged model and what a runtime needs to use it."""

from __future__ import annotations

import numbers
import os

from sae_forecast.deploy.metadata import ForecastMetadata
from sae_forecast.nn.export import ONNX_COVARIATES, ONNX_INPUT, ONNX_OUTPUT, export_onnx

__all__ = ["export_forecaster", "forecast_metadata"]


def forecast_metadata(forecaster) -> ForecastMetadata:
    """The metadata of a fitted forecaster's ONNX file: window shape, columns, scaler.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> y = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) ** 0.5})
    >>> forecaster = LightSAERLinearForecaster(
    ...     seq_len=8, pred_len=2, max_epochs=1, random_state=0
    ... ).fit(y)
    >>> meta = forecast_metadata(forecaster)
    >>> meta.seq_len, meta.pred_len, meta.columns
    (8, 2, ('a', 'b'))
    """
    spec = forecaster.covariates_
    covariates = {}
    if spec is not None:
        covariates = dict(
            covariate_columns=tuple(_json_name(column) for column in spec.columns),
            n_future_covariates=spec.n_future,
            covariate_mean=spec.scaler.mean,
            covariate_std=spec.scaler.std,
            covariates_name=ONNX_COVARIATES,
        )
    return ForecastMetadata(
        seq_len=forecaster.seq_len,
        pred_len=forecaster.pred_len_,
        columns=tuple(_json_name(column) for column in forecaster.columns_),
        mean=forecaster.scaler_.mean,
        std=forecaster.scaler_.std,
        forecaster=type(forecaster).__name__,
        embedding=forecaster.embedding,
        input_name=ONNX_INPUT,
        output_name=ONNX_OUTPUT,
        **covariates,
    )


def export_forecaster(forecaster, path: str | os.PathLike) -> None:
    """Write a fitted forecaster's merged model and :func:`forecast_metadata` to ``path``.

    Raises sktime's ``NotFittedError`` before ``fit``, and ``NotImplementedError`` for
    forecasters fitted on a panel or with ``precision="bf16"``.
    """
    forecaster.check_is_fitted(method_name="to_onnx")
    name = type(forecaster).__name__
    if not hasattr(forecaster, "net_"):  # sktime vectorised a panel: one forecaster per series
        raise NotImplementedError(
            f"this {name} was fitted on a panel (one network per series); to_onnx exports one "
            "network. Export each series' forecaster: "
            "forecaster.forecasters_.iloc[i, 0].to_onnx(path)."
        )
    export_onnx(forecaster.net_.module_, path, metadata=forecast_metadata(forecaster).to_props())


def _json_name(column):
    """A column name JSON keeps: str and int as they are, anything else as its str."""
    if isinstance(column, str):
        return column
    if isinstance(column, numbers.Integral) and not isinstance(column, bool):
        return int(column)
    return str(column)
