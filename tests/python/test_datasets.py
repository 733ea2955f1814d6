"""Tests of bionn.datasets: loaders (real shared/Debian data and synthetic files), the IDX and
CIFAR-10 parsers, verified downloads from a throwaway local HTTP server, and the NumPy utilities.

No test reaches the internet: an autouse fixture makes any non-loopback connection fail.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import tarfile
import threading
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from repo_source import import_datasets

REPO = Path(__file__).resolve().parents[2]


ds = import_datasets()

# Captured before the autouse fixture sandboxes the environment.
_USER_BIONN_DATA = os.environ.get("BIONN_DATA")
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bionn"
SHARED = Path(os.environ.get("BIONN_SHARED_DATA") or REPO.parent / "shared" / "data")
SAMPLE_DIR = SHARED / "mnist-sample-10k"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

needs_sample = pytest.mark.skipif(
    not (SAMPLE_DIR / "images-idx3-ubyte.gz").is_file(),
    reason=f"shared MNIST sample not found at {SAMPLE_DIR} (set BIONN_SHARED_DATA)")
needs_fashion = pytest.mark.skipif(
    not all((DEBIAN_FASHION / f).is_file() for f in FASHION_FILES),
    reason=f"Fashion-MNIST not installed at {DEBIAN_FASHION} "
           f"(sudo apt-get install dataset-fashion-mnist)")


@pytest.fixture(autouse=True)
def sandbox(monkeypatch, tmp_path):
    """No internet, no proxies, no user data directories, no writes to the real cache."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and \
                address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.delenv("BIONN_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# ---------------------------------------------------------------------------------------------
# helpers: synthetic files in the official formats
# ---------------------------------------------------------------------------------------------

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


@pytest.fixture
def http_server(tmp_path):
    """A throwaway HTTP server on 127.0.0.1 (random port) serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(root=root, url=f"http://127.0.0.1:{server.server_address[1]}/",
                              requests=requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ---------------------------------------------------------------------------------------------
# the shared MNIST sample (real data)
# ---------------------------------------------------------------------------------------------

@needs_sample
def test_mnist_sample_loads_real_digits(monkeypatch):
    # default lookup: <repo>/../shared/data, found from the current directory (as in CI) even
    # when bionn is installed in site-packages
    monkeypatch.delenv("BIONN_SHARED_DATA", raising=False)
    if (REPO.parent / "shared" / "data" / "mnist-sample-10k").is_dir():
        monkeypatch.chdir(REPO)
    else:
        monkeypatch.setenv("BIONN_SHARED_DATA", str(SHARED))
    X, y = ds.load_mnist_sample()
    assert X.shape == (10000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.round(X * 255) / 255, X)          # exact k/255 values
    # per-class counts documented in SOURCE.md
    np.testing.assert_array_equal(np.bincount(y, minlength=10),
                                  [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
    assert 0.05 < X.mean() < 0.25                                      # digits, not noise


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
    monkeypatch.setenv("BIONN_SHARED_DATA", str(SHARED))
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
    ds.load_mnist_sample(root=shared)                                   # intact copy loads
    labels = shared / "mnist-sample-10k" / "labels-idx1-ubyte.gz"
    flip_byte(labels, 20)
    with pytest.raises(ValueError) as info:
        ds.load_mnist_sample(root=shared)
    assert str(labels) in str(info.value) and "Delete" in str(info.value)


def test_mnist_sample_missing_says_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_mnist_sample(root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "BIONN_SHARED_DATA" in msg and "mnist-sample-10k" in msg


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST from Debian (real data)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fashion_train():
    if not all((DEBIAN_FASHION / f).is_file() for f in FASHION_FILES):
        pytest.skip(f"Fashion-MNIST not installed at {DEBIAN_FASHION} "
                    f"(sudo apt-get install dataset-fashion-mnist)")
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
    shutil.copyfile(DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz",
                    sub / "t10k-labels-idx1-ubyte.gz")
    (sub / "t10k-images-idx3-ubyte.gz").symlink_to(DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz")
    flip_byte(sub / "t10k-labels-idx1-ubyte.gz", 200)
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="SHA-256 mismatch") as info:   # not a silent fallback
        ds.load_fashion_mnist(split="test")
    msg = str(info.value)
    assert str(sub / "t10k-labels-idx1-ubyte.gz") in msg
    assert "Delete" in msg and "download=True" in msg


@needs_fashion
def test_fashion_mnist_recompressed_copy_accepted_by_content_hash(tmp_path):
    raw = gzip.decompress((DEBIAN_FASHION / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw, compresslevel=1))
    (tmp_path / "t10k-images-idx3-ubyte.gz").symlink_to(
        DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz")
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
    out[0, 0, 0] = 1                                                    # writable copy


def _good_idx() -> bytes:
    return idx_bytes(np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3))


@pytest.mark.parametrize("name, data, pattern", [
    ("bad-magic", b"\x01\x00" + _good_idx()[2:], "magic"),
    ("bad-dtype", b"\x00\x00\x0a\x03" + _good_idx()[4:], "data-type code"),
    ("zero-dims", b"\x00\x00\x08\x00", "0 dimensions"),
    ("short-header", _good_idx()[:9], "truncated IDX header"),
    ("tiny", b"\x00\x00", "too short"),
    ("truncated-payload", _good_idx()[:-1], "truncated"),
    ("trailing-data", _good_idx() + b"\x00", "trailing data"),
])
def test_read_idx_rejects_malformed(tmp_path, name, data, pattern):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=pattern) as info:
        ds.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    src = write_idx(tmp_path / "x.gz", np.random.default_rng(0).integers(
        0, 256, (50, 28, 28), dtype=np.uint8))
    raw = src.read_bytes()
    cases = {
        "truncated.gz": raw[: len(raw) // 2],
        "flipped.gz": raw[:200] + bytes([raw[200] ^ 0xFF]) + raw[201:],
        "crc.gz": raw[:-8] + bytes([raw[-8] ^ 0xFF]) + raw[-7:],
        "notgzip.gz": _good_idx(),
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
    for needle in (str(tmp_path), str(tmp_path / "mnist"), str(cache), "download=True",
                   "BIONN_DATA", "train-images-idx3-ubyte.gz", "root="):
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


# ---------------------------------------------------------------------------------------------
# downloads from a local HTTP server
# ---------------------------------------------------------------------------------------------

def _leftovers(directory: Path):
    return [p.name for p in directory.iterdir() if p.name.endswith(".part")]


def test_download_file_success(http_server, tmp_path):
    payload = gzip.compress(_good_idx(), mtime=0)
    (http_server.root / "f.gz").write_bytes(payload)
    dest = tmp_path / "cache" / "sub" / "f.gz"
    out = ds.download_file(http_server.url + "f.gz", dest, hashlib.sha256(payload).hexdigest())
    assert out == dest and dest.read_bytes() == payload
    assert _leftovers(dest.parent) == []
    np.testing.assert_array_equal(ds.read_idx(dest), ds.read_idx(http_server.root / "f.gz"))


def test_download_file_checksum_mismatch_leaves_nothing(http_server, tmp_path):
    (http_server.root / "f.gz").write_bytes(b"not what you expected")
    dest = tmp_path / "cache" / "f.gz"
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        ds.download_file(http_server.url + "f.gz", dest, "0" * 64)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []
    assert len(http_server.requests) == 1


def test_download_file_keeps_existing_good_file_and_replaces_bad_one(http_server, tmp_path):
    payload = b"payload" * 100
    digest = hashlib.sha256(payload).hexdigest()
    (http_server.root / "f.bin").write_bytes(payload)
    dest = tmp_path / "f.bin"
    dest.write_bytes(payload)
    os.utime(dest, (1_000_000, 1_000_000))
    ds.download_file(http_server.url + "f.bin", dest, digest)
    assert http_server.requests == [] and dest.stat().st_mtime == 1_000_000
    dest.write_bytes(b"stale")                                          # a bad existing file
    ds.download_file(http_server.url + "f.bin", dest, digest)
    assert len(http_server.requests) == 1 and dest.read_bytes() == payload
    # a bad existing file with a bad download: the old file is left alone, no temp files remain
    dest.write_bytes(b"stale")
    with pytest.raises(ValueError):
        ds.download_file(http_server.url + "f.bin", dest, "1" * 64)
    assert dest.read_bytes() == b"stale" and _leftovers(tmp_path) == []


def test_download_file_http_error_and_bad_scheme(http_server, tmp_path):
    with pytest.raises(urllib.error.HTTPError):
        ds.download_file(http_server.url + "missing.gz", tmp_path / "m.gz", "0" * 64)
    assert list(tmp_path.glob("*m.gz*")) == []
    with pytest.raises(ValueError, match="scheme"):
        ds.download_file("ftp://example.org/x", tmp_path / "x")


def test_load_mnist_download_with_mirror_fallback(http_server, tmp_path):
    truth = fake_mnist(http_server.root / "mirror")
    sums = {p.name: sha(p) for p in (http_server.root / "mirror").iterdir()}
    cache = tmp_path / "cache"
    empty = tmp_path / "empty"
    empty.mkdir()
    bases = [http_server.url + "dead/", http_server.url + "mirror"]        # first mirror: 404s
    X, y = ds.load_mnist(root=empty, split="train", download=True, cache_dir=cache,
                         base_url=bases, checksums=sums)
    np.testing.assert_array_equal(X[:, 0], truth["train"][0] / np.float32(255))
    np.testing.assert_array_equal(y, truth["train"][1])
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz",
                                                       "train-labels-idx1-ubyte.gz"]
    n_requests = len(http_server.requests)
    assert n_requests == 4
    # the cached files are found again, downloaded or not
    ds.load_mnist(root=empty, download=True, cache_dir=cache, base_url=bases, checksums=sums)
    ds.load_mnist(root=empty, cache_dir=cache, checksums=sums)
    assert len(http_server.requests) == n_requests
    # a corrupted cached file is replaced by a verified download when download=True
    flip_byte(cache / "train-labels-idx1-ubyte.gz", 20)
    _, y2 = ds.load_mnist(root=empty, download=True, cache_dir=cache, base_url=bases[1],
                          checksums=sums)
    np.testing.assert_array_equal(y2, truth["train"][1])


def test_load_fashion_download_checksum_mismatch(http_server, tmp_path):
    fake_mnist(http_server.root)
    cache = tmp_path / "cache"
    wrong = dict.fromkeys(FASHION_FILES, "f" * 64)
    with pytest.raises(ds.ChecksumError, match="SHA-256 mismatch"):
        ds.load_fashion_mnist(root=tmp_path / "nowhere", split="test", download=True,
                              cache_dir=cache, base_url=http_server.url, checksums=wrong)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_unreachable_mirror_raises_connection_error(tmp_path):
    with socket.socket() as s:                                          # a port nobody serves
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match="could not download"):
        ds.load_mnist(root=tmp_path, download=True, cache_dir=tmp_path / "c",
                      base_url=f"http://127.0.0.1:{port}/", checksums=dict.fromkeys(FASHION_FILES))


def test_mirror_table():
    for key in ("mnist", "fashion-mnist", "cifar-10"):
        assert ds.MIRRORS[key] and all(u.endswith("/") for u in ds.MIRRORS[key])
    for table in (ds.SHA256, ds.CONTENT_SHA256):
        for files in table.values():
            for digests in files.values():
                assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests)


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


def test_real_mnist_if_available():
    roots = [Path(_USER_BIONN_DATA)] if _USER_BIONN_DATA else []
    for root in roots + [None]:
        try:
            X, y = ds.load_mnist(root=root, split="test", cache_dir=_USER_CACHE / "mnist")
            break
        except FileNotFoundError:
            continue
    else:
        pytest.skip("official MNIST files not available offline (put them in $BIONN_DATA/mnist/ "
                    "or run load_mnist(download=True))")
    assert X.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(
        np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


# ---------------------------------------------------------------------------------------------
# utilities
# ---------------------------------------------------------------------------------------------

def _labelled(counts):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(y.size, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return X, y


def test_train_val_split_sizes_and_stratification():
    X, y = _labelled([700, 200, 100])
    (Xtr, ytr), (Xva, yva) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    assert len(Xva) == 100 and len(Xtr) == 900
    np.testing.assert_array_equal(np.bincount(yva), [70, 20, 10])
    ids = np.concatenate([Xtr[:, 0], Xva[:, 0]]).astype(int)
    np.testing.assert_array_equal(np.sort(ids), np.arange(1000))          # a partition
    np.testing.assert_array_equal(y[Xtr[:, 0].astype(int)], ytr)          # rows stay paired
    (Xtr2, _), (Xva2, _) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    np.testing.assert_array_equal(Xva, Xva2)
    (_, _), (Xva3, _) = ds.train_val_split(X, y, val_fraction=0.1, seed=1)
    assert not np.array_equal(Xva, Xva3)


def test_train_val_split_rounding_and_unstratified():
    X, y = _labelled([5, 5, 5])
    _, (_, yva) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    assert len(yva) == 2 and np.bincount(yva, minlength=3).max() == 1     # 1.5 -> 2, spread out
    X, y = _labelled([90, 10])
    (Xtr, _), (Xva, yva) = ds.train_val_split(X, y, val_fraction=0.25, seed=0, stratify=False)
    assert len(Xva) == 25 and len(Xtr) == 75
    _, (_, yva) = ds.train_val_split(X, y, val_fraction=0.3, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(yva), [27, 3])


def test_train_val_split_validation():
    X, y = _labelled([5, 5])
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="val_fraction"):
            ds.train_val_split(X, y, val_fraction=bad)
    with pytest.raises(ValueError, match="y has 9 labels"):
        ds.train_val_split(X, y[:-1])
    with pytest.raises(TypeError, match="y must hold integer"):
        ds.train_val_split(X, y.astype(float))
    with pytest.raises(TypeError, match="seed"):
        ds.train_val_split(X, y, seed="abc")


def test_standardize_uses_train_statistics():
    rng = np.random.default_rng(0)
    Xtr = (rng.normal(size=(200, 3, 4, 4)) * [[[2.0]], [[5.0]], [[0.5]]]
           + [[[1.0]], [[-3.0]], [[10.0]]]).astype(np.float32)
    Xte = rng.normal(size=(50, 3, 4, 4)).astype(np.float32)
    Ztr, Zte, (mean, std) = ds.standardize(Xtr, Xte)
    assert Ztr.dtype == np.float32 and mean.shape == (1, 3, 1, 1) and std.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(Ztr.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Ztr.std(axis=(0, 2, 3)), 1, atol=1e-5)
    np.testing.assert_allclose(mean.ravel(), Xtr.mean(axis=(0, 2, 3), dtype=np.float64), rtol=1e-6)
    np.testing.assert_allclose(Zte, (Xte - mean) / std, rtol=1e-6)       # train stats, not test
    assert abs(Zte.mean()) > 0.1
    # global statistics, per-feature on 2-D input, constant features
    Z, (m, s) = ds.standardize(Xtr, axis=None)
    assert m.shape == (1, 1, 1, 1) and abs(Z.mean()) < 1e-5
    F = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    Zf, (mf, sf) = ds.standardize(F)
    assert mf.shape == (1, 2) and sf[0, 1] == 1.0 and np.all(Zf[:, 1] == 0)
    assert Zf.dtype == np.float64


def test_standardize_validation():
    X = np.zeros((4, 2, 3, 3), np.float32)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="X_train contains NaN"):
        ds.standardize(bad)
    with pytest.raises(ValueError, match=r"others\[0\]"):
        ds.standardize(X, np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="axis"):
        ds.standardize(X, axis="per-pixel")
    with pytest.raises(ValueError, match="axis"):
        ds.standardize(X, axis=4)
    with pytest.raises(TypeError, match="X_train"):
        ds.standardize(np.array(["a", "b"]))


def test_one_hot():
    out = ds.one_hot(np.array([2, 0, 1, 2]))
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])
    assert out.dtype == np.float32
    assert ds.one_hot(np.array([1]), num_classes=10).shape == (1, 10)
    with pytest.raises(ValueError, match="num_classes=3"):
        ds.one_hot(np.array([3]), num_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        ds.one_hot(np.array([-1, 0]))
    with pytest.raises(TypeError, match="y"):
        ds.one_hot(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        ds.one_hot(np.zeros((2, 2), int))


def test_subsample_exact_counts():
    X, y = _labelled([30, 12, 50])
    Xs, ys = ds.subsample(X, y, per_class=10, seed=0)
    np.testing.assert_array_equal(np.bincount(ys), [10, 10, 10])
    ids = Xs[:, 0].astype(int)
    assert len(set(ids)) == 30 and np.array_equal(y[ids], ys)           # no repeats, paired
    Xs2, _ = ds.subsample(X, y, per_class=10, seed=0)
    np.testing.assert_array_equal(Xs, Xs2)
    with pytest.raises(ValueError, match="class 1 has 12"):
        ds.subsample(X, y, per_class=13)
    with pytest.raises(ValueError, match="class 5 has 0"):
        ds.subsample(X, y, per_class=5, classes=[0, 5])
    with pytest.raises(ValueError, match="per_class"):
        ds.subsample(X, y, per_class=0)


def _images(n=6, c=2, h=5, w=7, seed=0):
    # strictly positive, distinct values so zero padding and windows are unambiguous
    return np.random.default_rng(seed).uniform(1, 2, size=(n, c, h, w)).astype(np.float32)


def test_random_horizontal_flip():
    X = _images(n=64)
    X0 = X.copy()
    np.testing.assert_array_equal(ds.random_horizontal_flip(X, p=1.0, rng=0), X[..., ::-1])
    np.testing.assert_array_equal(ds.random_horizontal_flip(X, p=0.0, rng=0), X)
    out = ds.random_horizontal_flip(X, rng=np.random.default_rng(5))
    flipped = np.array([np.array_equal(o, x[..., ::-1]) for o, x in zip(out, X)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, X)])
    assert np.all(flipped ^ kept) and 10 < flipped.sum() < 54
    np.testing.assert_array_equal(out, ds.random_horizontal_flip(X, rng=np.random.default_rng(5)))
    np.testing.assert_array_equal(X, X0)                                  # input untouched


def test_random_crop_is_window_of_zero_padded_image():
    X = _images(n=40, h=6, w=5)
    pad, size = 2, (6, 5)
    out = ds.random_crop(X, size, pad, rng=7)
    assert out.shape == (40, 2, 6, 5) and out.dtype == X.dtype
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    seen = set()
    for n in range(len(X)):
        hits = [(i, j) for i in range(2 * pad + 1) for j in range(2 * pad + 1)
                if np.array_equal(out[n], Xp[n, :, i:i + 6, j:j + 5])]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 10                                                   # offsets vary
    np.testing.assert_array_equal(out, ds.random_crop(X, size, pad, rng=7))
    assert not np.array_equal(out, ds.random_crop(X, size, pad, rng=8))
    small = ds.random_crop(X, 3, rng=0)                                     # no padding
    assert small.shape == (40, 2, 3, 3)
    np.testing.assert_array_equal(ds.random_crop(X, (6, 5), 0, rng=0), X)


def test_random_translate_shifts_with_zero_fill():
    X = _images(n=30, h=5, w=5)
    m = 2
    out = ds.random_translate(X, m, rng=np.random.default_rng(3))
    assert out.shape == X.shape
    for n in range(len(X)):
        ok = False
        for dy in range(-m, m + 1):
            for dx in range(-m, m + 1):
                ref = np.zeros_like(X[n])
                ys, yd = slice(max(0, -dy), 5 - max(0, dy)), slice(max(0, dy), 5 - max(0, -dy))
                xs, xd = slice(max(0, -dx), 5 - max(0, dx)), slice(max(0, dx), 5 - max(0, -dx))
                ref[:, yd, xd] = X[n][:, ys, xs]
                ok |= np.array_equal(out[n], ref)
        assert ok, n
    np.testing.assert_array_equal(ds.random_translate(X, 0, rng=1), X)
    np.testing.assert_array_equal(out, ds.random_translate(X, m, rng=np.random.default_rng(3)))


def test_augmentation_validation():
    X = _images()
    with pytest.raises(ValueError, match=r"X must have shape \(N, C, H, W\)"):
        ds.random_horizontal_flip(X[0], rng=0)
    bad = X.copy()
    bad[1, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        ds.random_crop(bad, 3, rng=0)
    with pytest.raises(TypeError, match="rng"):
        ds.random_translate(X, 1, rng=None)
    with pytest.raises(TypeError, match="X"):
        ds.random_horizontal_flip(np.full((1, 1, 2, 2), "a"), rng=0)
    with pytest.raises(ValueError, match="p must be"):
        ds.random_horizontal_flip(X, p=1.5, rng=0)
    with pytest.raises(ValueError, match="size"):
        ds.random_crop(X, 20, 2, rng=0)
    with pytest.raises(ValueError, match="padding"):
        ds.random_crop(X, 3, -1, rng=0)
    with pytest.raises(ValueError, match="max_shift"):
        ds.random_translate(X, -1, rng=0)
    with pytest.raises(TypeError, match="size"):
        ds.random_crop(X, 2.5, rng=0)
