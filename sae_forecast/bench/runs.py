"""One benchmark run through the user's code path, and its plain record.

:func:`train` fits ``FORECASTERS[backbone](**parameters)`` of a :class:`Run` on the training and
validation rows of the standard protocol (its validation tail is the protocol's validation
part), once per learning rate, keeps the fit with the lowest validation loss and scores every
test window with ``score_windows``. A finished run is one line of ``runs.jsonl``, keyed by a
hash of its configuration, so resuming is a set lookup.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import lru_cache

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import HORIZON, SEQ_LEN, Run, default_pool_size
from sae_forecast.bench.report import cpu_model
from sae_forecast.data import CATALOG, load_dataset, prepare_series, split_borders
from sae_forecast.forecasting import FORECASTERS
from sae_forecast.training import SeriesWindows

__all__ = [
    "best_fit",
    "epoch_batches",
    "protocol_forecaster",
    "series",
    "timing_forecaster",
    "train",
]


@lru_cache(maxsize=4)
def series(dataset: str, data_home: str | None) -> pd.DataFrame:
    return load_dataset(dataset, data_home)


def fit_windows(frame: pd.DataFrame, pred_len: int, validation_size: int) -> list:
    """The training and validation windows (``SeriesWindows``) that a forecaster's fit cuts
    out of ``frame`` (``prepare_series``: scaled, gaps filled and masked).

    Examples
    --------
    >>> frame = pd.DataFrame(np.ones((SEQ_LEN + HORIZON + 4, 2)))
    >>> frame.iloc[SEQ_LEN, 0] = np.nan
    >>> train, valid = fit_windows(frame, HORIZON, validation_size=0)
    >>> len(train), len(valid), train.batch([0])[1].weight[0, 0].tolist()
    (5, 0, [0.0, 1.0])
    """
    prepared = prepare_series(
        frame.to_numpy(dtype=np.float64),
        seq_len=SEQ_LEN,
        pred_len=pred_len,
        validation_size=validation_size,
    )
    windows = SeriesWindows(prepared.values, SEQ_LEN, pred_len, observed=prepared.observed)
    return [windows.subset(rows) for rows in (prepared.train, prepared.valid)]


def protocol_forecaster(run: Run, lr: float, borders: dict):
    """The forecaster of ``run`` whose validation tail is the protocol's validation part."""
    n_valid = borders["valid"][1] - borders["train"][1] - run.horizon + 1
    return FORECASTERS[run.backbone](
        seq_len=SEQ_LEN,
        pred_len=run.horizon,
        embedding=run.embedding,
        lr=lr,
        validation_size=n_valid,
        random_state=run.seed,
        **dict(run.parameters),
    )


def train(run: Run, data_home: str | None = None, frame: pd.DataFrame | None = None):
    """Fit ``run`` (one forecaster per lr), keep the best on validation, score the test part.

    ``frame`` replaces the catalog dataset (split 70/10/20), e.g. a synthetic series.
    Returns ``(forecaster, record)``.
    """
    if frame is None:
        frame = series(run.dataset, data_home)
        rule = CATALOG[run.dataset].split
    else:
        rule = "ratio_7_1_2"
    if run.columns:
        frame = frame[list(run.columns)]
    # The protocol splits rows, not times: a positional index keeps the rows as they are
    # (Weather repeats some timestamps, which the forecasters rightly refuse).
    frame = frame.reset_index(drop=True)
    borders = split_borders(rule, len(frame), SEQ_LEN)
    candidates = [protocol_forecaster(run, lr, borders) for lr in run.lrs]
    best, loss, _ = best_fit(candidates, frame.iloc[: borders["valid"][1]])
    score = best.score_windows(frame.iloc[: borders["test"][1]], start=borders["test"][0])
    return best, _record(run, best, loss, score)


def best_fit(forecasters, y: pd.DataFrame):
    """Fit every forecaster on ``y`` (one per lr of a grid); return the one with the lowest
    validation loss, that loss and the seconds all the fits took."""
    began = time.perf_counter()
    fits = [forecaster.fit(y) for forecaster in forecasters]
    seconds = time.perf_counter() - began
    losses = [min(fit.net_.history[:, "valid_loss"]) for fit in fits]
    best = int(np.argmin(losses))
    return fits[best], float(losses[best]), seconds


def _record(run: Run, forecaster, valid_loss: float, score: dict) -> dict:
    history = forecaster.net_.history
    return {
        "key": run.key,
        **{k: v for k, v in asdict(run).items() if k not in ("parameters", "lrs")},
        "parameters": dict(run.parameters),
        "lr_grid": list(run.lrs),
        "lr": forecaster.lr,
        "n_channels": forecaster.n_channels_,
        "params": sum(p.numel() for p in forecaster.model_.parameters()),
        "epochs": len(history),
        "best_epoch": forecaster.best_epoch_,
        "s_per_epoch": float(np.mean(history[:, "train_dur"])),
        "s_per_epoch_with_valid": float(np.mean(history[:, "dur"])),
        "valid_mse": float(valid_loss),
        "mse": score["mse"],
        "mae": score["mae"],
        "test_windows": score["n_windows"],
        "infer_ms_per_window": 1e3 * score["seconds"] / score["n_windows"],
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
    }


def timing_forecaster(backbone: str, n_channels: int, sizes: dict, **options):
    """The forecaster the timing studies fit: lookback and horizon 96, the authors' pool size
    for ``n_channels``, no validation tail, seed 0; ``options`` such as ``batch_size``,
    ``max_epochs``, ``precision`` or ``device``.

    Examples
    --------
    >>> timing_forecaster("RLinear", 7, {}, max_epochs=1).pool_size
    3
    """
    return FORECASTERS[backbone](
        seq_len=SEQ_LEN, pred_len=HORIZON, pool_size=default_pool_size(n_channels),
        validation_size=0, random_state=0, **sizes, **options,
    )  # fmt: skip


def epoch_batches(dataset: str, batch_size: int) -> int:
    """Batches in one epoch of the dataset's training windows (lookback and horizon 96).

    Examples
    --------
    >>> epoch_batches("Weather", 32), epoch_batches("ETTh1", 1)
    (1147, 8449)
    """
    info = CATALOG[dataset]
    train_rows = split_borders(info.split, info.n_rows, SEQ_LEN)["train"][1]
    return -(-(train_rows - SEQ_LEN - HORIZON + 1) // batch_size)
