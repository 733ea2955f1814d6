"""Sequential.save / nn.load: round trip, file format, atomic writes, corrupt files, load_state_dict."""

from __future__ import annotations

import json
import os
import pathlib
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bionn
from bionn import losses, nn, optim

CONFIG_KEY = "__bionn_config__"


def state_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def every_layer_model(dtype):
    """One model holding every layer type (with non-default hyper-parameters), input (N, 2, 8, 8)."""
    d = dict(dtype=dtype)
    return nn.Sequential(
        [
            nn.Conv2d(2, 4, (3, 2), stride=1, padding=1, init="he_normal", **d),
            nn.BatchNorm2d(4, momentum=0.2, **d),
            nn.LeakyReLU(0.05, **d),
            nn.MaxPool2d(2, stride=2, padding=1, **d),
            nn.Dropout2d(0.1, **d),
            nn.AvgPool2d(2, stride=1, count_include_pad=False, **d),
            nn.ELU(0.7, **d),
            nn.Conv2d(4, 3, 1, bias=False, **d),
            nn.GlobalAvgPool2d(**d),
            nn.Flatten(**d),
            nn.Dense(3, 6, init="glorot_uniform", **d),
            nn.BatchNorm1d(6, eps=1e-3, affine=False, **d),
            nn.Softplus(beta=2.0, threshold=10.0, **d),
            nn.Dropout(0.2, **d),
            nn.Dense(6, 5, **d),
            nn.Sigmoid(**d),
            nn.Dense(5, 4, **d),
            nn.Tanh(**d),
            nn.ReLU(**d),
            nn.Dense(4, 3, **d),
        ],
        seed=11,
    )


def trained(dtype=np.float32):
    model = every_layer_model(dtype)
    r = np.random.default_rng(0)
    x = r.standard_normal((40, 2, 8, 8))
    y = r.integers(0, 3, 40)
    model.fit(
        x, y, loss=losses.CrossEntropy(), optimizer=optim.Adam(model.parameters(), lr=0.01), epochs=2, batch_size=8
    )
    return model, x


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def saved(request, tmp_path):
    model, x = trained(request.param)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, x, path


# ------------------------------------------------------------------------------------------------
# Round trip
# ------------------------------------------------------------------------------------------------


def test_round_trip_identical_predictions_and_state(saved):
    model, x, path = saved
    loaded = nn.load(path)
    assert loaded.dtype == model.dtype
    assert [type(l) for l in loaded] == [type(l) for l in model]
    assert loaded.config() == model.config()
    assert loaded.seed == model.seed
    assert state_equal(loaded.state_dict(), model.state_dict())
    out = model.predict(x)
    assert out.dtype == model.dtype
    np.testing.assert_array_equal(loaded.predict(x), out)
    loss = losses.CrossEntropy()
    y = np.arange(len(x)) % 3
    assert loaded.evaluate(x, y, loss) == model.evaluate(x, y, loss)
    # The loaded model is independent of the original.
    loaded.parameters()[0].data[...] = 0
    assert not np.array_equal(model.parameters()[0].data, 0)
    # Sequential.load is the same as nn.load.
    assert state_equal(nn.Sequential.load(str(path)).state_dict(), model.state_dict())


def test_batchnorm_running_statistics_are_restored(saved):
    model, x, path = saved
    bn_keys = [k for k in model.state_dict() if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(bn_keys) == 6
    sd = model.state_dict()
    # Training moved them away from their initial values, so restoring them is observable ...
    for k in bn_keys:
        if k.endswith("running_mean"):
            assert np.abs(sd[k]).max() > 0
        elif k.endswith("running_var"):
            assert np.abs(sd[k] - 1).max() > 0
        else:
            assert sd[k][0] == 10  # 2 epochs x 5 batches
    loaded = nn.load(path)
    for k in bn_keys:
        np.testing.assert_array_equal(loaded.state_dict()[k], sd[k])
    # ... and matters: the same parameters with fresh statistics predict differently.
    fresh = every_layer_model(model.dtype)
    fresh.load_state_dict({k: v for k, v in sd.items() if k not in bn_keys}, strict=False)
    assert not np.array_equal(fresh.predict(x), model.predict(x))


def test_loaded_model_keeps_training(saved):
    model, x, path = saved
    loaded = nn.load(path)
    y = np.arange(len(x)) % 3
    hist = loaded.fit(
        x, y, loss=losses.CrossEntropy(), optimizer=optim.SGD(loaded.parameters(), lr=0.01), epochs=1, batch_size=8
    )
    assert np.isfinite(hist["loss"]).all()
    assert not state_equal(loaded.state_dict(), model.state_dict())


def test_save_accepts_str_and_pathlike_and_any_extension(tmp_path):
    model, x = trained()
    for name in ["a.npz", "b.bin", "c"]:
        for path in (str(tmp_path / name), tmp_path / name, pathlib.PurePath(tmp_path / name)):
            model.save(path)
            np.testing.assert_array_equal(nn.load(path).predict(x), model.predict(x))
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.bin", "c"]  # no ".npz" appended, no temp files


def test_overwriting_replaces_the_model(tmp_path):
    path = tmp_path / "m.npz"
    a = nn.Sequential([nn.Dense(3, 2)], seed=0)
    b = nn.Sequential([nn.Dense(3, 4), nn.ReLU()], seed=1)
    a.save(path)
    b.save(path)
    assert nn.load(path).config() == b.config()


# ------------------------------------------------------------------------------------------------
# File format
# ------------------------------------------------------------------------------------------------


def test_file_is_a_plain_npz_with_a_json_config(saved):
    model, _, path = saved
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as archive:
        files = set(archive.files)
        arrays = {k: archive[k] for k in archive.files}
    assert files == set(model.state_dict()) | {CONFIG_KEY}
    for k, v in model.state_dict().items():
        assert arrays[k].dtype == model.dtype and arrays[k].dtype.kind == "f"
        np.testing.assert_array_equal(arrays[k], v)
    raw = arrays[CONFIG_KEY]
    assert raw.dtype == np.uint8 and raw.ndim == 1
    cfg = json.loads(bytes(raw).decode("utf-8"))
    assert cfg["format"] == "bionn.Sequential"
    assert isinstance(cfg["version"], int) and cfg["version"] == 1
    assert cfg["bionn_version"] == bionn.__version__
    assert cfg["dtype"] == np.dtype(model.dtype).name
    assert cfg["seed"] == model.seed
    assert [l["type"] for l in cfg["layers"]] == [type(l).__name__ for l in model]
    assert [l["config"] for l in cfg["layers"]] == [l.config() for l in model]


def test_no_pickle_needed(tmp_path):
    """Every member is a plain numeric .npy: loading never needs allow_pickle."""
    model, _ = trained()
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            assert name.endswith(".npy")
            with zf.open(name) as fh:
                major, _ = np.lib.format.read_magic(fh)
                read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(fh)
                assert not dtype.hasobject, name


# ------------------------------------------------------------------------------------------------
# Atomic writes
# ------------------------------------------------------------------------------------------------


def _original(tmp_path):
    path = tmp_path / "model.npz"
    good = nn.Sequential([nn.Dense(3, 2), nn.ReLU()], seed=0)
    good.save(path)
    return path, good, path.read_bytes()


class _Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [_Boom, KeyboardInterrupt, OSError])
def test_failed_write_keeps_the_existing_file_and_leaves_no_temp_file(tmp_path, monkeypatch, exc):
    path, good, before = _original(tmp_path)
    other = nn.Sequential([nn.Dense(3, 5)], seed=1)

    def savez_then_fail(fh, **arrays):
        fh.write(b"PK\x03\x04 partial garbage")  # a half-written file ...
        raise exc("disk full")  # ... then the failure

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(exc):
        other.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    assert state_equal(nn.load(path).state_dict(), good.state_dict())


def test_failed_rename_keeps_the_existing_file(tmp_path, monkeypatch):
    path, _, before = _original(tmp_path)

    def no_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError):
        nn.Sequential([nn.Dense(3, 5)], seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


@nn.register_layer
class _Unserialisable(nn.ReLU):
    """A custom layer whose recorded config is not JSON-serialisable."""

    def __init__(self, dtype=np.float32):
        super().__init__(dtype=dtype)
        self._config = {"callback": object()}


def test_unserialisable_config_keeps_the_existing_file(tmp_path):
    path, _, before = _original(tmp_path)
    bad = nn.Sequential([nn.Dense(3, 2), _Unserialisable()], seed=0)
    with pytest.raises(TypeError):
        bad.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_a_file_that_save_writes_can_be_loaded(tmp_path):
    path, good, _ = _original(tmp_path)
    diverged = nn.Sequential([nn.Dense(3, 2), nn.ReLU()], seed=0)
    diverged.parameters()[0].data[0, 0] = np.nan
    try:
        diverged.save(path)
    except ValueError:
        # Refusing is fine, if the previous model survives.
        assert state_equal(nn.load(path).state_dict(), good.state_dict())
        return
    loaded = nn.load(path)
    assert np.isnan(loaded.parameters()[0].data[0, 0])


def test_save_to_a_missing_directory_or_onto_a_directory(tmp_path):
    model = nn.Sequential([nn.Dense(3, 2)], seed=0)
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "no" / "such" / "dir" / "m.npz")
    assert os.listdir(tmp_path) == []
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("x")
    with pytest.raises(OSError):
        model.save(tmp_path / "d")
    assert sorted(os.listdir(tmp_path)) == ["d"] and os.listdir(tmp_path / "d") == ["keep.txt"]


# ------------------------------------------------------------------------------------------------
# Corrupt, truncated, foreign and missing files
# ------------------------------------------------------------------------------------------------


def _assert_clear_error(
    path,
    must_contain=("corrupt", "truncated", "not a bionn", "version", "malformed", "unknown layer", "mismatch", "shape"),
):
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        nn.load(path)
    msg = str(info.value)
    assert any(s in msg for s in must_contain), msg
    assert path.read_bytes() == before  # loading never writes the file
    return msg


@pytest.mark.parametrize("cut", [0, 1, 4, 30, 0.25, 0.5, 0.9, -22, -1])
def test_truncated_file(tmp_path, cut):
    path, _, data = _original(tmp_path)
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) + cut)
    path.write_bytes(data[:n])
    msg = _assert_clear_error(path)
    assert str(path) in msg or os.path.basename(path) in msg


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello world",
        b"\x00" * 1000,
        b"PK\x03\x04" + b"\xff" * 200,
        b'{"format": "bionn.Sequential", "version": 1}',
    ],
)
def test_garbage_file(tmp_path, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    _assert_clear_error(path)


def _central_directory_headers(data):
    out, i = [], data.find(b"PK\x01\x02")
    while i >= 0:
        out.append(i)
        i = data.find(b"PK\x01\x02", i + 4)
    return out


def _known_bug_offsets(data):
    """Central-directory 'version needed', 'flags' and 'compression' fields (offsets 6-11), whose
    corruption is a known bug (test_corrupt_zip_metadata_raises_value_error)."""
    return {h + k for h in _central_directory_headers(data) for k in range(6, 12)}


@settings(
    max_examples=int(80 * float(os.environ.get("BIONN_FUZZ_SCALE", "1"))),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_corrupted_bytes_give_value_error_or_the_same_model(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("flip")
    path, good, raw = _original(tmp)
    skip = _known_bug_offsets(raw)
    how = data.draw(st.sampled_from(["flip", "flip", "set", "insert", "delete", "truncate_middle"]), label="how")
    pos = data.draw(st.integers(0, len(raw) - 1).filter(lambda p: p not in skip), label="pos")
    b = bytearray(raw)
    if how == "flip":
        b[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    elif how == "set":
        b[pos] = data.draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]), label="value")
    elif how == "insert":
        b[pos:pos] = bytes([data.draw(st.integers(0, 255), label="byte")])
    elif how == "delete":
        del b[pos]
    else:
        del b[pos : pos + data.draw(st.integers(1, 64), label="len")]
    path.write_bytes(bytes(b))
    try:
        loaded = nn.load(path)
    except ValueError as exc:
        assert os.path.basename(path) in str(exc), str(exc)
        assert path.read_bytes() == bytes(b)
        return
    # Corruption in bytes that do not matter (timestamps, unused fields) may load: then it must be
    # exactly the saved model -- the zip CRCs make sure no silently different weights are loaded.
    assert loaded.config() == good.config()
    assert state_equal(loaded.state_dict(), good.state_dict())


@pytest.mark.parametrize(
    "field, offset, value", [("flags", 8, 0x01), ("compression", 10, 99), ("version_needed", 6, 0xFF)]
)
def test_corrupt_zip_metadata_raises_value_error(tmp_path, field, offset, value):
    path, _, raw = _original(tmp_path)
    b = bytearray(raw)
    b[_central_directory_headers(raw)[0] + offset] = value
    path.write_bytes(bytes(b))
    _assert_clear_error(path)


def test_npy_file_is_not_a_model(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    _assert_clear_error(path)


def _craft(tmp_path, mutate_cfg=None, mutate_arrays=None, name="crafted.npz"):
    src = tmp_path / "src.npz"
    nn.Sequential([nn.Dense(3, 2), nn.ReLU(), nn.Dense(2, 2)], seed=0).save(src)
    with np.load(src) as archive:
        arrays = {k: archive[k] for k in archive.files}
    cfg = json.loads(bytes(arrays[CONFIG_KEY]).decode())
    if mutate_cfg is not None:
        cfg = mutate_cfg(cfg)
    arrays[CONFIG_KEY] = np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8)
    if mutate_arrays is not None:
        mutate_arrays(arrays)
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _set(key, value):
    def f(cfg):
        cfg[key] = value
        return cfg

    return f


def _layer(i, key, value):
    def f(cfg):
        cfg["layers"][i]["config"][key] = value
        return cfg

    return f


@pytest.mark.parametrize(
    "mutate, expect",
    [
        (_set("version", 2), "version"),
        (_set("version", 99), "version"),
        (_set("version", "1"), "version"),
        (_set("version", None), "version"),
        (_set("format", "keras"), "not a bionn"),
        (lambda c: {k: v for k, v in c.items() if k != "format"}, "not a bionn"),
        (lambda c: [c], "not a bionn"),
        (lambda c: "model", "not a bionn"),
        (_set("layers", 5), "malformed"),
        (_set("layers", [{"type": "Dense"}]), "malformed"),
        (_set("layers", [{"type": "Transformer", "config": {}}]), "unknown layer"),
        (_layer(0, "bogus_option", 1), "malformed"),
        (_layer(0, "dtype", "int8"), "malformed"),
        (_layer(0, "in_features", 4), "shape"),  # arrays no longer match the architecture
    ],
)
def test_wrong_format_or_version(tmp_path, mutate, expect):
    path = _craft(tmp_path, mutate)
    msg = _assert_clear_error(path, must_contain=(expect,))
    assert "crafted.npz" in msg or expect == "shape"


@pytest.mark.parametrize(
    "mutate_arrays",
    [
        lambda a: a.pop("0.bias"),
        lambda a: a.update({"9.weight": np.zeros(3)}),
        lambda a: a.update({"0.weight": np.zeros((3, 2))}),
        lambda a: a.update({"0.weight": np.full((2, 3), np.nan)}),
        lambda a: a.update({CONFIG_KEY: np.frombuffer(b"\xff\xfe not json", dtype=np.uint8)}),
        lambda a: a.update({CONFIG_KEY: np.frombuffer(b"[1, 2", dtype=np.uint8)}),
        lambda a: a.pop(CONFIG_KEY),
    ],
)
def test_arrays_that_do_not_match_the_architecture(tmp_path, mutate_arrays):
    path = _craft(tmp_path, mutate_arrays=mutate_arrays)
    _assert_clear_error(path, must_contain=("mismatch", "shape", "NaN", "corrupt", "not a bionn"))


def test_pickled_object_arrays_are_refused(tmp_path):
    path = _craft(tmp_path, mutate_arrays=lambda a: a.update({"0.bias": np.array([None, 1], dtype=object)}))
    _assert_clear_error(path)


@pytest.mark.parametrize(
    "mutate", [_layer(2, "dtype", "float64"), _set("seed", -1), _set("seed", 2**70), _set("seed", None)]
)
def test_malformed_config_outside_the_layer_list_raises_value_error(tmp_path, mutate):
    path = _craft(tmp_path, mutate)
    with pytest.raises(ValueError):
        nn.load(path)


def test_missing_file(tmp_path):
    for p in (tmp_path / "nope.npz", str(tmp_path / "nope.npz"), tmp_path / "dir" / "nope.npz"):
        with pytest.raises(FileNotFoundError):
            nn.load(p)
    assert os.listdir(tmp_path) == []


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises((ValueError, IsADirectoryError)):
        nn.load(tmp_path)


# ------------------------------------------------------------------------------------------------
# load_state_dict
# ------------------------------------------------------------------------------------------------


def _pair():
    model, _ = trained()
    other = every_layer_model(np.float32)
    other.reset_parameters(seed=99)
    return model, other


def test_load_state_dict_copies_values():
    model, other = _pair()
    model.load_state_dict(other.state_dict())
    assert state_equal(model.state_dict(), other.state_dict())
    # copies, not references
    sd = other.state_dict()
    model.load_state_dict(sd)
    sd["0.weight"][...] = 0
    assert not np.array_equal(model.state_dict()["0.weight"], 0)


@pytest.mark.parametrize(
    "break_it",
    [
        "missing_key",
        "extra_key",
        "wrong_shape_last",
        "wrong_shape_first",
        "transposed",
        "nan_last",
        "complex_last",
        "scalar",
        "string",
    ],
)
def test_load_state_dict_failure_leaves_the_model_unchanged(break_it):
    model, other = _pair()
    before = model.state_dict()
    sd = other.state_dict()
    keys = list(sd)
    if break_it == "missing_key":
        del sd[keys[len(keys) // 2]]
    elif break_it == "extra_key":
        sd["99.weight"] = np.zeros(2, np.float32)
    elif break_it == "wrong_shape_last":  # every earlier entry is fine: still nothing may be written
        sd[keys[-1]] = np.zeros(sd[keys[-1]].size + 1, np.float32)
    elif break_it == "wrong_shape_first":
        sd[keys[0]] = sd[keys[0]][..., :-1]
    elif break_it == "transposed":
        k = next(k for k in keys if sd[k].ndim == 2 and sd[k].shape[0] != sd[k].shape[1])
        sd[k] = sd[k].T
    elif break_it == "nan_last":
        sd[keys[-1]] = sd[keys[-1]].copy()
        sd[keys[-1]].flat[0] = np.nan
    elif break_it == "complex_last":
        sd[keys[-1]] = sd[keys[-1]].astype(np.complex64)
    elif break_it == "scalar":
        sd[keys[-1]] = 1.0
    else:
        sd[keys[-1]] = "weights"
    with pytest.raises((ValueError, TypeError)) as info:
        model.load_state_dict(sd)
    assert state_equal(model.state_dict(), before), f"partially loaded after: {info.value}"


def test_load_state_dict_errors_name_the_problem():
    model, other = _pair()
    sd = other.state_dict()
    del sd["0.bias"]
    sd["42.extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing \['0.bias'\].*unexpected \['42.extra'\]"):
        model.load_state_dict(sd)
    sd = other.state_dict()
    sd["0.weight"] = np.zeros((1, 2))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(1, 2\), expected \(4, 2, 3, 2\)"):
        model.load_state_dict(sd)


def test_load_state_dict_non_strict_partial():
    model, other = _pair()
    before = model.state_dict()
    part = {k: v for k, v in other.state_dict().items() if k.startswith("0.")}
    model.load_state_dict(part, strict=False)
    now = model.state_dict()
    for k in now:
        np.testing.assert_array_equal(now[k], part[k] if k in part else before[k])
    # Non-strict still checks shapes of the entries it loads.
    with pytest.raises(ValueError):
        model.load_state_dict({"0.weight": np.zeros(3)}, strict=False)


def test_load_state_dict_from_a_different_architecture():
    model, _ = _pair()
    before = model.state_dict()
    with pytest.raises(ValueError):
        model.load_state_dict(nn.Sequential([nn.Dense(3, 2)], seed=0).state_dict())
    assert state_equal(model.state_dict(), before)


def test_load_state_dict_float64_into_float32_and_back():
    m32 = nn.Sequential([nn.Dense(3, 2)], seed=0)
    m64 = nn.Sequential([nn.Dense(3, 2, dtype=np.float64)], seed=1)
    m32.load_state_dict(m64.state_dict())
    for k, v in m64.state_dict().items():
        np.testing.assert_array_equal(m32.state_dict()[k], v.astype(np.float32))
        assert m32.state_dict()[k].dtype == np.float32
    m64.load_state_dict(m32.state_dict())
    for k, v in m32.state_dict().items():
        np.testing.assert_array_equal(m64.state_dict()[k], v.astype(np.float64))
