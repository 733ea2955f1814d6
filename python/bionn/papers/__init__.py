"""Paper reproductions: one module per paper, each registering its claims on import.

``bionn reproduce --list`` shows the registered claims and ``bionn reproduce <paper>`` checks them
(see :mod:`bionn.experiments`). ``import bionn`` imports this package last, after
:mod:`bionn.experiments`, so every paper's claims are registered by the time anyone calls
:func:`bionn.experiments.claims`. The dependency points one way: paper modules import
:mod:`bionn.experiments`; the registry there imports no paper.

To add a paper:

1. create ``bionn/papers/<key>.py`` that imports what it needs from :mod:`bionn.experiments`
   (``from ..experiments import register_claim, repeat, ttest``) and registers each claim with
   ``@register_claim(id="<key>.<claim>", paper="<key>", ...)``;
2. add ``<key>`` to the import line and to ``__all__`` below.

Keep the module's top level light: import heavy libraries (scipy, pandas, matplotlib, torch,
datasets) inside the compute functions, since ``import bionn`` imports every paper module.
"""

from __future__ import annotations

from . import amplifying, demo, flexible, focusing, neglu, selforg  # noqa: F401

__all__ = ["demo", "focusing", "amplifying", "flexible", "neglu", "selforg"]
