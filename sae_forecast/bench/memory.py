"""Memory for many channels: training with the encoder in chunks against all rows at once.

PatchTST encodes every (window, channel) series of a batch at once, so its activations grow
with ``batch x N``. With ``chunk_size`` the encoder runs a chunk of series at a time and
recomputes their activations in backward (``EncoderLayer.forward_in_chunks`` in
:mod:`sae_forecast.nn.transformer`). This study fits PatchTST at the authors' sizes for
Traffic (batch 32, L = H = 96) on synthetic series of N channels, each point in a fresh
process (``measure_point`` of :mod:`sae_forecast.bench.scaling`: two epochs of ``--batches``
batches, the second timed), all at once at ``--unchunked`` N and chunked at ``--channels`` N.
It reports the peak resident memory, the seconds per batch, the ratios where both ran at the
same N in this run (the memory saved and the cost of recomputing), and the N that fits in
``--budget`` GiB by a line through the chunked points (extrapolated, not run).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from sae_forecast.bench.presets import HORIZON, reference_sizes
from sae_forecast.bench.report import markdown
from sae_forecast.bench.runner import Cell, keyed_cell, measure_in_fresh_process

KEY = ("key",)
RECORDS = "memory.jsonl"
DEFAULT_OUT = "docs/benchmarks/memory"
TARGET_N, TARGET_GIB = 862, 8.0  # issue 22: PatchTST at Traffic's width, batch 32


def add_options(parser) -> None:
    """Backbones, channel counts (chunked and unchunked), chunk, batches, budget and sizes."""
    add = parser.add_argument
    add("--backbones", nargs="+", default=["PatchTST"])
    add("--channels", nargs="+", type=int, default=[321, 862, 1724], help="N run chunked")
    add("--unchunked", nargs="+", type=int, default=[321], help="N run all at once")
    add("--chunk-size", type=int, default=2048, help="series encoded at once")
    add("--batches", type=int, default=1, help="timed batches per point")
    add("--budget", type=float, default=24.0, help="GiB to fit in")
    add("--sizes-of", default="Traffic", help="dataset whose reference sizes to use")
    add("--sizes", type=json.loads, default=None, help="JSON backbone sizes (replace --sizes-of)")


def _sizes(args, backbone: str) -> dict:
    if args.sizes is not None:
        return dict(args.sizes)
    return reference_sizes(backbone, args.sizes_of, HORIZON)


def cells(args) -> list[Cell]:
    """A point per backbone, N and chunking (``None``: all at once)."""
    found = []
    for backbone in args.backbones:
        points = [(n, None) for n in args.unchunked] + [(n, args.chunk_size) for n in args.channels]
        for n, chunk in points:
            sizes = {**_sizes(args, backbone), "chunk_size": chunk}
            spec = {"backbone": backbone, "n_channels": n, "n_batches": args.batches}
            spec["sizes"] = sizes
            label = f"{backbone} N={n} chunk {chunk}"
            found.append(keyed_cell(label, spec, **spec, threads=args.threads))
    return found


def compute(cell: Cell, args) -> list[dict]:
    """The point measured in a fresh process (the scaling study's child)."""
    print(f"  {cell.label}", file=sys.stderr, flush=True)
    point = measure_in_fresh_process("scaling", cell.spec, args.threads)
    chunk = cell.spec["sizes"]["chunk_size"]
    return [
        {
            "table": "points",
            "backbone": point["backbone"],
            "N": point["N"],
            "chunk_size": chunk,
            **point,
        }
    ]


def _compared(points: pd.DataFrame) -> pd.DataFrame:
    """Per backbone and N run both ways: chunked over unchunked memory and time."""
    rows = []
    for (backbone, n), group in points.groupby(["backbone", "N"]):
        whole, chunked = group[group["chunk_size"].isna()], group[group["chunk_size"].notna()]
        if whole.empty or chunked.empty:
            continue
        whole, chunked = whole.iloc[-1], chunked.iloc[-1]
        rows.append(
            {
                "backbone": backbone,
                "N": n,
                "chunk": int(chunked["chunk_size"]),
                "peak GiB, all at once": whole["peak GiB"],
                "peak GiB, chunked": chunked["peak GiB"],
                "memory chunked / all": chunked["peak GiB"] / whole["peak GiB"],
                "time chunked / all": chunked["s/batch"] / whole["s/batch"],
            }
        )
    return pd.DataFrame(rows)


def _fits(points: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Per backbone: a line through its chunked points and the N it puts at ``budget`` GiB."""
    rows = []
    for backbone, group in points[points["chunk_size"].notna()].groupby("backbone"):
        row = {"backbone": backbone, "chunked points": len(group)}
        if group["N"].nunique() >= 2:
            slope, intercept = np.polyfit(group["N"].astype(float), group["peak GiB"], 1)
            row.update({"GiB per channel": slope, "GiB at N=0": intercept})
            largest = (budget - intercept) / slope  # floored, forgiving the fit's rounding
            row[f"N at {budget:g} GiB (extrapolated)"] = int(np.floor(largest + 1e-6))
        rows.append(row)
    return pd.DataFrame(rows)


def _target(points: pd.DataFrame) -> str:
    """Whether PatchTST at N=862, batch 32, trained within 8 GiB in these records."""
    chosen = points[
        (points["backbone"] == "PatchTST")
        & (points["N"] == TARGET_N)
        & (points["batch"] == 32)
        & points["chunk_size"].notna()
    ]
    if chosen.empty:
        return f"PatchTST at N={TARGET_N}, batch 32, chunked: not run by this command."
    peak = float(chosen["peak GiB"].min())
    verdict = "within" if peak <= TARGET_GIB else "over"
    return (
        f"PatchTST at N={TARGET_N}, batch 32, chunked: peak {peak:.2f} GiB measured, "
        f"{verdict} the {TARGET_GIB:g} GiB target."
    )


def write_page(out, records, invocation, args) -> None:
    """``memory.md``: the points, chunked against all at once, and where chunked stops fitting."""
    points = invocation.table(records, KEY, "points")
    named = "given" if args.sizes is not None else f"the reference sizes of {args.sizes_of}"
    sizes = _sizes(args, args.backbones[0])
    text = [
        f"# Memory for many channels: the encoder in chunks\n\n{invocation.generated}.\n",
        f"sizes: {named} ({sizes}), batch 32, L = H = 96, synthetic series",
        f"\n{_target(points)}",
        f"\n## Points (peak resident memory of a fresh process)\n\n{markdown(points)}",
        f"\n## Chunked against all at once, same N, same run\n\n{markdown(_compared(points))}",
        f"\n## Where chunked training stops fitting\n\n{markdown(_fits(points, args.budget))}",
    ]
    (out / "memory.md").write_text("\n".join(text) + "\n")
