"""What an exported forecaster's ONNX file says about itself (plain Python and numpy).

``to_onnx`` writes a :class:`ForecastMetadata` into the file's ``metadata_props`` (string
keys and values, prefixed ``sae_forecast.``); :class:`~sae_forecast.deploy.OnnxPredictor`
reads it back, so a runtime needs the file and the raw recent rows, nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FILL_RULE", "FORMAT_VERSION", "PREFIX", "ForecastMetadata"]

PREFIX = "sae_forecast."
FORMAT_VERSION = "1"
# The gap rule of sae_forecast.data.fill_gaps: after scaling, a gap takes its channel's last
# observed value; a gap before any observation takes 0 (the training mean).
FILL_RULE = "forward"


@dataclass(frozen=True)
class ForecastMetadata:
    """The facts a runtime needs beside the graph: window shape, channels, scaler, gap rule.

    Parameters
    ----------
    seq_len : int
        Rows the graph reads (the lookback).
    pred_len : int
        Rows it forecasts (the horizon).
    columns : tuple
        Channel names, in the graph's channel order (str or int).
    mean : ndarray of shape (n_channels,)
        The forecaster's scaler: per-channel mean of the training span.
    std : ndarray of shape (n_channels,)
        Per-channel standard deviation of the training span (1 for constant channels).
    fill : str, default=FILL_RULE
        How gaps (NaN) in the rows are filled before the graph runs: ``"forward"``, the rule
        of ``sae_forecast.data.fill_gaps`` (a gap takes its channel's last observed value, a
        gap before any observation the training mean).
    forecaster : str, default=""
        The exporting forecaster's class name (informative).
    embedding : str, default=""
        Its channel embedding before merging (informative).
    input_name : str, default="window"
        The graph's input: scaled, gap-filled rows ``(batch, seq_len, n_channels)`` float32.
    output_name : str, default="forecast"
        The graph's output: ``(batch, pred_len, n_channels)`` in scaled units.
    covariate_columns : tuple, default=()
        The covariates (``X``) the graph reads, in its order: the future-known ones first.
    n_future_covariates : int, default=0
        How many of them are known over the horizon.
    covariate_mean, covariate_std : ndarray of shape (n_covariates,), default=empty
        The covariates' scaler.
    covariates_name : str, default="covariates"
        The graph's covariate input ``(batch, seq_len + pred_len, n_covariates)``, scaled and
        gap-filled (only with covariates).

    Examples
    --------
    >>> import numpy as np
    >>> meta = ForecastMetadata(4, 2, ("a", "b"), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    >>> ForecastMetadata.from_props(meta.to_props()) == meta
    True
    >>> meta.n_channels
    2
    """

    seq_len: int
    pred_len: int
    columns: tuple
    mean: np.ndarray
    std: np.ndarray
    fill: str = FILL_RULE
    forecaster: str = ""
    embedding: str = ""
    input_name: str = "window"
    output_name: str = "forecast"
    covariate_columns: tuple = ()
    n_future_covariates: int = 0
    covariate_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    covariate_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    covariates_name: str = "covariates"

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.columns)

    @property
    def n_covariates(self) -> int:
        """Number of covariates (0 without ``X``)."""
        return len(self.covariate_columns)

    def __eq__(self, other) -> bool:
        if not isinstance(other, ForecastMetadata):
            return NotImplemented
        return self.to_props() == other.to_props()

    __hash__ = None

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` entries (JSON values; floats round-trip exactly)."""
        values = {
            "format_version": FORMAT_VERSION,
            "seq_len": self.seq_len,
            "pred_len": self.pred_len,
            "columns": list(self.columns),
            "scaler_mean": [float(v) for v in self.mean],
            "scaler_std": [float(v) for v in self.std],
            "fill": self.fill,
            "forecaster": self.forecaster,
            "embedding": self.embedding,
            "input_name": self.input_name,
            "output_name": self.output_name,
            "covariate_columns": list(self.covariate_columns),
            "n_future_covariates": self.n_future_covariates,
            "covariate_mean": [float(v) for v in self.covariate_mean],
            "covariate_std": [float(v) for v in self.covariate_std],
            "covariates_name": self.covariates_name,
        }
        return {PREFIX + key: json.dumps(value) for key, value in values.items()}

    @classmethod
    def from_props(
        cls, props: dict[str, str], *, source: str = "the ONNX file"
    ) -> ForecastMetadata:
        """Read the entries written by :meth:`to_props`.

        Raises ``ValueError`` naming the missing keys, or the format version this reader does
        not know, and saying how to write a file that has them.
        """
        ours = {k[len(PREFIX) :]: v for k, v in props.items() if k.startswith(PREFIX)}
        required = ("format_version", "seq_len", "pred_len", "columns", "scaler_mean")
        missing = [key for key in (*required, "scaler_std", "fill") if key not in ours]
        if missing:
            raise ValueError(
                f"{source} lacks the metadata {[PREFIX + key for key in missing]}: it was not "
                "written by a forecaster's to_onnx (or its metadata was stripped). Export it "
                "again with forecaster.to_onnx(path)."
            )
        values = {key: json.loads(value) for key, value in ours.items()}
        if str(values["format_version"]) != FORMAT_VERSION:
            raise ValueError(
                f"{source} has metadata format version {values['format_version']!r}; this "
                f"sae_forecast reads version {FORMAT_VERSION!r}. Export it again with this "
                "version's to_onnx, or load it with the version that wrote it."
            )
        return cls(
            seq_len=int(values["seq_len"]),
            pred_len=int(values["pred_len"]),
            columns=tuple(values["columns"]),
            mean=np.asarray(values["scaler_mean"], dtype=np.float64),
            std=np.asarray(values["scaler_std"], dtype=np.float64),
            fill=values["fill"],
            forecaster=values.get("forecaster", ""),
            embedding=values.get("embedding", ""),
            input_name=values.get("input_name", "window"),
            output_name=values.get("output_name", "forecast"),
            covariate_columns=tuple(values.get("covariate_columns", ())),
            n_future_covariates=int(values.get("n_future_covariates", 0)),
            covariate_mean=np.asarray(values.get("covariate_mean", []), dtype=np.float64),
            covariate_std=np.asarray(values.get("covariate_std", []), dtype=np.float64),
            covariates_name=values.get("covariates_name", "covariates"),
        )
