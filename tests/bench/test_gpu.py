"""The GPU benchmark's code path, run on the CPU (its GPU columns stay empty there)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from sae_forecast.bench import gpu
from sae_forecast.bench.runner import main
from sae_forecast.bench.runs import epoch_batches
from sae_forecast.data import make_heterogeneous_series

TINY = {"d_model": 8, "n_heads": 2, "d_ff": 8, "n_layers": 1, "patch_len": 16, "stride": 16}


@pytest.mark.parametrize(("backbone", "precision"), [("PatchTST", "fp32"), ("RMLP", "bf16")])
def test_measure_times_and_profiles_a_fit_on_the_cpu(backbone, precision):
    frame = make_heterogeneous_series(4, n_steps=260, random_state=0)[0]
    sizes = {k: v for k, v in TINY.items() if backbone == "PatchTST" or k == "d_model"}
    row = gpu.measure(
        backbone,
        frame,
        "Weather",
        device="cpu",
        precision=precision,
        batch_size=8,
        batches=3,
        profile_batches=2,
        sizes=sizes,
    )
    assert row["s/batch"] > 0
    assert row["s/epoch"] == pytest.approx(row["s/batch"] * epoch_batches("Weather", 8))
    assert row["GPU busy"] is None and row["HtoD copies"] == 0
    assert row["peak GiB (device)"] is None


def _event(name, microseconds, device="CUDA"):
    span = SimpleNamespace(elapsed_us=lambda: microseconds)
    return SimpleNamespace(name=name, time_range=span, device_type=SimpleNamespace(name=device))


def test_gpu_time_share_counts_kernels_copies_and_fused_attention():
    events = [
        _event("ampere_sgemm_128x64", 300_000),
        _event("Memcpy HtoD (Pageable -> Device)", 100_000),
        _event("pytorch_flash::flash_fwd_kernel", 100_000),
        _event("aten::addmm", 900_000, device="CPU"),  # host time is not GPU time
    ]
    share = gpu.gpu_time_share(SimpleNamespace(events=lambda: events), wall=1.0)
    assert share == {"GPU busy": pytest.approx(0.5), "HtoD copies": 1, "fused attention": True}


def test_cuda_without_a_device_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device"):
        main(["gpu", "--device", "cuda"])
