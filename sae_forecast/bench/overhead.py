"""What skorch costs: seconds per epoch and peak memory against a hand-written loop.

Run ``python -m sae_forecast.bench.overhead`` (``--help`` for options). It trains the same
backbone on the same windows three ways, epoch by epoch in turn:

* ``raw``: a plain PyTorch loop (Adam, MSE, gradient clipping, lr halving, a validation pass),
  batches sliced by :class:`~sae_forecast.training.BatchIterator`;
* ``skorch``: :class:`~sae_forecast.training.ForecastingNet` on lazy
  :class:`~sae_forecast.training.SeriesWindows`, as the forecasters use it;
* ``skorch default``: skorch's stock data path, windows materialised as arrays and collated
  per sample by a ``DataLoader`` (the baseline this library replaces).

Then, each in a fresh process, the peak resident memory of training RMLP on Weather through
the lazy path and through the materialised one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch
from skorch.helper import predefined_split

from sae_forecast.bench.report import machine_line, markdown_table, measure_in_fresh_process
from sae_forecast.bench.speed import peak_rss_gib
from sae_forecast.data import load_dataset, prepare_benchmark, sliding_windows
from sae_forecast.nn import BACKBONES
from sae_forecast.training import BatchIterator, ForecastingNet, SeriesWindows


def protocol_windows(name: str, seq_len: int, pred_len: int, data_home=None):
    """Train and validation windows of dataset ``name`` under the standard protocol."""
    data = prepare_benchmark(load_dataset(name, data_home), seq_len)
    parts = {}
    for part in ("train", "valid"):
        values, observed = data.part(part)
        parts[part] = SeriesWindows(values, seq_len, pred_len, observed=observed)
    return data, parts["train"], parts["valid"]


def _module(args, n_channels):
    return BACKBONES[args.backbone](
        args.seq_len, args.pred_len, n_channels, embedding=args.embedding, pool_size=args.pool_size
    )


def raw_epoch_runner(args, train, valid):
    """Return a callable that runs one epoch of a plain PyTorch loop."""
    torch.manual_seed(0)
    model = _module(args, train.n_channels)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=1, gamma=0.5)
    generator = torch.Generator().manual_seed(0)
    loss_fn = torch.nn.MSELoss()

    def epoch():
        model.train()
        for X, y in BatchIterator(train, args.batch_size, shuffle=True, generator=generator):
            optimiser.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for X, y in BatchIterator(valid, args.batch_size):
                loss_fn(model(X), y).item()
        scheduler.step()

    return epoch


def skorch_epoch_runner(args, train, valid, materialise: bool):
    """Return a callable that runs one more epoch of a ForecastingNet (partial_fit)."""
    options = {
        f"module__{k}": v
        for k, v in dict(
            seq_len=args.seq_len,
            pred_len=args.pred_len,
            n_channels=train.n_channels,
            embedding=args.embedding,
            pool_size=args.pool_size,
        ).items()
    }
    if materialise:  # skorch's stock path: arrays of windows, DataLoader, per-sample collate
        Xt, yt = (np.ascontiguousarray(a) for a in _arrays(train))
        Xv, yv = (np.ascontiguousarray(a) for a in _arrays(valid))
        options.update(
            iterator_train=torch.utils.data.DataLoader, iterator_valid=torch.utils.data.DataLoader
        )
        from skorch.dataset import Dataset

        valid_data, fit_args = Dataset(Xv, yv), (Xt, yt)
    else:
        valid_data, fit_args = valid, (train,)
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
    return lambda: net.partial_fit(*fit_args)


def _arrays(windows: SeriesWindows):
    values = windows.values.numpy()
    X, y = sliding_windows(values, windows.seq_len, windows.pred_len)
    rows = windows.starts.numpy()
    return X[rows], y[rows]


def timing_table(args) -> list[dict]:
    _, train, valid = protocol_windows(args.dataset, args.seq_len, args.pred_len, args.data_home)
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
    med = {name: statistics.median(values[1:] or values) for name, values in times.items()}
    return [
        {
            "path": name,
            "s/epoch": med[name],
            "ratio to raw": med[name] / med["raw"],
            "train windows": len(train),
            "valid windows": len(valid),
        }
        for name in runners
    ]


def _memory_child(args) -> dict:
    _, train, valid = protocol_windows(
        args.memory_dataset, args.seq_len, args.pred_len, args.data_home
    )
    args.backbone = args.memory_backbone
    run = skorch_epoch_runner(args, train, valid, materialise=args.memory_child == "materialised")
    before = peak_rss_gib()
    run()
    return {
        "path": args.memory_child,
        "backbone": args.memory_backbone,
        "dataset": args.memory_dataset,
        "rss before training (GiB)": before,
        "peak rss (GiB)": peak_rss_gib(),
    }


def memory_table(args) -> list[dict]:
    return [
        measure_in_fresh_process("sae_forecast.bench.overhead", child, args.argv)
        for child in ("lazy", "materialised")
    ]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ETTh1")
    parser.add_argument("--backbone", default="RLinear", choices=list(BACKBONES))
    parser.add_argument("--embedding", default="lightsae")
    parser.add_argument("--pool-size", type=int, default=3)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--pred-len", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--memory-dataset", default="Weather")
    parser.add_argument("--memory-backbone", default="RMLP", choices=list(BACKBONES))
    parser.add_argument("--data-home", default=None)
    parser.add_argument(
        "--tables", nargs="+", default=["timing", "memory"], choices=["timing", "memory"]
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    args.argv = argv
    if args.memory_child:
        print(json.dumps(_memory_child(args)))
        return
    print(
        f"# skorch overhead\n\nGenerated by `python -m sae_forecast.bench.overhead "
        f"{' '.join(argv)}`.\n\nmachine: {machine_line()}"
    )
    print(
        f"config: {args.backbone} ({args.embedding}, K={args.pool_size}) on {args.dataset}, "
        f"L={args.seq_len}, H={args.pred_len}, batch {args.batch_size}, lr {args.lr}; "
        f"median s/epoch over epochs 2..{args.epochs}, the three paths interleaved\n"
    )
    if "timing" in args.tables:
        print(
            markdown_table(
                timing_table(args),
                ["path", "s/epoch", "ratio to raw", "train windows", "valid windows"],
            )
        )
    if "memory" in args.tables:
        print(f"\n## Peak memory, one epoch of {args.memory_backbone} on {args.memory_dataset}\n")
        print(
            markdown_table(
                memory_table(args),
                ["path", "backbone", "dataset", "rss before training (GiB)", "peak rss (GiB)"],
            )
        )


if __name__ == "__main__":
    main()
