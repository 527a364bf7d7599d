"""The forecasters train what they trained before the architecture refactor.

``tests/fingerprints.json`` was recorded with ``python -m tests.fingerprints`` on the code of
commit 217e882 (AMD EPYC, torch 2.13.0+cpu, one thread). On a machine of that kind the weights
are bitwise the same (``sha``); elsewhere a different BLAS kernel may round differently, so the
forecasts are compared with a tolerance and the hashes only where the recording CPU is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests import fingerprints

RECORDED = json.loads((Path(__file__).parent / "fingerprints.json").read_text())


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
    if "AMD EPYC" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("recorded on an AMD EPYC; another CPU may round differently")
    differ = [case for case in RECORDED if current[case]["sha"] != RECORDED[case]["sha"]]
    assert differ == []
