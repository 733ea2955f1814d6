"""The extrinsic metric: a logistic-regression readout on the units' concatenated codes (§2)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import losses, nn, optim
from .._validation import as_array, as_labels, check_float, check_int, check_seed

__all__ = ["Readout"]


class Readout:
    """Multinomial logistic regression on the concatenated codes (§2, Fig. 3 right), built from
    bionn's own layers: ``Dense(K*n_hidden, n_classes)`` + softmax cross-entropy + Adam. Features
    are standardised with the training set's mean and standard deviation.

    Parameters
    ----------
    n_classes : int
    lr, epochs, batch_size, weight_decay : training settings
    seed : int
    """

    def __init__(
        self,
        n_classes: int = 10,
        lr: float = 1e-2,
        epochs: int = 20,
        batch_size: int = 128,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> None:
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.lr = check_float(lr, "lr", minimum=0, min_inclusive=False)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.weight_decay = check_float(weight_decay, "weight_decay", minimum=0)
        self.seed = check_seed(seed)
        self.model: Any = None
        self._mean: Optional[np.ndarray] = None
        self._std: Optional[np.ndarray] = None

    def _standardise(self, F: Any, name: str) -> np.ndarray:
        F = as_array(F, name, np.float32, min_ndim=2, max_ndim=2)
        if self._mean is not None and F.shape[1] != self._mean.shape[0]:
            raise ValueError(f"{name} has {F.shape[1]} features, the readout was fitted on {self._mean.shape[0]}")
        return np.ascontiguousarray((F - self._mean) / self._std, dtype=np.float32)

    def fit(self, F: Any, y: Any) -> Readout:
        F = as_array(F, "F", np.float32, min_ndim=2, max_ndim=2)
        labels = as_labels(y, "y", F.shape[0], np.float32, x_name="F")
        if labels.max() >= self.n_classes:
            raise ValueError(f"y has label {int(labels.max())} but n_classes={self.n_classes}")
        self._mean = F.mean(axis=0)
        self._std = F.std(axis=0) + 1e-6
        Z = self._standardise(F, "F")
        self.model = nn.Sequential([nn.Dense(Z.shape[1], self.n_classes)], seed=self.seed)
        opt = optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.model.fit(
            Z, labels, loss=losses.CrossEntropy(), optimizer=opt, epochs=self.epochs, batch_size=self.batch_size
        )
        return self

    def predict(self, F: Any) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("fit() the readout first")
        return np.argmax(self.model.predict(self._standardise(F, "F")), axis=1)

    def score(self, F: Any, y: Any) -> float:
        """Accuracy in [0, 1]."""
        pred = self.predict(F)
        labels = as_labels(y, "y", pred.shape[0], np.float64)
        return float(np.mean(pred == labels))
