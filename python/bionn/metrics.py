"""Evaluation metrics on NumPy arrays (no scikit-learn needed).

Classification metrics take integer labels ``y_true`` of shape (N,) and either predicted labels
(N,) or scores/logits (N, C), from which the prediction is the arg-max (the first maximum on
ties, like :func:`numpy.argmax`). Regression metrics take two arrays of one shape.

Every function validates its inputs and raises :class:`ValueError` naming the argument when they
are empty, of mismatched length, not numeric, non-finite, or (for labels) not non-negative whole
numbers; ``TypeError`` only for a scalar option of the wrong type (e.g. ``k=2.5``).

Example
-------
>>> import numpy as np
>>> from bionn import metrics
>>> logits = np.array([[2.0, 1.0, 0.1], [0.2, 0.3, 3.0], [1.0, 2.0, 0.0]])
>>> metrics.accuracy([0, 2, 0], logits)
0.6666666666666666
>>> metrics.top_k_accuracy([0, 2, 0], logits, k=2)
1.0
>>> metrics.confusion_matrix([0, 2, 0], logits, num_classes=3)
array([[1, 1, 0],
       [0, 0, 0],
       [0, 0, 1]])
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._validation import check_int

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "mae", "mse"]

_NORMALIZE = (None, "true", "pred", "all")


def _numeric(value: Any, name: str) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return arr


def _labels(value: Any, name: str) -> np.ndarray:
    """Validated class labels as a 1-D int64 array ((N, 1) columns are accepted)."""
    arr = _numeric(value, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold whole-number class labels")
    if arr.min() < 0:
        raise ValueError(f"{name} has a negative label ({arr.min()})")
    return arr.astype(np.int64, copy=False)


def _scores(value: Any, name: str) -> np.ndarray:
    arr = _numeric(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of scores (N, num_classes), got shape {arr.shape}")
    return arr


def _predictions(value: Any, name: str) -> np.ndarray:
    """Labels (N,) / (N, 1) as they are, scores (N, C) with C > 1 reduced by arg-max."""
    arr = _numeric(value, name)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return np.argmax(arr, axis=1).astype(np.int64)
    return _labels(arr, name)


def _same_length(y_true: np.ndarray, y_pred: np.ndarray, pred_name: str) -> None:
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true has {y_true.shape[0]} samples but {pred_name} has {y_pred.shape[0]} samples")


def accuracy(y_true: Any, logits_or_pred: Any) -> float:
    """Fraction of samples whose predicted class equals ``y_true``.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    logits_or_pred : array-like, shape (N,) of predicted labels or (N, C) of scores/logits/probabilities
    """
    y_true = _labels(y_true, "y_true")
    pred = _predictions(logits_or_pred, "logits_or_pred")
    _same_length(y_true, pred, "logits_or_pred")
    return float(np.mean(y_true == pred))


def top_k_accuracy(y_true: Any, logits: Any, k: int = 5) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Ties are broken towards the lower class index (as by :func:`numpy.argmax`), so
    ``top_k_accuracy(y, logits, 1) == accuracy(y, logits)`` always.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    logits : array-like, shape (N, C)
    k : int, 1 <= k <= C
    """
    y_true = _labels(y_true, "y_true")
    scores = _scores(logits, "logits")
    _same_length(y_true, scores, "logits")
    k = check_int(k, "k")
    num_classes = scores.shape[1]
    if not 1 <= k <= num_classes:
        raise ValueError(f"k must be between 1 and the number of classes ({num_classes}), got {k}")
    if y_true.max() >= num_classes:
        raise ValueError(f"y_true has label {y_true.max()} but logits has only {num_classes} classes")
    # A class ranks above the true class if its score is higher, or equal with a lower index.
    true_score = scores[np.arange(scores.shape[0]), y_true][:, None]
    cols = np.arange(num_classes)[None, :]
    above = (scores > true_score) | ((scores == true_score) & (cols < y_true[:, None]))
    return float(np.mean(above.sum(axis=1) < k))


def confusion_matrix(
    y_true: Any, y_pred: Any, num_classes: Optional[int] = None, normalize: Optional[str] = None
) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    y_pred : array-like, shape (N,) of labels or (N, C) of scores (arg-max is taken)
    num_classes : int, optional
        Size of the (square) matrix; defaults to ``max(label) + 1`` over both arrays (or ``C``
        when scores are given). Labels must be below it.
    normalize : {None, "true", "pred", "all"}
        None: int64 counts. "true": each row sums to 1 (recall per class); "pred": each column
        sums to 1 (precision per class); "all": the matrix sums to 1. Rows/columns with no
        samples are left at 0.

    Returns
    -------
    numpy.ndarray, shape (num_classes, num_classes)
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}, got {normalize!r}")
    y_true = _labels(y_true, "y_true")
    raw_pred = _numeric(y_pred, "y_pred")
    score_classes = raw_pred.shape[1] if raw_pred.ndim == 2 and raw_pred.shape[1] > 1 else None
    pred = _predictions(raw_pred, "y_pred")
    _same_length(y_true, pred, "y_pred")
    if num_classes is None:
        num_classes = max(int(y_true.max()), int(pred.max())) + 1
        if score_classes is not None:
            num_classes = max(num_classes, score_classes)
    else:
        num_classes = check_int(num_classes, "num_classes")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        for name, arr in (("y_true", y_true), ("y_pred", pred)):
            if arr.max() >= num_classes:
                raise ValueError(f"{name} has label {arr.max()} but num_classes is {num_classes}")
        if score_classes is not None and score_classes != num_classes:
            raise ValueError(f"y_pred has scores for {score_classes} classes but num_classes is {num_classes}")
    counts = np.bincount(y_true * num_classes + pred, minlength=num_classes * num_classes)
    cm = counts.reshape(num_classes, num_classes).astype(np.int64)
    if normalize is None:
        return cm
    cm = cm.astype(np.float64)
    if normalize == "all":
        return cm / cm.sum()
    axis = 1 if normalize == "true" else 0
    totals = cm.sum(axis=axis, keepdims=True)
    return np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)


def _regression_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    a = _numeric(y_true, "y_true").astype(np.float64)
    b = _numeric(y_pred, "y_pred").astype(np.float64)
    if a.shape != b.shape:
        # A vector of targets against a (N, 1) model output is the common, unambiguous case.
        if a.ndim == 1 and b.shape == (a.shape[0], 1):
            b = b[:, 0]
        elif b.ndim == 1 and a.shape == (b.shape[0], 1):
            a = a[:, 0]
        else:
            raise ValueError(f"y_true has shape {a.shape} but y_pred has shape {b.shape}")
    return a, b


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error over all elements (shapes must match; (N,) vs (N, 1) is accepted)."""
    a, b = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error over all elements (shapes must match; (N,) vs (N, 1) is accepted)."""
    a, b = _regression_pair(y_true, y_pred)
    return float(np.mean((a - b) ** 2))
