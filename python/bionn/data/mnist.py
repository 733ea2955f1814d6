"""MNIST, Fashion-MNIST (official IDX splits) and the project's 10,000-digit MNIST sample."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._files import (
    _LOADER_DOC,
    DATA_ENV,
    SHA256,
    ChecksumError,
    HashSpec,
    PathLike,
    _candidate_dirs,
    _check_checksums_arg,
    _check_split,
    _coerce_hashes,
    _describe,
    _download_from_mirrors,
    _expected_for,
    _not_found,
    _repair_hint,
    _resolve_cache_dir,
    _search_dirs,
    _sha256sums_entry,
    _shared_note,
    _Spec,
)
from ._idx import _load_idx_pair

__all__ = ["load_mnist", "load_fashion_mnist", "load_mnist_sample", "MNIST_CLASSES", "FASHION_MNIST_CLASSES"]

MNIST_CLASSES: Tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: Tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_IDX_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SAMPLE_DIRNAME = "mnist-sample-10k"
_SAMPLE_FILES = ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")

# MNIST and Fashion-MNIST share their file names: the data set's own folder is tried first.
_MNIST = _Spec("mnist", "MNIST", "load_mnist", ("mnist", "MNIST/raw"))
_FASHION = _Spec(
    "fashion-mnist",
    "Fashion-MNIST",
    "load_fashion_mnist",
    ("fashion-mnist", "FashionMNIST/raw"),
    package="dataset-fashion-mnist",
)


def _load_idx_dataset(
    spec: _Spec, split, root, download: bool, cache_dir, base_url, checksums
) -> Tuple[np.ndarray, np.ndarray]:
    parts = _check_split(split)
    checksums = _check_checksums_arg(checksums)
    cache = _resolve_cache_dir(spec, cache_dir)
    dirs = _candidate_dirs(spec, root, cache)
    Xs, ys = [], []
    for part in parts:
        names = _IDX_FILES[part]
        expected = {n: _expected_for(spec.key, n, checksums) for n in names}
        found = next((d for d in dirs if all((d / n).is_file() for n in names)), None)
        if found is None:
            if not download:
                raise _not_found(spec, names, part, [_describe(d, names) for d in dirs], cache, root)
            for n in names:
                _download_from_mirrors(spec, n, cache, base_url, expected[n][0])
            found = cache
        hints = {n: _repair_hint(spec, found / n, cache) for n in names}
        try:
            X, y = _load_idx_pair(found / names[0], found / names[1], expected, spec.title, hints)
        except ChecksumError:
            if not (download and found == cache):
                raise
            for n in names:  # a bad cached file: replace it with a verified download
                _download_from_mirrors(spec, n, cache, base_url, expected[n][0])
            X, y = _load_idx_pair(found / names[0], found / names[1], expected, spec.title, hints)
        Xs.append(X)
        ys.append(y)
    if len(Xs) == 1:
        return Xs[0], ys[0]
    return np.concatenate(Xs), np.concatenate(ys)


def load_mnist(
    root: Optional[PathLike] = None,
    split: str = "train",
    download: bool = False,
    cache_dir: Optional[PathLike] = None,
    *,
    base_url: Union[str, Sequence[str], None] = None,
    checksums: Optional[Mapping[str, HashSpec]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    return _load_idx_dataset(_MNIST, split, root, download, cache_dir, base_url, checksums)


def load_fashion_mnist(
    root: Optional[PathLike] = None,
    split: str = "train",
    download: bool = False,
    cache_dir: Optional[PathLike] = None,
    *,
    base_url: Union[str, Sequence[str], None] = None,
    checksums: Optional[Mapping[str, HashSpec]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    return _load_idx_dataset(_FASHION, split, root, download, cache_dir, base_url, checksums)


load_mnist.__doc__ = _LOADER_DOC.format(
    title="the official MNIST split (IDX ``.gz`` files)",
    sub="mnist",
    key="mnist",
    extra="",
    shape="(N, 1, 28, 28)",
    classes="",
)
load_fashion_mnist.__doc__ = _LOADER_DOC.format(
    title="the official Fashion-MNIST split (IDX ``.gz`` files)",
    sub="fashion-mnist",
    key="fashion-mnist",
    extra="\n        (where Debian's package ``dataset-fashion-mnist`` installs it)",
    shape="(N, 1, 28, 28)",
    classes=" (names in :data:`FASHION_MNIST_CLASSES`)",
)


def load_mnist_sample(
    root: Optional[PathLike] = None, *, checksums: Optional[Mapping[str, HashSpec]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Load the project's 10,000-digit MNIST sample (``shared/data/mnist-sample-10k``).

    These are real MNIST digits but not an official split, sorted by label: shuffle or use
    :func:`train_val_split` before training.

    Parameters
    ----------
    root : str or os.PathLike, optional
        The ``mnist-sample-10k`` directory or the data directory containing it. If None, the
        lookup of :func:`bionn.data.locate`: ``$BIONN_DATA``, then ``<repo>/../shared/data`` for
        the repository containing this module or the current directory, then the system paths.
    checksums : mapping, optional
        Per-file override of the accepted SHA-256 (None: do not verify that file).

    Returns
    -------
    X : numpy.ndarray
        ``float32`` array of shape ``(10000, 1, 28, 28)`` in ``[0, 1]``.
    y : numpy.ndarray
        ``int64`` labels in ``0..9``.

    Raises
    ------
    FileNotFoundError
        The sample was not found; the message lists where it looked.
    ValueError
        A file does not match the ``SHA256SUMS`` of the shared data (or the built-in checksum
        when no ``SHA256SUMS`` is present) or is corrupt.
    """
    checksums = _check_checksums_arg(checksums)
    candidates = _search_dirs((_SAMPLE_DIRNAME,), root)
    found = next((d for d in candidates if all((d / n).is_file() for n in _SAMPLE_FILES)), None)
    if found is None:
        looked = "\n".join([_describe(d, _SAMPLE_FILES) for d in candidates] + _shared_note(root)) or "  (nowhere)"
        raise FileNotFoundError(
            f"MNIST sample not found (it is not downloadable: `bionn data fetch mnist-sample` says where it "
            f"comes from): need {', '.join(_SAMPLE_FILES)}. Looked in:\n{looked}\n"
            f"The sample lives in the project's shared data, in shared/data/{_SAMPLE_DIRNAME}/ "
            f"next to the repository (../shared/data). Set the environment variable "
            f"{DATA_ENV} to the shared data directory, or pass root=<that directory or "
            f"{_SAMPLE_DIRNAME}/>."
        )
    expected: Dict[str, Tuple] = {}
    hints: Dict[str, str] = {}
    for n in _SAMPLE_FILES:
        path = found / n
        hints[n] = f"Delete {path} and restore the shared data from its source (see {found / 'SOURCE.md'})."
        if checksums is not None and n in checksums:
            expected[n] = (_coerce_hashes(checksums[n], f"checksums[{n!r}]"), None)
            continue
        entry = _sha256sums_entry(path)
        if entry is not None:
            expected[n] = ((entry[0],), None)
            hints[n] += f" Checksum from {entry[1]}."
        else:
            expected[n] = (SHA256["mnist-sample-10k"][n], None)
    return _load_idx_pair(found / _SAMPLE_FILES[0], found / _SAMPLE_FILES[1], expected, "MNIST sample", hints)
