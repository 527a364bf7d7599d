"""Benchmarks (a leaf: nothing imports it), through the package's public API only.

``python -m sae_forecast.bench <study> [options]`` runs one study of
:data:`~sae_forecast.bench.runner.STUDIES` (``accuracy``, ``analysis``, ``speed``,
``overhead``, ``scaling``, ``gpu``, ``gaps``, ``fleet``, ``calibration``): it computes the cells
not yet recorded, then writes the study's page from its records alone.
"""
