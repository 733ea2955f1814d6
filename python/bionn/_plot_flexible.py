"""Plots for the flexible paper; re-exported by :mod:`bionn.plot`."""
from __future__ import annotations

__all__: list = []
