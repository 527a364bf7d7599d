"""Compile: ``compile=True`` against eager, per backbone, in training and forecasting.

For every backbone, one fresh process (an empty inductor cache, so compile times are those
a first user meets) fits the forecaster eagerly and then with ``compile=True``, through the
public API: the authors' ETTh1 sizes at L=96, H=96, LightSAE embedding, ``--epochs`` epochs
on the rows before the first test origin (the last 10% of their windows validate), the same
seed. For each side it records the training time per step of the last epoch (skorch's
``train_dur`` over the epoch's steps), the first epoch's extra seconds over the last
(``first epoch +s``: compiling the training and validation graphs, plus the warm-up any
first epoch has; the compile time is roughly the compiled side's figure minus the eager
side's), the test forecast (every test window, batches of 32; the first call, which compiles
the new batch shapes, and a repeat), test MSE and MAE, and one sktime ``predict`` call
(batch 1: the first, which compiles, and the median of ``--predict-repeats`` more).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import HORIZON, SEQ_LEN, reference_sizes
from sae_forecast.bench.report import cpu_model, markdown
from sae_forecast.bench.runner import Cell, keyed_cell, measure_in_fresh_process
from sae_forecast.bench.runs import series
from sae_forecast.data import CATALOG, split_borders
from sae_forecast.forecasting import FORECASTERS

KEY = ("key",)
RECORDS = "runs.jsonl"
DEFAULT_OUT = "docs/benchmarks/compile"
SIDES = {"eager": False, "compiled": True}


def add_options(parser) -> None:
    """Dataset, backbones, epochs and the predict repeats."""
    add = parser.add_argument
    add("--dataset", default="ETTh1")
    add("--backbones", nargs="+", default=list(FORECASTERS), choices=list(FORECASTERS))
    add("--epochs", type=int, default=2, help="epochs per fit (the last one is timed)")
    add("--predict-repeats", type=int, default=20, help="timed sktime predict calls")


def cells(args) -> list[Cell]:
    """One cell per backbone: both sides in one fresh process."""
    found = []
    for backbone in args.backbones:
        spec = {
            "dataset": args.dataset, "backbone": backbone, "epochs": args.epochs,
            "predict_repeats": args.predict_repeats,
        }  # fmt: skip
        found.append(keyed_cell(f"{args.dataset} {backbone}", spec, **spec, threads=args.threads))
    return found


def compute(cell: Cell, args) -> list[dict]:
    """Both sides' rows, measured in a fresh process."""
    spec = {**cell.spec, "data_home": args.data_home}
    return measure_in_fresh_process("compile", spec, args.threads)["rows"]


def child(spec: dict) -> dict:
    """In this fresh process, with an empty inductor cache: the eager fit, then the
    compiled one."""
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="sae-forecast-inductor-")
    frame = series(spec["dataset"], spec["data_home"]).reset_index(drop=True)
    borders = split_borders(CATALOG[spec["dataset"]].split, len(frame), SEQ_LEN)
    rows = [side_row(spec, side, frame, borders) for side in SIDES]
    return {"rows": rows}


def side_row(spec: dict, side: str, frame, borders: dict) -> dict:
    """Fit, forecast and time one side."""
    backbone = spec["backbone"]
    forecaster = FORECASTERS[backbone](
        seq_len=SEQ_LEN, pred_len=HORIZON, max_epochs=spec["epochs"], random_state=0,
        compile=SIDES[side], **reference_sizes(backbone, spec["dataset"], HORIZON),
    )  # fmt: skip
    began = time.perf_counter()
    forecaster.fit(frame.iloc[: borders["valid"][1]])
    fit_s = time.perf_counter() - began
    history = forecaster.net_.history
    first, last = history[0, "train_dur"], history[-1, "train_dur"]
    test_start, test_end = borders["test"]
    history_rows = frame.iloc[:test_end]
    scored = forecaster.score_windows(history_rows, start=test_start)
    repeat = forecaster.score_windows(history_rows, start=test_start)
    return {
        "backbone": backbone, "side": side, "fit s": fit_s,
        "ms/step": 1e3 * last / len(history[-1]["batches"]), "first epoch +s": first - last,
        "test forecast s, first": scored["seconds"], "test forecast s": repeat["seconds"],
        "mse": scored["mse"], "mae": scored["mae"], **_predict_ms(forecaster, spec),
        "still compiled": forecaster.net_.compiled, "cpu": cpu_model(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }  # fmt: skip


def _predict_ms(forecaster, spec: dict) -> dict:
    fh = np.arange(1, HORIZON + 1)
    began = time.perf_counter()
    forecaster.predict(fh=fh)
    first = time.perf_counter() - began
    times = []
    for _ in range(spec["predict_repeats"]):
        began = time.perf_counter()
        forecaster.predict(fh=fh)
        times.append(time.perf_counter() - began)
    return {"predict ms, first": 1e3 * first, "predict ms": 1e3 * statistics.median(times)}


def compared(rows) -> list[dict]:
    """Per backbone: compiled over eager, time per step and per call, and the MSE change."""
    found = []
    for backbone, group in rows.groupby("backbone", sort=False):
        eager, compiled = (group[group["side"] == side].iloc[0] for side in SIDES)
        found.append({
            "backbone": backbone,
            "step speed-up": eager["ms/step"] / compiled["ms/step"],
            "compile s (training, approx.)": compiled["first epoch +s"] - eager["first epoch +s"],
            "test forecast speed-up": eager["test forecast s"] / compiled["test forecast s"],
            "predict speed-up": eager["predict ms"] / compiled["predict ms"],
            "first predict s": compiled["predict ms, first"] / 1e3,
            "mse eager": eager["mse"], "mse compiled": compiled["mse"],
            "mse change %": 100 * (compiled["mse"] / eager["mse"] - 1),
        })  # fmt: skip
    return found


def write_page(out, records, invocation, args) -> None:
    """``compile.md``: every side's row, and compiled against eager per backbone."""
    rows = invocation.selected(records, KEY)
    rows = rows.drop(columns=["key", "command", "machine"], errors="ignore")
    text = (
        f"# compile=True against eager\n\n{invocation.generated}.\n\n"
        f"{__doc__.split(chr(10) * 2, 1)[1].strip()}\n\n"
        f"## Per side\n\n{markdown(rows)}\n\n"
        f"## Compiled against eager, same process\n\n{markdown(pd.DataFrame(compared(rows)))}\n"
    )
    (out / "compile.md").write_text(text)
