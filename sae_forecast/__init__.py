"""sae_forecast: LightSAE channel embeddings for channel-independent forecasters.

The forecasters are sktime estimators trained by skorch::

    from sae_forecast import LightSAEPatchTSTForecaster

    y_pred = LightSAEPatchTSTForecaster(pred_len=24).fit(y).predict(fh=range(1, 25))

Public names are imported on first use, so ``import sae_forecast.nn`` stays free of sktime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see of the names imported on first use
    from sae_forecast.data import load_dataset as load_dataset
    from sae_forecast.forecasting import (
        LightSAEiTransformerForecaster as LightSAEiTransformerForecaster,
    )
    from sae_forecast.forecasting import LightSAEPatchTSTForecaster as LightSAEPatchTSTForecaster
    from sae_forecast.forecasting import LightSAERLinearForecaster as LightSAERLinearForecaster
    from sae_forecast.forecasting import LightSAERMLPForecaster as LightSAERMLPForecaster
    from sae_forecast.training import ForecastingNet as ForecastingNet

__version__ = "0.1.0"

_EXPORTS = {
    "LightSAERLinearForecaster": "sae_forecast.forecasting",
    "LightSAERMLPForecaster": "sae_forecast.forecasting",
    "LightSAEPatchTSTForecaster": "sae_forecast.forecasting",
    "LightSAEiTransformerForecaster": "sae_forecast.forecasting",
    "ForecastingNet": "sae_forecast.training",
    "load_dataset": "sae_forecast.data",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sae_forecast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
