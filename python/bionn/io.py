"""The one file format of bionn: an ``.npz`` archive of arrays plus a JSON header, no pickle,
written atomically.

Models (:meth:`bionn.nn.Sequential.save`), self-organizing networks
(:meth:`bionn.selforg.SelfOrganizingNetwork.save`) and run records all go through
:func:`save_archive` / :func:`load_archive`, so every file fails the same way: a missing file is a
:class:`FileNotFoundError`, anything else wrong with it (truncated, corrupt, not a bionn file, a
newer format, a malformed header) is a :class:`ValueError` naming the path.

The header is a UTF-8 JSON object stored as a ``uint8`` array under :data:`HEADER_KEY`; it holds
at least ``"format"`` (what the file is) and ``"version"`` (an integer).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import stat
import tempfile
import time
import zipfile
from typing import IO, Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

import numpy as np

from ._validation import as_ndarray, check_path, check_size

__all__ = ["HEADER_KEY", "atomic_write", "save_archive", "load_archive", "Member"]

HEADER_KEY = "__bionn_config__"
# Files written before the format was shared kept the self-organizing network's header here.
_LEGACY_HEADER_KEYS = ("__config__",)

PathLike = Union[str, "os.PathLike[str]"]

# A JSON header larger than this is not one bionn wrote (a model's header is a few kB).
_MAX_HEADER_BYTES = 16 * 2**20
# Temporary files of interrupted saves (a killed process cannot remove its own) older than this are
# removed by the next save into the same directory; a save in progress keeps its file's mtime fresh.
STALE_TEMP_SECONDS = 3600

Member = Tuple[Tuple[int, ...], np.dtype]
"""What an archive entry declares in its .npy header: ``(shape, dtype)``, known before its data are read."""


@contextlib.contextmanager
def atomic_write(path: PathLike, binary: bool = True) -> Iterator[IO]:
    """``with atomic_write(path) as fh: ...`` — ``path`` appears only once the block succeeds.

    The data go to a temporary file beside ``path``, are fsynced and renamed over it, so a crash or
    an exception never leaves a truncated file behind or destroys the previous one.
    """
    path = check_path(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: the directory {directory!r} does not exist")
    name = os.path.basename(path)
    _remove_stale_temp_files(directory)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.bionn-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_stale_temp_files(directory: str) -> None:
    """Removes the temporary files (``.<target>.bionn-*.tmp``, and ``.bionn-*.tmp`` of earlier
    releases) that saves killed mid-write left in ``directory``, once older than
    :data:`STALE_TEMP_SECONDS`. Best effort: a file that cannot be removed is left."""
    now = time.time()
    for pattern in (".*.bionn-*.tmp", ".bionn-*.tmp"):
        for tmp in glob.glob(os.path.join(glob.escape(directory), pattern)):
            try:
                st = os.lstat(tmp)
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(tmp)
            except OSError:
                pass


def save_archive(path: PathLike, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Writes ``arrays`` and the JSON ``header`` to ``path`` (.npz), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced only once the new one is complete).
    header : mapping
        JSON-serialisable; must contain ``"format"`` (str) and ``"version"`` (int).
    arrays : mapping of str to numpy.ndarray
        Numeric arrays; names must not start with ``"__"``.

    Raises
    ------
    TypeError
        The header is not JSON-serialisable.
    ValueError
        The header lacks format/version or holds NaN, an array name
        is reserved, or an array holds NaN/Inf (:func:`load_archive` would refuse the file, so a
        good file is never replaced by one).
    """
    path = check_path(path)
    if (
        not isinstance(header.get("format"), str)
        or isinstance(header.get("version"), bool)
        or not isinstance(header.get("version"), int)
    ):
        raise ValueError("header needs a string 'format' and an integer 'version'")
    blob = json.dumps(dict(header), allow_nan=False).encode("utf-8")  # TypeError if not serialisable
    out: Dict[str, np.ndarray] = {}
    bad = []
    for name, value in arrays.items():
        if not isinstance(name, str) or name.startswith("__"):
            raise ValueError(f"array name {name!r} is reserved or not a string")
        a = as_ndarray(value, f"array {name!r}")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"array {name!r} has non-numeric dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad.append(name)
        out[name] = a
    if bad:
        raise ValueError(f"refusing to save NaN/Inf in {bad}; the file {path!r} was not written")
    out[HEADER_KEY] = np.frombuffer(blob, dtype=np.uint8)
    with atomic_write(path) as fh:
        np.savez(fh, **out)


Expect = Callable[[Dict[str, Any], Dict[str, Member]], Mapping[str, Tuple[int, ...]]]


def open_regular(path: PathLike, what: str = "file", name: str = "path") -> IO[bytes]:
    """Opens ``path`` for reading in binary, refusing anything but a regular file.

    A FIFO, socket or device is refused, never waited on (a FIFO with no writer would block
    ``open`` forever); a missing file is FileNotFoundError, everything else ValueError, each
    naming the path and ``what`` it should have been.
    """
    path = check_path(path, name)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no {what} at {path!r}")
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise block forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {path!r}") from None
    except IsADirectoryError:
        raise ValueError(f"{path!r} is a directory, not a {what}") from None
    except OSError as exc:
        raise ValueError(f"{path!r} cannot be opened as a {what}: {exc.strerror}") from None
    fh = os.fdopen(fd, "rb")
    try:
        mode = os.fstat(fh.fileno()).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
            raise ValueError(f"{path!r} is {kind}, not a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fh.fileno(), True)
    except BaseException:
        fh.close()
        raise
    return fh


def load_archive(
    path: PathLike,
    format: str,
    max_version: int,
    *,
    what: str = "bionn file",
    expect: Optional[Expect] = None,
) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """Reads a file written by :func:`save_archive` and checks what it claims to be.

    Nothing is read in full before it is checked: the file must be a regular file (a FIFO or a
    device is refused, never waited on); the JSON header is read first; then every entry's .npy
    header (shape and dtype) is read and checked — numeric, no pickled objects, its bytes within
    :func:`bionn._validation.memory_limit` — and, given ``expect``, compared with the shapes the
    header implies; only then are the arrays read.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    format : str
        The expected ``header["format"]``.
    max_version : int
        The newest format version this bionn reads (versions 1 to ``max_version`` are accepted).
    what : str
        How error messages name the file ("bionn model file", ...).
    expect : callable, optional
        ``expect(header, members) -> {name: shape}``: the arrays the header says the file must hold
        (``members`` maps each entry to its declared ``(shape, dtype)``, so a caller can also bound
        what it builds by what the file declares). Missing or unexpected entries and other shapes
        are refused before any array is read. It may raise ValueError/TypeError for a malformed
        header (propagated unchanged).

    Returns
    -------
    header : dict
        The JSON header.
    arrays : dict of str to numpy.ndarray
        Every other entry (never unpickled).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a regular file, is truncated, corrupt, not an ``.npz``, not a ``format``
        file, of a version outside ``1..max_version``, or holds arrays that are too large, of a
        non-numeric dtype, or (with ``expect``) missing, unexpected or of other shapes.
    """
    path = check_path(path)
    with open_regular(path, what) as fh:
        try:
            with zipfile.ZipFile(fh) as zf:
                members = _members(zf, path, what)
                key = next((k for k in (HEADER_KEY, *_LEGACY_HEADER_KEYS) if k in members), None)
                if key is None:
                    raise ValueError(f"{path!r} is not a {what} (no {HEADER_KEY} entry)")
                shape, dtype = members[key]
                if len(shape) != 1 or dtype != np.uint8 or shape[0] > _MAX_HEADER_BYTES:
                    raise ValueError(f"{path!r} is corrupt: its header entry is {shape} {dtype}, not a JSON text")
                header = json.loads(bytes(_read(zf, key)).decode("utf-8"))
                _check_header(header, path, format, max_version, what)
                members = {k: v for k, v in members.items() if k not in (HEADER_KEY, *_LEGACY_HEADER_KEYS)}
                total, largest = 0, (-1, "")
                for name, (shape, dtype) in members.items():
                    count = int(np.prod(shape, dtype=object))
                    total += count * dtype.itemsize
                    largest = max(largest, (count * dtype.itemsize, name))
                    try:
                        check_size(f"array {name!r} of shape {shape}", count, dtype.itemsize)
                        check_size(f"the file's arrays (the largest {largest[1]!r})", total, 1)
                    except ValueError as exc:
                        raise ValueError(f"{path!r} is refused: {exc}") from None
                if expect is not None:
                    _check_expected(members, expect(header, dict(members)), path)
                arrays = {k: _read(zf, k) for k in members}
        except ValueError as exc:
            if repr(path) in str(exc):
                raise
            raise ValueError(f"{path!r} is corrupt or not a {what}: {exc}") from None
        # zipfile reports damaged metadata as RuntimeError (encrypted flag) or NotImplementedError
        # (unknown compression); to the caller all of these are a corrupt file.
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            OSError,
            EOFError,
            KeyError,
            UnicodeDecodeError,
            RuntimeError,
            NotImplementedError,
            OverflowError,
            MemoryError,
        ) as exc:
            raise ValueError(f"{path!r} is corrupt or truncated: {type(exc).__name__}: {exc}") from None
    return header, arrays


def _members(zf: zipfile.ZipFile, path: str, what: str) -> Dict[str, Member]:
    """Each ``.npy`` entry's declared shape and dtype, from its header only."""
    out: Dict[str, Member] = {}
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"{path!r} is not a {what}: unexpected entry {info.filename!r}")
        name = info.filename[: -len(".npy")]
        if name in out:
            raise ValueError(f"{path!r} is corrupt: the entry {name!r} appears twice")
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"array {name!r} has .npy format version {version}, which bionn does not write")
        if dtype.hasobject or dtype.kind not in "biuf":
            raise ValueError(f"array {name!r} has dtype {dtype}; a {what} holds numbers only (no pickled objects)")
        out[name] = (tuple(int(d) for d in shape), dtype)
    return out


def _read(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    with zf.open(name + ".npy") as f:
        return np.lib.format.read_array(f, allow_pickle=False)


def _check_header(header: Any, path: str, format: str, max_version: int, what: str) -> None:
    if not isinstance(header, dict) or header.get("format") != format:
        raise ValueError(f"{path!r} is not a {what} (format {format!r})")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= max_version:
        raise ValueError(f"{path!r} has format version {version!r}; this bionn reads versions 1 to {max_version}")


def _check_expected(members: Mapping[str, Member], expected: Mapping[str, Tuple[int, ...]], path: str) -> None:
    missing = sorted(set(expected) - set(members))
    unexpected = sorted(set(members) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path!r}: arrays do not match the architecture (mismatch: missing {missing}, unexpected {unexpected})"
        )
    for name, shape in expected.items():
        if tuple(members[name][0]) != tuple(shape):
            raise ValueError(
                f"{path!r}: array {name!r} has shape {members[name][0]}, the architecture needs {tuple(shape)}"
            )
