"""The bench uses only the package's public API: no private module, name or attribute."""

from __future__ import annotations

import ast

import pytest

from tests.bench import ROOT

BENCH = ROOT / "sae_forecast" / "bench"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str) -> list[str]:
    """Every import of a private module or name, and every private attribute access."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            names = [alias.name for alias in node.names]
            found += [f"from {node.module} import {n}" for n in names if _private(n)]
            found += [f"from {node.module}" for _ in [0] if any(map(_private, parts))]
        elif isinstance(node, ast.Import):
            found += [
                f"import {a.name}" for a in node.names if any(map(_private, a.name.split(".")))
            ]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_bench_module_uses_only_public_api(path):
    assert private_uses(path.read_text()) == []


@pytest.mark.parametrize(
    "line",
    [  # the violations of the bench before the runner
        "from sae_forecast.forecasting._intervals import calibrate",
        "from sae_forecast.forecasting import _builder",
        "import sae_forecast.forecasting._builder",
        "valid = forecaster._split_windows(len(values))[1]",
        "forecaster._set_params_at('pretrained', {'adapt': 'gates'})",
    ],
)
def test_the_checker_catches_private_uses(line):
    assert len(private_uses(line)) == 1


def test_dunders_and_future_imports_are_public():
    assert private_uses("from __future__ import annotations\ntext = __doc__.split()") == []
