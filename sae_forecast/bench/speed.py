"""Speed and memory of the embedding family inside the backbones (synthetic data).

``python -m sae_forecast.bench.speed`` prints the time per batch of a training step and of an
eval forward with every embedding kind and several channel counts (LightSAE inference uses its
cached merged weight); the peak memory of one LightSAE training step at 862 channels (Traffic),
each backbone in a fresh process; and attention through ``scaled_dot_product_attention``
against the written-out (seeded-dropout) path. Timings interleave the models round by round and
report medians, so ratios are taken under the same machine load.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import statistics
import sys
import time

import pandas as pd
import torch

from sae_forecast.bench.report import machine_line, markdown, measure_in_fresh_process
from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS
from sae_forecast.nn.transformer import force_manual_attention

# Reference sizes (DESIGN.md defaults; iTransformer as in its paper's scripts).
MODEL_OPTIONS = {
    "RLinear": {},
    "RMLP": {"d_model": 512},
    "PatchTST": {"d_model": 512, "n_heads": 8, "d_ff": 2048, "n_layers": 2},
    "iTransformer": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 2},
}
# The authors' Traffic configurations and batch sizes, for the 862-channel memory table.
TRAFFIC_OPTIONS = {
    **MODEL_OPTIONS,
    "PatchTST": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 2},
    "iTransformer": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 4},
}
TRAFFIC_BATCH = {"PatchTST": 4, "iTransformer": 16}
# The attention table: iTransformer on Weather (21 channels, 3 layers), PatchTST as in its
# ETTh1 script; the keys besides ``batch`` are backbone arguments.
_BASE = {"batch": 32, "seq_len": 96, "pred_len": 96, "d_model": 512}
ATTENTION_SIZES = {
    "iTransformer": dict(_BASE, n_channels=21, d_ff=512, n_layers=3, n_heads=8),
    "PatchTST": dict(_BASE, n_channels=7, d_ff=2048, n_layers=1, n_heads=2, patch_len=16, stride=8),
}


def _train_step(model, x, y) -> None:
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()


def _infer(model, x, y=None) -> None:
    with torch.no_grad():
        model(x)


def interleaved_medians(steps: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Run each callable once per round, ``repeats`` rounds; return median milliseconds."""
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


def _time_kinds(kinds, step, backbone: str, n_channels: int, shape: dict) -> dict[str, float]:
    """Median ms of ``step`` per batch for each embedding kind in ``backbone``.

    ``shape``: ``batch_size``, ``seq_len``, ``pred_len``, ``repeats`` and the embedding options
    ``rank``, ``pool_size`` and ``precision``, given beside :data:`MODEL_OPTIONS`.
    """
    options = dict(shape)
    batch, repeats = options.pop("batch_size"), options.pop("repeats")
    x = torch.randn(batch, options["seq_len"], n_channels)
    y = torch.randn(batch, options["pred_len"], n_channels)
    models = {
        kind: BACKBONES[backbone](
            n_channels=n_channels, embedding=kind, **MODEL_OPTIONS[backbone], **options
        ).train(step is _train_step)
        for kind in kinds
    }
    steps = {kind: functools.partial(step, model, x, y) for kind, model in models.items()}
    return interleaved_medians(steps, repeats)


SHAPE = dict(batch_size=32, seq_len=96, pred_len=96, rank=25, pool_size=10, precision="fp32")


def _timed_rows(kinds, step, backbones, channels, repeats, shape) -> list[dict]:
    """Medians (ms) of ``step`` for every kind, backbone and channel count."""
    shape = {**SHAPE, **shape, "repeats": repeats}
    rows = []
    for backbone in backbones:
        for n in channels:
            rows.append(
                {"backbone": backbone, "N": n, **_time_kinds(kinds, step, backbone, n, shape)}
            )
            print(f"  timed {step.__name__} {backbone} N={n}", file=sys.stderr, flush=True)
    return rows


def training_table(
    *, backbones=("RLinear", "iTransformer"), channels=(7, 21, 132, 321), repeats=15, **shape
) -> list[dict]:
    """Milliseconds per training step (forward + backward) of every embedding kind.

    ``shape`` overrides ``SHAPE`` (batch_size, seq_len, pred_len, rank, pool_size, precision).
    """
    rows = _timed_rows(EMBEDDING_KINDS, _train_step, backbones, channels, repeats, shape)
    return [{**row, "lightsae/shared": row["lightsae"] / row["shared"]} for row in rows]


def inference_table(
    *, backbones=("RLinear", "iTransformer"), channels=(7, 21, 132, 321), repeats=15, **shape
) -> list[dict]:
    """Milliseconds per eval batch: shared, independent and LightSAE with cached weights.

    ``shape`` overrides ``SHAPE`` as in :func:`training_table`.
    """
    kinds = ("shared", "independent", "lightsae")
    rows = _timed_rows(kinds, _infer, backbones, channels, repeats, shape)
    for row in rows:
        row["lightsae (cached)"] = cached = row.pop("lightsae")
        row["cached/independent"] = cached / row["independent"]
    return rows


def attention_table(repeats: int = 5, sizes: dict | None = None) -> list[dict]:
    """Milliseconds per batch with SDPA against the written-out attention, on the CPU.

    For each backbone of ``sizes`` (``{backbone: {"batch": ..., **backbone arguments}}``,
    default :data:`ATTENTION_SIZES`): an eval forward without grad and a training step, with
    dropout 0 so that both paths compute the same function.
    """
    rows = []
    for backbone, options in (ATTENTION_SIZES if sizes is None else sizes).items():
        options = dict(options)
        batch = options.pop("batch")
        sdpa = BACKBONES[backbone](dropout=0.0, **options)
        models = {"manual": force_manual_attention(copy.deepcopy(sdpa)), "sdpa": sdpa}
        x = torch.randn(batch, options["seq_len"], options["n_channels"])
        y = torch.randn(batch, options["pred_len"], options["n_channels"])
        for mode, step in (("eval forward", _infer), ("training step", _train_step)):
            steps = {
                name: functools.partial(step, model.train(step is _train_step), x, y)
                for name, model in models.items()
            }
            ms = interleaved_medians(steps, repeats)
            rows.append({"backbone": backbone, "mode": mode, **ms})
            rows[-1]["manual/sdpa"] = ms["manual"] / ms["sdpa"]
    return rows


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (``VmHWM``, reset by ``exec``), in GiB.

    Off Linux, ``ru_maxrss`` (on Linux it would carry the parent's peak across ``exec``).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB -> GiB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _memory_child(args: argparse.Namespace) -> dict:
    """In this (fresh) process: RSS before and peak RSS after one LightSAE training step."""
    backbone, n, batch = args.memory_child, args.memory_channels, args.memory_batch_size
    options = {**TRAFFIC_OPTIONS[backbone], "rank": args.rank, "pool_size": args.pool_size}
    model = BACKBONES[backbone](
        args.seq_len, args.pred_len, n, embedding="lightsae", precision=args.precision, **options
    )
    x, y = torch.randn(batch, args.seq_len, n), torch.randn(batch, args.pred_len, n)
    before = peak_rss_gib()
    optimiser = torch.optim.Adam(model.parameters())
    _train_step(model.train(), x, y)
    optimiser.step()
    peak = peak_rss_gib()
    row = {"backbone": backbone, "N": n, "batch": batch, "rss before (GiB)": before}
    return {**row, "peak rss (GiB)": peak, "step increment (GiB)": peak - before}


def memory_table(args: argparse.Namespace, argv: list[str]) -> list[dict]:
    """Each backbone at ``--memory-batch-size`` and, where smaller, the authors' Traffic batch."""
    rows = []
    for backbone in args.memory_backbones:
        batches = [args.memory_batch_size]
        if TRAFFIC_BATCH.get(backbone, args.memory_batch_size) < args.memory_batch_size:
            batches.append(TRAFFIC_BATCH[backbone])
        for batch in batches:
            child = [*argv, "--memory-batch-size", str(batch)]
            rows.append(measure_in_fresh_process("sae_forecast.bench.speed", backbone, child))
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--channels", type=int, nargs="+", default=[7, 21, 132, 321])
    add("--backbones", nargs="+", default=["RLinear", "iTransformer"], choices=list(BACKBONES))
    add("--batch-size", type=int, default=32)
    add("--seq-len", type=int, default=96)
    add("--pred-len", type=int, default=96)
    add("--rank", type=int, default=25)
    add("--pool-size", type=int, default=10)
    add("--repeats", type=int, default=15)
    add("--precision", choices=["fp32", "bf16"], default="fp32")
    add("--memory-channels", type=int, default=862)
    add("--memory-batch-size", type=int, default=32)
    add("--memory-backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    tables = ["training", "inference", "memory", "attention"]
    add("--tables", nargs="+", default=tables, choices=tables)
    add("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(_memory_child(args)))
        return
    print(
        f"# sae_forecast speed benchmark\n\nGenerated by `python -m sae_forecast.bench.speed "
        f"{' '.join(argv)}`.\n\nmachine: {machine_line()}\nconfig: batch {args.batch_size}, "
        f"seq_len {args.seq_len}, pred_len {args.pred_len}, rank {args.rank}, pool_size "
        f"{args.pool_size}, precision {args.precision}, medians of {args.repeats} interleaved "
        f"rounds; sizes {MODEL_OPTIONS}"
    )
    shape = dict(backbones=args.backbones, channels=args.channels, repeats=args.repeats)
    shape.update(batch_size=args.batch_size, seq_len=args.seq_len, pred_len=args.pred_len)
    shape.update(rank=args.rank, pool_size=args.pool_size, precision=args.precision)
    memory = f"Peak memory of one LightSAE training step, N={args.memory_channels}"
    sections = [  # (table, heading, text before the table, rows)
        ("training", "Training step (forward + backward), ms per batch", "", training_table),
        ("inference", "Inference (eval, no grad), ms per batch", "", inference_table),
        ("memory", memory, f"sizes: {TRAFFIC_OPTIONS}", lambda **_: memory_table(args, argv)),
        (
            "attention",
            "Attention: written-out (manual) path against SDPA, ms per batch",
            f"sizes (dropout 0, shared embedding): {ATTENTION_SIZES}",
            lambda **_: attention_table(args.repeats),
        ),
    ]
    for table, heading, note, rows in sections:
        if table in args.tables:
            note = f"{note}\n\n" if note else ""
            print(f"\n## {heading}\n\n{note}{markdown(pd.DataFrame(rows(**shape)))}")


if __name__ == "__main__":
    main()
