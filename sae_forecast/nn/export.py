"""Export a backbone to ONNX: merged channel weights, RevIN and the model in one fp32 graph."""

from __future__ import annotations

import copy
import importlib.util
import os
import warnings

import torch
from torch import Tensor, nn

from sae_forecast.nn.embeddings import ChannelEmbedding, IndependentEmbedding, SharedEmbedding
from sae_forecast.nn.merge import merge_embeddings

__all__ = [
    "ONNX_COVARIATES",
    "ONNX_INPUT",
    "ONNX_OPSET",
    "ONNX_OUTPUT",
    "deployable",
    "export_onnx",
]

ONNX_OPSET = 18  # onnxruntime >= 1.14 runs it; the dynamo exporter's tested opset
ONNX_INPUT = "window"
ONNX_COVARIATES = "covariates"
ONNX_OUTPUT = "forecast"


class _PointForecast(nn.Module):
    """The point forecast of a backbone: its output, or the median of a quantile backbone."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, covariates: Tensor | None = None) -> Tensor:
        out = self.model(x, covariates)  # (B, H, N), or (median, quantiles) for quantiles
        return out[0] if isinstance(out, tuple) else out


def deployable(model: nn.Module) -> nn.Module:
    """A CPU, eval-mode copy of ``model`` with every trained SAE-family embedding merged.

    ``lightsae``, ``sae`` and ``sae_lowrank`` embeddings become plain per-channel weights
    (:func:`~sae_forecast.nn.merge_embeddings`): no gates, pool or low-rank factors remain.
    A ``shared`` embedding is already plain and is kept as it is (one weight, not ``N``
    copies).

    Examples
    --------
    >>> from sae_forecast.nn import RLinear
    >>> model = RLinear(16, 4, n_channels=3, embedding="lightsae", rank=2, pool_size=2)
    >>> type(deployable(model).embedding).__name__
    'IndependentEmbedding'
    """
    plain = (SharedEmbedding, IndependentEmbedding)
    merge = any(
        isinstance(sub, ChannelEmbedding) and not isinstance(sub, plain) for sub in model.modules()
    )
    copied = merge_embeddings(model) if merge else copy.deepcopy(model)
    return copied.to("cpu").eval()


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``model``'s point forecast as an ONNX graph (opset 18) with a dynamic batch axis.

    The graph maps the input ``window`` ``(batch, seq_len, n_channels)`` (float32) to
    ``forecast`` ``(batch, pred_len, n_channels)``: RevIN, the merged embedding (see
    :func:`deployable`) and the body. A model with covariates takes a second input,
    ``covariates`` ``(batch, seq_len + pred_len, n_future + n_past)`` (see
    :meth:`Backbone.forward <sae_forecast.nn.Backbone.forward>`). It is traced by torch's
    dynamo exporter (``torch.onnx.export(..., dynamo=True)``); the legacy TorchScript exporter
    cannot export PatchTST's patching (``Tensor.unfold``) with a dynamic batch. The weights
    are stored in the file (no external data).

    Parameters
    ----------
    model : torch.nn.Module
        A backbone of :mod:`sae_forecast.nn` in fp32 precision, or its quantile variant (the
        median is exported).
    path : str or os.PathLike
        The ``.onnx`` file to write.
    metadata : dict of str to str or None, default=None
        Written to the file's ``metadata_props``.

    Raises
    ------
    NotImplementedError
        For a model with ``precision="bf16"``.
    ImportError
        Without onnx or onnxscript (the ``onnx`` extra).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sae_forecast.nn import RLinear
    >>> model = RLinear(16, 4, n_channels=3, embedding="lightsae", rank=2, pool_size=2)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rlinear.onnx"
    >>> export_onnx(model, path, metadata={"note": "example"})
    >>> path.stat().st_size > 0
    True
    """
    _check_exportable(model)
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"ONNX export needs {' and '.join(missing)} (torch's dynamo exporter writes the "
            "graph with them): pip install 'sae-forecast[onnx]'."
        )
    batch = torch.export.Dim("batch")
    inputs, names, shapes = _example_inputs(model, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(
            _PointForecast(deployable(model)),
            inputs,
            dynamo=True,
            input_names=names,
            output_names=[ONNX_OUTPUT],
            dynamic_shapes=shapes,
            opset_version=ONNX_OPSET,
            external_data=False,
            verbose=False,
        )
    program.model.metadata_props.update(metadata or {})
    program.save(os.fspath(path), external_data=False)


def _example_inputs(model: nn.Module, batch) -> tuple[tuple, list[str], dict]:
    """Example inputs (batch 2: the exporter specialises a batch of 1), names, dynamic axes."""
    inputs = (torch.zeros(2, model.seq_len, model.n_channels),)  # (B, L, N)
    names, shapes = [ONNX_INPUT], {"x": {0: batch}}
    if getattr(model, "n_covariates", 0):
        rows = model.seq_len + model.pred_len
        inputs += (torch.zeros(2, rows, model.n_covariates),)  # (B, L + H, C)
        names.append(ONNX_COVARIATES)
        shapes["covariates"] = {0: batch}
    return inputs, names, shapes


def _check_exportable(model: nn.Module) -> None:
    if getattr(model, "precision", "fp32") != "fp32":
        raise NotImplementedError(
            f"{type(model).__name__} runs its body in precision={model.precision!r}; ONNX "
            "export writes fp32 graphs only, which would not reproduce its forecasts. Fit "
            "with precision='fp32' to export."
        )
