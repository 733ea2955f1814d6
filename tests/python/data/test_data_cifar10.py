"""bionn.data.cifar10: the one CIFAR-10 reader, on synthetic batches in the official formats."""
from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from datafakes import (_USER_BIONN_DATA, _USER_CACHE, cifar_batch_bytes, fake_cifar_dir, sha)

from bionn import data as ds


# ---------------------------------------------------------------------------------------------
# CIFAR-10 (synthetic batches in the official binary format)
# ---------------------------------------------------------------------------------------------

def test_read_cifar10_batch_layout(tmp_path):
    raw, images, labels = cifar_batch_bytes(7, seed=3)
    (tmp_path / "b.bin").write_bytes(raw)
    X, y = ds.read_cifar10_batch(tmp_path / "b.bin")
    assert X.shape == (7, 3, 32, 32) and X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)
    rec = np.frombuffer(raw, np.uint8).reshape(7, 3073)
    # red plane first, then green, then blue, each row-major
    assert X[2, 1, 5, 7] == rec[2, 1 + 1024 + 5 * 32 + 7]
    assert X[6, 2, 31, 0] == rec[6, 1 + 2048 + 31 * 32]


def test_read_cifar10_batch_rejects_bad_files(tmp_path):
    raw, _, _ = cifar_batch_bytes(3, seed=0)
    (tmp_path / "short.bin").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="multiple of the CIFAR-10 record size"):
        ds.read_cifar10_batch(tmp_path / "short.bin")
    bad = bytearray(raw)
    bad[3073] = 11
    (tmp_path / "label.bin").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="record 1 has label 11"):
        ds.read_cifar10_batch(tmp_path / "label.bin")
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ValueError):
        ds.read_cifar10_batch(tmp_path / "empty.bin")


def test_load_cifar10_from_directory(tmp_path):
    _, X, y = fake_cifar_dir(tmp_path, n=4)
    Xtr, ytr = ds.load_cifar10(root=tmp_path, cache_dir=tmp_path / "c")
    assert Xtr.shape == (20, 3, 32, 32) and Xtr.dtype == np.float32 and ytr.dtype == np.int64
    order = [f"data_batch_{k}.bin" for k in range(1, 6)]
    np.testing.assert_array_equal(Xtr, np.concatenate([X[n] for n in order]) / np.float32(255))
    np.testing.assert_array_equal(ytr, np.concatenate([y[n] for n in order]))
    Xte, yte = ds.load_cifar10(root=tmp_path, split="test", cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(yte, y["test_batch.bin"])
    Xall, yall = ds.load_cifar10(root=tmp_path, split="all", cache_dir=tmp_path / "c")
    assert Xall.shape == (24, 3, 32, 32)
    np.testing.assert_array_equal(yall, np.concatenate([ytr, yte]))


def _make_tarball(src_dir: Path, dest: Path) -> Path:
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(src_dir, arcname="cifar-10-batches-bin")
    return dest


def test_load_cifar10_from_tarball(tmp_path, monkeypatch):
    d, X, y = fake_cifar_dir(tmp_path / "src", n=3)
    data = tmp_path / "data" / "cifar-10"
    data.mkdir(parents=True)
    tar = _make_tarball(d, data / "cifar-10-binary.tar.gz")
    monkeypatch.setenv("BIONN_DATA", str(tmp_path / "data"))
    # a synthetic tarball is not the official file: the known SHA-256 rejects it ...
    with pytest.raises(ds.ChecksumError, match="not the official CIFAR-10"):
        ds.load_cifar10(split="test")
    # ... unless the test supplies the checksum
    Xte, yte = ds.load_cifar10(split="test", checksums={"cifar-10-binary.tar.gz": sha(tar)})
    np.testing.assert_array_equal(Xte, X["test_batch.bin"] / np.float32(255))
    np.testing.assert_array_equal(yte, y["test_batch.bin"])
    tar.write_bytes(tar.read_bytes()[:500])                              # truncated archive
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        ds.load_cifar10(split="test", checksums={"cifar-10-binary.tar.gz": None})
    assert str(tar) in str(info.value)


def test_load_cifar10_download(http_server, tmp_path):
    d, _, y = fake_cifar_dir(tmp_path / "src", n=2)
    tar = _make_tarball(d, http_server.root / "cifar-10-binary.tar.gz")
    sums = {"cifar-10-binary.tar.gz": sha(tar)}
    cache = tmp_path / "cache"
    _, ytr = ds.load_cifar10(root=tmp_path / "none", download=True, cache_dir=cache,
                             base_url=http_server.url, checksums=sums)
    assert (cache / "cifar-10-binary.tar.gz").is_file() and len(http_server.requests) == 1
    np.testing.assert_array_equal(ytr, np.concatenate([y[f"data_batch_{k}.bin"]
                                                       for k in range(1, 6)]))
    ds.load_cifar10(root=tmp_path / "none", download=True, cache_dir=cache,
                    base_url=http_server.url, checksums=sums)
    assert len(http_server.requests) == 1


def test_real_cifar10_if_available():
    roots = [Path(_USER_BIONN_DATA)] if _USER_BIONN_DATA else []
    for root in roots + [None]:
        try:
            X, y = ds.load_cifar10(root=root, split="test", cache_dir=_USER_CACHE / "cifar-10")
            break
        except FileNotFoundError:
            continue
    else:
        pytest.skip("official CIFAR-10 binary files not available offline (put them in "
                    "$BIONN_DATA/cifar-10/ or run load_cifar10(download=True))")
    assert X.shape == (10000, 3, 32, 32)
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))
