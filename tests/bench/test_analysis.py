"""The analysis bench: a tiny synthetic study, the verdict rules, pages rebuilt from the CSVs."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from sae_forecast.bench import ablation, analysis
from sae_forecast.bench.runner import append_record, main
from sae_forecast.bench.verdict import (
    claim_channels,
    claim_clusters,
    claim_inference,
    claim_low_rank,
    claim_mse,
    verdict_rows,
)


@pytest.mark.slow
def test_the_synthetic_study_runs_end_to_end_on_a_tiny_series():
    """A smoke test of the pipeline (train, score, cluster the gates); the research outcome
    itself is measured by the bench (docs/analysis/synthetic.md), not asserted here."""
    torch.set_num_threads(1)
    frames, figures = ablation.synthetic_study(
        structures=("clustered",), n_channels=8, n_types=2, n_steps=1500
    )
    rows, ari = frames["synthetic"], frames["synthetic_ari"]
    assert rows["embedding"].tolist() == ["shared", "sae", "lightsae"] and figures == {}
    assert rows["mse"].notna().all() and (rows["n_channels"] == 8).all()
    assert rows["mse_change_pct"].iloc[0] == 0.0
    assert ari["structure"].tolist() == ["clustered"]
    assert -1.0 <= ari["gates vs true types ARI"].iloc[0] <= 1.0


def test_study_rows_name_the_rank_and_pool_size_they_trained(monkeypatch):
    def fake_train(run, data_home=None, frame=None):
        parameters = dict(run.parameters)
        assert run.backbone == "RLinear" and run.horizon == 96 and run.lrs == (0.005,)
        fitted = SimpleNamespace(
            net_=None, rank=parameters.get("rank", 25), pool_size=parameters["pool_size"]
        )
        return fitted, {"mse": 1.0, "max_epochs": parameters["max_epochs"]}

    monkeypatch.setattr(ablation, "train", fake_train)
    frames, _ = ablation.rank_pool_study("ETTh1", ranks=(1,), pool_sizes=(3,))
    rows = frames["rank_pool"]
    assert rows[["study", "rank", "pool_size"]].values.tolist() == [
        ["rank", 1, 10],
        ["pool_size", 25, 3],
    ]
    assert (rows["max_epochs"] == 30).all()


def test_changes_are_taken_against_the_shared_row_of_the_same_keys():
    rows = pd.DataFrame(
        {"n": [8, 8, 16, 16], "embedding": ["lightsae", "shared", "shared", "lightsae"],
         "mse": [0.9, 1, 2, 2.2]}
    )  # fmt: skip
    changed = ablation.with_change(rows, ["n"])
    assert changed["mse_change_pct"].round(6).tolist() == [-10.0, 0.0, 0.0, 10.0]
    assert "mse_change_pct" not in rows  # the caller's frame is not modified


def _results(changes):
    return pd.DataFrame(
        {
            "dataset": "D",
            "backbone": "RLinear",
            "horizon": range(len(changes)),
            "embedding": "lightsae",
            "mse_change_pct": changes,
        }
    )


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ([-1.0, -2.0, 0.5], "confirmed"),
        ([-1.0, 0.5, 0.5, -2.0, -3.0, 1.0], "partly confirmed"),
        ([1.0, 2.0, -0.5], "not confirmed"),
    ],
)
def test_mse_claim_rule(changes, verdict):
    row = claim_mse(_results(changes))
    assert row["verdict"] == verdict
    assert f"largest gain {min(changes):+.1f}%" in row["measured"]


def test_channel_claim_needs_gains_that_grow_with_the_channel_count():
    rows = pd.DataFrame(
        {"embedding": "lightsae", "n_channels": [8, 16, 32, 64], "mse_change_pct": [0, -1, -2, -4]}
    )
    assert claim_channels(rows)["verdict"] == "confirmed"
    rows["mse_change_pct"] = [-4, -2, -1, 0]
    assert claim_channels(rows)["verdict"] == "not confirmed"


def test_low_rank_cluster_and_inference_rules():
    ranks = pd.DataFrame(
        {"embedding": ["sae", "independent"], "rank 90% (median)": [5, 20], "full rank": 96}
    )
    assert claim_low_rank(ranks)["verdict"] == "confirmed"
    ranks["rank 90% (median)"] = [15, 20]
    assert claim_low_rank(ranks)["verdict"] == "not confirmed"
    assert claim_clusters(0.85, None)["verdict"] == "confirmed"
    assert claim_clusters(0.5, None)["verdict"] == "not confirmed"
    timing = pd.DataFrame(
        {"backbone": ["RLinear"], "N": [7], "cached/independent": [1.2], "lightsae (cached)": [1.2],
         "shared": [1.0]}
    )  # fmt: skip
    assert claim_inference(timing)["verdict"] == "not confirmed"


def test_a_claim_whose_study_was_not_run_is_not_testable_and_cites_nothing():
    rows = verdict_rows(_results([-1.0]).assign(param_overhead_pct=2.0, backbone="RMLP"))
    assert len(rows) == 6
    assert [row["verdict"] for row in rows[2:]] == ["not testable here"] * 4
    assert {row["evidence"] for row in rows[2:]} == {""}
    assert rows[1]["verdict"] == "confirmed" and rows[1]["evidence"] == "results.md"


def _save(out, **frames):
    """Records of the studies that measured ``frames`` (one study per table here)."""
    for name, frame in frames.items():
        record = {"key": name, "tables": {name: frame.to_dict("records")}}
        append_record(out / "runs.jsonl", record)


def _records(path):
    for embedding, mse, params in (("shared", 0.40, 1000), ("lightsae", 0.38, 1040)):
        append_record(
            path,
            {"dataset": "ETTh1", "backbone": "RMLP", "horizon": 96, "seed": 0, "lr": 0.01,
             "precision": "fp32", "lr_grid": [0.01], "embedding": embedding, "mse": mse,
             "params": params, "parameters": {}},
        )  # fmt: skip


def test_verdict_is_rebuilt_from_the_saved_study_csvs(tmp_path):
    out = tmp_path / "analysis"
    out.mkdir()
    channels = pd.DataFrame(
        {"embedding": ["shared", "lightsae"] * 2, "n_channels": [8, 8, 132, 132],
         "mse_change_pct": [0.0, -1.0, 0.0, -3.0]}
    )  # fmt: skip
    ari = pd.DataFrame({"structure": ["clustered"], "gates vs true types ARI": [0.9]})
    _save(out, channels=channels, synthetic_ari=ari)
    _records(tmp_path / "runs.jsonl")
    main(["analysis", "--studies", "--out", str(out), "--results", str(tmp_path / "runs.jsonl")])
    text = (tmp_path / "verdict.md").read_text()
    assert "Generated by `python -m sae_forecast.bench analysis" in text
    assert "Nothing trained in this invocation: rebuilt from the records." in text
    assert "better in 1/1 configurations; median -5.0%" in text
    assert "N=8: -1.0%, N=132: -3.0%" in text
    assert "ARI 0.90" in text and "+4.0%" in text
    assert "## Decision rules" in text


def test_a_header_names_the_studies_trained_now_and_where_the_rest_comes_from(
    tmp_path, monkeypatch
):
    frames = {"penalty": pd.DataFrame({"setting": ["none"], "mse": [0.75]})}
    monkeypatch.setitem(analysis.STUDIES, "penalty", lambda dataset, data_home: (frames, {}))
    main(["analysis", "--studies", "penalty", "--out", str(tmp_path)])
    page = (tmp_path / "ablation.md").read_text()
    assert "Generated by `python -m sae_forecast.bench analysis --studies pen" in page
    assert "Studies trained in this invocation: penalty; any other section comes from" in page
    assert "cores, torch" in page and re.search(r"\| none +\| 0.75 ", page)
    main(["analysis", "--studies", "penalty", "--out", str(tmp_path)])  # recorded: rebuilt
    assert "Nothing trained in this invocation" in (tmp_path / "ablation.md").read_text()


def test_a_rebuild_writes_each_page_from_its_saved_csvs(tmp_path):
    penalty = pd.DataFrame(
        {"setting": ["none", "entropy 0.1"], "mse": [0.75, 0.76], "mae": [0.48, 0.49],
         "epochs": [9, 9], "normalised_entropy": [0.84, 0.01], "effective_components": [9.7, 1.1],
         "largest_share": [0.15, 0.99], "uniform": [False, False],
         "single_component": [False, True], "study": "gate_penalty"}
    )  # fmt: skip
    sweep = pd.DataFrame({"study": ["rank", "pool_size"], "rank": [5, 25], "pool_size": [10, 3]})
    channels = pd.DataFrame(
        {"embedding": ["shared", "lightsae"], "n_channels": 8, "subset_seed": 0, "pool_size": 3,
         "mse": [1.0, 0.5], "mse_change_pct": [0.0, -50.0]}
    )  # fmt: skip
    _save(tmp_path, penalty=penalty, rank_pool=sweep, channels=channels)
    main(["analysis", "--studies", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.glob("*.md")) == ["ablation.md", "channels.md"]
    ablation_page = (tmp_path / "ablation.md").read_text()
    assert ablation_page.startswith("# Ablation and sensitivity on beijing_air\n\nGenerated by")
    assert re.search(r"\| entropy 0.1 +\| 0.76 ", ablation_page)
    assert "study" not in ablation_page  # only the columns the page names
    rank = ablation_page.split("## Sensitivity to the rank r")[1].split("##")[0]
    assert re.search(r"\| 5 ", rank) and not re.search(r"\| 3 ", rank)
    channel_page = (tmp_path / "channels.md").read_text()
    assert "-50" in channel_page and "| 1 " not in channel_page  # LightSAE's rows only
    assert channel_page.rstrip().endswith("![gain vs channels](gain_vs_channels.png)")
