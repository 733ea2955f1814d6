"""Data sets, the one data-file lookup, and NumPy data utilities (pure Python + NumPy).

Modules
-------
:mod:`._files`
    :func:`locate` -- the one lookup for data files: ``root=`` -> ``$BIONN_DATA`` -> the project's
    shared data (``<repo>/../shared/data``) -> ``/usr/share/datasets``; checksums
    (:data:`SHA256`, :func:`sha256_file`, ``SHA256SUMS``) and verified downloads
    (:func:`download_file`, :data:`MIRRORS`).
:mod:`.catalog`
    the data sets bionn knows (:data:`DATASETS`) and the functions behind ``bionn data``:
    :func:`fetch` (verified, atomic, resumable downloads), :func:`verify`, :func:`find`.
:mod:`.mnist`
    :func:`load_mnist`, :func:`load_fashion_mnist` (official IDX splits) and
    :func:`load_mnist_sample` (the 10,000-digit sample in the shared data); :func:`read_idx`.
:mod:`.cifar10`
    :func:`load_cifar10`, :func:`read_cifar10_batch` (binary version, or python version read
    without unpickling any object).
:mod:`.transforms`
    :func:`train_val_split`, :func:`standardize`, :func:`one_hot`, :func:`subsample`,
    :func:`random_horizontal_flip`, :func:`random_crop`, :func:`random_translate`.
:mod:`.synthetic`
    the papers' synthetic data: :func:`make_focus_blobs`, :func:`make_focus_classification`, :func:`focus_blobs_grid`,
    :data:`FOCUS_BLOBS_GRID`, :func:`make_cluttered_mnist`.

Loaders return ``(X, y)`` with images ``X`` of shape ``(N, C, H, W)``, dtype ``float32``, scaled
to ``[0, 1]``, and integer labels ``y`` (``int64``).

Environment: ``BIONN_DATA`` names a data directory searched before the defaults (data sets in
``$BIONN_DATA/<name>/`` or directly in it). ``BIONN_SHARED_DATA`` is deprecated: it is still read
in this release, with a :class:`DeprecationWarning`, after ``BIONN_DATA``.
"""

from __future__ import annotations

from ._files import (
    CONTENT_SHA256,
    DATA_ENV,
    MIRRORS,
    SHA256,
    SYSTEM_DATA_DIRS,
    ChecksumError,
    download_file,
    locate,
    sha256_file,
)
from ._idx import read_idx
from .catalog import (
    DATASETS,
    MIRROR_ENV,
    DatasetInfo,
    NotDownloadable,
    dataset_info,
    fetch,
    fetchable_name,
    find,
    verify,
)
from .cifar10 import CIFAR10_CLASSES, load_cifar10, read_cifar10_batch
from .mnist import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_fashion_mnist, load_mnist, load_mnist_sample
from .synthetic import (
    FOCUS_BLOBS_GRID,
    focus_blobs_grid,
    make_cluttered_mnist,
    make_focus_blobs,
    make_focus_classification,
)
from .transforms import (
    one_hot,
    random_crop,
    random_horizontal_flip,
    random_translate,
    standardize,
    subsample,
    train_val_split,
)

__all__ = [
    "locate",
    "DATASETS",
    "DatasetInfo",
    "MIRROR_ENV",
    "NotDownloadable",
    "dataset_info",
    "fetch",
    "fetchable_name",
    "find",
    "verify",
    "DATA_ENV",
    "SYSTEM_DATA_DIRS",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "load_mnist_sample",
    "read_idx",
    "read_cifar10_batch",
    "download_file",
    "sha256_file",
    "ChecksumError",
    "train_val_split",
    "standardize",
    "one_hot",
    "subsample",
    "random_horizontal_flip",
    "random_crop",
    "random_translate",
    "MIRRORS",
    "SHA256",
    "CONTENT_SHA256",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "make_focus_blobs",
    "make_focus_classification",
    "focus_blobs_grid",
    "FOCUS_BLOBS_GRID",
    "make_cluttered_mnist",
]
