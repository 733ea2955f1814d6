"""bionn.data.cifar10: the one CIFAR-10 reader, on synthetic batches in the official formats."""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from datafakes import _USER_BIONN_DATA, _USER_CACHE, cifar_batch_bytes, fake_cifar_dir, sha

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
    tar.write_bytes(tar.read_bytes()[:500])  # truncated archive
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        ds.load_cifar10(split="test", checksums={"cifar-10-binary.tar.gz": None})
    assert str(tar) in str(info.value)


def test_load_cifar10_download(http_server, tmp_path):
    d, _, y = fake_cifar_dir(tmp_path / "src", n=2)
    tar = _make_tarball(d, http_server.root / "cifar-10-binary.tar.gz")
    sums = {"cifar-10-binary.tar.gz": sha(tar)}
    cache = tmp_path / "cache"
    _, ytr = ds.load_cifar10(
        root=tmp_path / "none", download=True, cache_dir=cache, base_url=http_server.url, checksums=sums
    )
    assert (cache / "cifar-10-binary.tar.gz").is_file() and len(http_server.requests) == 1
    np.testing.assert_array_equal(ytr, np.concatenate([y[f"data_batch_{k}.bin"] for k in range(1, 6)]))
    ds.load_cifar10(root=tmp_path / "none", download=True, cache_dir=cache, base_url=http_server.url, checksums=sums)
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
        pytest.skip(
            "official CIFAR-10 binary files not available offline (put them in "
            "$BIONN_DATA/cifar-10/ or run load_cifar10(download=True))"
        )
    assert X.shape == (10000, 3, 32, 32)
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 1000))


# ---------------------------------------------------------------------------------------------
# the python version (cifar-10-batches-py): read without unpickling any object
# ---------------------------------------------------------------------------------------------


def py2_batch_pickle(flat: np.ndarray, labels) -> bytes:
    """A batch exactly as the official python version stores it: a protocol-2 pickle written by
    Python 2 and numpy 1.x (byte strings as BINSTRING, numpy.core.multiarray._reconstruct)."""

    def s(b: bytes) -> bytes:  # SHORT_BINSTRING
        return b"U" + bytes([len(b)]) + b

    def i(v: int) -> bytes:  # BININT
        return b"J" + struct.pack("<i", v)

    n = flat.shape[0]
    out = b"\x80\x02}("  # PROTO 2, EMPTY_DICT, MARK
    out += s(b"batch_label") + s(b"testing batch 1 of 1")
    out += s(b"labels") + b"](" + b"".join(i(int(v)) for v in labels) + b"e"
    out += s(b"data") + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    out += i(0) + b"\x85" + s(b"b") + b"\x87R"  # _reconstruct(ndarray, (0,), 'b')
    out += b"(" + i(1) + i(n) + i(3072) + b"\x86"  # state: version, shape,
    out += b"cnumpy\ndtype\n" + s(b"u1") + i(0) + i(1) + b"\x87R"  # dtype('u1', 0, 1)
    out += b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb"  # its state
    out += b"\x89" + b"T" + struct.pack("<i", flat.nbytes) + flat.tobytes() + b"tb"
    out += s(b"filenames") + b"](" + b"".join(s(f"f{k}.png".encode()) for k in range(n)) + b"e"
    return out + b"u."


def py3_batch_pickle(flat: np.ndarray, labels, protocol: int, numpy1: bool = False) -> bytes:
    raw = pickle.dumps(
        {
            b"batch_label": b"x",
            b"labels": [int(v) for v in labels],
            b"data": flat,
            b"filenames": [b"a.png"] * len(labels),
        },
        protocol=protocol,
    )
    if numpy1:  # numpy 1.x names the module numpy.core (GLOBAL opcodes are text at protocol 2)
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return raw


def _flat_batch(n: int, seed: int):
    rng = np.random.default_rng(seed)
    flat = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    return flat, labels


@pytest.mark.parametrize("writer", ["py2", "py3-protocol2", "py3-protocol2-numpy1", "py3-protocol4"])
def test_read_cifar10_python_batch(tmp_path, writer):
    flat, labels = _flat_batch(5, seed=1)
    raw = {
        "py2": lambda: py2_batch_pickle(flat, labels),
        "py3-protocol2": lambda: py3_batch_pickle(flat, labels, 2),
        "py3-protocol2-numpy1": lambda: py3_batch_pickle(flat, labels, 2, numpy1=True),
        "py3-protocol4": lambda: py3_batch_pickle(flat, labels, 4),
    }[writer]()
    if writer == "py2":  # the hand-made file is what numpy's own unpickling reads too
        ref = pickle.loads(raw, encoding="bytes")
        np.testing.assert_array_equal(ref[b"data"], flat)
    (tmp_path / "test_batch").write_bytes(raw)
    X, y = ds.read_cifar10_batch(tmp_path / "test_batch")
    assert X.shape == (5, 3, 32, 32) and X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, flat.reshape(5, 3, 32, 32))  # same pixel order as binary
    np.testing.assert_array_equal(y, labels)


def fake_cifar_py_dir(directory: Path, n: int = 3):
    d = directory / "cifar-10-batches-py"
    d.mkdir(parents=True)
    X, y = {}, {}
    for k, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        flat, labels = _flat_batch(n, seed=10 + k)
        (d / name).write_bytes(py2_batch_pickle(flat, labels))
        X[name], y[name] = flat.reshape(n, 3, 32, 32), labels
    return d, X, y


def test_load_cifar10_from_python_version(tmp_path, monkeypatch):
    _, X, y = fake_cifar_py_dir(tmp_path / "data" / "cifar-10", n=3)
    monkeypatch.setenv("BIONN_DATA", str(tmp_path / "data"))
    Xtr, ytr = ds.load_cifar10()
    order = [f"data_batch_{k}" for k in range(1, 6)]
    np.testing.assert_array_equal(Xtr, np.concatenate([X[n] for n in order]) / np.float32(255))
    np.testing.assert_array_equal(ytr, np.concatenate([y[n] for n in order]))
    Xte, yte = ds.load_cifar10(
        root=tmp_path / "data" / "cifar-10" / "cifar-10-batches-py", split="test", cache_dir=tmp_path / "c"
    )
    np.testing.assert_array_equal(yte, y["test_batch"])
    assert Xte.dtype == np.float32 and Xte.shape == (3, 3, 32, 32)


def test_binary_version_preferred_over_python_version(tmp_path):
    _, _, y_bin = fake_cifar_dir(tmp_path, n=2)
    fake_cifar_py_dir(tmp_path, n=2)
    _, yte = ds.load_cifar10(root=tmp_path, split="test", cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(yte, y_bin["test_batch.bin"])


def test_missing_cifar_message_names_both_folders(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_cifar10(root=tmp_path, split="test", cache_dir=tmp_path / "c")
    msg = str(info.value)
    assert "cifar-10-batches-bin/" in msg and "test_batch.bin" in msg
    assert "cifar-10-batches-py/" in msg and "cifar-10-binary.tar.gz" in msg
    assert "BIONN_DATA" in msg and "root=" in msg


class _Exploit:
    """Pickles to a call of ``func(*args)`` -- what a malicious batch would contain."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _malicious(tmp_path: Path):
    marker = tmp_path / "pwned"
    flat, labels = _flat_batch(2, seed=0)
    good = {b"labels": [int(v) for v in labels], b"data": flat}
    cases = {
        "os.system": dict(good, data=_Exploit(os.system, f"touch {marker}")),
        "builtins.eval": dict(good, data=_Exploit(eval, f"open({str(marker)!r}, 'w')")),
        "builtins.exec-in-labels": dict(good, **{"labels": _Exploit(exec, "import os")}),
        "subprocess": {b"data": _Exploit(subprocess.call, ["touch", str(marker)]), b"labels": []},
        "numpy-gadget": dict(good, x=_Exploit(np.load, str(marker))),
        "object-array": dict(good, **{"data": np.array([_Exploit(os.system, "true")], dtype=object)}),
    }
    out = {k: pickle.dumps(v, protocol=2) for k, v in cases.items()}
    # numpy's own names used against it: _reconstruct with another subtype, object dtypes,
    # a state claiming more bytes than present, codecs other than latin-1 (zip bombs)
    base = py2_batch_pickle(flat, labels)
    out["reconstruct-subtype"] = base.replace(b"cnumpy\nndarray\n", b"cnumpy\ndtype\n", 1)
    out["object-dtype"] = base.replace(b"U\x02u1", b"U\x02O8")
    shape = b"J" + struct.pack("<i", 2) + b"J" + struct.pack("<i", 3072)
    assert base.count(shape) == 1
    out["short-data"] = base.replace(shape, b"J" + struct.pack("<i", 3) + shape[5:])  # 3 rows, 2 given
    out["wrong-shape"] = base.replace(shape, shape[:5] + b"J" + struct.pack("<i", 4096))
    out["zlib-codec"] = b"\x80\x02}(U\x04datac_codecs\nencode\nX\x01\x00\x00\x00xX\n\x00\x00\x00zlib_codec\x86Ru."
    out["not-a-dict"] = pickle.dumps([1, 2, 3], protocol=2)
    out["truncated"] = base[:-50]
    return out, marker


def test_malicious_pickles_are_rejected_without_running_anything(tmp_path):
    cases, marker = _malicious(tmp_path)
    for name, raw in cases.items():
        d = tmp_path / name / "cifar-10-batches-py"
        d.mkdir(parents=True)
        (d / "test_batch").write_bytes(raw)
        with pytest.raises(ValueError, match="not a CIFAR-10 python batch") as info:
            ds.read_cifar10_batch(d / "test_batch")
        assert str(d / "test_batch") in str(info.value), name
        with pytest.raises(ValueError):
            ds.load_cifar10(root=d.parent, split="test", cache_dir=tmp_path / "c")
        assert not marker.exists(), name
    for name in ("os.system", "builtins.eval", "subprocess", "numpy-gadget"):
        with pytest.raises(ValueError, match="forbidden global"):
            ds.read_cifar10_batch(tmp_path / name / "cifar-10-batches-py" / "test_batch")


def test_the_unpickler_resolves_no_real_object():
    from bionn.data import cifar10

    for obj in cifar10._ALLOWED_GLOBALS.values():
        assert getattr(obj, "__module__", "") == "bionn.data.cifar10", obj
