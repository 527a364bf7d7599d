"""Analysis: ablations, sensitivity, mechanism and the verdict on the paper's claims.

Each cell is one study of :data:`STUDIES` (``--studies``), trained on ``--dataset``
(``beijing_air``: 12 stations x 11 variables) or on generated series; its record holds the
tables it measured, and its figures are saved in ``--out``. Every page (see ``SECTIONS``) is
rebuilt from the records, so studies can run one at a time. With ``--results`` (the accuracy
``runs.jsonl``) it also writes ``../verdict.md``: each claim, the measured figure, the verdict.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sae_forecast.bench import ablation, speed
from sae_forecast.bench.report import markdown, markdown_table
from sae_forecast.bench.runner import Cell, load_records
from sae_forecast.bench.tables import add_derived_columns
from sae_forecast.bench.verdict import RULES, verdict_rows

KEY = ("key",)
DEFAULT_OUT = "docs/analysis"
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
    timing = [  # the other sizes: the speed study's
        {"backbone": b, "N": 132, **speed.time_kinds(speed.INFERENCE_KINDS, "inference", b, 132)}
        for b in ("RLinear", "iTransformer")
    ]
    return {"inference": speed.with_ratios("inference", pd.DataFrame(timing))}, {}


STUDIES = {  # each returns (frames by table name, figures by file name)
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


def _write_pages(out: Path, header: str, found: dict, dataset: str) -> list[str]:
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


def add_options(parser) -> None:
    """The dataset, the studies and the accuracy records of the verdict."""
    parser.add_argument("--dataset", default="beijing_air")
    parser.add_argument(
        "--studies", nargs="*", choices=list(STUDIES), default=list(STUDIES),
        help="studies to run when not recorded yet (none: only rebuild the pages)",
    )  # fmt: skip
    parser.add_argument("--results", help="runs.jsonl of the accuracy benchmark (verdict)")


def cells(args) -> list[Cell]:
    """One cell per study asked for."""
    return [Cell((study,), f"study: {study}", study) for study in STUDIES if study in args.studies]


def compute(cell: Cell, args) -> list[dict]:
    """Run one study: its tables in the record, its figures saved in ``--out``."""
    frames, figures = STUDIES[cell.spec](args.dataset, args.data_home)
    for name, figure in figures.items():
        figure.savefig(args.out / name, dpi=120)
    return [{"tables": {name: frame.to_dict("records") for name, frame in frames.items()}}]


def write_page(out: Path, records: pd.DataFrame, invocation, args) -> None:
    """Every page with a recorded table, and the verdict when ``--results`` is given."""
    found = {}
    for tables in records.get("tables", []):  # a later record of a study replaces an earlier
        found.update({name: pd.DataFrame(rows) for name, rows in tables.items()})
    studies = [key for (key,) in invocation.computed]
    header = _header(invocation, studies)
    _write_pages(out, header, found, args.dataset)
    if args.results:
        write_verdict(out.parent / "verdict.md", header, args.results, found)


def _header(invocation, studies: list[str]) -> str:
    if studies:
        provenance = (
            f"Studies trained in this invocation: {', '.join(studies)}; any other section "
            "comes from the records of earlier invocations."
        )
    else:
        provenance = "Nothing trained in this invocation: rebuilt from the records."
    return f"{invocation.generated}. {provenance}\n\n"
