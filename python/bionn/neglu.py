"""NegLU, MixLU, Min-Maxout and learned activations (issue 7). Layers are re-exported by :mod:`bionn.nn`."""
from __future__ import annotations

__all__: list = []
