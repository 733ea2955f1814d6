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


# ================================================================================================
# claims
# ================================================================================================
def make_claim(compare, paper_value, **kw):
    kw.setdefault("compute", lambda mode: 0.0)
    return ex.Claim(
        id="t.claim", paper="t", where="Table 1", description="d", paper_value=paper_value, compare=compare, **kw
    )


@pytest.mark.parametrize(
    "compare, paper_value, kw, value, passed",
    [
        (">=", 0.9, {}, 0.95, True),
        (">=", 0.9, {}, 0.9, True),
        (">=", 0.9, {}, 0.85, False),
        (">=", 0.9, {"tolerance": 0.06}, 0.85, True),
        (">=", 0.9, {"tolerance": 0.01, "relative": True}, 0.88, False),
        ("<=", 0.1, {}, 0.05, True),
        ("<=", 0.1, {}, 0.2, False),
        ("<=", 0.1, {"tolerance": 0.5, "relative": True}, 0.149, True),
        ("within", 0.8, {"tolerance": 0.02}, 0.815, True),
        ("within", 0.8, {"tolerance": 0.02}, 0.79, True),
        ("within", 0.8, {"tolerance": 0.02}, 0.83, False),
        ("within", 0.8, {"tolerance": 0.02}, 0.77, False),
        ("within", 200.0, {"tolerance": 0.05, "relative": True}, 209.0, True),
        ("within", 200.0, {"tolerance": 0.05, "relative": True}, 211.0, False),
        ("significant", "p < 0.05", {}, 0.01, True),
        ("significant", "p < 0.05", {}, 0.05, False),
        ("significant", "p < 0.01", {"alpha": 0.01}, 0.02, False),
        (">=", 0.9, {}, float("nan"), False),
        (">=", 0.9, {}, None, False),
        ("significant", "p < 0.05", {}, float("nan"), False),
        ("<=", 0.1, {}, "small", False),
    ],
)
def test_claim_comparisons(compare, paper_value, kw, value, passed):
    assert make_claim(compare, paper_value, **kw).check(value) is passed


def test_claim_criterion_text():
    assert make_claim(">=", 0.9).criterion() == ">= 0.9"
    assert make_claim("within", 0.8, tolerance=0.02).criterion() == "0.8 ± 0.02"
    assert make_claim("significant", "x", alpha=0.01).criterion() == "p < 0.01"


@pytest.mark.parametrize(
    "compare, paper_value, kw, exc, match",
    [
        ("==", 0.9, {}, ValueError, "compare"),
        ("within", 0.9, {}, ValueError, "tolerance"),
        (">=", "high", {}, TypeError, "numeric"),
        (">=", float("nan"), {}, TypeError, "numeric"),
        (">=", 0.9, {"tolerance": -1}, ValueError, "tolerance"),
        ("significant", "x", {"alpha": 1.5}, ValueError, "alpha"),
        (">=", 0.9, {"compute": 3}, TypeError, "callable"),
    ],
)
def test_claim_validation(compare, paper_value, kw, exc, match):
    with pytest.raises(exc, match=match):
        make_claim(compare, paper_value, **kw)


def test_claim_rejects_reserved_paper_and_empty_fields():
    with pytest.raises(ValueError, match="reserved"):
        ex.Claim(id="x", paper="all", where="w", description="d", paper_value=1, compare=">=", compute=len)
    with pytest.raises(ValueError, match="where"):
        ex.Claim(id="x", paper="p", where="", description="d", paper_value=1, compare=">=", compute=len)


@pytest.fixture
def scratch_paper():
    """A paper key whose claims are removed from the registry afterwards."""
    paper = "pytest-scratch"
    yield paper
    for c in ex.claims(paper):
        ex.unregister_claim(c.id)


def test_register_forms_and_lookup(scratch_paper):
    def compute(mode):
        return 1.0

    c1 = ex.register_claim(
        ex.Claim(
            id="s.one",
            paper=scratch_paper,
            where="Table 1",
            description="one",
            paper_value=0.5,
            compare=">=",
            compute=compute,
        )
    )

    @ex.register_claim(
        id="s.two", paper=scratch_paper, where="Fig. 2", description="two", paper_value=2.0, compare="<="
    )
    def two(mode):
        return 1.0

    c3 = ex.register_claim(
        compute,
        id="s.three",
        paper=scratch_paper,
        where="Sec. 3",
        description="three",
        paper_value=1.0,
        compare="within",
        tolerance=0.1,
    )
    assert isinstance(two, ex.Claim) and two.compute.__name__ == "two"
    assert [c.id for c in ex.claims(scratch_paper)] == ["s.one", "s.two", "s.three"]
    assert scratch_paper in ex.papers() and "demo" in ex.papers()
    assert ex.get_claim("s.three") is c3
    assert c1 in ex.claims() and c1 in ex.claims("all")
    assert ex.claims("no-such-paper") == []
    with pytest.raises(ValueError, match="already registered"):
        ex.register_claim(
            ex.Claim(
                id="s.one",
                paper=scratch_paper,
                where="w",
                description="d",
                paper_value=0.0,
                compare=">=",
                compute=compute,
            )
        )
    ex.register_claim(
        ex.Claim(
            id="s.one",
            paper=scratch_paper,
            where="w",
            description="replaced",
            paper_value=0.0,
            compare=">=",
            compute=compute,
        ),
        replace=True,
    )
    assert ex.get_claim("s.one").description == "replaced"
    ex.unregister_claim("s.one")
    with pytest.raises(KeyError):
        ex.get_claim("s.one")
    with pytest.raises(KeyError):
        ex.unregister_claim("s.one")


def test_run_claims_pass_fail_and_error(scratch_paper):
    seen = {}

    def compute_with_runtime(mode, backend="serial", n_workers=None):
        seen.update(mode=mode, backend=backend, n_workers=n_workers)
        return 0.97, {"seeds": np.int64(3), "spread": np.float64("nan")}

    def compute_broken(mode):
        raise RuntimeError("training diverged")

    ex.register_claim(
        compute_with_runtime,
        id="s.pass",
        paper=scratch_paper,
        where="T1",
        description="passes",
        paper_value=0.95,
        compare=">=",
    )
    ex.register_claim(
        lambda mode: 0.5,
        id="s.fail",
        paper=scratch_paper,
        where="T1",
        description="fails",
        paper_value=0.95,
        compare=">=",
    )
    ex.register_claim(
        compute_broken,
        id="s.error",
        paper=scratch_paper,
        where="T1",
        description="raises",
        paper_value=0.95,
        compare=">=",
    )
    ex.register_claim(
        lambda mode, **kw: 0.001 if kw["backend"] == "processes" else 1.0,
        id="s.sig",
        paper=scratch_paper,
        where="T1",
        description="p",
        paper_value="p < 0.05",
        compare="significant",
    )
    started = []
    results = ex.run_claims(
        scratch_paper, mode="full", backend="processes", n_workers=3, on_start=lambda c: started.append(c.id)
    )
    assert started == ["s.pass", "s.fail", "s.error", "s.sig"]
    assert seen == {"mode": "full", "backend": "processes", "n_workers": 3}
    by_id = {r["id"]: r for r in results}
    for r in results:
        assert {"id", "description", "paper_value", "bionn_value", "passed"} <= set(r)
    assert by_id["s.pass"]["passed"] is True and by_id["s.pass"]["bionn_value"] == 0.97
    assert by_id["s.pass"]["info"]["seeds"] == 3 and by_id["s.pass"]["info"]["spread"] is None
    assert by_id["s.fail"]["passed"] is False and by_id["s.fail"]["bionn_value"] == 0.5
    assert by_id["s.error"]["passed"] is False and by_id["s.error"]["bionn_value"] is None
    assert "training diverged" in by_id["s.error"]["info"]["error"]
    assert by_id["s.sig"]["passed"] is True


def test_run_claims_validates(scratch_paper):
    with pytest.raises(ValueError, match="unknown paper 'nope'.*demo"):
        ex.run_claims("nope")
    with pytest.raises(ValueError, match="mode"):
        ex.run_claims("demo", mode="medium")
    with pytest.raises(ValueError, match="backend"):
        ex.run_claims("demo", backend="gpu")


# -- the demo paper --------------------------------------------------------------------------------
def test_demo_claims_registered():
    ids = [c.id for c in ex.claims("demo")]
    assert "demo.mlp_beats_linear" in ids
    claim = ex.get_claim("demo.mlp_beats_linear")
    assert claim.compare == "significant" and claim.quick_note


def test_demo_training_really_separates_models():
    from bionn.papers import demo

    X, y = demo.make_moons(200, 0.1, np.random.default_rng(0))
    assert X.shape == (200, 2) and X.dtype == np.float32 and set(np.unique(y)) == {0, 1}
    mlp = demo.train_moons(0, "mlp", n_train=200, n_test=400, epochs=30)
    linear = demo.train_moons(0, "linear", n_train=200, n_test=400, epochs=30)
    assert mlp["test_accuracy"] > linear["test_accuracy"] + 0.05
    with pytest.raises(ValueError, match="model"):
        demo.train_moons(0, "cnn")
