"""The one parameter table: every forecaster parameter has an entry, and each bad value is
refused with a message naming the parameter, the value and what to pass."""

from __future__ import annotations

import ast
import inspect
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from sae_forecast.forecasting import (
    FORECASTERS,
    LightSAEPatchTSTForecaster,
    LightSAERLinearForecaster,
)
from sae_forecast.forecasting._constraints import ACCELERATOR_ATTRIBUTES
from sae_forecast.forecasting._parameters import PARAMETERS, check_parameters
from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS

# One bad value per parameter of the table, and how the message begins after "<name> must be ";
# every message goes on with ", got <value>." (", got <value> (<type>)." for a TypeError).
BAD_VALUES = """
seq_len             | 0           | ValueError | an int >= 1 (the lookback length)
pred_len            | 2.5         | TypeError  | None or an int >= 1 (steps forecast; None takes
embedding           | 'lightSAE'  | ValueError | one of ['shared', 'independent', 'sae', 'sae_lowr
rank                | 0           | ValueError | an int >= 1 (rank of the channel-specific residu
pool_size           | -1          | ValueError | an int >= 1 (pooled left factors of lightsae)
pooled_bias         | 'no'        | TypeError  | True or False
max_epochs          | 0           | ValueError | an int >= 1 (the most epochs trained)
batch_size          | 0           | ValueError | an int >= 1 (windows per batch)
lr                  | 0.0         | ValueError | a finite float > 0 (the initial learning rate, e.
patience            | 0           | ValueError | an int >= 1 (epochs without improvement before e
validation_size     | 1.0         | ValueError | a fraction of the windows in [0, 1) or a number o
scale               | None        | TypeError  | True or False
future_covariates   | 'load'      | ValueError | "all" or a list of distinct column names of X (t
fine_tune_epochs    | -1          | ValueError | an int >= 0 (epochs trained by update(..., updat
interval_method     | 'bootstrap' | ValueError | one of ['adaptive', 'conformal', 'quantile', 'tr
quantile_levels     | (0.1, 0.9)  | ValueError | None or at least two increasing levels strictly
calibration_size    | 0           | ValueError | None or an int >= 1 (rows whose scores calibrate
interval_step_size  | 1.5         | ValueError | None or a number in [0, 1], or a non-empty list o
gate_penalty        | 'l2'        | ValueError | None or one of ['balance', 'entropy'] (the regul
gate_penalty_weight | -0.1        | ValueError | a finite float >= 0 (weight of the gate penalty)
adapt               | 'gate'      | ValueError | one of ['auto', 'gates', 'embedding', 'all', 'no
device              | 'gpu'       | ValueError | a torch.device or its name, e.g. 'cpu', 'cuda' o
precision           | 'fp16'      | ValueError | one of ['fp32', 'bf16']
compile             | 'yes'       | TypeError  | True or False
random_state        | -1          | ValueError | None or an int >= 0, a sequence of ints >= 0, or
verbose             | True        | TypeError  | an int >= 0 (0 silent, 1 a line per epoch, 2 add
accelerator         | 'yes'       | TypeError  | None or an accelerate.Accelerator (an object wit
dropout             | 1.0         | ValueError | a float in [0, 1) (a probability)
head_dropout        | -0.1        | ValueError | a float in [0, 1) (a probability)
revin               | 'yes'       | TypeError  | True or False
revin_affine        | 1           | TypeError  | True or False
covariate_gates     | 'yes'       | TypeError  | True or False
d_model             | 0           | ValueError | an int >= 1 (token width)
n_heads             | 0           | ValueError | an int >= 1 (attention heads)
d_ff                | 64.0        | TypeError  | an int >= 1 (feed-forward width)
n_layers            | 0           | ValueError | an int >= 1 (encoder layers)
patch_len           | 0           | ValueError | an int >= 1 (patch length)
stride              | 0           | ValueError | an int >= 1 (distance between patch starts)
activation          | 'swish'     | ValueError | one of ['gelu', 'relu']
chunk_size          | 0           | ValueError | None or an int >= 1 (sequences encoded at once when
"""


def _bad_values():
    errors = {"ValueError": ValueError, "TypeError": TypeError}
    for line in BAD_VALUES.strip().splitlines():
        name, value, error, allowed = (part.strip() for part in line.split("|"))
        yield pytest.param(name, ast.literal_eval(value), errors[error], allowed, id=name)


def test_every_forecaster_parameter_has_an_entry_and_no_entry_is_stale():
    names = set()
    for cls in FORECASTERS.values():
        own = set(inspect.signature(cls).parameters)
        assert own - set(PARAMETERS) == set(), cls.__name__
        names |= own
    assert set(PARAMETERS) - names == set()


def test_every_entry_has_a_bad_value_above():
    assert sorted(case.values[0] for case in _bad_values()) == sorted(PARAMETERS)


@pytest.mark.parametrize(("name", "value", "error", "allowed"), list(_bad_values()))
def test_a_bad_value_is_refused_naming_parameter_value_and_fix(name, value, error, allowed):
    with pytest.raises(error) as caught:  # PatchTST has every parameter of the table
        check_parameters(LightSAEPatchTSTForecaster(**{name: value}))
    message = str(caught.value)
    assert message.startswith(f"{name} must be {allowed}"), message
    kind = f" ({type(value).__name__})" if error is TypeError else ""
    assert f", got {value!r}{kind}." in message, message


def test_accelerator_yes_is_refused_before_training_with_the_fix():
    with pytest.raises(TypeError) as caught:
        check_parameters(LightSAERLinearForecaster(accelerator="yes"))
    assert str(caught.value) == (
        "accelerator must be None or an accelerate.Accelerator (an object with prepare, device, "
        "num_processes, process_index, wait_for_everyone) (data-parallel training; None trains "
        "in this process), got 'yes' (str). Create one with accelerate.Accelerator() in a script "
        "started by `accelerate launch`, or pass accelerator=None."
    )


@pytest.mark.parametrize(
    ("name", "value", "ending"),
    [
        ("embedding", "lightSAE", "got 'lightSAE'. Did you mean 'lightsae'?"),
        ("adapt", "Gates", "got 'Gates'. Did you mean 'gates'?"),
        ("interval_method", "bootstrap", "got 'bootstrap'."),  # nothing close: no guess
        ("quantile_levels", (0.1, 0.9), f"E.g. quantile_levels={DEFAULT_QUANTILE_LEVELS}."),
    ],
)
def test_the_message_ends_with_a_suggestion_where_one_helps(name, value, ending):
    with pytest.raises(ValueError) as caught:
        check_parameters(LightSAEPatchTSTForecaster(**{name: value}))
    assert str(caught.value).endswith(ending), str(caught.value)


@pytest.mark.parametrize("name", list(FORECASTERS))
def test_defaults_and_test_parameters_pass(name):
    cls = FORECASTERS[name]
    check_parameters(cls())
    for params in cls.get_test_params():
        check_parameters(cls(**params))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pred_len", None),
        ("validation_size", np.int64(5)),
        ("validation_size", 0),
        ("lr", 1),
        ("quantile_levels", [0.05, 0.5, 0.95]),
        ("quantile_levels", np.array([0.25, 0.5, 0.75])),
        ("calibration_size", np.int32(200)),
        ("gate_penalty", "entropy"),
        ("device", torch.device("cpu")),
        ("device", "cuda:1"),  # a name is checked, not the hardware
        ("random_state", np.random.default_rng(0)),
        ("random_state", np.random.RandomState(0)),
        ("random_state", [1, 2]),
        ("accelerator", SimpleNamespace(**dict.fromkeys(ACCELERATOR_ATTRIBUTES))),
        ("scale", np.bool_(False)),
        ("interval_step_size", np.float32(0.01)),
    ],
)
def test_good_values_of_every_allowed_kind_pass(name, value):
    check_parameters(LightSAERLinearForecaster(**{name: value}))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"embedding": "shared", "pooled_bias": True},
            r"^pooled_bias=True mixes .*, but embedding='shared' has none; pass "
            r"embedding='lightsae' or pooled_bias=False\.$",
        ),
        (
            {"embedding": "sae", "gate_penalty": "balance"},
            r"^gate_penalty='balance' regularises .*embedding='sae' has none; .*gate_penalty=None",
        ),
        (
            {"d_model": 100, "n_heads": 8},
            r"^d_model=100 must be divisible by n_heads=8 .*; pass e\.g\. n_heads=5, or "
            r"d_model=104\.$",
        ),
        (
            {"seq_len": 12, "patch_len": 16},
            r"^patch_len=16 is longer than the lookback seq_len=12; pass patch_len <= 12, or "
            r"seq_len >= 16\.$",
        ),
        (
            {"interval_method": "adaptive", "interval_step_size": (0.001, 0.01)},
            r"^interval_step_size=\(0\.001, 0\.01\) gives several steps, which only "
            r"interval_method='tracking' mixes, but interval_method='adaptive'; pass one step, "
            r"or interval_method='tracking'\.$",
        ),
    ],
)
def test_rules_between_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        check_parameters(LightSAEPatchTSTForecaster(**params))


class AcceleratorStandIn:
    """Has the interface the accelerator parameter checks, and nothing else."""

    prepare = device = num_processes = process_index = wait_for_everyone = None


def test_compile_with_an_accelerator_is_refused_naming_accelerates_own_option():
    check_parameters(LightSAERLinearForecaster(accelerator=AcceleratorStandIn()))
    forecaster = LightSAERLinearForecaster(compile=True, accelerator=AcceleratorStandIn())
    fix = r"Accelerator\(dynamo_backend='inductor'\)"
    with pytest.raises(ValueError, match=rf"^compile=True .*{fix}"):
        check_parameters(forecaster)


def test_several_step_sizes_pass_for_tracking_and_empty_or_out_of_range_ones_do_not():
    check_parameters(
        LightSAERLinearForecaster(interval_method="tracking", interval_step_size=[0.001, 0.01])
    )
    with pytest.raises(TypeError, match=r"^interval_step_size must be .*, got \(\) \(tuple\)"):
        check_parameters(LightSAERLinearForecaster(interval_step_size=()))
    with pytest.raises(ValueError, match=r"got \(0\.001, nan\)\. E\.g\. 0\.005 for 'adaptive'"):
        check_parameters(
            LightSAERLinearForecaster(
                interval_method="tracking", interval_step_size=(0.001, np.nan)
            )
        )


def test_a_real_accelerator_has_the_interface_checked():
    accelerate = pytest.importorskip("accelerate")
    check_parameters(LightSAERLinearForecaster(accelerator=accelerate.Accelerator(cpu=True)))


def test_a_parameter_of_ones_own_backbone_is_left_to_it():
    forecaster = LightSAERLinearForecaster()
    forecaster.get_params = lambda deep=False: {"n_experts": "many", "seq_len": 96}
    check_parameters(forecaster)


def test_fit_refuses_a_bad_parameter_before_any_training():
    y = pd.DataFrame({"a": np.arange(40.0)})
    with pytest.raises(TypeError, match=r"^accelerator must be None or an accelerate"):
        LightSAERLinearForecaster(seq_len=4, pred_len=2, accelerator="yes").fit(y)
