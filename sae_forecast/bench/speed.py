"""Speed and memory of the embedding family inside the backbones (synthetic data).

Run ``python -m sae_forecast.bench.speed`` (``--help`` for options). It prints:

1. training time per batch (forward + backward + loss) of RLinear and iTransformer with every
   embedding kind, for several channel counts, and the LightSAE / shared ratio;
2. eval-mode inference time per batch: LightSAE with its cached merged weight against the
   independent embedding (same matmul) and the shared one;
3. peak resident memory of one training step of each backbone with LightSAE on a
   Traffic-sized input (862 channels), each in a fresh subprocess;
4. PatchTST and iTransformer at reference sizes with attention through
   ``scaled_dot_product_attention`` against the written-out (seeded-dropout) path, in eval
   mode and for a training step without dropout.

Timings interleave the embedding kinds round by round and report medians, so the ratios are
taken under the same machine load.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time

import torch

from sae_forecast.bench.report import machine_line, markdown_table, measure_in_fresh_process
from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS
from sae_forecast.nn.transformer import force_manual_attention

# Reference sizes (DESIGN.md defaults; iTransformer as in its paper's scripts).
MODEL_OPTIONS = {
    "RLinear": {},
    "RMLP": {"d_model": 512},
    "PatchTST": {"d_model": 512, "n_heads": 8, "d_ff": 2048, "n_layers": 2},
    "iTransformer": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 2},
}


# The LightSAE authors' Traffic configurations (their batch sizes were 4 for PatchTST, 16 for
# iTransformer); used for the 862-channel memory table.
TRAFFIC_OPTIONS = {
    **MODEL_OPTIONS,
    "PatchTST": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 2},
    "iTransformer": {"d_model": 512, "n_heads": 8, "d_ff": 512, "n_layers": 4},
}
TRAFFIC_BATCH = {"PatchTST": 4, "iTransformer": 16}  # the authors' Traffic batch sizes

# Sizes of the attention table: iTransformer on Weather (21 channels, 3 layers) and PatchTST
# as in its ETTh1 script; the keys besides ``batch`` are backbone arguments.
_BASE = {"batch": 32, "seq_len": 96, "pred_len": 96, "d_model": 512}
ATTENTION_SIZES = {
    "iTransformer": dict(_BASE, n_channels=21, d_ff=512, n_layers=3, n_heads=8),
    "PatchTST": dict(_BASE, n_channels=7, d_ff=2048, n_layers=1, n_heads=2, patch_len=16, stride=8),
}


def build(
    backbone: str,
    embedding: str,
    n_channels: int,
    args: argparse.Namespace,
    sizes: dict = MODEL_OPTIONS,
):
    """Build one backbone at the benchmark's sizes."""
    options = {**sizes[backbone], "rank": args.rank, "pool_size": args.pool_size}
    if args.precision == "bf16":
        options["precision"] = "bf16"
    return BACKBONES[backbone](
        args.seq_len, args.pred_len, n_channels, embedding=embedding, **options
    )


def _train_step(model, x, y) -> None:
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()


def _infer(model, x) -> None:
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


def training_table(args: argparse.Namespace) -> list[dict]:
    rows = []
    for backbone in args.backbones:
        for n in args.channels:
            x = torch.randn(args.batch_size, args.seq_len, n)
            y = torch.randn(args.batch_size, args.pred_len, n)
            models = {k: build(backbone, k, n, args).train() for k in EMBEDDING_KINDS}
            steps = {k: (lambda m=m, x=x, y=y: _train_step(m, x, y)) for k, m in models.items()}
            ms = interleaved_medians(steps, args.repeats)
            rows.append(
                {
                    "backbone": backbone,
                    "N": n,
                    **{k: ms[k] for k in EMBEDDING_KINDS},
                    "lightsae/shared": ms["lightsae"] / ms["shared"],
                }
            )
            print(f"  timed training {backbone} N={n}", file=sys.stderr, flush=True)
    return rows


def inference_table(args: argparse.Namespace) -> list[dict]:
    rows = []
    for backbone in args.backbones:
        for n in args.channels:
            x = torch.randn(args.batch_size, args.seq_len, n)
            models = {
                k: build(backbone, k, n, args).eval() for k in ("shared", "independent", "lightsae")
            }
            ms = interleaved_medians(
                {k: (lambda m=m, x=x: _infer(m, x)) for k, m in models.items()}, args.repeats
            )
            rows.append(
                {
                    "backbone": backbone,
                    "N": n,
                    "shared": ms["shared"],
                    "independent": ms["independent"],
                    "lightsae (cached)": ms["lightsae"],
                    "cached/independent": ms["lightsae"] / ms["independent"],
                }
            )
    return rows


def _attention_rows(backbone: str, options: dict, repeats: int) -> list[dict]:
    """Time one backbone with SDPA and with the forced written-out attention (same weights)."""
    options = dict(options)
    batch = options.pop("batch")
    sdpa = BACKBONES[backbone](dropout=0.0, **options)
    models = {"manual": force_manual_attention(copy.deepcopy(sdpa)), "sdpa": sdpa}
    x = torch.randn(batch, options["seq_len"], options["n_channels"])
    y = torch.randn(batch, options["pred_len"], options["n_channels"])
    rows = []
    for mode, training in (("eval forward", False), ("training step", True)):
        for model in models.values():
            model.train(training)
        step = _train_step if training else (lambda model, inputs, _: _infer(model, inputs))
        ms = interleaved_medians(
            {k: (lambda m=m, step=step: step(m, x, y)) for k, m in models.items()}, repeats
        )
        rows.append(
            {"backbone": backbone, "mode": mode, **ms, "manual/sdpa": ms["manual"] / ms["sdpa"]}
        )
    return rows


def attention_table(repeats: int = 5, sizes: dict | None = None) -> list[dict]:
    """Milliseconds per batch with SDPA against the written-out attention, on the CPU.

    For each backbone: an eval-mode forward without grad, and a training step (forward,
    MSE loss, backward) with dropout 0, where both paths compute the same function.

    Parameters
    ----------
    repeats : int, default=5
        Interleaved rounds whose median is reported (after 3 warm-up calls).
    sizes : dict or None, default=None
        ``{backbone: {"batch": ..., **backbone arguments}}``; ``None`` means
        :data:`ATTENTION_SIZES` (the reference sizes).

    Returns
    -------
    list of dict
        One row per backbone and mode with keys ``backbone``, ``mode``, ``manual``, ``sdpa``
        and ``manual/sdpa``.

    Examples
    --------
    >>> tiny = {"n_channels": 2, "d_model": 8, "d_ff": 8, "n_layers": 1, "n_heads": 2}
    >>> tiny = {"PatchTST": {"batch": 2, "seq_len": 16, "pred_len": 4, **tiny}}
    >>> [row["mode"] for row in attention_table(1, tiny)]
    ['eval forward', 'training step']
    """
    sizes = ATTENTION_SIZES if sizes is None else sizes
    return [row for name, opts in sizes.items() for row in _attention_rows(name, opts, repeats)]


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB.

    Reads ``VmHWM`` from ``/proc/self/status`` (reset by ``exec``); ``ru_maxrss`` is a fallback
    off Linux, but on Linux it carries the parent's peak across ``fork``/``exec``.
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


def _memory_child(backbone: str, n_channels: int, args: argparse.Namespace) -> dict:
    """Measure in this (fresh) process: RSS before and peak RSS after one training step."""
    model = build(backbone, "lightsae", n_channels, args, TRAFFIC_OPTIONS).train()
    batch = args.memory_batch_size
    x = torch.randn(batch, args.seq_len, n_channels)
    y = torch.randn(batch, args.pred_len, n_channels)
    before = peak_rss_gib()
    optimiser = torch.optim.Adam(model.parameters())
    _train_step(model, x, y)
    optimiser.step()
    peak = peak_rss_gib()
    return {
        "backbone": backbone,
        "N": n_channels,
        "batch": batch,
        "rss before (GiB)": before,
        "peak rss (GiB)": peak,
        "step increment (GiB)": peak - before,
    }


def memory_table(args) -> list[dict]:
    """Peak memory of one step per backbone at ``--memory-batch-size``, and at the authors'
    Traffic batch size where that is smaller (each in a fresh process)."""
    rows = []
    for child in args.memory_backbones:
        batches = [args.memory_batch_size]
        if TRAFFIC_BATCH.get(child, args.memory_batch_size) < args.memory_batch_size:
            batches.append(TRAFFIC_BATCH[child])
        for batch in batches:
            argv = [*args.argv, "--memory-batch-size", str(batch)]
            rows.append(measure_in_fresh_process("sae_forecast.bench.speed", child, argv))
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[7, 21, 132, 321])
    parser.add_argument(
        "--backbones", nargs="+", default=["RLinear", "iTransformer"], choices=list(BACKBONES)
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--pred-len", type=int, default=96)
    parser.add_argument("--rank", type=int, default=25)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--memory-channels", type=int, default=862)
    parser.add_argument("--memory-batch-size", type=int, default=32)
    parser.add_argument(
        "--memory-backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES)
    )
    parser.add_argument(
        "--tables",
        nargs="+",
        default=["training", "inference", "memory", "attention"],
        choices=["training", "inference", "memory", "attention"],
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    args.argv = argv
    if args.memory_child:
        print(json.dumps(_memory_child(args.memory_child, args.memory_channels, args)))
        return
    print(
        f"# sae_forecast speed benchmark\n\nGenerated by `python -m sae_forecast.bench.speed "
        f"{' '.join(argv)}`.\n\nmachine: {machine_line()}"
    )
    print(
        f"config: batch {args.batch_size}, seq_len {args.seq_len}, pred_len {args.pred_len}, "
        f"rank {args.rank}, pool_size {args.pool_size}, precision {args.precision}, "
        f"medians of {args.repeats} interleaved rounds; sizes {MODEL_OPTIONS}\n"
    )
    kinds = list(EMBEDDING_KINDS)
    if "training" in args.tables:
        print("## Training step (forward + backward), ms per batch\n")
        print(markdown_table(training_table(args), ["backbone", "N", *kinds, "lightsae/shared"]))
    if "inference" in args.tables:
        print("\n## Inference (eval, no grad), ms per batch\n")
        columns = [
            "backbone",
            "N",
            "shared",
            "independent",
            "lightsae (cached)",
            "cached/independent",
        ]
        print(markdown_table(inference_table(args), columns))
    if "memory" in args.tables:
        print(f"\n## Peak memory of one LightSAE training step, N={args.memory_channels}\n")
        print(f"sizes: {TRAFFIC_OPTIONS}\n")
        print(
            markdown_table(
                memory_table(args),
                [
                    "backbone",
                    "N",
                    "batch",
                    "rss before (GiB)",
                    "peak rss (GiB)",
                    "step increment (GiB)",
                ],
            )
        )
    if "attention" in args.tables:
        print("\n## Attention: written-out (manual) path against SDPA, ms per batch\n")
        print(f"sizes (dropout 0, shared embedding): {ATTENTION_SIZES}\n")
        columns = ["backbone", "mode", "manual", "sdpa", "manual/sdpa"]
        print(markdown_table(attention_table(args.repeats), columns))


if __name__ == "__main__":
    main()
