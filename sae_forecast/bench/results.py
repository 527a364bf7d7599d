"""Benchmark tables and figures: derived columns, published figures, markdown, PNG."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sae_forecast.bench.report import markdown_table, plural
from sae_forecast.nn import BACKBONES

__all__ = [
    "add_derived_columns",
    "configuration_markdown",
    "gain_figure",
    "headline_markdown",
    "lr_grid_from_cell",
    "published_mse",
    "reference_mse",
    "results_markdown",
    "sizes_from_cell",
    "timing_machines",
]

KEY = ["dataset", "backbone", "horizon", "seed", "precision"]


def sizes_from_cell(value) -> dict:
    """The ``sizes`` column of ``results.csv`` (a JSON object, or already a mapping) as a dict.

    >>> sizes_from_cell('{"d_model": 512}')
    {'d_model': 512}
    """
    return json.loads(value) if isinstance(value, str) else dict(value)


def lr_grid_from_cell(value) -> tuple[float, ...]:
    """The ``lr_grid`` column of ``results.csv`` (a JSON list, a sequence or NaN) as a tuple.

    >>> lr_grid_from_cell("[0.01, 0.005]")
    (0.01, 0.005)
    >>> lr_grid_from_cell(float("nan"))
    ()
    """
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else ()


def _backbone_rank(name: str) -> int:
    """Position of a backbone in the paper's order (RLinear, RMLP, PatchTST, iTransformer)."""
    names = list(BACKBONES)
    return names.index(name) if name in names else len(names)


def _package_csv(name: str) -> pd.DataFrame:
    with resources.files("sae_forecast.bench").joinpath(name).open() as handle:
        return pd.read_csv(handle)


def published_mse() -> pd.DataFrame:
    """Published test MSE/MAE at lookback 96 (iTransformer paper, Tables 9-10).

    Columns ``dataset, horizon, model, mse, mae``; RLinear and PatchTST there are that paper's
    reruns at lookback 96.
    """
    return _package_csv("published_l96.csv")


def reference_mse() -> pd.DataFrame:
    """The LightSAE authors' code run on this project's CPU kind (see docs/results.md)."""
    return _package_csv("reference_cpu.csv")


def add_derived_columns(results: pd.DataFrame) -> pd.DataFrame:
    """Add the relative MSE change and parameter overhead of each row against ``shared``.

    Both are taken against the shared-embedding row of the same dataset, backbone, horizon,
    seed, precision and lr grid in the same run (NaN when that run has no shared row).
    Published baselines (shared rows) and the authors' CPU figures (same lr where available)
    are joined too.

    Examples
    --------
    >>> rows = pd.DataFrame(
    ...     {
    ...         "dataset": ["ETTh1"] * 2,
    ...         "backbone": ["RLinear"] * 2,
    ...         "horizon": [96, 96],
    ...         "seed": [0, 0],
    ...         "embedding": ["shared", "lightsae"],
    ...         "mse": [0.4, 0.38],
    ...         "params": [100, 104],
    ...         "lr": [0.01, 0.01],
    ...     }
    ... )
    >>> add_derived_columns(rows)["mse_change_pct"].round(1).tolist()
    [0.0, -5.0]
    """
    results = results.copy()
    if "precision" not in results:
        results["precision"] = "fp32"
    key = [*KEY, "lr_grid"] if "lr_grid" in results else KEY
    shared = results[results["embedding"] == "shared"].set_index(key)
    base = results.set_index(key).index
    shared_mse = shared["mse"].reindex(base).to_numpy()
    shared_params = shared["params"].reindex(base).to_numpy()
    results["mse_change_pct"] = 100 * (results["mse"].to_numpy() / shared_mse - 1)
    results["param_overhead_pct"] = 100 * (results["params"].to_numpy() / shared_params - 1)
    published = published_mse().rename(columns={"model": "backbone", "mse": "published_mse"})
    results = results.merge(
        published[["dataset", "horizon", "backbone", "published_mse"]],
        on=["dataset", "horizon", "backbone"],
        how="left",
    )
    results.loc[results["embedding"] != "shared", "published_mse"] = np.nan
    reference = reference_mse().rename(columns={"mse": "reference_mse", "lr": "reference_lr"})
    same_lr = results.merge(
        reference[["dataset", "backbone", "embedding", "horizon", "reference_lr", "reference_mse"]],
        left_on=["dataset", "backbone", "embedding", "horizon", "lr"],
        right_on=["dataset", "backbone", "embedding", "horizon", "reference_lr"],
        how="left",
    )
    return same_lr


def _grid_order(results: pd.DataFrame) -> pd.Series:
    """Rank of each row's lr grid, largest first (0 for every row without a grid column)."""
    if "lr_grid" not in results:
        return pd.Series(0, index=results.index)

    grids = results["lr_grid"].map(lr_grid_from_cell)
    ranked = {g: i for i, g in enumerate(sorted(set(grids), key=lambda g: (-max(g, default=0), g)))}
    return grids.map(ranked)


def _mean_std(values: pd.Series) -> str:
    if len(values) == 1 or values.std() != values.std():
        return f"{values.mean():.4f}"
    return f"{values.mean():.4f} ± {values.std():.4f}"


def results_markdown(results: pd.DataFrame) -> str:
    """One markdown table; with several seeds, MSE and MAE are ``mean ± std``.

    Runs with different lr grids (the reference preset's fixed lrs) get separate rows, so
    only seeds are ever averaged.
    """
    order = {"shared": 0, "independent": 1, "sae": 2, "sae_lowrank": 3, "lightsae": 4}
    several = results["precision"].nunique() > 1
    several_threads = "threads" in results and results["threads"].nunique(dropna=False) > 1
    results = results.assign(_grid=_grid_order(results))
    keys = ["dataset", "backbone", "horizon", "embedding", "precision", "_grid"]
    rows = []
    for (dataset, backbone, horizon, embedding, precision, grid), part in results.groupby(
        keys, sort=False
    ):
        first = part.iloc[0]
        rows.append(
            {
                "dataset": dataset,
                "N": int(first["n_channels"]),
                "backbone": backbone,
                "H": int(horizon),
                "embedding": embedding,
                "precision": precision,
                "lr": ", ".join(f"{v:g}" for v in sorted(set(part["lr"]))),
                "MSE": _mean_std(part["mse"]),
                "MAE": _mean_std(part["mae"]),
                "ΔMSE vs shared": _signed_pct(part["mse_change_pct"].mean(), embedding),
                "params": int(first["params"]),
                "+params": _signed_pct(part["param_overhead_pct"].mean(), embedding),
                "epochs": f"{part['epochs'].mean():.0f}/{first['max_epochs']}",
                "s/epoch": part["s_per_epoch"].mean(),
                "threads": _threads(part),
                "ms/window": part["infer_ms_per_window"].mean(),
                "published MSE": part["published_mse"].mean(),
                "authors' code MSE": part["reference_mse"].mean(),
                "_order": (
                    dataset,
                    _backbone_rank(backbone),
                    horizon,
                    grid,
                    order.get(embedding, 9),
                    precision,
                ),
            }
        )
    rows.sort(key=lambda row: row.pop("_order"))
    columns = [
        "dataset",
        "N",
        "backbone",
        "H",
        "embedding",
        *(["precision"] if several else []),
        "lr",
        "MSE",
        "MAE",
        "ΔMSE vs shared",
        "params",
        "+params",
        "epochs",
        "s/epoch",
        *(["threads"] if several_threads else []),
        "ms/window",
        "published MSE",
        "authors' code MSE",
    ]
    return markdown_table(rows, columns)


def headline_markdown(results: pd.DataFrame) -> str:
    """The short table of the README: every dataset and backbone at its first horizon.

    Test MSE of shared, SAE and LightSAE (fp32, mean over seeds) with the change against shared,
    and the published MSE of the shared model where one exists. ``results`` must carry the
    columns of :func:`add_derived_columns`.

    Examples
    --------
    >>> rows = pd.DataFrame(
    ...     {
    ...         "dataset": ["ETTh1"] * 2,
    ...         "backbone": ["RLinear"] * 2,
    ...         "horizon": [96, 96],
    ...         "seed": [0, 0],
    ...         "embedding": ["shared", "lightsae"],
    ...         "mse": [0.4, 0.38],
    ...         "params": [100, 104],
    ...         "lr": [0.01, 0.01],
    ...         "n_channels": [7, 7],
    ...     }
    ... )
    >>> print(headline_markdown(add_derived_columns(rows)))
    | dataset | N | backbone | H | shared | SAE | LightSAE | published (shared) |
    |---|---|---|---|---|---|---|---|
    | ETTh1 | 7 | RLinear | 96 | 0.4000 |  | 0.3800 (-5.0%) | 0.386 |
    """
    fp32 = results[results["precision"] == "fp32"]
    first = fp32.groupby("dataset")["horizon"].transform("min")
    fp32 = fp32[fp32["horizon"] == first]
    fp32 = fp32.assign(_grid=_grid_order(fp32))
    several_grids = (fp32.groupby(["dataset", "backbone"])["_grid"].nunique() > 1).any()
    rows = []
    for (dataset, backbone, grid), part in fp32.groupby(
        ["dataset", "backbone", "_grid"], sort=False
    ):  # runs with different fixed lr grids are separate rows, never averaged
        row = {
            "dataset": dataset,
            "N": int(part["n_channels"].iloc[0]),
            "backbone": backbone,
            "H": int(part["horizon"].iloc[0]),
            "lr": ", ".join(f"{v:g}" for v in sorted(set(part["lr"]))),
            "_grid": grid,
        }
        for embedding, column in (("shared", "shared"), ("sae", "SAE"), ("lightsae", "LightSAE")):
            runs = part[part["embedding"] == embedding]
            if runs.empty:
                continue
            change = _signed_pct(runs["mse_change_pct"].mean(), embedding)
            row[column] = f"{runs['mse'].mean():.4f}" + (f" ({change})" if change else "")
        published = part["published_mse"].dropna()
        row["published (shared)"] = published.iloc[0] if len(published) else None
        rows.append(row)
    rows.sort(key=lambda row: (row["dataset"], _backbone_rank(row["backbone"]), row.pop("_grid")))
    columns = ["dataset", "N", "backbone", "H", "shared", "SAE", "LightSAE", "published (shared)"]
    if several_grids:
        columns.insert(4, "lr")
    return markdown_table(rows, columns)


def configuration_markdown(results: pd.DataFrame) -> str:
    """The settings behind the results table: model sizes, pool size, lr grid, epoch cap.

    One row per dataset and backbone (and per distinct setting, should runs differ).

    Examples
    --------
    >>> rows = pd.DataFrame(
    ...     {
    ...         "dataset": ["ETTh1"] * 2,
    ...         "backbone": ["RMLP"] * 2,
    ...         "embedding": ["shared", "lightsae"],
    ...         "sizes": ['{"d_model": 512}'] * 2,
    ...         "pool_size": [3, 3],
    ...         "rank": [25, 25],
    ...         "lr_grid": ["[0.01, 0.005]"] * 2,
    ...         "max_epochs": [30, 30],
    ...     }
    ... )
    >>> print(configuration_markdown(rows))
    | dataset | backbone | sizes | K | r | lr grid | max epochs |
    |---|---|---|---|---|---|---|
    | ETTh1 | RMLP | d_model=512 | 3 | 25 | 0.01, 0.005 | 30 |
    """

    def _sizes(value) -> str:
        sizes = sizes_from_cell(value)
        return ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())) or "(none)"

    def _grid(value) -> str:
        return ", ".join(f"{v:g}" for v in lr_grid_from_cell(value))

    rows = []
    for _, row in results.iterrows():
        entry = {
            "dataset": row["dataset"],
            "backbone": row["backbone"],
            "sizes": _sizes(row["sizes"]),
            "K": int(row["pool_size"]),
            "r": int(row["rank"]),
            "lr grid": _grid(row["lr_grid"]),
            "max epochs": int(row["max_epochs"]),
        }
        if entry not in rows:
            rows.append(entry)
    return markdown_table(rows, ["dataset", "backbone", "sizes", "K", "r", "lr grid", "max epochs"])


def timing_machines(results: pd.DataFrame) -> str:
    """Which CPUs timed the runs: one sentence for a report header.

    Rows written before the ``cpu`` column existed count as "CPU not recorded", so a table that
    mixes machines says so instead of implying that one machine timed every row.

    Examples
    --------
    >>> rows = pd.DataFrame({"cpu": ["AMD EPYC", None, None]})
    >>> timing_machines(rows)
    'Timings from: AMD EPYC (1 run), CPU not recorded (2 runs).'
    >>> timing_machines(pd.DataFrame({"cpu": ["AMD EPYC"] * 2}))
    'Timings from: AMD EPYC (2 runs).'
    """
    cpus = results["cpu"] if "cpu" in results else pd.Series("", index=results.index)
    cpus = cpus.fillna("").astype(str).replace("", "CPU not recorded")
    counts = cpus.value_counts(sort=False)
    parts = [f"{cpu} ({plural(n, 'run')})" for cpu, n in counts.items()]
    return "Timings from: " + ", ".join(parts) + "."


def _threads(part: pd.DataFrame) -> str:
    if "threads" not in part or part["threads"].isna().all():
        return ""
    return ", ".join(f"{v:.0f}" for v in sorted(set(part["threads"].dropna())))


def _signed_pct(value: float, embedding: str) -> str:
    if embedding == "shared" or value != value:
        return ""
    return f"{value:+.1f}%"


def gain_figure(results: pd.DataFrame) -> Figure:
    """Bar chart: mean MSE change vs shared (%) per dataset, one panel per backbone."""
    others = results[results["embedding"] != "shared"].dropna(subset=["mse_change_pct"])
    backbones = list(dict.fromkeys(others["backbone"]))
    embeddings = list(dict.fromkeys(others["embedding"]))
    figure = Figure(figsize=(4.2 * max(1, len(backbones)), 3.8), layout="constrained")
    axes = figure.subplots(1, max(1, len(backbones)), squeeze=False)[0]
    width = 0.8 / max(1, len(embeddings))
    for ax, backbone in zip(axes, backbones, strict=False):
        part = others[others["backbone"] == backbone]
        datasets = list(dict.fromkeys(part["dataset"]))
        x = np.arange(len(datasets))
        for i, embedding in enumerate(embeddings):
            means = [
                part[(part["dataset"] == d) & (part["embedding"] == embedding)][
                    "mse_change_pct"
                ].mean()
                for d in datasets
            ]
            ax.bar(x + (i - (len(embeddings) - 1) / 2) * width, means, width, label=embedding)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, datasets, rotation=30, ha="right")
        ax.set_title(backbone)
        ax.set_ylabel("MSE change vs shared (%)\n(negative = better)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(title="embedding", fontsize="small")
    figure.suptitle("Test MSE relative to the shared embedding (mean over horizons and seeds)")
    return figure
