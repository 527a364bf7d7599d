"""Accuracy: train and compare embeddings under the standard protocol (``--preset``).

Every cell is one :class:`~sae_forecast.bench.presets.Run` fitted through the sktime forecaster
users fit (:func:`~sae_forecast.bench.runs.train`); the page is ``results.md``, ``headline.md``
and ``gains.png`` of the runs asked for.
"""

from __future__ import annotations

import torch

from sae_forecast.bench.presets import PRESETS, SEQ_LEN, build_runs
from sae_forecast.bench.runner import Cell
from sae_forecast.bench.runs import train
from sae_forecast.bench.tables import add_derived_columns, results_markdown, write_pages
from sae_forecast.data import CATALOG
from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS

KEY = ("key",)
DEFAULT_OUT = "bench_out"
PROTOCOL = (
    f"lookback {SEQ_LEN}, standard splits, train-only scaler, every test window, MSE/MAE on "
    "scaled data (observed targets only where the data has gaps); Adam, lr halved each epoch, "
    "patience 3, clip 1.0, batch 32; lr selected on validation when a grid is given"
)
SELECTION = ("datasets", "backbones", "embeddings", "horizons", "lrs", "max_epochs")


def add_options(parser) -> None:
    """The preset and the selections that replace its lists."""
    add = parser.add_argument
    add("--preset", choices=sorted(PRESETS), default="quick")
    add("--datasets", nargs="+", choices=sorted(CATALOG))
    add("--backbones", nargs="+", choices=list(BACKBONES))
    add("--embeddings", nargs="+", choices=list(EMBEDDING_KINDS))
    add("--horizons", nargs="+", type=int)
    add("--seeds", nargs="+", type=int, default=[2023])
    add("--lrs", nargs="+", type=float, help="learning-rate grid (validation)")
    add("--max-epochs", type=int)
    add("--pool-size", type=int, help="K (default: 3, 7 or 10 by channels)")
    add("--rank", type=int, default=25)
    add("--precision", nargs="+", choices=["fp32", "bf16"], default=["fp32"])
    add("--device", default="cpu")


def cells(args) -> list[Cell]:
    """The preset's runs, narrowed by the selections."""
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda was requested but torch sees no CUDA device.")
    runs = build_runs(
        args.preset,
        **{name: getattr(args, name) for name in (*SELECTION, "pool_size", "rank", "device")},
        seeds=tuple(args.seeds),
        precision=tuple(args.precision),
    )
    return [
        Cell((run.key,), f"{run.label()} lrs={list(run.lrs)} {dict(run.parameters)}", run)
        for run in runs
    ]


def compute(cell: Cell, args) -> list[dict]:
    """Fit the run (one forecaster per lr) and score every test window."""
    _, record = train(cell.spec, args.data_home)
    return [record]


def write_page(out, records, invocation, args) -> None:
    """``results.md``, ``headline.md`` and ``gains.png`` of the runs asked for."""
    results = add_derived_columns(invocation.selected(records, KEY))
    header = (
        f"{invocation.generated}: {len(results)} runs, {len(invocation.computed)} trained in this "
        f"invocation ({invocation.seconds:.0f} s), the others read from `runs.jsonl` (each "
        "record names the CPU that timed it)"
    )
    if "carried_over" in results:
        header += (
            f"; {results['carried_over'].notna().sum()} were carried over from the bench before "
            "it called the forecasters (the forecaster path trains bitwise the same weights)"
        )
    write_pages(out, f"{header}.\n\n", results, protocol=PROTOCOL)
    print("\n" + results_markdown(results))
