"""Calibration: are the forecast intervals honest?

Each forecaster (the ``results`` preset's sizes, learning rates and epoch caps, LightSAE
embedding, H=96) is fitted on the training and validation rows of the standard protocol,
once with the point loss and once with the pinball loss, and every test window is
forecast. The rows are interval methods on these forecasts. Split conformal: ``conformal``
(calibrated on every row of the validation tail the fit holds out; ``conformal, last 1000
rows``: on the most recent 1000 of them) and ``conformal rolling`` (recalibrated every
``--refresh`` test rows with the residuals of the rows seen so far: what ``update`` with
``update_params=False`` does for ``interval_method="conformal"``). Adaptive conformal
(``AdaptiveConformal``, ``interval_method="adaptive"``): the
rolling window, and every ``--refresh`` rows the levels move with the misses of the new
rows (``adaptive``: step 0.005, one level per step pooled over channels; ``adaptive, step
0.02``; ``adaptive, per channel``). Quantile tracking (``TrackedConformal``,
``interval_method="tracking"``): split conformal's quantiles moved every ``--refresh`` rows
by the misses of the intervals issued, no window (``tracking``: the forecasters'
default, trackers of steps 0.0002 and 0.0005 mixed by their pinball loss; ``tracking, step
0.0005``: one tracker). Quantile network: ``quantile head`` (its bands as
trained), ``quantile conformal`` (``ConformalQuantiles`` calibrated on the validation tail
only), ``quantile rolling`` (and recalibrated on the rolling window: the default of
``interval_method="quantile"``), ``quantile adaptive`` (and levels moved at step 0.005) and
``quantile adaptive, per channel``. Every test window is scored on observed targets, in
units of each channel's training standard deviation: empirical coverage of the
50/80/90/95% central intervals, their mean width and interval (Winkler) score, the pinball
loss averaged over the quantile levels of these intervals, the weighted quantile loss
(``wql``: pinball over the nine levels 0.025..0.975, divided by the mean absolute target,
the usual approximation of CRPS) and MASE (mean absolute error over that of the seasonal
naive forecast on the training rows). ``ConformalIntervals`` (sktime) wraps the same
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
crossing quantiles; ``version``: neuralforecast's). Times: fit (s), the calibration (s,
repeated after the fit), the cost of intervals for all test windows at once, and per sktime
call of a copy of the fitted forecaster whose intervals are the row's family's default
method (split conformal, ``adaptive`` or ``tracking``; the quantile rows: the quantile
fit): ``predict_interval`` against ``predict``, and ``update`` of 24 rows (``update_ms``)
against the interval method's own part of it (``extend_ms``: scoring the new rows and
moving the levels or quantiles, rolling the window; ``online %``). Rows of one fit share
its point scores. ``test/valid |error|``: the median over steps and channels of the mean
absolute error of the point forecaster on the test rows over that on the validation rows that
calibrate it (1 when the two periods are alike).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from sae_forecast.bench.interval_peers import neuralforecast_scores, peer_scores
from sae_forecast.bench.interval_scores import CHUNK, COVERAGES, LEVELS, IntervalScore
from sae_forecast.bench.presets import HORIZON, SEQ_LEN, Run, build_runs
from sae_forecast.bench.report import markdown
from sae_forecast.bench.runner import Cell
from sae_forecast.bench.runs import protocol_forecaster, series, train
from sae_forecast.bench.speed import interleaved_medians
from sae_forecast.data import CATALOG, split_borders
from sae_forecast.forecasting import (
    FORECASTERS,
    AdaptiveConformal,
    ConformalQuantiles,
    QuantileHead,
    SplitConformal,
    TrackedConformal,
)

KEY = ("key", "method")
DEFAULT_OUT = "docs/benchmarks/intervals"
CAPPED_ROWS = 1000  # the static calibration on the most recent validation rows only
NEURALFORECAST = "neuralforecast iTransformer"
CONFORMAL = ("conformal", f"conformal, last {CAPPED_ROWS} rows", "conformal rolling")
ADAPTIVE = {  # row -> AdaptiveConformal settings (interval_method="adaptive")
    "adaptive": {},
    "adaptive, step 0.02": {"step_size": 0.02},
    "adaptive, per channel": {"pooled": False},
}
TRACKING = {  # row -> TrackedConformal settings; "tracking" is the forecasters' default
    "tracking": {},
    "tracking, step 0.0005": {"step_size": 0.0005},
}
FAMILIES = {"conformal": CONFORMAL, "adaptive": ADAPTIVE, "tracking": TRACKING}
COSTED = {  # family -> the method whose sktime calls and update its rows' cost columns time
    "conformal": SplitConformal,
    "adaptive": AdaptiveConformal,
    "tracking": TrackedConformal,
}
QUANTILE_ONLINE = {  # row -> ConformalQuantiles settings, calibrated then adapted online
    "quantile adaptive": {"step_size": 0.005},  # the step of "adaptive"
    "quantile rolling": {},  # interval_method="quantile"'s default: step 0
    "quantile adaptive, per channel": {"pooled": False},
}
QUANTILE = ("quantile head", "quantile conformal", *QUANTILE_ONLINE)


def _scaled(forecaster, values: np.ndarray) -> np.ndarray:
    """Original units to the forecaster's scaled units (channels last)."""
    return (values - forecaster.scaler_.mean) / forecaster.scaler_.std


def _add(score: IntervalScore, forecaster, quantiles, forecasts) -> None:
    """Score quantiles ``(b, Q, H, N)`` (original units) of ``forecasts``' windows."""
    target = np.nan_to_num(_scaled(forecaster, forecasts.target))
    score.add(_scaled(forecaster, quantiles), target, forecasts.observed)


def _chunks(forecaster, frame, borders, size: int, alpha=LEVELS):
    """``(first window, WindowForecasts)`` of the test windows, ``size`` windows at a time."""
    start, end = borders["test"]
    horizon = forecaster.pred_len_
    for first in range(0, end - start - SEQ_LEN - horizon + 1, size):
        last_row = min(end, start + first + size + SEQ_LEN + horizon - 1)
        yield (
            first,
            forecaster.forecast_windows(frame.iloc[:last_row], start=start + first, alpha=alpha),
        )


def _test_scores(forecaster, frame, borders):
    """The interval method's scores of the calibration rows and every test row, and how many
    of them calibrate (the rows the fit's calibration used, up to the first test target)."""
    size = len(forecaster.intervals_.residuals)
    first_target = borders["test"][0] + SEQ_LEN
    first = max(first_target - size, SEQ_LEN + forecaster.pred_len_ - 1)
    scores = forecaster.row_scores(frame.iloc[: borders["test"][1]], first=first)
    return scores, first_target - first


def season(freq: str) -> int:
    """Rows per seasonal period of the MASE's naive forecast: a day below daily sampling,
    a week for daily data, a year of weeks above.

    Examples
    --------
    >>> season("h"), season("10min"), season("D"), season("7D")
    (24, 144, 7, 52)
    """
    first, second = pd.date_range("2000-01-03", periods=2, freq=freq)
    step = second - first
    day = pd.Timedelta("1D")
    return int(day / step) if step < day else 7 if step == day else 52


def naive_scale(forecaster, frame, borders, freq: str) -> np.ndarray:
    """Each channel's mean absolute error of the seasonal naive forecast on the training
    rows, in the forecaster's scaled units (the MASE's denominator)."""
    train = _scaled(forecaster, frame.iloc[: borders["train"][1]].to_numpy(np.float64))
    lag = season(freq)
    return np.nanmean(np.abs(train[lag:] - train[:-lag]), axis=0)


def _scorers(names, forecaster, naive) -> dict:
    scaler = forecaster.scaler_
    return {name: IntervalScore(naive=naive, mean=scaler.mean, std=scaler.std) for name in names}


def conformal_scores(forecaster, frame, borders, refresh: int, naive=None) -> dict:
    """Scores over every test window of the static calibration (every validation row; and
    the last ``CAPPED_ROWS`` of them), the rolling one, and the adaptive ones (the rolling
    window read at levels moved online: what ``update`` with ``update_params=False`` does),
    with times."""
    residuals, n_calibration = _test_scores(forecaster, frame, borders)
    size = len(forecaster.intervals_.residuals)
    capped = SplitConformal(size=CAPPED_ROWS).calibrate(residuals[:n_calibration])
    capped = capped.offsets(LEVELS)[None]  # (1, Q, H, N)
    adaptive = {
        name: AdaptiveConformal(size, **settings).calibrate(residuals[:n_calibration])
        for name, settings in ADAPTIVE.items()
    }
    adaptive.update(
        (name, TrackedConformal(size, **settings).calibrate(residuals[:n_calibration]))
        for name, settings in TRACKING.items()
    )
    scores = _scorers([*CONFORMAL, *ADAPTIVE, *TRACKING], forecaster, naive)
    seconds = {"predict_s": 0.0, "interval_s": 0.0, "adapt_s": 0.0}
    for start, forecasts in _chunks(forecaster, frame, borders, refresh * max(1, CHUNK // refresh)):
        seconds["predict_s"] += forecasts.seconds
        seconds["interval_s"] += forecasts.interval_seconds
        point = forecasts.point[:, None]
        _add(scores[CONFORMAL[0]], forecaster, forecasts.quantiles, forecasts)
        _add(scores[CONFORMAL[1]], forecaster, point + capped, forecasts)
        origin = n_calibration + start
        rolling = point + rolling_offsets(residuals, origin, len(point), refresh, size)
        _add(scores[CONFORMAL[2]], forecaster, rolling, forecasts)
        for name, method in adaptive.items():
            began = time.perf_counter()
            offsets = online_quantiles(method, None, residuals, origin, len(point), refresh)
            seconds["adapt_s"] += time.perf_counter() - began
            _add(scores[name], forecaster, point + offsets, forecasts)
    shift = {"test/valid |error|": _error_ratio(residuals, n_calibration)}
    return {name: {**score.result(), **seconds, **shift} for name, score in scores.items()}


def online_quantiles(method, head, scores, origin: int, n_windows: int, refresh: int):
    """Quantiles (offsets from the point forecast when ``head`` is None) ``(n_windows, Q, H,
    N)`` at ``LEVELS`` of windows whose first target is score row ``origin`` onwards: every
    ``refresh`` windows the calibrated ``method`` is read, then extended with the scores of
    the ``refresh`` rows those windows start at (what ``update`` gives it). ``head``: the
    windows' quantile outputs ``(n_windows, H, N, Q)``, original units.

    Examples
    --------
    >>> scores = np.concatenate([np.linspace(-1, 1, 9)[:, None, None], np.full((4, 1, 1), 5.0)])
    >>> method = AdaptiveConformal(step_size=0.1).calibrate(scores[:9])
    >>> upper = online_quantiles(method, None, scores, 9, 4, 2)[:, -1, 0, 0]
    >>> bool(upper[0] == upper[1] == 1.0), bool(upper[2] == 5.0)
    (True, True)
    """
    n_levels = len(LEVELS)
    quantiles = np.empty((n_windows, n_levels, *scores.shape[1:]), np.float64)
    for row in range(0, n_windows, refresh):
        block = slice(row, min(n_windows, row + refresh))
        if head is None:
            quantiles[block] = method.offsets(LEVELS)
        else:
            quantiles[block] = np.moveaxis(method.quantiles(None, head[block], LEVELS), 0, 1)
        method.extend(scores[origin + row : origin + block.stop])
    return quantiles


def rolling_offsets(residuals, origin: int, n_windows: int, refresh: int, size: int):
    """Offsets ``(n_windows, Q, H, N)`` of windows whose first target is residual row
    ``origin`` onwards, recalibrated every ``refresh`` windows on the ``size`` rows before
    (what ``update`` with ``update_params=False`` does with split conformal).

    Examples
    --------
    >>> residuals = np.concatenate([np.ones((2, 1, 1)), np.full((2, 1, 1), 5.0)])
    >>> rolling_offsets(residuals, 2, 4, 2, 2)[:, -1, 0, 0].tolist()
    [1.0, 1.0, 5.0, 5.0]
    """
    offsets = np.empty((n_windows, len(LEVELS), *residuals.shape[1:]), np.float64)
    for row in range(0, n_windows, refresh):
        end = origin + row
        recent = SplitConformal(size=size).calibrate(residuals[max(0, end - size) : end])
        offsets[row : row + refresh] = recent.offsets(LEVELS)
    return offsets


def _error_ratio(residuals: np.ndarray, n_calibration: int) -> float:
    """Median over steps and channels of the mean absolute residual on the test rows over
    that on the calibration rows: above 1, the static intervals are too narrow for the test
    period; below 1, too wide (exchangeability does not hold)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step or channel without errors
        calibration = np.nanmean(np.abs(residuals[:n_calibration]), axis=0)
        test = np.nanmean(np.abs(residuals[n_calibration:]), axis=0)
        return float(np.nanmedian(test / calibration))


def quantile_scores(forecaster, frame, borders, refresh: int, naive=None) -> dict:
    """Scores of a quantile-trained forecaster over every test window: its head's bands as
    trained, conformalized on the validation tail (the fit's calibration), and adapted online
    every ``refresh`` rows; with times."""
    scores, n_calibration = _test_scores(forecaster, frame, borders)
    levels, scale = forecaster.intervals_.levels, forecaster.scaler_.std
    online = {
        name: ConformalQuantiles(levels, **settings).calibrate(scores[:n_calibration], scale=scale)
        for name, settings in QUANTILE_ONLINE.items()
    }
    head_only = QuantileHead(levels)
    result = _scorers(QUANTILE, forecaster, naive)
    seconds = {"predict_s": 0.0, "interval_s": 0.0, "adapt_s": 0.0}
    for start, forecasts in _chunks(forecaster, frame, borders, refresh * max(1, CHUNK // refresh)):
        seconds["predict_s"] += forecasts.seconds
        seconds["interval_s"] += forecasts.interval_seconds
        raw = np.moveaxis(head_only.quantiles(None, forecasts.head, LEVELS), 0, 1)
        _add(result[QUANTILE[0]], forecaster, raw, forecasts)
        _add(result[QUANTILE[1]], forecaster, forecasts.quantiles, forecasts)
        origin, n_windows = n_calibration + start, len(forecasts.point)
        for name, method in online.items():
            began = time.perf_counter()
            adapted = online_quantiles(method, forecasts.head, scores, origin, n_windows, refresh)
            seconds["adapt_s"] += time.perf_counter() - began
            _add(result[name], forecaster, adapted, forecasts)
    return {name: {**score.result(), **seconds} for name, score in result.items()}


def sktime_call_ms(forecaster, repeats: int = 20) -> dict:
    """Median ms of ``predict`` and of ``predict_interval`` (four coverages), interleaved."""
    fh = list(range(1, forecaster.pred_len_ + 1))
    calls = {
        "predict_ms": lambda: forecaster.predict(fh=fh),
        "predict_interval_ms": lambda: forecaster.predict_interval(fh=fh, coverage=COVERAGES),
    }
    return interleaved_medians(calls, repeats, warmup=0)


def update_call_ms(forecaster, frame, borders, refresh: int, repeats: int = 5) -> dict:
    """Median ms of ``update`` with the ``refresh`` rows after the fit
    (``update_params=False``, on a fresh copy each round), and of the interval method's
    online step in it (``intervals_.extend`` with those rows' scores)."""
    first = borders["test"][0]
    rows = frame.iloc[first : first + refresh]
    scores = forecaster.row_scores(frame.iloc[: first + refresh], first=first)
    times = {"update_ms": [], "extend_ms": []}
    for _ in range(repeats):
        copied = copy.deepcopy(forecaster)
        began = time.perf_counter()
        copied.update(rows, update_params=False)
        times["update_ms"].append(1e3 * (time.perf_counter() - began))
        method = copy.deepcopy(forecaster.intervals_)
        began = time.perf_counter()
        method.extend(scores)
        times["extend_ms"].append(1e3 * (time.perf_counter() - began))
    return {name: float(np.median(values)) for name, values in times.items()}


def _protocol(run: Run, args):
    # positional rows, as the bench's runs use (Weather repeats a timestamp)
    frame = series(run.dataset, args.data_home).reset_index(drop=True)
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
    """The conformal calibration of ``fit`` (residuals of the validation rows), timed again."""
    valid = frame.iloc[: borders["valid"][1]]
    began = time.perf_counter()
    residuals = forecaster.row_residuals(valid, first=borders["train"][1])
    SplitConformal(size=forecaster.intervals_.size).calibrate(residuals)
    return time.perf_counter() - began


def _kept(record: dict) -> dict:
    names = ("mse", "mae", "test_windows", "epochs", "lr", "n_channels", "fit_s", "train_s")
    names += ("calibration_s", "predict_ms", "predict_interval_ms", "update_ms", "extend_ms")
    return {name: record[name] for name in names if name in record}


def methods(run: Run, args) -> list[str]:
    """The rows one dataset and backbone gets, in the order they are computed."""
    names = [*CONFORMAL, *ADAPTIVE, *TRACKING] * ("conformal" in args.methods)
    names += list(QUANTILE) * ("quantile" in args.methods)
    names += ["ConformalIntervals"] * bool(args.peer_windows)
    wants_nf = "neuralforecast" in args.methods and run.backbone == "iTransformer"
    return names + [NEURALFORECAST] * wants_nf


_CACHE: dict = {}  # what the cells of one run share: (run key, name) -> value


def _shared(run: Run, name: str, make):
    """``make()`` once per run (the cells of a run follow each other)."""
    if (run.key, name) not in _CACHE:
        if not any(key == run.key for key, _ in _CACHE):
            _CACHE.clear()
        _CACHE[run.key, name] = make()
    return _CACHE[run.key, name]


def _conformal_fit(run: Run, args):
    """The run's forecaster (its default intervals) and its record, with the times of a copy
    per family of rows."""
    frame, borders = _protocol(run, args)
    forecaster, record = _fit(run, frame, args)
    record["calibration_s"] = _calibration_seconds(forecaster, frame, borders)
    size = forecaster.intervals_.size
    record["costs"] = {}
    for family, method in COSTED.items():
        costed = _with_intervals(forecaster, method(size))
        record["costs"][family] = {
            **sktime_call_ms(costed),
            **update_call_ms(costed, frame, borders, args.refresh),
        }
    return forecaster, record


def _with_intervals(forecaster, method):
    """A copy of ``forecaster`` whose intervals are ``method``, calibrated on the residuals
    the fit calibrated with (what ``fit`` with that ``interval_method`` gives)."""
    copied = copy.deepcopy(forecaster)
    fitted = forecaster.intervals_
    copied.intervals_ = method.calibrate(fitted.residuals, source=fitted.source)
    return copied


def _row(run: Run, method: str, args) -> dict:
    """The scores of one method of ``run`` (the conformal fit shared by the run's cells)."""
    frame, borders = _protocol(run, args)
    if method == NEURALFORECAST:
        if (run.key, "fit") not in _CACHE and len(run.lrs) > 1:
            raise ValueError(f"{run.label()}: neuralforecast needs the lr chosen from {run.lrs}.")
        lr = _CACHE[run.key, "fit"][0].lr if (run.key, "fit") in _CACHE else run.lrs[0]
        settings = protocol_forecaster(run, lr, borders)
        return neuralforecast_scores(settings, frame, borders, args)[method]
    forecaster, record = _shared(run, "fit", lambda: _conformal_fit(run, args))
    naive = naive_scale(forecaster, frame, borders, CATALOG[run.dataset].freq)
    if method in CONFORMAL or method in ADAPTIVE or method in TRACKING:
        scores = _shared(
            run,
            "conformal",
            lambda: conformal_scores(forecaster, frame, borders, args.refresh, naive),
        )
        family = next(name for name, rows in FAMILIES.items() if method in rows)
        return {**_kept(record), **record["costs"][family], **scores[method]}
    if method in QUANTILE:
        fitted, quantile_record = _shared(
            run, "quantile fit", lambda: _quantile_fit(run, forecaster.lr, frame, args)
        )
        scores = _shared(
            run, "quantile", lambda: quantile_scores(fitted, frame, borders, args.refresh, naive)
        )
        return {**_kept(quantile_record), **scores[method]}
    return peer_scores(forecaster, frame, borders, args)[method]


def _quantile_fit(run: Run, lr: float, frame, args):
    """The run's forecaster trained with the pinball loss at the point fit's ``lr``."""
    parameters = {**dict(run.parameters), "interval_method": "quantile"}
    quantile_run = replace(run, lrs=(lr,), parameters=tuple(parameters.items()))
    forecaster, record = _fit(quantile_run, frame, args)
    borders = _protocol(run, args)[1]
    record.update(update_call_ms(forecaster, frame, borders, args.refresh))
    return forecaster, record


def calibration_runs(args) -> list[Run]:
    """The results preset's LightSAE runs at H=96 (epoch cap replaced by --max-epochs)."""
    runs = build_runs(
        "results",
        datasets=args.datasets,
        backbones=args.backbones,
        embeddings=["lightsae"],
        horizons=[HORIZON],
        max_epochs=args.max_epochs,
    )
    return sorted(runs, key=lambda run: run.backbone != "RLinear")  # cheap runs first


def add_options(parser) -> None:
    """Datasets, backbones, methods, the rolling refresh, the peers' sizes, smoke settings."""
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


def cells(args) -> list[Cell]:
    """Every run and method, in the order they are computed."""
    if args.peer_windows and args.peer_refits < 3:
        raise ValueError(
            f"--peer-refits {args.peer_refits}: sktime's ConformalIntervals ignores a sample of "
            "2 or fewer cutoffs and refits at every one; pass 3 or more."
        )
    return [
        Cell((run.key, method), f"{run.label()} {method}", run)
        for run in calibration_runs(args)
        for method in methods(run, args)
    ]


def compute(cell: Cell, args) -> list[dict]:
    """The record of one run and method."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    run, method = cell.spec, cell.key[1]
    row = _row(run, method, args)
    record = {"dataset": run.dataset, "backbone": run.backbone, "parameters": dict(run.parameters)}
    return [{**record, **row}]


def write_page(out, records, invocation, args) -> None:
    """``calibration.md`` (coverage, sharpness and cost tables) and ``calibration.csv``,
    from every record in ``runs.jsonl``; the page names the commands that made them."""
    frame = records.drop(columns=["key", "parameters", "machine"], errors="ignore")
    commands = " and ".join(f"`{command}`" for command in frame.pop("command").unique())
    order = {
        "dataset": list(CATALOG),
        "backbone": list(FORECASTERS),
        "method": [
            *CONFORMAL,
            *ADAPTIVE,
            *TRACKING,
            *QUANTILE,
            "ConformalIntervals",
            NEURALFORECAST,
        ],
    }
    frame = frame.sort_values(
        list(order), key=lambda column: column.map(order[column.name].index), kind="stable"
    )
    frame.to_csv(out / "calibration.csv", index=False)
    frame["fit +%"] = 100 * frame["calibration_s"] / frame["train_s"]
    frame["predict +%"] = 100 * frame["interval_s"] / frame["predict_s"]
    frame["call +%"] = 100 * (frame["predict_interval_ms"] / frame["predict_ms"] - 1)
    frame["online %"] = 100 * frame["extend_ms"] / frame["update_ms"]
    keys = ["dataset", "backbone", "method"]
    labels = [f"{100 * c:g}" for c in COVERAGES]
    cost = ["fit_s", "train_s", "calibration_s", "fit +%", "predict_s", "interval_s", "predict +%"]
    cost += ["predict_ms", "predict_interval_ms", "call +%", "update_ms", "extend_ms", "online %"]
    cost += ["adapt_s", "refits", "zero width %", "version"]
    tables = {
        "Coverage (%) and pinball loss": [
            *(f"cover {c}" for c in labels),
            "defined",
            "pinball",
            "wql",
            "mase",
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
        f"# Forecast intervals: calibration\n\nGenerated by {commands} on {invocation.machine}.\n\n"
        f"{__doc__.split(chr(10) * 2, 1)[1]}\n" + "\n".join(sections)
    )
