"""Paper reproductions: one module per paper, each registering its claims on import.

``bionn reproduce --list`` shows the registered claims and ``bionn reproduce <paper>`` checks them
(see :mod:`bionn.experiments`). To add a paper, create ``bionn/papers/<key>.py`` that calls
:func:`bionn.experiments.register_claim` with ``paper="<key>"`` and import it below.
"""
from __future__ import annotations

from . import amplifying, demo, flexible, focusing, neglu, selforg  # noqa: F401

__all__ = ["demo", "focusing", "amplifying", "flexible", "neglu", "selforg"]
