"""Ablation and sensitivity studies of the embedding (issue: why LightSAE works).

Every study fits the RLinear forecaster at H=96 under the standard protocol (fixed lr 0.005,
seed 2023, patience 3) through :func:`~sae_forecast.bench.runs.train` and returns one record per
run plus the study's own columns, and the trained skorch nets for the mechanism analysis.
Channel subsets and the synthetic series keep all else equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast.bench.presets import default_pool_size
from sae_forecast.bench.runs import Run, train
from sae_forecast.data import load_dataset, make_heterogeneous_series

__all__ = [
    "ABLATION_DEFAULTS",
    "channel_study",
    "embedding_study",
    "penalty_study",
    "rank_pool_study",
    "synthetic_study",
]

ABLATION_DEFAULTS = {"max_epochs": 30, "pool_size": 10}


def _run(dataset: str, embedding: str, columns=None, **parameters) -> Run:
    parameters = {**ABLATION_DEFAULTS, **parameters}
    return Run(
        dataset,
        "RLinear",
        embedding,
        96,
        lrs=(0.005,),
        columns=columns,
        parameters=tuple(sorted(parameters.items())),
    )


def _train(run: Run, data_home=None, frame=None):
    forecaster, record = train(run, data_home, frame)
    return forecaster.net_, record


def embedding_study(
    dataset: str, data_home=None, kinds=("shared", "independent", "sae", "sae_lowrank", "lightsae")
):
    """Train every embedding kind; return ``(rows, nets)`` (nets keyed by kind)."""
    rows, nets = [], {}
    for kind in kinds:
        net, row = _train(_run(dataset, kind), data_home)
        rows.append({**row, "study": "embedding"})
        nets[kind] = net
    return pd.DataFrame(rows), nets


def rank_pool_study(
    dataset: str, data_home=None, ranks=(1, 10, 25, 50), pool_sizes=(1, 3, 10, 20)
) -> pd.DataFrame:
    """LightSAE over ranks (K=10) and over pool sizes (r=25)."""
    rows = []
    for rank in ranks:
        row = _train(_run(dataset, "lightsae", rank=rank), data_home)[1]
        rows.append({**row, "study": "rank"})
    for pool in pool_sizes:
        row = _train(_run(dataset, "lightsae", pool_size=pool), data_home)[1]
        rows.append({**row, "study": "pool_size"})
    return pd.DataFrame(rows)


def penalty_study(
    dataset: str,
    data_home=None,
    settings=(
        (None, 0.0),
        ("balance", 0.01),
        ("balance", 0.1),
        ("entropy", 0.01),
        ("entropy", 0.1),
    ),
):
    """LightSAE with each gate regulariser; return ``(rows, nets)`` keyed by setting label."""
    rows, nets = [], {}
    for penalty, weight in settings:
        run = _run(dataset, "lightsae", gate_penalty=penalty, gate_penalty_weight=weight)
        net, row = _train(run, data_home)
        label = "none" if penalty is None else f"{penalty} {weight:g}"
        rows.append({**row, "study": "gate_penalty", "setting": label})
        nets[label] = net
    return pd.DataFrame(rows), nets


def channel_study(
    dataset: str, data_home=None, sizes=(8, 16, 32, 64, 132), subset_seeds=(0, 1, 2)
) -> pd.DataFrame:
    """Shared vs LightSAE on random channel subsets of ``dataset`` (K by channel count)."""
    columns = list(load_dataset(dataset, data_home).columns)
    rows = []
    for size in sizes:
        for subset_seed in subset_seeds if size < len(columns) else subset_seeds[:1]:
            rng = np.random.default_rng(subset_seed)
            subset = tuple(sorted(rng.choice(columns, size=min(size, len(columns)), replace=False)))
            for kind in ("shared", "lightsae"):
                run = _run(dataset, kind, subset, pool_size=default_pool_size(len(subset)))
                row = _train(run, data_home)[1]
                rows.append({**row, "study": "channels", "subset_seed": subset_seed})
    return pd.DataFrame(rows)


def synthetic_study(
    structures=("clustered", "shared", "independent"),
    n_channels=32,
    n_types=4,
    n_steps=4000,
    noise=0.3,
):
    """Shared, SAE and LightSAE (K = n_types) on generated series.

    Returns ``(rows, nets, types)``; nets are keyed by ``(structure, kind)``.
    """
    rows, nets, types_by_structure = [], {}, {}
    for structure in structures:
        frame, types = make_heterogeneous_series(
            n_channels=n_channels,
            n_types=n_types,
            n_steps=n_steps,
            structure=structure,
            noise=noise,
            random_state=0,
        )
        types_by_structure[structure] = types
        for kind in ("shared", "sae", "lightsae"):
            net, row = _train(_run("synthetic", kind, pool_size=n_types), frame=frame)
            rows.append({**row, "study": "synthetic", "structure": structure})
            nets[(structure, kind)] = net
    return pd.DataFrame(rows), nets, types_by_structure
