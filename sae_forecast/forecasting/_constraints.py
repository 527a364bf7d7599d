"""The kinds of values a forecaster parameter allows: one class per kind.

Each constraint says in words what it allows (:meth:`Constraint.allowed`) and raises, from
:meth:`Constraint.check`, a ``TypeError`` (wrong type) or ``ValueError`` (out of range) that
names the parameter, the value passed and what to pass instead. The table of every
forecaster parameter is in :mod:`sae_forecast.forecasting._parameters`.
"""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np
import torch

__all__ = [
    "ACCELERATOR_ATTRIBUTES",
    "AcceleratorLike",
    "Boolean",
    "Choice",
    "Constraint",
    "Device",
    "Integer",
    "Real",
    "is_int",
    "is_real",
]

# What training uses of an ``accelerate.Accelerator``: checked by name, so that accelerate
# need not be installed to check the parameters.
ACCELERATOR_ATTRIBUTES = (
    "prepare",
    "device",
    "num_processes",
    "process_index",
    "wait_for_everyone",
)


def is_int(value) -> bool:
    """Whether ``value`` is an int (Python or numpy), not a bool.

    Examples
    --------
    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """Whether ``value`` is a real number (int or float, Python or numpy), not a bool.

    Examples
    --------
    >>> is_real(0.5), is_real(2), is_real(False), is_real("0.5")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class Constraint:
    """The values one parameter allows; :meth:`check` raises when a value is not one of them.

    Parameters
    ----------
    meaning : str, default=""
        What the parameter is, in a few words, for the messages.
    none : bool, default=False
        Whether ``None`` is allowed too.

    Examples
    --------
    >>> Integer(minimum=1, meaning="windows per batch").check("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be an int >= 1 (windows per batch), got 0.
    """

    def __init__(self, *, meaning: str = "", none: bool = False) -> None:
        self.meaning = meaning
        self.none = none

    def describe(self) -> str:
        """The allowed values in words, e.g. ``"an int >= 1"``."""
        raise NotImplementedError

    def type_ok(self, value) -> bool:
        """Whether ``value`` has an allowed type (``None`` is handled by :meth:`check`)."""
        return True

    def value_ok(self, value) -> bool:
        """Whether ``value``, of an allowed type, is in range."""
        return True

    def hint(self, value) -> str:
        """A sentence appended to the message (with a leading space), e.g. the closest name."""
        return ""

    def allowed(self) -> str:
        """The allowed values and the meaning, as the messages say them."""
        text = f"None or {self.describe()}" if self.none else self.describe()
        return f"{text} ({self.meaning})" if self.meaning else text

    def check(self, name: str, value) -> None:
        """Raise a ``TypeError`` or ``ValueError`` naming ``name``, ``value`` and the fix."""
        if value is None and self.none:
            return
        if not self.type_ok(value):
            raise TypeError(
                f"{name} must be {self.allowed()}, got {value!r} ({type(value).__name__})."
                f"{self.hint(value)}"
            )
        if not self.value_ok(value):
            raise ValueError(f"{name} must be {self.allowed()}, got {value!r}.{self.hint(value)}")


class Integer(Constraint):
    """An int (not a bool) at least ``minimum``.

    Examples
    --------
    >>> Integer(minimum=0).check("verbose", 2)
    """

    def __init__(self, *, minimum: int, meaning: str = "", none: bool = False) -> None:
        super().__init__(meaning=meaning, none=none)
        self.minimum = minimum

    def describe(self) -> str:
        return f"an int >= {self.minimum}"

    def type_ok(self, value) -> bool:
        return is_int(value)

    def value_ok(self, value) -> bool:
        return value >= self.minimum


class Real(Constraint):
    """A finite real number (not a bool) in the interval ``low`` .. ``high``.

    Examples
    --------
    >>> Real(low=0.0, high=1.0, high_open=True).check("dropout", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: dropout must be a float in [0, 1), got 1.0.
    """

    def __init__(
        self,
        *,
        low: float,
        high: float = math.inf,
        low_open: bool = False,
        high_open: bool = False,
        meaning: str = "",
        none: bool = False,
    ) -> None:
        super().__init__(meaning=meaning, none=none)
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open

    def describe(self) -> str:
        if self.high == math.inf:
            return f"a finite float {'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"a float in {left}{self.low:g}, {self.high:g}{right}"

    def type_ok(self, value) -> bool:
        return is_real(value)

    def value_ok(self, value) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return math.isfinite(value) and above and below  # NaN fails both


class Boolean(Constraint):
    """``True`` or ``False`` (a Python or numpy bool).

    Examples
    --------
    >>> Boolean().check("scale", "yes")
    Traceback (most recent call last):
    ...
    TypeError: scale must be True or False, got 'yes' (str).
    """

    def describe(self) -> str:
        return "True or False"

    def type_ok(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))


class Choice(Constraint):
    """One of a few names; a near miss is answered with the closest name.

    Examples
    --------
    >>> Choice(("gelu", "relu")).check("activation", "Gelu")
    Traceback (most recent call last):
    ...
    ValueError: activation must be one of ['gelu', 'relu'], got 'Gelu'. Did you mean 'gelu'?
    """

    def __init__(self, options, *, meaning: str = "", none: bool = False) -> None:
        super().__init__(meaning=meaning, none=none)
        self.options = tuple(options)

    def describe(self) -> str:
        return f"one of {list(self.options)}"

    def value_ok(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    def hint(self, value) -> str:
        close = difflib.get_close_matches(str(value).lower(), self.options, n=1, cutoff=0.6)
        return f" Did you mean {close[0]!r}?" if close else ""

    def type_ok(self, value) -> bool:
        return isinstance(value, str)


class Device(Constraint):
    """A ``torch.device``, or a name torch reads as one (``"cpu"``, ``"cuda:1"``...).

    The device need not exist here: the name is checked, not the hardware.

    Examples
    --------
    >>> Device().check("device", "cuda:1")
    >>> Device().check("device", "gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch.device or its name, e.g. 'cpu', ..., got 'gpu'.
    """

    def describe(self) -> str:
        return "a torch.device or its name, e.g. 'cpu', 'cuda' or 'cuda:1'"

    def type_ok(self, value) -> bool:
        return isinstance(value, (str, torch.device))

    def value_ok(self, value) -> bool:
        try:
            torch.device(value)
        except (RuntimeError, ValueError):
            return False
        return True


class AcceleratorLike(Constraint):
    """None, or an object with the ``accelerate.Accelerator`` interface training uses.

    Examples
    --------
    >>> AcceleratorLike().check("accelerator", "yes")
    Traceback (most recent call last):
    ...
    TypeError: accelerator must be None or an accelerate.Accelerator ..., got 'yes' (str). ...
    """

    def __init__(self) -> None:
        super().__init__(meaning="data-parallel training; None trains in this process", none=True)

    def describe(self) -> str:
        return f"an accelerate.Accelerator (an object with {', '.join(ACCELERATOR_ATTRIBUTES)})"

    def type_ok(self, value) -> bool:
        return all(hasattr(value, attribute) for attribute in ACCELERATOR_ATTRIBUTES)

    def hint(self, value) -> str:
        return (
            " Create one with accelerate.Accelerator() in a script started by `accelerate "
            "launch`, or pass accelerator=None."
        )
