"""The README's code blocks run (so they cannot rot), and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, flags=re.DOTALL).group(1)
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_block_runs(index, data_home, monkeypatch, capsys):
    monkeypatch.setenv("SAE_FORECAST_DATA", str(data_home))
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()  # every block prints its result


def test_readme_has_the_code_blocks_it_promises():
    assert len(BLOCKS) == 5
    assert "fit(y_train)" in BLOCKS[0] and "ForecastingGridSearchCV" in BLOCKS[1]
    assert "GridSearchCV(\n    net" in BLOCKS[2] and "Imputer" in BLOCKS[3]
    assert "fit(y.iloc[:3976], X=" in BLOCKS[4] and "X=X.iloc[3976:]" in BLOCKS[4]
