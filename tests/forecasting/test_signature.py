"""Each forecaster's parameters: declared where readers and type checkers see them, equal to
their source (the base's ``__init__`` and the backbone's signature), defaults and docs."""

from __future__ import annotations

import inspect

import pytest

from sae_forecast.forecasting import FORECASTERS, LightSAEForecaster
from sae_forecast.forecasting._common import CommonParameters
from sae_forecast.forecasting._signature import (
    backbone_parameters,
    declared_parameters,
    documented_parameters,
    parameter_differences,
    parameter_docs,
    source_parameters,
)
from sae_forecast.nn import RLinear

COMMON = list(inspect.signature(LightSAEForecaster.__init__).parameters)[1:]


def _source(cls) -> list[inspect.Parameter]:
    return source_parameters(LightSAEForecaster.__init__, cls._backbone, cls._defaults)


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_parameters_are_the_common_ones_then_the_backbones(name):
    cls = FORECASTERS[name]
    own = backbone_parameters(cls._backbone)
    assert list(inspect.signature(cls).parameters) == COMMON + [p.name for p in own]
    defaults = cls().get_params()
    for parameter in own:
        assert defaults[parameter.name] == parameter.default
    assert defaults["lr"] == cls._defaults["lr"]


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_declared_parameters_equal_the_source(name):
    # what pyright/mypy synthesise from the class attributes (dataclass_transform)
    cls = FORECASTERS[name]
    assert parameter_differences(declared_parameters(cls), _source(cls)) == []


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_runtime_signature_equals_the_source(name):
    # what sktime, sklearn's clone and help() read
    cls = FORECASTERS[name]
    runtime = list(inspect.signature(cls).parameters.values())
    assert parameter_differences(runtime, _source(cls)) == []


def test_the_common_constructor_stores_every_declared_parameter_and_refuses_others():
    declared = declared_parameters(CommonParameters)
    runtime = list(inspect.signature(LightSAEForecaster.__init__).parameters.values())[1:]
    assert parameter_differences(runtime, declared) == []
    values = {p.name: object() for p in declared}  # a distinct sentinel per parameter
    forecaster = LightSAEForecaster(**values)
    assert all(getattr(forecaster, name) is value for name, value in values.items())
    assert LightSAEForecaster().get_params() == {p.name: p.default for p in declared}
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['seq_lenn'\]"):
        LightSAEForecaster(seq_lenn=4)


def test_backbone_defaults_overridden_by_an_estimator_are_declared_there():
    declared = {p.name: p.default for p in declared_parameters(FORECASTERS["RLinear"])}
    assert (declared["lr"], declared["dropout"]) == (5e-3, 0.0)
    declared = {p.name: p.default for p in declared_parameters(FORECASTERS["PatchTST"])}
    assert (declared["lr"], declared["d_ff"], declared["head_dropout"]) == (1e-4, 2048, 0.0)


class _WrongDefault(LightSAEForecaster):
    _backbone = RLinear
    lr: float = 5e-3
    dropout: float = 0.5  # RLinear says 0.0
    revin: bool = True
    revin_affine: bool = False
    covariate_gates: bool = False
    _defaults = {"lr": 1e-3}  # the base writes lr=0.001, the declaration says 0.005


class _MissingOne(LightSAEForecaster):
    _backbone = RLinear
    dropout: float = 0.0
    revin: bool = True
    covariate_gates: bool = False


def test_a_declaration_that_diverges_from_its_source_is_reported():
    differences = parameter_differences(declared_parameters(_WrongDefault), _source(_WrongDefault))
    assert differences == [
        "lr: declared default 0.005, but the source says 0.001; declare lr = 0.001.",
        "dropout: declared default 0.5, but the source says 0.0; declare dropout = 0.0.",
    ]
    (missing,) = parameter_differences(declared_parameters(_MissingOne), _source(_MissingOne))
    assert "missing: ['revin_affine'], unknown: []" in missing


def test_a_declared_type_that_differs_from_the_backbones_is_reported():
    source = backbone_parameters(RLinear)
    declared = [p.replace(annotation="int") if p.name == "dropout" else p for p in source]
    assert parameter_differences(declared, source) == [
        "dropout: declared type int, but the source says float; annotate dropout: float."
    ]


def test_an_int_default_is_not_a_float_default():
    source = [inspect.Parameter("rank", inspect.Parameter.KEYWORD_ONLY, default=25)]
    (difference,) = parameter_differences([source[0].replace(default=25.0)], source)
    assert difference.startswith("rank: declared default 25.0, but the source says 25;")


def _numpydoc_default(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_docstring_documents_every_parameter_in_order_with_its_default(name):
    cls = FORECASTERS[name]
    documented = documented_parameters(cls)
    source = _source(cls)
    assert list(documented) == [p.name for p in source]
    for parameter in source:
        first_line = documented[parameter.name].splitlines()[0]
        assert first_line.endswith(f"default={_numpydoc_default(parameter.default)}"), first_line
    assert "{parameters}" not in cls.__doc__


def test_parameters_are_stored_under_their_names_and_unknown_ones_refused():
    cls = FORECASTERS["PatchTST"]
    forecaster = cls(d_model=16, rank=3, seq_len=24)
    assert (forecaster.d_model, forecaster.rank, forecaster.seq_len) == (16, 3, 24)
    with pytest.raises(TypeError, match="d_modle"):
        cls(d_modle=16)


def test_parameter_docs_refuses_an_undocumented_name():
    with pytest.raises(ValueError, match=r"does not document \['nope'\]"):
        parameter_docs(LightSAEForecaster, ["nope"])
