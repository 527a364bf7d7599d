"""The standard long-term forecasting protocol: split borders, train-only scaling, gaps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sae_forecast.data.catalog import CATALOG
from sae_forecast.data.pipeline import scale_and_fill

__all__ = ["BenchmarkData", "prepare_benchmark", "split_borders"]

_ETT_HOUR = (12 * 30 * 24, 4 * 30 * 24, 4 * 30 * 24)  # 12/4/4 months of hourly rows


def split_borders(rule: str, n_rows: int, seq_len: int) -> dict[str, tuple[int, int]]:
    """Row ranges ``[start, stop)`` of the train, validation and test parts.

    Validation and test start ``seq_len`` rows before their border, so that their first
    window's target begins exactly at the border (as in the Informer/Autoformer/TSLib loaders).

    Parameters
    ----------
    rule : {"ett_hour", "ett_minute", "ratio_7_1_2", "ratio_6_2_2"}
        ETT: 12/4/4 months (8640/2880/2880 hourly rows, four times that at 15 minutes).
        ``ratio_7_1_2``: 70% train, 20% test, validation in between. ``ratio_6_2_2``: PEMS.
    n_rows : int
        Rows in the file.
    seq_len : int
        Lookback length.

    Examples
    --------
    >>> split_borders("ett_hour", 17420, 96)
    {'train': (0, 8640), 'valid': (8544, 11520), 'test': (11424, 14400)}
    >>> split_borders("ratio_7_1_2", 52696, 96)
    {'train': (0, 36887), 'valid': (36791, 42157), 'test': (42061, 52696)}
    """
    if rule in ("ett_hour", "ett_minute"):
        scale = 1 if rule == "ett_hour" else 4
        train, valid, test = (part * scale for part in _ETT_HOUR)
        ends = (train, train + valid, train + valid + test)
    elif rule == "ratio_7_1_2":
        n_train, n_test = int(n_rows * 0.7), int(n_rows * 0.2)
        ends = (n_train, n_rows - n_test, n_rows)
    elif rule == "ratio_6_2_2":
        ends = (int(n_rows * 0.6), int(n_rows * 0.8), n_rows)
    else:
        raise ValueError(f"Unknown split rule {rule!r}.")
    if ends[2] > n_rows:
        raise ValueError(f"rule {rule!r} needs {ends[2]} rows, the data has {n_rows}.")
    return {
        "train": (0, ends[0]),
        "valid": (ends[0] - seq_len, ends[1]),
        "test": (ends[1] - seq_len, ends[2]),
    }


@dataclass
class BenchmarkData:
    """A dataset under the standard protocol, ready for windows.

    Built by :func:`prepare_benchmark`.

    Parameters
    ----------
    name : str
        Dataset name.
    values : ndarray of shape (n_rows, n_channels), float32
        Standardised with the training part's per-channel mean and standard deviation; gaps
        imputed (see :func:`prepare_benchmark`).
    observed : ndarray of bool or None
        False where the original value was missing (None when nothing was).
    borders : dict
        Row ranges of ``train``, ``valid`` and ``test`` (see :func:`split_borders`).
    columns : list of str
        Channel names.
    mean, std : ndarray
        The scaler, fitted on the training rows only.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> data = prepare_benchmark(pd.DataFrame(np.ones((40, 2))), 4, rule="ratio_7_1_2")
    >>> data.part("test")[0].shape
    (12, 2)
    """

    name: str
    values: np.ndarray
    observed: np.ndarray | None
    borders: dict[str, tuple[int, int]]
    columns: list[str]
    mean: np.ndarray
    std: np.ndarray

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(values, observed)`` of the rows of part ``name``."""
        start, stop = self.borders[name]
        mask = None if self.observed is None else self.observed[start:stop]
        return self.values[start:stop], mask


def prepare_benchmark(
    frame: pd.DataFrame,
    seq_len: int = 96,
    *,
    rule: str | None = None,
    columns: list[str] | None = None,
) -> BenchmarkData:
    """Apply the standard protocol to a loaded dataset.

    1. Split by :func:`split_borders` (rule from the catalog unless given).
    2. Fit a per-channel standard scaler on the training rows only (observed values), and
       standardise everything with it. Metrics are then computed on this scale.
    3. Impute gaps (``beijing_air``) causally: each missing value takes the last observed
       value of its channel (forward fill); a gap at the very start takes the training mean
       (0 after scaling). ``observed`` remembers where values were missing, so the loss and
       the metrics can ignore imputed targets.

    Parameters
    ----------
    frame : DataFrame
        As returned by :func:`~sae_forecast.data.load_dataset` (``attrs["name"]`` names the
        catalog entry when ``rule`` is not given).
    seq_len : int, default=96
        Lookback length (validation and test start ``seq_len`` rows before their border).
    rule : str or None, default=None
        Split rule; by default the catalog's.
    columns : list of str or None, default=None
        Keep only these channels (e.g. a random subset of ``beijing_air``).

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> frame = pd.DataFrame(np.arange(200.0).reshape(100, 2))
    >>> data = prepare_benchmark(frame, seq_len=5, rule="ratio_7_1_2")
    >>> data.borders["test"], abs(round(float(data.part("train")[0][:, 0].mean()), 6))
    ((75, 100), 0.0)
    """
    name = frame.attrs.get("name", "custom")
    if rule is None:
        if name not in CATALOG:
            raise ValueError("pass rule=... for a frame that is not a catalog dataset.")
        rule = CATALOG[name].split
    if columns is not None:
        frame = frame[columns]
    raw = frame.to_numpy(dtype=np.float64)
    borders = split_borders(rule, len(raw), seq_len)
    scaler, scaled, observed = scale_and_fill(raw, borders["train"][1], columns=frame.columns)
    return BenchmarkData(
        name=name,
        values=scaled,
        observed=observed,
        borders=borders,
        columns=[str(c) for c in frame.columns],
        mean=scaler.mean,
        std=scaler.std,
    )
