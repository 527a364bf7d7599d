"""Train a chosen part of a module: the optimiser sees only the parameters named by patterns."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

__all__ = ["TrainableMixin", "matches_any"]


def matches_any(name: str, patterns: Sequence[str]) -> bool:
    """Whether parameter ``name`` matches one of the glob ``patterns`` (case-sensitive).

    Examples
    --------
    >>> matches_any("embedding.gate_logits", ["embedding.gate_*"])
    True
    >>> matches_any("encoder.layers.0.ff_in.weight", ["embedding.*"])
    False
    """
    return any(fnmatchcase(name, pattern) for pattern in patterns)


class TrainableMixin:
    """Mixin for ``skorch.NeuralNet`` subclasses with a ``trainable`` attribute.

    ``trainable`` is ``None`` (train every parameter, skorch's behaviour) or a sequence of glob
    patterns over the module's parameter names (``module_.named_parameters()``). When it is set,
    the optimiser, gradient clipping and every other consumer of
    ``get_all_learnable_params`` see the matching parameters only, and the others are frozen
    (``requires_grad=False``), so they stay bitwise unchanged and cost no weight gradients.
    A normalisation layer whose parameters are all frozen also keeps its running statistics
    (it runs in eval mode while the rest trains): a frozen layer is frozen entirely.

    Examples
    --------
    >>> from skorch import NeuralNetRegressor
    >>> class PartNet(TrainableMixin, NeuralNetRegressor):
    ...     def __init__(self, *args, trainable=None, **kwargs):
    ...         super().__init__(*args, **kwargs)
    ...         self.trainable = trainable
    >>> import torch
    >>> net = PartNet(torch.nn.Linear(3, 1), trainable=["bias"]).initialize()
    >>> [name for name, _ in net.get_all_learnable_params()]
    ['bias']
    >>> net.module_.weight.requires_grad
    False
    """

    trainable: Sequence[str] | None

    def initialize_optimizer(self, *args, **kwargs):
        """Freeze the parameters outside ``trainable``, then build the optimiser."""
        self._freeze_untrained()
        return super().initialize_optimizer(*args, **kwargs)

    def get_all_learnable_params(self):
        """skorch's learnable parameters, only those matching ``trainable`` when it is set."""
        patterns = self.trainable
        for name, param in super().get_all_learnable_params():
            if patterns is None or matches_any(name, patterns):
                yield name, param

    def _set_training(self, training=True):
        # skorch's private mode switch, the only place after which skorch runs a training
        # step: pinned by test_frozen_normalisation_layers_keep_their_running_statistics and
        # the skorch bound in pyproject.toml.
        super()._set_training(training)
        if training:
            self._hold_frozen_statistics()

    def _hold_frozen_statistics(self) -> None:
        """Eval mode for normalisation layers whose parameters are all frozen."""
        if self.trainable is None:
            return
        for module in self.module_.modules():
            frozen = not any(p.requires_grad for p in module.parameters(recurse=False))
            if getattr(module, "running_mean", None) is not None and frozen:
                module.eval()  # no running-statistics update in a frozen normalisation

    def _freeze_untrained(self) -> None:
        patterns = self.trainable
        if patterns is None:
            return
        if isinstance(patterns, str):
            raise TypeError(
                f"trainable must be a list of name patterns or None, got the string {patterns!r};"
                f" write trainable=[{patterns!r}]."
            )
        named = list(self.module_.named_parameters())
        chosen = [matches_any(name, patterns) for name, _ in named]
        if not any(chosen):
            raise ValueError(
                f"trainable={list(patterns)} matches none of the module's parameters "
                f"{[name for name, _ in named]}; pass patterns of these names (globs such "
                "as 'embedding.*'), or trainable=None to train them all."
            )
        for (_, param), train in zip(named, chosen, strict=True):
            param.requires_grad_(train)
        self._hold_frozen_statistics()
