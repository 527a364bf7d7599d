"""The memory study: chunked and unchunked points, their ratios, the target and the fit."""

from __future__ import annotations

import pytest

from sae_forecast.bench import memory
from sae_forecast.bench.runner import load_records, main

TINY = '{"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1}'


def _fake_point(study, spec, threads=None):
    """Peak 1 + 0.01 N GiB chunked, 1 + 0.02 N all at once; chunked takes 1.5x the time."""
    n, chunked = spec["n_channels"], spec["sizes"]["chunk_size"] is not None
    return {"backbone": spec["backbone"], "N": n, "batch": 32,
            "s/batch": 3.0 if chunked else 2.0,
            "peak GiB": 1.0 + (0.01 if chunked else 0.02) * n}  # fmt: skip


def _table(page: str, heading: str) -> list[list[str]]:
    lines = page.split(heading)[1].strip().splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_page_compares_chunked_with_all_at_once_and_extrapolates_the_fit(monkeypatch, tmp_path):
    runs = []
    monkeypatch.setattr(
        memory, "measure_in_fresh_process",
        lambda study, spec, threads=None: runs.append(spec) or _fake_point(study, spec),
    )  # fmt: skip
    argv = ["memory", "--channels", "100", "862", "--unchunked", "100", "--out", str(tmp_path)]
    main([*argv, "--chunk-size", "64"])
    chunks = [spec["sizes"]["chunk_size"] for spec in runs]
    assert [spec["n_channels"] for spec in runs] == [100, 100, 862]
    assert chunks == [None, 64, 64]
    assert runs[0]["sizes"]["d_model"] == 512  # Traffic's reference sizes

    page = (tmp_path / "memory.md").read_text()
    assert "N=862, batch 32, chunked: peak 9.62 GiB measured, over the 8 GiB target" in page
    compared = _table(page, "## Chunked against all at once, same N, same run")
    assert compared == [["PatchTST", "100", "64", "3", "2", "0.6667", "1.5"]]
    fits = _table(page, "## Where chunked training stops fitting")
    assert fits[0][-1] == "2300"  # (24 - 1) / 0.01
    assert len(load_records(tmp_path / "memory.jsonl")) == 3

    main([*argv, "--chunk-size", "64"])  # every cell recorded: nothing runs again
    assert len(runs) == 3


@pytest.mark.slow
def test_the_command_measures_each_point_in_a_fresh_process(tmp_path):
    main(
        [
            *("memory", "--channels", "3", "6", "--unchunked", "6", "--chunk-size", "8"),
            *("--sizes", TINY, "--threads", "1", "--out", str(tmp_path)),
        ]
    )
    records = load_records(tmp_path / "memory.jsonl")
    assert list(records["N"]) == [6, 3, 6]
    assert records["chunk_size"].isna().tolist() == [True, False, False]
    assert (records["peak GiB"] > records["GiB before fit"]).all()
    page = (tmp_path / "memory.md").read_text()
    assert "N=862, batch 32, chunked: not run by this command." in page
    assert "| PatchTST   | 6   | 8            | 1         |" in page
