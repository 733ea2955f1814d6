"""The data sets bionn knows, and the functions behind ``bionn data list | fetch | verify``.

=========================  =============  ==================================================
name (aliases)             downloadable   what
=========================  =============  ==================================================
``mnist``                  yes            the official MNIST split (4 IDX ``.gz`` files)
``fashion-mnist``          yes            the official Fashion-MNIST split (4 IDX ``.gz``)
(``fmnist``, ``fashion``)
``cifar-10`` (``cifar10``) yes            ``cifar-10-binary.tar.gz`` (read without extracting)
``mnist-sample``           no             the project's 10,000-digit MNIST sample (shared data)
``amplifying-regression``  no             the amplifying-neuron paper's training points (CSV)
=========================  =============  ==================================================

:func:`fetch` downloads a data set into the loaders' download cache (``~/.cache/bionn/<name>``,
honouring ``$XDG_CACHE_HOME``), where every loader finds it without further settings, or into
``<root>/<name>/`` (then pass ``root=`` to the loaders or set ``$BIONN_DATA=<root>``). Every file
is SHA-256 verified (:data:`bionn.data.SHA256`), written atomically, and an interrupted download
resumes where it stopped (HTTP ``Range``). Files come from :data:`bionn.data.MIRRORS`, or from a
mirror of the whole collection laid out like a data directory, ``<mirror>/<name>/<file>``, given
as ``mirror=`` or in ``$BIONN_DATA_MIRROR`` (an ``http(s)://`` or ``file://`` URL).

:func:`verify` finds each data set where its loader would (:func:`bionn.data.locate`'s search
order, then the download cache) and checks every file against ``SHA256SUMS`` beside it, the
built-in checksums, or -- for extracted CIFAR-10 batches, which have no published checksum -- their
structure.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ._files import (
    CONTENT_SHA256,
    SHA256,
    ChecksumError,
    PathLike,
    _as_path,
    _download_from_mirrors,
    _resolve_cache_dir,
    _search_dirs,
    _sha256sums_entry,
    _Spec,
    sha256_file,
)
from .cifar10 import _BIN_DIR, _BIN_FILES, _CIFAR10, _CIFAR_TARBALL, _PY_DIR, _PY_FILES, read_cifar10_batch
from .mnist import _FASHION, _MNIST

__all__ = [
    "DatasetInfo",
    "DATASETS",
    "MIRROR_ENV",
    "NotDownloadable",
    "VerifyResult",
    "dataset_info",
    "fetchable_name",
    "fetch",
    "find",
    "verify",
]

#: Environment variable naming a mirror of the whole collection (``<mirror>/<name>/<file>``).
MIRROR_ENV = "BIONN_DATA_MIRROR"

_IDX = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class NotDownloadable(LookupError):
    """The data set has no public download (it comes with the project's shared data)."""


@dataclass(frozen=True)
class DatasetInfo:
    """A data set bionn knows.

    Attributes
    ----------
    name : str
        The name ``bionn data`` takes (and the download-cache folder).
    title : str
    description : str
    files : tuple of str
        The files :func:`fetch` downloads and :func:`verify` checks.
    folders : tuple of str
        Folder names tried in every search base (see :func:`bionn.data.locate`).
    aliases : tuple of str
        Other accepted names (those the paper modules use, e.g. ``"cifar10"``).
    downloadable : bool
    size_mb : float
        Approximate download size.
    loader : str
        The :mod:`bionn.data` function that loads it.
    source : str
        Where it comes from (the download page, or how the shared data is obtained).
    """

    name: str
    title: str
    description: str
    files: Tuple[str, ...]
    folders: Tuple[str, ...]
    aliases: Tuple[str, ...]
    downloadable: bool
    size_mb: float
    loader: str
    source: str
    spec: Optional[_Spec] = None


_SHARED_SOURCE = (
    "the project's shared data (a 'shared/data' folder next to the repository, found automatically from a "
    "checkout; elsewhere set BIONN_DATA to a directory holding {folder}/); it is not published for download"
)

DATASETS: Dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            "mnist",
            "MNIST",
            "the official MNIST split, 60,000 train + 10,000 test digits",
            _IDX,
            _MNIST.subdirs,
            ("MNIST",),
            True,
            11.1,
            "load_mnist",
            "https://yann.lecun.com/exdb/mnist/ (mirrors in bionn.data.MIRRORS['mnist'])",
            _MNIST,
        ),
        DatasetInfo(
            "fashion-mnist",
            "Fashion-MNIST",
            "the official Fashion-MNIST split, 60,000 train + 10,000 test images",
            _IDX,
            _FASHION.subdirs,
            ("fmnist", "fashion", "fashion_mnist", "FashionMNIST"),
            True,
            29.5,
            "load_fashion_mnist",
            "https://github.com/zalandoresearch/fashion-mnist (also Debian's dataset-fashion-mnist)",
            _FASHION,
        ),
        DatasetInfo(
            "cifar-10",
            "CIFAR-10",
            "CIFAR-10, binary version (the tarball is read without extracting it)",
            (_CIFAR_TARBALL,),
            _CIFAR10.subdirs,
            ("cifar10", "cifar", "CIFAR-10"),
            True,
            162.2,
            "load_cifar10",
            "https://www.cs.toronto.edu/~kriz/cifar.html",
            _CIFAR10,
        ),
        DatasetInfo(
            "mnist-sample",
            "MNIST sample",
            "the project's 10,000-digit MNIST sample (not an official split)",
            ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"),
            ("mnist-sample-10k",),
            ("mnist-sample-10k", "mnist_sample"),
            False,
            1.6,
            "load_mnist_sample",
            _SHARED_SOURCE.format(folder="mnist-sample-10k"),
        ),
        DatasetInfo(
            "amplifying-regression",
            "amplifying-neuron regression points",
            "the amplifying-neuron paper's training sets (1-D function, 2-D Ackley), CSV",
            ("function1d_train.csv", "ackley2d_train.csv"),
            ("amplifying-regression",),
            ("amplifying-points",),
            False,
            0.03,
            "bionn.papers.amplifying",
            _SHARED_SOURCE.format(folder="amplifying-regression"),
        ),
    )
}


def _checksum_key(info: DatasetInfo) -> str:
    return info.spec.key if info.spec is not None else info.folders[0]


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name`` (a name of :data:`DATASETS` or an alias).

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    key = name.strip()
    if key in DATASETS:
        return DATASETS[key]
    for info in DATASETS.values():
        if key.lower() in (a.lower() for a in (info.name, *info.aliases)):
            return info
    raise ValueError(f"unknown data set {name!r}; known data sets: {', '.join(DATASETS)}")


def fetchable_name(dataset: Optional[str]) -> Optional[str]:
    """The :data:`DATASETS` name of a claim's data set (``ClaimSkipped.dataset``, e.g.
    ``"cifar10"`` -> ``"cifar-10"``) when it can be downloaded, else None."""
    if not dataset:
        return None
    try:
        info = dataset_info(dataset)
    except ValueError:
        return None
    return info.name if info.downloadable else None


# ------------------------------------------------------------------------------------------------
# where a data set is
# ------------------------------------------------------------------------------------------------


def _layout(info: DatasetInfo, d: Path) -> Optional[List[Path]]:
    """The files of ``info`` in directory ``d`` (the complete set the loader would read), or None."""
    if info.name == "cifar-10":
        if (d / _CIFAR_TARBALL).is_file():
            return [d / _CIFAR_TARBALL]
        for sub, names in ((_BIN_DIR, _BIN_FILES), (_PY_DIR, _PY_FILES)):
            for bd in (d / sub, d):
                paths = [bd / n for part in ("train", "test") for n in names[part]]
                if all(p.is_file() for p in paths):
                    return paths
        return None
    paths = [d / n for n in info.files]
    return paths if all(p.is_file() for p in paths) else None


def _candidates(info: DatasetInfo, root: Optional[PathLike]) -> List[Path]:
    dirs = _search_dirs(info.folders, root)
    if info.spec is not None:
        cache = _resolve_cache_dir(info.spec, None)
        if cache not in dirs:
            dirs.append(cache)
    return dirs


def find(name: str, root: Optional[PathLike] = None) -> Optional[Path]:
    """The directory the loader of ``name`` would read (the search order of
    :func:`bionn.data.locate`, then the download cache), or None when the data set is absent."""
    info = dataset_info(name)
    return next((d for d in _candidates(info, root) if _layout(info, d) is not None), None)


# ------------------------------------------------------------------------------------------------
# verify
# ------------------------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    """What :func:`verify` found for one data set.

    ``status`` is ``"ok"`` (every file passes), ``"bad"`` (some file fails: ``problems`` says
    which and why) or ``"missing"`` (not found; ``where`` is None).
    """

    name: str
    status: str
    where: Optional[Path]
    checked: List[str]
    problems: List[str]

    def to_dict(self) -> Dict[str, Any]:
        return dict(
            name=self.name,
            status=self.status,
            where=None if self.where is None else str(self.where),
            checked=list(self.checked),
            problems=list(self.problems),
        )


def _gunzip_sha256(path: Path) -> Optional[str]:
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except (OSError, EOFError):
        return None
    return h.hexdigest()


def _check_file(info: DatasetInfo, path: Path) -> Tuple[Optional[str], str]:
    """(problem or None, how it was checked) for one file."""
    entry = _sha256sums_entry(path)
    if entry is not None:
        got = sha256_file(path)
        if got != entry[0]:
            return f"{path}: SHA-256 {got} differs from {entry[1]} ({entry[0]})", "SHA256SUMS"
        return None, f"SHA256SUMS ({entry[1]})"
    key = _checksum_key(info)
    accepted = SHA256.get(key, {}).get(path.name)
    content = CONTENT_SHA256.get(key, {}).get(path.name)
    if accepted is None and content is None:
        try:
            read_cifar10_batch(path)
        except ValueError as exc:
            return f"{path}: {str(exc).splitlines()[0]}", "structure"
        return None, "structure (no published checksum)"
    got = sha256_file(path)
    if accepted is not None and got in accepted:
        return None, "SHA-256"
    if content is not None and _gunzip_sha256(path) in content:
        return None, "SHA-256 of the decompressed content"
    return f"{path}: SHA-256 {got} is not an accepted checksum of the official file", "SHA-256"


def verify(names: Optional[Sequence[str]] = None, root: Optional[PathLike] = None) -> List[VerifyResult]:
    """Check the data sets ``names`` (default: all of :data:`DATASETS`) where their loaders would
    find them.

    Parameters
    ----------
    names : sequence of str, optional
        Data set names or aliases.
    root : str or os.PathLike, optional
        Look only in ``root`` (as the loaders' ``root=``) and the download cache.

    Returns
    -------
    list of VerifyResult
    """
    if isinstance(names, str):
        names = [names]
    infos = [dataset_info(n) for n in names] if names else list(DATASETS.values())
    results = []
    for info in infos:
        where = find(info.name, root)
        if where is None:
            results.append(VerifyResult(info.name, "missing", None, [], []))
            continue
        problems, checked = [], []
        for path in _layout(info, where) or []:
            problem, how = _check_file(info, path)
            checked.append(f"{path.name}: {how}")
            if problem:
                problems.append(problem)
        results.append(VerifyResult(info.name, "bad" if problems else "ok", where, checked, problems))
    return results


# ------------------------------------------------------------------------------------------------
# fetch
# ------------------------------------------------------------------------------------------------


def _mirror_bases(info: DatasetInfo, mirror: Optional[str]) -> Optional[Tuple[str, ...]]:
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    if mirror is None:
        return None  # the official MIRRORS
    if not isinstance(mirror, str) or not mirror.strip():
        raise ValueError(f"mirror must be a non-empty URL, got {mirror!r}")
    return (mirror.rstrip("/") + "/" + info.name + "/",)


def _tqdm_progress(desc: str) -> Tuple[Callable[[int, Optional[int]], None], Callable[[], None]]:
    """A byte progress bar on stderr (tqdm; hidden when stderr is not a terminal)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency of the CLI's progress bars
        return (lambda received, total: None), (lambda: None)
    bar = tqdm(desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, disable=None, leave=False)

    def update(received: int, total: Optional[int]) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(received - bar.n)

    return update, bar.close


def fetch(
    name: str,
    root: Optional[PathLike] = None,
    *,
    mirror: Optional[str] = None,
    force: bool = False,
    progress: bool = False,
    on_file: Optional[Callable[[str, str], None]] = None,
) -> Path:
    """Download the data set ``name`` (SHA-256 verified, atomic, resumable) unless it is present.

    Parameters
    ----------
    name : str
        A downloadable data set of :data:`DATASETS` (or an alias).
    root : str or os.PathLike, optional
        Download into ``root/<name>/`` (the loaders find it with ``root=root`` or
        ``$BIONN_DATA=root``). Default: the loaders' download cache, ``~/.cache/bionn/<name>``.
    mirror : str, optional
        Base URL of a mirror laid out as ``<mirror>/<name>/<file>`` (default ``$BIONN_DATA_MIRROR``,
        else the official sources of :data:`bionn.data.MIRRORS`).
    force : bool, optional
        Download even when verified copies are already found (they are replaced only once the
        new download verifies).
    progress : bool, optional
        Show a byte progress bar per file on stderr (when it is a terminal).
    on_file : callable, optional
        Called as ``on_file(filename, status)`` per file, status ``"present"`` or ``"downloaded"``.

    Returns
    -------
    pathlib.Path
        The directory holding the data set: where it already was (without ``force``) or where it
        was downloaded to.

    Raises
    ------
    ValueError
        Unknown name.
    NotDownloadable
        The data set has no public download (the message says where it comes from).
    ChecksumError
        A download does not match its checksum (nothing is written).
    ConnectionError
        No source could be reached (partial downloads are kept and resumed next time).
    """
    info = dataset_info(name)
    if not info.downloadable:
        where = find(info.name, root)
        raise NotDownloadable(
            f"{info.title} ({info.name}) cannot be downloaded: it comes with {info.source}."
            + (f" It is present here, in {where}." if where else " It was not found on this machine.")
        )
    spec = info.spec
    assert spec is not None
    dest = _as_path(root, "root") / info.name if root is not None else _resolve_cache_dir(spec, None)
    if not force:
        # With root=: the target only; otherwise wherever the loader would look (e.g. Debian's copy).
        found = _find_verified(info, [dest] if root is not None else _candidates(info, None), dest)
        if found is not None:
            for f in info.files:
                if on_file is not None:
                    on_file(f, "present")
            return found
    bases = _mirror_bases(info, mirror)
    key = _checksum_key(info)
    for f in info.files:
        target = dest / f
        expected = SHA256.get(key, {}).get(f)
        if not force and target.is_file() and _check_file(info, target)[0] is None:
            status = "present"
        else:
            update, close = _tqdm_progress(f) if progress else ((lambda received, total: None), lambda: None)
            try:
                _download_from_mirrors(spec, f, dest, bases, expected, resume=True, progress=update, overwrite=force)
            finally:
                close()
            status = "downloaded"
        if on_file is not None:
            on_file(f, status)
    return dest


def _find_verified(info: DatasetInfo, dirs: Sequence[Path], dest: Path) -> Optional[Path]:
    """The first directory of ``dirs`` holding the data set if it verifies; None when there is none
    or when the bad copy is ``dest`` (the download replaces it)."""
    for d in dirs:
        paths = _layout(info, d)
        if paths is None:
            continue
        problems = [p for p in (_check_file(info, path)[0] for path in paths) if p]
        if not problems:
            return d
        if d == dest:
            return None
        raise ChecksumError(
            f"{info.title} is present in {d} but fails its checks, and the loaders read that copy first:\n  "
            + "\n  ".join(problems)
            + f"\nDelete or repair it (see `bionn data verify {info.name}`), then run the fetch again."
        )
    return None
