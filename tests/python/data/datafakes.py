"""Test helpers of tests/python/data: where the real data are, and small files in the official
formats (IDX, CIFAR-10 binary and python batches)."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]

# Captured at import, before the autouse fixture of conftest.py sandboxes the environment.
_USER_BIONN_DATA = os.environ.get("BIONN_DATA")
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bionn"


def _find_shared() -> Path:
    for env in ("BIONN_DATA", "BIONN_SHARED_DATA"):
        value = os.environ.get(env)
        if value and (Path(value) / "mnist-sample-10k").is_dir():
            return Path(value)
    return REPO.parent / "shared" / "data"


SHARED = _find_shared()
SAMPLE_DIR = SHARED / "mnist-sample-10k"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

needs_sample = pytest.mark.skipif(
    not (SAMPLE_DIR / "images-idx3-ubyte.gz").is_file(),
    reason=f"shared MNIST sample not found at {SAMPLE_DIR} (set BIONN_DATA)",
)
needs_fashion = pytest.mark.skipif(
    not all((DEBIAN_FASHION / f).is_file() for f in FASHION_FILES),
    reason=f"Fashion-MNIST not installed at {DEBIAN_FASHION} (sudo apt-get install dataset-fashion-mnist)",
)


_IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr)
    code = _IDX_CODES[arr.dtype.kind + str(arr.dtype.itemsize)]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray, compress: bool = True) -> Path:
    data = idx_bytes(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_mnist(directory: Path, n_train: int = 20, n_test: int = 10, seed: int = 0):
    """Writes the four official MNIST file names with small random content."""
    rng = np.random.default_rng(seed)
    out = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(directory / f"{part}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{part}-labels-idx1-ubyte.gz", labels)
        out[part] = (images, labels)
    return out


def cifar_batch_bytes(n: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
    return records.tobytes(), images, labels


def fake_cifar_dir(directory: Path, n: int = 4):
    """cifar-10-batches-bin/ with 5 train batches and the test batch of n records each."""
    d = directory / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    X, y = {}, {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        raw, X[name], y[name] = cifar_batch_bytes(n, seed=i)
        (d / name).write_bytes(raw)
    return d, X, y


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def good_idx() -> bytes:
    return idx_bytes(np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3))
