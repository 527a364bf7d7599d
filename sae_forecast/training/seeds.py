"""Seeds for the independent random streams of a training run, without global state."""

from __future__ import annotations

import numpy as np

__all__ = ["spawn_seeds"]


def spawn_seeds(random_state, n: int) -> list[int]:
    """Derive ``n`` independent 63-bit seeds from an sklearn-style ``random_state``.

    ``None`` draws fresh entropy; an int, a sequence of ints, a ``numpy.random.RandomState``
    or a ``numpy.random.Generator`` give a reproducible sequence. No global state is touched.

    Examples
    --------
    >>> spawn_seeds(0, 2) == spawn_seeds(0, 2)
    True
    """
    if random_state is None or isinstance(random_state, (int, np.integer)):
        entropy = None if random_state is None else int(random_state)
    elif isinstance(random_state, (list, tuple)):
        entropy = [int(value) for value in random_state]
    elif isinstance(random_state, np.random.RandomState):
        entropy = int(random_state.randint(2**31))
    elif isinstance(random_state, np.random.Generator):
        entropy = int(random_state.integers(2**63))
    else:
        raise TypeError(
            f"random_state must be None, an int or a numpy generator, got "
            f"{type(random_state).__name__}."
        )
    children = np.random.SeedSequence(entropy).spawn(n)
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children]
