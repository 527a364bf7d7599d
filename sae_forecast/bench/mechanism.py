"""The paper's mechanism analysis on trained nets: low-rank residuals and channel clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sae_forecast import analysis

__all__ = [
    "channel_groups",
    "cluster_agreement",
    "mechanism_figures",
    "penalty_table",
    "rank_table",
]

LEVELS = (0.9, 0.95, 0.99)
# How each kind's channels are described for clustering: (name, features of the module).
FEATURES = {
    "lightsae": ("gates", analysis.gate_matrix),
    "sae": ("residuals", analysis.residual_features),
    "sae_lowrank": ("residuals", analysis.residual_features),
}


def channel_groups(columns) -> dict[str, np.ndarray]:
    """Known channel types from ``<Station>_<variable>`` column names (as in ``beijing_air``).

    Examples
    --------
    >>> channel_groups(["A_PM2.5", "A_TEMP", "B_PM2.5"])["variable"].tolist()
    [0, 1, 0]
    """
    columns = [str(c) for c in columns]
    if not all("_" in c for c in columns):
        return {}
    parts = [c.split("_", 1) for c in columns]
    return {
        "variable": pd.factorize(pd.Series([variable for _, variable in parts]))[0],
        "station": pd.factorize(pd.Series([station for station, _ in parts]))[0],
    }


def rank_table(nets: dict) -> pd.DataFrame:
    """Rank for 90/95/99% of the singular-value energy, median over channels, per kind.

    SAE-family nets use their auxiliary (channel-specific) weights, the independent net its
    full per-channel weights (the contrast the paper draws); ``shared`` has none.
    """
    rows = []
    for kind, net in nets.items():
        if kind == "shared":
            continue
        merged = kind == "independent"
        spectra = analysis.channel_spectra(net.module_, which="merged" if merged else "auxiliary")
        ranks = analysis.rank_for_energy(spectra, LEVELS)  # (N, 3)
        names = [f"rank {100 * level:.0f}% (median)" for level in LEVELS]
        medians = dict(zip(names, np.median(ranks, axis=0).tolist(), strict=True))
        rows.append(
            {
                "embedding": kind,
                "weights": "per-channel W_i" if merged else "residual W_i - W_sh",
                "full rank": spectra.shape[1],
                **medians,
                "rank 90% (max)": int(ranks[:, 0].max()),
            }
        )
    return pd.DataFrame(rows)


def cluster_agreement(nets: dict, groups: dict[str, np.ndarray]) -> pd.DataFrame:
    """Adjusted Rand index between k-means clusters of the channels and each known grouping.

    LightSAE channels are described by their gates, SAE channels by their flattened residuals.
    """
    rows = []
    for kind, net in nets.items():
        if kind not in FEATURES:
            continue
        source, describe = FEATURES[kind]
        features = describe(net.module_)
        for grouping, types in groups.items():
            n_clusters = len(np.unique(types))
            labels = analysis.cluster_channels(features, n_clusters, random_state=0)
            ari = analysis.agreement(labels, types)
            row = {"embedding": kind, "features": source, "grouping": grouping}
            rows.append({**row, "clusters": n_clusters, "ARI": ari})
    return pd.DataFrame(rows)


def penalty_table(rows: pd.DataFrame, nets: dict) -> pd.DataFrame:
    """The gate-penalty runs (one per ``setting``) joined with their gates' collapse report.

    Columns the runs already hold are kept from the runs; each setting must match one net.
    """
    collapse = [
        {"setting": label, **analysis.collapse_report(analysis.gate_matrix(net.module_))}
        for label, net in nets.items()
    ]
    collapse = pd.DataFrame(collapse)
    duplicated = [c for c in collapse.columns if c in rows.columns and c != "setting"]
    return rows.merge(collapse.drop(columns=duplicated), on="setting", validate="one_to_one")


def mechanism_figures(nets: dict, groups: dict[str, np.ndarray], columns) -> dict:
    """Energy curves, the gate heatmap and a channel map (PCA of SAE residuals), by file name."""
    curves = {
        label: analysis.channel_spectra(nets[kind].module_, which=which)
        for label, kind, which in (
            ("SAE residual W_i - W_sh", "sae", "auxiliary"),
            ("independent W_i", "independent", "merged"),
            ("LightSAE residual", "lightsae", "auxiliary"),
        )
        if kind in nets
    }
    types = np.array([str(c).split("_", 1)[-1] for c in columns])  # the variable of a channel
    figures = {"energy.png": analysis.plot_energy_curves(curves, max_rank=40)} if curves else {}
    if "lightsae" in nets:
        figures["gates_heatmap.png"] = analysis.plot_gate_heatmap(
            analysis.gate_matrix(nets["lightsae"].module_),
            labels=types if "variable" in groups else None,
            channel_names=list(columns),
        )
    if "sae" in nets:
        figures["channel_map.png"] = analysis.plot_channel_map(
            analysis.residual_features(nets["sae"].module_),
            types=types,
            title="SAE residuals of each channel (PCA), coloured by variable",
        )
    return figures
