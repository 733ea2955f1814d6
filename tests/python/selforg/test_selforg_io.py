"""bionn.selforg save/load: the shared bionn.io archive format, files of earlier releases, and
every kind of bad file failing as FileNotFoundError or a ValueError that names the file."""

import json

import numpy as np
import pytest

from bionn import io, nn, selforg
from bionn.selforg import MetaLearner, SelfOrganizingNetwork, Topology


def images(n=48, seed=0):
    return np.random.default_rng(seed).random((n, 20, 20)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small trained network, its file, and the file's header and arrays."""
    X = images(32)
    net = SelfOrganizingNetwork(Topology.random(5), seed=2, dropout=0.2, batch_size=16).fit(X, epochs=1)
    path = tmp_path_factory.mktemp("selforg") / "net.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(bytes(archive[io.HEADER_KEY]).decode("utf-8"))
        arrays = {k: archive[k] for k in archive.files if k != io.HEADER_KEY}
    return net, X, path, header, arrays


def write_raw(path, header, arrays, key=io.HEADER_KEY):
    """Writes an archive directly (no checks), as a crafted or older file would be."""
    blob = json.dumps(header).encode("utf-8")  # allows NaN, unlike save_archive
    np.savez(path, **{key: np.frombuffer(blob, dtype=np.uint8)}, **arrays)


def test_save_load_roundtrip(saved, tmp_path):
    net, X, path, header, arrays = saved
    assert header["format"] == "bionn.selforg" and header["version"] == 1
    assert set(arrays) == {
        f"unit{k}.{n}" for k in range(3) for n in ("encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias")
    }
    back = selforg.load(path)
    assert back.topology == net.topology and back.history == net.history and back.config() == net.config()
    np.testing.assert_array_equal(back.transform(X), net.transform(X))
    assert isinstance(SelfOrganizingNetwork.load(path), SelfOrganizingNetwork)
    with pytest.raises(FileNotFoundError):
        selforg.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="selforg"):
        selforg.load(tmp_path / "other.npz")


def test_float64_roundtrip(tmp_path):
    X = images(16)
    net = SelfOrganizingNetwork(Topology.handcrafted("A2"), seed=1, dtype=np.float64).fit(X, epochs=1)
    net.save(tmp_path / "f64.npz")
    back = selforg.load(tmp_path / "f64.npz")
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back.transform(X), net.transform(X))


def test_save_load_after_meta_learning(tmp_path):
    X = images(32)
    net = SelfOrganizingNetwork(Topology.random(9), seed=0, batch_size=16).fit(X, epochs=1)
    meta = MetaLearner("random_search", seed=4)
    for _ in range(3):
        meta.step(net, X)
    net.save(tmp_path / "meta.npz")
    back = selforg.load(tmp_path / "meta.npz")
    assert back.topology.fields == net.topology.fields and back.history == net.history
    np.testing.assert_array_equal(back.transform(X), net.transform(X))


def test_files_of_earlier_releases_still_load(saved, tmp_path):
    # Before bionn.io, the header sat under "__config__" (same JSON content).
    net, X, _, header, arrays = saved
    old = tmp_path / "old.npz"
    write_raw(old, header, arrays, key="__config__")
    back = selforg.load(old)
    assert back.topology == net.topology and back.history == net.history
    np.testing.assert_array_equal(back.transform(X), net.transform(X))


@pytest.mark.parametrize("keep", [0, 10, 100, 1000, -1000, -100, -22, -1])
def test_truncated_file_is_a_value_error(saved, tmp_path, keep):
    data = saved[2].read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    with pytest.raises(ValueError, match="truncated.npz"):
        selforg.load(bad)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_a_value_error(tmp_path, seed):
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="random.npz"):
        selforg.load(bad)


def test_corrupted_bytes_are_a_value_error(saved, tmp_path):
    data = bytearray(saved[2].read_bytes())
    rng = np.random.default_rng(0)
    bad = tmp_path / "flipped.npz"
    for _ in range(20):
        copy = bytearray(data)
        for i in rng.integers(0, len(copy), 8):
            copy[i] ^= 0xFF
        bad.write_bytes(bytes(copy))
        try:
            selforg.load(bad)  # a flip in padding may leave a valid file: loading it is fine
        except ValueError as exc:
            assert "flipped.npz" in str(exc)


def _edit(header, path, value):
    h = json.loads(json.dumps(header))
    *parents, last = path
    d = h
    for p in parents:
        d = d[p]
    if value is KeyError:
        del d[last]
    else:
        d[last] = value
    return h


BAD_HEADERS = [
    (("config",), KeyError),
    (("config",), [1, 2]),
    (("config", "lr"), KeyError),
    (("config", "lr"), "0.001"),
    (("config", "lr"), -1.0),
    (("config", "batch_size"), 16.5),
    (("config", "batch_size"), None),
    (("config", "seed"), True),
    (("config", "dtype"), "int8"),
    (("config", "dtype"), 3),
    (("config", "dropout"), 2.0),
    (("config", "surprise"), 1),
    (("config", "topology"), "A3"),
    (("config", "topology", "fields"), KeyError),
    (("config", "topology", "fields"), "abc"),
    (("config", "topology", "fields"), [[[0, 35]], [[0, 0]], [[0, 0]]]),
    (("config", "topology", "fields"), [[[0, 0]], [[0, 0]]]),
    (("config", "topology", "fields"), [[0, 0], [0, 0], [0, 0]]),
    (("config", "topology", "window"), "10"),
    (("config", "topology", "map_shape"), [20]),
    (("config", "topology", "map_shape"), {"a": 1}),
    (("config", "topology", "unit_locations"), 7),
    (("config", "topology", "name"), 5),
    (("config", "topology", "colour"), "red"),
    (("config", "topology", "hidden_shape"), [5, 5]),
    (("history",), KeyError),
    (("history",), []),
    (("history", "loss"), KeyError),
    (("history", "loss"), {}),
    (("history", "entropy"), [[1.0, 2.0]]),
    (("history", "entropy"), [["a", "b", "c"]]),
    (("history", "loss"), [[1.0, 2.0, None]]),
    (("history", "entropy"), [1.0]),
    (("version",), 2),
    (("version",), "1"),
    (("version",), KeyError),
    (("format",), "bionn.model"),
]


@pytest.mark.parametrize("where,value", BAD_HEADERS, ids=[f"{'.'.join(w)}={v!r}"[:60] for w, v in BAD_HEADERS])
def test_malformed_header_is_a_value_error_naming_the_file(saved, tmp_path, where, value):
    bad = tmp_path / "crafted.npz"
    write_raw(bad, _edit(saved[3], where, value), saved[4])
    with pytest.raises(ValueError, match="crafted.npz"):
        selforg.load(bad)


def test_header_that_is_not_an_object_or_not_json(saved, tmp_path):
    bad = tmp_path / "crafted.npz"
    for blob in (b"[1, 2]", b'"text"', b"{not json", b"\xff\xfe"):
        np.savez(bad, **{io.HEADER_KEY: np.frombuffer(blob, dtype=np.uint8)}, **saved[4])
        with pytest.raises(ValueError, match="crafted.npz"):
            selforg.load(bad)


def _bad_arrays(arrays):
    a = dict(arrays)
    yield "missing", {k: v for k, v in a.items() if k != "unit2.decoder_bias"}
    yield "extra", dict(a, **{"unit3.encoder_bias": a["unit0.encoder_bias"]})
    yield "shape", dict(a, **{"unit1.encoder_weight": a["unit1.encoder_weight"][:, :-1]})
    yield "nan", dict(a, **{"unit2.encoder_bias": np.full_like(a["unit2.encoder_bias"], np.nan)})
    yield "inf", dict(a, **{"unit0.decoder_weight": np.full_like(a["unit0.decoder_weight"], np.inf)})
    yield "complex", dict(a, **{"unit0.encoder_bias": a["unit0.encoder_bias"].astype(np.complex64)})
    yield "text", dict(a, **{"unit0.encoder_bias": np.array(["x"] * a["unit0.encoder_bias"].size)})


@pytest.mark.parametrize("case", ["missing", "extra", "shape", "nan", "inf", "complex", "text"])
def test_arrays_that_do_not_match_the_header_are_a_value_error(saved, tmp_path, case):
    arrays = dict(_bad_arrays(saved[4]))[case]
    bad = tmp_path / "crafted.npz"
    write_raw(bad, saved[3], arrays)
    with pytest.raises(ValueError, match="crafted.npz"):
        selforg.load(bad)


def test_sequential_and_selforg_files_are_not_confused(saved, tmp_path):
    model = nn.Sequential([nn.Dense(4, 2)], seed=0)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="model.npz"):
        selforg.load(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="net.npz"):
        nn.load(saved[2])
    with pytest.raises(ValueError, match="net.npz"):
        nn.Sequential.load(saved[2])


def test_failed_save_keeps_the_previous_file(saved, tmp_path):
    net, X, path, _, _ = saved
    target = tmp_path / "keep.npz"
    net.save(target)
    before = target.read_bytes()
    broken = SelfOrganizingNetwork(Topology.random(5), seed=2)
    broken._impl.unit(0).set("encoder_bias", np.full(100, np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        broken.save(target)
    diverged = selforg.load(target)
    diverged.history["loss"].append([float("nan")] * 3)
    with pytest.raises(ValueError, match="keep.npz"):
        diverged.save(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]  # no temporary file left
    np.testing.assert_array_equal(selforg.load(target).transform(X), net.transform(X))
