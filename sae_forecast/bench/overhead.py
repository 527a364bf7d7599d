"""Overhead: what skorch costs, seconds per epoch and peak memory against a hand-written loop.

It trains one backbone on the same windows three ways,
epoch by epoch in turn: ``raw``, a plain PyTorch loop (Adam, MSE, clipping, lr halving, a
validation pass) over :class:`~sae_forecast.training.BatchIterator` batches; ``skorch``, the
:class:`~sae_forecast.training.ForecastingNet` on lazy windows that the forecasters use; and
``skorch default``, skorch's stock path (windows materialised as arrays, collated per sample by
a ``DataLoader``). Then the peak memory of one epoch, lazy and materialised, each in a fresh
process. It builds the net itself, since that layer is what it measures.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from sae_forecast.bench.presets import HORIZON, SEQ_LEN
from sae_forecast.bench.report import markdown, peak_rss_gib
from sae_forecast.bench.runner import Cell, keyed_cell, measure_in_fresh_process
from sae_forecast.bench.runs import fit_windows, series
from sae_forecast.bench.speed import interleaved_medians
from sae_forecast.data import CATALOG, sliding_windows, split_borders
from sae_forecast.nn import BACKBONES
from sae_forecast.training import BatchIterator, ForecastingNet, SeriesWindows

KEY = ("key",)
RECORDS = "overhead.jsonl"
DEFAULT_OUT = "docs/benchmarks"
PATHS = ("lazy", "materialised")  # the memory table's two skorch paths


def protocol_windows(name: str, pred_len: int, data_home=None) -> list[SeriesWindows]:
    """Train and validation windows of dataset ``name`` under the standard protocol, from
    the forecasters' series pipeline (:func:`~sae_forecast.bench.runs.fit_windows`)."""
    frame = series(name, data_home)
    borders = split_borders(CATALOG[name].split, len(frame), SEQ_LEN)
    n_valid = borders["valid"][1] - borders["train"][1] - pred_len + 1
    return fit_windows(frame.iloc[: borders["valid"][1]], pred_len, n_valid)


def _module_options(args, n_channels: int) -> dict:
    return dict(
        seq_len=SEQ_LEN,
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
    train, valid = protocol_windows(args.dataset, args.pred_len, args.data_home)
    runners = {
        "raw": raw_epoch_runner(args, train, valid),
        "skorch": skorch_epoch_runner(args, train, valid, materialise=False),
        "skorch default": skorch_epoch_runner(args, train, valid, materialise=True),
    }
    ms = interleaved_medians(runners, repeats=max(1, args.epochs - 1), warmup=1)  # epoch 1 out
    median = {name: value / 1e3 for name, value in ms.items()}
    windows = {"train windows": len(train), "valid windows": len(valid)}
    return [
        {"path": name, "s/epoch": s, "ratio to raw": s / median["raw"], **windows}
        for name, s in median.items()
    ]


def child(spec: dict) -> dict:
    """In this (fresh) process: peak memory of one epoch on a lazy or materialised path."""
    args = SimpleNamespace(**spec)
    train, valid = protocol_windows(args.dataset, args.pred_len, args.data_home)
    run = skorch_epoch_runner(args, train, valid, materialise=args.path == "materialised")
    before = peak_rss_gib()
    run()
    row = {"path": args.path, "backbone": args.backbone, "dataset": args.dataset}
    return {**row, "rss before training (GiB)": before, "peak rss (GiB)": peak_rss_gib()}


def add_options(parser) -> None:
    """The timed configuration and the memory table's."""
    add = parser.add_argument
    add("--dataset", default="ETTh1")
    add("--backbone", default="RLinear", choices=list(BACKBONES))
    add("--embedding", default="lightsae")
    add("--pool-size", type=int, default=3)
    add("--pred-len", type=int, default=HORIZON)
    add("--batch-size", type=int, default=32)
    add("--lr", type=float, default=0.005)
    add("--epochs", type=int, default=5)
    add("--memory-dataset", default="Weather")
    add("--memory-backbone", default="RMLP", choices=list(BACKBONES))
    add("--tables", nargs="+", default=["timing", "memory"], choices=["timing", "memory"])


def _settings(args) -> dict:
    names = ("dataset", "backbone", "embedding", "pool_size", "pred_len", "batch_size", "lr")
    return {name: getattr(args, name) for name in (*names, "epochs")}


def cells(args) -> list[Cell]:
    """The timing table, and one cell per path of the memory table."""
    found = [keyed_cell("timing", _settings(args), **_settings(args))]
    for path in PATHS:
        spec = {**_settings(args), "dataset": args.memory_dataset, "path": path}
        spec["backbone"] = args.memory_backbone
        found.append(keyed_cell(f"memory {path}", spec, **spec))
    return [cell for cell in found if cell.label.split()[0] in args.tables]


def compute(cell: Cell, args) -> list[dict]:
    """The rows of one cell, each naming its table."""
    spec = {**cell.spec, "data_home": args.data_home}
    if "path" in spec:
        return [{"table": "memory", **measure_in_fresh_process("overhead", spec, args.threads)}]
    return [{"table": "timing", **row} for row in timing_table(SimpleNamespace(**spec))]


def write_page(out, records, invocation, args) -> None:
    """``overhead.md``: the timing table and the memory table."""
    memory = f"Peak memory, one epoch of {args.memory_backbone} on {args.memory_dataset}"
    text = (
        f"# skorch overhead\n\n{invocation.generated}.\n\nconfig: {args.backbone} "
        f"({args.embedding}, K={args.pool_size}) on {args.dataset}, L={SEQ_LEN}, "
        f"H={args.pred_len}, batch {args.batch_size}, lr {args.lr}; median s/epoch over epochs "
        f"2..{args.epochs}, the three paths interleaved\n"
    )
    for table, heading in (("timing", ""), ("memory", f"\n## {memory}\n\n")):
        rows = invocation.table(records, KEY, table)
        text += f"{heading}{markdown(rows)}\n" if len(rows) else ""
    (out / "overhead.md").write_text(text)
