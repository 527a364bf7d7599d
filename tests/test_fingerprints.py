"""The forecasters train what they trained before the architecture refactor.

``tests/fingerprints.json`` was recorded with ``python -m tests.fingerprints`` on the code of
commit 217e882 (AMD EPYC, torch 2.13.0+cpu, one thread). The weights' hashes depend on the
kernels torch picks for the CPU: ``sha`` is the recording machine's (an EPYC whose torch CPU
capability is AVX512: the hashes of the transformer cases differ on an AVX2 EPYC), and
``sha_avx2`` was recorded on an AVX2 EPYC (family 25 model 1, 2026-12-06) with the same
commit's code, where the current code trains bitwise the same weights (``RLinear-quantile``
from commit f29de47, which re-recorded it on purpose). Elsewhere a different kernel may round
differently, so the forecasts are compared with a tolerance and the hashes only on those CPUs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests import fingerprints

RECORDED = json.loads((Path(__file__).parent / "fingerprints.json").read_text())
SHA_FIELD_BY_CAPABILITY = {"AVX512": "sha", "AVX2": "sha_avx2"}


@pytest.fixture(scope="module")
def current():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fingerprints.cases()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RECORDED))
def test_forecasts_match_the_recorded_ones(current, case):
    for field in ("point", "interval"):
        np.testing.assert_allclose(current[case][field], RECORDED[case][field], rtol=1e-4)
    assert current[case]["score"] == pytest.approx(RECORDED[case]["score"], rel=1e-4)


@pytest.mark.slow
def test_weights_are_bitwise_the_recorded_ones_on_the_recording_cpu(current):
    field = SHA_FIELD_BY_CAPABILITY.get(torch.backends.cpu.get_cpu_capability())
    if "AMD EPYC" not in Path("/proc/cpuinfo").read_text() or field is None:
        pytest.skip(
            "hashes recorded on AMD EPYC CPUs with torch capability "
            f"{sorted(SHA_FIELD_BY_CAPABILITY)}; another CPU may round differently"
        )
    differ = [case for case in RECORDED if current[case]["sha"] != RECORDED[case][field]]
    assert differ == []
