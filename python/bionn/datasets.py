"""Dataset loaders and NumPy data utilities.

Pure Python + NumPy (no compiled code, no dependency beyond NumPy and the standard library).

Loaders
-------
:func:`load_mnist`, :func:`load_fashion_mnist` and :func:`load_cifar10` return ``(X, y)`` with
images ``X`` of shape ``(N, C, H, W)``, dtype ``float32``, scaled to ``[0, 1]``, and integer labels
``y`` (``int64``). :func:`load_mnist_sample` loads the 10,000-digit MNIST sample shipped with the
project's shared data (``../shared/data/mnist-sample-10k`` next to the repository).

Files are looked up, in this order:

1. ``root=`` if given (in ``root/<dataset>/`` and in ``root`` itself), otherwise
   ``$BIONN_DATA`` (in ``$BIONN_DATA/<dataset>/`` and in ``$BIONN_DATA``) and, for Fashion-MNIST,
   the Debian location ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``);
2. the download cache (``cache_dir``, default ``~/.cache/bionn/<dataset>``, honouring
   ``$XDG_CACHE_HOME``), where ``download=True`` puts the files.

``<dataset>`` is ``mnist``, ``fashion-mnist`` or ``cifar-10`` (``MNIST/raw``, ``FashionMNIST/raw``
and ``cifar10`` as used by torchvision are accepted too). Every file whose official SHA-256 is known
(:data:`SHA256`) is verified before it is parsed.

Utilities
---------
:func:`train_val_split`, :func:`standardize`, :func:`one_hot`, :func:`subsample`, and vectorised
augmentation with an explicit random generator: :func:`random_horizontal_flip`,
:func:`random_crop`, :func:`random_translate`.
"""
from __future__ import annotations

import hashlib
import http.client
import numbers
import os
import secrets
import struct
import tarfile
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import (Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union)

import numpy as np

__all__ = [
    "load_mnist", "load_fashion_mnist", "load_cifar10", "load_mnist_sample",
    "read_idx", "read_cifar10_batch", "download_file", "sha256_file", "ChecksumError",
    "train_val_split", "standardize", "one_hot", "subsample",
    "random_horizontal_flip", "random_crop", "random_translate",
    "MIRRORS", "SHA256", "CONTENT_SHA256", "MNIST_CLASSES", "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

PathLike = Union[str, "os.PathLike[str]"]
HashSpec = Union[str, Sequence[str], None]
RngLike = Union[np.random.Generator, int, np.integer, np.random.SeedSequence]

# --------------------------------------------------------------------------------------------
# Canonical sources and checksums
# --------------------------------------------------------------------------------------------

#: Base URLs tried in order by ``download=True`` (override per call with ``base_url=``).
MIRRORS: Dict[str, Tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",        # torchvision's primary mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",   # TensorFlow's mirror
        "http://yann.lecun.com/exdb/mnist/",                     # original (often unavailable)
    ),
    "fashion-mnist": (
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar-10": (
        "https://www.cs.toronto.edu/~kriz/",
    ),
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
#:   ``.bin`` files have no published checksum, so extracted batches are checked structurally only.
#: * mnist-sample-10k: as listed in the shared ``SHA256SUMS`` (which takes precedence when present).
SHA256: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz":
            ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        "train-labels-idx1-ubyte.gz":
            ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        "t10k-images-idx3-ubyte.gz":
            ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        "t10k-labels-idx1-ubyte.gz":
            ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",   # official
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",   # Debian
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
        "cifar-10-binary.tar.gz":
            ("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",),
    },
    "mnist-sample-10k": {
        "images-idx3-ubyte.gz":
            ("6a946977e2d18a1d30309689d66c4a726f8947ebf1e28ac8cf29e77944f37acd",),
        "labels-idx1-ubyte.gz":
            ("3c9febfe37133a546879f8509a79abfa06824c3e027ef4d575f43837e1017952",),
    },
}

#: SHA-256 of the *decompressed* IDX payload, accepted when the compressed file's hash is not in
#: :data:`SHA256` (e.g. a re-compressed copy). Computed from the Debian Fashion-MNIST files, whose
#: deflate streams are those of the official files (only the gzip header differs).
CONTENT_SHA256: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",),
        "train-labels-idx1-ubyte.gz":
            ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",),
        "t10k-images-idx3-ubyte.gz":
            ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",),
        "t10k-labels-idx1-ubyte.gz":
            ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",),
    },
}

MNIST_CLASSES: Tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: Tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES: Tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

_IDX_FILES: Dict[str, Tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_CIFAR_TARBALL = "cifar-10-binary.tar.gz"
_CIFAR_DIR = "cifar-10-batches-bin"
_CIFAR_FILES: Dict[str, Tuple[str, ...]] = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
_CIFAR_RECORD = 1 + 3 * 32 * 32
_DEBIAN_FASHION_DIR = "/usr/share/datasets/fashion-mnist"
_DEBIAN_FASHION_PACKAGE = "dataset-fashion-mnist"
_SAMPLE_DIRNAME = "mnist-sample-10k"
_SAMPLE_FILES = ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")
_USER_AGENT = "bionn-datasets/0.1 (+urllib)"

# IDX type codes -> big-endian NumPy dtypes.
_IDX_DTYPES: Dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class ChecksumError(ValueError):
    """A file's SHA-256 does not match any accepted checksum (subclass of :class:`ValueError`)."""


class _Spec(NamedTuple):
    key: str                      # table key and default cache sub-directory
    title: str                    # human-readable name
    func: str                     # public loader name, for messages
    subdirs: Tuple[str, ...]      # sub-folders of root / $BIONN_DATA to look in
    system_dirs: Tuple[str, ...]  # system-wide locations (Debian)


_MNIST = _Spec("mnist", "MNIST", "load_mnist", ("mnist", "MNIST/raw"), ())
_FASHION = _Spec("fashion-mnist", "Fashion-MNIST", "load_fashion_mnist",
                 ("fashion-mnist", "FashionMNIST/raw"), (_DEBIAN_FASHION_DIR,))
_CIFAR10 = _Spec("cifar-10", "CIFAR-10", "load_cifar10", ("cifar-10", "cifar10"), ())


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
    h = hashlib.sha256()
    with open(path, "rb") as fh:
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
        raise TypeError(f"{argname} must be a SHA-256 hex string, a sequence of them, or None; "
                        f"got {type(value).__name__}") from None
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


def _as_path(value, argname: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{argname} must be a str or os.PathLike, got {type(value).__name__}")
    return Path(value).expanduser()


def download_file(url: str, dest: PathLike, sha256: HashSpec = None, *, timeout: float = 60.0,
                  overwrite: bool = False) -> Path:
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

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ChecksumError
        The downloaded data does not match ``sha256`` (nothing is written to ``dest``).
    OSError
        Network or file-system errors (:class:`urllib.error.URLError` is an ``OSError``).
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

    if dest.exists() and not overwrite:
        if expected is None or sha256_file(dest) in expected:
            return dest
        # Existing file is bad: fall through and replace it (atomically, only once verified).

    dest.parent.mkdir(parents=True, exist_ok=True)
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
                for block in iter(lambda: response.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
                    received += len(block)
            if length is not None and length.isdigit() and int(length) != received:
                raise OSError(f"download of {url} was truncated: received {received} of "
                              f"{length} bytes")
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if expected is not None and got not in expected:
            raise ChecksumError(
                f"SHA-256 mismatch for {url}: got {got}, expected {' or '.join(expected)}. "
                f"The download is corrupt or the mirror serves a different file; nothing was "
                f"written to {dest}. Try again later or another mirror (base_url=...).")
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return dest


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


def _download_from_mirrors(spec: _Spec, filename: str, dest_dir: Path,
                           base_url: Union[str, Sequence[str], None],
                           expected: Optional[Tuple[str, ...]]) -> Path:
    errors: List[str] = []
    mismatch = False
    for base in _base_urls(spec, base_url):
        url = base + filename
        try:
            return download_file(url, dest_dir / filename, expected)
        except ChecksumError as exc:
            mismatch = True
            errors.append(f"  - {url}: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"  - {url}: {type(exc).__name__}: {exc}")
    msg = (f"could not download {spec.title} file {filename} into {dest_dir}:\n"
           + "\n".join(errors)
           + f"\nCheck your network connection, or download the file yourself and put it in "
             f"{dest_dir} (or in a directory given as root=... or $BIONN_DATA).")
    if mismatch:
        raise ChecksumError(msg)
    raise ConnectionError(msg)


# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _gunzip(raw: bytes, source: str, hint: str) -> bytes:
    """Decompress (possibly multi-member) gzip data; zlib checks each member's CRC-32 and size.

    Faster than :func:`gzip.decompress` and strict: a truncated stream is an error.
    """
    chunks: List[bytes] = []
    rest = raw
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)
            chunks.append(d.decompress(rest))
            chunks.append(d.flush())
            if not d.eof:
                raise ValueError(f"{source}: truncated gzip data (the compressed stream ends "
                                 f"early). {hint}")
            rest = d.unused_data
            if rest[:2] != b"\x1f\x8b":
                if rest.strip(b"\x00"):
                    raise ValueError(f"{source}: {len(rest)} bytes of trailing garbage after the "
                                     f"gzip data. {hint}")
                break
    except zlib.error as exc:
        raise ValueError(f"{source}: corrupt gzip data ({exc}). {hint}") from None
    chunks = [c for c in chunks if c]
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _maybe_gunzip(raw: bytes, source: str, hint: str) -> bytes:
    if raw[:2] == b"\x1f\x8b":
        return _gunzip(raw, source, hint)
    if source.endswith(".gz"):
        raise ValueError(f"{source}: not a gzip file (bad gzip magic bytes {raw[:2]!r}). {hint}")
    return raw


def _parse_idx(data: bytes, source: str, hint: str, expected_dtype: Optional[np.dtype] = None,
               expected_ndim: Optional[int] = None) -> np.ndarray:
    """Parse uncompressed IDX bytes; returns a read-only view with the file's (big-endian) dtype."""
    if len(data) < 4:
        raise ValueError(f"{source}: file too short for an IDX header ({len(data)} bytes). {hint}")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{source}: bad IDX magic number 0x{data[:4].hex()} (the first two bytes "
                         f"must be zero); this is not an IDX file. {hint}")
    if code not in _IDX_DTYPES:
        raise ValueError(f"{source}: unknown IDX data-type code 0x{code:02x} (magic "
                         f"0x{data[:4].hex()}). {hint}")
    dtype = _IDX_DTYPES[code]
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions. {hint}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header ({len(data)} bytes, need {header}). "
                         f"{hint}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if expected_dtype is not None and dtype != np.dtype(expected_dtype).newbyteorder(">"):
        raise ValueError(f"{source}: IDX data type is {dtype.name}, expected "
                         f"{np.dtype(expected_dtype).name}. {hint}")
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{source}: IDX file has {ndim} dimensions {dims}, expected "
                         f"{expected_ndim}. {hint}")
    count = 1
    for d in dims:
        count *= d
    need = count * dtype.itemsize
    have = len(data) - header
    if have != need:
        what = "truncated" if have < need else "has trailing data"
        raise ValueError(f"{source}: payload is {have} bytes but the header dimensions {dims} "
                         f"require {need} bytes (file {what}). {hint}")
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)


_GENERIC_HINT = "Delete the file and obtain a fresh copy of it."


def read_idx(path: PathLike, *, expected_dtype=None, expected_ndim: Optional[int] = None
             ) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    The magic number (two zero bytes, a data-type code, the number of dimensions), the
    dimensions and the payload length are all checked.

    Parameters
    ----------
    path : str or os.PathLike
        IDX file, ``.gz``-compressed or not (detected from the gzip magic bytes).
    expected_dtype : numpy dtype-like, optional
        Require this element type (e.g. ``np.uint8``).
    expected_ndim : int, optional
        Require this number of dimensions.

    Returns
    -------
    numpy.ndarray
        A new array in native byte order, with the shape given by the header.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Corrupt or truncated gzip data, bad magic number, unknown data type, unexpected
        dtype/ndim, or a payload whose length does not match the header.
    """
    p = _as_path(path, "path")
    raw = _read_bytes(p)
    data = _maybe_gunzip(raw, str(p), _GENERIC_HINT)
    arr = _parse_idx(data, str(p), _GENERIC_HINT, expected_dtype, expected_ndim)
    return arr.astype(arr.dtype.newbyteorder("="))


def _parse_cifar(data: bytes, source: str, hint: str) -> Tuple[np.ndarray, np.ndarray]:
    if len(data) == 0 or len(data) % _CIFAR_RECORD != 0:
        raise ValueError(f"{source}: size {len(data)} bytes is not a positive multiple of the "
                         f"CIFAR-10 record size {_CIFAR_RECORD} (1 label byte + 3x32x32 pixels); "
                         f"the file is truncated or not a CIFAR-10 binary batch. {hint}")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise ValueError(f"{source}: record {bad} has label {int(labels[bad])}, outside 0..9; "
                         f"the file is corrupt or not a CIFAR-10 binary batch. {hint}")
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return images, labels.astype(np.int64)


def read_cifar10_batch(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch (``data_batch_*.bin`` / ``test_batch.bin``).

    Each record is one label byte (0..9) followed by 3072 pixel bytes: the 1024 red, then green,
    then blue values of a 32x32 image in row-major order.

    Parameters
    ----------
    path : str or os.PathLike
        Batch file.

    Returns
    -------
    images : numpy.ndarray
        ``uint8`` array of shape ``(N, 3, 32, 32)``.
    labels : numpy.ndarray
        ``int64`` array of shape ``(N,)``.

    Raises
    ------
    ValueError
        The size is not a positive multiple of 3073 bytes or a label is above 9.
    """
    p = _as_path(path, "path")
    images, labels = _parse_cifar(_read_bytes(p), str(p), _GENERIC_HINT)
    return images.copy(), labels


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    out = images.astype(np.float32)
    out /= np.float32(255.0)
    return out


# --------------------------------------------------------------------------------------------
# Locating files
# --------------------------------------------------------------------------------------------

def _check_split(split) -> Tuple[str, ...]:
    if not isinstance(split, str):
        raise TypeError(f"split must be a str ('train', 'test' or 'all'), got "
                        f"{type(split).__name__}")
    if split == "all":
        return ("train", "test")
    if split in ("train", "test"):
        return (split,)
    raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")


def _default_cache_dir(key: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "bionn" / key


def _resolve_cache_dir(spec: _Spec, cache_dir) -> Path:
    if cache_dir is None:
        return _default_cache_dir(spec.key)
    return _as_path(cache_dir, "cache_dir")


def _candidate_dirs(spec: _Spec, root, cache: Path) -> List[Path]:
    bases: List[Path] = []
    if root is not None:
        bases.append(_as_path(root, "root"))
    else:
        env = os.environ.get("BIONN_DATA")
        if env:
            bases.append(Path(env).expanduser())
    dirs: List[Path] = []
    for b in bases:
        dirs.extend(b / s for s in spec.subdirs)   # dataset sub-folder first: MNIST and
        dirs.append(b)                             # Fashion-MNIST share their file names
    if root is None:
        dirs.extend(Path(d) for d in spec.system_dirs)
    dirs.append(cache)
    seen, unique = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def _describe(d: Path, names: Sequence[str]) -> str:
    if not d.is_dir():
        return f"  - {d}  (no such directory)"
    missing = [n for n in names if not (d / n).is_file()]
    return f"  - {d}  (missing {', '.join(missing)})"


def _not_found(spec: _Spec, names: Sequence[str], split: str, looked: Sequence[str],
               cache: Path) -> FileNotFoundError:
    mirror = MIRRORS.get(spec.key, ("<no mirror>",))[0]
    lines = [f"{spec.title} {split} files not found: need {', '.join(names)}.",
             "Looked in:", *looked, "To fix, do one of:"]
    if spec.system_dirs:
        lines.append(f"  - install the Debian package: sudo apt-get install "
                     f"{_DEBIAN_FASHION_PACKAGE}  (puts the files in {spec.system_dirs[0]}/)")
    lines += [
        f"  - call {spec.func}(..., download=True) to download them (SHA-256 verified) from "
        f"{mirror} into {cache}",
        f"  - put the files in a directory DIR and pass root=DIR, or set the environment variable "
        f"BIONN_DATA=DIR (the files may sit in DIR or DIR/{spec.subdirs[0]}/)",
    ]
    return FileNotFoundError("\n".join(lines))


def _repair_hint(spec: _Spec, path: Path, cache: Path) -> str:
    hint = (f"Delete {path} and download it again ({spec.func}(download=True) fetches verified "
            f"copies into {cache})")
    if spec.system_dirs and str(path).startswith(spec.system_dirs[0]):
        hint += f", or reinstall: sudo apt-get install --reinstall {_DEBIAN_FASHION_PACKAGE}"
    return hint + "."


def _expected_for(spec_key: str, filename: str, checksums: Optional[Mapping[str, HashSpec]]
                  ) -> Tuple[Optional[Tuple[str, ...]], Optional[Tuple[str, ...]]]:
    """(accepted file hashes, accepted content hashes) for a file; (None, None) = unverified."""
    if checksums is not None and filename in checksums:
        return _coerce_hashes(checksums[filename], f"checksums[{filename!r}]"), None
    return SHA256.get(spec_key, {}).get(filename), CONTENT_SHA256.get(spec_key, {}).get(filename)


def _check_checksums_arg(checksums) -> Optional[Mapping[str, HashSpec]]:
    if checksums is None:
        return None
    if not isinstance(checksums, Mapping):
        raise TypeError(f"checksums must be a mapping of file name -> SHA-256 (or None), got "
                        f"{type(checksums).__name__}")
    for k, v in checksums.items():
        if not isinstance(k, str):
            raise TypeError(f"checksums keys must be file names (str), got {k!r}")
        _coerce_hashes(v, f"checksums[{k!r}]")
    return checksums


def _mismatch(path: Path, got: str, expected: Sequence[str], what: str, hint: str
              ) -> ChecksumError:
    return ChecksumError(f"{path}: SHA-256 mismatch (got {got}, expected "
                         f"{' or '.join(expected)}). The file is corrupt, truncated or not the "
                         f"official {what} file. {hint}")


def _verified_idx_bytes(path: Path, file_hashes, content_hashes, what: str, hint: str) -> bytes:
    """Read, verify (before parsing) and decompress one IDX file."""
    raw = _read_bytes(path)
    verified = file_hashes is None and content_hashes is None
    got = None
    if file_hashes is not None:
        got = hashlib.sha256(raw).hexdigest()
        verified = got in file_hashes
    if not verified and content_hashes is None:
        raise _mismatch(path, got, file_hashes, what, hint)
    try:
        data = _maybe_gunzip(raw, str(path), hint)
    except ValueError as exc:
        if not verified:
            raise _mismatch(path, got or hashlib.sha256(raw).hexdigest(), file_hashes or
                            content_hashes, what, hint) from exc
        raise
    if not verified:
        content_got = hashlib.sha256(data).hexdigest()
        if content_got not in content_hashes:
            raise _mismatch(path, got or content_got, (file_hashes or ()) + tuple(content_hashes),
                            what, hint)
    return data


def _load_idx_pair(img_path: Path, lbl_path: Path, expected: Dict[str, Tuple], what: str,
                   hints: Dict[str, str], num_classes: int = 10
                   ) -> Tuple[np.ndarray, np.ndarray]:
    img_data = _verified_idx_bytes(img_path, *expected[img_path.name], what, hints[img_path.name])
    lbl_data = _verified_idx_bytes(lbl_path, *expected[lbl_path.name], what, hints[lbl_path.name])
    images = _parse_idx(img_data, str(img_path), hints[img_path.name], np.uint8, 3)
    labels = _parse_idx(lbl_data, str(lbl_path), hints[lbl_path.name], np.uint8, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{img_path} holds {images.shape[0]} images but {lbl_path} holds "
                         f"{labels.shape[0]} labels; the files do not belong together. "
                         f"{hints[img_path.name]}")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"{lbl_path}: label {int(labels.max())} outside 0..{num_classes - 1}. "
                         f"{hints[lbl_path.name]}")
    X = _to_unit_float(images)[:, None, :, :]
    return X, labels.astype(np.int64)


def _load_idx_dataset(spec: _Spec, split, root, download: bool, cache_dir, base_url,
                      checksums) -> Tuple[np.ndarray, np.ndarray]:
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
                raise _not_found(spec, names, part, [_describe(d, names) for d in dirs], cache)
            for n in names:
                _download_from_mirrors(spec, n, cache, base_url, expected[n][0])
            found = cache
        hints = {n: _repair_hint(spec, found / n, cache) for n in names}
        try:
            X, y = _load_idx_pair(found / names[0], found / names[1], expected, spec.title, hints)
        except ChecksumError:
            if not (download and found == cache):
                raise
            for n in names:   # a bad cached file: replace it with a verified download
                _download_from_mirrors(spec, n, cache, base_url, expected[n][0])
            X, y = _load_idx_pair(found / names[0], found / names[1], expected, spec.title, hints)
        Xs.append(X)
        ys.append(y)
    if len(Xs) == 1:
        return Xs[0], ys[0]
    return np.concatenate(Xs), np.concatenate(ys)


_LOADER_DOC = """Load {title} as ``(X, y)``.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Directory holding the files (in ``root/{sub}/`` or directly in ``root``). If None,
        ``$BIONN_DATA/{sub}/`` and ``$BIONN_DATA`` are searched{extra}. The download cache
        (``cache_dir``) is searched last in every case.
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


def load_mnist(root: Optional[PathLike] = None, split: str = "train", download: bool = False,
               cache_dir: Optional[PathLike] = None, *,
               base_url: Union[str, Sequence[str], None] = None,
               checksums: Optional[Mapping[str, HashSpec]] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
    return _load_idx_dataset(_MNIST, split, root, download, cache_dir, base_url, checksums)


def load_fashion_mnist(root: Optional[PathLike] = None, split: str = "train",
                       download: bool = False, cache_dir: Optional[PathLike] = None, *,
                       base_url: Union[str, Sequence[str], None] = None,
                       checksums: Optional[Mapping[str, HashSpec]] = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    return _load_idx_dataset(_FASHION, split, root, download, cache_dir, base_url, checksums)


load_mnist.__doc__ = _LOADER_DOC.format(
    title="the official MNIST split (IDX ``.gz`` files)", sub="mnist", key="mnist", extra="",
    shape="(N, 1, 28, 28)", classes="")
load_fashion_mnist.__doc__ = _LOADER_DOC.format(
    title="the official Fashion-MNIST split (IDX ``.gz`` files)", sub="fashion-mnist",
    key="fashion-mnist",
    extra=(",\n        then the Debian location ``/usr/share/datasets/fashion-mnist/``\n"
           "        (package ``dataset-fashion-mnist``)"),
    shape="(N, 1, 28, 28)", classes=" (names in :data:`FASHION_MNIST_CLASSES`)")


def _find_cifar_source(dirs: Sequence[Path], names: Sequence[str]):
    for d in dirs:
        for bd in (d / _CIFAR_DIR, d):
            if all((bd / n).is_file() for n in names):
                return "dir", bd
        if (d / _CIFAR_TARBALL).is_file():
            return "tar", d / _CIFAR_TARBALL
    return None, None


def _describe_cifar(d: Path, names: Sequence[str]) -> str:
    if not d.is_dir():
        return f"  - {d}  (no such directory)"
    return (f"  - {d}  (no {_CIFAR_TARBALL}, and {_CIFAR_DIR}/ or the directory itself lacks "
            f"{', '.join(n for n in names if not (d / _CIFAR_DIR / n).is_file())})")


def _verify_file_hash(path: Path, expected: Optional[Tuple[str, ...]], what: str, hint: str
                      ) -> None:
    if expected is None:
        return
    got = sha256_file(path)
    if got not in expected:
        raise _mismatch(path, got, expected, what, hint)


def _read_cifar_tar(tar_path: Path, names: Sequence[str], expected, hint: str
                    ) -> Dict[str, bytes]:
    _verify_file_hash(tar_path, expected, "CIFAR-10", hint)
    out: Dict[str, bytes] = {}
    try:
        with tarfile.open(tar_path, "r:*") as tf:
            members = {}
            for m in tf:
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and base in names and base not in members:
                    members[base] = m
                    out[base] = tf.extractfile(m).read()   # read in memory, never extracted
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{tar_path}: corrupt or truncated tar.gz archive ({exc}). {hint}"
                         ) from None
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"{tar_path}: archive lacks {', '.join(missing)} (expected "
                         f"{_CIFAR_DIR}/<batch>.bin members). {hint}")
    return out


def load_cifar10(root: Optional[PathLike] = None, split: str = "train", download: bool = False,
                 cache_dir: Optional[PathLike] = None, *,
                 base_url: Union[str, Sequence[str], None] = None,
                 checksums: Optional[Mapping[str, HashSpec]] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    parts = _check_split(split)
    checksums = _check_checksums_arg(checksums)
    spec = _CIFAR10
    cache = _resolve_cache_dir(spec, cache_dir)
    dirs = _candidate_dirs(spec, root, cache)
    names = [n for p in parts for n in _CIFAR_FILES[p]]
    kind, where = _find_cifar_source(dirs, names)
    tar_expected = _expected_for(spec.key, _CIFAR_TARBALL, checksums)[0]
    if kind is None:
        if not download:
            exc = _not_found(spec, [f"{_CIFAR_TARBALL} or {_CIFAR_DIR}/{{{', '.join(names)}}}"],
                             split, [_describe_cifar(d, names) for d in dirs], cache)
            raise exc
        kind, where = "tar", _download_from_mirrors(spec, _CIFAR_TARBALL, cache, base_url,
                                                    tar_expected)
    if kind == "tar":
        hint = _repair_hint(spec, where, cache)
        try:
            blobs = _read_cifar_tar(where, names, tar_expected, hint)
        except ChecksumError:
            if not (download and where.parent == cache):
                raise
            _download_from_mirrors(spec, _CIFAR_TARBALL, cache, base_url, tar_expected)
            blobs = _read_cifar_tar(where, names, tar_expected, hint)
        sources = {n: f"{where}:{_CIFAR_DIR}/{n}" for n in names}
        hints = {n: hint for n in names}
    else:
        blobs, sources, hints = {}, {}, {}
        for n in names:
            path = where / n
            hints[n] = _repair_hint(spec, path, cache)
            _verify_file_hash(path, _expected_for(spec.key, n, checksums)[0], "CIFAR-10",
                              hints[n])
            blobs[n] = _read_bytes(path)
            sources[n] = str(path)
    Xs, ys = [], []
    for n in names:
        images, labels = _parse_cifar(blobs[n], sources[n], hints[n])
        Xs.append(images)
        ys.append(labels)
    images = np.concatenate(Xs) if len(Xs) > 1 else Xs[0]
    y = np.concatenate(ys) if len(ys) > 1 else ys[0]
    return _to_unit_float(images), y


load_cifar10.__doc__ = _LOADER_DOC.format(
    title=("CIFAR-10 from the official binary version (``cifar-10-batches-bin/*.bin`` or the "
           "tarball ``cifar-10-binary.tar.gz``, read without extracting it)"),
    sub="cifar-10", key="cifar-10", extra="", shape="(N, 3, 32, 32)",
    classes=" (names in :data:`CIFAR10_CLASSES`)")


# --------------------------------------------------------------------------------------------
# Shared MNIST sample
# --------------------------------------------------------------------------------------------

def _repo_roots(anchor: Path) -> List[Path]:
    return [a for a in (anchor, *anchor.parents)
            if (a / "pyproject.toml").is_file() or (a / ".git").exists()]


def _sample_candidates(root) -> List[Path]:
    bases: List[Path] = []
    if root is not None:
        bases.append(_as_path(root, "root"))
    else:
        env = os.environ.get("BIONN_SHARED_DATA")
        if env:
            bases.append(Path(env).expanduser())
        anchors = [Path(__file__).resolve().parent]
        try:
            anchors.append(Path.cwd())
        except OSError:
            pass
        for anchor in anchors:
            bases.extend(r.parent / "shared" / "data" for r in _repo_roots(anchor))
    out: List[Path] = []
    for b in bases:
        for d in (b / _SAMPLE_DIRNAME, b):
            if d not in out:
                out.append(d)
    return out


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


def load_mnist_sample(root: Optional[PathLike] = None, *,
                      checksums: Optional[Mapping[str, HashSpec]] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Load the project's 10,000-digit MNIST sample (``shared/data/mnist-sample-10k``).

    These are real MNIST digits but not an official split, sorted by label: shuffle or use
    :func:`train_val_split` before training.

    Parameters
    ----------
    root : str or os.PathLike, optional
        The ``mnist-sample-10k`` directory or the shared-data directory containing it. If None:
        ``$BIONN_SHARED_DATA``, then ``<repo>/../shared/data`` for the repository containing this
        module or the current directory.
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
    candidates = _sample_candidates(root)
    found = next((d for d in candidates if all((d / n).is_file() for n in _SAMPLE_FILES)), None)
    if found is None:
        looked = "\n".join(_describe(d, _SAMPLE_FILES) for d in candidates) or "  (nowhere)"
        raise FileNotFoundError(
            f"MNIST sample not found: need {', '.join(_SAMPLE_FILES)}. Looked in:\n{looked}\n"
            f"The sample lives in the project's shared data, in shared/data/{_SAMPLE_DIRNAME}/ "
            f"next to the repository (../shared/data). Set the environment variable "
            f"BIONN_SHARED_DATA to the shared data directory, or pass root=<that directory or "
            f"{_SAMPLE_DIRNAME}/>.")
    expected: Dict[str, Tuple] = {}
    hints: Dict[str, str] = {}
    for n in _SAMPLE_FILES:
        path = found / n
        hints[n] = (f"Delete {path} and restore the shared data from its source (see "
                    f"{found / 'SOURCE.md'}).")
        if checksums is not None and n in checksums:
            expected[n] = (_coerce_hashes(checksums[n], f"checksums[{n!r}]"), None)
            continue
        entry = _sha256sums_entry(path)
        if entry is not None:
            expected[n] = ((entry[0],), None)
            hints[n] += f" Checksum from {entry[1]}."
        else:
            expected[n] = (SHA256["mnist-sample-10k"][n], None)
    return _load_idx_pair(found / _SAMPLE_FILES[0], found / _SAMPLE_FILES[1], expected,
                          "MNIST sample", hints)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------

def _as_array(x, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a NumPy array, got {type(x).__name__}")
    try:
        return np.asarray(x)
    except Exception as exc:   # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like: {exc}") from None


def _check_numeric(a: np.ndarray, name: str) -> None:
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must have an integer or real floating dtype, got {a.dtype}")


def _check_finite(a: np.ndarray, name: str) -> None:
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def _as_images(X, name: str = "X") -> np.ndarray:
    X = _as_array(X, name)
    _check_numeric(X, name)
    if X.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {X.shape}")
    if min(X.shape[1:]) < 1:
        raise ValueError(f"{name} must have C, H, W >= 1, got shape {X.shape}")
    _check_finite(X, name)
    return X


def _as_labels(y, name: str = "y", n: Optional[int] = None) -> np.ndarray:
    y = _as_array(y, name)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n} samples")
    return y


def _as_samples(X, name: str = "X") -> np.ndarray:
    X = _as_array(X, name)
    if X.ndim < 1:
        raise ValueError(f"{name} must have a leading sample axis, got a 0-d array")
    return X


def _check_int(v, name: str, minimum: Optional[int] = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _check_pair(v, name: str, minimum: int) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {v!r}")
        return _check_int(v[0], name, minimum), _check_int(v[1], name, minimum)
    v = _check_int(v, name, minimum)
    return v, v


def _as_generator(rng, name: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative seed, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an int seed, got "
                    f"{type(rng).__name__} (e.g. pass {name}=np.random.default_rng(0))")


# --------------------------------------------------------------------------------------------
# Utilities
# --------------------------------------------------------------------------------------------

def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1,
                    seed: RngLike = 0, stratify: bool = True
                    ) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """Split ``(X, y)`` into shuffled training and validation sets.

    Parameters
    ----------
    X : numpy.ndarray
        Samples along axis 0.
    y : numpy.ndarray
        1-D integer labels, one per sample.
    val_fraction : float, optional
        Fraction of samples in the validation set, in (0, 1). The validation set has
        ``round(N * val_fraction)`` samples, clipped to ``[1, N - 1]``.
    seed : int or numpy.random.Generator, optional
        Randomness source (deterministic for an int).
    stratify : bool, optional
        Keep class proportions: each class contributes its proportional share of the validation
        set, rounded by the largest-remainder method so the total is exact.

    Returns
    -------
    (X_train, y_train), (X_val, y_val) : tuple of tuples of numpy.ndarray
        Both sets in random order; together they hold every sample exactly once.
    """
    X = _as_samples(X, "X")
    y = _as_labels(y, "y", X.shape[0])
    if isinstance(stratify, (bool, np.bool_)):
        stratify = bool(stratify)
    else:
        raise TypeError(f"stratify must be a bool, got {type(stratify).__name__}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction must be a float, got {type(val_fraction).__name__}")
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 samples to split, got {n}")
    rng = _as_generator(seed, "seed")
    n_val = int(np.floor(n * float(val_fraction) + 0.5))
    n_val = min(max(n_val, 1), n - 1)
    if stratify:
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        num = counts.astype(np.int64) * n_val
        k = num // n
        rest = n_val - int(k.sum())
        order = np.argsort(-(num % n), kind="stable")   # largest remainders first
        k[order[:rest]] += 1
        val_parts, train_parts = [], []
        for ci in range(classes.size):
            idx = rng.permutation(np.flatnonzero(inverse == ci))
            val_parts.append(idx[:k[ci]])
            train_parts.append(idx[k[ci]:])
        val_idx = rng.permutation(np.concatenate(val_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    else:
        perm = rng.permutation(n)
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    return (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])


def standardize(X_train: np.ndarray, *others: np.ndarray,
                axis: Union[int, Tuple[int, ...], None, str] = "auto", eps: float = 1e-8
                ) -> tuple:
    """Standardize arrays with the mean and standard deviation of ``X_train``.

    Parameters
    ----------
    X_train : numpy.ndarray
        Data whose statistics are used (finite, at least one sample along axis 0).
    *others : numpy.ndarray
        Further arrays (validation, test) transformed with the *training* statistics; they must
        have ``X_train``'s shape except along the reduced axes.
    axis : int, tuple of int, None or 'auto', optional
        Axes the statistics are computed over (reduced), as in :func:`numpy.mean`. ``'auto'``:
        per channel for 4-D ``(N, C, H, W)`` input (axes ``(0, 2, 3)``), per feature otherwise
        (axis 0). None: one global mean and std.
    eps : float, optional
        Standard deviations below ``eps`` (constant features) are replaced by 1.

    Returns
    -------
    tuple
        ``(X_train_std, *others_std, (mean, std))``; ``mean`` and ``std`` keep the reduced axes
        (size 1) so that ``(X - mean) / std`` reproduces the transform. Float inputs keep their
        dtype; integer inputs become ``float32``.
    """
    Xt = _as_array(X_train, "X_train")
    _check_numeric(Xt, "X_train")
    if Xt.ndim < 1 or Xt.shape[0] < 1:
        raise ValueError(f"X_train must have at least one sample, got shape {Xt.shape}")
    _check_finite(Xt, "X_train")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"eps must be a non-negative number, got {eps!r}")
    if isinstance(axis, str):
        if axis != "auto":
            raise ValueError(f"axis must be an int, a tuple of ints, None or 'auto', got {axis!r}")
        red = (0, 2, 3) if Xt.ndim == 4 else (0,)
    elif axis is None:
        red = tuple(range(Xt.ndim))
    else:
        axes = axis if isinstance(axis, tuple) else (axis,)
        red_list = []
        for a in axes:
            a = _check_int(a, "axis")
            if not -Xt.ndim <= a < Xt.ndim:
                raise ValueError(f"axis {a} is out of range for X_train with {Xt.ndim} dims")
            red_list.append(a % Xt.ndim)
        if len(set(red_list)) != len(red_list):
            raise ValueError(f"axis contains repeated axes: {axis!r}")
        red = tuple(sorted(red_list))
    out_dtype = np.result_type(Xt.dtype, np.float32)
    mean = Xt.mean(axis=red, dtype=np.float64, keepdims=True)
    std = Xt.std(axis=red, dtype=np.float64, keepdims=True)
    std = np.where(std < eps, 1.0, std)
    mean_o, std_o = mean.astype(out_dtype), std.astype(out_dtype)
    results = []
    for k, A in enumerate((Xt,) + others):
        name = "X_train" if k == 0 else f"others[{k - 1}]"
        A = _as_array(A, name)
        _check_numeric(A, name)
        if A.ndim != Xt.ndim or any(A.shape[i] != Xt.shape[i] for i in range(Xt.ndim)
                                    if i not in red):
            raise ValueError(f"{name} has shape {A.shape}, incompatible with X_train's shape "
                             f"{Xt.shape} (must match on the non-reduced axes)")
        if k:
            _check_finite(A, name)
        results.append((A.astype(out_dtype) - mean_o) / std_o)
    return (*results, (mean_o, std_o))


def one_hot(y: np.ndarray, num_classes: Optional[int] = None, dtype=np.float32) -> np.ndarray:
    """One-hot encode integer labels.

    Parameters
    ----------
    y : numpy.ndarray
        1-D non-negative integer labels.
    num_classes : int, optional
        Number of classes; default ``max(y) + 1``.
    dtype : numpy dtype-like, optional
        Output dtype.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(len(y), num_classes)`` with a single 1 per row.
    """
    y = _as_labels(y, "y")
    if y.size and y.min() < 0:
        raise ValueError(f"y must be non-negative, found {int(y.min())}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("num_classes must be given when y is empty")
        num_classes = int(y.max()) + 1
    num_classes = _check_int(num_classes, "num_classes", 1)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"y contains label {int(y.max())} but num_classes={num_classes}")
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def subsample(X: np.ndarray, y: np.ndarray, per_class: int, seed: RngLike = 0,
              classes: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Draw exactly ``per_class`` samples of every class, without replacement.

    Parameters
    ----------
    X : numpy.ndarray
        Samples along axis 0.
    y : numpy.ndarray
        1-D integer labels.
    per_class : int
        Samples to keep from each class (>= 1).
    seed : int or numpy.random.Generator, optional
        Randomness source.
    classes : sequence of int, optional
        Classes to draw from (each must have ``per_class`` samples); default: the classes in ``y``.

    Returns
    -------
    X_sub, y_sub : numpy.ndarray
        ``per_class * n_classes`` samples in random order.

    Raises
    ------
    ValueError
        A class has fewer than ``per_class`` samples (the message lists them).
    """
    X = _as_samples(X, "X")
    y = _as_labels(y, "y", X.shape[0])
    per_class = _check_int(per_class, "per_class", 1)
    rng = _as_generator(seed, "seed")
    if classes is None:
        cls = np.unique(y)
    else:
        cls = _as_labels(np.asarray(classes), "classes")
        if np.unique(cls).size != cls.size:
            raise ValueError(f"classes contains duplicates: {cls.tolist()}")
    if cls.size == 0:
        raise ValueError("no classes to sample from (y is empty)")
    pools = [np.flatnonzero(y == c) for c in cls]
    short = [(int(c), p.size) for c, p in zip(cls, pools) if p.size < per_class]
    if short:
        desc = ", ".join(f"class {c} has {n}" for c, n in short)
        raise ValueError(f"subsample: per_class={per_class} but {desc} sample(s)")
    idx = np.concatenate([rng.choice(p, per_class, replace=False) for p in pools])
    idx = rng.permutation(idx)
    return X[idx], y[idx]


def random_horizontal_flip(X: np.ndarray, p: float = 0.5, *, rng: RngLike) -> np.ndarray:
    """Flip each image left-right with probability ``p``.

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    p : float, optional
        Flip probability in ``[0, 1]``.
    rng : numpy.random.Generator or int
        Randomness source (an int is used as a seed).

    Returns
    -------
    numpy.ndarray
        New array, same shape and dtype as ``X``.
    """
    X = _as_images(X, "X")
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a float, got {type(p).__name__}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    gen = _as_generator(rng, "rng")
    flip = gen.random(X.shape[0]) < float(p)
    out = X.copy()
    out[flip] = X[flip][..., ::-1]
    return out


def _crop_windows(X: np.ndarray, pad: Tuple[int, int], size: Tuple[int, int],
                  gen: np.random.Generator) -> np.ndarray:
    n = X.shape[0]
    ph, pw = pad
    h, w = size
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if (ph or pw) else X
    top = gen.integers(0, Xp.shape[2] - h + 1, size=n)
    left = gen.integers(0, Xp.shape[3] - w + 1, size=n)
    windows = np.lib.stride_tricks.sliding_window_view(Xp, (h, w), axis=(2, 3))
    # windows: (N, C, Hp-h+1, Wp-w+1, h, w); indexing axes 0, 2, 3 gives (N, C, h, w).
    return np.ascontiguousarray(windows[np.arange(n), :, top, left])


def random_crop(X: np.ndarray, size: Union[int, Tuple[int, int]],
                padding: Union[int, Tuple[int, int]] = 0, *, rng: RngLike) -> np.ndarray:
    """Zero-pad each image, then crop a random window (like torchvision ``RandomCrop``).

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    size : int or (int, int)
        Output height and width.
    padding : int or (int, int), optional
        Zeros added on each side (top/bottom, left/right).
    rng : numpy.random.Generator or int
        Randomness source; each image gets its own offset, uniform over all valid positions.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(N, C, size_h, size_w)``, dtype of ``X``.
    """
    X = _as_images(X, "X")
    h, w = _check_pair(size, "size", 1)
    ph, pw = _check_pair(padding, "padding", 0)
    if h > X.shape[2] + 2 * ph or w > X.shape[3] + 2 * pw:
        raise ValueError(f"size {(h, w)} is larger than the padded image "
                         f"{(X.shape[2] + 2 * ph, X.shape[3] + 2 * pw)}")
    gen = _as_generator(rng, "rng")
    return _crop_windows(X, (ph, pw), (h, w), gen)


def random_translate(X: np.ndarray, max_shift: Union[int, Tuple[int, int]], *,
                     rng: RngLike) -> np.ndarray:
    """Shift each image by a random integer offset, filling uncovered pixels with zeros.

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    max_shift : int or (int, int)
        Largest vertical / horizontal shift; each shift is uniform in ``[-max_shift, max_shift]``.
    rng : numpy.random.Generator or int
        Randomness source.

    Returns
    -------
    numpy.ndarray
        Array of the same shape and dtype as ``X``.
    """
    X = _as_images(X, "X")
    mh, mw = _check_pair(max_shift, "max_shift", 0)
    gen = _as_generator(rng, "rng")
    return _crop_windows(X, (mh, mw), (X.shape[2], X.shape[3]), gen)


# --------------------------------------------------------------------------------------------
# Synthetic data of the focusing-neuron paper (§4.1, Table 1) and MNIST-cluttered
# --------------------------------------------------------------------------------------------

__all__ += ["make_focus_blobs", "focus_blobs_grid", "FOCUS_BLOBS_GRID", "make_cluttered_mnist"]

#: The parameter grid of Table 1 of the focusing-neuron paper (§4.1, "Synthetic data set, network
#: and training parameter sets"), sampled by :func:`focus_blobs_grid` for the random-configuration
#: experiment of Fig. 3 (750 runs). Keys are the keyword names used here:
#:
#: * ``n_samples`` -- "#Input Samples: N = {100, 200, 2000, 10000}" (training set size);
#: * ``n_informative`` -- "Input Length: nL = {4, 40, 400}" (informative columns);
#: * ``noise_ratio`` -- "Noisy Dimensions: nL*{0.0, 0.5, 1.0}" (noise columns / nL);
#: * ``noise`` -- "Noise Position: {Sides, Left}" (``'both'`` / ``'left'``);
#: * ``n_clusters_per_class`` -- "#Clusters: {1, 2, 4}";
#: * ``n_classes`` -- "#Classes: {2, 4, 8}";
#: * ``n_hidden`` -- "#Hidden Neurons: {4, 40, 100}";
#: * ``batch_fraction`` -- "Batch Size: N*{0.1, 0.05}";
#: * ``learning_rate`` -- "Learning rate: {0.01, 0.001}";
#: * ``l2_penalty`` -- "L2 Penalty: {True, False}".
FOCUS_BLOBS_GRID: Dict[str, Tuple] = {
    "n_samples": (100, 200, 2000, 10000),
    "n_informative": (4, 40, 400),
    "noise_ratio": (0.0, 0.5, 1.0),
    "noise": ("both", "left"),
    "n_clusters_per_class": (1, 2, 4),
    "n_classes": (2, 4, 8),
    "n_hidden": (4, 40, 100),
    "batch_fraction": (0.1, 0.05),
    "learning_rate": (0.01, 0.001),
    "l2_penalty": (True, False),
}

_NOISE_POSITIONS = ("left", "both", "none")
_NOISE_DISTRIBUTIONS = ("normal", "uniform")


def _check_real(v, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating,
                                                             np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if nonneg and v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


def _check_choice(v, name: str, choices: Sequence[str]) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{name} must be a str (one of {', '.join(map(repr, choices))}), "
                        f"got {type(v).__name__}")
    low = v.lower()
    if low == "sides":          # the paper's word for noise on both sides
        low = "both"
    if low not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return low


def _check_bool(v, name: str) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__}")
    return bool(v)


def _blob_centers(gen: np.random.Generator, n_centers: int, dim: int, class_sep: float
                  ) -> np.ndarray:
    """``n_centers`` distinct hypercube vertices ``class_sep * {-1, +1}^dim`` (random order).

    When the hypercube has fewer vertices than centres (only ``dim`` <= 4 with many classes and
    clusters), every vertex is used and the remaining centres are drawn uniformly inside the cube.
    """
    if dim <= 30:
        n_vertices = 1 << dim
        k = min(n_centers, n_vertices)
        codes = gen.choice(n_vertices, size=k, replace=False)
        bits = (codes[:, None] >> np.arange(dim)[None, :]) & 1
        signs = bits.astype(np.float64) * 2.0 - 1.0
        if k < n_centers:
            extra = gen.uniform(-1.0, 1.0, size=(n_centers - k, dim))
            signs = np.concatenate([signs, extra], axis=0)
    else:
        # 2**dim >> n_centers: collisions are astronomically unlikely, but redraw to be exact.
        signs = gen.choice(np.array([-1.0, 1.0]), size=(n_centers, dim))
        while np.unique(signs, axis=0).shape[0] < n_centers:   # pragma: no cover
            signs = gen.choice(np.array([-1.0, 1.0]), size=(n_centers, dim))
    return class_sep * signs


def make_focus_blobs(n_samples: int = 2000, n_informative: int = 20, *,
                     n_test: Optional[int] = None,
                     noise: str = "left",
                     noise_ratio: float = 1.0,
                     n_noise: Optional[int] = None,
                     noise_distribution: str = "normal",
                     noise_mean: float = 0.0,
                     noise_std: float = 1.0,
                     n_classes: int = 2,
                     n_clusters_per_class: int = 1,
                     cluster_std: float = 1.0,
                     class_sep: float = 1.0,
                     normalize: bool = True,
                     dtype=np.float32,
                     return_info: bool = False,
                     seed: RngLike = 0):
    """Gaussian-blob classification data with uninformative noise columns (paper §4.1, Table 1).

    The synthetic experiment of the focusing-neuron paper (§4.1 "Learning to Focus"): a Gaussian
    blob data set of ``n_informative`` (nL) informative columns, to which ``n_noise`` columns of
    pure noise (N(0, 1) in the paper) are added on the left or on both sides; then every column
    is normalised to zero mean and unit variance. With the defaults this is the paper's
    illustrative data set (two classes, 20 informative + 20 noise columns = 40 inputs, Fig. 2b
    with ``noise='left'``, Fig. 2a with ``noise='both'``). Table 1's grid is
    :data:`FOCUS_BLOBS_GRID`; :func:`focus_blobs_grid` samples it (Fig. 3).

    Each class consists of ``n_clusters_per_class`` isotropic Gaussian clusters of standard
    deviation ``cluster_std`` centred on distinct random vertices of the hypercube
    ``class_sep * {-1, +1}^nL`` (the scheme of scikit-learn's ``make_classification``; the paper
    does not give the blob geometry, so ``cluster_std``/``class_sep`` are this module's choice).
    Cluster ``k`` belongs to class ``k % n_classes``; samples are spread evenly over the clusters
    (so classes are balanced up to one sample) and shuffled.

    Parameters
    ----------
    n_samples : int, optional
        Training samples, Table 1 "#Input Samples: N = {100, 200, 2000, 10000}". Default 2000
        (§4.1 does not state N for Fig. 2).
    n_informative : int, optional
        Informative columns, Table 1 "Input Length: nL = {4, 40, 400}"; 20 in §4.1 (default).
    n_test : int, optional
        Samples of the independent test set "of the same distribution" (§4.1); its size is not
        given in the paper; default ``n_samples``. May be 0.
    noise : {'left', 'both', 'none'}, optional
        Where the noise columns go, Table 1 "Noise Position: {Sides, Left}" (``'sides'`` is
        accepted for ``'both'``). ``'both'`` puts ``n_noise // 2`` columns on the left and the rest
        on the right; ``'none'`` adds no noise columns (``n_noise`` must then be 0 or None).
    noise_ratio : float, optional
        Noise columns as a multiple of nL, Table 1 "Noisy Dimensions: nL*{0.0, 0.5, 1.0}";
        ``n_noise = round(noise_ratio * n_informative)``. Default 1.0 (§4.1: 20 + 20).
    n_noise : int, optional
        Number of noise columns; overrides ``noise_ratio`` when given.
    noise_distribution : {'normal', 'uniform'}, optional
        Distribution of the noise columns; §4.1 uses ``'normal'`` N(0, 1.0). ``'uniform'`` draws
        from the uniform law with the same mean and standard deviation.
    noise_mean, noise_std : float, optional
        Mean and standard deviation of the noise columns (0 and 1 in §4.1; irrelevant after
        normalisation except through sampling error).
    n_classes : int, optional
        Table 1 "#Classes: {2, 4, 8}"; 2 in §4.1 (default).
    n_clusters_per_class : int, optional
        Table 1 "#Clusters: {1, 2, 4}" (read as clusters per class); default 1.
    cluster_std : float, optional
        Standard deviation of each blob (not given in the paper; default 1.0).
    class_sep : float, optional
        Half side of the hypercube whose vertices are the blob centres (not given in the paper;
        default 1.0, as scikit-learn's ``make_classification``).
    normalize : bool, optional
        Normalise every column to zero mean and unit variance (§4.1 "each data column was
        normalized"), with the *training* mean and standard deviation applied to both sets.
    dtype : numpy dtype-like, optional
        Floating dtype of the returned features (default ``float32``).
    return_info : bool, optional
        Also return a dict describing the data set.
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives identical output on every call.

    Returns
    -------
    X_train : numpy.ndarray
        ``(n_samples, n_features)`` with ``n_features = n_informative + n_noise``.
    y_train : numpy.ndarray
        ``int64`` labels in ``0..n_classes-1``.
    X_test, y_test : numpy.ndarray
        ``n_test`` further samples from the same distribution (same centres, same normalisation).
    info : dict, only if ``return_info``
        ``informative`` (column indices of the informative features, contiguous), ``noise``
        (column indices of the noise columns), ``n_features``, ``centers`` (blob centres in the
        raw informative space, ``(n_classes * n_clusters_per_class, nL)``), ``center_class``
        (class of each centre), ``cluster_train`` / ``cluster_test`` (blob of each sample),
        ``mean`` / ``std`` (the normalisation statistics, None if ``normalize=False``).

    Raises
    ------
    TypeError
        An argument has the wrong type.
    ValueError
        An argument is out of range, or ``noise='none'`` with ``n_noise > 0``.
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    n_informative = _check_int(n_informative, "n_informative", 1)
    n_test = n_samples if n_test is None else _check_int(n_test, "n_test", 0)
    noise = _check_choice(noise, "noise", _NOISE_POSITIONS)
    noise_ratio = _check_real(noise_ratio, "noise_ratio", nonneg=True)
    noise_distribution = _check_choice(noise_distribution, "noise_distribution",
                                       _NOISE_DISTRIBUTIONS)
    noise_mean = _check_real(noise_mean, "noise_mean")
    noise_std = _check_real(noise_std, "noise_std", positive=True)
    n_classes = _check_int(n_classes, "n_classes", 2)
    n_clusters_per_class = _check_int(n_clusters_per_class, "n_clusters_per_class", 1)
    cluster_std = _check_real(cluster_std, "cluster_std", positive=True)
    class_sep = _check_real(class_sep, "class_sep", positive=True)
    normalize = _check_bool(normalize, "normalize")
    return_info = _check_bool(return_info, "return_info")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy floating dtype, got {dtype!r}") from None
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    if n_noise is None:
        n_noise = 0 if noise == "none" else int(np.floor(noise_ratio * n_informative + 0.5))
    else:
        n_noise = _check_int(n_noise, "n_noise", 0)
        if noise == "none" and n_noise > 0:
            raise ValueError(f"n_noise={n_noise} but noise='none'; use noise='left' or 'both'")
    n_centers = n_classes * n_clusters_per_class
    if n_samples < n_classes:
        raise ValueError(f"n_samples={n_samples} is smaller than n_classes={n_classes}")
    gen = _as_generator(seed, "seed")

    centers = _blob_centers(gen, n_centers, n_informative, class_sep)
    center_class = np.arange(n_centers, dtype=np.int64) % n_classes
    n_total = n_samples + n_test
    # Even spread over the clusters within each set, shuffled.
    cl_train = gen.permutation(np.arange(n_samples, dtype=np.int64) % n_centers)
    cl_test = gen.permutation(np.arange(n_test, dtype=np.int64) % n_centers)
    cluster = np.concatenate([cl_train, cl_test])
    informative = centers[cluster] + cluster_std * gen.standard_normal((n_total, n_informative))
    if noise_distribution == "normal":
        noise_cols = noise_mean + noise_std * gen.standard_normal((n_total, n_noise))
    else:
        half = noise_std * np.sqrt(3.0)
        noise_cols = gen.uniform(noise_mean - half, noise_mean + half, size=(n_total, n_noise))
    n_left = n_noise if noise == "left" else n_noise // 2
    X = np.concatenate([noise_cols[:, :n_left], informative, noise_cols[:, n_left:]], axis=1)
    mean = std = None
    if normalize:
        mean = X[:n_samples].mean(axis=0)
        std = X[:n_samples].std(axis=0)
        std = np.where(std < 1e-12, 1.0, std)
        X = (X - mean) / std
    X = X.astype(dtype, copy=False)
    y = center_class[cluster]
    out = (X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:])
    if not return_info:
        return out
    info = {
        "informative": np.arange(n_left, n_left + n_informative),
        "noise": np.concatenate([np.arange(n_left),
                                 np.arange(n_left + n_informative, n_informative + n_noise)]),
        "n_features": n_informative + n_noise,
        "n_noise": n_noise,
        "noise_position": noise,
        "centers": centers,
        "center_class": center_class,
        "cluster_train": cl_train,
        "cluster_test": cl_test,
        "mean": mean,
        "std": std,
    }
    return out + (info,)


def focus_blobs_grid(seed: RngLike = 0, n: Optional[int] = None,
                     grid: Optional[Mapping[str, Sequence]] = None):
    """Yield random configurations from Table 1 of the focusing-neuron paper (§4.1, Fig. 3).

    The paper's Fig. 3 reports 750 runs of a script that "repeatedly sampled a random synthetic
    data set, created matching focusing and dense networks, selected random training parameters"
    from Table 1 (:data:`FOCUS_BLOBS_GRID`). Each value is drawn independently and uniformly from
    its set.

    Parameters
    ----------
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives the same sequence of configurations every time.
    n : int, optional
        Number of configurations; None (default) yields forever.
    grid : mapping, optional
        Replacement value sets for some keys of :data:`FOCUS_BLOBS_GRID` (e.g. to keep
        ``n_samples`` small in quick runs); unknown keys raise ValueError.

    Yields
    ------
    dict
        ``{"data": {...}, "train": {...}, "sampled": {...}}``. ``data`` holds keyword arguments
        for :func:`make_focus_blobs` (``n_samples``, ``n_informative``, ``noise_ratio``, ``noise``
        -- ``'none'`` when the sampled ratio is 0 -- ``n_classes``, ``n_clusters_per_class`` and a
        data ``seed``); ``train`` holds the network and training parameters of Table 1
        (``n_hidden``, ``batch_size = max(1, round(N * batch_fraction))``, ``batch_fraction``,
        ``learning_rate``, ``l2_penalty``); ``sampled`` holds the raw draws.
    """
    gen = _as_generator(seed, "seed")
    if n is not None:
        n = _check_int(n, "n", 0)
    table = dict(FOCUS_BLOBS_GRID)
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise TypeError(f"grid must be a mapping, got {type(grid).__name__}")
        for k, v in grid.items():
            if k not in table:
                raise ValueError(f"grid: unknown key {k!r}; known: {', '.join(table)}")
            v = tuple(v) if not isinstance(v, str) else (v,)
            if not v:
                raise ValueError(f"grid[{k!r}] is empty")
            table[k] = v
    count = 0
    while n is None or count < n:
        s = {k: vals[int(gen.integers(len(vals)))] for k, vals in table.items()}
        s = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in s.items()}
        data = {
            "n_samples": int(s["n_samples"]),
            "n_informative": int(s["n_informative"]),
            "noise_ratio": float(s["noise_ratio"]),
            "noise": "none" if float(s["noise_ratio"]) == 0.0 else s["noise"],
            "n_classes": int(s["n_classes"]),
            "n_clusters_per_class": int(s["n_clusters_per_class"]),
            "seed": int(gen.integers(2**31 - 1)),
        }
        train = {
            "n_hidden": int(s["n_hidden"]),
            "batch_size": max(1, int(np.floor(s["n_samples"] * s["batch_fraction"] + 0.5))),
            "batch_fraction": float(s["batch_fraction"]),
            "learning_rate": float(s["learning_rate"]),
            "l2_penalty": bool(s["l2_penalty"]),
        }
        yield {"data": data, "train": train, "sampled": s}
        count += 1


def _check_clutter_count(v) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"n_clutter must be an int or a pair (min, max), got {v!r}")
        lo = _check_int(v[0], "n_clutter", 0)
        hi = _check_int(v[1], "n_clutter", 0)
        if lo > hi:
            raise ValueError(f"n_clutter range must have min <= max, got {v!r}")
        return lo, hi
    v = _check_int(v, "n_clutter", 0)
    return v, v


def make_cluttered_mnist(X: np.ndarray, y: np.ndarray, n: int, size: int = 60, *,
                         n_clutter: Union[int, Tuple[int, int]] = 6, clutter_size: int = 8,
                         seed: RngLike = 0, return_info: bool = False):
    """MNIST-cluttered: each digit randomly translated in a frame full of digit fragments.

    The focusing-neuron paper (§4, data sets; "MNIST-Cluttered (CLT)", Table 2) uses "a cluttered
    version of MNIST ... randomly transformed MNIST samples superimposed on cluttered 60x60
    backgrounds" (its ref. [31]), without giving the clutter parameters. The author's code loads
    the published ``mnist_cluttered_60x60_6distortions.npz`` (60x60 frames, 6 clutter pieces),
    made with DeepMind's ``mnist-cluttered`` generator, whose default fragment ("distractor")
    size is 8x8. This function follows that generator: the frame starts black; ``n_clutter``
    random ``clutter_size`` x ``clutter_size`` fragments, each cut at a random place from a random
    *other* digit of ``X``, are added at random places (overlaps add up) and the frame is clipped
    to 1; then the whole source digit is added at a uniformly random integer position fully
    inside the frame and the frame is clipped to 1 again. The defaults (6 fragments of 8x8) are
    therefore an informed guess, not numbers stated in the paper; pass ``n_clutter=4`` for the
    60x60 setting of Mnih et al. (2014), or a range ``(4, 8)`` to vary it per frame.

    In this project MNIST comes from the shared 10,000-digit sample (:func:`load_mnist_sample`),
    not from the official 60k/10k split; split it (e.g. :func:`train_val_split`) *before*
    cluttering so that train and test frames use disjoint digits (clutter fragments of a set come
    only from that set's ``X``).

    Parameters
    ----------
    X : numpy.ndarray
        Source digits, ``(N, 1, h, w)`` or ``(N, h, w)`` (N >= 2 when there is clutter), floating
        in ``[0, 1]`` or ``uint8`` in ``[0, 255]`` (scaled by 1/255).
    y : numpy.ndarray
        ``N`` integer labels.
    n : int
        Number of frames to make (>= 1). Source digits are taken in random order without
        repetition until all ``N`` are used, then in a new random order, and so on.
    size : int, optional
        Frame side (60 in the paper); must be >= ``max(h, w)``.
    n_clutter : int or (int, int), optional
        Fragments per frame, or an inclusive range drawn uniformly per frame. Default 6.
    clutter_size : int, optional
        Side of the square fragments (default 8); must be <= ``min(h, w)``.
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives identical output on every call.
    return_info : bool, optional
        Also return a dict with ``source`` (index into ``X`` of each frame's digit),
        ``position`` (``(n, 2)`` top-left row/column of the digit), ``n_clutter`` (per frame),
        ``clutter_source`` / ``clutter_position`` (``(n, max_clutter)`` and
        ``(n, max_clutter, 2)``, -1 where a frame has fewer fragments).

    Returns
    -------
    frames : numpy.ndarray
        ``float32`` array of shape ``(n, 1, size, size)`` in ``[0, 1]``.
    labels : numpy.ndarray
        ``int64`` label of each frame's digit.
    info : dict, only if ``return_info``

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (the message names the argument).
    """
    X = _as_array(X, "X")
    _check_numeric(X, "X")
    if X.ndim == 4:
        if X.shape[1] != 1:
            raise ValueError(f"X must have one channel, got shape {X.shape}")
        X = X[:, 0]
    elif X.ndim != 3:
        raise ValueError(f"X must have shape (N, 1, h, w) or (N, h, w), got shape {X.shape}")
    N, h, w = X.shape
    if N < 1 or h < 1 or w < 1:
        raise ValueError(f"X must hold at least one non-empty image, got shape {X.shape}")
    y = _as_labels(y, "y", N)
    n = _check_int(n, "n", 1)
    size = _check_int(size, "size", 1)
    if size < max(h, w):
        raise ValueError(f"size={size} is smaller than the digits ({h}x{w})")
    lo, hi = _check_clutter_count(n_clutter)
    clutter_size = _check_int(clutter_size, "clutter_size", 1)
    if clutter_size > min(h, w):
        raise ValueError(f"clutter_size={clutter_size} is larger than the digits ({h}x{w})")
    return_info = _check_bool(return_info, "return_info")
    if np.issubdtype(X.dtype, np.integer):
        if X.size and (X.min() < 0 or X.max() > 255):
            raise ValueError("integer X must be in [0, 255]")
        src = X.astype(np.float32) / np.float32(255.0)
    else:
        _check_finite(X, "X")
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(f"X must be in [0, 1], got values in [{float(X.min())}, "
                             f"{float(X.max())}]")
        src = X.astype(np.float32, copy=False)
    if hi > 0 and N < 2:
        raise ValueError("X must hold at least 2 digits to cut clutter from other digits")
    gen = _as_generator(seed, "seed")

    reps = -(-n // N)
    source = np.concatenate([gen.permutation(N) for _ in range(reps)])[:n]
    pos = np.stack([gen.integers(0, size - h + 1, n), gen.integers(0, size - w + 1, n)], axis=1)
    counts = gen.integers(lo, hi + 1, n) if hi > lo else np.full(n, lo, dtype=np.int64)
    frames = np.zeros(n * size * size, dtype=np.float32)
    c = clutter_size
    csrc = np.full((n, hi), -1, dtype=np.int64)
    cpos = np.full((n, hi, 2), -1, dtype=np.int64)
    if hi > 0:
        # Fragment sources: any digit but the frame's own (uniform over the other N - 1).
        other = gen.integers(0, N - 1, (n, hi))
        other += other >= source[:, None]
        cut = np.stack([gen.integers(0, h - c + 1, (n, hi)), gen.integers(0, w - c + 1, (n, hi))],
                       axis=-1)
        put = gen.integers(0, size - c + 1, (n, hi, 2))
        active = np.arange(hi)[None, :] < counts[:, None]
        f_idx, k_idx = np.nonzero(active)
        o, cr, cc = other[f_idx, k_idx], cut[f_idx, k_idx, 0], cut[f_idx, k_idx, 1]
        pr, pc = put[f_idx, k_idx, 0], put[f_idx, k_idx, 1]
        ar = np.arange(c)
        rows_s = cr[:, None, None] + ar[None, :, None]
        cols_s = cc[:, None, None] + ar[None, None, :]
        vals = src[o[:, None, None], rows_s, cols_s]
        flat = (f_idx[:, None, None] * size + pr[:, None, None] + ar[None, :, None]) * size \
            + pc[:, None, None] + ar[None, None, :]
        frames += np.bincount(flat.ravel(), weights=vals.ravel().astype(np.float64),
                              minlength=frames.size).astype(np.float32)
        np.minimum(frames, 1.0, out=frames)
        csrc[f_idx, k_idx] = o
        cpos[f_idx, k_idx] = put[f_idx, k_idx]
    frames = frames.reshape(n, size, size)
    fr = np.arange(n)[:, None, None]
    rows = pos[:, 0, None, None] + np.arange(h)[None, :, None]
    cols = pos[:, 1, None, None] + np.arange(w)[None, None, :]
    frames[fr, rows, cols] = np.minimum(frames[fr, rows, cols] + src[source], 1.0)
    np.clip(frames, 0.0, 1.0, out=frames)
    out = (frames[:, None], y[source].astype(np.int64))
    if not return_info:
        return out
    info = {"source": source, "position": pos, "n_clutter": counts,
            "clutter_source": csrc, "clutter_position": cpos}
    return out + (info,)
