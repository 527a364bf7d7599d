"""Data layer (numpy and pandas only): benchmark datasets, the standard protocol, windows."""

from sae_forecast.data.windows import chronological_split, count_windows, sliding_windows

__all__ = ["chronological_split", "count_windows", "sliding_windows"]
