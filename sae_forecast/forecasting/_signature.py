"""Estimator signatures: each hyperparameter declared where a reader and a type checker see it.

A forecaster's parameters are the base's common ones (``seq_len``, ``rank``, ``lr``...) plus
the keyword parameters of its :mod:`sae_forecast.nn` backbone (``d_model``, ``dropout``...).

Two views of them exist, and tests keep them equal:

- the **source**: the base's ``__init__`` and the backbone's signature (defaults and numpydoc);
  :func:`forecaster_init` writes the estimator's ``__init__`` from them (an ordinary
  keyword-only signature that sktime, sklearn's ``clone`` and ``help`` read) and
  :func:`parameter_docs` copies the backbone's numpydoc entries into the estimator's docstring;
- the **declaration** a reader, an IDE and a type checker see: ``CommonParameters`` (in
  ``_common.py``) and,
  in each estimator's file, its backbone's parameters as annotated class attributes.
  :class:`KeywordParameters` marks them with ``typing.dataclass_transform``, so pyright
  (Pylance) and mypy show ``LightSAEPatchTSTForecaster(*, seq_len: int = 96, ...)``.
  :func:`declared_parameters` reads that view and :func:`parameter_differences` compares it
  with the source.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10
    from typing_extensions import dataclass_transform

__all__ = [
    "KeywordParameters",
    "backbone_parameters",
    "declared_parameters",
    "forecaster_init",
    "parameter_differences",
    "parameter_docs",
    "source_parameters",
]


@dataclass_transform(kw_only_default=True)
class KeywordParameters:
    """Marks annotated class attributes as keyword-only constructor parameters.

    For readers and static tools only: type checkers synthesise the ``__init__`` of every
    subclass from the annotated class attributes of the subclasses in its MRO (base classes
    first, a redeclared attribute keeps its place and takes the new default), as for a
    keyword-only dataclass. At run time the forecaster base writes ``__init__`` from the
    source (:func:`forecaster_init`); tests keep both equal (:func:`parameter_differences`).

    Examples
    --------
    >>> class Settings(KeywordParameters):
    ...     width: int = 8
    >>> [(p.name, p.annotation, p.default) for p in declared_parameters(Settings)]
    [('width', 'int', 8)]
    """


# Backbone arguments the forecaster sets itself (from data or from its common parameters).
SET_BY_BASE = frozenset(
    {"seq_len", "pred_len", "n_channels", "embedding", "rank", "pool_size", "pooled_bias"}
    | {"precision", "n_future_covariates", "n_past_covariates"}
)


def backbone_parameters(backbone: type) -> list[inspect.Parameter]:
    """The backbone's own hyperparameters: keyword arguments with defaults, in order.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> [p.name for p in backbone_parameters(RLinear)]
    ['dropout', 'revin', 'revin_affine', 'covariate_gates']
    """
    return [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(backbone).parameters.values()
        if p.name not in SET_BY_BASE and p.default is not inspect.Parameter.empty
    ]


def source_parameters(base_init, backbone: type, defaults: dict) -> list[inspect.Parameter]:
    """The parameters of a forecaster, from their source: ``base_init``'s, then the backbone's.

    ``defaults`` overrides base defaults (e.g. a backbone's usual ``lr``).

    Examples
    --------
    >>> from sae_forecast.forecasting import LightSAEForecaster
    >>> from sae_forecast.nn import RLinear
    >>> parameters = source_parameters(LightSAEForecaster.__init__, RLinear, {"lr": 5e-3})
    >>> [(p.name, p.default) for p in parameters if p.name in ("lr", "dropout")]
    [('lr', 0.005), ('dropout', 0.0)]
    """
    common = [
        p.replace(default=defaults.get(p.name, p.default))
        for p in list(inspect.signature(base_init).parameters.values())[1:]
    ]
    return common + backbone_parameters(backbone)


def forecaster_init(base_init, backbone: type, defaults: dict):
    """An ``__init__`` taking the base's parameters and the backbone's, keyword-only.

    ``defaults`` overrides base defaults (e.g. a backbone's usual ``lr``). The backbone's
    parameters are stored as attributes of the same name (sktime's convention); the rest go
    to ``base_init``.
    """
    parameters = source_parameters(base_init, backbone, defaults)
    own = {p.name: p.default for p in backbone_parameters(backbone)}
    common = {p.name: p.default for p in parameters if p.name not in own}

    def __init__(self, **params):
        for name, default in own.items():
            setattr(self, name, params.pop(name, default))
        base_init(self, **{name: params.pop(name, common[name]) for name in common}, **params)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_parameter, *parameters])
    return __init__


def declared_parameters(cls: type) -> list[inspect.Parameter]:
    """The keyword parameters a type checker sees for ``cls`` (a :class:`KeywordParameters`).

    The annotated public class attributes of the :class:`KeywordParameters` classes in the
    MRO, base classes first; a redeclared attribute keeps its first place and takes the most
    derived default (the ``dataclass_transform`` rules).

    Examples
    --------
    >>> from sae_forecast.forecasting import LightSAERLinearForecaster
    >>> [p.name for p in declared_parameters(LightSAERLinearForecaster)][-4:]
    ['dropout', 'revin', 'revin_affine', 'covariate_gates']
    """
    found: dict[str, inspect.Parameter] = {}
    for owner in reversed(cls.__mro__):
        if not issubclass(owner, KeywordParameters) or owner is KeywordParameters:
            continue
        for name, annotation in inspect.get_annotations(owner).items():
            if not name.startswith("_"):
                found[name] = inspect.Parameter(
                    name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=owner.__dict__.get(name, inspect.Parameter.empty),
                    annotation=annotation,
                )
    return list(found.values())


def parameter_differences(
    declared: list[inspect.Parameter], source: list[inspect.Parameter]
) -> list[str]:
    """How the ``declared`` parameters differ from the ``source`` ones: names, order, defaults,
    and annotations where the source has one. An empty list when they agree.

    Examples
    --------
    >>> from inspect import Parameter
    >>> source = [Parameter("lr", Parameter.KEYWORD_ONLY, default=0.001)]
    >>> parameter_differences([source[0].replace(default=0.01)], source)
    ['lr: declared default 0.01, but the source says 0.001; declare lr = 0.001.']
    """
    names, source_names = [p.name for p in declared], [p.name for p in source]
    if names != source_names:
        return [
            f"declared parameters {names} differ from the source's {source_names} (missing: "
            f"{sorted(set(source_names) - set(names))}, unknown: "
            f"{sorted(set(names) - set(source_names))}); declare the source's, in its order."
        ]
    differences = []
    for mine, theirs in zip(declared, source, strict=True):
        if mine.default != theirs.default or type(mine.default) is not type(theirs.default):
            differences.append(
                f"{mine.name}: declared default {mine.default!r}, but the source says "
                f"{theirs.default!r}; declare {mine.name} = {theirs.default!r}."
            )
        if theirs.annotation is not inspect.Parameter.empty and str(mine.annotation) != str(
            theirs.annotation
        ):
            differences.append(
                f"{mine.name}: declared type {mine.annotation}, but the source says "
                f"{theirs.annotation}; annotate {mine.name}: {theirs.annotation}."
            )
    return differences


def documented_parameters(owner: type) -> dict[str, str]:
    """The numpydoc ``Parameters`` entries of ``owner``'s docstring, by name, in order.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> list(documented_parameters(RLinear))[:3]
    ['seq_len', 'pred_len', 'n_channels']
    """
    doc = inspect.getdoc(owner) or ""
    if "Parameters\n----------\n" not in doc:
        return {}
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n[A-Z][a-z]+\n-+\n", section, maxsplit=1)[0]
    entries = re.split(r"\n(?=\S)", section)
    return {entry.split(" :", 1)[0].strip(): entry.rstrip() for entry in entries}


def parameter_docs(owner: type, names) -> str:
    """The numpydoc ``Parameters`` entries of ``owner``'s docstring for ``names``, in order.

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> print(parameter_docs(RLinear, ["dropout"]))
    dropout : float, default=0.0
        Dropout on the normalised input.
    """
    found = documented_parameters(owner)
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
