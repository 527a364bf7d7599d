"""The calibration benchmark's peers: sktime's ConformalIntervals and neuralforecast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sae_forecast.bench.interval_scores import COVERAGES, LEVELS, IntervalScore
from sae_forecast.data import scale_and_fill

__all__ = ["neuralforecast_scores", "peer_scores", "refits"]


def _peer_window(peer, actual: pd.DataFrame, scaler):
    """Quantiles (1, Q, H, N) of ConformalIntervals at one origin, target and mask, scaled."""
    fh = list(range(1, len(actual) + 1))
    bands = peer.predict_interval(fh=fh, coverage=list(COVERAGES))
    quantiles = np.empty((len(LEVELS), *actual.shape))
    quantiles[int(np.argmin(abs(LEVELS - 0.5)))] = peer.predict(fh=fh).to_numpy()
    for coverage in COVERAGES:
        for side, level in (("lower", 0.5 - coverage / 2), ("upper", 0.5 + coverage / 2)):
            band = bands.xs((coverage, side), axis=1, level=[1, 2]).to_numpy()
            quantiles[int(np.argmin(abs(LEVELS - level)))] = band
    target = scaler.transform(actual.to_numpy(np.float64))
    scaled = (quantiles - scaler.mean) / scaler.std
    return scaled[None], np.nan_to_num(target)[None], ~np.isnan(target)[None]


def _zero_width_share(quantiles: np.ndarray) -> float:
    """Share of steps and channels whose 95% interval has zero width: those with no
    residual in ConformalIntervals' sampled matrix (sktime then uses a zero residual)."""
    lower, upper = (quantiles[:, int(np.argmin(abs(LEVELS - a)))] for a in (0.025, 0.975))
    return float(np.mean(upper - lower <= 0))


def refits(peer) -> int:
    """Models fitted for the residual matrix of a fitted ConformalIntervals, all channels."""
    fitted = peer.forecasters_  # a frame of per-channel clones when sktime vectorised
    clones = fitted.to_numpy().ravel() if isinstance(fitted, pd.DataFrame) else [peer]
    return sum(len(clone.forecasters_) for clone in clones)


def peer_scores(forecaster, frame, borders, args) -> dict:
    """sktime's ConformalIntervals around a clone of ``forecaster`` (first channels only).

    ``--peer-refits`` of the last ``H`` training cutoffs are sampled (seeded) for the
    residual matrix; sktime ignores a sample of 2 or fewer and refits at all ``H``.
    """
    from sktime.forecasting.conformal import ConformalIntervals

    columns = frame.iloc[:, : args.peer_channels]
    horizon, valid_end = forecaster.pred_len_, borders["valid"][1]
    peer = ConformalIntervals(
        forecaster.clone(),
        initial_window=valid_end - horizon,
        sample_frac=min(1.0, args.peer_refits / horizon),
    )
    np.random.seed(0)  # noqa: NPY002 (ConformalIntervals samples with numpy's global state)
    began = time.perf_counter()
    peer.fit(columns.iloc[:valid_end], fh=list(range(1, horizon + 1)))
    fit_s = time.perf_counter() - began
    scaler = forecaster.scaler_
    scaler = type(scaler)(scaler.mean[: args.peer_channels], scaler.std[: args.peer_channels])
    origins = np.linspace(valid_end, borders["test"][1] - horizon, args.peer_windows)
    score, cutoff, zero_width = IntervalScore(), valid_end, []
    began = time.perf_counter()
    for origin in origins.astype(int):
        if origin > cutoff:
            peer.update(columns.iloc[cutoff:origin], update_params=False)
            cutoff = origin
        actual = columns.iloc[origin : origin + horizon]
        quantiles, target, mask = _peer_window(peer, actual, scaler)
        score.add(quantiles, target, mask)
        zero_width.append(_zero_width_share(quantiles))
    timing = {"fit_s": fit_s, "predict_s": time.perf_counter() - began}
    extra = {"test_windows": args.peer_windows, "channels": args.peer_channels}
    extra.update(refits=refits(peer), **{"zero width %": 100 * float(np.mean(zero_width))})
    return {"ConformalIntervals": {**score.result(), **timing, **extra}}


def _neuralforecast_model(settings, n_series: int, n_windows: int):
    """neuralforecast's iTransformer with the forecaster's sizes, lr, epochs and batch."""
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import iTransformer

    per_epoch = max(1, n_windows // settings.batch_size)
    return iTransformer(
        h=settings.pred_len,
        input_size=settings.seq_len,
        n_series=n_series,
        hidden_size=settings.d_model,
        n_heads=settings.n_heads,
        e_layers=settings.n_layers,
        d_ff=settings.d_ff,
        dropout=settings.dropout,
        loss=MQLoss(quantiles=list(LEVELS)),
        learning_rate=settings.lr,
        max_steps=settings.max_epochs * per_epoch,
        num_lr_decays=settings.max_epochs,  # halved every epoch, as here
        val_check_steps=per_epoch,
        early_stop_patience_steps=settings.patience,
        windows_batch_size=settings.batch_size,
        random_seed=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )


def neuralforecast_scores(settings, frame, borders, args) -> dict:
    """neuralforecast's quantile-loss iTransformer with the sizes of ``settings`` (an
    unfitted forecaster of the run) on the series scaled by its training part (gaps filled
    forward), fitted once, scored on every ``--nf-stride``-th test window."""
    import neuralforecast
    from neuralforecast import NeuralForecast

    horizon, valid_end, (test_start, test_end) = (
        settings.pred_len,
        borders["valid"][1],
        borders["test"],
    )
    values = frame.iloc[:test_end].to_numpy(np.float64)
    _, series, observed = scale_and_fill(values, borders["train"][1])
    observed = np.ones(series.shape, bool) if observed is None else observed
    names = [f"c{i}" for i in range(series.shape[1])]
    table = pd.DataFrame(series, index=pd.RangeIndex(len(series), name="ds"), columns=names)
    long = table.reset_index().melt("ds", var_name="unique_id", value_name="y")
    n_train = borders["train"][1] - settings.seq_len - horizon + 1
    model = _neuralforecast_model(settings, len(names), n_train)
    engine = NeuralForecast(models=[model], freq=1)  # positional rows, as the protocol
    began = time.perf_counter()
    engine.fit(long[long["ds"] < valid_end], val_size=valid_end - borders["train"][1])
    fit_s, score, crossed = time.perf_counter() - began, IntervalScore(), 0.0
    began = time.perf_counter()
    chosen = np.arange(0, test_end - test_start - settings.seq_len - horizon + 1, args.nf_stride)
    for index in chosen:
        start = test_start + index  # the window's first lookback row
        history = long[(long["ds"] >= start) & (long["ds"] < start + settings.seq_len)]
        predicted = engine.predict(df=history).set_index("unique_id").loc[names]
        values = predicted.drop(columns="ds").to_numpy()  # (N * H, Q), levels in order
        quantiles = values.reshape(len(names), horizon, -1).transpose(2, 1, 0)[None]
        rows = slice(start + settings.seq_len, start + settings.seq_len + horizon)
        score.add(quantiles, series[None, rows], observed[None, rows])
        crossed += float(np.mean(np.any(np.diff(quantiles, axis=1) < 0, axis=1)))
    timing = {"fit_s": fit_s, "predict_s": time.perf_counter() - began}
    extra = {"test_windows": len(chosen), "version": neuralforecast.__version__}
    extra["crossing %"] = 100 * crossed / len(chosen)  # MQLoss does not keep quantiles ordered
    return {"neuralforecast iTransformer": {**score.result(), **timing, **extra}}
