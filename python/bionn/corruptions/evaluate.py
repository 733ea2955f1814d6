"""Dispatch by name (:func:`corrupt`, :func:`corrupt_all`) and accuracy per family and severity."""

from __future__ import annotations

import numbers
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from .._validation import as_list, as_ndarray, check_int
from .families import _FUNCTIONS, CORRUPTIONS, _as_images, _check_name, _check_severity, _check_table


def corrupt(images: Any, name: str, severity: int, seed: Optional[int] = None, *, table: str = "cifar") -> np.ndarray:
    """Apply the corruption ``name`` at ``severity`` to a batch of images.

    Parameters
    ----------
    images : array-like, shape (N, H, W), (N, 1, H, W) or (N, 3, H, W)
        Values in [0, 1] (see the module docstring for the tolerance rule); any real dtype.
    name : str
        One of :data:`CORRUPTIONS`.
    severity : int
        1 (mildest) to 5.
    seed : int, optional
        Makes the random families reproducible; None draws fresh entropy.
    table : {"cifar", "imagenet"}
        Hendrycks & Dietterich's CIFAR-10-C (default) or ImageNet-C parameter table.

    Returns
    -------
    numpy.ndarray
        float32 array of the input's shape, clipped to [0, 1].
    """
    return _FUNCTIONS[_check_name(name)](images, _check_severity(severity), seed=seed, table=table)


def _check_names(names: Optional[Iterable[str]]) -> List[str]:
    if names is None:
        return list(CORRUPTIONS)
    if isinstance(names, str):
        names = [names]
    out = [_check_name(n) for n in as_list(names, "names", "a sequence of corruption names")]
    if not out:
        raise ValueError("names must contain at least one corruption name")
    if len(set(out)) != len(out):
        raise ValueError(f"names contains duplicates: {out}")
    return out


def _check_severities(severities: Iterable[int]) -> List[int]:
    if isinstance(severities, (numbers.Integral, np.integer)) and not isinstance(severities, (bool, np.bool_)):
        severities = [severities]
    try:
        out = [_check_severity(s) for s in severities]
    except TypeError as exc:
        if "severity" in str(exc):
            raise
        raise TypeError(f"severities must be an iterable of integers 1..5, got {type(severities).__name__}") from None
    if not out:
        raise ValueError("severities must contain at least one severity")
    if len(set(out)) != len(out):
        raise ValueError(f"severities contains duplicates: {out}")
    return out


def corrupt_all(
    images: Any,
    severities: Iterable[int] = range(1, 6),
    names: Optional[Iterable[str]] = None,
    seed: Optional[int] = 0,
    *,
    table: str = "cifar",
) -> Iterator[Tuple[str, int, np.ndarray]]:
    """Yield ``(name, severity, corrupted_images)`` for every family and severity, lazily (one
    corrupted copy of the data in memory at a time).

    Every pair uses the same ``seed``, so ``corrupted_images`` equals
    ``corrupt(images, name, severity, seed=seed)``. Wrap in ``dict(((n, s), x) for n, s, x in
    corrupt_all(...))`` to keep them all.

    Parameters
    ----------
    images : array-like
        As for :func:`corrupt`; validated once before the first item is produced.
    severities : iterable of int
        Default 1..5.
    names : iterable of str, optional
        Default :data:`CORRUPTIONS`.
    seed : int or None
        Default 0 (reproducible).
    table : {"cifar", "imagenet"}
    """
    names = _check_names(names)
    severities = _check_severities(severities)
    _check_table(table)
    if seed is not None:
        check_int(seed, "seed", minimum=0)
    x, shape = _as_images(images)
    x = x.reshape(shape)

    def generate() -> Iterator[Tuple[str, int, np.ndarray]]:
        for name in names:
            for severity in severities:
                yield name, severity, corrupt(x, name, severity, seed=seed, table=table)

    return generate()


def _check_model(model: Any) -> None:
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"model must have a predict(X) method returning logits, got {type(model).__name__}")


def _predict_labels(model: Any, X: np.ndarray, batch_size: int) -> np.ndarray:
    out = []
    for start in range(0, X.shape[0], batch_size):
        chunk = X[start : start + batch_size]
        logits = np.asarray(model.predict(chunk))
        if logits.ndim != 2 or logits.shape[0] != chunk.shape[0] or logits.shape[1] < 2:
            raise ValueError(
                "model.predict must return logits of shape (batch, n_classes >= 2), "
                f"got shape {logits.shape} for a batch of {chunk.shape[0]}"
            )
        out.append(np.argmax(logits, axis=1))
    return np.concatenate(out)


def _check_labels(labels: Any, n: int) -> np.ndarray:
    arr = as_ndarray(labels, "labels")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"labels must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) to match images, got shape {arr.shape}")
    if arr.dtype.kind == "f" and (not np.isfinite(arr).all() or not np.all(arr == np.round(arr))):
        raise ValueError("labels must hold whole-number class labels")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels has a negative label ({arr.min()})")
    return arr.astype(np.int64)


def _table(rows: List[Dict[str, Any]], as_frame: Optional[bool]) -> Any:
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise ImportError("as_frame=True needs pandas (`pip install pandas`)") from None
        return rows
    return pd.DataFrame(rows)


def evaluate_corruptions(
    model: Any,
    images: Any,
    labels: Any,
    names: Optional[Iterable[str]] = None,
    severities: Iterable[int] = (1, 2, 3, 4, 5),
    seed: Optional[int] = 0,
    batch_size: int = 1024,
    *,
    table: str = "cifar",
    include_clean: bool = True,
    as_frame: Optional[bool] = None,
) -> Any:
    """Accuracy of ``model`` on corrupted copies of ``(images, labels)`` per family and severity.

    Parameters
    ----------
    model : object with ``predict(X) -> logits``
        A :class:`bionn.nn.Sequential` or any object whose ``predict`` takes a batch shaped like
        ``images`` and returns logits of shape (batch, n_classes); the predicted class is the
        arg-max.
    images, labels : array-like
        Clean images as for :func:`corrupt` and their integer labels (N,).
    names : iterable of str, optional
        Families to evaluate (default :data:`CORRUPTIONS`).
    severities : iterable of int
        Default 1..5.
    seed : int or None
        The seed of every corruption (default 0, reproducible; see :func:`corrupt_all`).
    batch_size : int
        Images passed to ``model.predict`` at a time.
    table : {"cifar", "imagenet"}
    include_clean : bool
        Also report the clean accuracy as severity 0 of every family (as the paper's Fig. 5A
        does), computed once.
    as_frame : bool, optional
        True: a pandas DataFrame; False: a list of dicts; None (default): a DataFrame when pandas
        is installed.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per (family, severity) with columns ``corruption``, ``severity``, ``accuracy``
        (fraction correct, 0..1) and ``n`` (number of images).
    """
    _check_model(model)
    names = _check_names(names)
    severities = _check_severities(severities)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    _check_table(table)
    x, shape = _as_images(images)
    y = _check_labels(labels, x.shape[0])
    n = int(x.shape[0])
    rows: List[Dict[str, Any]] = []
    clean_accuracy = None
    if include_clean:
        clean_accuracy = float(np.mean(_predict_labels(model, x.reshape(shape), batch_size) == y))
    for name, severity, corrupted in corrupt_all(x.reshape(shape), severities, names, seed, table=table):
        if include_clean and severity == severities[0]:
            rows.append(dict(corruption=name, severity=0, accuracy=clean_accuracy, n=n))
        accuracy = float(np.mean(_predict_labels(model, corrupted, batch_size) == y))
        rows.append(dict(corruption=name, severity=severity, accuracy=accuracy, n=n))
    return _table(rows, as_frame)
