"""Flexible convolution / max-pooling layer (issue 6). Layers are re-exported by :mod:`bionn.nn`."""
from __future__ import annotations

__all__: list = []
