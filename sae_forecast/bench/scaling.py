"""Scaling: fit time and peak memory against the number of channels and of devices.

It fits each backbone (``lightsae``, batch 32,
L = H = 96, the authors' sizes for Traffic unless ``--sizes-of`` says otherwise, so that only
N changes) on synthetic series of N = 7, 21, 132, 321 and 862 channels (the widths of ETTh1,
Weather, beijing_air, ECL and Traffic), each point in a fresh process, for two epochs of a
few batches: seconds per batch (of the second epoch), the seconds of one epoch of that
dataset's training windows, and the process's peak memory (resident set). Peak memory grows
linearly in N (activations of ``batch x N`` series), so a straight line through the measured
points gives the N at which a backbone stops fitting in ``--budget`` GiB: at batch 32, at
batch 16, and under bf16 autocast (its ratio measured at the largest N run). Points whose
predicted peak exceeds ``--memory-limit`` GiB are predicted, not run (the machine may be
shared). The fleet table pretrains on 1, 4 and 16 devices (``pretrain``) of
``--fleet-channels`` channels.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import HORIZON as PRED_LEN
from sae_forecast.bench.presets import SEQ_LEN, reference_sizes
from sae_forecast.bench.report import markdown, peak_rss_gib
from sae_forecast.bench.runner import Cell, load_records, measure_in_fresh_process, settings_key
from sae_forecast.bench.runs import epoch_batches, timing_forecaster
from sae_forecast.data import make_heterogeneous_series
from sae_forecast.forecasting import FORECASTERS

KEY = ("key",)
RECORDS = "scaling.jsonl"
DEFAULT_OUT = "docs/benchmarks"
WIDTHS = {7: "ETTh1", 21: "Weather", 132: "beijing_air", 321: "ECL", 862: "Traffic"}


def measure_point(
    backbone: str,
    n_channels: int,
    *,
    batch_size: int = 32,
    n_batches: int = 4,
    precision: str = "fp32",
    n_devices: int = 1,
    sizes: dict | None = None,
) -> dict:
    """Fit two epochs of ``n_batches`` batches (per device) in this process; the second
    epoch's time per batch and the peak memory.

    ``sizes`` replaces the reference sizes (the tests use tiny ones). With ``n_devices > 1``
    the forecaster is pretrained on a fleet of that many devices (``pretrain``).
    """
    dataset = WIDTHS.get(n_channels, "Traffic")
    sizes = reference_sizes(backbone, dataset, PRED_LEN) if sizes is None else sizes
    forecaster = timing_forecaster(  # the second epoch is timed: no first-batch warm-up
        backbone, n_channels, sizes, batch_size=batch_size, max_epochs=2, precision=precision
    )
    n_rows = SEQ_LEN + PRED_LEN - 1 + n_batches * batch_size
    frames = [_series(n_channels, n_rows, seed) for seed in range(n_devices)]
    before = peak_rss_gib()
    if n_devices == 1:
        history = forecaster.fit(frames[0]).net_.history
    else:
        panel = pd.concat(dict(enumerate(frames)), names=["device", "time"])
        history = forecaster.pretrain(panel).fleet_.history
    per_batch = history[-1, "train_dur"] / (n_batches * n_devices)
    epoch = per_batch * epoch_batches(dataset, batch_size) * n_devices
    return {
        "backbone": backbone,
        "N": n_channels,
        "devices": n_devices,
        "batch": batch_size,
        "precision": precision,
        "s/batch": per_batch,
        "s/epoch": epoch,
        "peak GiB": peak_rss_gib(),
        "GiB before fit": before,
    }


def _series(n_channels: int, n_rows: int, seed: int) -> pd.DataFrame:
    """Synthetic channels named alike on every device (the same sensors)."""
    types = min(4, n_channels)
    frame = make_heterogeneous_series(n_channels, types, n_rows, random_state=seed)[0]
    return frame.set_axis([f"ch{i}" for i in range(n_channels)], axis=1)


def child(spec: dict) -> dict:
    """:func:`measure_point` of ``spec`` in this (fresh) process, with its torch threads."""
    return {**measure_point(**spec), "threads": torch.get_num_threads()}


def _line(rows: pd.DataFrame) -> tuple[float, float]:
    """Least-squares ``peak = intercept + slope * N`` through the measured rows."""
    if len(rows) < 2:
        return (float(rows["peak GiB"].iloc[0]) if len(rows) else 0.0), 0.0
    slope, intercept = np.polyfit(rows["N"].astype(float), rows["peak GiB"], 1)
    return float(intercept), float(max(slope, 1e-9))


def add_options(parser) -> None:
    """Backbones, channel counts, fleet sizes, memory budget and the sizes used."""
    add = parser.add_argument
    add("--backbones", nargs="+", default=list(FORECASTERS))
    add("--channels", nargs="+", type=int, default=list(WIDTHS))
    add("--devices", nargs="+", type=int, default=[1, 4, 16])
    add("--fleet-channels", type=int, default=7)
    add("--batches", type=int, default=4, help="timed batches per point")
    add("--budget", type=float, default=24.0, help="GiB to fit in")
    add("--memory-limit", type=float, default=16.0, help="GiB; above: predict")
    add("--sizes-of", default="Traffic", help='dataset whose reference sizes to use ("own": N\'s)')
    add("--sizes", type=json.loads, default=None, help="JSON backbone sizes")
    add("--tables", nargs="+", default=["channels", "fleet"])


def _cell(args, table: str, backbone: str, n_channels: int, **options) -> Cell:
    sizes = args.sizes
    if sizes is None and args.sizes_of != "own":
        sizes = reference_sizes(backbone, args.sizes_of, PRED_LEN)
    spec = {"backbone": backbone, "n_channels": n_channels, "n_batches": args.batches, **options}
    spec.update({} if sizes is None else {"sizes": sizes})
    key = settings_key(table, backbone, n_channels, **spec, threads=args.threads)
    return Cell((key,), f"{table} {backbone} N={n_channels} {options}", {"table": table, **spec})


def cells(args) -> list[Cell]:
    """A point per backbone and N (and bf16 at the largest), and per fleet size."""
    found = []
    for backbone in args.backbones if "channels" in args.tables else ():
        found += [_cell(args, "channels", backbone, n) for n in args.channels]
        found.append(_cell(args, "bf16", backbone, max(args.channels), precision="bf16"))
    for backbone in args.backbones if "fleet" in args.tables else ():
        found += [
            _cell(args, "fleet", backbone, args.fleet_channels, n_devices=m) for m in args.devices
        ]
    return found


def _measured(args, backbone: str) -> pd.DataFrame:
    """The fp32 channel points of ``backbone`` measured so far."""
    records = load_records(args.out / RECORDS)
    if records.empty:
        return records
    chosen = (records["table"] == "channels") & (records["backbone"] == backbone)
    return records[chosen & (records["precision"] == "fp32")]


def compute(cell: Cell, args) -> list[dict]:
    """Measure the point in a fresh process, or predict it past ``--memory-limit``."""
    spec = dict(cell.spec)
    table, backbone, n = spec.pop("table"), spec["backbone"], spec["n_channels"]
    measured = _measured(args, backbone)
    intercept, slope = _line(measured)
    if table == "channels" and len(measured) >= 2 and intercept + slope * n > args.memory_limit:
        return [
            {
                "table": table,
                "backbone": backbone,
                "N": n,
                "precision": "fp32 predicted",
                "peak GiB": intercept + slope * n,
            }
        ]
    if table == "bf16" and len(measured):
        spec["n_channels"] = int(measured["N"].max())  # the largest N measured in fp32
    print(f"  {backbone} N={spec['n_channels']}", file=sys.stderr, flush=True)
    return [{"table": table, **measure_in_fresh_process("scaling", spec, args.threads)}]


def _limits(args, backbone: str, rows: pd.DataFrame) -> dict:
    measured = rows[(rows["table"] == "channels") & (rows["precision"] == "fp32")]
    intercept, slope = _line(measured)
    largest = measured.loc[measured["N"].idxmax()]
    bf16 = rows[rows["table"] == "bf16"].iloc[0]
    ratio = (bf16["peak GiB"] - intercept) / max(largest["peak GiB"] - intercept, 1e-9)
    room = args.budget - intercept  # activations scale with batch x N: a line through 0

    def n_max(per_channel: float) -> int | None:
        return int(room / per_channel) if len(measured) > 1 else None

    return {
        "backbone": backbone,
        "GiB per channel": slope,
        "GiB at N=0": intercept,
        f"N max ({args.budget:g} GiB, batch 32)": n_max(slope),
        "N max (batch 16)": n_max(slope / 2),
        "N max (bf16)": n_max(slope * max(ratio, 1e-3)),
        "bf16/fp32 activation memory": ratio,
    }


def write_page(out, records, invocation, args) -> None:
    """``scaling.md``: the points by channels, where each backbone stops fitting, by fleet."""
    rows = invocation.selected(records, KEY)
    text = [
        f"# Scaling by channels and devices\n\n{invocation.generated}.\n",
        f"sizes: the reference sizes of {args.sizes_of}",
    ]
    if "channels" in args.tables:
        points = markdown(invocation.table(records, KEY, "channels"))
        limits = [_limits(args, b, rows[rows["backbone"] == b]) for b in args.backbones]
        text.append(f"\n## Fit time and peak memory by channels\n\n{points}")
        text.append(f"\n## Where each backbone stops fitting\n\n{markdown(pd.DataFrame(limits))}")
    if "fleet" in args.tables:
        fleet = markdown(invocation.table(records, KEY, "fleet"))
        text.append(f"\n## By fleet size (N={args.fleet_channels})\n\n{fleet}")
    (out / "scaling.md").write_text("\n".join(text) + "\n")
