"""Tests of bionn.experiments.records: RunStore keys, records, validation, and repeat(store=...)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import bionn
import bionn.experiments as ex
from bionn.experiments import records as rec

P, E = "paper1", "exp-a"
CONFIGS = [{"scale": 2.0}, {"scale": -1.0, "offset": 5.0}]
SEEDS = [3, 0, 2]


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


@pytest.fixture
def store(tmp_path):
    return ex.RunStore(tmp_path / "results")


# -- run functions (module level so that worker processes can import them) ----------------------
CALLS = []


def metric_fn(seed, scale=1.0, offset=0.0):
    CALLS.append((seed, scale, offset))
    return {"value": seed * scale + offset, "square": np.float64(seed) ** 2}


def interrupted_fn(seed, scale=1.0, offset=0.0):
    if len(CALLS) == 2:
        CALLS.append("interrupted")
        raise KeyboardInterrupt
    return metric_fn(seed, scale, offset)


def must_not_run_fn(seed, scale=1.0, offset=0.0):
    raise AssertionError("this run has a record and must not run again")


def curves_fn(seed):
    return {"final": 0.5, "curves": {"loss": np.array([1.0, 0.7, np.nan]), "acc": [0.1, 0.2, 0.3]}}


def temp_files(root):
    return [p for p in Path(root).rglob("*") if p.name.startswith(".bionn-")]


# ================================================================================================
# keys
# ================================================================================================
def test_key_is_stable_and_readable(store):
    a = store.key(P, E, {"model": "focus-s", "epochs": 200, "lr": 0.1}, 3)
    b = store.key(P, E, {"lr": 0.1, "epochs": 200, "model": "focus-s"}, 3)
    assert a == b
    assert re.fullmatch(r"epochs=200_lr=0\.1_model=focus-s-[0-9a-f]{8}", a.parent.name)
    assert a.relative_to(store.root).parts[:2] == (P, E) and a.name == "seed-3.json"
    assert store.key(P, E, {"lr": np.float64(0.1), "epochs": np.int64(200), "model": "focus-s"}, 3) == a
    assert store.key(P, E, {"model": "focus-s", "epochs": 201, "lr": 0.1}, 3).parent != a.parent
    assert store.key(P, E, {"x": 1}, 0).parent != store.key(P, E, {"x": 1.0}, 0).parent
    assert store.key(P, E, {"x": 1}, 0).parent != store.key(P, E, {"x": True}, 0).parent
    assert store.key(P, E, {}, 0).parent.name.startswith("default-")
    # nested and odd characters: still a single, safe, bounded directory name
    odd = store.key(P, E, {"layers": [32, 32], "note": "a/b c" * 40, "opt": {"b": 1, "a": 2}}, 0)
    assert odd.parent.parent == store.root / P / E
    assert re.fullmatch(r"[A-Za-z0-9._=+-]{1,60}-[0-9a-f]{8}", odd.parent.name)
    assert odd == store.key(P, E, {"opt": {"a": 2, "b": 1}, "note": "a/b c" * 40, "layers": (32, 32)}, 0)


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((P, E, {"f": len}, 0), TypeError, "'f'"),
        ((P, E, {"x": {"inner": object()}}, 0), TypeError, "'x'"),
        ((P, E, {"lr": float("nan")}, 0), ValueError, "'lr'"),
        ((P, E, {1: 2}, 0), TypeError, "key"),
        (("../up", E, {}, 0), ValueError, "paper"),
        ((P, ".hidden", {}, 0), ValueError, "experiment"),
        ((P, 3, {}, 0), TypeError, "experiment"),
        ((P, E, {}, True), TypeError, "seed"),
        ((P, E, {}, -1), ValueError, "seed"),
    ],
)
def test_key_rejects(store, args, exc, match):
    with pytest.raises(exc, match=match):
        store.key(*args)


# ================================================================================================
# records
# ================================================================================================
def test_round_trip_and_schema(store):
    metrics = {"acc": np.float32(0.5), "n": np.int64(7), "ok": True, "name": "x", "per_class": np.arange(3)}
    path = store.save(P, E, {"b": 2, "a": [1, 2]}, 4, metrics, curves={"loss": [1.0, 0.5]}, wall_time=1.25)
    assert path == store.key(P, E, {"a": [1, 2], "b": 2}, 4) and path.is_file()
    r = store.load(P, E, {"a": (1, 2), "b": 2}, 4)
    assert list(r) == list(rec._KEYS)
    assert (r["format"], r["version"], r["paper"], r["experiment"], r["seed"]) == ("bionn.run", 1, P, E, 4)
    assert r["config"] == {"b": 2, "a": [1, 2]}
    assert r["metrics"] == {"acc": 0.5, "n": 7, "ok": True, "name": "x", "per_class": [0, 1, 2]}
    assert r["curves"] == {"loss": [1.0, 0.5]} and r["wall_time_s"] == 1.25
    assert r["bionn_version"] == bionn.__version__
    assert r["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40,64}", r["git_commit"])
    assert set(r["machine"]) == {"cpu", "cores", "threads", "platform", "gemm"} and r["machine"]["threads"] >= 1
    assert r["machine"]["gemm"] == bionn._blas.gemm_label()
    assert r["created"].endswith("+00:00") and r["nonfinite"] == []
    assert store.has(P, E, {"b": 2, "a": [1, 2]}, 4) and not store.has(P, E, {"b": 2, "a": [1, 2]}, 5)
    assert store.load(P, E, {"b": 3}, 4) is None
    assert temp_files(store.root) == []


def test_nonfinite_metrics_are_null_in_the_file_and_restored(store):
    path = store.save(P, E, {}, 0, {"loss": np.nan, "up": np.inf, "v": [1.0, -np.inf]}, curves={"l": [np.nan, 1.0]})
    raw = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert raw["metrics"]["loss"] is None and raw["curves"]["l"] == [None, 1.0]
    assert {"path": ["metrics", "loss"], "value": "nan"} in raw["nonfinite"]
    r = store.load(P, E, {}, 0)
    assert math.isnan(r["metrics"]["loss"]) and r["metrics"]["up"] == math.inf and r["metrics"]["v"] == [1.0, -math.inf]
    assert math.isnan(r["curves"]["l"][0])


def test_save_rejects_non_json_and_writes_nothing(store):
    with pytest.raises(TypeError, match="'model'"):
        store.save(P, E, {}, 0, {"model": object()})
    with pytest.raises(TypeError, match="curve 'loss'"):
        store.save(P, E, {}, 0, {}, curves={"loss": 3.0})
    with pytest.raises(ValueError, match="wall_time"):
        store.save(P, E, {}, 0, {}, wall_time=-1.0)
    assert not store.has(P, E, {}, 0) and temp_files(store.root) == []


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


CORRUPTIONS = {
    "truncated": lambda p: p.write_text(p.read_text()[:40]),
    "empty": lambda p: p.write_text(""),
    "not-utf8": lambda p: p.write_bytes(b"\xff\xfe{"),
    "array": lambda p: p.write_text("[1, 2]"),
    "nan-literal": lambda p: p.write_text(p.read_text().replace('"value": 1.5', '"value": NaN')),
    "deep": lambda p: p.write_text("[" * 100000 + "]" * 100000),
    "format": lambda p: _edit(p, lambda d: d.update(format="bionn.model")),
    "version": lambda p: _edit(p, lambda d: d.update(version=2)),
    "version-bool": lambda p: _edit(p, lambda d: d.update(version=True)),
    "seed-str": lambda p: _edit(p, lambda d: d.update(seed="1")),
    "seed-other": lambda p: _edit(p, lambda d: d.update(seed=2)),
    "paper-other": lambda p: _edit(p, lambda d: d.update(paper="paper2")),
    "config-other": lambda p: _edit(p, lambda d: d.update(config={"scale": 3.0})),
    "config-type": lambda p: _edit(p, lambda d: d.update(config=[1])),
    "metrics-type": lambda p: _edit(p, lambda d: d.update(metrics=[1.5])),
    "curves-type": lambda p: _edit(p, lambda d: d.update(curves={"l": 1})),
    "extra-key": lambda p: _edit(p, lambda d: d.update(evil=1)),
    "missing-key": lambda p: _edit(p, lambda d: d.pop("machine")),
    "machine": lambda p: _edit(p, lambda d: d.update(machine={"cpu": 1, "cores": 1, "threads": 1, "platform": ""})),
    "wall-time": lambda p: _edit(p, lambda d: d.update(wall_time_s=-3)),
    "created": lambda p: _edit(p, lambda d: d.update(created="yesterday")),
    "nonfinite-not-null": lambda p: _edit(
        p, lambda d: d.update(nonfinite=[{"path": ["metrics", "value"], "value": "nan"}])
    ),
    "nonfinite-path": lambda p: _edit(p, lambda d: d.update(nonfinite=[{"path": ["config", "scale"], "value": "nan"}])),
    "nonfinite-index": lambda p: _edit(
        p, lambda d: d.update(nonfinite=[{"path": ["metrics", "value", 9], "value": "inf"}])
    ),
    "directory": lambda p: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_corrupt_or_crafted_records_raise_value_error_naming_the_path(store, how):
    path = store.save(P, E, {"scale": 1.0}, 1, {"value": 1.5})
    CORRUPTIONS[how](path)
    with pytest.raises(ValueError) as info:
        store.load(P, E, {"scale": 1.0}, 1)
    assert str(path) in str(info.value)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        store.records(P)


def test_records_sorted_and_misplaced_file_detected(store):
    for c in ({"scale": 2.0}, {"scale": 1.0}):
        for s in (10, 2):
            store.save(P, E, c, s, {"value": s})
    store.save(P, "exp-b", {}, 0, {"value": 0})
    store.save("paper2", E, {}, 0, {"value": 0})
    (store.key(P, E, {"scale": 1.0}, 0).parent / ".bionn-partial.tmp").write_text("{")
    got = [(r["experiment"], r["config"], r["seed"]) for r in store.records(P)]
    assert got == [(E, {"scale": 1.0}, 2), (E, {"scale": 1.0}, 10), (E, {"scale": 2.0}, 2), (E, {"scale": 2.0}, 10)] + [
        ("exp-b", {}, 0)
    ]
    assert len(store.records(P, E)) == 4 and store.records("nobody") == [] and store.records(P, "none") == []
    shutil.copy(store.key(P, E, {"scale": 1.0}, 2), store.key(P, E, {"scale": 1.0}, 3))
    with pytest.raises(ValueError, match="another run"):
        store.records(P, E)
    with pytest.raises(ValueError, match="another run"):
        store.load(P, E, {"scale": 1.0}, 3)


def test_missing(store):
    store.save(P, E, CONFIGS[1], 0, {"value": 5.0})
    store.save(P, E, CONFIGS[0], 2, {"value": 4.0})
    assert store.missing(P, E, CONFIGS, SEEDS) == [(CONFIGS[0], 3), (CONFIGS[0], 0), (CONFIGS[1], 3), (CONFIGS[1], 2)]
    assert store.missing(P, E, None, [0]) == [({}, 0)]


def test_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("BIONN_RESULTS", str(tmp_path / "r"))
    assert ex.default_store() == ex.RunStore(tmp_path / "r")
    monkeypatch.delenv("BIONN_RESULTS")
    monkeypatch.setattr(rec, "_source_checkout", lambda: tmp_path)
    assert ex.default_store().root == tmp_path / "results"
    monkeypatch.setattr(rec, "_source_checkout", lambda: None)
    assert ex.default_store().root == Path.home() / ".cache" / "bionn" / "results"


def test_source_checkout_found_from_package_or_cwd(monkeypatch, tmp_path):
    repo = Path(__file__).resolve().parents[3]  # the tests always run from a checkout
    monkeypatch.chdir(repo / "tests")
    assert rec._source_checkout() == repo  # from the package path (PYTHONPATH) or the cwd's parent (installed)
    fake = tmp_path / "elsewhere"
    (fake / "python" / "bionn").mkdir(parents=True)
    (fake / "sub").mkdir()
    assert not rec._is_checkout(fake)  # no pyproject
    (fake / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert not rec._is_checkout(fake)
    (fake / "pyproject.toml").write_text('[project]\nname = "bionn"\n')
    assert rec._is_checkout(fake)
    if not rec._is_checkout(Path(rec.__file__).resolve().parents[3]):  # installed: the cwd decides
        monkeypatch.chdir(fake / "sub")
        assert rec._source_checkout() == fake


# ================================================================================================
# repeat(store=...)
# ================================================================================================
def test_frame_equals_repeat(store, pd):
    df = ex.repeat(metric_fn, SEEDS, CONFIGS, store=store, paper=P, experiment=E)
    plain = ex.repeat(metric_fn, SEEDS, CONFIGS)
    pd.testing.assert_frame_equal(df, plain)
    pd.testing.assert_frame_equal(store.frame(P, E, CONFIGS, SEEDS), plain)
    everything = store.frame(P, E)  # every record: canonical config order, then seed
    expected = plain.sort_values(["offset", "seed"], na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(everything, expected)
    with pytest.raises(KeyError, match="seed=9"):
        store.frame(P, E, CONFIGS, [9])


def test_resume_after_interrupt_and_rerun(store, pd):
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        ex.repeat(interrupted_fn, SEEDS, CONFIGS, store=store, paper=P, experiment=E)
    # missing runs go seed-major: both configs of seed 3 first (an interrupted protocol keeps whole seeds)
    assert CALLS == [(3, 2.0, 0.0), (3, -1.0, 5.0), "interrupted"]
    assert len(store.records(P, E)) == 2 and temp_files(store.root) == []
    assert store.missing(P, E, CONFIGS, SEEDS)[0] == (CONFIGS[0], 0)
    CALLS.clear()
    df = ex.repeat(metric_fn, SEEDS, CONFIGS, store=store, paper=P, experiment=E)
    assert len(CALLS) == 4 and (3, 2.0, 0.0) not in CALLS
    pd.testing.assert_frame_equal(df, ex.repeat(metric_fn, SEEDS, CONFIGS))
    CALLS.clear()
    ex.repeat(must_not_run_fn, SEEDS, CONFIGS, store=store, paper=P, experiment=E)
    store.save(P, E, CONFIGS[0], 3, {"value": -1.0, "square": -1.0})  # a stale record, overwritten by rerun
    ex.repeat(metric_fn, SEEDS, CONFIGS, store=store, paper=P, experiment=E, rerun=True)
    assert len(CALLS) == 6
    assert store.load(P, E, CONFIGS[0], 3)["metrics"] == {"value": 6.0, "square": 9.0}


def test_repeat_store_records_wall_time_machine_and_curves(store):
    df = ex.repeat(curves_fn, [0, 1], store=store, paper=P, experiment="curves")
    assert list(df.columns) == ["seed", "final"]
    r = store.load(P, "curves", {}, 1)
    assert r["metrics"] == {"final": 0.5} and r["curves"]["acc"] == [0.1, 0.2, 0.3]
    assert math.isnan(r["curves"]["loss"][2]) and r["wall_time_s"] >= 0


def test_repeat_store_argument_checks(store):
    with pytest.raises(TypeError, match="paper"):
        ex.repeat(metric_fn, [0], store=store, experiment=E)
    with pytest.raises(TypeError, match="experiment"):
        ex.repeat(metric_fn, [0], store=store, paper=P)
    with pytest.raises(TypeError, match="store"):
        ex.repeat(metric_fn, [0], paper=P, experiment=E)
    with pytest.raises(TypeError, match="'scale'"):  # checked before anything runs
        ex.repeat(metric_fn, [0], [{"scale": 1.0}, {"scale": object()}], store=store, paper=P, experiment=E)
    with pytest.raises(ValueError, match="seed"):
        ex.repeat(lambda seed: {"seed": 1}, [0], store=store, paper=P, experiment=E)
    assert store.records(P) == []


def test_repeat_processes_writes_records(store, pd):
    df = ex.repeat(metric_fn, SEEDS, CONFIGS, backend="processes", n_workers=2, store=store, paper=P, experiment=E)
    pd.testing.assert_frame_equal(df, ex.repeat(metric_fn, SEEDS, CONFIGS))
    assert len(store.records(P, E)) == 6
    assert {r["machine"]["threads"] for r in store.records(P, E)} == {1}  # the worker's, not the parent's
    again = ex.repeat(must_not_run_fn, SEEDS, CONFIGS, backend="processes", store=store, paper=P, experiment=E)
    pd.testing.assert_frame_equal(again, df)


def test_repeat_dask_writes_records_in_the_parent(store, pd):
    pytest.importorskip("distributed")
    store.save(P, E, CONFIGS[0], 3, {"value": 6.0, "square": 9.0})
    df = ex.repeat(metric_fn, SEEDS, CONFIGS, backend="dask", n_workers=1, store=store, paper=P, experiment=E)
    pd.testing.assert_frame_equal(df, ex.repeat(metric_fn, SEEDS, CONFIGS))
    assert len(store.records(P, E)) == 6 and temp_files(store.root) == []
