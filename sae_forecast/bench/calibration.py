"""``python -m sae_forecast.bench.calibration``: are the forecast intervals honest?

Each forecaster (the ``results`` preset's sizes, learning rates and epoch caps, LightSAE
embedding, H=96) is fitted on the training and validation rows of the standard protocol,
once per interval method: ``conformal`` (the default: calibrated on every row of the
validation tail the fit holds out, no extra training; ``conformal, last 1000 rows``: on the
most recent 1000 of them), ``conformal rolling`` (the same model, recalibrated every
``--refresh`` test rows with the residuals of the rows seen so far: what ``update`` with
``update_params=False`` does) and ``quantile`` (the network trained with the pinball loss,
its median the point forecast). Every test window is scored on observed targets, in units of
each channel's training standard deviation: empirical coverage of the 50/80/90/95% central
intervals, their mean width and interval (Winkler) score, and the pinball loss averaged over
the quantile levels of these intervals. ``ConformalIntervals`` (sktime) wraps the same
forecaster on the first ``--peer-channels`` channels (it is univariate: one model per
channel), refits it at ``--peer-refits`` seeded, sampled cutoffs per channel (``refits``:
all channels; plus one fit each) and is scored on ``--peer-windows`` test windows. Its
residual matrix spans the last ``H`` training rows (a forecast cannot reach further than
``H``), so a step ``h`` only has residuals from cutoffs at least ``h`` rows before the end:
steps with none get a zero-width interval (``zero width %``; sktime warns). With
``--methods neuralforecast`` (iTransformer only; neuralforecast is not a dependency: run in
an environment that has it), neuralforecast's iTransformer with the same sizes, learning
rate, epochs and batch, trained with its quantile loss (``MQLoss``) on the same scaled
series, is scored on every ``--nf-stride``-th test window (``crossing %``: windows with
crossing quantiles; ``version``: neuralforecast's). Times: fit (s),
the conformal calibration (s, repeated after the fit), and the cost of intervals at
prediction: for all test windows at once, and per sktime call (``predict_interval`` against
``predict``). ``test/valid |error|``: the median over steps and channels of the mean
absolute error of the conformal forecaster on the test rows over that on the validation rows
that calibrate it (1 when the two periods are alike).
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
from sae_forecast.bench.runs import (
    SEQ_LEN,
    Run,
    append_record,
    load_records,
    protocol_forecaster,
    train,
)
from sae_forecast.data import CATALOG, fill_gaps, load_dataset, split_borders
from sae_forecast.forecasting import FORECASTERS
from sae_forecast.forecasting._intervals import ConformalCalibration, calibrate, target_residuals

CAPPED_ROWS = 1000  # the static calibration on the most recent validation rows only


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


NEURALFORECAST = "neuralforecast iTransformer"
CONFORMAL = ("conformal", f"conformal, last {CAPPED_ROWS} rows", "conformal rolling")


def conformal_scores(forecaster, frame, borders, refresh: int) -> dict:
    """Scores over every test window of the static calibration (the default, every
    validation row; and the last ``CAPPED_ROWS`` of them) and the rolling one, with times."""
    series, observed, windows = scored_windows(forecaster, frame, borders)
    std, size = forecaster.scaler_.std, len(forecaster.calibration_.residuals)
    first_target = borders["test"][0] + forecaster.seq_len
    first = max(first_target - size, forecaster.seq_len + forecaster.pred_len_ - 1)
    residuals = target_residuals(forecaster, series, observed, first)  # rows first..end
    capped = ConformalCalibration(residuals[: first_target - first], size=CAPPED_ROWS, tail=None)
    static = {
        CONFORMAL[0]: (forecaster.calibration_.offsets(LEVELS) / std).astype(np.float32),
        CONFORMAL[1]: (capped.offsets(LEVELS) / std).astype(np.float32),
    }  # (Q, H, N)
    scores = {name: IntervalScore() for name in CONFORMAL}
    seconds = {"predict_s": 0.0, "interval_s": 0.0}
    for start, X, target, mask in chunks(windows, refresh * max(1, CHUNK // refresh)):
        began = time.perf_counter()
        point = forecaster.net_.predict(X)  # (b, H, N)
        predicted = time.perf_counter()
        quantiles = point[:, None] + static[CONFORMAL[0]][None]  # (b, Q, H, N)
        seconds["predict_s"] += predicted - began
        seconds["interval_s"] += time.perf_counter() - predicted
        scores[CONFORMAL[0]].add(quantiles, target, mask)
        scores[CONFORMAL[1]].add(point[:, None] + static[CONFORMAL[1]][None], target, mask)
        origin = first_target + start - first
        rolling = _rolling(point, residuals, origin, refresh, size, std)
        scores[CONFORMAL[2]].add(rolling, target, mask)
    shift = {"test/valid |error|": _error_ratio(residuals, first_target - first)}
    return {name: {**score.result(), **seconds, **shift} for name, score in scores.items()}


def _error_ratio(residuals: np.ndarray, n_calibration: int) -> float:
    """Median over steps and channels of the mean absolute residual on the test rows over
    that on the calibration rows: above 1, the static intervals are too narrow for the test
    period; below 1, too wide (exchangeability does not hold)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step or channel without errors
        calibration = np.nanmean(np.abs(residuals[:n_calibration]), axis=0)
        test = np.nanmean(np.abs(residuals[n_calibration:]), axis=0)
        return float(np.nanmedian(test / calibration))


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


def methods(run: Run, args) -> list[str]:
    """The rows one dataset and backbone gets, in the order they are computed."""
    names = list(CONFORMAL) * ("conformal" in args.methods)
    names += ["quantile"] * ("quantile" in args.methods)
    names += ["ConformalIntervals"] * bool(args.peer_windows)
    wants_nf = "neuralforecast" in args.methods and run.backbone == "iTransformer"
    return names + [NEURALFORECAST] * wants_nf


def run_methods(run: Run, args, done=()):
    """Yield ``(method, row)`` for every method of :func:`methods` not in ``done``.

    The conformal forecaster is fitted unless neuralforecast's row is the only one missing:
    the other rows use it (the peer wraps a clone of it).
    """
    frame, borders = _protocol(run, args)
    wanted = [name for name in methods(run, args) if name not in done]
    lr = run.lrs[0]
    if set(wanted) - {NEURALFORECAST}:
        forecaster, record = _fit(run, frame, args)
        record["calibration_s"] = _calibration_seconds(forecaster, frame, borders)
        lr = forecaster.lr
        yield from _fitted_rows(run, forecaster, record, frame, borders, args, wanted)
    if NEURALFORECAST in wanted:
        if len(run.lrs) > 1 and not set(wanted) - {NEURALFORECAST}:
            raise ValueError(f"{run.label()}: neuralforecast needs the lr chosen from {run.lrs}.")
        settings = protocol_forecaster(run, lr, borders)
        yield from neuralforecast_scores(settings, frame, borders, args).items()


def _fitted_rows(run, forecaster, record, frame, borders, args, wanted):
    if set(CONFORMAL) & set(wanted):
        for method, score in conformal_scores(forecaster, frame, borders, args.refresh).items():
            if method in wanted:
                yield method, {**_kept(record), **score}
    if "quantile" in wanted:
        parameters = {**dict(run.parameters), "interval_method": "quantile"}
        quantile_run = replace(run, lrs=(forecaster.lr,), parameters=tuple(parameters.items()))
        fitted, quantile_record = _fit(quantile_run, frame, args)
        scores = quantile_scores(fitted, frame, borders)["quantile"]
        yield "quantile", {**_kept(quantile_record), **scores}
    if "ConformalIntervals" in wanted:
        yield from peer_scores(forecaster, frame, borders, args).items()


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
    add(
        "--methods",
        nargs="+",
        default=["conformal", "quantile"],
        choices=["conformal", "quantile", "neuralforecast"],
        help="conformal: its three rows; neuralforecast: iTransformer runs only",
    )
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
    if args.peer_windows and args.peer_refits < 3:
        raise ValueError(
            f"--peer-refits {args.peer_refits}: sktime's ConformalIntervals ignores a sample of "
            "2 or fewer cutoffs and refits at every one; pass 3 or more."
        )
    recorded = load_records(records)
    done = set(zip(recorded["key"], recorded["method"], strict=True)) if len(recorded) else set()
    runs = [
        run
        for run in calibration_runs(args)
        if any((run.key, method) not in done for method in methods(run, args))
    ]
    command = " ".join(["python -m sae_forecast.bench.calibration", *argv])
    print(f"machine: {machine_line()}\nruns: {len(runs)}", flush=True)
    for run in runs:
        finished = {method for key, method in done if key == run.key}
        for method, row in run_methods(run, args, finished):
            record = {"key": run.key, "dataset": run.dataset, "backbone": run.backbone}
            record.update(method=method, parameters=dict(run.parameters), **row, command=command)
            append_record(records, record)
            print(f"{run.label()} {method}: cover 80/90/95 = " + "/".join(
                f"{row[f'cover {c}']:.1f}" for c in (80, 90, 95)), flush=True)  # fmt: skip
    write_page(out)
    return 0


def write_page(out: Path) -> None:
    """``calibration.md`` (coverage, sharpness and cost tables) and ``calibration.csv``,
    from every record in ``runs.jsonl``; the page names the commands that made them."""
    frame = load_records(out / "runs.jsonl").drop(columns=["key", "parameters"])
    commands = " and ".join(f"`{command}`" for command in frame.pop("command").unique())
    order = {
        "dataset": list(CATALOG),
        "backbone": list(FORECASTERS),
        "method": [*CONFORMAL, "quantile", "ConformalIntervals", NEURALFORECAST],
    }
    frame = frame.sort_values(
        list(order), key=lambda column: column.map(order[column.name].index), kind="stable"
    )
    frame.to_csv(out / "calibration.csv", index=False)
    frame["fit +%"] = 100 * frame["calibration_s"] / frame["train_s"]
    frame["predict +%"] = 100 * frame["interval_s"] / frame["predict_s"]
    frame["call +%"] = 100 * (frame["predict_interval_ms"] / frame["predict_ms"] - 1)
    keys = ["dataset", "backbone", "method"]
    labels = [f"{100 * c:g}" for c in COVERAGES]
    cost = ["fit_s", "train_s", "calibration_s", "fit +%", "predict_s", "interval_s", "predict +%"]
    cost += ["predict_ms", "predict_interval_ms", "call +%", "refits", "zero width %", "version"]
    tables = {
        "Coverage (%) and pinball loss": [
            *(f"cover {c}" for c in labels),
            "defined",
            "pinball",
            "mse",
            "mae",
            "crossing %",
            "test/valid |error|",
        ],
        "Mean width and interval (Winkler) score": [
            *(f"width {c}" for c in labels),
            *(f"winkler {c}" for c in labels),
        ],
        "Cost": cost,
    }
    tables = {title: frame.reindex(columns=keys + columns) for title, columns in tables.items()}
    sections = [
        f"## {title}\n\n{markdown(table.dropna(axis=1, how='all'))}\n"  # no empty columns
        for title, table in tables.items()
    ]
    (out / "calibration.md").write_text(
        f"# Forecast intervals: calibration\n\nGenerated by {commands} on {machine_line()}.\n\n"
        f"{__doc__.split(chr(10) * 2, 1)[1]}\n" + "\n".join(sections)
    )


if __name__ == "__main__":
    raise SystemExit(main())
