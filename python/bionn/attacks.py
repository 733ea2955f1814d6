"""Adversarial attacks (FGSM, PGD; white- and black-box) running in the C++ core (issue 6)."""
from __future__ import annotations

__all__: list = []
