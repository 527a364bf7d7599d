"""Gaps: native gaps against imputer pipelines.

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

import time
import warnings
from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.transformations.series.impute import Imputer

from sae_forecast.bench.presets import (
    GAPS_MAX_EPOCHS,
    HORIZON,
    SEQ_LEN,
    Run,
    build_runs,
    reference_sizes,
)
from sae_forecast.bench.report import markdown
from sae_forecast.bench.runner import Cell, settings_key
from sae_forecast.bench.runs import fit_windows, protocol_forecaster, series
from sae_forecast.data import CATALOG, Standardiser, split_borders
from sae_forecast.forecasting import FORECASTERS
from sae_forecast.training import BatchIterator

KEY = ("key",)
DEFAULT_OUT = "docs/benchmarks/gaps"

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
    borders = split_borders(rule, len(frame), SEQ_LEN)
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
            horizons=[HORIZON],
        ):  # fmt: skip
            parameters = {**dict(run.parameters), "max_epochs": max_epochs[run.backbone]}
            runs.append((replace(run, parameters=tuple(sorted(parameters.items()))), pattern))
    return runs


# one net, warmed up by an epoch of each side, then its steps on the two sides alternated
COST_PROTOCOL = {"warmup_epochs": 1, "alternated": "steps of one net"}
# alternated rounds (a pass over the training windows each) per backbone
COST_ROUNDS = {"RLinear": 31, "iTransformer": 11}
# what the records made before the protocol was named did: a fit of 4 epochs per side and
# round, timed on the epochs after the first
EARLIER_COST_PROTOCOL = "fits alternated"
# the clock of the masking cost (a test replaces it)
_clock = time.perf_counter


def cost_protocol(backbone: str) -> dict:
    """The masking-cost protocol of ``backbone``: epochs per fit and alternated rounds."""
    return {**COST_PROTOCOL, "rounds": COST_ROUNDS.get(backbone, 11)}


COST_GAPS = ("in every window", "one, in no target")


class CostCell(NamedTuple):
    """A masking-cost cell: the backbone and where the gaps fall (one of ``COST_GAPS``)."""

    backbone: str
    gaps: str


def with_cost_gaps(clean: pd.DataFrame, gaps: str) -> pd.DataFrame:
    """A copy of ``clean`` with the gaps of a masking-cost measurement: ``"in every window"``
    (channel 0 every ``HORIZON`` rows from ``SEQ_LEN``, so every window's targets hold one
    gap and every batch takes the masked loss) or ``"one, in no target"`` (the first row's
    first value, a lookback value only: every batch takes the plain loss).

    Examples
    --------
    >>> frame = pd.DataFrame(np.ones((400, 2)))
    >>> int(with_cost_gaps(frame, "in every window").isna().sum().sum())  # rows 96, 192, ...
    4
    """
    gappy = clean.copy()
    if gaps == "in every window":
        gappy.iloc[SEQ_LEN::HORIZON, 0] = np.nan
    elif gaps == "one, in no target":
        gappy.iloc[0, 0] = np.nan
    else:
        raise ValueError(f"gaps={gaps!r} is not one of {COST_GAPS}; pass one of them.")
    return gappy


def masking_cost(
    dataset: str,
    backbone: str,
    data_home=None,
    rounds: int | None = None,
    gaps: str = COST_GAPS[0],
) -> dict:
    """Seconds per pass over the training windows on clean data, unmasked vs with the gaps
    ``gaps`` (see :func:`with_cost_gaps`), medians of ``rounds`` alternated rounds (those of
    :func:`cost_protocol` by default).

    One forecaster is fitted on the clean rows and its net trains one untimed epoch on the
    gappy windows. Each round then draws one shuffled order and steps the net through the
    batches of both sides in turn, a clean batch and the same windows with gaps, the side
    that goes first alternating by round (:func:`paired_steps`): the data path (the weight
    gathered, the masked loss) is the only difference, and both sides see the same moments
    of the machine. Timing whole epochs in turn moved the ratio of the control (no masked
    batch) between 0.90 and 1.03 on a machine whose speed varied by 30% from one tenth of a
    second to the next (docs/changelog.md)."""
    rounds = cost_protocol(backbone)["rounds"] if rounds is None else rounds
    frame = series(dataset, data_home)
    clean = frame.iloc[: split_borders(CATALOG[dataset].split, len(frame), SEQ_LEN)["train"][1]]
    options = dict(seq_len=SEQ_LEN, pred_len=HORIZON, pool_size=3, random_state=0)
    options.update(max_epochs=COST_PROTOCOL["warmup_epochs"], validation_size=0)
    options.update(reference_sizes(backbone, dataset, HORIZON))
    net = FORECASTERS[backbone](**options).fit(clean).net_
    sides = {"unmasked": clean, "masked": with_cost_gaps(clean, gaps)}
    windows = {name: fit_windows(data, HORIZON, 0)[0] for name, data in sides.items()}
    net.partial_fit(windows["masked"], epochs=COST_PROTOCOL["warmup_epochs"])
    times = {"unmasked": [], "masked": []}
    for round_ in range(rounds):
        names = list(times) if round_ % 2 == 0 else list(times)[::-1]
        seconds = paired_steps(net, [windows[name] for name in names], seed=round_)
        for name, spent in zip(names, seconds, strict=True):
            times[name].append(spent)
    row = {k: float(np.median(v)) for k, v in times.items()}
    return {"dataset": dataset, "backbone": backbone, "gaps": gaps, **row, "rounds": rounds,
            "masked / unmasked": row["masked"] / row["unmasked"],
            "protocol": COST_PROTOCOL["alternated"]}  # fmt: skip


def paired_steps(net, sides, seed: int) -> list[float]:
    """Seconds that each of ``sides`` (window datasets of equal length) spent in one pass:
    its batches drawn (:class:`~sae_forecast.training.BatchIterator`, shuffled from
    ``seed``, the same windows on every side) and trained (``net.train_step``), the sides
    taking one step each in turn."""
    if len({len(windows) for windows in sides}) != 1:
        raise ValueError(f"the sides have {[len(w) for w in sides]} windows; pass equal ones.")
    streams = [
        iter(BatchIterator(w, net.batch_size, shuffle=True, generator=_seeded(seed))) for w in sides
    ]
    seconds = [0.0] * len(sides)
    for _ in range(len(BatchIterator(sides[0], net.batch_size))):
        for side, stream in enumerate(streams):
            start = _clock()
            net.train_step(next(stream))
            seconds[side] += _clock() - start
    return seconds


def _seeded(seed: int) -> torch.Generator:
    """A new generator at ``seed``: every side of :func:`paired_steps` draws the same order."""
    return torch.Generator().manual_seed(seed)


@lru_cache(maxsize=2)
def _punched(dataset: str, pattern: str, data_home) -> pd.DataFrame:
    return punch(series(dataset, data_home), pattern)


def add_options(parser) -> None:
    """The clean dataset, backbones, embeddings, patterns, methods and epoch caps."""
    add = parser.add_argument
    add("--clean", default="ETTh1", choices=sorted(CATALOG))
    add("--backbones", nargs="+", default=["RLinear", "iTransformer"])
    add("--embeddings", nargs="+", default=["shared", "lightsae"])
    add("--patterns", nargs="+", default=list(PATTERNS), choices=PATTERNS)
    add("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    add("--epochs-rlinear", type=int, default=GAPS_MAX_EPOCHS["RLinear"])
    add("--epochs-itransformer", type=int, default=GAPS_MAX_EPOCHS["iTransformer"])
    add("--cost", action="store_true", help="also time the masked loss path")


def cells(args) -> list[Cell]:
    """Every run, pattern and method (cheap runs first), then the masking cost per backbone."""
    epochs = {"RLinear": args.epochs_rlinear, "iTransformer": args.epochs_itransformer}
    runs = gap_runs(args.clean, args.backbones, args.embeddings, epochs)
    runs.sort(key=lambda r: (r[0].backbone != "RLinear", r[1] == "real"))
    found = [
        Cell(
            (f"{run.key}-{pattern}-{method}",),
            f"{run.label()} {pattern} {method}",
            (run, pattern, method),
        )
        for run, pattern in runs
        if pattern in args.patterns
        for method in args.methods
    ]
    cost = [  # keyed by the protocol too: a new protocol measures again
        Cell(
            (settings_key("masking cost", args.clean, b, gaps=gaps, **cost_protocol(b)),),
            f"masking cost {b}, gaps {gaps}",
            CostCell(b, gaps),
        )
        for gaps in COST_GAPS
        for b in args.backbones
    ]
    return found + (cost if args.cost else [])


def compute(cell: Cell, args) -> list[dict]:
    """One fit and its scores, or the masking cost of one backbone."""
    warnings.filterwarnings("ignore", message=".*remember_data.*", category=FutureWarning)
    if isinstance(cell.spec, CostCell):
        cost = masking_cost(args.clean, cell.spec.backbone, args.data_home, gaps=cell.spec.gaps)
        return [{"table": "masking_cost", **cost}]
    run, pattern, method = cell.spec
    frame = _punched(run.dataset, pattern, args.data_home)
    result = train_gappy(run, frame, method, CATALOG[run.dataset].split)
    record = {"dataset": run.dataset, "pattern": pattern, "method": method}
    record.update(backbone=run.backbone, embedding=run.embedding, **result)
    return [{**record, "parameters": dict(run.parameters)}]


def write_page(out, records, invocation, args) -> None:
    """``gaps.md``: MSE by method (and against ffill) for every pattern, with fit times."""
    cost = records.get("table", pd.Series("", index=records.index)).eq("masking_cost")
    results, costs = records[~cost], records[cost]
    keys = ["dataset", "pattern", "backbone", "embedding"]
    table = results.pivot_table(index=keys, columns="method", values="mse", sort=False)
    seconds = results.pivot_table(index=keys, columns="method", values="fit_s", sort=False)
    missing = results.groupby(keys, sort=False)["missing_pct"].first()
    for method in table.columns.drop("ffill", errors="ignore"):
        table[f"{method} vs ffill"] = (100 * (table[method] / table["ffill"] - 1)).map(
            "{:+.1f}%".format
        )
    table = table.join(seconds.add_suffix(" fit s")).join(missing.rename("missing %"))
    text = ""
    if len(costs):
        protocol = costs.get("protocol", pd.Series(None, index=costs.index, dtype=object))
        costs = costs.assign(protocol=protocol.fillna(EARLIER_COST_PROTOCOL))
        columns = ["dataset", "backbone", "gaps", "protocol", "rounds", "unmasked", "masked"]
        columns += ["masked / unmasked"]
        text = (
            "\n## Cost of the masked loss on clean data (s per training epoch, or per pass over "
            "the batches for `steps of one net`; medians of "
            "alternated rounds; gaps: see `with_cost_gaps`; protocol `fits alternated`: a fit "
            "of 4 epochs per side and round, timed on the epochs after the first; `epochs of "
            "one net`: one net trains an epoch on each side in turn; `steps of one net`: one "
            "net steps through both sides' batches in turn, seconds per pass over the "
            "windows, see `masking_cost`; "
            "`one, in no target` takes no masked batch: its ratio is the protocol's own "
            "bias)\n\n"
            f"{markdown(costs[columns])}\n"
        )
    (out / "gaps.md").write_text(
        f"# Gaps: native masking against imputer pipelines\n\n{invocation.generated}.\n\n"
        f"{__doc__.split(chr(10) * 2, 1)[1]}\n{markdown(table.reset_index())}\n{text}"
    )
