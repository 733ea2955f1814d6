"""The selforg paper (bionn.papers.selforg): the data protocol of §3.1 (and its deprecated
bionn.selforg aliases), the experiments' run functions (tiny configs, real training on the MNIST
sample), the data check, and every claim's criterion on fabricated records, both ways."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bionn import data, experiments, selforg
from bionn.experiments import ClaimData
from bionn.papers import selforg as paper
from bionn.papers._common import DataUnavailable

needs_mnist = pytest.mark.usefixtures("mnist_sample")

CLAIMS = {
    "selforg.table1_a3_beats_random",
    "selforg.table1_a3_best_handcrafted",
    "selforg.table1_a2_weakest_handcrafted",
    "selforg.sec32_entropy_accuracy_correlation",
    "selforg.table2_meta_improves_accuracy",
    "selforg.table2_meta_beats_extra_epochs",
    "selforg.table2_hill_climbing_vs_random_search",
}
TABLE2_CLAIMS = {c for c in CLAIMS if c.startswith("selforg.table2_")}
TINY = {"n_train": 300, "n_test": 200, "epochs": 1}


def test_claims_and_experiments_are_registered():
    assert {c.id for c in experiments.claims("selforg")} == CLAIMS
    assert [e.name for e in experiments.experiments("selforg")] == ["table1_mnist", "table2_mnist"]
    t1, t2 = paper.TABLE1, paper.TABLE2
    assert len(t1.seeds) == 10 and len(t2.seeds) == 10  # the paper's 10 runs (Tables 1-2)
    assert {c["topology"] for c in t1.configs} == set(paper.TOPOLOGIES)
    for exp in (t1, t2):
        assert exp.requires is not None and exp.deviations and exp.protocol
        for c in exp.configs:  # every setting a run depends on is in its config
            assert set(paper.AE_SETTINGS) | set(paper.READOUT_SETTINGS) <= set(c)
    assert experiments.get_claim("selforg.table1_a3_beats_random").quick_power
    assert not experiments.get_claim("selforg.table2_meta_improves_accuracy").quick_power
    # the paper's scale: the whole 10k sample (8000 / 2000), M = 20 meta-steps of 2 epochs, both controls
    main = t2.configs[0]
    assert (main["n_train"], main["n_test"], main["meta_steps"], main["epochs_per_step"]) == (8000, 2000, 20, 2)
    assert main["controls"] == "extra_epochs,random_search"
    sens = [(c["meta_steps"], c["epochs_per_step"], c["controls"]) for c in t2.configs[1:]]
    assert sens == [(20, 1, ""), (20, 5, ""), (40, 2, "")]
    assert t2.plan("quick")[0][0]["controls"] == main["controls"] and len(t2.plan("quick")[0]) == 1


@needs_mnist
def test_run_topology_returns_what_the_table1_claims_read():
    cfg = dict(paper.TABLE1.plan("quick")[0][2], **TINY)
    r = paper.run_topology(seed=0, **cfg)
    assert cfg["topology"] == "A3" and r["levels"] == 2
    assert 0.1 < r["accuracy"] <= 1.0 and r["max_entropy"] > 0
    assert len(r["curves"]["entropy"]) == 1 and len(r["curves"]["loss"]) == 1
    assert max(r["curves"]["entropy"]) == pytest.approx(r["max_entropy"])
    with pytest.raises(TypeError, match="no_such"):
        paper.run_topology(seed=0, topology="A1", no_such=1, **TINY)


@needs_mnist
def test_run_meta_returns_what_the_table2_claims_read():
    cfg = dict(paper.TABLE2.plan("quick")[0][0], meta_steps=2, **TINY)
    m = paper.run_meta(seed=0, **cfg)
    assert len(m["acc_per_step"]) == 3 and len(m["fields_per_step"]) == 3
    assert m["curves"]["accuracy"] == m["acc_per_step"]
    assert m["acc_initial"] == m["acc_per_step"][0] and m["acc_final"] == m["acc_per_step"][-1]
    assert m["candidates"] >= 2 and 0 <= m["accepted"] <= 2
    assert m["control_epochs"] == m["candidates"] * cfg["epochs_per_step"]
    for key in ("acc_control", "acc_control_matched", "acc_random_search"):
        assert 0 < m[key] <= 1
    assert 0 <= m["accepted_random_search"] <= m["candidates"]
    if m["accepted"] == 0:
        assert m["acc_final"] == m["acc_initial"] and m["fields_per_step"][0] == m["fields_per_step"][-1]


@needs_mnist
def test_run_meta_controls_start_from_the_same_initial_network():
    # no meta-step: no candidate, so both controls are the initial network itself (rebuilt, same seed)
    cfg = dict(paper.TABLE2.plan("quick")[0][0], meta_steps=0, **TINY)
    m = paper.run_meta(seed=1, **cfg)
    assert m["candidates"] == 0 and m["control_epochs"] == 0
    assert m["acc_control"] == m["acc_control_matched"] == m["acc_random_search"] == m["acc_initial"]
    bare = paper.run_meta(seed=1, **dict(cfg, controls=""))
    assert not {"acc_control", "acc_random_search"} & set(bare) and bare["acc_initial"] == m["acc_initial"]


def test_run_meta_rejects_unknown_controls():
    with pytest.raises(ValueError, match="controls"):
        paper.run_meta(seed=0, controls="extra_epochs,bogus", **TINY)
    with pytest.raises(TypeError, match="controls"):
        paper.run_meta(seed=0, controls=["extra_epochs"], **TINY)


def test_requires_raises_data_unavailable_without_the_sample(tmp_path, monkeypatch):
    from bionn.data import _files

    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    monkeypatch.delenv("BIONN_SHARED_DATA", raising=False)
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", (), raising=False)
    for exp in (paper.TABLE1, paper.TABLE2):
        with pytest.raises(DataUnavailable, match="MNIST"):
            exp.requires()


# ------------------------------------------------------------------------------------------------
# criteria on fabricated records
# ------------------------------------------------------------------------------------------------
def _table1(means, entropy_sign=1.0, sd=0.001, n=10):
    """Fabricated table1_mnist runs: accuracy = means[topology] + noise; max_entropy follows the
    accuracy (entropy_sign=1) or runs against it (-1)."""
    rng = np.random.default_rng(0)
    rows = []
    for t, mean in means.items():
        for seed in range(n):
            acc = mean + sd * rng.standard_normal()
            rows.append({"topology": t, "seed": seed, "accuracy": acc, "max_entropy": 3 + entropy_sign * 10 * acc})
    return pd.DataFrame(rows)


MAIN = paper.TABLE2.configs[0]


def _table2(gain, n=10, control_gain=0.0, rs_gain=0.0, sensitivity=True):
    """Fabricated table2_mnist runs: x1 = x0 + gain; the extra-epochs control x0 + control_gain; random
    search x0 + rs_gain; the sensitivity configs (no controls) with x1 = x0."""
    rng = np.random.default_rng(1)
    x0 = 0.90 + 0.02 * rng.standard_normal(n)
    noise = 0.001 * rng.random(n)
    keys = {k: MAIN[k] for k in ("meta_steps", "epochs_per_step", "controls")}
    df = pd.DataFrame(
        dict(
            keys,
            seed=range(n),
            acc_initial=x0,
            acc_final=x0 + gain + noise,
            acc_control=x0 + control_gain + noise / 2,
            acc_random_search=x0 + rs_gain + noise / 3,
            accepted=2,
            candidates=5,
        )
    )
    if not sensitivity:
        return df
    rows = [df]
    for cfg in paper.SENSITIVITY:
        rows.append(pd.DataFrame(dict(cfg, controls="", seed=range(n), acc_initial=x0, acc_final=x0 + noise)))
    return pd.concat(rows, ignore_index=True)


def _data(t1, t2=None):
    t2 = _table2(0.012) if t2 is None else t2
    return ClaimData({"table1_mnist": t1, "table2_mnist": t2}, {"table1_mnist": [], "table2_mnist": []})


def _holds(claim_id, d):
    return experiments.get_claim(claim_id).criterion.evaluate(d).holds


PAPER_MEANS = {t: v / 100 for t, v in paper.PAPER_TABLE1.items()}
FLAT = {t: 0.93 for t in paper.TOPOLOGIES}


@pytest.mark.parametrize("claim_id", sorted(CLAIMS - TABLE2_CLAIMS - {"selforg.sec32_entropy_accuracy_correlation"}))
def test_table1_criteria_hold_on_the_papers_numbers_and_fail_on_flat_ones(claim_id):
    assert _holds(claim_id, _data(_table1(PAPER_MEANS))) is True
    assert _holds(claim_id, _data(_table1(FLAT, entropy_sign=-1))) is False


def test_table1_criteria_need_half_the_papers_gap_not_just_a_significant_one():
    means = dict(PAPER_MEANS, A2=PAPER_MEANS["A1"] - 0.005, AR1=0.955, AR2=0.955, AR3=0.955)  # gaps < half
    d = _data(_table1(means, sd=0.0005))
    assert _holds("selforg.table1_a2_weakest_handcrafted", d) is False
    assert _holds("selforg.table1_a3_beats_random", d) is False
    ev = experiments.get_claim("selforg.table1_a2_weakest_handcrafted").criterion.evaluate(d)
    assert all(p["pvalue"] < 0.05 for p in ev.details["parts"])  # significant, yet too small


def test_table1_a3_best_needs_a3_above_a1():
    assert _holds("selforg.table1_a3_best_handcrafted", _data(_table1(dict(PAPER_MEANS, A3=0.964)))) is False


def _corr_with(r_target, n=60, seed=3):
    """Table 1 runs whose max_entropy correlates with accuracy at about ``r_target``."""
    t1 = _table1(PAPER_MEANS)
    rng = np.random.default_rng(seed)
    a = (t1["accuracy"] - t1["accuracy"].mean()) / t1["accuracy"].std()
    e = rng.standard_normal(len(t1))
    e = e - np.polyval(np.polyfit(a, e, 1), a)  # orthogonal to a
    e = e / e.std()
    t1["max_entropy"] = r_target * a + np.sqrt(1 - r_target**2) * e
    return t1


def test_correlation_needs_r_within_the_papers_interval():
    cid = "selforg.sec32_entropy_accuracy_correlation"
    lo, hi = paper.PAPER_PEARSON_CI
    assert lo < paper.PAPER_PEARSON_R < hi and (lo, hi) == pytest.approx((0.613, 0.843), abs=1e-3)
    for r, expected in ((0.75, True), (0.45, False), (0.95, False), (-0.75, False)):
        ev = experiments.get_claim(cid).criterion.evaluate(_data(_corr_with(r)))
        assert ev.statistic == pytest.approx(r, abs=0.01)
        assert ev.holds is expected, (r, ev.reason)
    ev = experiments.get_claim(cid).criterion.evaluate(_data(_corr_with(0.45)))
    assert ev.pvalue < 0.05 and "outside" in ev.reason  # significant, yet below the paper's interval
    assert _holds(cid, _data(_table1(PAPER_MEANS).head(2))) is None


def test_table2_criterion_both_ways():
    cid = "selforg.table2_meta_improves_accuracy"
    t1 = _table1(PAPER_MEANS)
    ev = experiments.get_claim(cid).criterion.evaluate(_data(t1, _table2(0.012)))
    assert ev.holds is True and ev.pvalue < 0.05 and ev.details["median_acc_final"] > ev.details["median_acc_initial"]
    assert set(ev.details["sensitivity"]) == {"M=20,epochs=1", "M=20,epochs=5", "M=40,epochs=2"}
    assert "sensitivity" in ev.reason
    assert _holds(cid, _data(t1, _table2(-0.012))) is False
    assert _holds(cid, _data(t1, _table2(0.003))) is False  # significant, below half the paper's 1.16 points
    assert _holds(cid, _data(t1, _table2(0.012, n=1))) is None
    # the verdict reads the main config only: a big gain in the sensitivity configs does not count
    df = _table2(0.0)
    df.loc[df["controls"] == "", "acc_final"] += 0.05
    assert _holds(cid, _data(t1, df)) is False
    ev = experiments.get_claim(cid).criterion.evaluate(_data(t1, _table2(0.012, sensitivity=False)))
    assert ev.holds is True and ev.details["sensitivity"] == {} and "no records" in ev.reason


def test_table2_extra_epochs_control_criterion_both_ways():
    cid = "selforg.table2_meta_beats_extra_epochs"
    t1 = _table1(PAPER_MEANS)
    assert _holds(cid, _data(t1, _table2(0.012, control_gain=0.0))) is True
    assert _holds(cid, _data(t1, _table2(0.012, control_gain=0.012))) is False  # the gain is the extra epochs
    assert _holds(cid, _data(t1, _table2(0.012, control_gain=0.009))) is False  # significant, < 0.58 points
    assert _holds(cid, _data(t1, _table2(0.012, n=1))) is None


def test_table2_random_search_criterion_is_non_inferiority():
    cid = "selforg.table2_hill_climbing_vs_random_search"
    t1 = _table1(PAPER_MEANS)
    assert _holds(cid, _data(t1, _table2(0.012, rs_gain=0.012))) is True  # equal: within the margin
    assert _holds(cid, _data(t1, _table2(0.012, rs_gain=0.0))) is True
    assert _holds(cid, _data(t1, _table2(0.0, rs_gain=0.012))) is False  # random search better by > margin
    ev = experiments.get_claim(cid).criterion.evaluate(_data(t1, _table2(0.0, rs_gain=0.012)))
    assert ev.details["margin"] == pytest.approx(0.0058)
    assert _holds(cid, _data(t1, _table2(0.012, n=1))) is None


# ------------------------------------------------------------------------------------------------
# data protocol (§3.1)
# ------------------------------------------------------------------------------------------------
def test_preprocess_mnist_crops_and_scales():
    X = np.zeros((3, 1, 28, 28), np.float32)
    X[:, 0, 4:24, 4:24] = np.linspace(0.2, 0.8, 400).reshape(20, 20)
    out = paper.preprocess_mnist(X)
    assert out.shape == (3, 20, 20) and out.min() == 0.0 and out.max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="crop"):
        paper.preprocess_mnist(X, crop=30)
    with pytest.raises(ValueError, match="hi > lo"):
        paper.preprocess_mnist(np.zeros((2, 28, 28)))


@needs_mnist
def test_load_mnist_is_the_seeded_cropped_sample():
    Xtr, ytr, Xte, yte = paper.load_mnist(n_train=300, n_test=100, seed=3)
    assert Xtr.shape == (300, 20, 20) and Xte.shape == (100, 20, 20) and Xtr.dtype == np.float32
    assert Xtr.min() == 0.0 and Xtr.max() == 1.0 and ytr.shape == (300,) and yte.shape == (100,)
    again = paper.load_mnist(n_train=300, n_test=100, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((Xtr, ytr, Xte, yte), again))
    assert not np.array_equal(paper.load_mnist(n_train=300, n_test=100, seed=4)[0], Xtr)


def _fake_cifar(root, n=6):
    """A tiny CIFAR-10 in the official binary layout (what bionn.data.load_cifar10 reads)."""
    d = root / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = np.zeros((n, 1 + 3 * 32 * 32), np.uint8)
        rec[:, 0] = rng.integers(0, 10, n)
        rec[:, 1:] = rng.integers(0, 256, (n, 3 * 32 * 32))
        (d / name).write_bytes(rec.tobytes())
    return root


def test_cifar10_gray_reads_the_one_cifar_reader(tmp_path):
    root = _fake_cifar(tmp_path / "data")
    assert paper.cifar10_available(root)
    Xtr, ytr, Xte, yte = paper.load_cifar10_gray(augment=False, root=root)
    rtr, ltr = data.load_cifar10(root, split="train")
    rte, lte = data.load_cifar10(root, split="test")
    assert Xtr.shape == (30, 32, 32) and Xte.shape == (6, 32, 32) and Xtr.dtype == np.float32
    np.testing.assert_array_equal(ytr, ltr)
    np.testing.assert_array_equal(yte, lte)
    gray = 0.299 * rtr[:, 0] + 0.587 * rtr[:, 1] + 0.114 * rtr[:, 2]
    np.testing.assert_allclose(Xtr, (gray - gray.mean()) / gray.std(), rtol=1e-4, atol=1e-4)
    assert abs(float(Xtr.mean())) < 1e-5
    A1 = paper.load_cifar10_gray(augment=True, seed=1, root=root)
    A2 = paper.load_cifar10_gray(augment=True, seed=1, root=root)
    np.testing.assert_array_equal(A1[0], A2[0])
    assert not np.array_equal(A1[0], Xtr)
    np.testing.assert_array_equal(A1[1], ytr)


def test_cifar10_absent_raises_clear_error(tmp_path):
    assert not paper.cifar10_available(tmp_path) or pytest.skip("CIFAR-10 present")
    with pytest.raises(FileNotFoundError, match="CIFAR-10"):
        paper.load_cifar10_gray(root=tmp_path)


@pytest.mark.parametrize("name", ["preprocess_mnist", "load_mnist", "cifar10_available", "load_cifar10_gray"])
def test_old_selforg_names_still_work_with_a_deprecation_warning(name):
    with pytest.warns(DeprecationWarning, match=f"bionn.papers.selforg.{name}"):
        assert getattr(selforg, name) is getattr(paper, name)
    assert name in dir(selforg) and name not in selforg.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the library names do not warn
        for public in selforg.__all__:
            getattr(selforg, public)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = selforg.no_such_name


def test_report_sections_render_tables_beside_the_papers_numbers():
    from bionn.papers import _selforg_report as rep

    d = _data(_table1({t: v / 100 for t, v in paper.PAPER_TABLE1.items()}), _table2(0.012))
    t1 = rep.table1_markdown(d)
    assert "| A3 | 96.6 | 96.6" in t1 and "(n = 10) |" in t1 and t1.count("\n") == 7
    t2 = rep.table2_markdown(d)
    assert "| x0: random topology after base learning | 91.24 |" in t2
    assert "| one-sided Wilcoxon x1 > x0, p | 0.009 |" in t2
    assert "M = 20, 1 epoch(s) |" in t2 and "nan" not in t2
    assert {s.name for s in experiments.sections("selforg")} == {"table1", "table2", "evolution"}
    empty = ClaimData({"table1_mnist": pd.DataFrame(), "table2_mnist": pd.DataFrame()}, {})
    assert "| A1 | 96.4 | — | — |" in rep.table1_markdown(empty) and "| — |" in rep.table2_markdown(empty)
