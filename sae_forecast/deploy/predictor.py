"""Forecast from an exported ONNX file with numpy and onnxruntime only (no torch)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sae_forecast.deploy.inputs import as_rows
from sae_forecast.deploy.metadata import FILL_RULE, ForecastMetadata
from sae_forecast.deploy.window import scaled_window

__all__ = ["OnnxPredictor"]


class OnnxPredictor:
    """A forecaster exported by ``to_onnx``, run by onnxruntime.

    Build it with :meth:`load`. :meth:`predict` turns the raw recent rows of the series into
    the forecast of the next ``pred_len`` rows in original units: it scales them with the
    forecaster's scaler, fills gaps as the forecaster does, runs the graph and undoes the
    scaling, so it equals the forecaster's ``predict`` (to float rounding) when given the
    rows ``predict`` would read.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The session of the exported graph.
    metadata : ForecastMetadata
        What the file says about the graph (see :meth:`ForecastMetadata.from_props`).

    Attributes
    ----------
    seq_len, pred_len : int
        Rows read and rows forecast.
    columns : tuple
        Channel names, in order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, pandas as pd
    >>> from sae_forecast import LightSAERLinearForecaster
    >>> y = pd.DataFrame({"a": np.sin(np.arange(80) / 4), "b": np.cos(np.arange(80) / 4)})
    >>> forecaster = LightSAERLinearForecaster(
    ...     seq_len=12, pred_len=3, rank=2, pool_size=2, max_epochs=1, random_state=0
    ... ).fit(y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.onnx"
    >>> forecaster.to_onnx(path)
    >>> predictor = OnnxPredictor.load(path, n_threads=1)
    >>> forecast = predictor.predict(y.tail(12))  # (pred_len, n_channels), original units
    >>> bool(np.allclose(forecast, forecaster.predict(fh=[1, 2, 3]), atol=1e-5))
    True
    """

    def __init__(self, session, metadata: ForecastMetadata) -> None:
        self.session = session
        self.metadata = metadata
        self.seq_len = metadata.seq_len
        self.pred_len = metadata.pred_len
        self.columns = metadata.columns

    @classmethod
    def load(cls, path: str | os.PathLike, *, n_threads: int | None = None) -> OnnxPredictor:
        """Open the ONNX file at ``path``; ``n_threads``: onnxruntime's intra-op threads
        (None: its default, every core).

        Raises ``FileNotFoundError`` for a missing file, ``ImportError`` without
        onnxruntime and ``ValueError`` for a file without the forecaster's metadata.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no ONNX file at {str(path)!r}; write one with forecaster.to_onnx(path) and "
                "pass its path."
            )
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                "OnnxPredictor needs onnxruntime: pip install 'sae-forecast[onnx]' (or "
                "pip install onnxruntime)."
            ) from error
        options = onnxruntime.SessionOptions()
        if n_threads is not None:
            options.intra_op_num_threads = n_threads
            options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        props = session.get_modelmeta().custom_metadata_map
        metadata = ForecastMetadata.from_props(props, source=f"the ONNX file {str(path)!r}")
        if metadata.fill != FILL_RULE:
            raise ValueError(
                f"the ONNX file {str(path)!r} fills gaps by rule {metadata.fill!r}; this "
                f"predictor knows {FILL_RULE!r} only. Load it with the sae_forecast that wrote it."
            )
        return cls(session, metadata)

    def predict(self, rows, covariates=None, future_covariates=None) -> np.ndarray:
        """Forecast the ``pred_len`` rows that follow ``rows``, in original units.

        Parameters
        ----------
        rows : array-like of shape (n_rows, n_channels) or (batch, n_rows, n_channels)
            The latest raw rows of the series (a pandas DataFrame or a numpy array), one row
            per time step, oldest first, ``n_rows >= seq_len``; NaN marks a gap (a frame
            whose time index misses a time stamp is refused: put it in as a row of NaN).
            The last ``seq_len`` rows are forecast from; earlier rows only fill gaps at the
            start of that window, as ``predict`` fills them from the forecaster's history (a
            gap with no observation before it in ``rows`` takes the training mean). A
            DataFrame's columns are matched to the forecaster's by name.
        covariates : array-like of shape (n_rows, n_covariates) or (batch, ...), optional
            For a forecaster fitted with ``X``: the raw covariate rows at the time steps of
            ``rows`` (every column of ``X``), filled and scaled as ``rows`` are.
        future_covariates : array-like of shape (pred_len, n_future) or (batch, ...), optional
            For a forecaster with future-known covariates (``future_covariates``): their raw
            values over the ``pred_len`` forecast steps, NaN where unknown (filled forward
            from the last lookback row, as ``predict`` fills the horizon rows ``X`` lacks).
            A DataFrame may hold other columns of ``X``; the future-known ones are read.

        Returns
        -------
        ndarray of shape (pred_len, n_channels) or (batch, pred_len, n_channels), float64
        """
        meta = self.metadata
        values = as_rows(rows, self.columns, "rows")
        self._check_rows(values, "rows")
        window = scaled_window(values, meta.mean, meta.std)
        window = window[..., -self.seq_len :, :]  # (..., L, N): earlier rows only filled gaps
        feeds = {meta.input_name: _batched(window)}  # (B, L, N)
        if meta.n_covariates or covariates is not None or future_covariates is not None:
            found = self._covariate_window(values.shape, covariates, future_covariates)
            feeds[meta.covariates_name] = _batched(found)  # (B, L + H, C)
        (forecast,) = self.session.run([meta.output_name], feeds)  # (B, H, N), scaled
        forecast = forecast.astype(np.float64) * meta.std + meta.mean
        return forecast if values.ndim == 3 else forecast[0]

    def _check_rows(self, values: np.ndarray, what: str) -> None:
        if values.shape[-2] < self.seq_len:
            raise ValueError(
                f"{what} has {values.shape[-2]} rows, fewer than the seq_len={self.seq_len} "
                f"the model reads; pass at least the last {self.seq_len} rows of the series."
            )

    def _covariate_window(self, shape: tuple, covariates, future) -> np.ndarray:
        """The graph's covariate input: scaled, filled lookback rows, then the horizon rows
        (future-known columns from ``future``, past-only columns 0: never read)."""
        meta = self.metadata
        names = list(meta.covariate_columns)
        if not names:
            raise ValueError(
                "covariates were passed, but the forecaster was fitted without X; call "
                "predict(rows) alone."
            )
        if covariates is None:
            raise ValueError(
                f"the forecaster was fitted with covariates {names}: pass covariates=, their "
                "raw rows at the time steps of rows."
            )
        past = as_rows(covariates, names, "covariates")
        if past.shape[:-1] != shape[:-1]:
            raise ValueError(
                f"covariates has shape {past.shape} but rows {shape}: pass one covariate row "
                "per row of rows (and as many windows)."
            )
        past = scaled_window(past, meta.covariate_mean, meta.covariate_std)[..., -self.seq_len :, :]
        horizon = np.zeros((*past.shape[:-2], self.pred_len, len(names)), np.float32)
        n_future = meta.n_future_covariates
        if n_future == 0:
            if future is not None:
                raise ValueError(
                    f"future_covariates were passed, but none of the covariates {names} is "
                    "known ahead (future_covariates=[] at fit); leave it out."
                )
            return np.concatenate([past, horizon], axis=-2)
        if future is None:
            raise ValueError(
                f"the forecaster reads the future-known covariates {names[:n_future]} over the "
                f"horizon: pass future_covariates=, their {self.pred_len} rows (NaN if unknown)."
            )
        ahead = as_rows(future, names[:n_future], "future_covariates", extra_columns=True)
        if ahead.shape[:-2] != past.shape[:-2] or ahead.shape[-2] != self.pred_len:
            raise ValueError(
                f"future_covariates has shape {ahead.shape}; pass pred_len={self.pred_len} rows "
                f"of the columns {names[:n_future]} (and as many windows as rows)."
            )
        mean, std = meta.covariate_mean[:n_future], meta.covariate_std[:n_future]
        last = past[..., -1, :n_future]  # (..., F): the horizon's gaps continue from it
        horizon[..., :n_future] = scaled_window(ahead, mean, std, last=last)
        return np.concatenate([past, horizon], axis=-2)  # (..., L + H, C)


def _batched(values: np.ndarray) -> np.ndarray:
    """A contiguous float32 batch: ``(B, T, C)`` from ``(T, C)`` or ``(B, T, C)``."""
    return np.ascontiguousarray(values if values.ndim == 3 else values[None])
