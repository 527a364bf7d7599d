"""skorch's ``compile=True`` for forecasting nets: a compiled forward beside a plain module."""

from __future__ import annotations

import warnings

import torch
from skorch.utils import to_tensor

__all__ = ["CompiledForwardMixin"]


class CompiledForwardMixin:
    """Mixin for ``skorch.NeuralNet`` subclasses: with ``compile=True``, batches run through
    the module's forward compiled by ``torch.compile``, and ``module_`` stays the plain module.

    skorch's own ``compile=True`` replaces ``module_`` by ``torch.compile``'s wrapper, whose
    state dict names every weight ``_orig_mod.<name>``: saved weights, ``pretrain``, gate
    analysis and ONNX export would all see other names. Here skorch's ``torch_compile`` hook
    keeps ``module_`` as it is and compiles its ``forward`` beside it (``torch.compile``
    settings from ``compile__<name>``, e.g. ``compile__mode="max-autotune"``);
    :meth:`infer` calls the compiled forward. Both share the same parameters.

    Compiling happens on the first batch of each new batch shape and mode (training,
    evaluation). Shapes are static unless ``compile__dynamic`` says otherwise: a fit meets
    few shapes (the batch, the last partial batch, one window when forecasting), and the
    seeded dropout's mask sizes did not trace symbolically (torch 2.13: dynamo's
    ``AsPythonConstantNotImplementedError`` on the second batch shape of iTransformer). The
    seeded dropout draws from a ``torch.Generator``, which dynamo cannot trace: every
    dropout with ``p > 0`` splits the graph (14 splits in iTransformer, 20 in PatchTST).

    If a training or evaluation step fails while the compiled forward is in use (no C++
    compiler, an operation the backend cannot lower), the step runs again eagerly with the
    same random draws (the generators of :meth:`random_generators` are rewound), a
    ``RuntimeWarning`` names the error, and the net stays eager. So a fit whose compiling
    fails on its first step trains the weights of ``compile=False``, bit for bit. An error
    that the eager step raises too is raised as it is.

    Examples
    --------
    >>> from skorch import NeuralNetRegressor
    >>> class CompiledNet(CompiledForwardMixin, NeuralNetRegressor):
    ...     pass
    >>> net = CompiledNet(torch.nn.Linear, module__in_features=2, module__out_features=1)
    >>> net.compile
    False
    """

    def torch_compile(self, module, name):
        """skorch's hook, called on every module it initialises: for ``"module"`` with
        ``compile=True``, compile its forward beside it; return every module unchanged."""
        if name == "module":
            self._compiled_forward = None
            if self.compile:
                options = {"dynamic": False, **self.get_params_for("compile")}
                self._compiled_forward = torch.compile(module.forward, **options)
        return module

    @property
    def compiled(self) -> bool:
        """Whether batches run through the compiled forward (False after a fallback)."""
        return getattr(self, "_compiled_forward", None) is not None

    def infer(self, x, **fit_params):
        """The module's output for ``x``: through the compiled forward when there is one."""
        if not self.compiled:
            return super().infer(x, **fit_params)
        x = to_tensor(x, device=self.device)
        if isinstance(x, dict):
            return self._compiled_forward(**x, **fit_params)
        return self._compiled_forward(x, **fit_params)

    def random_generators(self) -> list[torch.Generator]:
        """The generators a step draws from, rewound before an eager retry (none here)."""
        return []

    def train_step(self, batch, **fit_params):
        """skorch's training step, retried eagerly if the compiled forward fails."""
        return self._eager_if_compiled_fails(super().train_step, batch, **fit_params)

    def evaluation_step(self, batch, training=False):
        """skorch's evaluation step, retried eagerly if the compiled forward fails."""
        return self._eager_if_compiled_fails(super().evaluation_step, batch, training=training)

    def _eager_if_compiled_fails(self, step, *args, **kwargs):
        if not self.compiled:
            return step(*args, **kwargs)
        generators = self.random_generators()
        states = [generator.get_state() for generator in generators]
        try:
            return step(*args, **kwargs)
        except Exception as error:  # any failure: the eager retry decides
            self._compiled_forward = None
            for generator, state in zip(generators, states, strict=True):
                generator.set_state(state)
            result = step(*args, **kwargs)  # an error of the model itself is raised here
            warnings.warn(
                f"torch.compile failed ({_summary(error)}); this net "
                "trains and predicts eagerly from now on. Pass compile=False to skip "
                "compiling, or install a C++ compiler if the error names one.",
                RuntimeWarning,
                stacklevel=3,
            )
            return result

    def __getstate__(self):
        # a compiled function does not pickle; it is compiled again on unpickling
        state = super().__getstate__()
        state.pop("_compiled_forward", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        module = self.__dict__.get("module_")
        if isinstance(module, torch.nn.Module):
            self.torch_compile(module, "module")


def _summary(error: BaseException) -> str:
    """The innermost cause of ``error`` (the backend's own error, not torch's wrapper of
    it): its type and the first line of its message."""
    while True:
        inner = getattr(error, "inner_exception", None) or error.__cause__
        if inner is None:
            break
        error = inner
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {first_line}"
