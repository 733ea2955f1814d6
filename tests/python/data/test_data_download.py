"""bionn.data downloads: download_file and the loaders' download=True, from a throwaway local
HTTP server (no test reaches the internet: conftest.py's sandbox makes any non-loopback
connection fail)."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from datafakes import FASHION_FILES, fake_mnist, flip_byte, good_idx, sha

from bionn import data as ds

# ---------------------------------------------------------------------------------------------
# downloads from a local HTTP server
# ---------------------------------------------------------------------------------------------


def _leftovers(directory: Path):
    return [p.name for p in directory.iterdir() if p.name.endswith(".part")]


def test_download_file_success(http_server, tmp_path):
    payload = gzip.compress(good_idx(), mtime=0)
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
    dest.write_bytes(b"stale")  # a bad existing file
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
    bases = [http_server.url + "dead/", http_server.url + "mirror"]  # first mirror: 404s
    X, y = ds.load_mnist(root=empty, split="train", download=True, cache_dir=cache, base_url=bases, checksums=sums)
    np.testing.assert_array_equal(X[:, 0], truth["train"][0] / np.float32(255))
    np.testing.assert_array_equal(y, truth["train"][1])
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    n_requests = len(http_server.requests)
    assert n_requests == 4
    # the cached files are found again, downloaded or not
    ds.load_mnist(root=empty, download=True, cache_dir=cache, base_url=bases, checksums=sums)
    ds.load_mnist(root=empty, cache_dir=cache, checksums=sums)
    assert len(http_server.requests) == n_requests
    # a corrupted cached file is replaced by a verified download when download=True
    flip_byte(cache / "train-labels-idx1-ubyte.gz", 20)
    _, y2 = ds.load_mnist(root=empty, download=True, cache_dir=cache, base_url=bases[1], checksums=sums)
    np.testing.assert_array_equal(y2, truth["train"][1])


def test_load_fashion_download_checksum_mismatch(http_server, tmp_path):
    fake_mnist(http_server.root)
    cache = tmp_path / "cache"
    wrong = dict.fromkeys(FASHION_FILES, "f" * 64)
    with pytest.raises(ds.ChecksumError, match="SHA-256 mismatch"):
        ds.load_fashion_mnist(
            root=tmp_path / "nowhere",
            split="test",
            download=True,
            cache_dir=cache,
            base_url=http_server.url,
            checksums=wrong,
        )
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_unreachable_mirror_raises_connection_error(tmp_path):
    with socket.socket() as s:  # a port nobody serves
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match="could not download"):
        ds.load_mnist(
            root=tmp_path,
            download=True,
            cache_dir=tmp_path / "c",
            base_url=f"http://127.0.0.1:{port}/",
            checksums=dict.fromkeys(FASHION_FILES),
        )


def test_mirror_table():
    for key in ("mnist", "fashion-mnist", "cifar-10"):
        assert ds.MIRRORS[key] and all(u.endswith("/") for u in ds.MIRRORS[key])
    for table in (ds.SHA256, ds.CONTENT_SHA256):
        for files in table.values():
            for digests in files.values():
                assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests)
