"""Where data files are, and whether they are intact: the one lookup, checksums and downloads.

Lookup (:func:`locate`, used by every loader in :mod:`bionn.data` and by the paper modules)
--------------------------------------------------------------------------------------------
A data set ``name`` is a folder of files. The search bases are, in this order:

1. ``root=`` if given -- and then *only* ``root``;
2. otherwise ``$BIONN_DATA``; then the deprecated ``$BIONN_SHARED_DATA`` (read for one more
   release, with a :class:`DeprecationWarning`: set ``BIONN_DATA`` instead); then the project's
   shared data, every ``<dir>/shared/data`` folder above this package and above the current
   directory (``<repo>/../shared/data`` for a checkout, whatever its depth); then the system-wide
   :data:`SYSTEM_DATA_DIRS` (Debian's ``/usr/share/datasets``).

In every base, ``<base>/<name>/`` is tried before ``<base>`` itself. The official loaders then
try their download cache (``~/.cache/bionn/<dataset>``, honouring ``$XDG_CACHE_HOME``).

Integrity
---------
:data:`SHA256` / :data:`CONTENT_SHA256` hold the accepted SHA-256 of the official files; a
``SHA256SUMS`` file next to a data set (as in the shared data) takes precedence where a loader
reads it. :func:`download_file` streams into a temporary file and moves it into place only once
its hash is verified.
"""

from __future__ import annotations

import hashlib
import http.client
import numbers
import os
import secrets
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import check_int
from ..io import open_regular

__all__ = [
    "locate",
    "download_file",
    "sha256_file",
    "ChecksumError",
    "MIRRORS",
    "SHA256",
    "CONTENT_SHA256",
    "DATA_ENV",
    "SYSTEM_DATA_DIRS",
]

PathLike = Union[str, "os.PathLike[str]"]
HashSpec = Union[str, Sequence[str], None]

#: The environment variable naming a data directory searched before the defaults.
DATA_ENV = "BIONN_DATA"
#: Deprecated alias of :data:`DATA_ENV` (the former variable for the project's shared data).
_DEPRECATED_ENV = "BIONN_SHARED_DATA"
#: System-wide data directories, searched last (``<dir>/<name>/``, then ``<dir>``).
SYSTEM_DATA_DIRS: Tuple[str, ...] = ("/usr/share/datasets",)
_USER_AGENT = "bionn-datasets/0.1 (+urllib)"

# --------------------------------------------------------------------------------------------
# Canonical sources and checksums
# --------------------------------------------------------------------------------------------

#: Base URLs tried in order by ``download=True`` (override per call with ``base_url=``).
MIRRORS: Dict[str, Tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's primary mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
        "http://yann.lecun.com/exdb/mnist/",  # original (often unavailable)
    ),
    "fashion-mnist": (
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar-10": ("https://www.cs.toronto.edu/~kriz/",),
}

#: Accepted SHA-256 of whole files, per dataset and file name. Files not listed are not verified
#: (their official hash is not known with certainty), unless a ``checksums=`` override names them.
#:
#: * MNIST: the SHA-256 of the four official files (identical on all mirrors).
#: * Fashion-MNIST: the SHA-256 of the four official files (their MD5 match the MD5 published in the
#:   Zalando README), plus the SHA-256 of the copies shipped by Debian's ``dataset-fashion-mnist``
#:   (0.0~git20200523.55506a9-1). Debian's build normalised the gzip headers (file name dropped,
#:   mtime set), so the compressed files differ although the compressed streams and the data are
#:   the same; :data:`CONTENT_SHA256` also accepts any re-packing with the official content.
#: * CIFAR-10: the SHA-256 of the official ``cifar-10-binary.tar.gz`` (its MD5,
#:   ``c32a1d4ab5d03f1284b67883e8d87530``, is the one published on the CIFAR page). The per-batch
#:   files have no published checksum, so extracted batches are checked structurally only.
#: * mnist-sample-10k, amplifying-regression: as listed in the shared ``SHA256SUMS`` (which takes
#:   precedence when present).
SHA256: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # official
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # Debian
        ),
        "train-labels-idx1-ubyte.gz": (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
    },
    "cifar-10": {
        "cifar-10-binary.tar.gz": ("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",),
    },
    "mnist-sample-10k": {
        "images-idx3-ubyte.gz": ("6a946977e2d18a1d30309689d66c4a726f8947ebf1e28ac8cf29e77944f37acd",),
        "labels-idx1-ubyte.gz": ("3c9febfe37133a546879f8509a79abfa06824c3e027ef4d575f43837e1017952",),
    },
    "amplifying-regression": {
        "function1d_train.csv": ("1df21102d1edc18111f7ec5826f6205e02120dcc6f3c80ae81c8437f529614b5",),
        "ackley2d_train.csv": ("6220f66c21213d23d9df269481d357209e8d51ce598a694f3f35562e56008a9e",),
    },
}

#: SHA-256 of the *decompressed* IDX payload, accepted when the compressed file's hash is not in
#: :data:`SHA256` (e.g. a re-compressed copy). Computed from the Debian Fashion-MNIST files, whose
#: deflate streams are those of the official files (only the gzip header differs).
CONTENT_SHA256: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",),
        "train-labels-idx1-ubyte.gz": ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",),
        "t10k-images-idx3-ubyte.gz": ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",),
        "t10k-labels-idx1-ubyte.gz": ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",),
    },
}


class ChecksumError(ValueError):
    """A file's SHA-256 does not match any accepted checksum (subclass of :class:`ValueError`)."""


class _Spec(NamedTuple):
    """An official data set, as the loaders and their messages need it."""

    key: str  # table key and default cache sub-directory
    title: str  # human-readable name
    func: str  # public loader name, for messages
    subdirs: Tuple[str, ...]  # folder names tried in every search base
    package: Optional[str] = None  # Debian package installing it under SYSTEM_DATA_DIRS


# --------------------------------------------------------------------------------------------
# The lookup
# --------------------------------------------------------------------------------------------


def _as_path(value, argname: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{argname} must be a str or os.PathLike, got {type(value).__name__}")
    return Path(value).expanduser()


def _anchors() -> List[Path]:
    anchors = [Path(__file__).resolve().parent]
    try:
        anchors.append(Path.cwd())
    except OSError:  # the current directory was deleted
        pass
    return anchors


def _shared_data_dirs() -> List[Path]:
    """Every existing ``<dir>/shared/data`` above this package and above the current directory,
    nearest first (``<repo>/../shared/data`` for a checkout or a deeper git worktree)."""
    out: List[Path] = []
    for anchor in _anchors():
        for a in (anchor, *anchor.parents):
            d = a / "shared" / "data"
            if d not in out and d.is_dir():
                out.append(d)
    return out


def _search_bases(root=None) -> List[Tuple[Path, str]]:
    """The search bases with where each comes from, in lookup order (see the module docstring)."""
    if root is not None:
        return [(_as_path(root, "root"), "root=")]
    bases: List[Tuple[Path, str]] = []
    env = os.environ.get(DATA_ENV)
    if env:
        bases.append((Path(env).expanduser(), f"${DATA_ENV}"))
    old = os.environ.get(_DEPRECATED_ENV)
    if old:
        warnings.warn(
            f"the environment variable {_DEPRECATED_ENV} is deprecated and will be "
            f"ignored in the next release; set {DATA_ENV}={old} instead",
            DeprecationWarning,
            stacklevel=4,
        )
        bases.append((Path(old).expanduser(), f"${_DEPRECATED_ENV} (deprecated)"))
    bases.extend((d, "shared data") for d in _shared_data_dirs())
    bases.extend((Path(d), "system") for d in SYSTEM_DATA_DIRS)
    seen, unique = set(), []
    for b, origin in bases:
        if b not in seen:
            seen.add(b)
            unique.append((b, origin))
    return unique


def _search_dirs(subdirs: Sequence[str], root=None) -> List[Path]:
    """Candidate directories: in every search base, ``<base>/<sub>`` for each of ``subdirs``, then
    ``<base>`` itself."""
    dirs: List[Path] = []
    for base, _ in _search_bases(root):
        for d in (*(base / s for s in subdirs), base):
            if d not in dirs:
                dirs.append(d)
    return dirs


def _describe(d: Path, names: Sequence[str]) -> str:
    if not d.is_dir():
        return f"  - {d}  (no such directory)"
    missing = [n for n in names if not (d / n).is_file()]
    return f"  - {d}  (missing {', '.join(missing)})" if missing else f"  - {d}"


def _shared_note(root) -> List[str]:
    """A 'looked in' line for the shared data when no ``shared/data`` folder was found."""
    if root is not None or _shared_data_dirs():
        return []
    return [f"  - <repo>/../shared/data  (no shared/data folder above {' or '.join(map(str, _anchors()))})"]


def _how_to_fix(name: str) -> str:
    return (
        f"  - put the files in a directory DIR (as DIR/{name}/ or directly in DIR) and pass "
        f"root=DIR, or set the environment variable {DATA_ENV}=DIR"
    )


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"name must be a relative folder name without '..', got {name!r}")
    return name


def locate(name: str, files: Sequence[str] = (), root: Optional[PathLike] = None) -> Path:
    """The directory holding the data set ``name``: the first of ``<base>/<name>`` and ``<base>``,
    for each search base in turn, that contains all of ``files``.

    Search bases: ``root`` if given (and nothing else); otherwise ``$BIONN_DATA``, the deprecated
    ``$BIONN_SHARED_DATA``, the project's shared data (``<dir>/shared/data`` above this package or
    the current directory, i.e. ``<repo>/../shared/data``), then :data:`SYSTEM_DATA_DIRS`.

    Parameters
    ----------
    name : str
        The data set's folder name, e.g. ``"mnist-sample-10k"`` or ``"amplifying-regression"``.
    files : sequence of str, optional
        File names (relative paths) that must all exist in the directory. When empty, only a
        directory ``<base>/<name>`` matches (never a bare base).
    root : str or os.PathLike, optional
        Search only here (the ``<name>`` folder itself or its parent).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        No candidate holds the files; the message lists every place looked in and how to fix it
        (``root=...`` or ``$BIONN_DATA``).
    """
    name = _check_name(name)
    if isinstance(files, str):
        files = (files,)
    if not isinstance(files, (list, tuple)):
        raise TypeError(f"files must be a sequence of file names (str), got {type(files).__name__}")
    files = tuple(files)
    if not all(isinstance(f, str) and f for f in files):
        raise TypeError(f"files must be a sequence of file names (str), got {files!r}")
    if files:
        candidates = _search_dirs((name,), root)
        found = next((d for d in candidates if all((d / f).is_file() for f in files)), None)
    else:
        candidates = [base / name for base, _ in _search_bases(root)]
        found = next((d for d in candidates if d.is_dir()), None)
    if found is not None:
        return found
    need = f"files {', '.join(files)}" if files else f"a folder {name}/"
    lines = [
        f"data set {name!r} not found: need {need}.",
        "Looked in:",
        *(_describe(d, files) for d in candidates),
        *_shared_note(root),
        "To fix:",
        _how_to_fix(name),
    ]
    if root is None:
        lines.append(
            f"  - the project's shared data, <repo>/../shared/data/{name}/, is found "
            f"automatically from a checkout (or from the current directory)"
        )
    raise FileNotFoundError("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Checksums and downloads
# --------------------------------------------------------------------------------------------


def sha256_file(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, as a lowercase hex string.

    Parameters
    ----------
    path : str or os.PathLike
        File to hash.
    chunk_size : int, optional
        Bytes read at a time.

    Returns
    -------
    str
        64 lowercase hexadecimal digits.
    """
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1, maximum=1 << 30)
    h = hashlib.sha256()
    with open_regular(path, "file") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def _coerce_hashes(value: HashSpec, argname: str) -> Optional[Tuple[str, ...]]:
    """Normalise a checksum spec (one hex string, several, or None) to a tuple or None."""
    if value is None:
        return None
    values: Iterable = (value,) if isinstance(value, str) else value
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(
            f"{argname} must be a SHA-256 hex string, a sequence of them, or None; got {type(value).__name__}"
        ) from None
    out = []
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"{argname} must contain hex strings; got {type(v).__name__}")
        v = v.strip().lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError(f"{argname}: {v!r} is not a SHA-256 digest (64 hex digits)")
        out.append(v)
    if not out:
        raise ValueError(f"{argname} is empty; pass None to skip verification")
    return tuple(out)


def _check_checksums_arg(checksums) -> Optional[Mapping[str, HashSpec]]:
    if checksums is None:
        return None
    if not isinstance(checksums, Mapping):
        raise TypeError(
            f"checksums must be a mapping of file name -> SHA-256 (or None), got {type(checksums).__name__}"
        )
    for k, v in checksums.items():
        if not isinstance(k, str):
            raise TypeError(f"checksums keys must be file names (str), got {k!r}")
        _coerce_hashes(v, f"checksums[{k!r}]")
    return checksums


def _expected_for(
    spec_key: str, filename: str, checksums: Optional[Mapping[str, HashSpec]]
) -> Tuple[Optional[Tuple[str, ...]], Optional[Tuple[str, ...]]]:
    """(accepted file hashes, accepted content hashes) for a file; (None, None) = unverified."""
    if checksums is not None and filename in checksums:
        return _coerce_hashes(checksums[filename], f"checksums[{filename!r}]"), None
    return SHA256.get(spec_key, {}).get(filename), CONTENT_SHA256.get(spec_key, {}).get(filename)


def _sha256sums_entry(path: Path) -> Optional[Tuple[str, Path]]:
    """Expected hash of ``path`` from a ``SHA256SUMS`` in its directory or the one above."""
    target = path.resolve()
    for d in (path.parent, path.parent.parent):
        sums = d / "SHA256SUMS"
        if not sums.is_file():
            continue
        for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                continue
            digest, name = parts[0].lower(), parts[1].lstrip("*").strip()
            if (d / name).resolve() == target:
                return digest, sums
    return None


def _mismatch(path: Path, got: str, expected: Sequence[str], what: str, hint: str) -> ChecksumError:
    return ChecksumError(
        f"{path}: SHA-256 mismatch (got {got}, expected "
        f"{' or '.join(expected)}). The file is corrupt, truncated or not the "
        f"official {what} file. {hint}"
    )


def _verify_file_hash(path: Path, expected: Optional[Tuple[str, ...]], what: str, hint: str) -> None:
    if expected is None:
        return
    got = sha256_file(path)
    if got not in expected:
        raise _mismatch(path, got, expected, what, hint)


#: ``progress(received, total)``: bytes received so far and the total size (None when unknown).
ProgressFn = Callable[[int, Optional[int]], None]


def download_file(
    url: str,
    dest: PathLike,
    sha256: HashSpec = None,
    *,
    timeout: float = 60.0,
    overwrite: bool = False,
    resume: bool = False,
    progress: Optional[ProgressFn] = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying its SHA-256.

    The response is streamed into a temporary file in ``dest``'s directory while being hashed;
    only if the hash matches is the temporary file moved onto ``dest`` with :func:`os.replace`,
    so ``dest`` never holds a partial or unverified download. An existing ``dest`` whose hash
    matches (or any existing ``dest`` when ``sha256`` is None) is kept and not downloaded again.

    Parameters
    ----------
    url : str
        ``http://``, ``https://`` or ``file://`` URL.
    dest : str or os.PathLike
        Destination file; its directory is created if needed.
    sha256 : str or sequence of str or None, optional
        Accepted SHA-256 hex digest(s). None skips verification.
    timeout : float, optional
        Socket timeout in seconds.
    overwrite : bool, optional
        Download again even if ``dest`` exists and verifies.
    resume : bool, optional
        Keep an interrupted download in ``.<name>.part`` beside ``dest`` and continue it next time
        with an HTTP ``Range`` request (a server that ignores ``Range`` sends the whole file, which
        then replaces the partial one). The partial file is locked while it is written (POSIX), so
        two processes never write it at once; it is deleted when the finished download fails its
        checksum. Without ``resume`` a failed download leaves nothing behind.
    progress : callable, optional
        Called as ``progress(received, total)`` as the data arrives (``total`` None when the
        server does not say).

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ChecksumError
        The downloaded data does not match ``sha256`` (nothing is written to ``dest``).
    OSError
        Network or file-system errors (:class:`urllib.error.URLError` is an ``OSError``); with
        ``resume``, also when another process is downloading the same file.
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ValueError(f"url: unsupported scheme {scheme!r} in {url!r} (use http, https or file)")
    dest = _as_path(dest, "dest")
    expected = _coerce_hashes(sha256, "sha256")
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number, got {timeout!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable(received, total) or None, got {type(progress).__name__}")
    report = progress or (lambda received, total: None)

    if dest.exists() and not overwrite:
        if expected is None or sha256_file(dest) in expected:
            return dest
        # Existing file is bad: fall through and replace it (atomically, only once verified).

    dest.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        from ._resume import download_resumable

        return download_resumable(url, scheme, dest, expected, timeout, report, _USER_AGENT, _download_mismatch)
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part"
    # os.open with 0o666 honours the umask (mkstemp would leave the final file at 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        h = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            # A fresh opener reads the proxy settings of the environment at call time.
            opener = urllib.request.build_opener()
            with opener.open(request, timeout=timeout) as response:
                length = response.headers.get("Content-Length") if scheme != "file" else None
                total = int(length) if length is not None and length.isdigit() else None
                report(0, total)
                for block in iter(lambda: response.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
                    received += len(block)
                    report(received, total)
            if total is not None and total != received:
                raise OSError(f"download of {url} was truncated: received {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if expected is not None and got not in expected:
            raise _download_mismatch(url, got, expected, dest)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return dest


def _download_mismatch(url: str, got: str, expected: Sequence[str], dest: Path) -> ChecksumError:
    return ChecksumError(
        f"SHA-256 mismatch for {url}: got {got}, expected {' or '.join(expected)}. "
        f"The download is corrupt or the mirror serves a different file; nothing was "
        f"written to {dest}. Try again later or another mirror (base_url=...)."
    )


def _base_urls(spec: _Spec, base_url: Union[str, Sequence[str], None]) -> Tuple[str, ...]:
    if base_url is None:
        bases = MIRRORS.get(spec.key, ())
    elif isinstance(base_url, str):
        bases = (base_url,)
    else:
        bases = tuple(base_url)
        if not all(isinstance(b, str) for b in bases):
            raise TypeError("base_url must be a str or a sequence of str")
    if not bases:
        raise ValueError(f"no download mirror configured for {spec.title}; pass base_url=...")
    return tuple(b if b.endswith("/") else b + "/" for b in bases)


def _download_from_mirrors(
    spec: _Spec,
    filename: str,
    dest_dir: Path,
    base_url: Union[str, Sequence[str], None],
    expected: Optional[Tuple[str, ...]],
    *,
    resume: bool = False,
    progress: Optional[ProgressFn] = None,
    overwrite: bool = False,
) -> Path:
    errors: List[str] = []
    mismatch = False
    for base in _base_urls(spec, base_url):
        url = base + filename
        try:
            return download_file(
                url, dest_dir / filename, expected, resume=resume, progress=progress, overwrite=overwrite
            )
        except ChecksumError as exc:
            mismatch = True
            errors.append(f"  - {url}: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"  - {url}: {type(exc).__name__}: {exc}")
    msg = (
        f"could not download {spec.title} file {filename} into {dest_dir}:\n"
        + "\n".join(errors)
        + f"\nCheck your network connection, or download the file yourself and put it in "
        f"{dest_dir} (or in a directory given as root=... or ${DATA_ENV})."
    )
    if mismatch:
        raise ChecksumError(msg)
    raise ConnectionError(msg)


# --------------------------------------------------------------------------------------------
# Shared plumbing of the official loaders (split, cache, messages)
# --------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    with open_regular(path, "data file") as fh:  # a FIFO or device is refused, not waited on
        return fh.read()


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    out = images.astype(np.float32)
    out /= np.float32(255.0)
    return out


def _check_split(split) -> Tuple[str, ...]:
    if not isinstance(split, str):
        raise TypeError(f"split must be a str ('train', 'test' or 'all'), got {type(split).__name__}")
    if split == "all":
        return ("train", "test")
    if split in ("train", "test"):
        return (split,)
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


def _resolve_cache_dir(spec: _Spec, cache_dir) -> Path:
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base).expanduser() / "bionn" / spec.key
    return _as_path(cache_dir, "cache_dir")


def _candidate_dirs(spec: _Spec, root, cache: Path) -> List[Path]:
    """Where an official loader looks: the lookup's directories, then the download cache."""
    dirs = _search_dirs(spec.subdirs, root)
    return dirs + ([cache] if cache not in dirs else [])


def _not_found(
    spec: _Spec, names: Sequence[str], split: str, looked: Sequence[str], cache: Path, root
) -> FileNotFoundError:
    mirror = MIRRORS.get(spec.key, ("<no mirror>",))[0]
    lines = [
        f"{spec.title} {split} files not found (run `bionn data fetch {spec.key}` to download them): "
        f"need {', '.join(names)}.",
        "Looked in:",
        *looked,
        *_shared_note(root),
        "To fix, do one of:",
    ]
    if spec.package:
        lines.append(
            f"  - install the Debian package: sudo apt-get install {spec.package}  "
            f"(puts the files in /usr/share/datasets/{spec.subdirs[0]}/)"
        )
    lines += [
        f"  - run `bionn data fetch {spec.key}` (or `bionn reproduce ... --download`), or "
        f"call {spec.func}(..., download=True) to download them (SHA-256 verified) from {mirror} into {cache}",
        _how_to_fix(spec.subdirs[0]),
        f"  - or put them in the project's shared data, <repo>/../shared/data/{spec.subdirs[0]}/",
    ]
    return FileNotFoundError("\n".join(lines))


def _repair_hint(spec: _Spec, path: Path, cache: Path) -> str:
    hint = f"Delete {path} and download it again ({spec.func}(download=True) fetches verified copies into {cache})"
    if spec.package and any(str(path).startswith(d) for d in SYSTEM_DATA_DIRS):
        hint += f", or reinstall: sudo apt-get install --reinstall {spec.package}"
    return hint + "."


_LOADER_DOC = """Load {title} as ``(X, y)``.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Directory holding the files (in ``root/{sub}/`` or directly in ``root``). If None, the
        lookup of :func:`bionn.data.locate` applies: ``$BIONN_DATA/{sub}/`` and ``$BIONN_DATA``,
        the project's shared data (``<repo>/../shared/data/{sub}/``), then
        ``/usr/share/datasets/{sub}/``{extra}. The download cache (``cache_dir``) is searched last
        in every case.
    split : {{'train', 'test', 'all'}}, optional
        Official split to load; ``'all'`` is train followed by test.
    download : bool, optional
        Download missing files from :data:`MIRRORS` into ``cache_dir`` (SHA-256 verified,
        written atomically). Files already present and valid are not downloaded again.
    cache_dir : str or os.PathLike, optional
        Download cache, default ``~/.cache/bionn/{key}``.
    base_url : str or sequence of str, optional
        Download from these base URLs instead of :data:`MIRRORS` (e.g. a local mirror).
    checksums : mapping of str to (str or sequence of str or None), optional
        Per-file-name override of the accepted SHA-256 (None: do not verify that file).

    Returns
    -------
    X : numpy.ndarray
        ``float32`` images of shape ``{shape}``, values in ``[0, 1]``.
    y : numpy.ndarray
        ``int64`` labels in ``0..9``{classes}.

    Raises
    ------
    FileNotFoundError
        The files are in none of the searched places and ``download`` is False; the message lists
        where it looked and how to get the files.
    ValueError
        A file fails its SHA-256 check (:class:`ChecksumError`) or is corrupt / truncated; the
        message names the file and what to do.
    ConnectionError
        ``download=True`` and no mirror could be reached.
    """
