"""sae_forecast: LightSAE channel embeddings for channel-independent forecasters.

The forecasters are sktime estimators trained by skorch::

    from sae_forecast import LightSAEPatchTSTForecaster

    y_pred = LightSAEPatchTSTForecaster(pred_len=24).fit(y).predict(fh=range(1, 25))

Public names are imported on first use, so ``import sae_forecast.nn`` stays free of sktime.
"""

from __future__ import annotations

import importlib

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
