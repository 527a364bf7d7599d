"""The verdict table: each claim of the paper, our measured figure, and the rule that decides."""

from __future__ import annotations

import pandas as pd
from scipy.stats import spearmanr

__all__ = ["RULES", "verdict_rows"]

# Written before the numbers are seen by the reader, and applied verbatim by the claims below.
RULES = """\
1. MSE gain: *confirmed* when LightSAE beats shared in at least 2/3 of the configurations and
   the median change is negative; *partly* when only the median is negative; else *not
   confirmed*. The largest gain is reported next to the paper's 22.8%.
2. About 4% more parameters: *confirmed* when the median overhead of the deep backbones (RMLP,
   PatchTST, iTransformer) is at most 10%.
3. Gains grow with the channel count: *confirmed* when the Spearman correlation between the
   channel count and the MSE change over the channel-subset study is below -0.5 (more
   channels, larger gain), *not confirmed* otherwise.
4. Low-rank auxiliary weights: *confirmed* when the median rank for 90% energy of the SAE
   residuals is at most half that of independent per-channel weights.
5. Channels cluster: *confirmed* when the gates recover the known types of the synthetic
   clustered series (ARI >= 0.8); the ARI against the 11 variable types of beijing_air is
   reported beside it.
6. No inference overhead after merging: *confirmed* when cached LightSAE inference takes at most
   1.05x the time of an independent embedding of the same shape.
"""

CLAIMS = {  # name: (the claim, the page holding the evidence)
    "mse": ("LightSAE lowers test MSE vs the shared embedding (up to 22.8%)", "results.md"),
    "parameters": ("about 4% more parameters than the shared model", "results.md"),
    "channels": ("gains grow with the number of channels", "analysis/channels.md"),
    "low_rank": (
        "the SAE auxiliary (channel-specific) weights are low-rank",
        "analysis/mechanism.md",
    ),
    "clusters": (
        "channels form clusters the gates can capture",
        "analysis/mechanism.md, analysis/synthetic.md",
    ),
    "inference": ("after merging, prediction costs nothing extra", "analysis/inference.md"),
}


def _row(name: str, measured: str, verdict: str | None) -> dict:
    """One table row; ``verdict=None`` means the study behind the claim was not run."""
    claim, evidence = CLAIMS[name]
    if verdict is None:
        verdict, evidence = "not testable here", ""
    return {"claim": claim, "measured": measured, "verdict": verdict, "evidence": evidence}


def _empty(frame) -> bool:
    return frame is None or frame.empty


def claim_mse(results: pd.DataFrame) -> dict:
    light = results[(results["embedding"] == "lightsae") & results["mse_change_pct"].notna()]
    change = light["mse_change_pct"]
    improved, median = int((change < 0).sum()), float(change.median())
    best = light.loc[change.idxmin()]
    verdict = "partly confirmed" if median < 0 else "not confirmed"
    if median < 0 and improved / max(1, len(light)) >= 2 / 3:
        verdict = "confirmed"
    measured = (
        f"better in {improved}/{len(light)} configurations; median {median:+.1f}%; largest gain "
        f"{best['mse_change_pct']:+.1f}% ({best['dataset']} {best['backbone']} "
        f"H={int(best['horizon'])})"
    )
    return _row("mse", measured, verdict)


def claim_parameters(results: pd.DataFrame) -> dict:
    light = results[results["embedding"] == "lightsae"].dropna(subset=["param_overhead_pct"])
    by_backbone = light.groupby("backbone")["param_overhead_pct"].median()
    median = float(light.loc[light["backbone"] != "RLinear", "param_overhead_pct"].median())
    text = "; ".join(f"{b} {v:+.1f}%" for b, v in by_backbone.items())
    measured = f"median overhead: {text} (deep backbones {median:+.1f}%)"
    if median != median:  # no deep backbone in the results
        return _row("parameters", measured, None)
    return _row("parameters", measured, "confirmed" if median <= 10 else "not confirmed")


def claim_channels(channels: pd.DataFrame | None) -> dict:
    if _empty(channels):
        return _row("channels", "not run", None)
    light = channels[channels["embedding"] == "lightsae"]
    per_size = light.groupby("n_channels")["mse_change_pct"].mean()
    rho = float(spearmanr(per_size.index, per_size.to_numpy()).statistic)
    trend = ", ".join(f"N={n}: {v:+.1f}%" for n, v in per_size.items())
    verdict = "confirmed" if rho < -0.5 else "not confirmed"
    return _row("channels", f"{trend} (Spearman rho {rho:+.2f})", verdict)


def claim_low_rank(ranks: pd.DataFrame | None) -> dict:
    if _empty(ranks) or not {"sae", "independent"} <= set(ranks["embedding"]):
        return _row("low_rank", "not run", None)
    by_kind = ranks.set_index("embedding")
    sae, independent = (float(by_kind.loc[k, "rank 90% (median)"]) for k in ("sae", "independent"))
    measured = (
        f"rank for 90% energy (median over channels): SAE residual {sae:g} vs independent "
        f"weights {independent:g} of {int(by_kind.loc['sae', 'full rank'])}"
    )
    return _row("low_rank", measured, "confirmed" if sae <= 0.5 * independent else "not confirmed")


def claim_clusters(synthetic_ari: float | None, real: pd.DataFrame | None) -> dict:
    real_text = ""
    if not _empty(real):
        gates = real[(real["features"] == "gates") & (real["grouping"] == "variable")]
        if not gates.empty:
            real_text = f"; beijing_air gates vs 11 variable types ARI {gates['ARI'].iloc[0]:.2f}"
    if synthetic_ari is None:
        return _row("clusters", "not run" + real_text, None)
    measured = f"synthetic clustered series: gates vs true types ARI {synthetic_ari:.2f}{real_text}"
    return _row("clusters", measured, "confirmed" if synthetic_ari >= 0.8 else "not confirmed")


def claim_inference(timing: pd.DataFrame | None) -> dict:
    if _empty(timing):
        return _row("inference", "not run", None)
    worst = float(timing["cached/independent"].max())
    versus_shared = ", ".join(
        f"{r.backbone} N={r.N}: {r['lightsae (cached)'] / r['shared']:.2f}x shared"
        for _, r in timing.iterrows()
    )
    measured = f"cached LightSAE / independent embedding: at most {worst:.2f}x; {versus_shared}"
    return _row("inference", measured, "confirmed" if worst <= 1.05 else "not confirmed")


def verdict_rows(
    results, channels=None, ranks=None, synthetic_ari=None, clusters=None, timing=None
) -> list[dict]:
    """All six claims, in the paper's order (a study not run is *not testable here*)."""
    return [
        claim_mse(results),
        claim_parameters(results),
        claim_channels(channels),
        claim_low_rank(ranks),
        claim_clusters(synthetic_ari, clusters),
        claim_inference(timing),
    ]
