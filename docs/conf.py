"""Sphinx configuration: numpydoc + autodoc (the sktime / scikit-learn convention), MyST pages."""

from __future__ import annotations

import importlib.metadata

project = "sae_forecast"
author = "sae_forecast developers"
release = importlib.metadata.version("sae-forecast")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**/headline.md", "headline.md"]  # the README's table
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

autodoc_typehints = "none"  # numpydoc sections carry the types
autodoc_default_options = {"members": True, "inherited-members": False}
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

intersphinx_mapping = {}  # offline builds: no remote inventories
html_theme = "alabaster"
html_title = "sae_forecast"
html_static_path = []
suppress_warnings = ["myst.xref_missing"]
