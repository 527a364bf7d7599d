"""Ablation and sensitivity studies of the embedding (issue: why LightSAE works).

Every study trains RLinear at H=96 under the standard protocol (fixed lr 0.005, seed 2023,
patience 3) and returns one row per run, as :func:`~sae_forecast.bench.experiment.run_experiment`
does, plus the study's own columns. Channel subsets and the synthetic series keep all else equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast.bench.experiment import Experiment, train_and_score
from sae_forecast.bench.presets import default_pool_size
from sae_forecast.data import load_dataset, make_heterogeneous_series, prepare_benchmark

__all__ = [
    "ABLATION_DEFAULTS",
    "channel_study",
    "embedding_study",
    "penalty_study",
    "rank_pool_study",
    "synthetic_study",
]

ABLATION_DEFAULTS = {
    "backbone": "RLinear",
    "horizon": 96,
    "lrs": (0.005,),
    "seed": 2023,
    "max_epochs": 30,
}


def _experiment(dataset: str, embedding: str, **overrides) -> Experiment:
    options = {**ABLATION_DEFAULTS, "pool_size": 10, **overrides}
    return Experiment(dataset=dataset, embedding=embedding, **options)


def embedding_study(
    dataset: str, data_home=None, kinds=("shared", "independent", "sae", "sae_lowrank", "lightsae")
):
    """Train every embedding kind; return ``(rows, nets)`` (nets keyed by kind)."""
    rows, nets = [], {}
    for kind in kinds:
        net, row = train_and_score(_experiment(dataset, kind), data_home)
        rows.append({**row, "study": "embedding"})
        nets[kind] = net
    return pd.DataFrame(rows), nets


def rank_pool_study(
    dataset: str, data_home=None, ranks=(1, 10, 25, 50), pool_sizes=(1, 3, 10, 20)
) -> pd.DataFrame:
    """LightSAE over ranks (K=10) and over pool sizes (r=25)."""
    rows = []
    for rank in ranks:
        row = train_and_score(_experiment(dataset, "lightsae", rank=rank), data_home)[1]
        rows.append({**row, "study": "rank"})
    for pool in pool_sizes:
        row = train_and_score(_experiment(dataset, "lightsae", pool_size=pool), data_home)[1]
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
        exp = _experiment(dataset, "lightsae", gate_penalty=penalty, gate_penalty_weight=weight)
        net, row = train_and_score(exp, data_home)
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
                exp = _experiment(
                    dataset, kind, columns=subset, pool_size=default_pool_size(len(subset))
                )
                row = train_and_score(exp, data_home)[1]
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
        data = prepare_benchmark(frame, 96, rule="ratio_7_1_2")
        types_by_structure[structure] = types
        for kind in ("shared", "sae", "lightsae"):
            exp = _experiment("synthetic", kind, pool_size=n_types)
            net, row = train_and_score(exp, data=data)
            rows.append({**row, "study": "synthetic", "structure": structure})
            nets[(structure, kind)] = net
    return pd.DataFrame(rows), nets, types_by_structure
