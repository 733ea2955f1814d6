"""File fuzzing of the loaders (issue 15): truncations, bit flips and crafted files, model files and
self-organizing networks alike, loaded in a child process (``file_fuzz_child.py``) so that a crash
or a runaway allocation fails the test instead of killing pytest. Every file must load or raise
ValueError/FileNotFoundError, quickly and without allocating much."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from bionn import io as bio
from bionn import nn
from bionn.selforg import SelfOrganizingNetwork, Topology

CHILD = os.path.join(os.path.dirname(__file__), "file_fuzz_child.py")
ALLOWED = {"ok", "ValueError", "FileNotFoundError"}


def good_model() -> nn.Sequential:
    return nn.Sequential(
        [nn.FocusDense2D(3, 4, 5), nn.BatchNorm1d(5), nn.MixLU(5, fraction=0.4, seed=1), nn.Dense(5, 2)], seed=0
    )


def read_raw(path):
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(bytes(f[bio.HEADER_KEY]).decode())
        arrays = {k: f[k] for k in f.files if k != bio.HEADER_KEY}
    return header, arrays


def write_raw(path, header, arrays):
    out = dict(arrays)
    out[bio.HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **out)


def npy_header_only(shape, dtype="<f4") -> bytes:
    """An .npy entry that declares ``shape`` but holds almost no data (as a crafted file would)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 16


def run_child(paths, timeout=60):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BIONN_MAX_BYTES": str(2**30)}
    proc = subprocess.run(
        [sys.executable, CHILD, *map(str, paths)], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert proc.returncode == 0, f"the loader crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(lines) == len(paths) + 1
    # Nothing a file declares was allocated: the child never grew past a few hundred MB.
    assert lines[-1]["maxrss_kb"] < 512 * 1024, lines[-1]
    return {os.path.basename(l["path"]): l for l in lines[:-1]}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("filefuzz")
    made = {}
    model = good_model()
    model.save(d / "good.npz")
    header, arrays = read_raw(d / "good.npz")
    raw = (d / "good.npz").read_bytes()
    rng = np.random.default_rng(0)
    # truncations and bit flips of a model file
    for cut in (0, 10, 100, len(raw) // 3, len(raw) // 2, len(raw) - 100, len(raw) - 1):
        (d / f"cut{cut}.npz").write_bytes(raw[:cut])
        made[f"cut{cut}.npz"] = "any"
    for i in range(40):
        b = bytearray(raw)
        pos = int(rng.integers(len(b)))
        b[pos] ^= 1 << int(rng.integers(8))
        (d / f"flip{i}.npz").write_bytes(bytes(b))
        made[f"flip{i}.npz"] = "any"
    # the same for a self-organizing network (its own loader, the same archive reader)
    net = SelfOrganizingNetwork(Topology.random(5), seed=2)
    net.save(d / "net.selforg.npz")
    sraw = (d / "net.selforg.npz").read_bytes()
    made["net.selforg.npz"] = "ok"
    for i in range(20):
        b = bytearray(sraw)
        pos = int(rng.integers(len(b)))
        b[pos] ^= 1 << int(rng.integers(8))
        (d / f"sflip{i}.selforg.npz").write_bytes(bytes(b))
        made[f"sflip{i}.selforg.npz"] = "any"
    (d / "scut.selforg.npz").write_bytes(sraw[: len(sraw) // 2])
    made["scut.selforg.npz"] = "any"

    def crafted(name, layer0=None, mutate=None, expect="ValueError"):
        h = json.loads(json.dumps(header))
        a = {k: v.copy() for k, v in arrays.items()}
        if layer0 is not None:
            h["layers"][0] = layer0
        if mutate is not None:
            mutate(h, a)
        write_raw(d / name, h, a)
        made[name] = expect

    # the segfaults: a FocusDense2D whose height * width wraps to 0 (a 12 KB file)
    crafted("focus_2_62.npz", {"type": "FocusDense2D", "config": {"height": 2**62, "width": 4, "out_features": 3}})
    crafted("focus_2_32.npz", {"type": "FocusDense2D", "config": {"height": 2**32, "width": 2**32, "out_features": 3}})
    crafted("focus_big_int.npz", {"type": "FocusDense2D", "config": {"height": 2**70, "width": 1, "out_features": 3}})
    # a 3 GB layer declared beside small arrays: refused before it is built
    crafted("dense_20000.npz", {"type": "Dense", "config": {"in_features": 20000, "out_features": 20000}})
    crafted("dense_8000.npz", {"type": "Dense", "config": {"in_features": 8000, "out_features": 8000}})
    crafted("dense_neg.npz", {"type": "Dense", "config": {"in_features": -3, "out_features": 5}})
    crafted("dense_float.npz", {"type": "Dense", "config": {"in_features": 1e300, "out_features": 5}})
    crafted("unknown_layer.npz", {"type": "Nope", "config": {}})

    def overflow(h, a):
        h["dtype"] = "float32"
        a["3.weight"] = a["3.weight"].astype(np.float64) * 1e300

    crafted("overflow_f32.npz", mutate=overflow)

    def negative_var(h, a):
        a["1.running_var"] = -np.abs(a["1.running_var"]) - 1

    crafted("negative_var.npz", mutate=negative_var)

    def zero_sigma(h, a):
        key = next(k for k in a if k.startswith("0.") and "sigma" in k)
        a[key] = np.zeros_like(a[key])

    crafted("zero_sigma.npz", mutate=zero_sigma)

    def bad_mask(h, a):
        a["2.neglu_mask"] = np.full_like(a["2.neglu_mask"], 7)

    crafted("bad_mask.npz", mutate=bad_mask)

    def wrong_shape(h, a):
        a["3.weight"] = np.zeros((3, 3), np.float32)

    crafted("wrong_shape.npz", mutate=wrong_shape)
    # a 1 GiB array (declared) under an unexpected key, and one under an expected key
    for name, key in (("huge_unexpected.npz", "junk"), ("huge_expected.npz", "3.weight")):
        with zipfile.ZipFile(d / name, "w") as zf:
            for k, v in arrays.items():
                if k != key:
                    b = io.BytesIO()
                    np.lib.format.write_array(b, v)
                    zf.writestr(k + ".npy", b.getvalue())
            b = io.BytesIO()
            np.lib.format.write_array(b, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
            zf.writestr(bio.HEADER_KEY + ".npy", b.getvalue())
            zf.writestr(key + ".npy", npy_header_only((2**28,)))
        made[name] = "ValueError"
    # a FIFO with no writer: refused at once, never waited on
    if hasattr(os, "mkfifo"):
        os.mkfifo(d / "fifo.npz")
        made["fifo.npz"] = "ValueError"
    made["good.npz"] = "ok"
    return d, made


@pytest.fixture(scope="module")
def results(files):
    d, made = files
    start = time.perf_counter()
    out = run_child([d / name for name in made])
    assert time.perf_counter() - start < 60
    return out


def test_every_fuzzed_file_loads_or_raises_a_clear_error(files, results):
    _, made = files
    for name, expect in made.items():
        res = results[name]
        assert res["result"] in ALLOWED, (name, res)
        if expect != "any":
            assert res["result"] == expect, (name, res)


@pytest.mark.parametrize(
    "name, words",
    [
        ("focus_2_62.npz", ["height * width * out_features"]),
        ("focus_2_32.npz", ["height * width * out_features"]),
        ("focus_big_int.npz", ["height"]),
        ("dense_20000.npz", ["in_features * out_features"]),
        ("dense_8000.npz", ["in_features * out_features", "refused before allocating"]),
        ("overflow_f32.npz", ["'3.weight'", "Inf"]),
        ("negative_var.npz", ["'1.running_var'", "variance"]),
        ("zero_sigma.npz", ["sigma"]),
        ("bad_mask.npz", ["'2.neglu_mask'"]),
        ("wrong_shape.npz", ["'3.weight'", "shape"]),
        ("huge_unexpected.npz", ["junk"]),
        ("huge_expected.npz", ["3.weight"]),
        ("fifo.npz", ["not a regular file"]),
    ],
)
def test_crafted_files_are_refused_naming_the_problem(files, results, name, words):
    if name not in files[1]:
        pytest.skip("no FIFOs here")
    res = results[name]
    assert res["result"] == "ValueError", res
    for w in words:
        assert w in res["message"], (w, res["message"])


def test_save_into_a_missing_directory_names_the_target(tmp_path):
    target = tmp_path / "no" / "m.npz"
    with pytest.raises(FileNotFoundError, match="m.npz"):
        nn.Sequential([nn.Dense(2, 2)], seed=0).save(target)


def test_stale_temp_files_of_killed_saves_are_removed(tmp_path):
    old = tmp_path / ".m.npz.bionn-abc.tmp"
    legacy = tmp_path / ".bionn-xyz.tmp"
    fresh = tmp_path / ".m.npz.bionn-new.tmp"  # a save in progress elsewhere: kept
    for p in (old, legacy, fresh):
        p.write_bytes(b"partial")
    past = time.time() - 2 * bio.STALE_TEMP_SECONDS
    os.utime(old, (past, past))
    os.utime(legacy, (past, past))
    nn.Sequential([nn.Dense(2, 2)], seed=0).save(tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", fresh.name])
