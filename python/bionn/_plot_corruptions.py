"""Plots for corruptions and Fourier band-pass analysis; re-exported by :mod:`bionn.plot`."""
from __future__ import annotations

__all__: list = []
