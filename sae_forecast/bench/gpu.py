"""GPU: seconds per epoch of the GPU path, and how busy the GPU is while training.

It fits the four forecasters (``lightsae``, the authors'
sizes for each dataset, batch 32, L = H = 96) on Weather and beijing_air with ``device="cuda"``,
in fp32 and under bf16 autocast, through the forecasters' own ``fit``. For each it runs a
warm-up fit, times ``--batches`` training batches (``train_dur``) and scales them to one epoch
of the dataset's training windows, then profiles ``--profile-batches`` batches with
``torch.profiler``: the share of the wall time the GPU spent in kernels and copies (the rest is
the GPU waiting for the host), the host-to-device copies per batch (the windows live on the
device, so there should be none but the scalar bookkeeping) and whether fused attention
kernels ran. ``--device cpu`` runs the same code on the CPU (GPU columns empty), which is how
the tests keep this path correct on machines without a GPU.
"""

from __future__ import annotations

import itertools
import time
from functools import partial

import pandas as pd
import torch
from torch.profiler import ProfilerActivity, profile

from sae_forecast.bench.presets import HORIZON as PRED_LEN
from sae_forecast.bench.presets import SEQ_LEN, reference_sizes
from sae_forecast.bench.report import markdown
from sae_forecast.bench.runner import Cell, keyed_cell
from sae_forecast.bench.runs import epoch_batches, series, timing_forecaster
from sae_forecast.forecasting import FORECASTERS

KEY = ("key",)
RECORDS = "gpu.jsonl"
DEFAULT_OUT = "docs/benchmarks"
FUSED_ATTENTION = ("flash", "efficient_attention", "cudnn_attention", "scaled_dot_product")


def _rows(frame: pd.DataFrame, n_batches: int, batch_size: int) -> pd.DataFrame:
    return frame.iloc[: SEQ_LEN + PRED_LEN - 1 + n_batches * batch_size]


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gpu_time_share(prof, wall: float) -> dict:
    """Kernel and copy time on the device over ``wall`` seconds, from a profiler trace.

    Examples
    --------
    >>> with profile(activities=[ProfilerActivity.CPU]) as prof:
    ...     _ = torch.ones(3) + 1
    >>> gpu_time_share(prof, 1.0)["GPU busy"] is None
    True
    """
    events = [e for e in prof.events() if e.device_type.name == "CUDA"]
    if not events:
        return {"GPU busy": None, "HtoD copies": 0, "fused attention": None}
    busy = sum(e.time_range.elapsed_us() for e in events) / 1e6  # seconds
    copies = sum("HtoD" in e.name for e in events)
    fused = any(any(k in e.name.lower() for k in FUSED_ATTENTION) for e in events)
    return {"GPU busy": min(busy / wall, 1.0), "HtoD copies": copies, "fused attention": fused}


def _profiled_fit(forecaster, frame: pd.DataFrame, device: str) -> dict:
    activities = [ProfilerActivity.CPU]
    if device.startswith("cuda"):
        activities.append(ProfilerActivity.CUDA)
    _synchronize(device)
    with profile(activities=activities) as prof:
        began = time.perf_counter()
        forecaster.fit(frame)
        _synchronize(device)
        wall = time.perf_counter() - began
    return gpu_time_share(prof, wall)


def measure(
    backbone: str,
    frame: pd.DataFrame,
    dataset: str,
    *,
    device: str = "cuda",
    precision: str = "fp32",
    batch_size: int = 32,
    batches: int = 100,
    profile_batches: int = 20,
    sizes: dict | None = None,
) -> dict:
    """Time and profile ``backbone`` on the first rows of ``frame`` (see the module doc)."""
    sizes = reference_sizes(backbone, dataset, PRED_LEN) if sizes is None else sizes
    options = {"device": device, "precision": precision, "batch_size": batch_size}
    build = partial(timing_forecaster, backbone, frame.shape[1], sizes, max_epochs=1, **options)
    build().fit(_rows(frame, 4, batch_size))  # warm-up: CUDA context, kernels, allocator
    timed = build().fit(_rows(frame, batches, batch_size))
    per_batch = timed.net_.history[-1, "train_dur"] / batches
    share = _profiled_fit(build(), _rows(frame, profile_batches, batch_size), device)
    share["HtoD copies"] = share["HtoD copies"] / profile_batches  # per batch
    return {
        "dataset": dataset,
        "backbone": backbone,
        "precision": precision,
        "s/batch": per_batch,
        "s/epoch": per_batch * epoch_batches(dataset, batch_size),
        **share,
        "peak GiB (device)": _peak_gib(device),
    }


def _peak_gib(device: str):
    if not device.startswith("cuda"):
        return None
    peak = torch.cuda.max_memory_allocated() / 2**30
    torch.cuda.reset_peak_memory_stats()
    return peak


def add_options(parser) -> None:
    """Device, datasets, backbones, precisions and the batches timed and profiled."""
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--datasets", nargs="+", default=["Weather", "beijing_air"])
    parser.add_argument("--backbones", nargs="+", default=list(FORECASTERS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--batches", type=int, default=100, help="timed batches")
    parser.add_argument("--profile-batches", type=int, default=20)


def cells(args) -> list[Cell]:
    """One cell per dataset, backbone and precision."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda was requested but torch sees no CUDA device.")
    options = {"device": args.device, "batches": args.batches}
    options["profile_batches"] = args.profile_batches
    grid = itertools.product(args.datasets, args.backbones, args.precisions)
    return [
        keyed_cell(
            f"{d} {b} {p}", {"dataset": d, "backbone": b, "precision": p, **options}, **options
        )
        for d, b, p in grid
    ]


def compute(cell: Cell, args) -> list[dict]:
    """Time and profile one fit."""
    spec = dict(cell.spec)
    backbone, dataset = spec.pop("backbone"), spec.pop("dataset")
    return [{"table": "gpu", **measure(backbone, series(dataset, args.data_home), dataset, **spec)}]


def write_page(out, records, invocation, args) -> None:
    """``gpu.md``: one row per cell."""
    rows = markdown(invocation.table(records, KEY, "gpu"))
    (out / "gpu.md").write_text(f"# The GPU path\n\n{invocation.generated}.\n\n{rows}\n")
