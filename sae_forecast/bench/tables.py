"""The accuracy pages: tables and the gain figure from the records of ``runs.jsonl``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sae_forecast.bench.report import markdown
from sae_forecast.nn import BACKBONES

__all__ = [
    "add_derived_columns",
    "configuration_markdown",
    "gain_figure",
    "headline_markdown",
    "published_mse",
    "reference_mse",
    "results_markdown",
    "write_pages",
]

EMBEDDING_ORDER = {"shared": 0, "independent": 1, "sae": 2, "sae_lowrank": 3, "lightsae": 4}
# Rows compared against shared: same data, backbone, horizon, seed, precision and lr grid.
PAIR = ["dataset", "backbone", "horizon", "seed", "precision", "grid"]
COMMON = {"pool_size", "rank", "max_epochs", "precision", "device", "pooled_bias"}


def _package_csv(name: str) -> pd.DataFrame:
    with resources.files("sae_forecast.bench").joinpath(name).open() as handle:
        return pd.read_csv(handle)


def published_mse() -> pd.DataFrame:
    """Published test MSE/MAE at lookback 96 (iTransformer paper, Tables 9-10)."""
    return _package_csv("published_l96.csv")


def reference_mse() -> pd.DataFrame:
    """The LightSAE authors' code run on this project's CPU kind (see docs/reproduction.md)."""
    return _package_csv("reference_cpu.csv")


def add_derived_columns(results: pd.DataFrame) -> pd.DataFrame:
    """Add ``grid``, the MSE change and parameter overhead vs ``shared``, and peers' figures.

    The change is taken against the shared row of the same dataset, backbone, horizon, seed,
    precision and lr grid (NaN without one); published baselines join the shared rows, the
    authors' CPU figures the rows with the same embedding and lr.
    """
    results = results.assign(grid=results["lr_grid"].map(lambda g: ", ".join(f"{v:g}" for v in g)))
    shared = results[results["embedding"] == "shared"].set_index(PAIR)
    index = results.set_index(PAIR).index
    for column, name in (("mse", "mse_change_pct"), ("params", "param_overhead_pct")):
        base = shared[column].reindex(index).to_numpy()
        results[name] = 100 * (results[column].to_numpy() / base - 1)
    published = published_mse().rename(columns={"model": "backbone", "mse": "published_mse"})
    keys = ["dataset", "horizon", "backbone"]
    results = results.merge(published[[*keys, "published_mse"]], on=keys, how="left")
    results.loc[results["embedding"] != "shared", "published_mse"] = np.nan
    reference = reference_mse().rename(columns={"mse": "reference_mse"})
    keys = ["dataset", "backbone", "embedding", "horizon", "lr"]
    return results.merge(reference[[*keys, "reference_mse"]], on=keys, how="left")


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(BACKBONES)}
    return frame.assign(
        _b=frame["backbone"].map(rank), _e=frame["embedding"].map(EMBEDDING_ORDER)
    ).sort_values(["dataset", "_b", "horizon", "grid", "_e", "precision"], kind="stable")


def _signed(value: float, embedding: str) -> str:
    return "" if embedding == "shared" or value != value else f"{value:+.1f}%"


def _mean_std(values: pd.Series) -> str:
    std = values.std()
    return f"{values.mean():.4f}" + ("" if std != std else f" ± {std:.4f}")


def results_markdown(results: pd.DataFrame) -> str:
    """Every configuration: MSE and MAE (``mean ± std`` over seeds), changes, cost, peers."""
    keys = ["dataset", "backbone", "horizon", "embedding", "precision", "grid"]
    groups = _order(results).groupby(keys, sort=False)
    table = pd.DataFrame([_result_row(part) for _, part in groups])
    if table["precision"].nunique() == 1:
        table = table.drop(columns="precision")
    return markdown(table)


def _result_row(part: pd.DataFrame) -> dict:
    first = part.iloc[0]
    embedding = first["embedding"]
    return {
        "dataset": first["dataset"],
        "N": first["n_channels"],
        "backbone": first["backbone"],
        "H": first["horizon"],
        "embedding": embedding,
        "precision": first["precision"],
        "lr": ", ".join(f"{v:g}" for v in sorted(set(part["lr"]))),
        "MSE": _mean_std(part["mse"]),
        "MAE": _mean_std(part["mae"]),
        "ΔMSE vs shared": _signed(part["mse_change_pct"].mean(), embedding),
        "params": first["params"],
        "+params": _signed(part["param_overhead_pct"].mean(), embedding),
        "epochs": f"{part['epochs'].mean():.0f}/{first['max_epochs']}",
        "s/epoch": part["s_per_epoch"].mean(),
        "ms/window": part["infer_ms_per_window"].mean(),
        "published MSE": part["published_mse"].mean(),
        "authors' code MSE": part["reference_mse"].mean(),
    }


def headline_markdown(results: pd.DataFrame) -> str:
    """Every dataset and backbone at its first horizon (fp32): shared, SAE and LightSAE."""
    fp32 = results[results["precision"] == "fp32"]
    fp32 = _order(fp32[fp32["horizon"] == fp32.groupby("dataset")["horizon"].transform("min")])
    several_grids = fp32.groupby(["dataset", "backbone"])["grid"].nunique().gt(1).any()
    rows = []
    for (dataset, backbone, grid), part in fp32.groupby(
        ["dataset", "backbone", "grid"], sort=False
    ):
        row = {"dataset": dataset, "N": part["n_channels"].iloc[0], "backbone": backbone}
        row.update(H=part["horizon"].iloc[0], lr=grid)
        for embedding, column in (("shared", "shared"), ("sae", "SAE"), ("lightsae", "LightSAE")):
            runs = part[part["embedding"] == embedding]
            if len(runs):
                change = _signed(runs["mse_change_pct"].mean(), embedding)
                row[column] = f"{runs['mse'].mean():.4f}" + (f" ({change})" if change else "")
        row["published (shared)"] = part["published_mse"].dropna().mean()
        rows.append(row)
    columns = ["dataset", "N", "backbone", "H", "lr", "shared", "SAE", "LightSAE"]
    table = pd.DataFrame(rows).reindex(columns=[*columns, "published (shared)"])
    return markdown(table if several_grids else table.drop(columns="lr"))


def configuration_markdown(results: pd.DataFrame) -> str:
    """The settings behind the results: sizes, K, r, lr grid and epoch cap per backbone."""
    names = {"pool_size": "K", "rank": "r", "grid": "lr grid", "max_epochs": "max epochs"}
    table = results.assign(sizes=results["parameters"].map(_own_sizes))
    table = table[["dataset", "backbone", "sizes", *names]].rename(columns=names)
    return markdown(table.drop_duplicates())


def _own_sizes(parameters: dict) -> str:
    own = {k: v for k, v in sorted(parameters.items()) if k not in COMMON}
    return ", ".join(f"{k}={v}" for k, v in own.items()) or "(defaults)"


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
        means = part.groupby(["dataset", "embedding"], sort=False)["mse_change_pct"].mean()
        datasets = list(dict.fromkeys(part["dataset"]))
        x = np.arange(len(datasets))
        for i, embedding in enumerate(embeddings):
            heights = [means.get((d, embedding), np.nan) for d in datasets]
            ax.bar(x + (i - (len(embeddings) - 1) / 2) * width, heights, width, label=embedding)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, datasets, rotation=30, ha="right")
        ax.set_title(backbone)
        ax.set_ylabel("MSE change vs shared (%)\n(negative = better)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(title="embedding", fontsize="small")
    figure.suptitle("Test MSE relative to the shared embedding (mean over horizons and seeds)")
    return figure


def write_pages(out: Path, header: str, results: pd.DataFrame, *, protocol: str) -> None:
    """Write ``results.md``, ``headline.md`` and ``gains.png`` of ``results`` into ``out``."""
    headline = headline_markdown(results)
    (out / "headline.md").write_text(f"{header}{headline}\n")
    (out / "results.md").write_text(
        f"# Accuracy benchmark\n\n{header}Protocol: {protocol}.\n\n"
        f"## Summary (first horizon, fp32)\n\n{headline}\n\n"
        f"## All runs\n\n{results_markdown(results)}\n\n"
        f"![MSE change vs shared](gains.png)\n\n"
        f"## Configuration\n\n{configuration_markdown(results)}\n"
    )
    if results["mse_change_pct"].notna().any() and (results["embedding"] != "shared").any():
        gain_figure(results).savefig(out / "gains.png", dpi=120)
