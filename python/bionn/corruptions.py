"""Common corruptions (Hendrycks & Dietterich) and Fourier band-pass filtering (issue 6)."""
from __future__ import annotations

__all__: list = []
