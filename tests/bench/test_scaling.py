"""The scaling benchmark: points measured in-process and in fresh processes, and its limits."""

from __future__ import annotations

import argparse

import pytest

from sae_forecast.bench import scaling

TINY = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1}


def test_a_point_times_batches_and_reads_peak_memory():
    point = scaling.measure_point("iTransformer", 5, batch_size=4, n_batches=2, sizes=TINY)
    assert point["s/batch"] > 0
    assert point["s/epoch"] == pytest.approx(point["s/batch"] * -(-scaling.epoch_windows(5) // 4))
    assert point["peak GiB"] >= point["GiB before fit"] > 0


def test_a_fleet_point_pretrains_on_every_device():
    point = scaling.measure_point("RLinear", 3, batch_size=4, n_batches=2, n_devices=3, sizes={})
    assert point["devices"] == 3
    batches = -(-scaling.epoch_windows(3) // 4)
    assert point["s/epoch"] == pytest.approx(point["s/batch"] * batches * 3)


def _args(**overrides) -> argparse.Namespace:
    args = scaling.parse_args(["--backbones", "RLinear", "--channels", "7", "21", "132", "321"])
    return argparse.Namespace(**{**vars(args), **overrides})


def test_points_past_the_memory_limit_are_predicted_and_the_limits_follow_the_line(
    monkeypatch,
):
    runs = []

    def fake(args, backbone, n, precision="fp32", **options):  # peak = 1 + 0.05 N GiB
        runs.append((n, precision))
        activations = 0.05 * n * (0.5 if precision == "bf16" else 1.0)
        return {"backbone": backbone, "N": n, "peak GiB": 1.0 + activations}

    monkeypatch.setattr(scaling, "_fresh", fake)
    points, limits = scaling.channel_table(_args(memory_limit=10.0))
    assert runs == [(7, "fp32"), (21, "fp32"), (132, "fp32"), (132, "bf16")]
    predicted = points[3]
    assert predicted["N"] == 321 and predicted["precision"] == "fp32 predicted"
    assert predicted["peak GiB"] == pytest.approx(1.0 + 0.05 * 321)
    (limit,) = limits
    assert limit["N max (24 GiB, batch 32)"] == 459  # (24 - 1) / 0.05
    assert limit["N max (batch 16)"] == 919
    assert limit["N max (bf16)"] == 919
    assert limit["bf16/fp32 activation memory"] == pytest.approx(0.5)


@pytest.mark.slow
def test_the_command_runs_every_point_in_a_fresh_process(capsys):
    scaling.main(
        [
            *("--backbones", "RLinear", "--channels", "3", "5", "--devices", "2"),
            *("--batches", "1", "--sizes", "{}", "--threads", "1"),
        ]
    )
    out = capsys.readouterr().out
    assert "## Where each backbone stops fitting" in out
    assert "## By fleet size (N=7)" in out
    assert out.count("| RLinear ") == 2 + 1 + 1  # two widths, their limits, one fleet
