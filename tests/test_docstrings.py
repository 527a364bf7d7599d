"""Every public class has a numpydoc docstring with an Examples section (run as doctests)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

SUBPACKAGES = [
    "sae_forecast.nn",
    "sae_forecast.data",
    "sae_forecast.training",
    "sae_forecast.forecasting",
    "sae_forecast.analysis",
    "sae_forecast.deploy",
]


def _public_classes():
    for name in SUBPACKAGES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize(("path", "cls"), list(_public_classes()), ids=lambda v: str(v))
def test_public_class_has_parameters_and_examples(path, cls):
    doc = inspect.getdoc(cls) or ""
    assert "Examples\n--------\n>>> " in doc, f"{path} has no runnable Examples section"
    init = inspect.signature(cls.__init__).parameters
    documented = [p for p in init if p not in ("self", "args", "kwargs")]
    if documented:
        assert "Parameters\n----------" in doc, f"{path} does not document its parameters"
        missing = [
            p for p in documented if not re.search(rf"\n([a-z_, ]*\b){p}\b[a-z_, ]* :", "\n" + doc)
        ]
        assert not missing, f"{path} does not document {missing}"
