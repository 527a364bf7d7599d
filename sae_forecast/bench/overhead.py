"""What skorch costs: seconds per epoch and peak memory against a hand-written loop.

``python -m sae_forecast.bench.overhead`` trains one backbone on the same windows three ways,
epoch by epoch in turn: ``raw``, a plain PyTorch loop (Adam, MSE, clipping, lr halving, a
validation pass) over :class:`~sae_forecast.training.BatchIterator` batches; ``skorch``, the
:class:`~sae_forecast.training.ForecastingNet` on lazy windows that the forecasters use; and
``skorch default``, skorch's stock path (windows materialised as arrays, collated per sample by
a ``DataLoader``). Then the peak memory of one epoch, lazy and materialised, each in a fresh
process. It builds the net itself, since that layer is what it measures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd
import torch
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from sae_forecast.bench.report import machine_line, markdown, measure_in_fresh_process
from sae_forecast.bench.speed import peak_rss_gib
from sae_forecast.data import load_dataset, prepare_benchmark, sliding_windows
from sae_forecast.nn import BACKBONES
from sae_forecast.training import BatchIterator, ForecastingNet, SeriesWindows


def protocol_windows(name: str, seq_len: int, pred_len: int, data_home=None):
    """Train and validation windows of dataset ``name`` under the standard protocol."""
    data = prepare_benchmark(load_dataset(name, data_home), seq_len)
    windows = []
    for part in ("train", "valid"):
        values, observed = data.part(part)
        windows.append(SeriesWindows(values, seq_len, pred_len, observed=observed))
    return windows


def _module_options(args, n_channels: int) -> dict:
    return dict(
        seq_len=args.seq_len,
        pred_len=args.pred_len,
        n_channels=n_channels,
        embedding=args.embedding,
        pool_size=args.pool_size,
    )


def raw_epoch_runner(args, train, valid):
    """Return a callable that runs one epoch of a plain PyTorch loop."""
    torch.manual_seed(0)
    model = BACKBONES[args.backbone](**_module_options(args, train.n_channels))
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=1, gamma=0.5)
    generator = torch.Generator().manual_seed(0)

    def epoch():
        model.train()
        for X, y in BatchIterator(train, args.batch_size, shuffle=True, generator=generator):
            optimiser.zero_grad()
            loss = torch.nn.functional.mse_loss(model(X), y.values)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for X, y in BatchIterator(valid, args.batch_size):
                torch.nn.functional.mse_loss(model(X), y.values).item()
        scheduler.step()

    return epoch


def skorch_epoch_runner(args, train, valid, materialise: bool):
    """Return a callable that runs one more epoch of a ForecastingNet (``partial_fit``)."""
    options = {f"module__{k}": v for k, v in _module_options(args, train.n_channels).items()}
    fit_data, valid_data = (train,), valid
    if materialise:  # skorch's stock path: arrays of windows, DataLoader, per-sample collate
        fit_data, valid_data = _arrays(train), Dataset(*_arrays(valid))
        loader = torch.utils.data.DataLoader
        options.update(iterator_train=loader, iterator_valid=loader)
    net = ForecastingNet(
        BACKBONES[args.backbone],
        lr=args.lr,
        max_epochs=1,
        patience=None,
        batch_size=args.batch_size,
        train_split=predefined_split(valid_data),
        random_state=0,
        **options,
    )
    net.initialize()
    return lambda: net.partial_fit(*fit_data)


def _arrays(windows: SeriesWindows) -> tuple[np.ndarray, np.ndarray]:
    X, y = sliding_windows(windows.values.numpy(), windows.seq_len, windows.pred_len)
    rows = windows.starts.numpy()
    return np.ascontiguousarray(X[rows]), np.ascontiguousarray(y[rows])


def timing_table(args) -> list[dict]:
    """Median seconds per epoch (the first left out) of the three paths, interleaved."""
    train, valid = protocol_windows(args.dataset, args.seq_len, args.pred_len, args.data_home)
    runners = {
        "raw": raw_epoch_runner(args, train, valid),
        "skorch": skorch_epoch_runner(args, train, valid, materialise=False),
        "skorch default": skorch_epoch_runner(args, train, valid, materialise=True),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.epochs):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values[1:] or values) for name, values in times.items()}
    windows = {"train windows": len(train), "valid windows": len(valid)}
    return [
        {"path": name, "s/epoch": s, "ratio to raw": s / median["raw"], **windows}
        for name, s in median.items()
    ]


def _memory_child(args) -> dict:
    dataset, backbone = args.memory_dataset, args.memory_backbone
    train, valid = protocol_windows(dataset, args.seq_len, args.pred_len, args.data_home)
    args.backbone = backbone
    run = skorch_epoch_runner(args, train, valid, materialise=args.memory_child == "materialised")
    before = peak_rss_gib()
    run()
    row = {"path": args.memory_child, "backbone": backbone, "dataset": dataset}
    return {**row, "rss before training (GiB)": before, "peak rss (GiB)": peak_rss_gib()}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--dataset", default="ETTh1")
    add("--backbone", default="RLinear", choices=list(BACKBONES))
    add("--embedding", default="lightsae")
    add("--pool-size", type=int, default=3)
    add("--seq-len", type=int, default=96)
    add("--pred-len", type=int, default=96)
    add("--batch-size", type=int, default=32)
    add("--lr", type=float, default=0.005)
    add("--epochs", type=int, default=5)
    add("--memory-dataset", default="Weather")
    add("--memory-backbone", default="RMLP", choices=list(BACKBONES))
    add("--data-home", default=None)
    add("--tables", nargs="+", default=["timing", "memory"], choices=["timing", "memory"])
    add("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(_memory_child(args)))
        return
    print(
        f"# skorch overhead\n\nGenerated by `python -m sae_forecast.bench.overhead "
        f"{' '.join(argv)}`.\n\nmachine: {machine_line()}\nconfig: {args.backbone} "
        f"({args.embedding}, K={args.pool_size}) on {args.dataset}, L={args.seq_len}, "
        f"H={args.pred_len}, batch {args.batch_size}, lr {args.lr}; median s/epoch over epochs "
        f"2..{args.epochs}, the three paths interleaved\n"
    )
    if "timing" in args.tables:
        print(markdown(pd.DataFrame(timing_table(args))))
    if "memory" in args.tables:
        print(f"\n## Peak memory, one epoch of {args.memory_backbone} on {args.memory_dataset}\n")
        rows = [
            measure_in_fresh_process("sae_forecast.bench.overhead", child, argv)
            for child in ("lazy", "materialised")
        ]
        print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
