"""``python -m sae_forecast.bench.analysis``: ablations, sensitivity, mechanism, verdict.

Each study in ``--studies`` trains on ``--dataset`` (``beijing_air``: 12 stations x 11 variables)
or on generated series and saves its tables as CSV files in ``--out``; every page (see
``SECTIONS``) is then rebuilt from all the CSV files there, so studies can run one at a time and
``--studies`` alone only rebuilds. With ``--results`` (the accuracy ``runs.jsonl``) it also
writes ``../verdict.md``: each claim of the paper, the measured figure and the verdict.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sae_forecast.bench import ablation, speed
from sae_forecast.bench.report import machine_line, markdown, markdown_table
from sae_forecast.bench.runs import load_records
from sae_forecast.bench.tables import add_derived_columns
from sae_forecast.bench.verdict import RULES, verdict_rows

SAVED = {  # every frame a study saves, and its file in --out
    "embedding": "embedding.csv",
    "ranks": "ranks.csv",
    "clusters": "clusters.csv",
    "rank_pool": "rank_pool.csv",
    "penalty": "gate_penalty.csv",
    "channels": "channels.csv",
    "synthetic": "synthetic.csv",
    "synthetic_ari": "synthetic_ari.csv",
    "inference": "inference.csv",
}
RUN_COLUMNS = ["embedding", "rank", "pool_size", "params", "epochs", "mse", "mae"]
RUN_COLUMNS += ["mse_change_pct", "s_per_epoch", "threads"]  # the timing depends on it
PENALTY_COLUMNS = ["setting", "mse", "mae", "epochs", "normalised_entropy"]
PENALTY_COLUMNS += ["effective_components", "largest_share", "uniform", "single_component"]
TITLES = {
    "ablation.md": "Ablation and sensitivity on {dataset}",
    "mechanism.md": "Mechanism analysis on {dataset}",
    "channels.md": "Gain against the number of channels",
    "synthetic.md": "Synthetic heterogeneity (32 channels, 4 types, K=4)",
    "inference.md": "Inference with merged weights",
}
INFERENCE = "Eval mode, no grad, batch 32, L=H=96, ms per batch (medians of interleaved rounds)"
SECTIONS = [  # (page, table, heading); the tables are the saved frames and _views of them
    ("ablation.md", "embedding", "Embedding kinds (RLinear, H=96, r=25, K=10, lr 0.005)"),
    ("ablation.md", "rank", "Sensitivity to the rank r (K=10)"),
    ("ablation.md", "pool_size", "Sensitivity to the pool size K (r=25)"),
    ("ablation.md", "penalty", "Gate regulariser (paper's open question 3)"),
    ("mechanism.md", "ranks", "Rank of the channel-specific weights"),
    ("mechanism.md", "clusters", "Do channels cluster by variable or station?"),
    ("channels.md", "channels", "Runs (RLinear, H=96; K = 3/7/10 by channel count)"),
    ("synthetic.md", "synthetic", "Test MSE by structure"),
    ("synthetic.md", "synthetic_ari", "Do the gates recover the true types?"),
    ("inference.md", "inference", INFERENCE),
]
COLUMNS = {  # the columns a page shows (all when not listed)
    "embedding": RUN_COLUMNS,
    "rank": RUN_COLUMNS,
    "pool_size": RUN_COLUMNS,
    "penalty": PENALTY_COLUMNS,
    "channels": ["n_channels", "subset_seed", "pool_size", "mse", "mse_change_pct"],
    "synthetic": ["structure", "embedding", "mse", "mae", "mse_change_pct", "epochs"],
}
FIGURES = {  # markdown after a table
    "ranks": "![energy](energy.png)",
    "clusters": "![gates](gates_heatmap.png)\n\n![channel map](channel_map.png)",
    "channels": "![gain vs channels](gain_vs_channels.png)",
}


def _inference(dataset: str, data_home=None):
    timing = speed.inference_table(channels=(132,), repeats=15)  # the other sizes: speed's
    return {"inference": pd.DataFrame(timing)}, {}


STUDIES = {  # each returns (frames by name in SAVED, figures by file name)
    "embedding": ablation.embedding_study,
    "rank_pool": ablation.rank_pool_study,
    "penalty": ablation.penalty_study,
    "channels": ablation.channel_study,
    "synthetic": lambda dataset, data_home: ablation.synthetic_study(),
    "inference": _inference,
}


def _views(found: dict) -> dict:
    """The saved frames as the pages show them: the sweep split by study, LightSAE's subsets."""
    views = dict(found)
    if "rank_pool" in views:
        sweep = views.pop("rank_pool")
        views.update({study: sweep[sweep["study"] == study] for study in ("rank", "pool_size")})
    if "channels" in views:
        views["channels"] = views["channels"][views["channels"]["embedding"] == "lightsae"]
    return views


def write_pages(out: Path, header: str, found: dict, dataset: str) -> list[str]:
    """Write every page with at least one table in ``found``; return their names."""
    views, pages = _views(found), {}
    for page, table, heading in SECTIONS:
        if table in views:
            frame = views[table].reindex(columns=COLUMNS.get(table, views[table].columns))
            after = f"\n\n{FIGURES[table]}" if table in FIGURES else ""
            pages.setdefault(page, []).append(f"## {heading}\n\n{markdown(frame)}{after}")
    for page, sections in pages.items():
        body = "\n\n".join(sections)
        (out / page).write_text(f"# {TITLES[page].format(dataset=dataset)}\n\n{header}{body}\n")
    return list(pages)


def write_verdict(path: Path, header: str, results: str, found: dict) -> None:
    """Write the verdict page from the accuracy records and the saved study frames."""
    ari = found.get("synthetic_ari", pd.DataFrame(columns=["structure"]))
    clustered = ari[ari["structure"] == "clustered"]
    rows = verdict_rows(
        add_derived_columns(load_records(Path(results))),
        channels=found.get("channels"),
        ranks=found.get("ranks"),
        synthetic_ari=None if clustered.empty else float(clustered.iloc[0, 1]),
        clusters=found.get("clusters"),
        timing=found.get("inference"),
    )
    table = markdown_table(rows, ["claim", "measured", "verdict", "evidence"])
    path.write_text(
        f"# Verdict: the paper's claims, measured\n\n{header}Accuracy and parameter figures "
        f"from `{results}`.\n\n{table}\n\n## Decision rules\n\n{RULES}"
    )


def _header(argv: list[str], studies: list[str], out: Path) -> str:
    command = f"`python -m sae_forecast.bench.analysis {' '.join(argv)}`"
    if studies:
        provenance = (
            f"Studies trained in this invocation: {', '.join(studies)}; any other section "
            f"comes from the study CSVs saved in `{out}` by earlier invocations."
        )
    else:
        provenance = f"Nothing trained in this invocation: rebuilt from the CSVs in `{out}`."
    return f"Generated by {command} on {machine_line()}. {provenance}\n\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m sae_forecast.bench.analysis", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dataset", default="beijing_air")
    parser.add_argument(
        "--studies",
        nargs="*",
        choices=list(STUDIES),
        default=list(STUDIES),
        help="studies to run (none: only rebuild the pages and the verdict from --out)",
    )
    parser.add_argument("--results", help="runs.jsonl of the accuracy benchmark (verdict)")
    parser.add_argument("--data-home")
    parser.add_argument("--out", default="docs/analysis")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"# sae_forecast analysis on {args.dataset}\n\nmachine: {machine_line()}", flush=True)
    studies = [study for study in STUDIES if study in args.studies]
    for study in studies:
        print(f"study: {study}", flush=True)
        frames, figures = STUDIES[study](args.dataset, args.data_home)
        for name, frame in frames.items():
            frame.to_csv(out / SAVED[name], index=False)
        for name, figure in figures.items():
            figure.savefig(out / name, dpi=120)
    found = {key: pd.read_csv(out / name) for key, name in SAVED.items() if (out / name).exists()}
    header = _header(argv, studies, out)
    write_pages(out, header, found, args.dataset)
    if args.results:
        write_verdict(out.parent / "verdict.md", header, args.results, found)
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
