"""The skorch layer: a net that trains a backbone on windows (never imports sktime)."""

from sae_forecast.training.callbacks import (
    StopOnNonFiniteLoss,
    TrainingDivergedError,
    TrainingTimer,
)
from sae_forecast.training.dataset import ArrayWindows, SeriesWindows, Targets, window_inputs
from sae_forecast.training.fleet import FleetWindows
from sae_forecast.training.iterator import BatchIterator
from sae_forecast.training.net import ForecastingNet
from sae_forecast.training.seeds import spawn_seeds
from sae_forecast.training.split import ChronologicalSplit

__all__ = [
    "ArrayWindows",
    "BatchIterator",
    "ChronologicalSplit",
    "FleetWindows",
    "ForecastingNet",
    "SeriesWindows",
    "StopOnNonFiniteLoss",
    "Targets",
    "TrainingDivergedError",
    "TrainingTimer",
    "spawn_seeds",
    "window_inputs",
]
