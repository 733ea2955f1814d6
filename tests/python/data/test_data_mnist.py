"""bionn.data.mnist: the shared MNIST sample and Debian's Fashion-MNIST (real data), the IDX
parser, loaders on synthetic files, and the messages for missing files."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from datafakes import (
    _USER_BIONN_DATA,
    _USER_CACHE,
    DEBIAN_FASHION,
    FASHION_FILES,
    REPO,
    SAMPLE_DIR,
    SHARED,
    fake_mnist,
    flip_byte,
    good_idx,
    needs_fashion,
    needs_sample,
    sha,
    write_idx,
)

from bionn import data as ds

# ---------------------------------------------------------------------------------------------
# the shared MNIST sample (real data)
# ---------------------------------------------------------------------------------------------


@needs_sample
def test_mnist_sample_loads_real_digits(monkeypatch):
    # default lookup: <repo>/../shared/data, found from the current directory (as in CI) even
    # when bionn is installed in site-packages
    if (REPO.parent / "shared" / "data" / "mnist-sample-10k").is_dir():
        monkeypatch.chdir(REPO)
    else:
        monkeypatch.setenv("BIONN_DATA", str(SHARED))
    X, y = ds.load_mnist_sample()
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.round(X * 255) / 255, X)  # exact k/255 values
    # per-class counts documented in SOURCE.md
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
    assert 0.05 < X.mean() < 0.25  # digits, not noise


@needs_sample
def test_mnist_sample_checksums_match_shared_sha256sums():
    sums = {}
    for line in (SHARED / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(None, 1)
        sums[os.path.normpath(name.lstrip("*"))] = digest
    for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        actual = sha(SAMPLE_DIR / name)
        assert sums[os.path.join("mnist-sample-10k", name)] == actual
        assert ds.SHA256["mnist-sample-10k"][name] == (actual,)


@needs_sample
def test_mnist_sample_lookup_env_and_root(monkeypatch):
    _, y_ref = ds.load_mnist_sample(root=SAMPLE_DIR)
    monkeypatch.setenv("BIONN_DATA", str(SHARED))
    _, y_env = ds.load_mnist_sample()
    _, y_parent = ds.load_mnist_sample(root=SHARED)
    np.testing.assert_array_equal(y_env, y_ref)
    np.testing.assert_array_equal(y_parent, y_ref)


def _copy_sample(tmp_path: Path, with_sums: bool = True) -> Path:
    """Writable copy of the sample (the shared originals are read-only)."""
    shared = tmp_path / "shared"
    (shared / "mnist-sample-10k").mkdir(parents=True)
    for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        shutil.copyfile(SAMPLE_DIR / name, shared / "mnist-sample-10k" / name)
    if with_sums:
        shutil.copyfile(SHARED / "SHA256SUMS", shared / "SHA256SUMS")
    return shared


@needs_sample
def test_mnist_sample_verified_against_sha256sums(tmp_path):
    shared = _copy_sample(tmp_path)
    sums = shared / "SHA256SUMS"
    good = sha(shared / "mnist-sample-10k" / "labels-idx1-ubyte.gz")
    sums.write_text(sums.read_text().replace(good, "0" * 64))
    with pytest.raises(ValueError, match="SHA-256 mismatch") as info:
        ds.load_mnist_sample(root=shared)
    assert "labels-idx1-ubyte.gz" in str(info.value) and "SHA256SUMS" in str(info.value)


@needs_sample
@pytest.mark.parametrize("with_sums", [True, False], ids=["SHA256SUMS", "built-in-table"])
def test_mnist_sample_corrupt_copy_is_rejected(tmp_path, with_sums):
    shared = _copy_sample(tmp_path, with_sums)
    ds.load_mnist_sample(root=shared)  # intact copy loads
    labels = shared / "mnist-sample-10k" / "labels-idx1-ubyte.gz"
    flip_byte(labels, 20)
    with pytest.raises(ValueError) as info:
        ds.load_mnist_sample(root=shared)
    assert str(labels) in str(info.value) and "Delete" in str(info.value)


def test_mnist_sample_missing_says_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_mnist_sample(root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "BIONN_DATA" in msg and "mnist-sample-10k" in msg


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST from Debian (real data)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion_train():
    if not all((DEBIAN_FASHION / f).is_file() for f in FASHION_FILES):
        pytest.skip(f"Fashion-MNIST not installed at {DEBIAN_FASHION} (sudo apt-get install dataset-fashion-mnist)")
    # default lookup (no root, no $BIONN_DATA, empty cache) must find the Debian files
    return ds.load_fashion_mnist()


@needs_fashion
def test_fashion_mnist_train_from_debian(fashion_train):
    X, y = fashion_train
    assert X.shape == (60000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (60000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 6000))


@needs_fashion
def test_fashion_mnist_test_via_bionn_data_subfolder(tmp_path, monkeypatch):
    sub = tmp_path / "data" / "fashion-mnist"
    sub.mkdir(parents=True)
    for f in FASHION_FILES[2:]:
        (sub / f).symlink_to(DEBIAN_FASHION / f)
    monkeypatch.setenv("BIONN_DATA", str(tmp_path / "data"))
    X, y = ds.load_fashion_mnist(split="test")
    assert X.shape == (10000, 1, 28, 28) and 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))


@needs_fashion
def test_fashion_mnist_bionn_data_takes_precedence_over_debian(tmp_path, monkeypatch):
    sub = tmp_path / "fashion-mnist"
    sub.mkdir()
    shutil.copyfile(DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz", sub / "t10k-labels-idx1-ubyte.gz")
    (sub / "t10k-images-idx3-ubyte.gz").symlink_to(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz")
    flip_byte(sub / "t10k-labels-idx1-ubyte.gz", 200)
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="SHA-256 mismatch") as info:  # not a silent fallback
        ds.load_fashion_mnist(split="test")
    msg = str(info.value)
    assert str(sub / "t10k-labels-idx1-ubyte.gz") in msg
    assert "Delete" in msg and "download=True" in msg


@needs_fashion
def test_fashion_mnist_recompressed_copy_accepted_by_content_hash(tmp_path):
    raw = gzip.decompress((DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw, compresslevel=1))
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz")
    _, y = ds.load_fashion_mnist(root=tmp_path, split="test")
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))
    # same gzip container but one label changed: the content hash must reject it
    changed = bytearray(raw)
    changed[-1] = (changed[-1] + 1) % 10
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(changed)))
    with pytest.raises(ds.ChecksumError):
        ds.load_fashion_mnist(root=tmp_path, split="test")


# ---------------------------------------------------------------------------------------------
# IDX parser and corrupt files (synthetic)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    arr = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5)
    arr = (arr % 256 if dtype == np.uint8 else arr).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if compress else "a.idx"), arr, compress)
    out = ds.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # writable copy


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        ("bad-magic", b"\x01\x00" + good_idx()[2:], "magic"),
        ("bad-dtype", b"\x00\x00\x0a\x03" + good_idx()[4:], "data-type code"),
        ("zero-dims", b"\x00\x00\x08\x00", "0 dimensions"),
        ("short-header", good_idx()[:9], "truncated IDX header"),
        ("tiny", b"\x00\x00", "too short"),
        ("truncated-payload", good_idx()[:-1], "truncated"),
        ("trailing-data", good_idx() + b"\x00", "trailing data"),
    ],
)
def test_read_idx_rejects_malformed(tmp_path, name, data, pattern):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as info:
        ds.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    src = write_idx(tmp_path / "x.gz", np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8))
    raw = src.read_bytes()
    cases = {
        "truncated.gz": raw[: len(raw) // 2],
        "flipped.gz": raw[:200] + bytes([raw[200] ^ 0xFF]) + raw[201:],
        "crc.gz": raw[:-8] + bytes([raw[-8] ^ 0xFF]) + raw[-7:],
        "notgzip.gz": good_idx(),
        "garbage.gz": raw + b"garbage",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError) as info:
            ds.read_idx(path)
        assert str(path) in str(info.value), name


def test_read_idx_checks_expected_dtype_and_ndim(tmp_path):
    path = write_idx(tmp_path / "a.gz", np.zeros((2, 3), dtype=np.int16))
    with pytest.raises(ValueError, match="uint8"):
        ds.read_idx(path, expected_dtype=np.uint8)
    with pytest.raises(ValueError, match="dimensions"):
        ds.read_idx(path, expected_ndim=3)
    with pytest.raises(FileNotFoundError):
        ds.read_idx(tmp_path / "missing.gz")


def test_loader_on_synthetic_files_with_checksum_override(tmp_path):
    truth = fake_mnist(tmp_path / "mnist")
    names = [p.name for p in (tmp_path / "mnist").iterdir()]
    sums = {n: sha(tmp_path / "mnist" / n) for n in names}
    X, y = ds.load_mnist(root=tmp_path, split="all", cache_dir=tmp_path / "c", checksums=sums)
    assert X.shape == (30, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    expected = np.concatenate([truth["train"][0], truth["t10k"][0]])[:, None] / np.float32(255)
    np.testing.assert_array_equal(X, expected.astype(np.float32))
    np.testing.assert_array_equal(y, np.concatenate([truth["train"][1], truth["t10k"][1]]))
    # without the override the official checksums apply and reject the synthetic files
    with pytest.raises(ds.ChecksumError, match="not the official MNIST"):
        ds.load_mnist(root=tmp_path, cache_dir=tmp_path / "c")


def test_loader_truncated_file_without_checksum(tmp_path):
    fake_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    skip = dict.fromkeys(FASHION_FILES)
    with pytest.raises(ValueError, match="truncated") as info:
        ds.load_mnist(root=tmp_path, cache_dir=tmp_path / "c", checksums=skip)
    assert str(path) in str(info.value) and "download=True" in str(info.value)


def test_loader_rejects_inconsistent_files(tmp_path):
    skip = dict.fromkeys(FASHION_FILES)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="do not belong together"):
        ds.load_mnist(root=tmp_path, cache_dir=tmp_path / "c", checksums=skip)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(5, 10, np.uint8))
    with pytest.raises(ValueError, match="outside 0..9"):
        ds.load_mnist(root=tmp_path, cache_dir=tmp_path / "c", checksums=skip)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.int16))
    with pytest.raises(ValueError, match="expected uint8"):
        ds.load_mnist(root=tmp_path, cache_dir=tmp_path / "c", checksums=skip)


# ---------------------------------------------------------------------------------------------
# missing files
# ---------------------------------------------------------------------------------------------


def test_missing_mnist_message(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError) as info:
        ds.load_mnist(root=tmp_path, cache_dir=cache)
    msg = str(info.value)
    for needle in (
        str(tmp_path),
        str(tmp_path / "mnist"),
        str(cache),
        "download=True",
        "BIONN_DATA",
        "train-images-idx3-ubyte.gz",
        "root=",
    ):
        assert needle in msg, needle


def test_missing_fashion_message_names_debian_package(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_fashion_mnist(root=tmp_path, split="test", cache_dir=tmp_path / "c")
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "download=True" in msg
    assert str(tmp_path / "fashion-mnist") in msg and "t10k-images-idx3-ubyte.gz" in msg


def test_missing_with_bionn_data_lists_all_places(tmp_path, monkeypatch):
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        ds.load_mnist(split="test")
    msg = str(info.value)
    assert str(tmp_path / "mnist") in msg and str(tmp_path / "xdg-cache" / "bionn" / "mnist") in msg


def test_missing_cifar_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_cifar10(root=tmp_path, cache_dir=tmp_path / "c")
    msg = str(info.value)
    assert "cifar-10-binary.tar.gz" in msg and "download=True" in msg and str(tmp_path) in msg


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        ds.load_mnist(root=tmp_path, split="validation")
    with pytest.raises(TypeError, match="split"):
        ds.load_cifar10(root=tmp_path, split=1)
    with pytest.raises(TypeError, match="root"):
        ds.load_fashion_mnist(root=3)
    with pytest.raises(ValueError, match="SHA-256"):
        ds.load_mnist(root=tmp_path, checksums={"train-images-idx3-ubyte.gz": "abc"})


def test_real_mnist_if_available():
    roots = [Path(_USER_BIONN_DATA)] if _USER_BIONN_DATA else []
    for root in roots + [None]:
        try:
            X, y = ds.load_mnist(root=root, split="test", cache_dir=_USER_CACHE / "mnist")
            break
        except FileNotFoundError:
            continue
    else:
        pytest.skip(
            "official MNIST files not available offline (put them in $BIONN_DATA/mnist/ "
            "or run load_mnist(download=True))"
        )
    assert X.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
