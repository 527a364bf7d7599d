"""The compile study: both sides of a backbone measured alike, and their comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sae_forecast.bench import compiled

ROWS = 700


def _synthetic(dataset, data_home):
    rng = np.random.default_rng(0)
    t = np.arange(ROWS)[:, None]
    values = 10 + 3 * np.sin(t / 8 + np.arange(2)) + rng.normal(0, 0.3, (ROWS, 2))
    return pd.DataFrame(values, columns=["a", "b"])


def _borders(rule, n_rows, seq_len):
    return {"train": (0, 400), "valid": (304, 500), "test": (404, ROWS)}


def test_each_side_is_fitted_timed_and_scored_with_its_compile_setting(monkeypatch):
    monkeypatch.setattr(compiled, "series", _synthetic)
    monkeypatch.setattr(compiled, "split_borders", _borders)
    spec = {"dataset": "ETTh1", "backbone": "RLinear", "epochs": 2, "predict_repeats": 2}
    rows = compiled.child({**spec, "data_home": None})["rows"]
    assert [row["side"] for row in rows] == ["eager", "compiled"]
    eager, compiled_row = rows
    assert not eager["still compiled"] and compiled_row["still compiled"]
    assert compiled_row["first epoch +s"] > eager["first epoch +s"]  # it compiled
    assert compiled_row["mse"] == pytest.approx(eager["mse"], rel=1e-3)
    for row in rows:
        assert row["ms/step"] > 0 and row["predict ms"] > 0 and row["test forecast s"] > 0


def test_the_comparison_divides_eager_by_compiled():
    side = {"backbone": "RLinear", "first epoch +s": 1.0, "test forecast s": 4.0}
    eager = {**side, "side": "eager", "ms/step": 2.0, "predict ms": 3.0, "mse": 0.5}
    fast = {**side, "side": "compiled", "ms/step": 1.0, "predict ms": 6.0, "mse": 0.51}
    fast.update({"first epoch +s": 11.0, "test forecast s": 2.0, "predict ms, first": 900.0})
    (row,) = compiled.compared(pd.DataFrame([eager, fast]))
    assert row["step speed-up"] == 2.0 and row["predict speed-up"] == 0.5
    assert row["compile s (training, approx.)"] == 10.0 and row["test forecast speed-up"] == 2.0
    assert row["first predict s"] == 0.9 and row["mse change %"] == pytest.approx(2.0)
