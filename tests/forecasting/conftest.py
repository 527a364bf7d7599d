"""Small series and tiny forecaster settings for the forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

TINY = {"seq_len": 12, "pred_len": 6, "max_epochs": 2, "rank": 2, "pool_size": 2, "random_state": 0}


def make_frame(n_rows=160, n_columns=3, index="datetime", seed=0) -> pd.DataFrame:
    """A noisy multi-sine frame with the requested index type."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)[:, None]
    values = np.sin(t / 5 + np.arange(n_columns)) * 10 + 50 + rng.normal(size=(n_rows, n_columns))
    indexes = {
        "datetime": pd.date_range("2021-01-01", periods=n_rows, freq="h"),
        "period": pd.period_range("2000-01", periods=n_rows, freq="M"),
        "range": pd.RangeIndex(n_rows),
    }
    return pd.DataFrame(
        values, index=indexes[index], columns=[f"sensor_{i}" for i in range(n_columns)]
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()
