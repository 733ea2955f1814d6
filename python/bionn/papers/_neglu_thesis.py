"""The NegLU thesis's numbers (Tables 6-10) and Table 8's reading, shared by :mod:`bionn.papers.neglu`
(its claims) and :mod:`bionn.papers._neglu_report` (its report sections)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

# Thesis numbers (percent): Table 6 test error and Table 7 training error per % NegLUs (MNIST);
# Table 8 test error per epoch (1..9) of ReLU and MixLU 1 %; Table 9 test accuracy and Table 10
# training accuracy per % NegLUs (CIFAR-10).
PAPER_TABLE6 = {0: 0.92, 1: 0.95, 2: 1.02, 3: 1.22, 4: 1.14, 5: 1.26, 6: 1.43, 7: 1.45, 8: 2.53, 9: 2.68, 10: 90.20}
PAPER_TABLE7_TRAIN = dict(zip(range(11), (0.00, 0.12, 0.15, 0.34, 0.36, 0.48, 0.61, 0.85, 1.29, 2.09, 90.13)))
PAPER_TABLE8 = {
    "relu": (2.07, 1.54, 1.46, 1.30, 1.18, 1.09, 1.13, 1.31, 1.03),
    "mixlu1": (2.22, 1.45, 1.52, 1.28, 1.12, 1.29, 1.28, 1.15, 1.09),
}
PAPER_TABLE9 = {0: 79.81, 0.25: 79.72, 0.5: 79.72, 1: 79.64, 2: 78.85, 3: 10.0}
PAPER_TABLE10_TRAIN = {0: 88.64, 0.25: 87.05, 0.5: 85.57, 1: 84.44, 2: 82.43, 3: 10.0}

# Table 8's windows (1-based epochs): where MixLU 1 % is ahead (2-5) and where it falls behind (6-9).
EARLY_EPOCHS = (2, 5)
LATE_EPOCHS = (6, 9)
# Table 8: "low error" = within 10 % of the run's best test error over Table 8's epochs 1-9 (the
# thesis's runs: ReLU reaches it at epoch 6, MixLU 1 % at epoch 5).
TABLE8_EPOCHS = 9
LOW_ERROR_TOLERANCE = 0.10


def epochs_to_low_error(curve: Sequence[float], epochs: int = TABLE8_EPOCHS, tol: float = LOW_ERROR_TOLERANCE) -> float:
    """The first (1-based) epoch among the first ``epochs`` whose error is at most ``(1 + tol)``
    times the least error over them; NaN when the run is shorter."""
    if len(curve) < epochs:
        return float("nan")
    c = np.asarray(curve[:epochs], dtype=np.float64)
    if not np.isfinite(c).all():
        return float("nan")
    return float(np.flatnonzero(c <= (1.0 + tol) * c.min() + 1e-12)[0] + 1)
