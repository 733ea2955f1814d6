"""Self-organizing network: AE units on a feature map, entropy, meta-learning (issue 8)."""
from __future__ import annotations

__all__: list = []
