"""Forecast from an exported ONNX file with numpy and onnxruntime only (no torch)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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

    def predict(self, rows) -> np.ndarray:
        """Forecast the ``pred_len`` rows that follow ``rows``, in original units.

        Parameters
        ----------
        rows : array-like of shape (n_rows, n_channels) or (batch, n_rows, n_channels)
            The latest raw rows of the series (a pandas DataFrame or a numpy array), one row
            per time step, oldest first, ``n_rows >= seq_len``; NaN marks a gap (a frame
            whose time index misses a time stamp is refused: put it in as a row of NaN). The last
            ``seq_len`` rows are forecast from; earlier rows only fill gaps at the start of
            that window, as ``predict`` fills them from the forecaster's history (a gap with
            no observation before it in ``rows`` takes the training mean). A DataFrame's
            columns are matched to the forecaster's by name.

        Returns
        -------
        ndarray of shape (pred_len, n_channels) or (batch, pred_len, n_channels), float64
        """
        values = self._as_array(rows)
        window = scaled_window(values, self.metadata.mean, self.metadata.std)
        window = window[..., -self.seq_len :, :]  # (..., L, N): earlier rows only filled gaps
        batch = window if window.ndim == 3 else window[None]  # (B, L, N)
        feeds = {self.metadata.input_name: np.ascontiguousarray(batch)}
        (forecast,) = self.session.run([self.metadata.output_name], feeds)  # (B, H, N), scaled
        forecast = forecast.astype(np.float64) * self.metadata.std + self.metadata.mean
        return forecast if values.ndim == 3 else forecast[0]

    def _as_array(self, rows) -> np.ndarray:
        columns = getattr(rows, "columns", None)
        if columns is not None:
            rows = self._select_columns(rows, list(columns))
            _check_regular(getattr(rows, "index", None))
        values = np.asarray(rows, dtype=np.float64)
        n_channels = self.metadata.n_channels
        if values.ndim == 1 and n_channels == 1:
            values = values[:, None]
        if values.ndim not in (2, 3) or values.shape[-1] != n_channels:
            raise ValueError(
                f"rows must have shape (n_rows, n_channels={n_channels}) or (batch, n_rows, "
                f"n_channels={n_channels}), got {values.shape}; pass one column per channel "
                f"{list(self.columns)}."
            )
        if values.shape[-2] < self.seq_len:
            raise ValueError(
                f"rows has {values.shape[-2]} rows, fewer than the seq_len={self.seq_len} the "
                f"model reads; pass at least the last {self.seq_len} rows of the series."
            )
        if np.isinf(values).any():
            raise ValueError("rows has infinite values; replace them with NaN (a gap).")
        return values

    def _select_columns(self, frame, given: list):
        expected = list(self.columns)
        if given == expected:
            return frame
        if sorted(map(str, given)) != sorted(map(str, expected)):
            raise ValueError(
                f"rows has columns {given}, the model forecasts {expected}; pass a frame with "
                "exactly these columns."
            )
        by_name = {str(name): name for name in given}
        return frame[[by_name[str(name)] for name in expected]]


def _check_regular(index) -> None:
    """Refuse a pandas time index with missing or repeated steps (duck-typed: no pandas)."""
    if index is None or len(index) < 3:
        return
    if hasattr(index, "inferred_freq"):  # DatetimeIndex: None when the step is not regular
        regular = index.inferred_freq is not None
    elif hasattr(index, "freqstr") and hasattr(index, "asi8"):  # PeriodIndex: ordinals
        regular = len(set(np.diff(index.asi8).tolist())) == 1
    else:  # a RangeIndex or any other: the rows are taken as consecutive
        return
    if not regular:
        raise ValueError(
            f"rows' time index has no regular step between {index[0]} and {index[-1]} (a "
            "missing or repeated time stamp); the model reads consecutive time steps, as "
            "predict does after putting a missing time stamp in as a row of NaN. Pass "
            "rows.asfreq(freq) (e.g. freq='h')."
        )
