"""bionn.data.catalog and ``bionn data``: resumable downloads, fetch, verify, list, and
``bionn reproduce --download`` -- all against the loopback server of conftest.py (the sandbox makes
any other connection fail)."""

from __future__ import annotations

import hashlib
import http.client
import json

import numpy as np
import pytest
from datafakes import FASHION_FILES, fake_mnist, flip_byte, sha

import bionn.experiments as ex
from bionn import data
from bionn.cli import main
from bionn.data import _files
from bionn.data._resume import part_path

# ---------------------------------------------------------------------------------------------
# download_file(resume=True)
# ---------------------------------------------------------------------------------------------


def _payload(n=300_000, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_resume_continues_an_interrupted_download(http_server, tmp_path):
    payload = _payload()
    (http_server.root / "f.bin").write_bytes(payload)
    dest = tmp_path / "f.bin"
    http_server.cut["/f.bin"] = 100_000
    seen = []
    with pytest.raises((OSError, http.client.HTTPException)):
        data.download_file(http_server.url + "f.bin", dest, hashlib.sha256(payload).hexdigest(), resume=True)
    part = part_path(dest)
    assert not dest.exists() and part.stat().st_size == 100_000
    data.download_file(
        http_server.url + "f.bin",
        dest,
        hashlib.sha256(payload).hexdigest(),
        resume=True,
        progress=lambda r, t: seen.append((r, t)),
    )
    assert dest.read_bytes() == payload and not part.exists()
    assert http_server.headers == [None, "bytes=100000-"]  # the second request asked for the rest only
    assert seen[0] == (100_000, len(payload)) and seen[-1] == (len(payload), len(payload))


def test_resume_restarts_when_the_server_ignores_range(http_server, tmp_path):
    payload = _payload(50_000, seed=1)
    (http_server.root / "f.bin").write_bytes(payload)
    dest = tmp_path / "f.bin"
    part = part_path(dest)
    part.write_bytes(payload[:1000])
    http_server.state.ranges = False
    data.download_file(http_server.url + "f.bin", dest, hashlib.sha256(payload).hexdigest(), resume=True)
    assert dest.read_bytes() == payload and not part.exists()


def test_resume_bad_part_is_deleted_and_complete_part_is_used(http_server, tmp_path):
    payload = _payload(50_000, seed=2)
    digest = hashlib.sha256(payload).hexdigest()
    (http_server.root / "f.bin").write_bytes(payload)
    dest = tmp_path / "f.bin"
    part = part_path(dest)
    part.write_bytes(b"X" * 1000)  # not the file's beginning: the finished download fails its checksum
    with pytest.raises(data.ChecksumError, match="SHA-256 mismatch"):
        data.download_file(http_server.url + "f.bin", dest, digest, resume=True)
    assert not part.exists() and not dest.exists()
    part.write_bytes(payload)  # a complete part: the server answers 416, the part verifies
    data.download_file(http_server.url + "f.bin", dest, digest, resume=True)
    assert dest.read_bytes() == payload and not part.exists()


def test_resume_refuses_a_part_locked_by_another_process(http_server, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    (http_server.root / "f.bin").write_bytes(b"abc")
    dest = tmp_path / "f.bin"
    with open(part_path(dest), "wb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(OSError, match="another process"):
            data.download_file(http_server.url + "f.bin", dest, resume=True)
    assert http_server.requests == []


# ---------------------------------------------------------------------------------------------
# fetch / verify / find
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def mirror(http_server, monkeypatch):
    """A collection mirror (<url>/mnist/<files>) of fake MNIST files, accepted as official, and no
    data outside the sandbox (no system or shared data directories)."""
    truth = fake_mnist(http_server.root / "mnist")
    sums = {p.name: (sha(p),) for p in (http_server.root / "mnist").iterdir()}
    monkeypatch.setitem(_files.SHA256, "mnist", sums)
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    http_server.truth = truth
    return http_server


def test_fetch_into_cache_then_loaders_find_it(mirror, tmp_path):
    assert data.find("mnist") is None
    events = []
    where = data.fetch("mnist", mirror=mirror.url, on_file=lambda f, s: events.append((f, s)))
    assert where == tmp_path / "xdg-cache" / "bionn" / "mnist"
    assert sorted(p.name for p in where.iterdir()) == sorted(FASHION_FILES)  # same names, no .part left
    assert [s for _, s in events] == ["downloaded"] * 4
    X, y = data.load_mnist(split="test")  # no root, no download: the cache is searched
    np.testing.assert_array_equal(y, mirror.truth["t10k"][1])
    n = len(mirror.requests)
    assert data.fetch("mnist", mirror=mirror.url) == where and len(mirror.requests) == n  # present: no request
    (r,) = data.verify(["mnist"])
    assert r.status == "ok" and r.where == where


def test_fetch_root_env_mirror_and_force(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, mirror.url)
    where = data.fetch("MNIST", root=tmp_path / "d")  # an alias; the mirror from the environment
    assert where == tmp_path / "d" / "mnist"
    assert data.load_mnist(root=tmp_path / "d", split="test")[0].shape == (10, 1, 28, 28)
    n = len(mirror.requests)
    data.fetch("mnist", root=tmp_path / "d", force=True)
    assert len(mirror.requests) == n + 4


def test_fetch_checksum_mismatch_writes_nothing(mirror, tmp_path, monkeypatch):
    monkeypatch.setitem(_files.SHA256, "mnist", dict.fromkeys(FASHION_FILES, ("0" * 64,)))
    with pytest.raises(data.ChecksumError, match="SHA-256 mismatch"):
        data.fetch("mnist", root=tmp_path / "d", mirror=mirror.url)
    assert [p for p in (tmp_path / "d" / "mnist").iterdir()] == []


def test_fetch_unreachable_mirror_is_a_connection_error(mirror, tmp_path):
    with pytest.raises(ConnectionError, match="could not download"):
        data.fetch("mnist", root=tmp_path, mirror=mirror.url + "nothing-here")


def test_fetch_refuses_shadowing_bad_copy(mirror, tmp_path, monkeypatch):
    bad = tmp_path / "data"
    fake_mnist(bad / "mnist", seed=5)  # not the accepted files
    monkeypatch.setenv("BIONN_DATA", str(bad))
    with pytest.raises(data.ChecksumError, match="loaders read that copy first"):
        data.fetch("mnist", mirror=mirror.url)


def test_fetch_not_downloadable_and_unknown_names():
    with pytest.raises(data.NotDownloadable, match="shared data"):
        data.fetch("mnist-sample")
    with pytest.raises(data.NotDownloadable):
        data.fetch("amplifying-points")  # the alias the amplifying paper's claims use
    with pytest.raises(ValueError, match="known data sets"):
        data.fetch("imagenet")
    assert data.fetchable_name("cifar10") == "cifar-10"
    assert data.fetchable_name("fashion-mnist") == "fashion-mnist"
    assert data.fetchable_name("mnist-sample") is None and data.fetchable_name("nope") is None


def test_verify_ok_bad_missing_and_sha256sums(tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    root = tmp_path / "data"
    d = root / "amplifying-regression"
    d.mkdir(parents=True)
    for name in ("function1d_train.csv", "ackley2d_train.csv"):
        (d / name).write_text("x,y\n0,1\n")
    sums = "".join(f"{sha(d / n)}  ./amplifying-regression/{n}\n" for n in sorted(p.name for p in d.iterdir()))
    (root / "SHA256SUMS").write_text(sums)
    (r,) = data.verify(["amplifying-points"], root=root)
    assert r.status == "ok" and all("SHA256SUMS" in c for c in r.checked)
    (d / "ackley2d_train.csv").write_text("x1,x2,y\n")
    (r,) = data.verify(["amplifying-regression"], root=root)
    assert r.status == "bad" and "ackley2d_train.csv" in r.problems[0]
    (root / "SHA256SUMS").unlink()  # then the built-in checksums apply: fake files fail
    (r,) = data.verify(["amplifying-regression"], root=root)
    assert r.status == "bad" and len(r.problems) == 2
    assert [r.status for r in data.verify(["mnist", "cifar10"], root=root)] == ["missing", "missing"]


def test_verify_cifar_extracted_batches_structurally(tmp_path, monkeypatch):
    from datafakes import fake_cifar_dir

    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())
    d, _, _ = fake_cifar_dir(tmp_path / "cifar-10")
    (r,) = data.verify(["cifar-10"], root=tmp_path)
    assert r.status == "ok" and r.where == d.parent and "structure" in r.checked[0]
    (d / "test_batch.bin").write_bytes(b"\x0b" * 3073)  # label 11
    (r,) = data.verify(["cifar-10"], root=tmp_path)
    assert r.status == "bad" and "test_batch.bin" in r.problems[0]


def test_missing_data_message_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())
    with pytest.raises(FileNotFoundError) as info:
        data.load_fashion_mnist(root=tmp_path)
    assert "bionn data fetch fashion-mnist" in str(info.value).splitlines()[0]
    with pytest.raises(FileNotFoundError, match="bionn data fetch cifar-10"):
        data.load_cifar10(root=tmp_path)


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------


def test_cli_data_fetch_verify_list(mirror, tmp_path, capsys):
    assert main(["data", "fetch", "mnist", "--mirror", mirror.url, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mnist/train-images-idx3-ubyte.gz: downloaded" in out and "ready in" in out
    assert main(["data", "verify", "mnist"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mnist"]["where"] and rows["cifar-10"]["where"] is None and not rows["mnist-sample"]["downloadable"]
    flip_byte(tmp_path / "xdg-cache" / "bionn" / "mnist" / "t10k-labels-idx1-ubyte.gz", 12)
    assert main(["data", "verify"]) == 1  # a bad copy fails; missing data sets alone do not
    assert "t10k-labels-idx1-ubyte.gz" in capsys.readouterr().out
    assert main(["data", "verify", "cifar-10"]) == 1  # named and missing


def test_cli_data_fetch_root_and_failures(mirror, tmp_path, capsys):
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path / "d"), "--mirror", mirror.url, "--no-progress"]) == 0
    assert "BIONN_DATA=" in capsys.readouterr().out
    assert main(["data", "fetch", "mnist-sample"]) == 1  # absent here (no shared data in the sandbox)
    assert "shared data" in capsys.readouterr().err
    assert main(["data", "fetch", "cifar-10", "--mirror", mirror.url, "--no-progress"]) == 1
    assert "could not download" in capsys.readouterr().err
    assert main(["data", "fetch", "imagenet"]) == 2
    assert main(["data"]) == 2
    assert main(["data", "verify", "--root", str(tmp_path / "nope")]) == 2


P = "t-data-cli"


def _mnist_run(seed):
    X, y = data.load_mnist(split="test")
    return {"n": float(len(y)) + 0.01 * seed}


def _requires_mnist():
    try:
        data.load_mnist(split="test")
    except FileNotFoundError as exc:
        raise ex.ClaimSkipped(str(exc).splitlines()[0], dataset="mnist") from None


@pytest.fixture
def mnist_paper():
    ex.unregister(P)
    ex.register_experiment(
        ex.Experiment(P, "uses_mnist", _mnist_run, [{}], range(2), ex.Quick(range(2)), requires=_requires_mnist)
    )
    crit = ex.Level("n", ex.Group("uses_mnist", {}, "runs"), ">=", 5.0)
    ex.register_claim(ex.Claim(f"{P}.has_data", P, "here", "the data loads", "10", crit))
    yield P
    ex.unregister(P)


def test_cli_reproduce_download_fetches_what_claims_need(mirror, mnist_paper, capsys):
    assert main(["reproduce", mnist_paper, "--quick", "--no-progress", "--json", "-"]) == 0
    (c,) = json.loads(capsys.readouterr().out)["claims"]
    assert c["verdict"] == "SKIPPED" and "bionn data fetch mnist" in c["note"]
    argv = ["reproduce", mnist_paper, "--quick", "--no-progress", "--download", "--mirror", mirror.url, "--json", "-"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    (c,) = json.loads(captured.out)["claims"]
    assert c["verdict"] == "REPRODUCED" and "--download: fetching mnist" in captured.err
    n = len(mirror.requests)
    assert main(argv) == 0 and len(mirror.requests) == n  # present now: nothing fetched
    assert "need no data set" in capsys.readouterr().err
