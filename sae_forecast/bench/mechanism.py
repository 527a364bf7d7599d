"""The paper's mechanism analysis on trained models: low-rank residuals and channel clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast.analysis import (
    agreement,
    channel_spectra,
    cluster_channels,
    collapse_report,
    gate_matrix,
    plot_channel_map,
    plot_energy_curves,
    plot_gate_heatmap,
    rank_for_energy,
    residual_features,
)

__all__ = ["channel_groups", "cluster_agreement", "collapse_table", "penalty_table", "rank_table"]

LEVELS = (0.9, 0.95, 0.99)


def channel_groups(columns) -> dict[str, np.ndarray]:
    """Known channel types of a dataset from its column names.

    ``beijing_air`` columns are ``<Station>_<variable>``: 11 variable types and 12 stations.

    Examples
    --------
    >>> channel_groups(["A_PM2.5", "A_TEMP", "B_PM2.5"])["variable"].tolist()
    [0, 1, 0]
    """
    columns = [str(c) for c in columns]
    if not all("_" in c for c in columns):
        return {}
    variables = [c.split("_", 1)[1] for c in columns]
    stations = [c.split("_", 1)[0] for c in columns]
    return {
        name: pd.factorize(pd.Series(values))[0]
        for name, values in (("variable", variables), ("station", stations))
    }


def rank_table(nets: dict) -> pd.DataFrame:
    """Rank needed for 90/95/99% of the singular-value energy, median over channels.

    SAE-family nets use their auxiliary (channel-specific) weights, the independent net its
    full per-channel weights (the contrast the paper draws).
    """
    rows = []
    for kind, net in nets.items():
        which = "merged" if kind in ("independent", "shared") else "auxiliary"
        if kind == "shared":
            continue
        spectra = channel_spectra(net.module_, which=which)
        ranks = rank_for_energy(spectra, LEVELS)  # (N, 3)
        rows.append(
            {
                "embedding": kind,
                "weights": "per-channel W_i" if which == "merged" else "residual W_i - W_sh",
                "full rank": spectra.shape[1],
                **{
                    f"rank {int(100 * lv)}% (median)": float(np.median(ranks[:, i]))
                    for i, lv in enumerate(LEVELS)
                },
                "rank 90% (max)": int(ranks[:, 0].max()),
            }
        )
    return pd.DataFrame(rows)


def cluster_agreement(nets: dict, groups: dict[str, np.ndarray]) -> pd.DataFrame:
    """Adjusted Rand index between channel clusters and each known grouping.

    LightSAE channels are clustered by their gates, SAE channels by their flattened residuals;
    k-means with as many clusters as the grouping has types.
    """
    rows = []
    for kind, net in nets.items():
        if kind == "lightsae":
            features, source = gate_matrix(net.module_), "gates"
        elif kind in ("sae", "sae_lowrank"):
            features, source = residual_features(net.module_), "residuals"
        else:
            continue
        for name, types in groups.items():
            n_clusters = len(np.unique(types))
            labels = cluster_channels(features, n_clusters, random_state=0)
            rows.append(
                {
                    "embedding": kind,
                    "features": source,
                    "grouping": name,
                    "clusters": n_clusters,
                    "ARI": agreement(labels, types),
                }
            )
    return pd.DataFrame(rows)


def collapse_table(nets: dict) -> pd.DataFrame:
    """Gate collapse diagnostics of every LightSAE net (keyed by label)."""
    rows = []
    for label, net in nets.items():
        report = collapse_report(gate_matrix(net.module_))
        rows.append({"setting": label, **report})
    return pd.DataFrame(rows)


def penalty_table(rows: pd.DataFrame, nets: dict) -> pd.DataFrame:
    """Join the gate-penalty runs (one row per ``setting``) with their collapse diagnostics.

    Columns the runs already hold (``pool_size``) are kept from the runs, so the join never
    produces ``_x``/``_y`` duplicates; each setting must match exactly one net.
    """
    collapse = collapse_table(nets)
    shared = [c for c in collapse.columns if c in rows.columns and c != "setting"]
    return rows.merge(collapse.drop(columns=shared), on="setting", validate="one_to_one")


def mechanism_figures(nets: dict, groups: dict[str, np.ndarray], columns) -> dict:
    """Energy curves, the gate heatmap and a channel map (PCA of SAE residuals)."""
    figures = {}
    curves = {}
    if "sae" in nets:
        curves["SAE residual W_i - W_sh"] = channel_spectra(nets["sae"].module_)
    if "independent" in nets:
        curves["independent W_i"] = channel_spectra(nets["independent"].module_, which="merged")
    if "lightsae" in nets:
        curves["LightSAE residual"] = channel_spectra(nets["lightsae"].module_)
    if curves:
        figures["energy.png"] = plot_energy_curves(curves, max_rank=40)
    kind_types = _type_names(columns) if groups.get("variable") is not None else None
    if "lightsae" in nets:
        gates = gate_matrix(nets["lightsae"].module_)
        labels = kind_types if kind_types is not None else None
        figures["gates_heatmap.png"] = plot_gate_heatmap(
            gates, labels=labels, channel_names=list(columns)
        )
    if "sae" in nets:
        figures["channel_map.png"] = plot_channel_map(
            residual_features(nets["sae"].module_),
            types=_type_names(columns),
            title="SAE residuals of each channel (PCA), coloured by variable",
        )
    return figures


def _type_names(columns):
    names = [str(c).split("_", 1)[1] if "_" in str(c) else str(c) for c in columns]
    return np.array(names)
