"""Tests of sae_forecast.nn.seeding: seeded initialisation and dropout, thread-safe."""

from __future__ import annotations

import threading

import torch

from sae_forecast.nn.dropout import SeededDropout
from sae_forecast.nn.seeding import attach_generator, reset_parameters
from tests.models import N_CHANNELS, PRED_LEN, SEQ_LEN, build_backbone


def _train_a_few_steps(seed, results, key):
    generator = torch.Generator().manual_seed(seed)
    model = reset_parameters(build_backbone("iTransformer", "lightsae", dropout=0.3), generator)
    attach_generator(model, generator)
    data = torch.Generator().manual_seed(100)
    x = torch.randn(8, SEQ_LEN, N_CHANNELS, generator=data)
    y = torch.randn(8, PRED_LEN, N_CHANNELS, generator=data)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimiser.step()
    results[key] = [p.detach().clone() for p in model.parameters()]


def test_parallel_threads_give_bitwise_identical_training():
    results = {}
    _train_a_few_steps(7, results, "serial")
    threads = [
        threading.Thread(target=_train_a_few_steps, args=(7, results, f"thread{i}"))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in ("thread0", "thread1"):
        assert all(torch.equal(a, b) for a, b in zip(results["serial"], results[key], strict=True))


def test_different_seeds_differ():
    results = {}
    _train_a_few_steps(1, results, "a")
    _train_a_few_steps(2, results, "b")
    assert not torch.equal(results["a"][0], results["b"][0])


def test_attach_and_detach_generator():
    model = build_backbone("PatchTST", "shared")
    g = torch.Generator()
    attach_generator(model, g)
    drops = [m for m in model.modules() if isinstance(m, SeededDropout)]
    assert drops
    assert all(m.generator is g for m in drops)
    attach_generator(model, None)
    assert all(m.generator is None for m in drops)


def test_reset_restores_norm_defaults():
    model = build_backbone("PatchTST", "shared")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(3.0)
    reset_parameters(model, torch.Generator().manual_seed(0))
    norm = model.encoder.norm.norm
    assert torch.equal(norm.weight, torch.ones_like(norm.weight))
