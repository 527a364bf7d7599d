"""The fleet benchmark's page: tables, the issue's criteria, and MSE against weeks of history.

Reads the records of the fleet study (one line per held-out station, backbone, embedding,
history and case) and writes ``fleet.md`` and ``mse_vs_weeks.png`` next to them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sae_forecast.bench.report import markdown

__all__ = ["figure", "tables", "verdict", "write_page"]

CASES = ("alone", "pretrained", "gates", "all")


def _by_case(scores: pd.DataFrame, index: list[str], how: str) -> pd.DataFrame:
    """Test MSE with one column per case, the gain of ``gates`` over ``alone`` and the best."""
    table = scores.pivot_table(index=index, columns="case", values="mse", aggfunc=how)
    table = table[[case for case in CASES if case in table]]
    table.columns.name = None
    if "gates" in table:
        table["gates vs alone"] = 1 - table["gates"] / table["alone"]
    table["best"] = table[[case for case in CASES if case in table]].idxmin(axis=1)
    return table


def tables(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Mean MSE per history, every cell, weights trained, adaptation against pretraining time."""
    scores = records[records["case"] != "pretrain"]
    keys = ["backbone", "embedding", "weeks"]
    trained = scores.groupby(["backbone", "embedding", "case"], sort=False)[["trained", "params"]]
    pretrain = records.loc[records["case"] == "pretrain", ["station", *keys[:2], "seconds"]]
    adapting = scores[scores["case"].isin(["gates", "all"])].merge(
        pretrain.rename(columns={"seconds": "pretrain_s"}), on=["station", *keys[:2]]
    )
    adapting["share"] = adapting["seconds"] / adapting["pretrain_s"]
    timing = adapting.groupby(["backbone", "embedding", "case"]).agg(
        pretrain_s=("pretrain_s", "mean"), adapt_s=("seconds", "mean"), max_share=("share", "max")
    )
    return {
        "mean": _by_case(scores, keys, "mean"),
        "cells": _by_case(scores, [*keys, "station"], "first"),
        "trained": trained.max().astype(int),
        "timing": timing,
    }


def verdict(found: dict) -> list[str]:
    """The issue's two criteria, and where adaptation did not help."""
    cells, lines = found["cells"].reset_index(), []
    for backbone, two in cells.query("embedding == 'lightsae' and weeks == 2").groupby("backbone"):
        gain = 1 - two["gates"].mean() / two["alone"].mean()
        lines.append(
            f"{backbone} LightSAE, 2 weeks: gates {gain:.1%} below alone in mean MSE "
            f"(better in {int((two.gates < two.alone).sum())} of {len(two)} stations); "
            f">= 10%: {'met' if gain >= 0.1 else 'NOT met'}."
        )
    for case, share in found["timing"].groupby(level="case")["max_share"].max().items():
        lines.append(
            f"`{case}` adaptation took at most {share:.1%} of the pretraining time "
            f"(< 10%: {'met' if share < 0.1 else 'NOT met'})."
        )
    for case in ("gates", "all"):
        worse = int((cells[case] > cells["pretrained"]).sum()) if case in cells else 0
        lines.append(f"`{case}` was worse than the unadapted pretrained model in {worse} cells.")
    return lines


def figure(mean: pd.DataFrame, path: Path) -> None:
    """Mean test MSE against weeks of history, one panel per backbone and embedding."""
    import matplotlib.pyplot as plt

    groups = mean.index.droplevel("weeks").unique()
    fig, axes = plt.subplots(
        1, len(groups), figsize=(4 * len(groups) + 1.2, 3.2), squeeze=False, layout="constrained"
    )
    for ax, group in zip(axes[0], groups, strict=True):
        part = mean.loc[group]
        for colour, case in enumerate(CASES):  # one colour per case in every panel
            if case in part and part[case].notna().any():
                ax.plot(part.index, part[case], marker="o", color=f"C{colour}", label=case)
        ax.set(title=" ".join(group), xlabel="weeks of history", xticks=part.index)
    axes[0][0].set_ylabel("test MSE (station scale)")
    lines = {
        label: line
        for ax in axes[0]
        for line, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }
    shown = [case for case in CASES if case in lines]
    fig.legend([lines[case] for case in shown], shown, loc="outside right center")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_page(out: Path, records: pd.DataFrame, invocation, args) -> None:
    """``fleet.md`` and ``mse_vs_weeks.png`` from the records of ``args.setting``."""
    found = tables(records[records["setting"] == args.setting])
    figure(found["mean"], out / "mse_vs_weeks.png")
    smoke = "\n**Smoke configuration (`--quick`): the numbers say nothing about accuracy.**\n"
    text = [
        f"# A new device joins the fleet\n\n{invocation.generated}.",
        smoke if args.quick else "",
        *(f"- {line}" for line in verdict(found)),
        "\n## Mean test MSE over the held-out stations\n",
        markdown(found["mean"].reset_index()),
        "\n![MSE against weeks of history](mse_vs_weeks.png)\n",
        "\n## Every cell\n",
        markdown(found["cells"].reset_index()),
        "\n## Weights trained\n",
        markdown(found["trained"].reset_index()),
        "\n## Adaptation against pretraining time (seconds)\n",
        markdown(found["timing"].reset_index()),
    ]
    (out / "fleet.md").write_text("\n".join(text) + "\n", encoding="utf-8")
