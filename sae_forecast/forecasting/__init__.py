"""The sktime face: four forecasters, one per backbone, sharing one base."""

from sae_forecast.forecasting._base import LightSAEForecaster
from sae_forecast.forecasting._fleet import FleetState
from sae_forecast.forecasting._intervals import (
    AdaptiveConformal,
    ConformalQuantiles,
    QuantileHead,
    SplitConformal,
    TrackedConformal,
)
from sae_forecast.forecasting._windows import WindowForecasts
from sae_forecast.forecasting.itransformer import LightSAEiTransformerForecaster
from sae_forecast.forecasting.patchtst import LightSAEPatchTSTForecaster
from sae_forecast.forecasting.rlinear import LightSAERLinearForecaster
from sae_forecast.forecasting.rmlp import LightSAERMLPForecaster

FORECASTERS = {
    "RLinear": LightSAERLinearForecaster,
    "RMLP": LightSAERMLPForecaster,
    "PatchTST": LightSAEPatchTSTForecaster,
    "iTransformer": LightSAEiTransformerForecaster,
}

__all__ = [
    "FORECASTERS",
    "AdaptiveConformal",
    "ConformalQuantiles",
    "FleetState",
    "LightSAEForecaster",
    "LightSAEPatchTSTForecaster",
    "LightSAERLinearForecaster",
    "LightSAERMLPForecaster",
    "LightSAEiTransformerForecaster",
    "QuantileHead",
    "SplitConformal",
    "TrackedConformal",
    "WindowForecasts",
]
