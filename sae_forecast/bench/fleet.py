"""Fleet: a new device joins the fleet; pretrain on 11 beijing_air stations, adapt to the 12th.

beijing_air's columns are
``<Station>_<variable>``: a fleet of 12 stations reporting the same 11 variables. For each
held-out station (rotated), backbone and embedding, one network is pretrained on the other 11
stations (rows up to the end of the standard validation part, which is each station's
validation tail). The held-out station then gets 2, 4 and 8 weeks of history (the weeks just
before its test part) and four models are scored on its test windows (H=96; MSE in units of
the station's standard-protocol scale, so that histories compare): ``alone``, its own model
from scratch (lr chosen on its validation tail); ``pretrained``, the fleet network as it is
(``adapt="none"``); ``gates``, only the LightSAE gates and per-channel bias trained;
``all``, every weight fine-tuned.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import pandas as pd

from sae_forecast.bench.fleet_page import CASES, write_page  # noqa: F401 (the study's page)
from sae_forecast.bench.presets import HORIZON as H
from sae_forecast.bench.presets import LR_GRIDS, SEQ_LEN, build_runs, default_pool_size
from sae_forecast.bench.runner import Cell
from sae_forecast.bench.runs import best_fit, series
from sae_forecast.data import Standardiser, split_borders
from sae_forecast.forecasting import FORECASTERS

KEY = ("station", "backbone", "embedding", "setting")
DEFAULT_OUT = "docs/benchmarks/fleet"
WEEK = 168  # hourly rows
ADAPT = {"pretrained": "none", "gates": "gates", "all": "all"}


def fleet_panel(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """beijing_air as a fleet: station -> its 11 variables (columns named by variable)."""
    station = frame.columns.str.rsplit("_", n=1).str[0]
    return {
        name: frame.loc[:, station == name].rename(columns=lambda c: c.rsplit("_", 1)[1])
        for name in dict.fromkeys(station)
    }


def settings(backbone: str, embedding: str, quick: bool) -> dict:
    """The accuracy benchmark's parameters for beijing_air at H=96 (K for 11 channels)."""
    run = build_runs(
        "quick" if quick else "results",
        datasets=["beijing_air"],
        backbones=[backbone],
        embeddings=[embedding],
        horizons=[H],
    )[0]
    return {
        **dict(run.parameters),
        "pool_size": default_pool_size(11),
        "seq_len": SEQ_LEN,
        "pred_len": H,
        "embedding": embedding,
        "random_state": run.seed,
        "lr": run.lrs[0],
    }


def alone(backbone: str, params: dict, history: pd.DataFrame, quick: bool):
    """The station's own model: one fit per lr of the grid, the best on its validation tail."""
    lrs = LR_GRIDS[backbone][: 1 if quick else None]
    fits = [FORECASTERS[backbone](**{**params, "lr": lr}) for lr in lrs]
    best, _, seconds = best_fit(fits, history)
    return best, seconds


def adapted(pretrained, case: str, history: pd.DataFrame):
    """A copy of the pretrained forecaster (its state kept) fitted with ``adapt`` for ``case``
    and a validation tail of 10% (the public hyperparameters, set before ``fit``)."""
    forecaster = copy.deepcopy(pretrained)
    forecaster.adapt, forecaster.validation_size = ADAPT[case], 0.1
    began = time.perf_counter()
    return forecaster.fit(history), time.perf_counter() - began


def _scores(forecaster, own: pd.DataFrame, first: int, test_start: int, std) -> dict:
    score = forecaster.score_windows(own.iloc[first:], start=test_start - first, std=std)
    weights = list(forecaster.model_.parameters())  # frozen ones: requires_grad=False
    trained = (
        0 if forecaster.trainable_ == () else sum(p.numel() for p in weights if p.requires_grad)
    )
    return {
        "mse": score["mse"],
        "mae": score["mae"],
        "epochs": forecaster.n_epochs_,
        "trained": trained,
        "params": sum(p.numel() for p in weights),
    }


def rotation(station: str, backbone: str, embedding: str, fleet: dict, borders, args):
    """Every record of one held-out station: pretraining, then each case at each history."""
    params = settings(backbone, embedding, args.quick)
    valid_end, train_end = borders["valid"][1], borders["train"][1]
    panel = pd.concat({s: f.iloc[:valid_end] for s, f in fleet.items() if s != station})
    epochs = args.pretrain_epochs.get(backbone, params["max_epochs"])
    pretrained = FORECASTERS[backbone](
        **{**params, "max_epochs": epochs}, validation_size=valid_end - train_end - H + 1
    )
    began = time.perf_counter()
    pretrained.pretrain(panel)
    base = {
        "station": station,
        "backbone": backbone,
        "embedding": embedding,
        "setting": args.setting,
    }
    yield {
        **base,
        "case": "pretrain",
        "seconds": time.perf_counter() - began,
        "epochs": len(pretrained.fleet_.history),
    }
    own = fleet[station]
    std = Standardiser.fit(own.iloc[:train_end].to_numpy(dtype=np.float64)).std  # the protocol's
    for weeks in args.weeks:
        first = valid_end - weeks * WEEK
        history = own.iloc[first:valid_end]
        for case in CASES if embedding == "lightsae" else ("alone", "pretrained", "all"):
            forecaster, seconds = (
                alone(backbone, params, history, args.quick)
                if case == "alone"
                else adapted(pretrained, case, history)
            )
            yield {
                **base,
                "weeks": weeks,
                "case": case,
                "seconds": seconds,
                **_scores(forecaster, own, first, borders["test"][0], std),
            }


def add_options(parser) -> None:
    """Backbones, embeddings, held-out stations, histories, the pretraining cap, quick."""
    add = parser.add_argument
    add("--backbones", nargs="+", default=["RLinear", "iTransformer"])
    add("--embeddings", nargs="+", default=["lightsae", "shared"])
    add("--stations", type=int, default=4, help="held-out stations (rotation)")
    add("--weeks", type=int, nargs="+", help="histories (default 2 4 8)")
    add("--epochs-itransformer", type=int, default=3, help="pretraining cap")
    add("--quick", action="store_true", help="tiny smoke configuration")


def _fleet(args):
    """The fleet and its borders (``--quick``: the last 1500 rows, 1 pretraining epoch)."""
    args.pretrain_epochs = {"iTransformer": args.epochs_itransformer}
    args.weeks = args.weeks or ([2, 4] if args.quick else [2, 4, 8])
    if args.quick:
        args.pretrain_epochs = {"RLinear": 1, "iTransformer": 1}
    # records of another setting (e.g. a --quick smoke run) are neither resumed nor reported
    args.setting = f"{'quick' if args.quick else 'full'} {args.pretrain_epochs} weeks {args.weeks}"
    frame = series("beijing_air", args.data_home).iloc[-1500 if args.quick else 0 :]
    borders = split_borders("ratio_7_1_2", len(frame), SEQ_LEN)
    if max(args.weeks) * WEEK > borders["valid"][1]:
        raise SystemExit(
            f"--weeks: at most {borders['valid'][1] // WEEK} weeks precede the test part."
        )
    return fleet_panel(frame), borders


def cells(args) -> list[Cell]:
    """One cell per backbone, embedding and held-out station."""
    fleet, _ = _fleet(args)
    held_out = list(fleet)[:: len(fleet) // args.stations][: args.stations]
    return [
        Cell((station, backbone, embedding, args.setting), f"{station} {backbone} {embedding}")
        for backbone in args.backbones
        for embedding in args.embeddings
        for station in held_out
    ]


def compute(cell: Cell, args) -> list[dict]:
    """Every record of one rotation (saved whole: a resumed run never repeats part of one)."""
    warnings.filterwarnings("ignore", message=".*remember_data.*", category=FutureWarning)
    fleet, borders = _fleet(args)
    station, backbone, embedding, _ = cell.key
    return list(rotation(station, backbone, embedding, fleet, borders, args))
