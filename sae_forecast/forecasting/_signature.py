"""Estimator signatures and docstrings built from the backbone: each hyperparameter once.

A forecaster's parameters are the base's common ones (``seq_len``, ``rank``, ``lr``...) plus
the keyword parameters of its :mod:`sae_forecast.nn` backbone (``d_model``, ``dropout``...).
The backbone's signature is the single source of those parameters, their defaults and their
documentation: :func:`forecaster_init` writes the estimator's ``__init__`` (an ordinary
keyword-only signature that sktime, sklearn's ``clone`` and ``help`` read) and
:func:`parameter_docs` copies the backbone's numpydoc entries into the estimator's docstring.
"""

from __future__ import annotations

import inspect
import re
import textwrap

__all__ = ["backbone_parameters", "forecaster_init", "parameter_docs"]

# Backbone arguments the forecaster sets itself (from data or from its common parameters).
SET_BY_BASE = frozenset(
    {"seq_len", "pred_len", "n_channels", "embedding", "rank", "pool_size", "pooled_bias"}
    | {"precision"}
)


def backbone_parameters(backbone: type) -> list[inspect.Parameter]:
    """The backbone's own hyperparameters: keyword arguments with defaults, in order.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> [p.name for p in backbone_parameters(RLinear)]
    ['dropout', 'revin', 'revin_affine']
    """
    return [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(backbone).parameters.values()
        if p.name not in SET_BY_BASE and p.default is not inspect.Parameter.empty
    ]


def forecaster_init(base_init, backbone: type, defaults: dict):
    """An ``__init__`` taking the base's parameters and the backbone's, keyword-only.

    ``defaults`` overrides base defaults (e.g. a backbone's usual ``lr``). The backbone's
    parameters are stored as attributes of the same name (sktime's convention); the rest go
    to ``base_init``.
    """
    common = [
        p.replace(default=defaults.get(p.name, p.default))
        for p in list(inspect.signature(base_init).parameters.values())[1:]
    ]
    own = backbone_parameters(backbone)
    own_defaults = {p.name: p.default for p in own}

    def __init__(self, **params):
        for name, default in own_defaults.items():
            setattr(self, name, params.pop(name, default))
        base_init(self, **{p.name: params.pop(p.name, p.default) for p in common}, **params)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_parameter, *common, *own])
    return __init__


def parameter_docs(owner: type, names) -> str:
    """The numpydoc ``Parameters`` entries of ``owner``'s docstring for ``names``, in order.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> print(parameter_docs(RLinear, ["dropout"]))
    dropout : float, default=0.0
        Dropout on the normalised input.
    """
    doc = inspect.getdoc(owner) or ""
    section = doc.split("Parameters\n----------\n", 1)[-1]
    section = re.split(r"\n\n[A-Z][a-z]+\n-+\n", section, maxsplit=1)[0]
    entries = re.split(r"\n(?=\S)", section)
    found = {entry.split(" :", 1)[0].strip(): entry.rstrip() for entry in entries}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"{owner.__name__}'s docstring does not document {missing}.")
    return "\n".join(found[name] for name in names)


def fill_parameters(cls, text: str) -> None:
    """Replace the ``{parameters}`` line of ``cls``'s docstring by ``text``, indented alike."""
    placeholder = re.search(r"^( *)\{parameters\}$", cls.__doc__ or "", flags=re.MULTILINE)
    if placeholder:
        cls.__doc__ = cls.__doc__.replace(
            placeholder[0], textwrap.indent(text, placeholder[1]).rstrip("\n")
        )
