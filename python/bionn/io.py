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
import json
import os
import tempfile
import zipfile
from typing import IO, Any, Dict, Iterator, Mapping, Tuple, Union

import numpy as np

__all__ = ["HEADER_KEY", "atomic_write", "save_archive", "load_archive"]

HEADER_KEY = "__bionn_config__"
# Files written before the format was shared kept the self-organizing network's header here.
_LEGACY_HEADER_KEYS = ("__config__",)

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_write(path: PathLike, binary: bool = True) -> Iterator[IO]:
    """``with atomic_write(path) as fh: ...`` — ``path`` appears only once the block succeeds.

    The data go to a temporary file beside ``path``, are fsynced and renamed over it, so a crash or
    an exception never leaves a truncated file behind or destroys the previous one.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".bionn-", suffix=".tmp", dir=directory)
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
    path = os.fspath(path)
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
        a = np.asarray(value)
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


def load_archive(
    path: PathLike, format: str, max_version: int, *, what: str = "bionn file"
) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """Reads a file written by :func:`save_archive` and checks what it claims to be.

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
        The file is truncated, corrupt, not an ``.npz``, not a ``format`` file, or of a version
        outside ``1..max_version``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {what} at {path!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{path!r} is a single .npy array, not a {what} (.npz)")
        with loaded as archive:
            key = next((k for k in (HEADER_KEY, *_LEGACY_HEADER_KEYS) if k in archive.files), None)
            if key is None:
                raise ValueError(f"{path!r} is not a {what} (no {HEADER_KEY} entry)")
            header = json.loads(bytes(archive[key]).decode("utf-8"))
            arrays = {k: archive[k] for k in archive.files if k not in (HEADER_KEY, *_LEGACY_HEADER_KEYS)}
    except ValueError as exc:
        if what in str(exc):
            raise
        raise ValueError(f"{path!r} is corrupt or not a {what}: {exc}") from None
    # zipfile reports damaged metadata as RuntimeError (encrypted flag) or NotImplementedError
    # (unknown compression); to the caller all of these are a corrupt file.
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        KeyError,
        UnicodeDecodeError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise ValueError(f"{path!r} is corrupt or truncated: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != format:
        raise ValueError(f"{path!r} is not a {what} (format {format!r})")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= max_version:
        raise ValueError(f"{path!r} has format version {version!r}; this bionn reads versions 1 to {max_version}")
    return header, arrays
