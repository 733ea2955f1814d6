"""Amplifying and attenuating neurons (issue 5). Layers are re-exported by :mod:`bionn.nn`."""
from __future__ import annotations

__all__: list = []
