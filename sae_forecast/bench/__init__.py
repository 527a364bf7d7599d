"""Benchmarks (a leaf: nothing imports it).

* ``python -m sae_forecast.bench``: the reproduction benchmark (presets quick/results/paper).
* ``python -m sae_forecast.bench.speed``: training/inference time and memory of the embeddings.
* ``python -m sae_forecast.bench.overhead``: skorch against a hand-written loop.
"""
