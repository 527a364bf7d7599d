"""The calibration benchmark's peers: sktime's ConformalIntervals and neuralforecast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sae_forecast.bench.interval_scores import COVERAGES, LEVELS, IntervalScore, scored_windows

__all__ = ["neuralforecast_scores", "peer_scores"]


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


def peer_scores(forecaster, frame, borders, args) -> dict:
    """sktime's ConformalIntervals around a clone of ``forecaster`` (first channels only)."""
    from sktime.forecasting.conformal import ConformalIntervals

    columns = frame.iloc[:, : args.peer_channels]
    horizon, valid_end = forecaster.pred_len_, borders["valid"][1]
    peer = ConformalIntervals(
        forecaster.clone(),
        initial_window=valid_end - horizon,
        sample_frac=min(1.0, args.peer_refits / horizon),
    )
    began = time.perf_counter()
    peer.fit(columns.iloc[:valid_end], fh=list(range(1, horizon + 1)))
    fit_s = time.perf_counter() - began
    scaler = forecaster.scaler_
    scaler = type(scaler)(scaler.mean[: args.peer_channels], scaler.std[: args.peer_channels])
    origins = np.linspace(valid_end, borders["test"][1] - horizon, args.peer_windows)
    score, cutoff, began = IntervalScore(), valid_end, time.perf_counter()
    for origin in origins.astype(int):
        if origin > cutoff:
            peer.update(columns.iloc[cutoff:origin], update_params=False)
            cutoff = origin
        score.add(*_peer_window(peer, columns.iloc[origin : origin + horizon], scaler))
    timing = {"fit_s": fit_s, "predict_s": time.perf_counter() - began}
    extra = {"test_windows": args.peer_windows, "channels": args.peer_channels}
    return {"ConformalIntervals": {**score.result(), **timing, **extra}}


def _neuralforecast_model(forecaster, n_windows: int, epochs: int):
    """neuralforecast's iTransformer with the forecaster's sizes, lr, epochs and batch."""
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import iTransformer

    per_epoch = max(1, n_windows // forecaster.batch_size)
    return iTransformer(
        h=forecaster.pred_len_,
        input_size=forecaster.seq_len,
        n_series=forecaster.n_channels_,
        hidden_size=forecaster.d_model,
        n_heads=forecaster.n_heads,
        e_layers=forecaster.n_layers,
        d_ff=forecaster.d_ff,
        dropout=forecaster.dropout,
        loss=MQLoss(quantiles=list(LEVELS)),
        learning_rate=forecaster.lr,
        max_steps=epochs * per_epoch,
        num_lr_decays=epochs,  # halved every epoch, as here
        val_check_steps=per_epoch,
        early_stop_patience_steps=forecaster.patience,
        windows_batch_size=forecaster.batch_size,
        random_seed=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )


def neuralforecast_scores(forecaster, frame, borders, args) -> dict:
    """neuralforecast's quantile-loss iTransformer on the same scaled series (gaps filled
    forward), fitted once, scored on every ``--nf-stride``-th test window."""
    import neuralforecast
    from neuralforecast import NeuralForecast

    series, _, windows = scored_windows(forecaster, frame, borders)
    names = [f"c{i}" for i in range(series.shape[1])]
    table = pd.DataFrame(series, index=frame.index[: len(series)], columns=names)
    long = table.rename_axis("ds").reset_index().melt("ds", var_name="unique_id", value_name="y")
    valid_end, horizon = borders["valid"][1], forecaster.pred_len_
    n_train = borders["train"][1] - forecaster.seq_len - horizon + 1
    model = _neuralforecast_model(forecaster, n_train, forecaster.max_epochs)
    engine = NeuralForecast(models=[model], freq=pd.infer_freq(frame.index[:10]))
    began = time.perf_counter()
    engine.fit(long[long["ds"] < table.index[valid_end]], val_size=valid_end - borders["train"][1])
    fit_s, score, crossed = time.perf_counter() - began, IntervalScore(), 0.0
    began = time.perf_counter()
    chosen = np.arange(0, len(windows), args.nf_stride)
    for index in chosen:
        start = borders["test"][0] + index  # the window's first lookback row
        lookback = table.index[start : start + forecaster.seq_len]
        history = long[long["ds"].isin(lookback)]
        predicted = engine.predict(df=history).set_index("unique_id").loc[names]
        values = predicted.drop(columns="ds").to_numpy()  # (N * H, Q), levels in order
        quantiles = values.reshape(len(names), horizon, -1).transpose(2, 1, 0)[None]
        _, target = windows.batch(np.array([index]))
        target, mask = target if isinstance(target, tuple) else (target, None)
        score.add(quantiles, target.numpy(), None if mask is None else mask.numpy())
        crossed += float(np.mean(np.any(np.diff(quantiles, axis=1) < 0, axis=1)))
    timing = {"fit_s": fit_s, "predict_s": time.perf_counter() - began}
    extra = {"test_windows": len(chosen), "version": neuralforecast.__version__}
    extra["crossing %"] = 100 * crossed / len(chosen)  # MQLoss does not keep quantiles ordered
    return {"neuralforecast iTransformer": {**score.result(), **timing, **extra}}
