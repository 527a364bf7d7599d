"""The peer study: equal steps on both sides, the peer's environment, ratios and verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sae_forecast.bench import peers
from sae_forecast.bench.runner import load_records, main

_SMALL = {"d_model": 8, "n_heads": 2, "n_layers": 1, "d_ff": 8}
TINY = {"iTransformer": _SMALL, "PatchTST": {**_SMALL, "patch_len": 16, "stride": 8}}
ROWS, TRAIN_END, VALID_END = 900, 600, 700  # windows before the test: 700 - 191 = 509
QUICK = ["--seeds", "5", "--peak-repeats", "1", "--profile-steps", "2"]


def _synthetic(dataset, data_home):
    rng = np.random.default_rng(0)
    t = np.arange(ROWS)[:, None]
    values = 10 + 3 * np.sin(t / 8 + np.arange(3)) + rng.normal(0, 0.3, (ROWS, 3))
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    borders = {"train": (0, TRAIN_END), "valid": (TRAIN_END - 96, VALID_END)}
    return frame, {**borders, "test": (VALID_END - 96, ROWS)}


class FakeWorker:
    """``subprocess.run`` of the worker: records the job and answers like the worker."""

    def __init__(self, ms_per_step=30.0, mse=0.5, returncode=0, steps=None):
        self.jobs, self.scaled = [], []
        self.ms, self.mse, self.returncode, self.steps = ms_per_step, mse, returncode, steps

    def __call__(self, command, **kwargs):
        job = json.loads(command[-1])
        self.jobs.append(job)
        self.scaled.append(np.load(job["series"]))
        result = {"ms/step": self.ms, "steps": self.steps or job["steps"], "mse": self.mse,
                  "mae": 0.5, "test windows": 1, "version": "neuralforecast 0.0"}  # fmt: skip
        out = "log line\n" + json.dumps(result) + "\n"
        return subprocess.CompletedProcess(command, self.returncode, out, "worker trace")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(peers, "SIZES", TINY)
    monkeypatch.setattr(peers, "_protocol", _synthetic)
    monkeypatch.setattr(peers, "peer_python", lambda version, env: Path("peer/bin/python"))
    worker = FakeWorker()
    monkeypatch.setattr(peers.subprocess, "run", worker)
    return worker


def test_both_sides_train_the_same_steps_on_the_same_scaled_rows(tiny, tmp_path):
    main(["peers", "--backbones", "iTransformer", "--epochs", "2", *QUICK, "--out", str(tmp_path)])
    records = load_records(tmp_path / "peers.jsonl")
    records = records[records["table"] == "runs"]
    assert list(records["framework"]) == ["sae_forecast", "sae_forecast", "neuralforecast"]
    assert list(records["embedding"]) == ["shared", "lightsae", "shared"]
    assert list(records["steps"]) == [2 * 16] * 3  # 509 windows, 16 batches of 32 per epoch
    (job,) = tiny.jobs
    assert job["steps"] == 32 and job["epochs"] == 2 and job["sizes"] == TINY["iTransformer"]
    assert job["seed"] == 5
    assert job["test_start"] == VALID_END - 96  # trains on the rows before its first origin
    scaled = tiny.scaled[0]
    assert scaled.shape == (ROWS, 3)
    np.testing.assert_allclose(scaled[:TRAIN_END].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled[:TRAIN_END].std(axis=0), 1)
    ours = records[records["framework"] == "sae_forecast"]
    assert (ours["test windows"] == ROWS - VALID_END - 95).all()  # every test window
    assert (ours["ms/step"] > 0).all() and ours["mse"].between(0, 10).all()


def test_the_page_gives_the_peers_time_over_ours_and_the_share_of_the_peak(tiny, tmp_path):
    main(["peers", "--backbones", "iTransformer", "--epochs", "1", *QUICK, "--out", str(tmp_path)])
    page = (tmp_path / "peers.md").read_text()
    assert "neuralforecast 0.0" in page
    records = load_records(tmp_path / "peers.jsonl")
    runs = records[records["table"] == "runs"]
    compared = peers.compared(runs)
    ours = runs.iloc[:2]
    np.testing.assert_allclose(compared["speed-up"], 30.0 / ours["ms/step"].to_numpy())
    expected = (30.0 / ours["ms/step"] >= 2) & (ours["mse"] <= 0.5)
    assert list(compared[">= 2x and mse no worse"]) == list(expected)
    (efficiency,) = records[records["table"] == "efficiency"].to_dict("records")
    assert efficiency["d_model"] == 256 and efficiency["embedding"] == "lightsae"
    share = efficiency["GFLOP/s"] / efficiency["matmul peak GFLOP/s"]
    assert efficiency["share of peak"] == pytest.approx(share)
    assert f"trains at {100 * share:.0f}% of the matmul peak measured in the same run" in page
    profiled = records[records["table"] == "profile"]
    assert profiled["share"].sum() == pytest.approx(1.0)
    assert set(profiled["time of"]) == {*peers.OP_CLASSES, "other", "outside ops"}
    matmul = profiled.loc[profiled["time of"] == "matmul", "ms/step"].item()
    assert matmul > 0 and "### Where its training step goes" in page


def test_the_step_flops_count_forward_and_backward_matmuls():
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    # forward 2*3*(6*5 + 5*2); backward: both weight gradients, and the input gradient of the
    # second layer only (the batch needs none)
    expected = 2 * 3 * (6 * 5 + 5 * 2) + 2 * 3 * (6 * 5 + 5 * 2) + 2 * 3 * 5 * 2
    assert peers.step_flops(model, torch.randn(3, 6)) == expected
    assert all(p.grad is None for p in model.parameters())


def test_the_verdict_needs_both_the_speed_up_and_an_mse_no_worse_on_the_seed_means():
    runs = pd.DataFrame(
        {
            "backbone": ["PatchTST"] * 6,
            "framework": ["sae_forecast", "sae_forecast", "neuralforecast"] * 2,
            "embedding": ["shared", "lightsae", "shared"] * 2,
            "ms/step": [10.0, 10.0, 20.0, 10.0, 10.0, 30.0],
            "mse": [0.40, 0.45, 0.42, 0.43, 0.41, 0.42],
            "seed": [0, 0, 0, 1, 1, 1],
        }
    )
    compared = peers.compared(runs)
    assert list(compared["speed-up"]) == [2.5, 2.5]
    assert list(compared["mse ours"]) == pytest.approx([0.415, 0.43])
    assert list(compared["seeds"]) == ["2 / 2", "2 / 2"]
    assert list(compared["per seed"]) == ["2.00-3.00", "2.00-3.00"]
    assert list(compared[">= 2x and mse no worse"]) == [True, False]
    runs.loc[5, "ms/step"] = 19.0
    assert not peers.compared(runs)[">= 2x and mse no worse"].any()


def test_a_failing_worker_or_a_step_count_that_differs_is_an_error(tiny, monkeypatch, tmp_path):
    monkeypatch.setattr(peers.subprocess, "run", FakeWorker(returncode=1))
    argv = ["peers", "--backbones", "PatchTST", "--epochs", "1", *QUICK, "--out", str(tmp_path)]
    with pytest.raises(RuntimeError, match="worker failed:\nworker trace"):
        main(argv)
    monkeypatch.setattr(peers.subprocess, "run", FakeWorker(steps=3))
    with pytest.raises(RuntimeError, match="neuralforecast trained 3 steps, not 16"):
        main(argv)


def test_the_peer_environment_is_created_once_with_torch_pinned(monkeypatch, tmp_path):
    commands = []

    def run(command, check):
        commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            (Path(command[3]) / "bin").mkdir(parents=True)
            (Path(command[3]) / "bin" / "python").touch()
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(peers.subprocess, "run", run)
    env = tmp_path / "nf"
    assert peers.peer_python("9.9.9", str(env)) == env / "bin" / "python"
    venv, install = commands
    assert venv == [sys.executable, "-m", "venv", str(env)]
    assert install[0] == str(env / "bin" / "python")
    torch_pin = f"torch=={torch.__version__.split('+')[0]}"
    assert install[-2:] == ["neuralforecast==9.9.9", torch_pin]
    peers.peer_python("9.9.9", str(env))  # there now: nothing runs
    assert len(commands) == 2


def test_the_default_environment_is_named_after_the_version(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(peers.subprocess, "run", lambda *a, **k: pytest.fail("ran"))
    python = Path(".peer-envs/neuralforecast-3.3.0/bin/python")
    python.parent.mkdir(parents=True)
    python.touch()
    assert peers.peer_python("3.3.0", None) == python


def test_the_worker_runs_where_neuralforecast_is_installed(tmp_path):
    pytest.importorskip("neuralforecast")
    rng = np.random.default_rng(0)
    np.save(tmp_path / "s.npy", rng.normal(size=(400, 2)))
    job = {"series": str(tmp_path / "s.npy"), "test_start": 300, "backbone": "iTransformer",
           "sizes": TINY["iTransformer"], "seq_len": 8, "pred_len": 4, "batch_size": 4,
           "steps": 3, "epochs": 1, "lr": 1e-3, "seed": 0, "threads": 1}  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(peers.WORKER), json.dumps(job)], capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["steps"] == 3 and result["test windows"] == 400 - 308 - 4 + 1
