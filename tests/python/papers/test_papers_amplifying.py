"""The amplifying paper: data (Eq. 6, Eq. 7, the paper's training sets, DataUnavailable when they are
absent), evaluation grids, the networks of Tables 1-2, the experiments' run function and every
claim's criterion on fabricated records (holds on data supporting the paper, fails on data
contradicting it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bionn import experiments, nn
from bionn.data import _files
from bionn.experiments import ClaimData, ClaimSkipped
from bionn.papers import amplifying as paper
from bionn.papers._common import DataUnavailable


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No data anywhere: $BIONN_DATA is an empty directory and the shared/system folders are hidden."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BIONN_DATA", str(empty))
    monkeypatch.delenv("BIONN_SHARED_DATA", raising=False)
    monkeypatch.setattr(_files, "_shared_data_dirs", lambda: [])
    monkeypatch.setattr(_files, "SYSTEM_DATA_DIRS", ())
    return empty


def _paper_data_or_skip(problem):
    try:
        return paper.load_training_data(problem)
    except DataUnavailable as exc:
        pytest.skip(str(exc).splitlines()[0])


def test_exact_solutions():
    assert paper.function_1d(0.0) == pytest.approx(np.log(0.5))
    assert paper.ackley(0.0, 0.0) == pytest.approx(0.0, abs=1e-12)  # the global minimum
    assert paper.ackley(1.0, 0.0) == pytest.approx(paper.ackley(0.0, 1.0))  # symmetric
    assert paper.ackley(3.0, 3.0) > paper.ackley(0.5, 0.5) > 0


def test_paper_training_sets_match_eq6_and_eq7():
    X1, y1, _ = _paper_data_or_skip("1d")
    X2, y2, _ = _paper_data_or_skip("2d")
    assert X1.shape == (194, 1) and y1.shape == (194, 1) and X2.shape == (300, 2) and y2.shape == (300, 1)
    np.testing.assert_allclose(y1, paper.function_1d(X1), atol=1e-12)
    np.testing.assert_allclose(y2[:, 0], paper.ackley(X2[:, 0], X2[:, 1]), atol=1e-12)
    assert 0 <= X1.min() and X1.max() < 2 * np.pi and -3 <= X2.min() and X2.max() < 3


def test_missing_data_raises_and_the_stand_in_is_opt_in(tmp_path):
    with pytest.raises(DataUnavailable, match="ackley2d_train.csv") as info:
        paper.load_training_data("2d", root=tmp_path)
    assert isinstance(info.value, ClaimSkipped) and "amplifying-regression" in str(info.value)
    X, y, src = paper.load_training_data("2d", root=tmp_path, fallback=True)
    assert src == "generated (seed 0)" and X.shape == (300, 2)
    X2, _ = paper.make_ackley_data()
    np.testing.assert_array_equal(X, X2)
    X, y = paper.make_function_1d_data(50, seed=3)
    np.testing.assert_allclose(y, paper.function_1d(X))
    with pytest.raises(ValueError, match="problem"):
        paper.load_training_data("3d")


def test_requires_raises_data_unavailable_when_data_is_absent(no_data):
    for exp in experiments.experiments("amplifying"):
        with pytest.raises(DataUnavailable, match="function1d_train.csv|ackley2d_train.csv"):
            exp.requires()
    with pytest.raises(DataUnavailable, match="function1d_train.csv"):
        paper.train_network(1, seed=0, epochs=1)
    r = paper.train_network(1, seed=0, epochs=1, data="generated")  # the explicit opt-in
    assert r["data_source"] == "generated (seed 0)"
    with pytest.raises(ValueError, match="data must be"):
        paper.train_network(1, epochs=1, data="made-up")


def test_registered_protocols_use_the_papers_data_only():
    exps = {e.name: e for e in experiments.experiments("amplifying")}
    assert set(exps) == {"table1_1d", "table2_ackley"}
    for exp in exps.values():
        for mode in ("full", "quick"):
            configs, seeds = exp.plan(mode)
            assert all(c["data"] == "paper" for c in configs)
            assert len(seeds) == (10 if mode == "full" else 2)
        assert exp.requires is not None and len(exp.deviations) >= 8
    assert [c["network"] for c in exps["table1_1d"].configs] == list(range(1, 9))
    assert [c["network"] for c in exps["table2_ackley"].configs] == [9, 10]


def test_evaluation_grids_are_the_papers():
    g1, e1 = paper.evaluation_grid("1d")
    g2, e2 = paper.evaluation_grid("2d")
    assert g1.shape == (12567, 1) and g1[1, 0] - g1[0, 0] == pytest.approx(1 / 2000) and g1[-1, 0] <= 2 * np.pi
    assert g2.shape == (301 * 301, 2) and g2[1, 0] - g2[0, 0] == pytest.approx(1 / 50)
    assert g2.min() == -3.0 and g2.max() == 3.0


def test_networks_follow_tables_1_and_2():
    counts = {k: (s["depth"], s["amplifying"], s["attenuating"]) for k, s in paper.NETWORKS.items()}
    assert counts[5] == (5, 4, 1) and counts[8] == (9, 4, 1) and counts[10] == (6, 3, 1)
    net8 = paper.build_network(8, seed=0)
    acts = [l for l in net8.layers if isinstance(l, nn.SecondaryActivation)]
    assert [len(a.amplifying) for a in acts] == [4] * 5 + [0] * 4
    with pytest.raises(ValueError, match="network must be one of"):
        paper.build_network(11)
    assert paper.paper_ratio(1, 5) == pytest.approx(0.085079 / 0.005485)


@pytest.mark.parametrize("name", ["table1_1d", "table2_ackley"])
def test_run_function_returns_the_metrics_the_claims_read(name):
    _paper_data_or_skip("1d" if name == "table1_1d" else "2d")
    exp = experiments.get_experiment("amplifying", name)
    config = dict(exp.plan("quick")[0][-1], epochs=2)
    r = exp.run(seed=0, **config)
    assert {"mae", "sd", "max_error", "max_error_at", "max_error_outside_training", "train_mae"} <= set(r)
    assert r["finite"] and 0 < r["mae"] < 20 and r["sd"] > 0 and r["max_error"] >= r["mae"]
    assert isinstance(r["max_error_outside_training"], bool) and r["train_max"] >= r["train_mae"]
    assert len(r["curves"]["train_loss"]) == 2 and "seed" not in r
    best = paper.best_of(config["network"], runs=2, epochs=1)
    assert best["mae"] == min(best["all_mae"]) and best["seed"] in (0, 1)


# ------------------------------------------------------------------------------------------------
# criteria on fabricated records
# ------------------------------------------------------------------------------------------------
def _frames(support: bool, n: int = 10) -> ClaimData:
    """Fabricated runs: each network's MAE/SD is the paper's (``support``) or the paper's reciprocal
    (every ordering of the paper reversed), times small noise; the largest error outside the training
    hull in every run (``support``) or in none."""
    rng = np.random.default_rng(0)
    frames = {}
    for name, nets in (("table1_1d", range(1, 9)), ("table2_ackley", (9, 10))):
        rows = []
        for k in nets:
            spec = paper.NETWORKS[k]
            for seed in range(n):
                noise = float(np.exp(rng.normal(0, 0.01)))  # Networks 4 and 5 differ by 5 %
                mae = spec["mae"] if support else 1e-4 / spec["mae"]
                sd = spec["sd"] if support else 1e-4 / spec["sd"]
                rows.append(
                    {
                        "network": k,
                        "epochs": 2000,
                        "data": "paper",
                        "seed": seed,
                        "mae": mae * noise,
                        "sd": sd * noise,
                        "max_error": 10 * mae,
                        "max_error_at": [3.0, 3.0] if k > 8 else [0.0],
                        "max_error_outside_training": support,
                    }
                )
        frames[name] = pd.DataFrame(rows)
    return ClaimData(frames, {name: [] for name in frames})


def test_every_claim_holds_on_supporting_and_fails_on_contradicting_records():
    claims = experiments.claims("amplifying")
    assert len(claims) == 11
    support, contradict = _frames(True), _frames(False)
    for claim in claims:
        assert claim.criterion.evaluate(support).holds is True, claim.id
        assert claim.criterion.evaluate(contradict).holds is False, claim.id


def test_ids_kept_and_new_claims_registered():
    ids = {c.id for c in experiments.claims("amplifying")}
    assert {f"amplifying.table1_net{k}_beats_net1" for k in (2, 3, 4, 5, 6)} <= ids
    assert {
        "amplifying.table1_net8_not_worse_than_net7",
        "amplifying.table2_net10_beats_net9",
        "amplifying.table2_net10_sd_below_net9",
        "amplifying.sec42_max_error_outside_training",
        "amplifying.sec41_amplifying_beats_attenuating",
        "amplifying.sec41_net5_best_at_depth5",
    } <= ids
    assert not any(c.quick_power for c in experiments.claims("amplifying"))


def test_two_runs_cannot_decide_a_comparison_and_net8_needs_five():
    two = _frames(True, n=2)
    for cid in ("amplifying.table1_net5_beats_net1", "amplifying.table2_net10_beats_net9"):
        assert experiments.get_claim(cid).criterion.evaluate(two).holds is False  # smallest p is 1/6
    ev = experiments.get_claim("amplifying.table1_net8_not_worse_than_net7").criterion.evaluate(two)
    assert ev.holds is None


def test_magnitude_is_half_the_papers_effect():
    crit = experiments.get_claim("amplifying.table1_net5_beats_net1").criterion
    r = 0.085079 / 0.005485
    assert crit.min_ratio == pytest.approx(1 + (r - 1) / 2, abs=1e-3) and crit.min_ratio >= 1 + (r - 1) / 2
    # a significant ordering with a small ratio is not enough
    frames = _frames(True)
    df = frames.frame("table1_1d")
    df.loc[df.network == 1, "mae"] = df.loc[df.network == 5, "mae"].to_numpy() * 3
    assert crit.evaluate(frames).holds is False
