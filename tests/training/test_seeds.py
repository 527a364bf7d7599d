"""Tests of sae_forecast.training.seeds."""

from __future__ import annotations

import numpy as np
import pytest

from sae_forecast.training import spawn_seeds


def test_spawn_seeds_accepts_sklearn_random_states():
    assert spawn_seeds(np.random.RandomState(0), 2) == spawn_seeds(np.random.RandomState(0), 2)
    assert len(set(spawn_seeds(None, 3))) == 3
    with pytest.raises(
        TypeError, match="random_state must be None, an int or a numpy generator, got str"
    ):
        spawn_seeds("seed", 1)


def test_seeds_are_63_bit_distinct_and_follow_the_entropy():
    seeds = spawn_seeds(7, 4)
    assert len(set(seeds)) == 4 and all(0 <= s < 2**63 for s in seeds)
    assert spawn_seeds(7, 4) == seeds and spawn_seeds(8, 4) != seeds
    assert spawn_seeds([7, 1], 1) != spawn_seeds([7, 2], 1)
