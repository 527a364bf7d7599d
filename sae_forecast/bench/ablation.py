"""The studies behind the analysis pages (why LightSAE works).

Each study fits the RLinear forecaster at H=96 through :func:`~sae_forecast.bench.runs.train`
(lr 0.005, seed 2023, K=10, r=25, up to 30 epochs unless it varies them) and returns
``(frames, figures)``: the tables it measured, by name, and the figures of the trained nets,
by file name. Channel subsets and the synthetic series keep all else equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast.analysis import agreement, cluster_channels, gate_matrix, plot_gain_vs_channels
from sae_forecast.bench import mechanism
from sae_forecast.bench.presets import (
    ANALYSIS_DEFAULTS,
    ANALYSIS_LRS,
    HORIZON,
    Run,
    default_pool_size,
)
from sae_forecast.bench.runs import train
from sae_forecast.data import load_dataset, make_heterogeneous_series

__all__ = [
    "channel_study",
    "embedding_study",
    "penalty_study",
    "rank_pool_study",
    "synthetic_study",
]

ALL_KINDS = ("shared", "independent", "sae", "sae_lowrank", "lightsae")
PENALTIES = ((None, 0.0), ("balance", 0.01), ("balance", 0.1), ("entropy", 0.01), ("entropy", 0.1))


def _fit(dataset, embedding, *, data_home=None, frame=None, columns=None, **parameters):
    """Train one RLinear run; return ``(net, record)``, the record naming its r and K."""
    parameters = tuple(sorted({**ANALYSIS_DEFAULTS, **parameters}.items()))
    run = Run(
        dataset,
        "RLinear",
        embedding,
        HORIZON,
        lrs=ANALYSIS_LRS,
        columns=columns,
        parameters=parameters,
    )
    forecaster, record = train(run, data_home, frame)
    return forecaster.net_, {**record, "rank": forecaster.rank, "pool_size": forecaster.pool_size}


def with_change(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add ``mse_change_pct``: the MSE change against the shared row with the same ``keys``.

    Examples
    --------
    >>> rows = pd.DataFrame({"n": [8, 8], "embedding": ["shared", "lightsae"], "mse": [1, 0.9]})
    >>> with_change(rows, ["n"])["mse_change_pct"].round(1).tolist()
    [0.0, -10.0]
    """
    shared = rows.loc[rows["embedding"] == "shared", [*keys, "mse"]]
    base = rows[keys].merge(shared, on=keys, how="left")["mse"].to_numpy()
    return rows.assign(mse_change_pct=100 * (rows["mse"].to_numpy() / base - 1))


def embedding_study(dataset: str, data_home=None, kinds=ALL_KINDS):
    """Every embedding kind; the rank of their channel weights and their channel clusters."""
    columns = list(load_dataset(dataset, data_home).columns)
    groups = mechanism.channel_groups(columns)
    fits = {kind: _fit(dataset, kind, data_home=data_home) for kind in kinds}
    nets = {kind: net for kind, (net, _) in fits.items()}
    rows = pd.DataFrame([{**record, "study": "embedding"} for _, record in fits.values()])
    frames = {
        "embedding": with_change(rows, ["dataset"]),
        "ranks": mechanism.rank_table(nets),
        "clusters": mechanism.cluster_agreement(nets, groups),
    }
    return frames, mechanism.mechanism_figures(nets, groups, columns)


def rank_pool_study(dataset: str, data_home=None, ranks=(1, 10, 25, 50), pool_sizes=(1, 3, 10, 20)):
    """LightSAE over ranks (K=10) and over pool sizes (r=25)."""
    sweep = [("rank", r) for r in ranks] + [("pool_size", k) for k in pool_sizes]
    rows = [
        {**_fit(dataset, "lightsae", data_home=data_home, **{name: value})[1], "study": name}
        for name, value in sweep
    ]
    return {"rank_pool": pd.DataFrame(rows)}, {}


def penalty_study(dataset: str, data_home=None, settings=PENALTIES):
    """LightSAE with each gate regulariser, and the collapse report of its gates."""
    rows, nets = [], {}
    for penalty, weight in settings:
        label = "none" if penalty is None else f"{penalty} {weight:g}"
        options = {"gate_penalty": penalty, "gate_penalty_weight": weight}
        nets[label], record = _fit(dataset, "lightsae", data_home=data_home, **options)
        rows.append({**record, "study": "gate_penalty", "setting": label})
    return {"penalty": mechanism.penalty_table(pd.DataFrame(rows), nets)}, {}


def channel_study(dataset: str, data_home=None, sizes=(8, 16, 32, 64, 132), subset_seeds=(0, 1, 2)):
    """Shared vs LightSAE on random channel subsets of ``dataset`` (K by channel count)."""
    columns = list(load_dataset(dataset, data_home).columns)
    rows = []
    for size in sizes:
        for subset_seed in subset_seeds if size < len(columns) else subset_seeds[:1]:
            rng = np.random.default_rng(subset_seed)
            chosen = rng.choice(columns, size=min(size, len(columns)), replace=False)
            subset = tuple(sorted(map(str, chosen)))
            pool_size = default_pool_size(len(subset))
            for kind in ("shared", "lightsae"):
                options = {"data_home": data_home, "columns": subset, "pool_size": pool_size}
                record = _fit(dataset, kind, **options)[1]
                rows.append({**record, "study": "channels", "subset_seed": subset_seed})
    rows = with_change(pd.DataFrame(rows), ["n_channels", "subset_seed"])
    mean = rows[rows["embedding"] == "lightsae"].groupby("n_channels")["mse_change_pct"].mean()
    title = f"LightSAE vs shared on random channel subsets of {dataset}"
    figure = plot_gain_vs_channels(mean.index.to_numpy(), mean.to_numpy(), title=title)
    return {"channels": rows}, {"gain_vs_channels.png": figure}


def synthetic_study(
    structures=("clustered", "shared", "independent"),
    n_channels=32,
    n_types=4,
    n_steps=4000,
    noise=0.3,
):
    """Shared, SAE and LightSAE (K = n_types) on generated series; do the gates find the types?"""
    rows, aris = [], []
    for structure in structures:
        frame, types = make_heterogeneous_series(
            n_channels=n_channels,
            n_types=n_types,
            n_steps=n_steps,
            structure=structure,
            noise=noise,
            random_state=0,
        )
        for kind in ("shared", "sae", "lightsae"):
            net, record = _fit("synthetic", kind, frame=frame, pool_size=n_types)
            rows.append({**record, "study": "synthetic", "structure": structure})
        found = len(set(types.tolist()))
        if 1 < found < len(types):  # a clustering to recover (the last net is LightSAE's)
            labels = cluster_channels(gate_matrix(net.module_), found, random_state=0)
            aris.append(
                {"structure": structure, "gates vs true types ARI": agreement(labels, types)}
            )
    rows = with_change(pd.DataFrame(rows), ["structure"])
    return {"synthetic": rows, "synthetic_ari": pd.DataFrame(aris)}, {}
