"""Scaling figures: fit time and peak memory against the number of channels and of devices.

``python -m sae_forecast.bench.scaling`` fits each backbone (``lightsae``, batch 32,
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

import argparse
import json
import sys

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import default_pool_size, reference_sizes
from sae_forecast.bench.report import machine_line, markdown, measure_in_fresh_process
from sae_forecast.bench.speed import peak_rss_gib
from sae_forecast.data import CATALOG, make_heterogeneous_series, split_borders
from sae_forecast.forecasting import FORECASTERS

WIDTHS = {7: "ETTh1", 21: "Weather", 132: "beijing_air", 321: "ECL", 862: "Traffic"}
SEQ_LEN = PRED_LEN = 96


def epoch_windows(n_channels: int) -> int:
    """Training windows of the catalog dataset with this many channels (L = H = 96).

    Examples
    --------
    >>> epoch_windows(7)
    8449
    """
    info = CATALOG[WIDTHS.get(n_channels, "Traffic")]
    return split_borders(info.split, info.n_rows, SEQ_LEN)["train"][1] - SEQ_LEN - PRED_LEN + 1


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
    forecaster = FORECASTERS[backbone](
        seq_len=SEQ_LEN,
        pred_len=PRED_LEN,
        pool_size=default_pool_size(n_channels),
        batch_size=batch_size,
        max_epochs=2,  # the second epoch is timed: no first-batch warm-up in the figure
        validation_size=0,
        precision=precision,
        random_state=0,
        **(reference_sizes(backbone, dataset, PRED_LEN) if sizes is None else sizes),
    )
    n_rows = SEQ_LEN + PRED_LEN - 1 + n_batches * batch_size
    frames = [_series(n_channels, n_rows, seed) for seed in range(n_devices)]
    before = peak_rss_gib()
    if n_devices == 1:
        history = forecaster.fit(frames[0]).net_.history
    else:
        panel = pd.concat(dict(enumerate(frames)), names=["device", "time"])
        history = forecaster.pretrain(panel).pretrain_history_
    per_batch = history[-1, "train_dur"] / (n_batches * n_devices)
    epoch = per_batch * -(-epoch_windows(n_channels) // batch_size) * n_devices
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


def _fresh(args, backbone: str, n_channels: int, **options) -> dict:
    sizes = args.sizes
    if sizes is None and args.sizes_of != "own":
        sizes = reference_sizes(backbone, args.sizes_of, PRED_LEN)
    point = {"backbone": backbone, "n_channels": n_channels, "n_batches": args.batches}
    child = json.dumps({**point, **options, **({} if sizes is None else {"sizes": sizes})})
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    return measure_in_fresh_process("sae_forecast.bench.scaling", child, threads)


def _line(rows: list[dict]) -> tuple[float, float]:
    """Least-squares ``peak = intercept + slope * N`` through the measured rows."""
    if len(rows) < 2:
        return (rows[0]["peak GiB"] if rows else 0.0), 0.0
    slope, intercept = np.polyfit([r["N"] for r in rows], [r["peak GiB"] for r in rows], 1)
    return float(intercept), float(max(slope, 1e-9))


def channel_table(args) -> tuple[list[dict], list[dict]]:
    """Points per backbone and N (predicted past ``memory_limit``), and the N that fits."""
    points, limits = [], []
    for backbone in args.backbones:
        measured = []
        for n in args.channels:
            intercept, slope = _line(measured)
            if len(measured) >= 2 and intercept + slope * n > args.memory_limit:
                predicted = {"precision": "fp32 predicted", "peak GiB": intercept + slope * n}
                points.append({"backbone": backbone, "N": n, **predicted})
                continue
            print(f"  {backbone} N={n}", file=sys.stderr, flush=True)
            measured.append(_fresh(args, backbone, n))
            points.append(measured[-1])
        limits.append(_limits(args, backbone, measured))
    return points, limits


def _limits(args, backbone: str, measured: list[dict]) -> dict:
    intercept, slope = _line(measured)
    largest = measured[-1]
    bf16 = _fresh(args, backbone, largest["N"], precision="bf16")
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


def fleet_table(args) -> list[dict]:
    """Points per backbone and number of devices (``pretrain`` on a fleet)."""
    return [
        _fresh(args, backbone, args.fleet_channels, n_devices=m)
        for backbone in args.backbones
        for m in args.devices
    ]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=list(FORECASTERS))
    parser.add_argument("--channels", nargs="+", type=int, default=list(WIDTHS))
    parser.add_argument("--devices", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--fleet-channels", type=int, default=7)
    parser.add_argument("--batches", type=int, default=4, help="timed batches per point")
    parser.add_argument("--budget", type=float, default=24.0, help="GiB to fit in")
    parser.add_argument("--memory-limit", type=float, default=16.0, help="GiB; above: predict")
    parser.add_argument(
        "--sizes-of", default="Traffic", help='dataset whose reference sizes to use ("own": N\'s)'
    )
    parser.add_argument("--sizes", type=json.loads, default=None, help="JSON backbone sizes")
    parser.add_argument("--tables", nargs="+", default=["channels", "fleet"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads per point")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.memory_child:
        if args.threads:
            torch.set_num_threads(args.threads)
        point = measure_point(**json.loads(args.memory_child))
        print(json.dumps({**point, "threads": torch.get_num_threads()}))
        return
    command = " ".join(["python -m sae_forecast.bench.scaling", *argv])
    print(f"# Scaling by channels and devices\n\nGenerated by `{command}`.\n")
    print(f"machine: {machine_line()}\nsizes: the reference sizes of {args.sizes_of}")
    if "channels" in args.tables:
        points, limits = channel_table(args)
        print(f"\n## Fit time and peak memory by channels\n\n{markdown(pd.DataFrame(points))}")
        print(f"\n## Where each backbone stops fitting\n\n{markdown(pd.DataFrame(limits))}")
    if "fleet" in args.tables:
        rows = fleet_table(args)
        print(f"\n## By fleet size (N={args.fleet_channels})\n\n{markdown(pd.DataFrame(rows))}")


if __name__ == "__main__":
    main()
