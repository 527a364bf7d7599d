"""Covariates: day-ahead prices with no X, past-only X and future-known X (and beijing_air).

EPF (NP, PJM, BE) under TimeXer's protocol: target ``OT`` (the day-ahead price), the two
day-ahead forecasts of each market as ``X``, lookback 168, horizon 24, 70/10/20 split by rows,
scaler on the training rows, MSE/MAE on scaled values over every test window. Each forecaster
is fitted three times: without ``X``; with ``X`` read over the lookback only
(``future_covariates=[]``, what TimeXer reads); with ``X`` known over the horizon too
(``future_covariates="all"``: the day-ahead forecasts are published before the prices are
set). The published rows (TimeXer, NeurIPS 2024, Table 2) stand beside ours.

beijing_air: PM2.5 of the 12 stations as targets, the weather of every station (TEMP, PRES,
DEWP, RAIN, WSPM: 60 columns) as ``X``, lookback 96, horizon 24. The weather's measured future
stands in for a weather forecast, so the future-known row is a **perfect-forecast upper bound**,
not a result a user can expect. LightSAE with ``covariate_gates`` (each station weights the
covariates itself) is measured against the shared covariate path.

The cost table times one training epoch without and with future-known ``X`` (EPF NP),
alternating the two, in one process.
"""

from __future__ import annotations

import statistics
import time
from importlib import resources

import numpy as np
import pandas as pd
import torch

from sae_forecast.bench.presets import (
    BEIJING_SEQ_LEN,
    BEIJING_SIZES,
    BEIJING_WEATHER,
    COVARIATE_HORIZON,
    COVARIATE_MAX_EPOCHS,
    COVARIATE_SIZES,
    EPF_EMBEDDINGS,
    EPF_MARKETS,
    EPF_SEQ_LEN,
)
from sae_forecast.bench.report import cpu_model, markdown
from sae_forecast.bench.runner import Cell, keyed_cell
from sae_forecast.data import CATALOG, load_dataset, split_borders
from sae_forecast.forecasting import FORECASTERS

KEY = ("key",)
DEFAULT_OUT = "docs/benchmarks/covariates"
MODES = {"none": None, "past": [], "future": "all"}  # X mode: future_covariates (None: no X)
BACKBONES = ("RLinear", "RMLP", "PatchTST", "iTransformer")
COST_COLUMNS = ["backbone", "device", "rounds", "s_without_x", "s_with_x", "ratio", "cpu"]
FIT_COLUMNS = ["dataset", "backbone", "embedding", "mode", "device", "epochs", "best_epoch",
               "s_per_epoch", "fit_s", "params"]  # fmt: skip


def published_epf() -> pd.DataFrame:
    """Published EPF test MSE/MAE (TimeXer, Wang et al., NeurIPS 2024, Table 2; lookback
    168, horizon 24; exogenous series read over the lookback only)."""
    with resources.files("sae_forecast.bench").joinpath("published_epf.csv").open() as handle:
        return pd.read_csv(handle)


def epf_frame(market: str, data_home=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(y, X)`` of an EPF market: the price ``OT`` and the two day-ahead forecasts, with a
    positional index (the protocol splits rows)."""
    frame = load_dataset(f"EPF_{market}", data_home).reset_index(drop=True)
    return frame[["OT"]], frame.drop(columns="OT")


def beijing_frame(data_home=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(y, X)`` of beijing_air: PM2.5 of every station, and every station's weather."""
    frame = load_dataset("beijing_air", data_home).reset_index(drop=True)
    targets = [c for c in frame.columns if c.endswith("_PM2.5")]
    weather = [c for c in frame.columns if c.rsplit("_", 1)[-1] in BEIJING_WEATHER]
    return frame[targets], frame[weather]


def add_options(parser) -> None:
    """What to run: markets, backbones, embeddings, X modes, beijing_air and the cost table."""
    add = parser.add_argument
    add("--markets", nargs="+", choices=EPF_MARKETS, default=list(EPF_MARKETS))
    add("--backbones", nargs="+", choices=BACKBONES, default=list(BACKBONES))
    add("--embeddings", nargs="+", choices=["shared", "lightsae"], default=["shared", "lightsae"])
    add("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    add("--beijing-backbones", nargs="*", choices=BACKBONES, default=["RLinear"])
    add("--cost-backbones", nargs="*", choices=BACKBONES, default=list(BACKBONES))
    add("--cost-rounds", type=int, default=3)
    add("--max-epochs", type=int, help="epoch cap of every fit (default: by backbone)")
    add("--seed", type=int, default=2023)
    add("--device", default="cpu", help="torch device of every fit, e.g. cuda")


def cells(args) -> list[Cell]:
    """EPF fits, beijing_air fits (with and without covariate gates), then the cost table."""
    found = []

    def common(backbone):
        epochs = args.max_epochs or COVARIATE_MAX_EPOCHS[backbone]
        placed = {} if args.device == "cpu" else {"device": args.device}  # cpu keys unchanged
        return {"max_epochs": epochs, "seed": args.seed, **placed}

    for market in args.markets:
        for backbone in args.backbones:
            embeddings = [e for e in EPF_EMBEDDINGS[backbone] if e in args.embeddings]
            for embedding in embeddings:
                for mode in args.modes:
                    spec = dict(common(backbone), dataset=f"EPF_{market}", backbone=backbone,
                                embedding=embedding, mode=mode, gates=False)  # fmt: skip
                    found.append(_cell(spec))
    for backbone in args.beijing_backbones:
        for embedding in args.embeddings:
            for mode in ("none", "future"):
                gated = (False, True) if mode != "none" and embedding == "lightsae" else (False,)
                for gates in gated if backbone != "iTransformer" else (False,):
                    spec = dict(common(backbone), dataset="beijing_air", backbone=backbone,
                                embedding=embedding, mode=mode, gates=gates)  # fmt: skip
                    found.append(_cell(spec))
    for backbone in args.cost_backbones:
        spec = {"table": "cost", "backbone": backbone, "rounds": args.cost_rounds}
        spec.update({} if args.device == "cpu" else {"device": args.device})
        found.append(keyed_cell(f"cost EPF_NP {backbone}", spec, **spec, sizes=_sizes(spec)))
    return found


def _cell(spec: dict) -> Cell:
    label = f"{spec['dataset']} {spec['backbone']} {spec['embedding']} X={spec['mode']}" + (
        " gates" if spec["gates"] else ""
    )
    return keyed_cell(label, spec, **spec, sizes=_sizes(spec))


def _sizes(spec: dict) -> dict:
    table = BEIJING_SIZES if spec.get("dataset") == "beijing_air" else COVARIATE_SIZES
    return dict(table[spec["backbone"]])


def compute(cell: Cell, args) -> list[dict]:
    """One fit scored on every test window, or the cost table's alternating epochs."""
    spec = cell.spec
    if spec.get("table") == "cost":
        return [_cost(spec, args.data_home)]
    return [_fit_and_score(spec, args.data_home)]


def _forecaster(spec: dict, seq_len: int, n_valid: int, **options):
    parameters = dict(_sizes(spec), **options)
    if spec.get("gates"):
        parameters["covariate_gates"] = True
    mode = MODES[spec.get("mode", "future")]
    parameters["device"] = spec.get("device", "cpu")
    return FORECASTERS[spec["backbone"]](
        seq_len=seq_len,
        pred_len=COVARIATE_HORIZON,
        embedding=spec.get("embedding", "lightsae"),
        validation_size=n_valid,
        future_covariates="all" if mode is None else mode,
        random_state=spec.get("seed", 0),
        **parameters,
    )


def _fit_and_score(spec: dict, data_home) -> dict:
    beijing = spec["dataset"] == "beijing_air"
    y, X = beijing_frame(data_home) if beijing else epf_frame(spec["dataset"][4:], data_home)
    seq_len = BEIJING_SEQ_LEN if beijing else EPF_SEQ_LEN
    borders = split_borders(CATALOG[spec["dataset"]].split, len(y), seq_len)
    n_valid = borders["valid"][1] - borders["train"][1] - COVARIATE_HORIZON + 1
    forecaster = _forecaster(spec, seq_len, n_valid, max_epochs=spec["max_epochs"])
    X = None if MODES[spec["mode"]] is None else X
    end, test_end = borders["valid"][1], borders["test"][1]
    began = time.perf_counter()
    forecaster.fit(y.iloc[:end], X=None if X is None else X.iloc[:end])
    fit_seconds = time.perf_counter() - began
    score = forecaster.score_windows(
        y.iloc[:test_end], None if X is None else X.iloc[:test_end], start=borders["test"][0]
    )
    history = forecaster.net_.history
    return {
        **spec,
        "seq_len": seq_len,
        "n_targets": y.shape[1],
        "n_covariates": 0 if X is None else X.shape[1],
        "mse": score["mse"],
        "mae": score["mae"],
        "test_windows": score["n_windows"],
        "valid_mse": float(min(history[:, "valid_loss"])),
        "epochs": len(history),
        "best_epoch": forecaster.best_epoch_,
        "s_per_epoch": float(np.mean(history[:, "train_dur"])),
        "fit_s": fit_seconds,
        "params": sum(p.numel() for p in forecaster.model_.parameters()),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
    }


def _cost(spec: dict, data_home) -> dict:
    """Seconds of one training epoch (EPF NP's training rows) without and with
    future-known X, alternating, ``rounds`` times each; medians and their ratio."""
    y, X = epf_frame("NP", data_home)
    borders = split_borders(CATALOG["EPF_NP"].split, len(y), EPF_SEQ_LEN)
    rows = borders["train"][1]
    seconds = {"without X": [], "with X": []}
    for _ in range(spec["rounds"]):
        for label, exogenous in (("without X", None), ("with X", X.iloc[:rows])):
            forecaster = _forecaster(spec, EPF_SEQ_LEN, 0, max_epochs=1)
            forecaster.fit(y.iloc[:rows], X=exogenous)
            seconds[label].append(float(forecaster.net_.history[-1, "train_dur"]))
    without, with_x = (statistics.median(seconds[k]) for k in ("without X", "with X"))
    return {
        **spec,
        "s_without_x": without,
        "s_with_x": with_x,
        "ratio": with_x / without,
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
    }


def _results_table(fits: pd.DataFrame, value: str) -> pd.DataFrame:
    """One row per backbone and embedding, one column per market and X mode; the published
    rows below ours, in the ``past`` columns."""
    fits = fits.assign(column=fits["dataset"].str[4:] + " " + fits["mode"])
    table = fits.pivot_table(
        index=["backbone", "embedding"], columns="column", values=value, sort=False
    )
    table = pd.concat([table.reset_index(), _published_rows(value)], ignore_index=True)
    order = [f"{m} {x}" for m in EPF_MARKETS for x in MODES if f"{m} {x}" in table.columns]
    return table[["backbone", "embedding", *order]]


def _published_rows(value: str) -> pd.DataFrame:
    published = published_epf()
    published = published[published["market"].isin(EPF_MARKETS)]
    table = published.pivot_table(index="model", columns="market", values=value, sort=False)
    table.columns = [f"{m} past" for m in table.columns]
    return table.reset_index().rename(columns={"model": "backbone"}).assign(embedding="published")


def _best_against_timexer(fits: pd.DataFrame) -> pd.DataFrame:
    published = published_epf().set_index(["model", "market"])["mse"]
    rows = []
    for market in EPF_MARKETS:
        part = fits[fits["dataset"] == f"EPF_{market}"]
        if part.empty:
            continue
        row = {"market": market, "TimeXer (published)": published.get(("TimeXer", market))}
        for mode in MODES:
            chosen = part[part["mode"] == mode]
            if chosen.empty:
                continue
            best = chosen.loc[chosen["valid_mse"].idxmin()]  # chosen on validation, not test
            row[f"{mode}: model"] = f"{best['backbone']} {best['embedding']}"
            row[f"{mode}: test MSE"] = best["mse"]
        if "future: test MSE" in row and row["TimeXer (published)"] is not None:
            row["future vs TimeXer"] = (
                f"{100 * (row['future: test MSE'] / row['TimeXer (published)'] - 1):+.1f}%"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def write_page(out, records, invocation, args) -> None:
    """``covariates.md``: the EPF tables beside the published rows, beijing_air and cost."""
    selected = invocation.selected(records, KEY)
    if selected.empty:
        return
    is_cost = selected.get("table", pd.Series(index=selected.index, dtype=object)).eq("cost")
    costs, fits = selected[is_cost], selected[~is_cost]
    epf = fits[fits["dataset"].str.startswith("EPF_")]
    beijing = fits[fits["dataset"] == "beijing_air"]
    parts = [
        "# Covariates: what knowing ahead is worth\n",
        f"{invocation.generated}; {len(invocation.computed)} cells computed in this invocation "
        f"({invocation.seconds:.0f} s), the others read from `runs.jsonl`.\n",
        __doc__.split("\n\n", 1)[1],
    ]
    if len(epf):
        parts += [
            "## EPF: test MSE (scaled)\n",
            "Columns: market and X mode (`none`: no X; `past`: X over the lookback only; "
            "`future`: X over lookback and horizon). Published rows read X over the lookback "
            "only, so they sit in the `past` columns.\n",
            markdown(_results_table(epf, "mse")),
            "\n## EPF: test MAE (scaled)\n",
            markdown(_results_table(epf, "mae")),
            "\n## Our best (chosen by validation MSE) against TimeXer's published MSE\n",
            markdown(_best_against_timexer(epf)),
            "\n## EPF fits: epochs and seconds\n",
            markdown(epf.reindex(columns=FIT_COLUMNS).dropna(axis=1, how="all")),
        ]
    if len(beijing):
        columns = ["backbone", "embedding", "mode", "gates", "mse", "mae", "valid_mse",
                   "epochs", "s_per_epoch", "params"]  # fmt: skip
        parts += [
            "\n## beijing_air PM2.5 with the weather as a perfect forecast (upper bound)\n",
            markdown(beijing[columns]),
        ]
    if len(costs):
        parts += [
            "\n## Cost of X: seconds per training epoch on EPF NP (medians, alternating)\n",
            markdown(costs.reindex(columns=COST_COLUMNS).dropna(axis=1, how="all")),
        ]
    (out / "covariates.md").write_text("\n".join(parts) + "\n")
    print("\n".join(parts))
