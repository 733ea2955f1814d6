"""Loss functions (mean-reduced over the batch, as in PyTorch).

A loss object is dtype-agnostic: the C++ loss for float32 or float64 is made on first use.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from . import _core
from ._validation import as_array, as_labels, as_ndarray, check_float, core_errors, suffix

__all__ = ["Loss", "CrossEntropy", "MSE", "L1", "LinearSquare", "BCEWithLogits"]


class Loss:
    """Base class: ``loss(pred, target)`` returns the value, ``loss.backward()`` dLoss/dPred."""

    _core_name = ""
    is_classification = False

    def __init__(self) -> None:
        self._impls: Dict[str, Any] = {}
        self._last: Any = None

    def _make(self, dtype: np.dtype) -> Any:
        return getattr(_core, self._core_name + suffix(dtype))()

    def _for_dtype(self, dtype: Any) -> Any:
        key = np.dtype(dtype).name
        if key not in self._impls:
            self._impls[key] = self._make(np.dtype(dtype))
        return self._impls[key]

    def config(self) -> Dict[str, Any]:
        return {}

    def __call__(self, pred: Any, target: Any) -> float:
        p = as_ndarray(pred, "pred")
        dtype = np.float64 if p.dtype == np.float64 else np.float32
        p = as_array(p, "pred", dtype)
        if self.is_classification:
            t = as_labels(target, "target", p.shape[0], dtype, "pred")
        else:
            t = as_array(target, "target", dtype)
        self._last = None  # a rejected call must not leave backward() returning a stale buffer
        impl = self._for_dtype(dtype)
        with core_errors("pred", "target"):
            value = float(impl.forward(p, t))
        self._last = impl
        return value

    forward = __call__

    def backward(self) -> np.ndarray:
        """dLoss/dPred for the last call."""
        if self._last is None:
            raise RuntimeError("call the loss on (pred, target) before backward()")
        return self._last.backward()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits (N, C) with integer labels (N,), fused and numerically stable.

    Parameters
    ----------
    label_smoothing : float
        As in ``torch.nn.CrossEntropyLoss``.
    """

    _core_name = "CrossEntropyLoss"
    is_classification = True

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = check_float(
            label_smoothing, "label_smoothing", minimum=0.0, maximum=1.0, max_inclusive=False
        )

    def _make(self, dtype: np.dtype) -> Any:
        return getattr(_core, self._core_name + suffix(dtype))(self.label_smoothing)

    def config(self) -> Dict[str, Any]:
        return {"label_smoothing": self.label_smoothing}


class MSE(Loss):
    """Mean squared error."""

    _core_name = "MSELoss"


class L1(Loss):
    """Mean absolute error."""

    _core_name = "L1Loss"


class LinearSquare(Loss):
    """Mean of ``ρ(e) = |e| + 1/(1 + |e|) − 1 = e²/(1 + |e|)``, ``e = pred − target``: quadratic near 0,
    linear for large errors (gradient ``sign(e)(1 − 1/(1 + |e|)²)``, bounded by 1). The default cost of
    the amplifying/attenuating-neuron authors' MLP (their "linear-square" cost)."""

    _core_name = "LinearSquareLoss"


class BCEWithLogits(Loss):
    """Sigmoid + binary cross-entropy on logits, targets in [0, 1]."""

    _core_name = "BCEWithLogitsLoss"
