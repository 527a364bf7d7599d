"""``python -m sae_forecast.bench``: train and compare embeddings under the standard protocol.

Prints the machine and the configuration, shows a progress bar, writes ``results.csv``
(one row per run, appended as runs finish, so ``--resume`` can continue an interrupted
benchmark), ``results.md`` and ``gains.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from sae_forecast.bench.experiment import run_experiment
from sae_forecast.bench.presets import PRESETS, build_experiments
from sae_forecast.bench.report import machine_line, replace_section
from sae_forecast.bench.results import (
    add_derived_columns,
    configuration_markdown,
    gain_figure,
    headline_markdown,
    lr_grid_from_cell,
    results_markdown,
    sizes_from_cell,
    timing_machines,
)
from sae_forecast.data import CATALOG
from sae_forecast.nn import BACKBONES, EMBEDDING_KINDS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sae_forecast.bench", description=__doc__)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--datasets", nargs="+", choices=sorted(CATALOG))
    parser.add_argument("--backbones", nargs="+", choices=list(BACKBONES))
    parser.add_argument("--embeddings", nargs="+", choices=list(EMBEDDING_KINDS))
    parser.add_argument("--horizons", nargs="+", type=int)
    parser.add_argument("--seeds", nargs="+", type=int, default=[2023])
    parser.add_argument("--lrs", nargs="+", type=float, help="learning-rate grid (validation)")
    parser.add_argument("--max-epochs", type=int)
    parser.add_argument("--pool-size", type=int, help="K (default: 3, 7 or 10 by channels)")
    parser.add_argument("--rank", type=int, default=25)
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=["fp32", "bf16"],
        default=["fp32"],
        help="one or both; with both, every run is made under each",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-home", help="folder with the data (default $SAE_FORECAST_DATA)")
    parser.add_argument("--out", default="bench_out", help="output folder")
    parser.add_argument("--resume", action="store_true", help="skip runs already in results.csv")
    parser.add_argument(
        "--readme",
        help="also write the headline table into this page, between "
        "<!-- headline:start --> and <!-- headline:end -->",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: rebuild results.md, headline.md and gains.png from results.csv",
    )
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    return parser.parse_args(argv)


def _run_key(row: dict) -> str:
    keep = (
        "dataset",
        "backbone",
        "embedding",
        "horizon",
        "seed",
        "pool_size",
        "rank",
        "seq_len",
        "batch_size",
        "max_epochs",
        "patience",
        "precision",
        "device",
    )
    sizes = sizes_from_cell(row["sizes"])
    lrs = lr_grid_from_cell(row.get("lr_grid") or list(row.get("lrs", ())))
    penalty = row.get("gate_penalty")
    penalty = None if penalty != penalty else penalty  # NaN from an older CSV
    extra = [penalty, float(row.get("gate_penalty_weight", 0.01))]
    return json.dumps([[row[k] for k in keep], sorted(sizes.items()), list(lrs), extra])


def _experiment_key(exp) -> str:
    row = asdict(exp)
    row["sizes"] = dict(exp.sizes)
    return _run_key(row)


def _write_row(path: Path, row: dict) -> None:
    """Append one run; a column the file lacks so far is added (older rows get NaN)."""
    frame = pd.DataFrame(
        [{**row, "sizes": json.dumps(row["sizes"]), "lr_grid": json.dumps(row["lr_grid"])}]
    )
    if path.exists():
        header = pd.read_csv(path, nrows=0).columns
        if set(frame.columns) - set(header):
            frame = pd.concat([pd.read_csv(path), frame], ignore_index=True)
            frame.to_csv(path, index=False)
            return
        frame = frame.reindex(columns=header)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda was requested but torch sees no CUDA device.")
    experiments = build_experiments(
        args.preset,
        datasets=args.datasets,
        backbones=args.backbones,
        embeddings=args.embeddings,
        horizons=args.horizons,
        seeds=tuple(args.seeds),
        lrs=args.lrs,
        max_epochs=args.max_epochs,
        pool_size=args.pool_size,
        rank=args.rank,
        precision=tuple(args.precision),
        device=args.device,
    )
    print(f"# sae_forecast benchmark, preset {args.preset!r}\n")
    print(f"machine: {machine_line(args.device)}")
    print(
        "protocol: lookback 96, standard splits, train-only scaler, every test window, "
        "MSE/MAE on scaled data; Adam, lr halved each epoch, patience 3, clip 1.0, "
        "batch 32; lr selected on validation when a grid is given"
    )
    print(f"runs: {len(experiments)}")
    for exp in experiments:
        print(
            f"  {exp.label()}  K={exp.pool_size} r={exp.rank} lrs={list(exp.lrs)} "
            f"sizes={dict(exp.sizes)} max_epochs={exp.max_epochs} {exp.precision}"
        )
    if args.dry_run:
        return 0
    readme = None if args.readme is None else Path(args.readme)
    if readme is not None:  # fail now, not after hours of training
        replace_section(readme.read_text(), "headline", "")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "results.csv"
    if args.report_only:
        if not csv_path.exists():
            raise SystemExit(f"--report-only needs {csv_path}; run the benchmark first.")
        report_argv = [a for a in argv if a != "--report-only"]
        table = write_report(out, report_argv, args.device, None, len(experiments), readme=readme)
        print("\n" + table)
        return 0
    done = set()
    if args.resume and csv_path.exists():
        done = {_run_key(row) for row in pd.read_csv(csv_path).to_dict("records")}
    elif csv_path.exists():
        csv_path.unlink()
    start = time.perf_counter()
    report = dict(
        argv=argv, device=args.device, n_runs=len(experiments), resumed=bool(done), readme=readme
    )
    progress = tqdm(experiments, desc="runs", file=sys.stderr, dynamic_ncols=True)
    for exp in progress:
        if _experiment_key(exp) in done:
            continue
        progress.set_postfix_str(exp.label())
        row = run_experiment(exp, args.data_home)
        _write_row(csv_path, row)
        done.add(_experiment_key(exp))
        tqdm.write(
            f"{exp.label()}: mse {row['mse']:.4f} mae {row['mae']:.4f} lr {row['lr']:g} "
            f"epochs {row['epochs']} ({row['s_per_epoch']:.2f} s/epoch)",
            file=sys.stderr,
        )
        if len(done) < len(experiments):  # an interrupted benchmark leaves a true report
            write_report(out, seconds=time.perf_counter() - start, **report)
    table = write_report(out, seconds=time.perf_counter() - start, **report)
    print("\n" + table)
    print(f"\nwrote {csv_path}, {out / 'results.md'}, {out / 'gains.png'}")
    return 0


def write_report(
    out: Path,
    argv: list[str],
    device: str,
    seconds: float | None,
    n_runs: int,
    resumed: bool = False,
    readme: Path | None = None,
) -> str:
    """Rebuild ``results.md``, ``headline.md`` and ``gains.png`` from ``out/results.csv``.

    Called after every finished run, so the report always matches the CSV; while runs are
    missing, the header says how many are done. With ``readme``, the headline table also
    replaces that page's ``headline`` section. ``seconds=None`` says the pages were rebuilt
    without training (``--report-only``). Returns the results table.
    """
    results = add_derived_columns(pd.read_csv(out / "results.csv"))
    table = results_markdown(results)
    progress = "" if len(results) >= n_runs else f" ({len(results)} of {n_runs} runs so far)"
    command = f"`python -m sae_forecast.bench {' '.join(argv)}`"
    if seconds is None:  # the machine that rebuilt the pages did not time the runs
        header = (
            f"Runs of {command}; table rebuilt from results.csv (`--report-only`) "
            f"on {machine_line(device)}{progress}."
        )
    else:
        took = f"{seconds:.0f} s" + (" in the last (resumed) invocation" if resumed else "")
        header = f"Generated by {command} on {machine_line(device)}; {took}{progress}."
    header += f" {timing_machines(results)}\n\n"
    headline = headline_markdown(results)
    (out / "results.md").write_text(
        f"# Accuracy benchmark\n\n{header}## Summary (first horizon, fp32)\n\n"
        f"{headline}\n\n## All runs\n\n{table}\n\n"
        "![MSE change vs shared](gains.png)\n\n"
        f"## Configuration\n\n{configuration_markdown(results)}\n"
    )
    (out / "headline.md").write_text(header + headline + "\n")
    if readme is not None:
        readme.write_text(replace_section(readme.read_text(), "headline", header + headline))
    if results["mse_change_pct"].notna().any() and (results["embedding"] != "shared").any():
        gain_figure(results).savefig(out / "gains.png", dpi=120)
    return table


if __name__ == "__main__":
    raise SystemExit(main())
