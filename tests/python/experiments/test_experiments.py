"""Tests of bionn.experiments: repeat() on every backend, statistics, and the claim registry."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import bionn
import bionn.experiments as ex

# pandas and scipy are imported lazily: worker processes of the "processes" and "dask" backends
# import this module to find the run functions, and should not pay for those imports.


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def stats():
    return pytest.importorskip("scipy.stats")


# -- run functions (module level so that worker processes can import them) ----------------------
def metric_fn(seed, scale=1.0, offset=0.0):
    return {"value": seed * scale + offset, "square": float(seed) ** 2, "threads": bionn.get_num_threads()}


def slow_first_fn(seed, delay=0.3):
    # Early seeds finish last, so completion order differs from submission order.
    time.sleep(delay / (1 + seed))
    return {"value": seed}


def slow_metric_fn(seed, scale=1.0, offset=0.0):
    time.sleep(0.2 / (1 + seed))
    return metric_fn(seed, scale, offset)


def failing_fn(seed):
    if seed == 1:
        raise ArithmeticError("boom at seed 1")
    return {"value": seed}


def not_a_dict_fn(seed):
    return seed


def clashing_fn(seed, lr=0.1):
    return {"lr": lr}


def train_fn(seed, hidden=4):
    """A tiny real bionn training run."""
    from bionn import losses, nn, optim

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential([nn.Dense(3, hidden), nn.ReLU(), nn.Dense(hidden, 2)], seed=seed)
    h = model.fit(
        X, y, loss=losses.CrossEntropy(), optimizer=optim.Adam(model.parameters(), lr=0.01), epochs=3, batch_size=16
    )
    return {"loss": h["loss"][-1]}


CONFIGS = [{"scale": 2.0}, {"scale": -1.0, "offset": 5.0}]
SEEDS = [3, 0, 2]


def expected_frame():
    import pandas as pd

    rows = []
    for c in CONFIGS:
        for s in SEEDS:
            rows.append(
                {
                    "scale": c["scale"],
                    "offset": c.get("offset", np.nan),
                    "seed": s,
                    "value": s * c["scale"] + c.get("offset", 0.0),
                    "square": float(s) ** 2,
                }
            )
    return pd.DataFrame(rows)


# ================================================================================================
# repeat
# ================================================================================================
def test_repeat_serial_columns_and_order(pd):
    df = ex.repeat(metric_fn, SEEDS, CONFIGS)
    assert list(df.columns) == ["scale", "offset", "seed", "value", "square", "threads"]
    assert len(df) == len(SEEDS) * len(CONFIGS)
    pd.testing.assert_frame_equal(df.drop(columns="threads"), expected_frame(), check_dtype=False)
    # serial runs leave the caller's thread count alone
    assert (df["threads"] == bionn.get_num_threads()).all()


def test_repeat_without_configs():
    df = ex.repeat(metric_fn, range(4))
    assert list(df.columns) == ["seed", "value", "square", "threads"]
    assert df["seed"].tolist() == [0, 1, 2, 3]
    assert df["value"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_repeat_progress_bar_runs():
    df = ex.repeat(metric_fn, [0, 1], progress=True)
    assert len(df) == 2


def test_repeat_processes_matches_serial_and_uses_one_thread(pd):
    df = ex.repeat(metric_fn, SEEDS, CONFIGS, backend="processes", n_workers=2)
    pd.testing.assert_frame_equal(df.drop(columns="threads"), expected_frame(), check_dtype=False)
    assert (df["threads"] == 1).all()


def test_repeat_processes_order_is_deterministic():
    df = ex.repeat(slow_first_fn, [0, 1, 2, 3], [{"delay": 0.3}], backend="processes", n_workers=2)
    assert df["seed"].tolist() == [0, 1, 2, 3]
    assert df["value"].tolist() == [0, 1, 2, 3]


def test_repeat_processes_real_training_matches_serial(pd):
    prev = bionn.get_num_threads()
    bionn.set_num_threads(1)
    try:
        serial = ex.repeat(train_fn, [0, 1], [{"hidden": 4}, {"hidden": 8}])
    finally:
        bionn.set_num_threads(prev)
    parallel = ex.repeat(train_fn, [0, 1], [{"hidden": 4}, {"hidden": 8}], backend="processes", n_workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert parallel["hidden"].tolist() == [4, 4, 8, 8]


@pytest.mark.parametrize("fn", [lambda seed: {"v": seed}, "local"], ids=["lambda", "local-function"])
def test_repeat_processes_rejects_unpicklable_fn(fn):
    if fn == "local":

        def fn(seed):
            return {"v": seed}

    with pytest.raises(TypeError, match="not picklable.*module") as info:
        ex.repeat(fn, [0, 1], backend="processes", n_workers=1)
    assert "backend='processes'" in str(info.value)


def test_repeat_processes_rejects_unpicklable_config():
    with pytest.raises(TypeError, match=r"configs\[0\] is not picklable"):
        ex.repeat(metric_fn, [0], [{"scale": lambda: 1}], backend="processes", n_workers=1)


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_repeat_failing_run_names_seed_and_config(backend):
    with pytest.raises(ex.RunError, match=r"seed=1.*ArithmeticError: boom at seed 1") as info:
        ex.repeat(failing_fn, [0, 1, 2], backend=backend, n_workers=2)
    assert info.value.seed == 1
    assert isinstance(info.value.__cause__, ArithmeticError)


def test_repeat_fn_must_return_dict():
    with pytest.raises(ex.RunError, match="dict of metrics") as info:
        ex.repeat(not_a_dict_fn, [0])
    assert isinstance(info.value.__cause__, TypeError)


def test_repeat_metric_clashing_with_config_key():
    with pytest.raises(ValueError, match="lr"):
        ex.repeat(clashing_fn, [0], [{"lr": 0.5}])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(seeds=5), TypeError, r"range\(5\)"),
        (dict(seeds=[]), ValueError, "empty"),
        (dict(seeds=[0, -1]), ValueError, ">= 0"),
        (dict(seeds=[0.5]), TypeError, "ints"),
        (dict(seeds=[0], configs={"scale": [1, 2]}), TypeError, "grid"),
        (dict(seeds=[0], configs=[]), ValueError, "empty"),
        (dict(seeds=[0], configs=[{"seed": 1}]), ValueError, "seed"),
        (dict(seeds=[0], configs=[1]), TypeError, "dict"),
        (dict(seeds=[0], backend="threads"), ValueError, "backend"),
        (dict(seeds=[0], address="tcp://127.0.0.1:1"), ValueError, "dask"),
        (dict(seeds=[0], backend="processes", n_workers=0), ValueError, "n_workers"),
    ],
)
def test_repeat_validates_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ex.repeat(metric_fn, **kwargs)


def test_grid():
    assert ex.grid(a=[1, 2], b=["x"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert ex.grid() == [{}]
    with pytest.raises(TypeError):
        ex.grid(a=3)


# -- dask ------------------------------------------------------------------------------------------
def test_repeat_dask_local_cluster(pd):
    pytest.importorskip("distributed")
    # seed 0 sleeps longest, so runs finish out of order; the frame is still ordered
    df = ex.repeat(slow_metric_fn, SEEDS, CONFIGS, backend="dask", n_workers=2)
    pd.testing.assert_frame_equal(df.drop(columns="threads"), expected_frame(), check_dtype=False)
    assert (df["threads"] == 1).all()


def test_repeat_dask_existing_cluster_by_address():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        # a lambda is fine here: dask pickles with cloudpickle
        df = ex.repeat(
            lambda seed, k=1: {"v": seed * k}, [1, 2], [{"k": 10}], backend="dask", address=cluster.scheduler_address
        )
        assert df["v"].tolist() == [10, 20]
        with pytest.raises(ex.RunError, match="seed=1"):
            ex.repeat(failing_fn, [0, 1], backend="dask", address=cluster.scheduler_address)
        # the cluster we did not start is left running
        assert cluster.status.name == "running"


# ================================================================================================
# statistics
# ================================================================================================
A = [0.91, 0.93, 0.92, 0.95, 0.94, 0.90]
B = [0.88, 0.90, 0.87, 0.91, 0.92, 0.86]


def test_summarize_by_group(pd):
    df = pd.DataFrame({"model": ["a", "a", "a", "b", "b"], "acc": [1.0, 2.0, 4.0, 10.0, 10.0]})
    s = ex.summarize(df, "acc", by=["model"])
    assert list(s.columns) == ["model", "mean", "std", "min", "max", "n"]
    a = s.set_index("model").loc["a"]
    assert a["mean"] == pytest.approx(7 / 3)
    assert a["std"] == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert (a["min"], a["max"], a["n"]) == (1.0, 4.0, 3)
    b = s.set_index("model").loc["b"]
    assert b["std"] == 0.0 and b["n"] == 2


def test_summarize_without_groups_and_on_repeat_output():
    df = ex.repeat(metric_fn, SEEDS, CONFIGS)
    s = ex.summarize(df, "value", by="scale")
    assert s["scale"].tolist() == [-1.0, 2.0]
    assert s["n"].tolist() == [3, 3]
    whole = ex.summarize(df, "square")
    assert len(whole) == 1
    assert whole.loc[0, "mean"] == pytest.approx(np.mean([9, 0, 4, 9, 0, 4]))
    assert math.isnan(ex.summarize(df.iloc[:1], "value")["std"].iloc[0])
    with pytest.raises(KeyError, match="nope"):
        ex.summarize(df, "nope")


@pytest.mark.parametrize("welch", [True, False])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_ttest_matches_scipy(welch, alternative, stats):
    r = ex.ttest(A, B, welch=welch, alternative=alternative)
    ref = stats.ttest_ind(A, B, equal_var=not welch, alternative=alternative)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.pvalue == pytest.approx(ref.pvalue)
    assert r.test == ("welch_t" if welch else "student_t")
    stat, p = r
    assert (stat, p) == (r.statistic, r.pvalue)
    assert r.as_dict()["alternative"] == alternative


def test_ttest_default_is_welch_and_validates(stats):
    assert ex.ttest(A, B).pvalue == pytest.approx(stats.ttest_ind(A, B, equal_var=False).pvalue)
    with pytest.raises(ValueError, match="at least 2"):
        ex.ttest([1.0], B)
    with pytest.raises(ValueError, match="alternative"):
        ex.ttest(A, B, alternative="bigger")
    with pytest.raises(ValueError, match="NaN"):
        ex.ttest([1.0, np.nan], B)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_wilcoxon_matches_scipy(alternative, stats):
    r = ex.wilcoxon(A, B, alternative=alternative)
    ref = stats.wilcoxon(A, B, alternative=alternative)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.pvalue == pytest.approx(ref.pvalue)
    assert r.n == len(A)


def test_wilcoxon_edge_cases():
    r = ex.wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (r.statistic, r.pvalue) == (0.0, 1.0)
    with pytest.raises(ValueError, match="paired"):
        ex.wilcoxon([1.0, 2.0], [1.0, 2.0, 3.0])


def test_pearson_matches_scipy(stats):
    x = np.arange(10.0)
    y = np.array([0.1, 1.3, 1.9, 3.2, 3.8, 5.1, 6.3, 6.8, 8.1, 9.2])
    r = ex.pearson(x, y)
    ref = stats.pearsonr(x, y)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.pvalue == pytest.approx(ref.pvalue)
    assert r.significant(0.05)
    r1 = ex.pearson(x, -y, alternative="greater")
    assert r1.pvalue == pytest.approx(stats.pearsonr(x, -y, alternative="greater").pvalue)
    assert not r1.significant()
    with pytest.raises(ValueError, match="equal length"):
        ex.pearson(x, y[:5])


# -- the demo paper --------------------------------------------------------------------------------
def test_demo_claims_registered():
    ids = [c.id for c in ex.claims("demo")]
    assert "demo.mlp_beats_linear" in ids
    claim = ex.get_claim("demo.mlp_beats_linear")
    assert isinstance(claim.criterion, ex.Compare) and claim.criterion.test == "welch"
    assert ex.get_experiment("demo", "moons").quick.note


def test_demo_training_really_separates_models():
    from bionn.papers import demo

    X, y = demo.make_moons(200, 0.1, np.random.default_rng(0))
    assert X.shape == (200, 2) and X.dtype == np.float32 and set(np.unique(y)) == {0, 1}
    mlp = demo.train_moons(0, "mlp", n_train=200, n_test=400, epochs=30)
    linear = demo.train_moons(0, "linear", n_train=200, n_test=400, epochs=30)
    assert mlp["test_accuracy"] > linear["test_accuracy"] + 0.05
    with pytest.raises(ValueError, match="model"):
        demo.train_moons(0, "cnn")


# -- the new statistical tests ---------------------------------------------------------------------
def test_paired_ttest_mannwhitney_spearman():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = a - np.array([0.5, 0.6, 0.4, 0.7, 0.5])
    res = ex.paired_ttest(a, b, alternative="greater")
    assert res.test == "paired_t" and res.pvalue < 1e-3
    assert ex.paired_ttest(a, a).pvalue == 1.0
    with pytest.raises(ValueError, match="same non-zero"):
        ex.paired_ttest(a, a - 1)
    with pytest.raises(ValueError, match="equal length"):
        ex.paired_ttest(a, a[:3])
    res = ex.mannwhitney(a + 10, a, alternative="greater")
    assert res.test == "mannwhitney_u" and res.pvalue == pytest.approx(1 / 252)  # exact: 1 / C(10, 5)
    rho = ex.spearman(a, a**3)
    assert rho.statistic == pytest.approx(1.0) and rho.pvalue < 0.05
    assert math.isnan(ex.spearman(a, np.ones(5)).statistic)
    with pytest.raises(ValueError, match="at least 3"):
        ex.spearman(a[:2], a[:2])
