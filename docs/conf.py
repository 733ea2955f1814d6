"""Sphinx configuration of the bionn docs (``sphinx-build -W --keep-going -n docs docs/_build/html``).

Offline by design: CI has PyPI but not the projects' web sites, so intersphinx reads only local
inventories (``docs/_inventories/<project>.inv``, fetched by ``python docs/fetch_inventories.py``
on a machine with the network); missing ones are skipped and references into those projects are
then plain text instead of warnings. MathJax is loaded by the reader's browser, not at build time.
"""

from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "_ext"))
# Document the source tree when it has a built extension (a developer's worktree), else the
# installed package (CI: `pip install ".[docs]"` from the same checkout).
if any(glob.glob(os.path.join(ROOT, "python", "bionn", f"_core*{ext}")) for ext in (".so", ".pyd")):
    sys.path.insert(0, os.path.join(ROOT, "python"))

import bionn  # noqa: E402

project = "bionn"
author = "the bionn maintainers"
copyright = "the bionn maintainers"
release = version = bionn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "bionn_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "_inventories", "fetch_inventories.py"]
root_doc = "index"
html_theme = "alabaster"
html_title = f"bionn {release}"
html_static_path: list = []

# NumPy-style docstrings (numpydoc: the reference parser of that format; see docs/README.md).
numpydoc_show_class_members = False  # autodoc's :members: lists them; no autosummary stubs
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings give the types, in NumPy style
autodoc_default_options = {"member-order": "bysource"}

# benchmarks/README.md shows an abridged JSON example ("...") that Pygments cannot lex as JSON.
suppress_warnings = ["misc.highlighting_failure"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# intersphinx from local inventories only (never the network during a build).
_PROJECTS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "torch": "https://docs.pytorch.org/docs/stable/",
}
intersphinx_mapping = {}
for _name, _url in _PROJECTS.items():
    _inv = os.path.join(HERE, "_inventories", f"{_name}.inv")
    if os.path.exists(_inv):
        intersphinx_mapping[_name] = (_url, _inv)
intersphinx_disabled_reftypes = ["*"]  # only explicit `numpy:...` references go to other projects
intersphinx_timeout = 1

# Nitpicky (-n): unresolved references are errors, except into projects without a local inventory.
# Private names (``bionn.nn.focus._FocusBase``, ``bionn.papers._neglu_nets``) are not in the reference.
_EXTERNAL = ("numpy", "np", "torch", "scipy", "pandas", "matplotlib", "dask", "tqdm")
_STDLIB = ("typing", "abc", "os", "collections", "pathlib", "urllib", "enum", "dataclasses", "numbers", "json")
nitpick_ignore_regex = [(r"py:.*", rf"{name}(\..*)?") for name in _EXTERNAL if name not in intersphinx_mapping]
nitpick_ignore_regex += [(r"py:.*", r"(.*\.)?_[A-Za-z]\w*(\..*)?")]
if "python" not in intersphinx_mapping:
    import builtins

    nitpick_ignore_regex += [(r"py:.*", rf"{name}(\..*)?") for name in _STDLIB]
    nitpick_ignore_regex += [(r"py:(class|exc|func|obj)", name) for name in dir(builtins) if not name.startswith("_")]

doctest_global_setup = """
import numpy as np
import bionn
from bionn import nn, optim, losses, callbacks, attacks, metrics
bionn.set_num_threads(1)
try:
    import torch
except ImportError:
    torch = None
"""
