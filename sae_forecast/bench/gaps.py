"""``python -m sae_forecast.bench.gaps``: native gaps against imputer pipelines.

On ``beijing_air`` (real gaps) and on a clean dataset with gaps punched in (random cells, or
sensor outages of 24-168 steps, covering 10% or 30% of the values), each forecaster is trained
three ways on the same rows of the standard protocol: natively (masked loss, inputs filled
forward), and inside ``TransformedTargetForecaster([Imputer(method), forecaster])`` with
``ffill`` and ``linear``. Every test window is scored on observed targets only, in units of
the per-channel standard deviation of the observed training values (the same for all three),
with inputs filled forward in time (what any of them can do at prediction time). Model sizes,
lrs and seeds are the results preset's (H=96), with epoch caps given on the command line;
"fit s" is the wall-clock time of a whole fit (imputer included) as it ran, so it depends on
the load of the machine at that moment.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.transformations.series.impute import Imputer

from sae_forecast.bench.presets import build_runs
from sae_forecast.bench.report import machine_line, markdown
from sae_forecast.bench.runs import Run, append_record, load_records, protocol_forecaster
from sae_forecast.data import CATALOG, Standardiser, load_dataset, split_borders

PATTERNS = ("real", "cells 10%", "cells 30%", "outages 10%", "outages 30%")
METHODS = ("native", "ffill", "linear")


def punch(frame: pd.DataFrame, pattern: str, seed: int = 0) -> pd.DataFrame:
    """A copy of ``frame`` with gaps: ``"cells p%"`` (random cells) or ``"outages p%"``
    (per channel, blocks of 24-168 steps until at least p% of its values are missing: at
    most one block, 168 steps, more).

    Examples
    --------
    >>> frame = pd.DataFrame(np.ones((20000, 2)))
    >>> share = punch(frame, "outages 30%").isna().mean().mean()
    >>> bool(0.30 <= share < 0.31)
    True
    """
    if pattern == "real":
        return frame.copy()
    kind, share = pattern.split()
    share = float(share.rstrip("%")) / 100
    rng = np.random.default_rng(seed)
    missing = np.zeros(frame.shape, dtype=bool)
    if kind == "cells":
        missing = rng.random(frame.shape) < share
    else:
        for channel in range(frame.shape[1]):
            while missing[:, channel].mean() < share:
                length = int(rng.integers(24, 169))
                start = int(rng.integers(0, len(frame) - length))
                missing[start : start + length, channel] = True
    return frame.mask(missing)


def _model(run: Run, lr: float, borders: dict, method: str):
    forecaster = protocol_forecaster(run, lr, borders)
    if method == "native":
        return forecaster
    steps = [("impute", Imputer(method=method)), ("forecast", forecaster)]
    return TransformedTargetForecaster(steps)


def train_gappy(run: Run, frame: pd.DataFrame, method: str, rule: str) -> dict:
    """Fit ``run`` on ``frame`` (with gaps) by ``method``; score every test window."""
    borders = split_borders(rule, len(frame), 96)
    train_end, valid_end = borders["train"][1], borders["valid"][1]
    std = Standardiser.fit(frame.iloc[:train_end].to_numpy()).std
    began = time.perf_counter()
    model = _model(run, run.lrs[0], borders, method).fit(frame.iloc[:valid_end])
    seconds = time.perf_counter() - began
    forecaster = model if method == "native" else model.forecaster_
    score = forecaster.score_windows(
        frame.iloc[: borders["test"][1]], start=borders["test"][0], std=std
    )
    history = forecaster.net_.history
    return {
        "mse": score["mse"],
        "mae": score["mae"],
        "test_windows": score["n_windows"],
        "epochs": len(history),
        "s_per_epoch": float(np.mean(history[:, "train_dur"])),
        "fit_s": seconds,
        "missing_pct": 100 * float(frame.iloc[:valid_end].isna().mean().mean()),
    }


def gap_runs(clean: str, backbones, embeddings, max_epochs: dict) -> list[tuple[Run, str]]:
    """The results preset's configuration of each run, at H=96, for every gap pattern."""
    runs = []
    for pattern in PATTERNS:
        dataset = "beijing_air" if pattern == "real" else clean
        for run in build_runs(
            "results", datasets=[dataset], backbones=backbones, embeddings=embeddings,
            horizons=[96],
        ):  # fmt: skip
            parameters = {**dict(run.parameters), "max_epochs": max_epochs[run.backbone]}
            runs.append((replace(run, parameters=tuple(sorted(parameters.items()))), pattern))
    return runs


def masking_cost(dataset: str, backbone: str, data_home=None, rounds: int = 3) -> dict:
    """Seconds per training epoch on clean data, unmasked vs with an all-True target mask
    (the masked loss path), alternating the two ``rounds`` times; medians."""
    from sae_forecast.bench.presets import reference_sizes
    from sae_forecast.data import prepare_benchmark
    from sae_forecast.forecasting import FORECASTERS
    from sae_forecast.forecasting._builder import build_net
    from sae_forecast.training import SeriesWindows

    values, _ = prepare_benchmark(load_dataset(dataset, data_home), 96).part("train")
    sizes = reference_sizes(backbone, dataset, 96)
    forecaster = FORECASTERS[backbone](pred_len=96, pool_size=3, random_state=0, **sizes)
    forecaster.pred_len_, forecaster.n_channels_ = 96, values.shape[1]
    times = {"unmasked": [], "masked": []}
    for _ in range(rounds):
        for name, mask in (("unmasked", None), ("masked", np.ones(values.shape, bool))):
            net = build_net(forecaster, train_split=None, max_epochs=1, patience=None)
            net.fit(SeriesWindows(values, 96, 96, observed=mask))
            times[name].append(net.history[-1, "train_dur"])
    row = {k: float(np.median(v)) for k, v in times.items()}
    return {"dataset": dataset, "backbone": backbone, **row,
            "masked / unmasked": row["masked"] / row["unmasked"]}  # fmt: skip


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", default="ETTh1", choices=sorted(CATALOG))
    parser.add_argument("--backbones", nargs="+", default=["RLinear", "iTransformer"])
    parser.add_argument("--embeddings", nargs="+", default=["shared", "lightsae"])
    parser.add_argument("--patterns", nargs="+", default=list(PATTERNS), choices=PATTERNS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--epochs-rlinear", type=int, default=30)
    parser.add_argument("--epochs-itransformer", type=int, default=3)
    parser.add_argument("--cost", action="store_true", help="also time the masked loss path")
    parser.add_argument("--data-home")
    parser.add_argument("--out", default="docs/benchmarks/gaps")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.filterwarnings("ignore", message=".*remember_data.*", category=FutureWarning)
    args = parse_args(argv)
    epochs = {"RLinear": args.epochs_rlinear, "iTransformer": args.epochs_itransformer}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = out / "runs.jsonl"
    done = set(load_records(records).get("key", []))
    runs = gap_runs(args.clean, args.backbones, args.embeddings, epochs)
    runs.sort(key=lambda r: (r[0].backbone != "RLinear", r[1] == "real"))  # cheap runs first
    print(f"machine: {machine_line()}\nruns: {len(runs) * len(args.methods)}", flush=True)
    for run, pattern in (r for r in runs if r[1] in args.patterns):
        frame = punch(load_dataset(run.dataset, args.data_home), pattern)
        for method in args.methods:
            key = f"{run.key}-{pattern}-{method}"
            if key in done:
                continue
            result = train_gappy(run, frame, method, CATALOG[run.dataset].split)
            record = {"key": key, "dataset": run.dataset, "pattern": pattern, "method": method}
            record.update(backbone=run.backbone, embedding=run.embedding, **result)
            append_record(records, {**record, "parameters": dict(run.parameters)})
            print(f"{run.label()} {pattern} {method}: mse {result['mse']:.4f}", flush=True)
    if args.cost:
        rows = [masking_cost(args.clean, b, args.data_home) for b in args.backbones]
        pd.DataFrame(rows).to_csv(out / "masking_cost.csv", index=False)
    write_page(out, f"`python -m sae_forecast.bench.gaps {' '.join(argv)}`")
    return 0


def write_page(out: Path, command: str) -> None:
    """``gaps.md``: MSE by method (and against ffill) for every pattern, with fit times."""
    results = load_records(out / "runs.jsonl")
    keys = ["dataset", "pattern", "backbone", "embedding"]
    table = results.pivot_table(index=keys, columns="method", values="mse", sort=False)
    seconds = results.pivot_table(index=keys, columns="method", values="fit_s", sort=False)
    missing = results.groupby(keys, sort=False)["missing_pct"].first()
    for method in table.columns.drop("ffill", errors="ignore"):
        table[f"{method} vs ffill"] = (100 * (table[method] / table["ffill"] - 1)).map(
            "{:+.1f}%".format
        )
    table = table.join(seconds.add_suffix(" fit s")).join(missing.rename("missing %"))
    cost = ""
    if (out / "masking_cost.csv").exists():
        cost = (
            "\n## Cost of the masked loss on clean data (s per training epoch, medians)\n\n"
            f"{markdown(pd.read_csv(out / 'masking_cost.csv'))}\n"
        )
    (out / "gaps.md").write_text(
        f"# Gaps: native masking against imputer pipelines\n\nGenerated by {command} on "
        f"{machine_line()}.\n\n{__doc__.split(chr(10) * 2, 1)[1]}\n"
        f"{markdown(table.reset_index())}\n{cost}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
