"""The scaling benchmark: points measured in-process and in fresh processes, and its limits."""

from __future__ import annotations

import pytest

from sae_forecast.bench import scaling
from sae_forecast.bench.runner import load_records, main
from sae_forecast.bench.runs import epoch_batches

TINY = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1}


def test_a_point_times_batches_and_reads_peak_memory():
    point = scaling.measure_point("iTransformer", 5, batch_size=4, n_batches=2, sizes=TINY)
    assert point["s/batch"] > 0
    assert point["s/epoch"] == pytest.approx(point["s/batch"] * epoch_batches("Traffic", 4))
    assert point["peak GiB"] >= point["GiB before fit"] > 0


def test_a_fleet_point_pretrains_on_every_device():
    point = scaling.measure_point("RLinear", 3, batch_size=4, n_batches=2, n_devices=3, sizes={})
    assert point["devices"] == 3
    batches = epoch_batches("Traffic", 4)
    assert point["s/epoch"] == pytest.approx(point["s/batch"] * batches * 3)


def test_points_past_the_memory_limit_are_predicted_and_the_limits_follow_the_line(
    monkeypatch, tmp_path
):
    runs = []

    def fake(study, spec, threads=None):  # peak = 1 + 0.05 N GiB
        n, precision = spec["n_channels"], spec.get("precision", "fp32")
        runs.append((n, precision))
        activations = 0.05 * n * (0.5 if precision == "bf16" else 1.0)
        return {"backbone": spec["backbone"], "N": n, "precision": precision,
                "peak GiB": 1.0 + activations}  # fmt: skip

    monkeypatch.setattr(scaling, "measure_in_fresh_process", fake)
    argv = ["scaling", "--backbones", "RLinear", "--channels", "7", "21", "132", "321"]
    main([*argv, "--memory-limit", "10", "--tables", "channels", "--out", str(tmp_path)])
    assert runs == [(7, "fp32"), (21, "fp32"), (132, "fp32"), (132, "bf16")]
    records = load_records(tmp_path / "scaling.jsonl")
    predicted = records.iloc[3]
    assert predicted["N"] == 321 and predicted["precision"] == "fp32 predicted"
    assert predicted["peak GiB"] == pytest.approx(1.0 + 0.05 * 321)
    page = (tmp_path / "scaling.md").read_text()
    limits = page.split("## Where each backbone stops fitting")[1]
    row = [cell.strip() for cell in limits.splitlines()[4].strip("|").split("|")]
    assert row[3:] == ["459", "919", "919", "0.5"]  # (24 - 1) / 0.05, batch 16, bf16, ratio


@pytest.mark.slow
def test_the_command_runs_every_point_in_a_fresh_process(tmp_path):
    main(
        [
            *("scaling", "--backbones", "RLinear", "--channels", "3", "5", "--devices", "2"),
            *("--batches", "1", "--sizes", "{}", "--threads", "1", "--out", str(tmp_path)),
        ]
    )
    out = (tmp_path / "scaling.md").read_text()
    assert "## Where each backbone stops fitting" in out
    assert "## By fleet size (N=7)" in out
    assert out.count("| RLinear ") == 2 + 1 + 1  # two widths, their limits, one fleet
