"""The mechanism tables of the analysis bench."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from sae_forecast.bench.mechanism import penalty_table
from sae_forecast.nn import LightSAEEmbedding


def _nets(labels, pool_size=3):
    return {
        label: SimpleNamespace(module_=LightSAEEmbedding(4, 8, 8, rank=2, pool_size=pool_size))
        for label in labels
    }


def test_penalty_table_adds_collapse_columns_without_duplicates():
    rows = pd.DataFrame(
        {"setting": ["none", "entropy 0.1"], "pool_size": [3, 3], "mse": [1.0, 1.1]}
    )
    table = penalty_table(rows, _nets(["none", "entropy 0.1"]))
    assert len(table) == 2
    assert not [c for c in table.columns if c.endswith(("_x", "_y"))]
    assert {"pool_size", "mean_entropy", "largest_share", "mse"} <= set(table.columns)
    assert table.set_index("setting").loc["entropy 0.1", "mse"] == 1.1


def test_penalty_table_refuses_a_setting_matched_twice():
    rows = pd.DataFrame({"setting": ["none", "none"], "mse": [1.0, 1.1]})
    with pytest.raises(pd.errors.MergeError):
        penalty_table(rows, _nets(["none"]))
