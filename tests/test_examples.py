"""Every example runs in quick mode and writes the output it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OUTPUTS = {
    "quickstart.py": ["quickstart_shared.csv", "quickstart_lightsae.csv"],
    "grid_search.py": ["grid_search_sklearn.csv", "grid_search_sktime.csv"],
    "pipeline_with_imputer.py": ["air_quality_forecast.csv"],
    "evaluate_backtest.py": ["backtest.csv", "backtest.png"],
    "reproduce_paper.py": ["bench/runs.jsonl", "bench/results.md", "bench/gains.png"],
    "inspect_gates.py": ["gates.png", "energy.png", "gates.csv"],
    "new_device.py": ["new_device.csv"],
    "forecast_intervals.py": ["intervals.png", "intervals.csv"],
    "day_ahead_prices.py": ["day_ahead_prices.png", "day_ahead_intervals.csv"],
}


def test_every_example_is_covered():
    scripts = {p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(OUTPUTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", list(OUTPUTS))
def test_example_runs_quickly(script, tmp_path, data_home):
    env = {**os.environ, "SAE_FORECAST_QUICK": "1", "SAE_FORECAST_DATA": str(data_home)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    for name in OUTPUTS[script]:
        assert (tmp_path / name).stat().st_size > 0, name
