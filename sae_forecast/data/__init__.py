"""Data layer (numpy and pandas only): benchmark datasets, the standard protocol, windows."""

from sae_forecast.data.catalog import CATALOG, DatasetInfo
from sae_forecast.data.loaders import (
    dataset_path,
    download_dataset,
    get_data_home,
    load_dataset,
    verify_file,
)
from sae_forecast.data.pipeline import (
    PreparedSeries,
    continue_series,
    prepare_series,
    scale_and_fill,
)
from sae_forecast.data.scaling import Standardiser, fill_gaps
from sae_forecast.data.splits import BenchmarkData, prepare_benchmark, split_borders
from sae_forecast.data.synthetic import make_heterogeneous_series
from sae_forecast.data.windows import chronological_split, count_windows, sliding_windows

__all__ = [
    "CATALOG",
    "BenchmarkData",
    "DatasetInfo",
    "PreparedSeries",
    "Standardiser",
    "chronological_split",
    "continue_series",
    "count_windows",
    "dataset_path",
    "download_dataset",
    "fill_gaps",
    "get_data_home",
    "load_dataset",
    "make_heterogeneous_series",
    "prepare_benchmark",
    "prepare_series",
    "scale_and_fill",
    "sliding_windows",
    "split_borders",
    "verify_file",
]
