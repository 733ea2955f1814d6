"""The amplifying paper: data (Eq. 6, Eq. 7, the paper's training sets, DataUnavailable when they are
absent), evaluation grids, the networks of Tables 1-2, the experiments' run function and every
claim's criterion on fabricated records (holds on data supporting the paper, fails on data
contradicting it)."""

from __future__ import annotations

import json

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


def test_missing_data_raises_and_nothing_is_substituted(tmp_path, no_data):
    with pytest.raises(DataUnavailable, match="ackley2d_train.csv") as info:
        paper.load_training_data("2d", root=tmp_path)
    assert isinstance(info.value, ClaimSkipped) and "amplifying-regression" in str(info.value)
    with pytest.raises(ValueError, match="problem"):
        paper.load_training_data("3d")
    for exp in experiments.experiments("amplifying"):
        with pytest.raises(DataUnavailable, match="function1d_train.csv|ackley2d_train.csv"):
            exp.requires()
    with pytest.raises(DataUnavailable, match="function1d_train.csv"):
        paper.train_network(1, seed=0, stabilise_epochs=1, blocks=0)
    with pytest.raises(TypeError):
        paper.train_network(1, seed=0, data="generated")  # no stand-in data exists any more
    assert not hasattr(paper, "make_function_1d_data")


def test_registered_protocols_are_the_authors():
    exps = {e.name: e for e in experiments.experiments("amplifying")}
    assert set(exps) == {"table1_1d", "table2_ackley"}
    for name, switch, decay in (("table1_1d", 50, 0.975), ("table2_ackley", 100, 0.95)):
        configs, seeds = exps[name].plan("full")
        assert len(seeds) == 10
        for c in configs:
            assert (c["stabilise_epochs"], c["switch_epochs"], c["blocks"], c["block_epochs"]) == (
                2500,
                switch,
                200,
                1000,
            )
            assert (c["lr"], c["lr_decay"], c["weight_decay"], c["betas"], c["eps"]) == (
                0.001,
                decay,
                0.002,
                [0.9, 0.99],
                1e-8,
            )
            assert (c["loss"], c["architecture"], c["init_scale"], c["dtype"]) == (
                "linear_square",
                "authors",
                [0.3, 1.0],
                "float64",
            )
        quick, qseeds = exps[name].plan("quick")
        assert len(qseeds) == 2
        for c in quick:
            assert (c["stabilise_epochs"], c["switch_epochs"], c["blocks"], c["block_epochs"]) == (25, 1, 200, 10)
    assert [c["network"] for c in exps["table1_1d"].configs] == list(range(1, 9))
    assert [c["network"] for c in exps["table1_1d"].plan("quick")[0]] == [1, 2, 3, 4, 5, 6]
    assert [c["network"] for c in exps["table2_ackley"].configs] == [9, 10]


def test_evaluation_grids_are_the_papers():
    g1, e1 = paper.evaluation_grid("1d")
    g2, e2 = paper.evaluation_grid("2d")
    assert g1.shape == (12567, 1) and g1[1, 0] - g1[0, 0] == pytest.approx(1 / 2000) and g1[-1, 0] <= 2 * np.pi
    assert g2.shape == (301 * 301, 2) and g2[1, 0] - g2[0, 0] == pytest.approx(1 / 50)
    assert g2.min() == -3.0 and g2.max() == 3.0
    f1, _ = paper.figure_grid("1d")
    f2, _ = paper.figure_grid("2d")
    assert f1.shape == (629, 1) and f2.shape == (61 * 61, 2)


def _acts(model):
    return [layer for layer in model.layers if isinstance(layer, nn.SecondaryActivation)]


def test_networks_follow_tables_1_and_2_and_the_authors_layout():
    counts = {k: (s["depth"], s["amplifying"], s["attenuating"]) for k, s in paper.NETWORKS.items()}
    assert counts[5] == (5, 4, 1) and counts[8] == (9, 4, 1) and counts[10] == (6, 3, 1)
    net5, special5 = paper.build_network(5, seed=0)
    acts = _acts(net5)
    # Neuron 0 is the linear bias neuron; 9, 8, 7, 6 amplifying and 5 attenuating (the authors' test_1D).
    assert all(a.linear == (0,) and a.amplifying == (6, 7, 8, 9) and a.attenuating == (5,) for a in acts)
    assert special5 == acts and not any(a.secondary_enabled for a in acts)
    net8, special8 = paper.build_network(8, seed=0)
    assert [len(a.amplifying) for a in _acts(net8)] == [4] * 5 + [0] * 4 and len(special8) == 5
    net10, special10 = paper.build_network(10, seed=0)
    assert special10 == _acts(net10)[1:5] and special10[0].amplifying == (7, 8, 9) and special10[0].attenuating == (6,)
    _, code10 = paper.build_network(10, seed=0, placement="code")
    assert code10[0].amplifying == (6,) and code10[0].attenuating == (7, 8, 9)
    with pytest.raises(ValueError, match="network must be one of"):
        paper.build_network(11)
    with pytest.raises(ValueError, match="Network 10 only"):
        paper.build_network(5, placement="code")
    assert paper.paper_ratio(1, 5) == pytest.approx(0.085079 / 0.005485)


def test_initialisation_is_the_authors():
    net, _ = paper.build_network(5, seed=3)
    dense = [layer for layer in net.layers if isinstance(layer, nn.Dense)]
    t = 2 + 1 + 10 * 5  # n_in + bias, n_out, width * depth
    assert dense[0].parameters()[0].data.shape == (10, 2) and dense[1].parameters()[0].data.shape == (10, 10)
    assert all(not d.parameters()[1:] for d in dense)  # no bias vectors: the bias neurons carry them
    for d in dense[:-1]:
        w = d.parameters()[0].data
        np.testing.assert_array_equal(w[0], np.eye(1, w.shape[1])[0])  # bias neuron copies the previous one
        k = np.abs(w[1:]) * np.sqrt(t) / 0.3
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)
        assert k.min() >= 1 - 1e-9 and k.max() <= t + 1e-9 and (w[1:] > 0).any() and (w[1:] < 0).any()
    k_out = np.abs(dense[-1].parameters()[0].data) * np.sqrt(t) / 1.0
    np.testing.assert_allclose(k_out, np.round(k_out), atol=1e-9)
    again, _ = paper.build_network(5, seed=3)
    np.testing.assert_array_equal(again.layers[0].parameters()[0].data, dense[0].parameters()[0].data)
    x = paper.with_bias_input(np.array([[0.5], [1.0]]))
    np.testing.assert_array_equal(x, [[1.0, 0.5], [1.0, 1.0]])


def test_optimizer_is_the_authors_adam_by_hand():
    from bionn import optim

    p = nn.Dense(2, 1, bias=False, dtype=np.float64).parameters()[0]
    p.data[...] = [[0.5, -2.0]]
    opt = optim.AdamW(
        [p],
        lr=0.01,
        betas=(0.9, 0.99),
        eps=1e-8,
        weight_decay=0.002,
        bias_correction=False,
        eps_inside_sqrt=True,
        decay_after_step=True,
    )
    w, m, v = np.array([0.5, -2.0]), np.zeros(2), np.zeros(2)
    for g in ([0.3, -0.04], [-0.1, 0.02]):
        g = np.array(g)
        p.grad[...] = g
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        w = w - 0.01 * m / np.sqrt(v + 1e-8)
        w = w - 0.01 * 0.002 * w
        np.testing.assert_allclose(p.data[0], w, rtol=1e-13)
    opt.reset_state()
    assert all(not a.any() for a in opt.state_dict()["state"])
    with pytest.raises(TypeError, match="decay_after_step"):
        optim.Adam([p], decay_after_step=True)  # decay after the step is a decoupled-decay (AdamW) option


class _Trace:
    """Records every fit call of one run: epochs, sampling, which special layers are on, the lr and
    whether the optimizer's moments are zero when the stage starts."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = nn.Sequential.fit
        trace = self

        def fit(model, X, y, **kw):
            acts = _acts(model)
            state = kw["optimizer"].state_dict()["state"]
            trace.calls.append(
                {
                    "epochs": kw["epochs"],
                    "batch_size": kw["batch_size"],
                    "shuffle": kw["shuffle"],
                    "on": [i for i, a in enumerate(acts) if a.secondary_enabled],
                    "lr": kw["optimizer"].param_groups[0]["lr"],
                    "moments_zero": all(not a.any() for a in state),
                    "bias_input": bool(np.all(X[:, 0] == 1.0)),
                }
            )
            return original(model, X, y, **kw)

        monkeypatch.setattr(nn.Sequential, "fit", fit)


def test_stages_stabilisation_switch_order_and_schedule(monkeypatch):
    _paper_data_or_skip("2d")
    trace = _Trace(monkeypatch)
    r = paper.train_network(10, seed=0, stabilise_epochs=2, switch_epochs=1, blocks=3, block_epochs=1)
    calls = trace.calls
    assert len(calls) == 1 + 4 + 3 and all(c["batch_size"] == 1 and c["shuffle"] == "replacement" for c in calls)
    assert all(c["bias_input"] for c in calls)
    # 1. stabilisation: an ordinary network (every special neuron off), fresh optimizer
    assert calls[0]["epochs"] == 2 and calls[0]["on"] == [] and calls[0]["moments_zero"]
    # 2. switch-on order: hidden layers 2, 3, 4, 5 (SecondaryActivation 1-4), one more per stage, moments reset
    assert [c["on"] for c in calls[1:5]] == [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]
    assert all(c["epochs"] == 1 and c["moments_zero"] for c in calls[1:5])
    # 3. schedule: blocks at lr 0.001 × 0.95^b, everything on, moments reset once before the first block
    assert [c["lr"] for c in calls[5:]] == pytest.approx([0.001, 0.00095, 0.0009025])
    assert all(c["on"] == [1, 2, 3, 4] and c["epochs"] == 1 for c in calls[5:])
    assert calls[5]["moments_zero"] and not calls[6]["moments_zero"]
    assert r["curves"]["block_lr"] == pytest.approx([0.001, 0.00095, 0.0009025]) and len(r["curves"]["block_loss"]) == 3
    assert len(r["curves"]["stage_loss"]) == 5 and r["epochs"] == 2 + 4 + 3 and r["steps"] == 9 * 300
    assert len(r["curves"]["error_map"]) == 61 * 61


def test_stages_1d_defaults(monkeypatch):
    _paper_data_or_skip("1d")
    trace = _Trace(monkeypatch)
    paper.train_network(1, seed=0, stabilise_epochs=1, blocks=2, block_epochs=1)
    # Network 1 has no special layer: stabilisation then the blocks; lr × 0.975 per 1D block
    assert [c["epochs"] for c in trace.calls] == [1, 1, 1]
    assert [c["lr"] for c in trace.calls] == pytest.approx([0.001, 0.001, 0.000975])


@pytest.mark.parametrize("name", ["table1_1d", "table2_ackley"])
def test_run_function_returns_the_metrics_the_claims_read(name):
    _paper_data_or_skip("1d" if name == "table1_1d" else "2d")
    exp = experiments.get_experiment("amplifying", name)
    config = dict(exp.plan("quick")[0][-1], stabilise_epochs=2, switch_epochs=1, blocks=2, block_epochs=1)
    r = exp.run(seed=0, **config)
    assert {"mae", "sd", "max_error", "max_error_at", "max_error_outside_training", "train_mae"} <= set(r)
    # (a few epochs cannot undo the authors' large initial weights: no bound on the error itself)
    assert r["finite"] and 0 < r["mae"] < np.inf and r["sd"] > 0 and r["max_error"] >= r["mae"]
    assert isinstance(r["max_error_outside_training"], bool) and r["train_max"] >= r["train_mae"]
    assert "seed" not in r and ("fit_y" in r["curves"]) == (name == "table1_1d")
    json.dumps(r)  # records are JSON
    again = exp.run(seed=0, **config)
    assert again["mae"] == r["mae"]  # the seed fixes the run
    best = paper.best_of(config["network"], runs=2, stabilise_epochs=1, switch_epochs=0, blocks=0)
    assert best["mae"] == min(best["all_mae"]) and best["seed"] in (0, 1)
    with pytest.raises(ValueError, match="loss"):
        paper.train_network(1, loss="hinge", blocks=0, stabilise_epochs=0)


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
    """With 2 runs each the one-sided Mann–Whitney test's smallest p is 1/6: no comparison passes."""
    two = _frames(True, n=2)
    for cid in ("amplifying.table1_net5_beats_net1", "amplifying.table2_net10_beats_net9"):
        assert experiments.get_claim(cid).criterion.evaluate(two).holds is False  # smallest p is 1/6
    ev = experiments.get_claim("amplifying.table1_net8_not_worse_than_net7").criterion.evaluate(two)
    assert ev.holds is None


def test_magnitude_is_half_the_papers_effect_on_the_best_of_ten():
    crit = experiments.get_claim("amplifying.table1_net5_beats_net1").criterion
    r = 0.085079 / 0.005485
    assert crit.min_ratio == pytest.approx(1 + (r - 1) / 2, abs=1e-3) and crit.min_ratio >= 1 + (r - 1) / 2
    assert crit.center == "min" and crit.test == "mannwhitney" and crit.sided == "one-sided"
    # a significant ordering with a small ratio is not enough
    frames = _frames(True)
    df = frames.frame("table1_1d")
    df.loc[df.network == 1, "mae"] = df.loc[df.network == 5, "mae"].to_numpy() * 3
    assert crit.evaluate(frames).holds is False
    # the best run decides the magnitude: one lucky Network 5 run far below the rest is the paper's statistic
    frames = _frames(True)
    df = frames.frame("table1_1d")
    df.loc[df.network == 1, "mae"] = df.loc[df.network == 5, "mae"].to_numpy() * 3
    net5 = df.index[df.network == 5]
    df.loc[net5[0], "mae"] = df.loc[net5[0], "mae"] / 10
    ev = crit.evaluate(frames)
    assert ev.holds is True and ev.details["ratio"] >= crit.min_ratio


def _records(with_curves: bool = True):
    """Fabricated records shaped like the run records (config, seed, metrics, curves)."""
    f1, e1 = paper.figure_grid("1d")
    f2, _ = paper.figure_grid("2d")
    out = {"table1_1d": [], "table2_ackley": []}
    for k, spec in paper.NETWORKS.items():
        name = "table1_1d" if spec["problem"] == "1d" else "table2_ackley"
        for seed in range(3):
            curves = {}
            if with_curves:
                if spec["problem"] == "1d":
                    curves["fit_y"] = list(e1[:, 0] + 0.01 * (seed + 1))
                else:
                    curves["error_map"] = list(np.full(f2.shape[0], 0.1 * (seed + 1)))
            metrics = {"mae": spec["mae"] * (seed + 1), "sd": spec["sd"], "max_error_at": [3.0, 3.0]}
            out[name].append({"config": {"network": k}, "seed": seed, "metrics": metrics, "curves": curves})
    return ClaimData({n: pd.DataFrame() for n in out}, out)


def test_report_table_and_figures_from_records():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = _records()
    table = paper.report_table(data)
    assert table.count("\n") == 11 and "| 5 | 5 | 4/1 | 0.005485 |" in table
    runs = paper.runs_by_network(data, (5,))[5]
    assert [r["seed"] for r in runs] == [0, 1, 2]
    for plot in (paper.plot_fig4, paper.plot_fig6, paper.plot_mae_strips):
        fig = plt.figure()
        assert plot(data, fig) is True, plot.__name__
        plt.close(fig)
    empty = _records(with_curves=False)
    for plot in (paper.plot_fig4, paper.plot_fig6):
        fig = plt.figure()
        assert plot(empty, fig) is False
        plt.close(fig)
    assert "| 1 | 5 | 0/0 | 0.085079 | 0.102091 | — |" in paper.report_table(
        ClaimData({}, {"table1_1d": [], "table2_ackley": []})
    )


def test_report_sections_are_registered_on_both_experiments():
    names = {s.name: s for s in experiments.sections("amplifying")}
    assert set(names) == {"tables", "fig4", "fig6"}
    assert names["tables"].experiments == ("table1_1d", "table2_ackley") and names["tables"].table is paper.report_table
