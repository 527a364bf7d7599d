"""``python -m sae_forecast.bench.calibration``: are the forecast intervals honest?

Each forecaster (the ``results`` preset's sizes, learning rates and epoch caps, LightSAE
embedding, H=96) is fitted on the training and validation rows of the standard protocol,
once per interval method: ``conformal`` (the default: calibrated on the validation tail the
fit holds out, no extra training), ``conformal rolling`` (the same model, recalibrated every
``--refresh`` test rows with the residuals of the rows seen so far: what ``update`` with
``update_params=False`` does) and ``quantile`` (the network trained with the pinball loss,
its median the point forecast). Every test window is scored on observed targets, in units of
each channel's training standard deviation: empirical coverage of the 50/80/90/95% central
intervals, their mean width and interval (Winkler) score, and the pinball loss averaged over
the quantile levels of these intervals. ``ConformalIntervals`` (sktime) wraps the same
forecaster on the first ``--peer-channels`` channels (it is univariate: one model per
channel), refits it ``--peer-refits`` times per channel and is scored on
``--peer-windows`` test windows. Times: fit (s), the conformal calibration (s, repeated after
the fit), and the cost of intervals at prediction: for all test windows at once, and per
sktime call (``predict_interval`` against ``predict``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from sae_forecast.bench.interval_peers import neuralforecast_scores, peer_scores
from sae_forecast.bench.interval_scores import (
    CHUNK,
    COVERAGES,
    LEVELS,
    IntervalScore,
    chunks,
    scored_windows,
)
from sae_forecast.bench.presets import build_runs
from sae_forecast.bench.report import machine_line, markdown
from sae_forecast.bench.runs import SEQ_LEN, Run, append_record, load_records, train
from sae_forecast.data import CATALOG, fill_gaps, load_dataset, split_borders
from sae_forecast.forecasting._intervals import ConformalCalibration, calibrate, target_residuals


def _rolling(point, residuals, origin: int, refresh: int, size: int, std) -> np.ndarray:
    """Quantiles of windows ``point (b, H, N)`` whose first starts at residual row
    ``origin``, recalibrated every ``refresh`` windows on the ``size`` rows before."""
    quantiles = np.empty((len(point), len(LEVELS), *point.shape[1:]), point.dtype)
    for row in range(0, len(point), refresh):
        end = origin + row
        recent = ConformalCalibration(residuals[max(0, end - size) : end], size=size, tail=None)
        block = slice(row, row + refresh)
        quantiles[block] = point[block, None] + recent.offsets(LEVELS) / std
    return quantiles


def conformal_scores(forecaster, frame, borders, refresh: int) -> dict:
    """Static and rolling conformal scores over every test window, and their times."""
    series, observed, windows = scored_windows(forecaster, frame, borders)
    std, size = forecaster.scaler_.std, forecaster.calibration_size
    first_target = borders["test"][0] + forecaster.seq_len
    first = max(first_target - size, forecaster.seq_len + forecaster.pred_len_ - 1)
    residuals = target_residuals(forecaster, series, observed, first)  # rows first..end
    static = (forecaster.calibration_.offsets(LEVELS) / std).astype(np.float32)  # (Q, H, N)
    scores = {"conformal": IntervalScore(), "conformal rolling": IntervalScore()}
    seconds = {"predict_s": 0.0, "interval_s": 0.0}
    for start, X, target, mask in chunks(windows, refresh * max(1, CHUNK // refresh)):
        began = time.perf_counter()
        point = forecaster.net_.predict(X)  # (b, H, N)
        predicted = time.perf_counter()
        quantiles = point[:, None] + static[None]  # (b, Q, H, N)
        seconds["predict_s"] += predicted - began
        seconds["interval_s"] += time.perf_counter() - predicted
        scores["conformal"].add(quantiles, target, mask)
        origin = first_target + start - first
        rolling = _rolling(point, residuals, origin, refresh, size, std)
        scores["conformal rolling"].add(rolling, target, mask)
    return {name: {**score.result(), **seconds} for name, score in scores.items()}


def quantile_scores(forecaster, frame, borders) -> dict:
    """Scores of a quantile-trained forecaster over every test window, and its times."""
    _, _, windows = scored_windows(forecaster, frame, borders)
    score, seconds = IntervalScore(), {"predict_s": 0.0, "interval_s": 0.0}
    for _, X, target, mask in chunks(windows):
        began = time.perf_counter()
        _, quantiles = forecaster.net_.forward(X)  # (b, H, N, Q): one pass gives all levels
        seconds["predict_s"] += time.perf_counter() - began
        score.add(quantiles.numpy().transpose(0, 3, 1, 2), target, mask)  # (b, Q, H, N)
    return {"quantile": {**score.result(), **seconds}}


def sktime_call_ms(forecaster, repeats: int = 20) -> dict:
    """Median ms of ``predict`` and of ``predict_interval`` (four coverages), interleaved."""
    fh = list(range(1, forecaster.pred_len_ + 1))
    times = {"predict_ms": [], "predict_interval_ms": []}
    for _ in range(repeats):
        for name, call in (
            ("predict_ms", lambda: forecaster.predict(fh=fh)),
            ("predict_interval_ms", lambda: forecaster.predict_interval(fh=fh, coverage=COVERAGES)),
        ):
            began = time.perf_counter()
            call()
            times[name].append(1e3 * (time.perf_counter() - began))
    return {name: float(np.median(values)) for name, values in times.items()}


def _protocol(run: Run, args):
    # positional rows, as the bench's runs use (Weather repeats a timestamp)
    frame = load_dataset(run.dataset, args.data_home).reset_index(drop=True)
    rule = CATALOG[run.dataset].split
    if args.rows:  # a short prefix for smoke runs, split 70/10/20
        frame, rule = frame.iloc[: args.rows], "ratio_7_1_2"
    return frame, split_borders(rule, len(frame), SEQ_LEN)


def _fit(run: Run, frame, args):
    began = time.perf_counter()
    forecaster, record = train(run, args.data_home, frame if args.rows else None)
    record.update(
        fit_s=time.perf_counter() - began,
        train_s=float(np.sum(forecaster.net_.history[:, "dur"])),
        **sktime_call_ms(forecaster),
    )
    return forecaster, record


def _calibration_seconds(forecaster, frame, borders) -> float:
    """The conformal calibration that ``fit`` ran, repeated and timed."""
    values = frame.iloc[: borders["valid"][1]].to_numpy(np.float64)
    series, observed = fill_gaps(forecaster.scaler_.transform(values))
    valid = forecaster._split_windows(len(values))[1]
    began = time.perf_counter()
    calibrate(forecaster, series, observed, valid)
    return time.perf_counter() - began


def _kept(record: dict) -> dict:
    names = ("mse", "mae", "test_windows", "epochs", "lr", "n_channels", "fit_s", "train_s")
    names += ("calibration_s", "predict_ms", "predict_interval_ms")
    return {name: record[name] for name in names if name in record}


def run_methods(run: Run, args) -> dict[str, dict]:
    """Every interval method (and the peer) for one dataset and backbone: a row each."""
    frame, borders = _protocol(run, args)
    forecaster, record = _fit(run, frame, args)
    record["calibration_s"] = _calibration_seconds(forecaster, frame, borders)
    scores = conformal_scores(forecaster, frame, borders, args.refresh)
    rows = {method: {**_kept(record), **score} for method, score in scores.items()}
    if "quantile" in args.methods:
        parameters = {**dict(run.parameters), "interval_method": "quantile"}
        quantile_run = replace(run, lrs=(forecaster.lr,), parameters=tuple(parameters.items()))
        fitted, record = _fit(quantile_run, frame, args)
        rows["quantile"] = {**_kept(record), **quantile_scores(fitted, frame, borders)["quantile"]}
    if args.peer_windows:
        rows.update(peer_scores(forecaster, frame, borders, args))
    if "neuralforecast" in args.methods and run.backbone == "iTransformer":
        rows.update(neuralforecast_scores(forecaster, frame, borders, args))
    return rows


def calibration_runs(args) -> list[Run]:
    """The results preset's LightSAE runs at H=96 (epoch cap replaced by --max-epochs)."""
    runs = build_runs(
        "results",
        datasets=args.datasets,
        backbones=args.backbones,
        embeddings=["lightsae"],
        horizons=[96],
        max_epochs=args.max_epochs,
    )
    return sorted(runs, key=lambda run: run.backbone != "RLinear")  # cheap runs first


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--datasets", nargs="+", default=["ETTh1", "Weather", "beijing_air"])
    add("--backbones", nargs="+", default=["RLinear", "iTransformer"])
    add("--methods", nargs="+", default=["conformal", "quantile"])
    add("--refresh", type=int, default=24, help="test rows between rolling recalibrations")
    add("--max-epochs", type=int, help="replace the preset's epoch caps (smoke runs)")
    add("--rows", type=int, help="use the first ROWS rows, split 70/10/20 (smoke runs)")
    add("--nf-stride", type=int, default=24, help="neuralforecast: every k-th test window")
    add("--peer-channels", type=int, default=3)
    add("--peer-refits", type=int, default=4, help="ConformalIntervals refits per channel")
    add("--peer-windows", type=int, default=12, help="0 skips ConformalIntervals")
    add("--threads", type=int, default=1, help="torch threads")
    add("--data-home")
    add("--out", default="docs/benchmarks/intervals")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = out / "runs.jsonl"
    done = set(load_records(records).get("key", []))
    runs = [run for run in calibration_runs(args) if run.key not in done]
    print(f"machine: {machine_line()}\nruns: {len(runs)}", flush=True)
    for run in runs:
        for method, row in run_methods(run, args).items():
            record = {"key": run.key, "dataset": run.dataset, "backbone": run.backbone}
            record.update(method=method, parameters=dict(run.parameters), **row)
            append_record(records, record)
            print(f"{run.label()} {method}: cover 80/90/95 = " + "/".join(
                f"{row[f'cover {c}']:.1f}" for c in (80, 90, 95)), flush=True)  # fmt: skip
    write_page(out, f"`python -m sae_forecast.bench.calibration {' '.join(argv)}`")
    return 0


def write_page(out: Path, command: str) -> None:
    """``calibration.md`` (coverage, sharpness and cost tables) and ``calibration.csv``."""
    frame = load_records(out / "runs.jsonl").drop(columns=["key", "parameters"])
    frame.to_csv(out / "calibration.csv", index=False)
    frame["fit +%"] = 100 * frame["calibration_s"] / frame["train_s"]
    frame["predict +%"] = 100 * frame["interval_s"] / frame["predict_s"]
    frame["call +%"] = 100 * (frame["predict_interval_ms"] / frame["predict_ms"] - 1)
    keys = ["dataset", "backbone", "method"]
    labels = [f"{100 * c:g}" for c in COVERAGES]
    cost = ["fit_s", "train_s", "calibration_s", "fit +%", "predict_s", "interval_s"]
    tables = {
        "Coverage (%) and pinball loss": [
            *(f"cover {c}" for c in labels),
            "defined",
            "pinball",
            "mse",
            "mae",
        ],
        "Mean width and interval (Winkler) score": [
            *(f"width {c}" for c in labels),
            *(f"winkler {c}" for c in labels),
        ],
        "Cost": [*cost, "predict +%", "predict_ms", "predict_interval_ms", "call +%"],
    }
    sections = [
        f"## {title}\n\n{markdown(frame.reindex(columns=keys + columns))}\n"
        for title, columns in tables.items()
    ]
    (out / "calibration.md").write_text(
        f"# Forecast intervals: calibration\n\nGenerated by {command} on {machine_line()}.\n\n"
        f"{__doc__.split(chr(10) * 2, 1)[1]}\n" + "\n".join(sections)
    )


if __name__ == "__main__":
    raise SystemExit(main())
