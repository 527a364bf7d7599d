"""Each forecaster's parameters come from its backbone's signature, defaults and docs."""

from __future__ import annotations

import inspect

import pytest

from sae_forecast.forecasting import FORECASTERS, LightSAEForecaster
from sae_forecast.forecasting._signature import backbone_parameters, parameter_docs

COMMON = list(inspect.signature(LightSAEForecaster.__init__).parameters)[1:]


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
def test_docstring_documents_every_parameter_with_its_default(name):
    cls = FORECASTERS[name]
    doc = cls.__doc__
    for parameter in inspect.signature(cls).parameters.values():
        assert f"\n    {parameter.name} : " in doc, parameter.name
    assert f"lr : float, default={cls._defaults['lr']!r}" in doc
    assert "{parameters}" not in doc


def test_parameters_are_stored_under_their_names_and_unknown_ones_refused():
    cls = FORECASTERS["PatchTST"]
    forecaster = cls(d_model=16, rank=3, seq_len=24)
    assert (forecaster.d_model, forecaster.rank, forecaster.seq_len) == (16, 3, 24)
    with pytest.raises(TypeError, match="d_modle"):
        cls(d_modle=16)


def test_parameter_docs_refuses_an_undocumented_name():
    with pytest.raises(ValueError, match=r"does not document \['nope'\]"):
        parameter_docs(LightSAEForecaster, ["nope"])
