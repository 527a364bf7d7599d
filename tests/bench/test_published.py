"""Every published page is rewritten from its committed records: the cells of its command in
the Makefile's ``bench-docs`` are all recorded, so ``make bench-docs`` trains nothing for it."""

from __future__ import annotations

import re
import shlex

import pytest

from sae_forecast.bench.runner import load_records, parse_args
from tests.bench import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
VARIABLES = dict(re.findall(r"^(\w+) := (.*?)(?<!\\)$", MAKEFILE.replace("\\\n\t", " "), re.M))
COMMANDS = [
    shlex.split(re.sub(r"\$\((\w+)\)", lambda m: VARIABLES.get(m.group(1), ""), line))
    for line in re.findall(r"^\t\$\(BENCH\) (.*)$", MAKEFILE, re.M)
]
UNRECORDED: dict[str, set] = {}  # study: cells never computed (make bench-docs computes them)


def test_the_makefile_runs_every_study_with_a_published_page():
    assert sorted({argv[0] for argv in COMMANDS}) == [
        "accuracy", "analysis", "calibration", "covariates", "deploy", "fleet", "gaps",
        "memory", "overhead", "peers", "scaling", "speed",
    ]  # fmt: skip


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv[:3]))
def test_published_records_hold_every_cell_of_their_command(argv, data_home):
    study, args = parse_args([*argv, "--data-home", str(data_home)])
    path = ROOT / args.out / getattr(study, "RECORDS", "runs.jsonl")
    if not path.exists():
        pytest.skip(f"{argv[0]}: no records published (its page predates the runner)")
    records = load_records(path)
    recorded = set(records[list(study.KEY)].apply(tuple, axis=1))
    missing = {cell.label for cell in study.cells(args) if cell.key not in recorded}
    assert missing == UNRECORDED.get(argv[0], set())
