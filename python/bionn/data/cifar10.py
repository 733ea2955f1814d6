"""CIFAR-10: the one reader, for the official binary version (``cifar-10-batches-bin/*.bin`` or
the tarball ``cifar-10-binary.tar.gz``, read in memory) and for the extracted python version
(``cifar-10-batches-py/``).

The python version is a set of pickles. They are read by :class:`_BatchUnpickler`, which never
imports or calls anything outside this module: the only globals it resolves are the names numpy
uses to pickle an array (``_reconstruct``, ``ndarray``, ``dtype``, ``_frombuffer``) and
``_codecs.encode`` (how Python 3 writes bytes at protocol 2), and each resolves to an inert
stand-in here that merely records its arguments. Once the whole file is read, the ``data``
record is checked (a ``uint8`` array of shape ``(N, 3072)`` whose bytes are all present) and only
then turned into a NumPy array by :func:`numpy.frombuffer`. A pickle naming any other global is
rejected before anything is built.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._files import (
    _LOADER_DOC,
    ChecksumError,
    HashSpec,
    PathLike,
    _as_path,
    _candidate_dirs,
    _check_checksums_arg,
    _check_split,
    _download_from_mirrors,
    _expected_for,
    _not_found,
    _read_bytes,
    _repair_hint,
    _resolve_cache_dir,
    _Spec,
    _to_unit_float,
    _verify_file_hash,
)

__all__ = ["load_cifar10", "read_cifar10_batch", "CIFAR10_CLASSES"]

CIFAR10_CLASSES: Tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_CIFAR_TARBALL = "cifar-10-binary.tar.gz"
_BIN_DIR = "cifar-10-batches-bin"
_PY_DIR = "cifar-10-batches-py"
_PY_FILES: Dict[str, Tuple[str, ...]] = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_BIN_FILES: Dict[str, Tuple[str, ...]] = {k: tuple(n + ".bin" for n in v) for k, v in _PY_FILES.items()}
_PIXELS = 3 * 32 * 32
_CIFAR_RECORD = 1 + _PIXELS
_GENERIC_HINT = "Delete the file and obtain a fresh copy of it."
_CIFAR10 = _Spec("cifar-10", "CIFAR-10", "load_cifar10", ("cifar-10", "cifar10"))


# --------------------------------------------------------------------------------------------
# The binary version
# --------------------------------------------------------------------------------------------


def _parse_cifar_bin(data: bytes, source: str, hint: str) -> Tuple[np.ndarray, np.ndarray]:
    if len(data) == 0 or len(data) % _CIFAR_RECORD != 0:
        raise ValueError(
            f"{source}: size {len(data)} bytes is not a positive multiple of the "
            f"CIFAR-10 record size {_CIFAR_RECORD} (1 label byte + 3x32x32 pixels); "
            f"the file is truncated or not a CIFAR-10 binary batch. {hint}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise ValueError(
            f"{source}: record {bad} has label {int(labels[bad])}, outside 0..9; "
            f"the file is corrupt or not a CIFAR-10 binary batch. {hint}"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return images, labels.astype(np.int64)


# --------------------------------------------------------------------------------------------
# The python version: a restricted unpickler whose globals are inert stand-ins
# --------------------------------------------------------------------------------------------


class _StandIn:
    """A stand-in for a numpy object in a pickle: it records its arguments and state only."""

    def __init__(self, kind: str, args: tuple):
        self.kind, self.args, self.state = kind, args, None

    def __setstate__(self, state):
        self.state = state


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` (only valid as the subtype argument of ``_reconstruct``)."""


def _reconstruct(*args):
    return _StandIn("ndarray", args)


def _frombuffer(*args):
    return _StandIn("frombuffer", args)


def _dtype(*args):
    return _StandIn("dtype", args)


def _codecs_encode(text, encoding="utf-8", *rest):
    # Python 3 writes bytes at protocol 2 as _codecs.encode(<latin-1 str>, 'latin1').
    if rest or not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("only _codecs.encode(str, 'latin1') is allowed")
    return text.encode("latin-1")


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NdarrayToken,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _codecs_encode,
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise pickle.UnpicklingError(
                f"forbidden global {module}.{name} (a CIFAR-10 batch holds only numpy arrays, lists and strings)"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _is_u1(dtype_stand_in) -> bool:
    if isinstance(dtype_stand_in, (str, bytes)):  # _reconstruct's placeholder dtype 'b'
        return False
    return (
        isinstance(dtype_stand_in, _StandIn)
        and dtype_stand_in.kind == "dtype"
        and dtype_stand_in.args
        and dtype_stand_in.args[0] in ("u1", b"u1", "uint8", b"uint8")
    )


def _stand_in_to_uint8(stand_in) -> np.ndarray:
    """The validated uint8 array a stand-in describes (numpy sees plain bytes only)."""
    if isinstance(stand_in, _StandIn) and stand_in.kind == "ndarray":
        if len(stand_in.args) != 3 or stand_in.args[0] is not _NdarrayToken:
            raise ValueError("data is not a plain numpy array")
        state = stand_in.state
        if not (isinstance(state, tuple) and len(state) == 5):
            raise ValueError("data array has no valid state")
        _, shape, dtype, fortran, raw = state
        order = "F" if fortran is True else "C"
    elif isinstance(stand_in, _StandIn) and stand_in.kind == "frombuffer" and len(stand_in.args) == 4:
        raw, dtype, shape, order = stand_in.args
        order = order.decode() if isinstance(order, bytes) else order
    else:
        raise ValueError(f"data is a {type(stand_in).__name__}, not a numpy array")
    if not _is_u1(dtype):
        raise ValueError("data is not a uint8 array")
    if not (
        isinstance(shape, tuple)
        and len(shape) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise ValueError(f"data has an invalid shape {shape!r}")
    if shape[1] != _PIXELS or shape[0] < 1:
        raise ValueError(f"data has shape {shape}, expected (N, {_PIXELS})")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != shape[0] * shape[1]:
        raise ValueError(
            f"data holds {len(raw) if isinstance(raw, (bytes, bytearray)) else '?'} "
            f"bytes, its shape {shape} needs {shape[0] * shape[1]}"
        )
    if order not in ("C", "F"):
        raise ValueError(f"data has an invalid memory order {order!r}")
    return np.frombuffer(bytes(raw), dtype=np.uint8).reshape(shape, order=order)


def _parse_cifar_pickle(data: bytes, source: str, hint: str) -> Tuple[np.ndarray, np.ndarray]:
    bad = f"{source}: not a CIFAR-10 python batch"
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # forbidden globals, truncation, malformed opcodes, bad arguments
        raise ValueError(f"{bad} ({type(exc).__name__}: {exc}). {hint}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{bad} (it holds a {type(batch).__name__}, not a dict). {hint}")
    get = lambda key: batch.get(key.encode(), batch.get(key))  # noqa: E731 (bytes or str keys)
    stand_in, labels = get("data"), get("labels")
    if stand_in is None or labels is None:
        raise ValueError(f"{bad} (no 'data' and 'labels' entries). {hint}")
    try:
        X = _stand_in_to_uint8(stand_in)
    except ValueError as exc:
        raise ValueError(f"{bad} ({exc}). {hint}") from None
    if not (isinstance(labels, list) and all(type(v) is int for v in labels)):
        raise ValueError(f"{bad} ('labels' must be a list of ints). {hint}")
    if len(labels) != X.shape[0]:
        raise ValueError(f"{bad} ({X.shape[0]} images but {len(labels)} labels). {hint}")
    y = np.asarray(labels, dtype=np.int64)
    if y.min() < 0 or y.max() > 9:
        k = int(np.flatnonzero((y < 0) | (y > 9))[0])
        raise ValueError(f"{source}: record {k} has label {int(y[k])}, outside 0..9. {hint}")
    return X.reshape(-1, 3, 32, 32), y


def _parse_batch(data: bytes, source: str, hint: str) -> Tuple[np.ndarray, np.ndarray]:
    # A binary record starts with its label (0..9); a pickle of protocol >= 2 with 0x80.
    if data[:1] == b"\x80":
        return _parse_cifar_pickle(data, source, hint)
    return _parse_cifar_bin(data, source, hint)


def read_cifar10_batch(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch, binary (``data_batch_*.bin`` / ``test_batch.bin``) or python
    version (``data_batch_*`` / ``test_batch`` pickles, read without unpickling any object).

    A binary record is one label byte (0..9) followed by 3072 pixel bytes: the 1024 red, then
    green, then blue values of a 32x32 image in row-major order. A python batch is a pickled dict
    whose ``data`` is a ``uint8`` array ``(N, 3072)`` in the same pixel order and whose ``labels``
    is a list of N ints.

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
        A binary batch's size is not a positive multiple of 3073 bytes, a label is above 9, or a
        python batch is malformed or names anything but numpy's array reconstruction.
    """
    p = _as_path(path, "path")
    images, labels = _parse_batch(_read_bytes(p), str(p), _GENERIC_HINT)
    return images.copy(), labels


# --------------------------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------------------------


def _find_cifar_source(dirs: Sequence[Path], parts: Sequence[str]):
    """(kind, where, batch names) of the first directory holding CIFAR-10 in any format."""
    bin_names = [n for p in parts for n in _BIN_FILES[p]]
    py_names = [n for p in parts for n in _PY_FILES[p]]
    for d in dirs:
        for bd in (d / _BIN_DIR, d):
            if all((bd / n).is_file() for n in bin_names):
                return "dir", bd, bin_names
        if (d / _CIFAR_TARBALL).is_file():
            return "tar", d / _CIFAR_TARBALL, bin_names
        for bd in (d / _PY_DIR, d):
            if all((bd / n).is_file() for n in py_names):
                return "dir", bd, py_names
    return None, None, bin_names


def _describe_cifar(d: Path) -> str:
    if not d.is_dir():
        return f"  - {d}  (no such directory)"
    return f"  - {d}  (no {_CIFAR_TARBALL}, no complete {_BIN_DIR}/ or {_PY_DIR}/)"


def _read_cifar_tar(tar_path: Path, names: Sequence[str], expected, hint: str) -> Dict[str, bytes]:
    _verify_file_hash(tar_path, expected, "CIFAR-10", hint)
    out: Dict[str, bytes] = {}
    try:
        with tarfile.open(tar_path, "r:*") as tf:
            members = {}
            for m in tf:
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and base in names and base not in members:
                    members[base] = m
                    out[base] = tf.extractfile(m).read()  # read in memory, never extracted
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{tar_path}: corrupt or truncated tar.gz archive ({exc}). {hint}") from None
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(
            f"{tar_path}: archive lacks {', '.join(missing)} (expected {_BIN_DIR}/<batch>.bin members). {hint}"
        )
    return out


def load_cifar10(
    root: Optional[PathLike] = None,
    split: str = "train",
    download: bool = False,
    cache_dir: Optional[PathLike] = None,
    *,
    base_url: Union[str, Sequence[str], None] = None,
    checksums: Optional[Mapping[str, HashSpec]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    parts = _check_split(split)
    checksums = _check_checksums_arg(checksums)
    spec = _CIFAR10
    cache = _resolve_cache_dir(spec, cache_dir)
    dirs = _candidate_dirs(spec, root, cache)
    kind, where, names = _find_cifar_source(dirs, parts)
    tar_expected = _expected_for(spec.key, _CIFAR_TARBALL, checksums)[0]
    if kind is None:
        if not download:
            batches = ", ".join(n[:-4] for n in names)
            need = [f"{_CIFAR_TARBALL}, or {_BIN_DIR}/{{{', '.join(names)}}}, or {_PY_DIR}/{{{batches}}}"]
            raise _not_found(spec, need, split, [_describe_cifar(d) for d in dirs], cache, root)
        kind, where = "tar", _download_from_mirrors(spec, _CIFAR_TARBALL, cache, base_url, tar_expected)
    if kind == "tar":
        hint = _repair_hint(spec, where, cache)
        try:
            blobs = _read_cifar_tar(where, names, tar_expected, hint)
        except ChecksumError:
            if not (download and where.parent == cache):
                raise
            _download_from_mirrors(spec, _CIFAR_TARBALL, cache, base_url, tar_expected)
            blobs = _read_cifar_tar(where, names, tar_expected, hint)
        sources = {n: f"{where}:{_BIN_DIR}/{n}" for n in names}
        hints = {n: hint for n in names}
    else:
        blobs, sources, hints = {}, {}, {}
        for n in names:
            path = where / n
            hints[n] = _repair_hint(spec, path, cache)
            _verify_file_hash(path, _expected_for(spec.key, n, checksums)[0], "CIFAR-10", hints[n])
            blobs[n] = _read_bytes(path)
            sources[n] = str(path)
    Xs: List[np.ndarray] = []
    ys: List[np.ndarray] = []
    for n in names:
        images, labels = _parse_batch(blobs[n], sources[n], hints[n])
        Xs.append(images)
        ys.append(labels)
    images = np.concatenate(Xs) if len(Xs) > 1 else Xs[0]
    y = np.concatenate(ys) if len(ys) > 1 else ys[0]
    return _to_unit_float(images), y


load_cifar10.__doc__ = _LOADER_DOC.format(
    title=(
        "CIFAR-10 from the official binary version (``cifar-10-batches-bin/*.bin`` or the "
        "tarball ``cifar-10-binary.tar.gz``, read without extracting it) or from the extracted "
        "python version (``cifar-10-batches-py/``, read without unpickling any object; see "
        ":func:`read_cifar10_batch`)"
    ),
    sub="cifar-10",
    key="cifar-10",
    extra="",
    shape="(N, 3, 32, 32)",
    classes=" (names in :data:`CIFAR10_CLASSES`)",
)
