"""The example of docs/deploy.md runs (so it cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

PAGE = Path(__file__).parents[2] / "docs" / "deploy.md"


@pytest.mark.slow
def test_deploy_page_example_runs_and_matches_predict(data_home, monkeypatch, capsys):
    monkeypatch.setenv("SAE_FORECAST_DATA", str(data_home))
    (block,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    exec(compile(block, "docs/deploy.md", "exec"), {"__name__": "__docs__"})
    shape, difference = capsys.readouterr().out.rsplit(")", 1)
    assert shape == "(24, 7"
    assert float(difference) < 1e-4  # original units (ETTh1's std is ~2 to 9)
