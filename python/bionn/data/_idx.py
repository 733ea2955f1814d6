"""The IDX file format (MNIST and its relatives): strict gzip decoding, header checks, and the
verified reading of an images/labels pair."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._files import PathLike, _as_path, _mismatch, _read_bytes, _to_unit_float

__all__ = ["read_idx"]

# IDX type codes -> big-endian NumPy dtypes.
_IDX_DTYPES: Dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GENERIC_HINT = "Delete the file and obtain a fresh copy of it."


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
                raise ValueError(f"{source}: truncated gzip data (the compressed stream ends early). {hint}")
            rest = d.unused_data
            if rest[:2] != b"\x1f\x8b":
                if rest.strip(b"\x00"):
                    raise ValueError(f"{source}: {len(rest)} bytes of trailing garbage after the gzip data. {hint}")
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


def _parse_idx(
    data: bytes, source: str, hint: str, expected_dtype: Optional[np.dtype] = None, expected_ndim: Optional[int] = None
) -> np.ndarray:
    """Parse uncompressed IDX bytes; returns a read-only view with the file's (big-endian) dtype."""
    if len(data) < 4:
        raise ValueError(f"{source}: file too short for an IDX header ({len(data)} bytes). {hint}")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{source}: bad IDX magic number 0x{data[:4].hex()} (the first two bytes "
            f"must be zero); this is not an IDX file. {hint}"
        )
    if code not in _IDX_DTYPES:
        raise ValueError(f"{source}: unknown IDX data-type code 0x{code:02x} (magic 0x{data[:4].hex()}). {hint}")
    dtype = _IDX_DTYPES[code]
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions. {hint}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header ({len(data)} bytes, need {header}). {hint}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if expected_dtype is not None and dtype != np.dtype(expected_dtype).newbyteorder(">"):
        raise ValueError(f"{source}: IDX data type is {dtype.name}, expected {np.dtype(expected_dtype).name}. {hint}")
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{source}: IDX file has {ndim} dimensions {dims}, expected {expected_ndim}. {hint}")
    count = 1
    for d in dims:
        count *= d
    need = count * dtype.itemsize
    have = len(data) - header
    if have != need:
        what = "truncated" if have < need else "has trailing data"
        raise ValueError(
            f"{source}: payload is {have} bytes but the header dimensions {dims} "
            f"require {need} bytes (file {what}). {hint}"
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)


def read_idx(path: PathLike, *, expected_dtype=None, expected_ndim: Optional[int] = None) -> np.ndarray:
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
            raise _mismatch(
                path, got or hashlib.sha256(raw).hexdigest(), file_hashes or content_hashes, what, hint
            ) from exc
        raise
    if not verified:
        content_got = hashlib.sha256(data).hexdigest()
        if content_got not in content_hashes:
            raise _mismatch(path, got or content_got, (file_hashes or ()) + tuple(content_hashes), what, hint)
    return data


def _load_idx_pair(
    img_path: Path, lbl_path: Path, expected: Dict[str, Tuple], what: str, hints: Dict[str, str], num_classes: int = 10
) -> Tuple[np.ndarray, np.ndarray]:
    """Verified images (as ``(N, 1, h, w)`` float32 in [0, 1]) and int64 labels of an IDX pair."""
    img_data = _verified_idx_bytes(img_path, *expected[img_path.name], what, hints[img_path.name])
    lbl_data = _verified_idx_bytes(lbl_path, *expected[lbl_path.name], what, hints[lbl_path.name])
    images = _parse_idx(img_data, str(img_path), hints[img_path.name], np.uint8, 3)
    labels = _parse_idx(lbl_data, str(lbl_path), hints[lbl_path.name], np.uint8, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img_path} holds {images.shape[0]} images but {lbl_path} holds "
            f"{labels.shape[0]} labels; the files do not belong together. "
            f"{hints[img_path.name]}"
        )
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"{lbl_path}: label {int(labels.max())} outside 0..{num_classes - 1}. {hints[lbl_path.name]}")
    X = _to_unit_float(images)[:, None, :, :]
    return X, labels.astype(np.int64)
