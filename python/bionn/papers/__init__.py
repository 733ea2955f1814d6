"""Paper reproductions: one module per paper, each registering its experiments and claims on import.

``bionn report`` shows every claim's verdict from the committed run records and
``bionn reproduce <paper>`` runs what is missing (see :mod:`bionn.experiments`). ``import bionn``
imports this package last, after :mod:`bionn.experiments`, so every paper's claims are registered
by the time anyone calls :func:`bionn.experiments.claims`. The dependency points one way: paper modules import
:mod:`bionn.experiments`; the registry there imports no paper.

To add a paper:

1. create ``bionn/papers/<key>.py`` that registers its experiments (``register_experiment``: the
   paper's protocol and its declared deviations) and its claims (``register_claim``: the paper's
   statement and a criterion from :mod:`bionn.experiments.criteria`, fixed before running); see
   ``demo.py``;
2. that is all: every public module of this package is imported here, in name order (modules
   whose name starts with ``_`` hold shared protocol helpers and register nothing).

Keep the module's top level light: import heavy libraries (scipy, pandas, matplotlib, torch,
datasets) inside the compute functions, since ``import bionn`` imports every paper module.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
del _name
