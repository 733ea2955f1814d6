"""Protocol helpers the paper modules share: the data sets they load, and the one way a claim says
that the data it needs is not on this machine (:class:`DataUnavailable`, reported as SKIP)."""

from __future__ import annotations

import functools
from typing import Tuple

import numpy as np

from .. import data
from ..experiments import ClaimSkipped

__all__ = [
    "DataUnavailable",
    "CIFAR10_HINT",
    "FASHION_HINT",
    "cifar10_or_skip",
    "fashion_mnist",
    "require_fashion",
    "mnist_sample_or_skip",
]

Arrays = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

CIFAR10_HINT = (
    "run `bionn data fetch cifar-10` (or `bionn reproduce ... --download`), or put cifar-10-binary.tar.gz, "
    "the extracted cifar-10-batches-bin/ or cifar-10-batches-py/ in ../shared/data/cifar-10/, or set "
    "BIONN_DATA to a directory holding them"
)


class DataUnavailable(ClaimSkipped, RuntimeError):
    """A data set the claim needs is not on this machine (the message says where it was looked for);
    a claim raising it is reported as skipped (:class:`bionn.experiments.ClaimSkipped`)."""


def cifar10_or_skip() -> Arrays:
    """CIFAR-10 ``(X_train, y_train, X_test, y_test)``, float32 (N, 3, 32, 32) in [0, 1], or
    :class:`DataUnavailable` saying why not and how to add it."""
    try:
        Xtr, ytr = data.load_cifar10(split="train")
        Xte, yte = data.load_cifar10(split="test")
    except (FileNotFoundError, OSError) as exc:
        raise DataUnavailable(
            f"CIFAR-10 is not available offline on this machine ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}); {CIFAR10_HINT}",
            dataset="cifar10",
        ) from None
    return Xtr.astype(np.float32), ytr, Xte.astype(np.float32), yte


@functools.lru_cache(maxsize=1)
def fashion_mnist() -> Arrays:
    """The official Fashion-MNIST split ``(X_train, y_train, X_test, y_test)``, (N, 1, 28, 28) in
    [0, 1] (cached: several protocols draw subsets of it)."""
    X, y = data.load_fashion_mnist(split="train")
    Xt, yt = data.load_fashion_mnist(split="test")
    return X, y, Xt, yt


def mnist_sample_or_skip() -> Tuple[np.ndarray, np.ndarray]:
    """The project's 10,000-digit MNIST sample ``(X, y)``, or :class:`DataUnavailable`."""
    try:
        return data.load_mnist_sample()
    except FileNotFoundError as exc:
        raise DataUnavailable(
            f"the MNIST 10k sample is not available: {str(exc).splitlines()[0]}", dataset="mnist-sample"
        ) from None


FASHION_HINT = (
    "install Debian's dataset-fashion-mnist package, or put the four official IDX .gz files in "
    "<BIONN_DATA>/fashion-mnist/ (see bionn.data.load_fashion_mnist)"
)


def require_fashion() -> None:
    """Raises :class:`DataUnavailable` (naming the files and where to put them) when the official
    Fashion-MNIST split is not on this machine."""
    try:
        fashion_mnist()
    except (FileNotFoundError, OSError) as exc:
        fashion_mnist.cache_clear()
        raise DataUnavailable(
            f"Fashion-MNIST is not available ({type(exc).__name__}: {str(exc).splitlines()[0]}); {FASHION_HINT}",
            dataset="fashion-mnist",
        ) from None
