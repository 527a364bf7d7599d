"""Speed: time and memory of the embedding family inside the backbones (synthetic data).

The time per batch of a training step and of an eval forward with every embedding kind and
several channel counts (LightSAE inference uses its cached merged weight); the peak memory of
one LightSAE training step at 862 channels (Traffic), each backbone in a fresh process; and
attention through ``scaled_dot_product_attention`` against the written-out (seeded-dropout)
path. Timings interleave the models round by round and report medians, so ratios are taken
under the same machine load. Each table row is a cell.
"""

from __future__ import annotations

import copy
import functools
import itertools
import statistics
import time

import pandas as pd
import torch

from sae_forecast.bench.presets import (
    ATTENTION_SIZES,
    HORIZON,
    SEQ_LEN,
    SPEED_SIZES,
    TRAFFIC_BATCH,
    reference_sizes,
)
from sae_forecast.bench.report import markdown, peak_rss_gib
from sae_forecast.bench.runner import Cell, keyed_cell, measure_in_fresh_process
from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS
from sae_forecast.nn.transformer import force_manual_attention

KEY = ("key",)
RECORDS = "speed.jsonl"
DEFAULT_OUT = "docs/benchmarks"
TABLES = ("training", "inference", "memory", "attention")
INFERENCE_KINDS = ("shared", "independent", "lightsae")


def _train_step(model, x, y) -> None:
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()


def _infer(model, x, y=None) -> None:
    with torch.no_grad():
        model(x)


def interleaved_medians(steps: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Run each callable once per round, ``repeats`` rounds; return median milliseconds.

    Examples
    --------
    >>> sorted(interleaved_medians({"a": lambda: None, "b": lambda: None}, repeats=2))
    ['a', 'b']
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def time_kinds(
    kinds,
    step,
    backbone: str,
    n_channels: int,
    *,
    batch_size=32,
    seq_len=SEQ_LEN,
    pred_len=HORIZON,
    repeats=15,
    rank=25,
    pool_size=10,
    precision="fp32",
) -> dict:
    """Median ms of ``step`` (``"training"`` or ``"inference"``) per batch for each embedding
    kind in ``backbone`` at :data:`~sae_forecast.bench.presets.SPEED_SIZES`.

    Examples
    --------
    >>> row = time_kinds(["shared"], "inference", "RLinear", 3, seq_len=8, pred_len=4, repeats=1)
    >>> row["shared"] > 0
    True
    """
    step = _train_step if step == "training" else _infer
    x, y = (
        torch.randn(batch_size, seq_len, n_channels),
        torch.randn(batch_size, pred_len, n_channels),
    )
    options = dict(rank=rank, pool_size=pool_size, precision=precision, **SPEED_SIZES[backbone])
    models = {
        kind: BACKBONES[backbone](seq_len, pred_len, n_channels, embedding=kind, **options).train(
            step is _train_step
        )
        for kind in kinds
    }
    steps = {kind: functools.partial(step, model, x, y) for kind, model in models.items()}
    return interleaved_medians(steps, repeats)


def attention_rows(backbone: str, repeats: int = 5, sizes: dict | None = None) -> list[dict]:
    """Milliseconds per batch with SDPA against the written-out attention, on the CPU: an eval
    forward without grad and a training step, dropout 0 so both compute the same function."""
    options = dict((ATTENTION_SIZES if sizes is None else sizes)[backbone])
    batch = options.pop("batch")
    sdpa = BACKBONES[backbone](dropout=0.0, **options)
    models = {"manual": force_manual_attention(copy.deepcopy(sdpa)), "sdpa": sdpa}
    x = torch.randn(batch, options["seq_len"], options["n_channels"])
    y = torch.randn(batch, options["pred_len"], options["n_channels"])
    rows = []
    for mode, step in (("eval forward", _infer), ("training step", _train_step)):
        steps = {
            name: functools.partial(step, model.train(step is _train_step), x, y)
            for name, model in models.items()
        }
        ms = interleaved_medians(steps, repeats)
        rows.append(
            {"backbone": backbone, "mode": mode, **ms, "manual/sdpa": ms["manual"] / ms["sdpa"]}
        )
    return rows


def child(spec: dict) -> dict:
    """In this (fresh) process: RSS before and peak RSS after one LightSAE training step."""
    backbone, n, batch = spec["backbone"], spec["n_channels"], spec["batch"]
    options = {**reference_sizes(backbone, "Traffic", HORIZON), "rank": spec["rank"]}
    model = BACKBONES[backbone](
        spec["seq_len"],
        spec["pred_len"],
        n,
        embedding="lightsae",
        pool_size=spec["pool_size"],
        precision=spec["precision"],
        **options,
    )
    x, y = torch.randn(batch, spec["seq_len"], n), torch.randn(batch, spec["pred_len"], n)
    before = peak_rss_gib()
    optimiser = torch.optim.Adam(model.parameters())
    _train_step(model.train(), x, y)
    optimiser.step()
    peak = peak_rss_gib()
    row = {"backbone": backbone, "N": n, "batch": batch, "rss before (GiB)": before}
    return {**row, "peak rss (GiB)": peak, "step increment (GiB)": peak - before}


def add_options(parser) -> None:
    """Channel counts, backbones, sizes of the batches and the embedding, tables."""
    add = parser.add_argument
    add("--channels", type=int, nargs="+", default=[7, 21, 132, 321])
    add("--backbones", nargs="+", default=["RLinear", "iTransformer"], choices=list(BACKBONES))
    add("--batch-size", type=int, default=32)
    add("--pred-len", type=int, default=HORIZON)
    add("--rank", type=int, default=25)
    add("--pool-size", type=int, default=10)
    add("--repeats", type=int, default=15)
    add("--precision", choices=["fp32", "bf16"], default="fp32")
    add("--memory-channels", type=int, default=862)
    add("--memory-batch-size", type=int, default=32)
    add("--memory-backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    add("--tables", nargs="+", default=list(TABLES), choices=TABLES)


def _shape(args) -> dict:
    names = ("batch_size", "pred_len", "repeats", "rank", "pool_size", "precision")
    return {"seq_len": SEQ_LEN, **{name: getattr(args, name) for name in names}}


def cells(args) -> list[Cell]:
    """One cell per table row: (table, backbone, N or batch)."""
    shape, found = _shape(args), []
    for table in (t for t in ("training", "inference") if t in args.tables):
        for backbone, n in itertools.product(args.backbones, args.channels):
            spec = {"table": table, "backbone": backbone, "n_channels": n, **shape}
            found.append(keyed_cell(f"{table} {backbone} N={n}", spec, **shape))
    for backbone in args.memory_backbones if "memory" in args.tables else ():
        size = args.memory_batch_size
        for batch in sorted({size, min(size, TRAFFIC_BATCH.get(backbone, size))}, reverse=True):
            spec = {"table": "memory", **shape, "backbone": backbone, "batch": batch}
            spec["n_channels"] = args.memory_channels
            found.append(keyed_cell(f"memory {backbone} batch {batch}", spec, **spec))
    for backbone in ATTENTION_SIZES if "attention" in args.tables else ():
        spec = {"table": "attention", "backbone": backbone, "repeats": 5}
        found.append(keyed_cell(f"attention {backbone}", spec, **spec))
    return found


def compute(cell: Cell, args) -> list[dict]:
    """The row(s) of one cell, each naming its table."""
    spec = dict(cell.spec)
    table = spec.pop("table")
    if table == "memory":
        rows = [measure_in_fresh_process("speed", spec, args.threads)]
    elif table == "attention":
        rows = attention_rows(spec["backbone"], spec["repeats"])
    else:
        kinds = EMBEDDING_KINDS if table == "training" else INFERENCE_KINDS
        backbone, n = spec.pop("backbone"), spec.pop("n_channels")
        rows = [{"backbone": backbone, "N": n, **time_kinds(kinds, table, backbone, n, **spec)}]
    return [{"table": table, **row} for row in rows]


def with_ratios(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The ratio column of a ``training`` or ``inference`` table (LightSAE against a peer)."""
    if table == "training":
        return frame.assign(**{"lightsae/shared": frame["lightsae"] / frame["shared"]})
    if table == "inference":
        frame = frame.rename(columns={"lightsae": "lightsae (cached)"})
        return frame.assign(
            **{"cached/independent": frame["lightsae (cached)"] / frame["independent"]}
        )
    return frame


def write_page(out, records, invocation, args) -> None:
    """``speed.md``: a section per table, rows in the order of the cells."""
    traffic = {b: reference_sizes(b, "Traffic", HORIZON) for b in BACKBONES}
    sections = {
        "training": ("Training step (forward + backward), ms per batch", ""),
        "inference": ("Inference (eval, no grad), ms per batch", ""),
        "memory": (f"Peak memory of one LightSAE training step, N={args.memory_channels}",
                   f"sizes: {traffic}\n\n"),
        "attention": ("Attention: written-out (manual) path against SDPA, ms per batch",
                      f"sizes (dropout 0, shared embedding): {ATTENTION_SIZES}\n\n"),
    }  # fmt: skip
    config = ", ".join(f"{k} {v}" for k, v in _shape(args).items())
    text = [
        f"# sae_forecast speed benchmark\n\n{invocation.generated}.\n\nconfig: {config} "
        f"(medians of interleaved rounds); sizes {SPEED_SIZES}"
    ]
    for table, (heading, note) in sections.items():
        rows = invocation.table(records, KEY, table)
        if len(rows):
            text.append(f"## {heading}\n\n{note}{markdown(with_ratios(table, rows))}")
    (out / "speed.md").write_text("\n\n".join(text) + "\n")
