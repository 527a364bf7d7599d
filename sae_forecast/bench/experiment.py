"""One benchmark run: train a backbone under the standard protocol and score every test window."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch
from skorch.helper import predefined_split

from sae_forecast.bench.report import cpu_model
from sae_forecast.data import load_dataset, prepare_benchmark
from sae_forecast.data.splits import BenchmarkData
from sae_forecast.nn import BACKBONES
from sae_forecast.training import ForecastingNet, SeriesWindows

__all__ = ["Experiment", "masked_errors", "run_experiment", "train_and_score"]


@dataclass(frozen=True)
class Experiment:
    """The full configuration of one benchmark row.

    ``lrs`` with several values selects the learning rate on the validation loss (the test
    windows are scored once, for the selected model only).
    """

    dataset: str
    backbone: str
    embedding: str
    horizon: int
    seed: int = 2023
    lrs: tuple[float, ...] = (1e-3,)
    sizes: tuple[tuple[str, object], ...] = ()  # backbone hyperparameters, as sorted pairs
    pool_size: int = 3
    rank: int = 25
    seq_len: int = 96
    batch_size: int = 32
    max_epochs: int = 100
    patience: int = 3
    precision: str = "fp32"
    device: str = "cpu"
    columns: tuple[str, ...] | None = field(default=None, compare=True)  # channel subset
    gate_penalty: str | None = None
    gate_penalty_weight: float = 0.01

    def label(self) -> str:
        return f"{self.dataset} {self.backbone} {self.embedding} H={self.horizon} seed={self.seed}"


@lru_cache(maxsize=8)
def _prepared(
    dataset: str, seq_len: int, data_home: str | None, columns: tuple[str, ...] | None
) -> BenchmarkData:
    frame = load_dataset(dataset, data_home)
    return prepare_benchmark(frame, seq_len, columns=list(columns) if columns else None)


def _windows(data: BenchmarkData, part: str, seq_len: int, pred_len: int, device: str):
    values, observed = data.part(part)
    return SeriesWindows(values, seq_len, pred_len, observed=observed, device=device)


def masked_errors(pred: np.ndarray, target: np.ndarray, observed: np.ndarray | None):
    """MSE and MAE over all entries, or over observed entries only when a mask is given.

    Examples
    --------
    >>> masked_errors(np.zeros(3), np.array([1.0, 2.0, 9.0]), np.array([True, True, False]))
    (2.5, 1.5)
    """
    error = pred.astype(np.float64) - target.astype(np.float64)
    if observed is not None:
        error = error[observed]
    return float(np.mean(error**2)), float(np.mean(np.abs(error)))


def _net(exp: Experiment, n_channels: int, lr: float, valid) -> ForecastingNet:
    module = {f"module__{k}": v for k, v in exp.sizes}
    module.update(
        module__seq_len=exp.seq_len,
        module__pred_len=exp.horizon,
        module__n_channels=n_channels,
        module__embedding=exp.embedding,
        module__rank=exp.rank,
        module__pool_size=exp.pool_size,
        module__precision=exp.precision,
    )
    return ForecastingNet(
        BACKBONES[exp.backbone],
        lr=lr,
        max_epochs=exp.max_epochs,
        batch_size=exp.batch_size,
        patience=exp.patience,
        train_split=predefined_split(valid),
        random_state=exp.seed,
        device=exp.device,
        gate_penalty=exp.gate_penalty,
        gate_penalty_weight=exp.gate_penalty_weight,
        **module,
    )


def _targets(windows: SeriesWindows):
    batch = windows.batch(torch.arange(len(windows)))[1]
    if isinstance(batch, tuple):
        return batch[0].cpu().numpy(), batch[1].cpu().numpy()
    return batch.cpu().numpy(), None


def run_experiment(exp: Experiment, data_home: str | None = None) -> dict:
    """Train ``exp``, pick the lr on validation, score the test part; return the result row."""
    return train_and_score(exp, data_home)[1]


def train_and_score(
    exp: Experiment, data_home: str | None = None, data: BenchmarkData | None = None
):
    """Train ``exp`` (one fit per learning rate), pick the lr on validation, score the test part.

    ``data`` replaces the catalog dataset (e.g. a synthetic series prepared with
    :func:`~sae_forecast.data.prepare_benchmark`).

    Returns
    -------
    net : ForecastingNet
        The selected, fitted net.
    row : dict
        The configuration plus: ``lr`` (selected), ``params``, ``epochs``, ``best_epoch``,
        ``s_per_epoch`` (training batches only, mean over epochs, as the reference code
        reports it) and ``s_per_epoch_with_valid``, ``valid_mse`` (best),
        ``mse`` and ``mae`` on every test window (scaled data; observed targets only where the
        data has gaps), ``test_windows``, ``infer_ms_per_window`` (eval mode, batches of
        ``batch_size``), ``threads`` (torch's intra-op threads) and ``cpu`` (the processor's
        model name): the timings depend on both.
    """
    if data is None:
        data = _prepared(exp.dataset, exp.seq_len, data_home, exp.columns)
    n_channels = data.values.shape[1]
    train = _windows(data, "train", exp.seq_len, exp.horizon, exp.device)
    valid = _windows(data, "valid", exp.seq_len, exp.horizon, exp.device)
    best = None
    for lr in exp.lrs:
        net = _net(exp, n_channels, lr, valid).fit(train)
        valid_loss = min(net.history[:, "valid_loss"])
        if best is None or valid_loss < best[1]:
            best = (net, valid_loss, lr)
    net, valid_loss, lr = best
    test = _windows(data, "test", exp.seq_len, exp.horizon, exp.device)
    start = time.perf_counter()
    pred = net.predict(test)  # eval mode, no grad: merged weights cached
    infer_s = time.perf_counter() - start
    target, observed = _targets(test)
    mse, mae = masked_errors(pred, target, observed)
    row = asdict(exp)
    row.pop("lrs")
    row.pop("columns")
    row.update(
        sizes=dict(exp.sizes),
        lr_grid=list(exp.lrs),
        lr=lr,
        n_channels=n_channels,
        params=sum(p.numel() for p in net.module_.parameters()),
        epochs=len(net.history),
        best_epoch=int(np.argmin(net.history[:, "valid_loss"])) + 1,
        s_per_epoch=float(np.mean(net.history[:, "train_dur"])),
        s_per_epoch_with_valid=float(np.mean(net.history[:, "dur"])),
        valid_mse=float(valid_loss),
        mse=mse,
        mae=mae,
        test_windows=len(test),
        infer_ms_per_window=1e3 * infer_s / len(test),
        threads=torch.get_num_threads(),
        cpu=cpu_model(),
    )
    return net, row
