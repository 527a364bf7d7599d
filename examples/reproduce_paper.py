"""Reproduce the benchmark: the quick preset here, ``--full`` for the docs/results.md grid.

python examples/reproduce_paper.py [--quick] [--out examples_out]
python -m sae_forecast.bench accuracy --preset results --out bench_out/results   # the table
"""

from __future__ import annotations

from _common import parse

from sae_forecast.bench.runner import main

args = parse(__doc__)
selection = [
    "accuracy",
    "--preset",
    "quick",
    "--datasets",
    "ETTh1",
    "--embeddings",
    "shared",
    "lightsae",
    "--horizons",
    "96",
]
if args.quick:
    selection += ["--backbones", "RLinear", "--max-epochs", "1"]
main([*selection, "--out", str(args.out / "bench")])
