"""One table of every forecaster parameter and what it allows, checked before any training.

:data:`PARAMETERS` maps each parameter of the base and of every backbone to a constraint (see
:mod:`sae_forecast.forecasting._constraints`); :data:`RELATIONS` are the rules that tie two
parameters together. :func:`check_parameters` applies both to a forecaster and raises an
error that names the parameter, the value given and the fix. Constraints that depend on the
data (``seq_len`` against the rows of ``y``) stay where the data is known.
"""

from __future__ import annotations

import numpy as np

from sae_forecast.forecasting._constraints import (
    AcceleratorLike,
    Boolean,
    Choice,
    Constraint,
    Device,
    Integer,
    Real,
    is_int,
    is_real,
)
from sae_forecast.forecasting._fleet import ADAPTATIONS
from sae_forecast.forecasting._intervals import INTERVAL_METHODS
from sae_forecast.nn import EMBEDDING_KINDS, PRECISIONS
from sae_forecast.nn.quantile import DEFAULT_QUANTILE_LEVELS, check_levels
from sae_forecast.nn.transformer import ACTIVATIONS

__all__ = [
    "PARAMETERS",
    "RELATIONS",
    "FutureCovariates",
    "QuantileLevels",
    "RandomState",
    "StepSize",
    "ValidationSize",
    "check_parameters",
]


class ValidationSize(Constraint):
    """A fraction of the windows in ``[0, 1)``, or a number of windows (an int >= 0).

    Examples
    --------
    >>> ValidationSize().check("validation_size", 0.25)
    >>> ValidationSize().check("validation_size", 12)
    """

    def allowed(self) -> str:
        return (
            "a fraction of the windows in [0, 1) or a number of windows (an int >= 0; 0 "
            "trains without early stopping)"
        )

    def type_ok(self, value) -> bool:
        return is_real(value)

    def value_ok(self, value) -> bool:
        return value >= 0 if is_int(value) else 0.0 <= value < 1.0  # NaN fails


class QuantileLevels(Constraint):
    """None, or at least two increasing levels in ``(0, 1)`` that include 0.5.

    Examples
    --------
    >>> QuantileLevels().check("quantile_levels", (0.1, 0.5, 0.9))
    >>> QuantileLevels().check("quantile_levels", (0.1, 0.9))
    Traceback (most recent call last):
    ...
    ValueError: quantile_levels must be None or at least two increasing levels ...
    """

    def __init__(self) -> None:
        super().__init__(meaning="the point forecast is their median", none=True)

    def describe(self) -> str:
        return "at least two increasing levels strictly between 0 and 1 that include 0.5"

    def type_ok(self, value) -> bool:
        return isinstance(value, (list, tuple, np.ndarray)) and all(
            is_real(level) for level in np.ravel(np.asarray(value, dtype=object))
        )

    def value_ok(self, value) -> bool:
        try:
            check_levels(value)
        except ValueError:
            return False
        return True

    def hint(self, value) -> str:
        return f" E.g. quantile_levels={DEFAULT_QUANTILE_LEVELS}."


class StepSize(Constraint):
    """None, a step in ``[0, 1]``, or a non-empty list or tuple of them (the steps whose
    trackers ``interval_method="tracking"`` mixes).

    Examples
    --------
    >>> StepSize().check("interval_step_size", (0.0002, 0.0005))
    >>> StepSize().check("interval_step_size", 2.0)
    Traceback (most recent call last):
    ...
    ValueError: interval_step_size must be None or a number in [0, 1], or a non-empty list ...
    """

    def __init__(self) -> None:
        super().__init__(
            meaning="how far one miss moves an interval; None: the method's", none=True
        )

    def describe(self) -> str:
        return (
            "a number in [0, 1], or a non-empty list or tuple of them (interval_method="
            "'tracking' mixes one tracker per step)"
        )

    def type_ok(self, value) -> bool:
        steps = value if isinstance(value, (list, tuple)) else [value]
        return len(steps) > 0 and all(is_real(step) for step in steps)

    def value_ok(self, value) -> bool:
        steps = value if isinstance(value, (list, tuple)) else [value]
        return all(0.0 <= step <= 1.0 for step in steps)  # NaN fails

    def hint(self, value) -> str:
        return " E.g. 0.005 for 'adaptive', (0.0002, 0.0005) for 'tracking'."


class RandomState(Constraint):
    """None, an int >= 0, a sequence of such ints, or a numpy ``RandomState``/``Generator``.

    Examples
    --------
    >>> RandomState().check("random_state", np.random.default_rng(0))
    >>> RandomState().check("random_state", -1)
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None or an int >= 0, a sequence of ints >= 0, ...
    """

    def __init__(self) -> None:
        super().__init__(meaning="the seed of initialisation, dropout and batch order", none=True)

    def describe(self) -> str:
        return "an int >= 0, a sequence of ints >= 0, or a numpy RandomState or Generator"

    def type_ok(self, value) -> bool:
        if isinstance(value, (np.random.RandomState, np.random.Generator)):
            return True
        seeds = value if isinstance(value, (list, tuple)) else [value]
        return len(seeds) > 0 and all(is_int(seed) for seed in seeds)

    def value_ok(self, value) -> bool:
        seeds = value if isinstance(value, (list, tuple)) else [value]
        return all(seed >= 0 for seed in seeds if is_int(seed))


class FutureCovariates(Constraint):
    """``"all"``, or a list or tuple of distinct column names of ``X``.

    Examples
    --------
    >>> FutureCovariates().check("future_covariates", ["load forecast"])
    >>> FutureCovariates().check("future_covariates", "load forecast")
    Traceback (most recent call last):
    ...
    ValueError: future_covariates must be "all" or a list of distinct column names of X ...
    """

    def __init__(self) -> None:
        super().__init__(meaning="the columns of X known ahead")

    def describe(self) -> str:
        return '"all" or a list of distinct column names of X'

    def type_ok(self, value) -> bool:
        return isinstance(value, (str, list, tuple))

    def value_ok(self, value) -> bool:
        if isinstance(value, str):
            return value == "all"
        return len(set(map(repr, value))) == len(value)

    def hint(self, value) -> str:
        if isinstance(value, str):
            return f" E.g. future_covariates=[{value!r}] for one column."
        return ""


_DROPOUT = Real(low=0.0, high=1.0, high_open=True, meaning="a probability")

# Every parameter of the base and of each backbone (a test fails on a missing one).
PARAMETERS: dict[str, Constraint] = {
    "seq_len": Integer(minimum=1, meaning="the lookback length"),
    "pred_len": Integer(minimum=1, meaning="steps forecast; None takes them from fh", none=True),
    "embedding": Choice(EMBEDDING_KINDS, meaning="the channel embedding"),
    "rank": Integer(minimum=1, meaning="rank of the channel-specific residuals"),
    "pool_size": Integer(minimum=1, meaning="pooled left factors of lightsae"),
    "pooled_bias": Boolean(),
    "max_epochs": Integer(minimum=1, meaning="the most epochs trained"),
    "batch_size": Integer(minimum=1, meaning="windows per batch"),
    "lr": Real(low=0.0, low_open=True, meaning="the initial learning rate, e.g. 1e-3"),
    "patience": Integer(minimum=1, meaning="epochs without improvement before early stopping"),
    "validation_size": ValidationSize(),
    "scale": Boolean(),
    "future_covariates": FutureCovariates(),
    "fine_tune_epochs": Integer(
        minimum=0, meaning="epochs trained by update(..., update_params=True)"
    ),
    "interval_method": Choice(INTERVAL_METHODS),
    "quantile_levels": QuantileLevels(),
    "calibration_size": Integer(
        minimum=1, meaning="rows whose scores calibrate; None: all", none=True
    ),
    "interval_step_size": StepSize(),
    "gate_penalty": Choice(
        ("balance", "entropy"), meaning="the regulariser of the LightSAE gates", none=True
    ),
    "gate_penalty_weight": Real(low=0.0, meaning="weight of the gate penalty"),
    "adapt": Choice(ADAPTATIONS, meaning="what fit trains after pretrain"),
    "device": Device(),
    "precision": Choice(PRECISIONS),
    "compile": Boolean(),
    "random_state": RandomState(),
    "verbose": Integer(minimum=0, meaning="0 silent, 1 a line per epoch, 2 adds a progress bar"),
    "accelerator": AcceleratorLike(),
    # the backbones' own parameters
    "dropout": _DROPOUT,
    "head_dropout": _DROPOUT,
    "revin": Boolean(),
    "revin_affine": Boolean(),
    "covariate_gates": Boolean(),
    "d_model": Integer(minimum=1, meaning="token width"),
    "n_heads": Integer(minimum=1, meaning="attention heads"),
    "d_ff": Integer(minimum=1, meaning="feed-forward width"),
    "n_layers": Integer(minimum=1, meaning="encoder layers"),
    "patch_len": Integer(minimum=1, meaning="patch length"),
    "stride": Integer(minimum=1, meaning="distance between patch starts"),
    "activation": Choice(ACTIVATIONS),
    "chunk_size": Integer(minimum=1, meaning="sequences encoded at once when training", none=True),
}


def _lightsae_only(params: dict) -> str | None:
    embedding = params.get("embedding", "lightsae")
    if embedding == "lightsae":
        return None
    if params.get("pooled_bias"):
        return (
            f"pooled_bias=True mixes each channel's bias with the LightSAE gates, but "
            f"embedding={embedding!r} has none; pass embedding='lightsae' or pooled_bias=False."
        )
    if params.get("gate_penalty") is not None:
        return (
            f"gate_penalty={params['gate_penalty']!r} regularises the LightSAE gates, but "
            f"embedding={embedding!r} has none; pass embedding='lightsae' or gate_penalty=None."
        )
    return None


def _heads_divide_width(params: dict) -> str | None:
    d_model, n_heads = params.get("d_model"), params.get("n_heads")
    if n_heads is None or d_model is None or d_model % n_heads == 0:
        return None
    fitting = max(h for h in range(1, n_heads + 1) if d_model % h == 0)
    return (
        f"d_model={d_model} must be divisible by n_heads={n_heads} (each head reads "
        f"d_model / n_heads features); pass e.g. n_heads={fitting}, or d_model="
        f"{(d_model // n_heads + 1) * n_heads}."
    )


def _patch_fits_lookback(params: dict) -> str | None:
    patch_len, seq_len = params.get("patch_len"), params.get("seq_len")
    if patch_len is None or patch_len <= seq_len:
        return None
    return (
        f"patch_len={patch_len} is longer than the lookback seq_len={seq_len}; pass "
        f"patch_len <= {seq_len}, or seq_len >= {patch_len}."
    )


def _several_steps_track(params: dict) -> str | None:
    steps, method = params.get("interval_step_size"), params.get("interval_method", "tracking")
    if not isinstance(steps, (list, tuple)) or method == "tracking":
        return None
    return (
        f"interval_step_size={steps!r} gives several steps, which only interval_method="
        f"'tracking' mixes, but interval_method={method!r}; pass one step, or "
        "interval_method='tracking'."
    )


def _compile_in_this_process(params: dict) -> str | None:
    if not params.get("compile") or params.get("accelerator") is None:
        return None
    return (
        "compile=True compiles the network in this process, but accelerator wraps it for "
        "data-parallel training (the compiled forward would bypass the wrapper's gradient "
        "sync); pass compile=False and let accelerate compile, e.g. "
        "Accelerator(dynamo_backend='inductor'), or accelerator=None."
    )


# Rules between parameters: each returns the message of a broken rule, or None.
RELATIONS = (
    _lightsae_only,
    _heads_divide_width,
    _patch_fits_lookback,
    _several_steps_track,
    _compile_in_this_process,
)


def check_parameters(forecaster) -> None:
    """Raise a ``TypeError`` or ``ValueError`` naming the first parameter that is not allowed.

    Every parameter of ``forecaster`` with an entry in :data:`PARAMETERS` is checked
    against it, then the rules between parameters (:data:`RELATIONS`). Parameters
    without an entry (a backbone of one's own) are left to that backbone.

    Parameters
    ----------
    forecaster : LightSAEForecaster
        The forecaster whose ``get_params(deep=False)`` are checked.

    Raises
    ------
    TypeError
        For a value of the wrong type (e.g. ``accelerator="yes"``, ``seq_len=96.0``).
    ValueError
        For a value out of its range or choices, or a broken rule between two parameters.

    Examples
    --------
    >>> from sae_forecast import LightSAEPatchTSTForecaster
    >>> check_parameters(LightSAEPatchTSTForecaster())
    >>> check_parameters(LightSAEPatchTSTForecaster(d_model=100, n_heads=8))
    Traceback (most recent call last):
    ...
    ValueError: d_model=100 must be divisible by n_heads=8 ...; pass e.g. n_heads=5, or d_model=104.
    """
    params = forecaster.get_params(deep=False)
    for name, value in params.items():
        if name in PARAMETERS:
            PARAMETERS[name].check(name, value)
    for relation in RELATIONS:
        message = relation(params)
        if message is not None:
            raise ValueError(message)
