"""Enforce the import directions of DESIGN.md by reading every module's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "sae_forecast"

# layer -> top-level names it must never import (stdlib and its own layer are always fine)
FORBIDDEN = {
    "nn": {"numpy", "pandas", "sklearn", "sktime", "skorch", "matplotlib", "scipy"}
    | {f"sae_forecast.{m}" for m in ("data", "training", "forecasting", "analysis", "bench")},
    "data": {"torch", "skorch", "sktime", "matplotlib"}
    | {f"sae_forecast.{m}" for m in ("nn", "training", "forecasting", "analysis", "bench")},
    "training": {"sktime", "matplotlib"}
    | {f"sae_forecast.{m}" for m in ("forecasting", "analysis", "bench")},
    "forecasting": {"matplotlib"} | {f"sae_forecast.{m}" for m in ("analysis", "bench")},
    "analysis": {"skorch"} | {f"sae_forecast.{m}" for m in ("training", "bench")},
    "bench": set(),
    # the torch-free predictor: numpy and onnxruntime only (a gateway has neither pandas nor torch)
    "deploy": {"torch", "pandas", "sklearn", "sktime", "skorch", "matplotlib", "scipy"}
    | {f"sae_forecast.{m}" for m in ("nn", "data", "training", "forecasting", "analysis", "bench")},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            for banned in FORBIDDEN[layer]:
                if name == banned or name.startswith(banned + "."):
                    found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


@pytest.mark.parametrize("layer", list(FORBIDDEN))
def test_layer_respects_import_directions(layer):
    assert _violations(layer) == []


def test_nothing_imports_bench():
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if "bench" not in path.relative_to(PACKAGE).parts
        and any(n.startswith("sae_forecast.bench") for n in _imports(path))
    ]
    assert offenders == []


def test_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sktime\nfrom sae_forecast.bench import x\n")
    assert {"sktime", "sae_forecast.bench"} <= _imports(bad)
