"""Run exported forecasters without torch: numpy and onnxruntime only.

A fitted forecaster writes its merged model and everything a runtime needs with
``forecaster.to_onnx(path)``; :class:`OnnxPredictor` loads the file and forecasts from the
raw recent rows. Nothing here imports torch, sktime, skorch or pandas (install the
``onnx`` extra: ``pip install "sae-forecast[onnx]"``).
"""

from sae_forecast.deploy.metadata import FILL_RULE, FORMAT_VERSION, ForecastMetadata
from sae_forecast.deploy.predictor import OnnxPredictor
from sae_forecast.deploy.window import scaled_window

__all__ = ["FILL_RULE", "FORMAT_VERSION", "ForecastMetadata", "OnnxPredictor", "scaled_window"]
