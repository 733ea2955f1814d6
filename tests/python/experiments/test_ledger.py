"""The claims ledger: registry validation, criteria, verdicts from records, reproduce (resume,
rerun, skip, error, processes, Dask), reports and the README table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import bionn.experiments as ex
from bionn.experiments import criteria as cr
from bionn.experiments import report

P = "t-ledger"
CALLS = {"n": 0}


# -- run functions (module level: picklable for the processes and dask backends) ------------------
def score_fn(seed, model="a", shift=0.0, epochs=3):
    """'a' scores ~0.9, 'b' ~0.8 (+ shift): a clear difference over a few seeds."""
    CALLS["n"] += 1
    rng = np.random.default_rng(seed * 7 + (0 if model == "a" else 1))
    base = 0.9 if model == "a" else 0.8 + shift
    acc = base + 0.005 * rng.standard_normal()
    return {"acc": float(acc), "curves": {"acc": [float(acc) * (e + 1) / epochs for e in range(epochs)]}}


def failing_fn(seed, model="a"):
    raise RuntimeError("boom in the run")


def no_data_fn(seed, model="a"):
    raise ex.ClaimSkipped("needs /nowhere/data.bin; put it in ../shared/data/ or set BIONN_DATA")


def _absent():
    raise ex.ClaimSkipped("data.bin is not in /nowhere; put it in ../shared/data/")


def _experiment(name="exp", run=score_fn, configs=None, seeds=range(4), requires=None, **kw):
    return ex.register_experiment(
        ex.Experiment(
            paper=P,
            name=name,
            run=run,
            configs=configs or [{"model": "a"}, {"model": "b"}],
            seeds=seeds,
            quick=ex.Quick(seeds=range(3), overrides={"epochs": 2}, note="3 seeds, 2 epochs"),
            protocol={"data": "synthetic"},
            deviations=["a declared deviation"],
            requires=requires,
            **kw,
        )
    )


def _compare(exp="exp", direction="greater", **kw):
    return ex.Compare("acc", ex.Group(exp, {"model": "a"}, "A"), ex.Group(exp, {"model": "b"}, "B"), direction, **kw)


def _claim(cid="a_beats_b", criterion=None, exp="exp", **kw):
    return ex.register_claim(
        ex.Claim(
            id=f"{P}.{cid}",
            paper=P,
            where="Table 1",
            statement="A beats B",
            paper_value="0.9 vs 0.8",
            criterion=criterion or _compare(exp),
            **kw,
        )
    )


@pytest.fixture(autouse=True)
def clean():
    ex.unregister(P)
    CALLS["n"] = 0
    yield
    ex.unregister(P)


@pytest.fixture
def store(tmp_path):
    return ex.RunStore(tmp_path / "store")


# ================================================================================================
# registry
# ================================================================================================
def test_registration_validates():
    with pytest.raises(ValueError, match="not registered"):
        _claim()
    _experiment()
    with pytest.raises(ValueError, match="already registered"):
        _experiment()
    with pytest.raises(ValueError, match="must start with its paper"):
        ex.register_claim(ex.Claim("other.x", P, "T1", "s", "v", _compare()))
    with pytest.raises(ValueError, match="duplicates"):
        ex.Experiment(P, "dup", score_fn, [{"model": "a"}, {"model": "a"}], [0], ex.Quick([0]))
    with pytest.raises(ValueError, match="ints >= 0"):
        ex.Experiment(P, "neg", score_fn, [{}], [-1], ex.Quick([0]))
    with pytest.raises(ValueError, match="NaN"):
        ex.Experiment(P, "nan", score_fn, [{"x": math.nan}], [0], ex.Quick([0]))
    with pytest.raises(ValueError, match="reserved"):
        ex.Experiment("all", "x", score_fn, [{}], [0], ex.Quick([0]))
    with pytest.raises(ValueError, match="out of range"):
        ex.Experiment(P, "idx", score_fn, [{}], [0], ex.Quick([0], configs=[3]))
    with pytest.raises(ValueError, match="non-empty"):
        ex.Claim(f"{P}.x", P, " ", "s", "v", _compare())
    with pytest.raises(TypeError, match="Criterion"):
        ex.Claim(f"{P}.x", P, "T", "s", "v", criterion="p < 0.05")
    with pytest.raises(ValueError, match="direction"):
        _compare(direction="bigger")
    with pytest.raises(ValueError, match="test must be"):
        _compare(test="ztest")
    with pytest.raises(ValueError, match="tolerance"):
        ex.Level("acc", ex.Group("exp"), "within", 0.9)


def test_plan_and_select():
    exp = _experiment()
    assert exp.plan("full") == ([{"model": "a"}, {"model": "b"}], [0, 1, 2, 3])
    assert exp.plan("quick") == ([{"model": "a", "epochs": 2}, {"model": "b", "epochs": 2}], [0, 1, 2])
    _claim("one")
    _claim("two", criterion=_compare(direction="less"))
    assert [c.id for c in ex.select_claims([P])] == [f"{P}.one", f"{P}.two"]
    assert [c.id for c in ex.select_claims([f"{P}.t*"])] == [f"{P}.two"]
    assert [c.id for c in ex.select_claims([f"{P}.two", f"{P}.one", P])] == [f"{P}.one", f"{P}.two"]
    with pytest.raises(ValueError, match="names no paper"):
        ex.select_claims(["nothing.*"])


# ================================================================================================
# criteria (on fabricated frames)
# ================================================================================================
def _data(pd, rows, experiment="exp"):
    return cr.ClaimData({experiment: pd.DataFrame(rows)}, {experiment: []})


@pytest.fixture
def pd():
    return pytest.importorskip("pandas")


def test_compare_direction_significance_and_magnitude(pd):
    wobble = [0.0, 0.004, -0.003, 0.002, -0.001]
    rows = [
        {"model": m, "seed": s, "acc": (0.9 if m == "a" else 0.8 + wobble[s]) + 0.01 * s}
        for m in "ab"
        for s in range(5)
    ]
    d = _data(pd, rows)
    ev = _compare().evaluate(d)
    assert ev.holds is True and ev.pvalue < 1e-4 and ev.details["difference"] == pytest.approx(0.0996)
    assert _compare(direction="less").evaluate(d).holds is False  # significant, but the wrong way
    assert _compare(min_difference=0.05).evaluate(d).holds is True
    assert _compare(min_difference=0.2).evaluate(d).holds is False  # magnitude short of the paper's
    assert _compare(min_ratio=1.2).evaluate(d).holds is False and _compare(min_ratio=1.1).evaluate(d).holds
    for test in ("student", "paired_t", "wilcoxon", "mannwhitney"):
        assert _compare(test=test, sided="one-sided").evaluate(d).holds is True, test
    noisy = [
        {"model": m, "seed": s, "acc": 0.85 + 0.05 * (-1) ** s + (0.001 if m == "a" else 0)}
        for m in "ab"
        for s in range(5)
    ]
    assert _compare().evaluate(_data(pd, noisy)).holds is False  # not significant
    few = _compare().evaluate(_data(pd, rows[:1] + rows[5:6]))
    assert few.holds is None and "too few" in few.reason
    nan = [dict(r, acc=math.nan) if r["seed"] == 0 and r["model"] == "a" else r for r in rows]
    assert _compare().evaluate(_data(pd, nan)).holds is False


def test_level_correlation_allof_custom(pd):
    rows = [{"model": "a", "seed": s, "pct": s, "acc": 0.9 + 0.01 * s} for s in range(6)]
    d = _data(pd, rows)
    g = ex.Group("exp", {"model": "a"})
    assert ex.Level("acc", g, ">=", 0.9).evaluate(d).holds is True
    assert ex.Level("acc", g, "<=", 0.9).evaluate(d).holds is False
    assert ex.Level("acc", g, "within", 0.93, 0.01).evaluate(d).holds is True
    assert ex.Level("acc", g, "within", 0.95, 0.01).evaluate(d).holds is False
    assert ex.Level("acc", g, ">=", 0.5, min_runs=10).evaluate(d).holds is None
    assert ex.Correlation("pct", "acc", g).evaluate(d).holds is True
    assert ex.Correlation("pct", "acc", g, direction="negative").evaluate(d).holds is False
    assert ex.Correlation("pct", "acc", g, method="pearson", min_abs=0.99).evaluate(d).holds is True
    both = ex.AllOf([ex.Level("acc", g, ">=", 0.9), ex.Level("acc", g, "<=", 0.9)], "band")
    assert both.evaluate(d).holds is False and both.describe().startswith("band: ")
    custom = ex.Custom(["exp"], "more than 5 runs", lambda data: ex.Evidence(len(data.frame("exp")) > 5, "6 runs"))
    assert custom.evaluate(d).holds is True
    with pytest.raises(TypeError, match="Evidence"):
        ex.Custom(["exp"], "bad", lambda data: True).evaluate(d)


def test_no_difference_and_compare_across_metrics(pd):
    same = [{"model": m, "seed": s, "acc": 0.85 + 0.01 * ((s * 3 + (m == "b")) % 5)} for m in "ab" for s in range(5)]
    apart = [{"model": m, "seed": s, "acc": (0.9 if m == "a" else 0.8) + 0.002 * s} for m in "ab" for s in range(5)]
    ga, gb = ex.Group("exp", {"model": "a"}, "A"), ex.Group("exp", {"model": "b"}, "B")
    nd = ex.NoDifference("acc", ga, gb, test="student")
    ev = nd.evaluate(_data(pd, same))
    assert ev.holds is True and ev.pvalue >= 0.05 and "≥ 0.05" in ev.reason
    ev = nd.evaluate(_data(pd, apart))
    assert ev.holds is False and ev.pvalue < 0.05
    assert nd.evaluate(_data(pd, apart[:1] + apart[5:6])).holds is None  # too few runs: undecided
    assert "no significant difference" in nd.describe()
    # metric_b: a's metric against b's other metric (e.g. pruned accuracy vs the baseline's score)
    rows = [dict(r, pruned=r["acc"] - 0.2) for r in apart]
    d = _data(pd, rows)
    assert ex.Compare("acc", ga, gb, metric_b="acc").evaluate(d).holds is True
    cross = ex.Compare("pruned", ga, gb, metric_b="acc")  # A's pruned ~0.7 vs B's acc ~0.8
    assert cross.evaluate(d).holds is False and "B's acc" in cross.describe()
    assert ex.Compare("pruned", ga, gb, direction="less", metric_b="acc").evaluate(d).holds is True


# ================================================================================================
# verdicts and reproduce
# ================================================================================================
def test_reproduce_records_then_assess_from_records_only(store):
    _experiment()
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "REPRODUCED" and r["passed"] is True
    assert (r["runs_done"], r["runs_planned"]) == (8, 8)
    assert r["deviations"] == ["a declared deviation"] and r["test"] == "welch_t" and r["pvalue"] < 0.05
    assert set(r) == set(ex.ledger.RESULT_KEYS)
    json.dumps(r, allow_nan=False)
    assert CALLS["n"] == 8
    assert ex.assess(ex.claims(P), "full", store) == [r]  # recomputed without training
    assert CALLS["n"] == 8
    rec = store.load(P, "exp", {"model": "a"}, 0)
    assert rec["curves"]["acc"] and rec["wall_time_s"] is not None and rec["machine"]["cores"] >= 1


def test_a_claim_that_fails_is_not_reproduced(store):
    _experiment(configs=[{"model": "a"}, {"model": "b", "shift": 0.2}])  # b now ~1.0 > a
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "NOT REPRODUCED" and r["passed"] is False and "A ≤ B" in r["reason"]


def test_partial_and_resume(store):
    _experiment()
    _claim()
    configs, seeds = ex.get_experiment(P, "exp").plan("full")
    for c in configs:
        for s in seeds[:2]:
            store.save(P, "exp", c, s, score_fn(s, **c))
    (r,) = ex.assess(ex.claims(P), "full", store)
    assert r["verdict"] == "PARTIAL" and r["runs_done"] == 4 and r["verdict_so_far"] in ("REPRODUCED", "NOT REPRODUCED")
    assert r["passed"] is False
    CALLS["n"] = 0
    (r,) = ex.reproduce(ex.claims(P), "full", store)  # runs only the 4 missing
    assert CALLS["n"] == 4 and r["verdict"] == "REPRODUCED"
    (r,) = ex.reproduce(ex.claims(P), "full", store, rerun=True)
    assert CALLS["n"] == 12


def test_no_records_is_partial_zero(store):
    _experiment()
    _claim()
    (r,) = ex.assess(ex.claims(P), "full", store)
    assert r["verdict"] == "PARTIAL" and r["runs_done"] == 0 and r["bionn_value"] is None


def test_skip_never_passes_and_is_an_error_with_require_data(store):
    _experiment(requires=_absent)
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "SKIPPED" and r["passed"] is False and "data.bin" in r["note"]
    (r,) = ex.reproduce(ex.claims(P), "full", store, require_data=True)
    assert r["verdict"] == "ERROR" and "--require-data" in r["note"]
    ex.unregister(P)
    _experiment(run=no_data_fn)  # the run itself finds the data absent
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "SKIPPED" and "nowhere" in r["note"]


def test_assess_skips_missing_runs_whose_data_is_absent(store):
    """Without running anything, a claim whose missing runs need absent data is SKIPPED (naming
    the data), not PARTIAL; with the data check off, or with every run recorded, it is not."""
    exp = _experiment(requires=_absent)
    _claim()
    (r,) = ex.assess(ex.claims(P), "full", store)
    assert r["verdict"] == "SKIPPED" and r["passed"] is False and "data.bin" in r["note"]
    (r,) = ex.assess(ex.claims(P), "full", store, require_data=True)
    assert r["verdict"] == "ERROR" and "--require-data" in r["note"]
    (r,) = ex.assess(ex.claims(P), "full", store, check_data=False)
    assert r["verdict"] == "PARTIAL" and r["runs_done"] == 0
    configs, seeds = exp.plan("full")
    for c in configs:
        for s in seeds:
            store.save(P, "exp", c, s, score_fn(s, **c))
    (r,) = ex.assess(ex.claims(P), "full", store)
    assert r["verdict"] == "REPRODUCED"


def test_complete_records_need_no_data(store):
    exp = _experiment(requires=_absent)
    _claim()
    configs, seeds = exp.plan("full")
    for c in configs:
        for s in seeds:
            store.save(P, "exp", c, s, score_fn(s, **c))
    (r,) = ex.reproduce(ex.claims(P), "full", store, require_data=True)
    assert r["verdict"] == "REPRODUCED"


def test_errors(store):
    _experiment(run=failing_fn)
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "ERROR" and "boom in the run" in r["note"]
    ex.unregister(P)
    _experiment()
    _claim(criterion=ex.Custom(["exp"], "raises", lambda d: 1 / 0))
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "ERROR" and "ZeroDivisionError" in r["note"]
    path = store.key(P, "exp", {"model": "a"}, 0)
    path.write_text("{not json")
    (r,) = ex.assess(ex.claims(P), "full", store)
    assert r["verdict"] == "ERROR" and "corrupt" in r["note"]


def test_shared_experiment_runs_once_and_quick_uses_other_records(store):
    _experiment()
    _claim("one")
    _claim("two", criterion=ex.Level("acc", ex.Group("exp", {"model": "a"}), ">=", 0.85))
    results = ex.reproduce(ex.claims(P), "quick", store)
    assert CALLS["n"] == 6 and [r["verdict"] for r in results] == ["REPRODUCED"] * 2
    assert all(any(d.startswith("quick mode") for d in r["deviations"]) for r in results)
    assert ex.assess(ex.claims(P), "full", store)[0]["runs_done"] == 0  # quick records are not full ones


def test_processes_backend(store):
    _experiment()
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store, backend="processes", n_workers=2)
    assert r["verdict"] == "REPRODUCED" and len(store.records(P, "exp")) == 8


def test_dask_local_cluster_records_come_back_through_the_client(store):
    pytest.importorskip("distributed")
    _experiment(seeds=range(3))
    _claim()
    (r,) = ex.reproduce(ex.claims(P), "full", store, backend="dask", n_workers=1)
    assert r["verdict"] == "REPRODUCED" and len(store.records(P, "exp")) == 6
    assert all(rec["machine"]["threads"] == 1 for rec in store.records(P, "exp"))


def test_keyboard_interrupt_keeps_finished_runs(store):
    exp = _experiment()
    _claim()
    real = score_fn

    def interrupt_after_three(seed, **config):
        if CALLS["n"] >= 3:
            raise KeyboardInterrupt
        return real(seed, **config)

    object.__setattr__(exp, "run", interrupt_after_three)  # a frozen dataclass; the fixture unregisters it
    with pytest.raises(KeyboardInterrupt):
        ex.reproduce(ex.claims(P), "full", store)
    assert len(store.records(P, "exp")) == 3
    object.__setattr__(exp, "run", real)
    (r,) = ex.reproduce(ex.claims(P), "full", store)
    assert r["verdict"] == "REPRODUCED" and CALLS["n"] == 3 + 5


# ================================================================================================
# reports and the README table
# ================================================================================================
def test_reports_render_from_records(store, tmp_path):
    pytest.importorskip("matplotlib")
    _experiment()
    _claim()
    ex.reproduce(ex.claims(P), "full", store)
    paths = ex.write_reports([P], store)
    text = paths[P].read_text()
    assert "REPRODUCED" in text and "Welch t-test" in text and "a declared deviation" in text
    assert (store.root / "figures" / P / "a_beats_b.png").is_file()
    assert (store.root / "figures" / P / "curves_exp.png").is_file()
    assert paths[P] == store.root / f"{P}.md"
    again = ex.write_reports([P], store)[P].read_text()
    assert again == text  # deterministic


def test_report_sections_and_cost_table(store):
    pytest.importorskip("matplotlib")
    _experiment()
    _claim()

    def table(data):
        x, _ = ex.Group("exp", {"model": "a"}).values(data, "acc")
        return f"| runs of A |\n|---|\n| {x.size} |"

    def plot(data, fig):
        fig.add_subplot(111).plot(data.frame("exp")["acc"])
        return True

    with pytest.raises(ValueError, match="unknown experiment"):
        ex.register_section(ex.Section(P, "bad", "Bad", ["nope"], table=table))
    with pytest.raises(ValueError, match="table or a plot"):
        ex.Section(P, "empty", "Empty", ["exp"])
    ex.register_section(ex.Section(P, "a_runs", "Runs of A", ["exp"], table=table, plot=plot, note="A note."))
    assert [s.name for s in ex.sections(P)] == ["a_runs"]
    text = ex.write_reports([P], store)[P].read_text()
    assert "### Runs of A" in text and "(no runs recorded yet)" in text
    assert "| `exp` | a_beats_b | 0/8 | 0.00 | — | — |" in text
    ex.reproduce(ex.claims(P), "full", store)
    text = ex.write_reports([P], store)[P].read_text()
    assert "A note." in text and "| 4 |" in text and (store.root / "figures" / P / "section_a_runs.png").is_file()
    assert "| `exp` | a_beats_b | 8/8 |" in text and "| **total** |" in text
    ex.unregister(P)
    assert ex.sections(P) == []


def test_section_only_experiments_run_with_their_paper(store, capsys):
    """An experiment only a report section reads (no claim) is selected by its paper, by "all" and by
    "<paper>/<name>"; reproduce and probe run it beside the claims' experiments; the cost table says
    it serves a section."""
    _experiment()
    _claim()
    _experiment("extra", configs=[{"model": "a"}])
    with pytest.raises(ValueError, match="unknown experiment"):
        ex.register_section(ex.Section(P, "bad", "Bad", ["nope"], table=lambda d: ""))
    assert ex.section_experiments(P) == []  # no section reads "extra" yet
    ex.register_section(ex.Section(P, "extra_runs", "Extra", ["exp", "extra"], table=lambda d: "| x |\n|---|"))
    assert [e.name for e in ex.section_experiments(P)] == ["extra"]  # "exp" has a claim
    claims, extra = ex.select([P])
    assert [c.id for c in claims] == [f"{P}.a_beats_b"] and [e.name for e in extra] == ["extra"]
    claims, extra = ex.select([f"{P}/extra"])
    assert claims == [] and [e.name for e in extra] == ["extra"]
    assert "extra" in [e.name for e in ex.select(["all"])[1]]
    with pytest.raises(ValueError, match=f"'{P}/nope' names no experiment"):
        ex.select([f"{P}/nope"])
    with pytest.raises(ValueError, match="names no paper, claim or glob"):
        ex.select(["no-such-paper"])
    with pytest.raises(TypeError, match="Experiment objects"):
        ex.reproduce(ex.claims(P), "full", store, extra_experiments=["extra"])
    CALLS["n"] = 0
    ex.reproduce([], "full", store, extra_experiments=extra)
    assert CALLS["n"] == 4 and len(store.missing(P, "extra", *ex.get_experiment(P, "extra").plan("full"))) == 0
    rows = ex.ledger.probe([], store, extra_experiments=extra)
    assert [(r["experiment"], r["status"]) for r in rows] == [("extra", "has records")]
    text = ex.write_reports([P], store, figures=False)[P].read_text()
    assert "| `extra` | — (a report section only) | 4/4 |" in text


def test_cli_runs_a_section_experiment(store, capsys):
    from bionn.cli import main

    _experiment()
    _claim()
    _experiment("extra", configs=[{"model": "a"}])
    ex.register_section(ex.Section(P, "extra_runs", "Extra", ["extra"], table=lambda d: "| x |\n|---|"))
    assert main(["reproduce", f"{P}/extra", "--full", "--store", str(store.root), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"{P}/extra (report section, no claim): 4/4 runs recorded" in err
    assert main(["reproduce", f"{P}/nope", "--full", "--store", str(store.root)]) == 2


def test_missing_runs_go_seed_major(store):
    """A long protocol stopped part-way leaves whole seeds (every config of a seed)."""
    order = []
    ex.repeat(
        lambda seed, model="a": order.append((seed, model)) or {"acc": 1.0},
        range(3),
        [{"model": "a"}, {"model": "b"}],
        store=store,
        paper=P,
        experiment="order",
    )
    assert order == [(0, "a"), (0, "b"), (1, "a"), (1, "b"), (2, "a"), (2, "b")]


def test_readme_section_round_trip(store, tmp_path):
    _experiment()
    _claim()
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.README_START}\nold\n{report.README_END}\n\nafter\n")
    section = report.readme_table(ex.assess(ex.claims(P), "full", store))
    assert report.readme_section(readme) != section
    assert report.update_readme(readme, section) is True
    assert report.readme_section(readme) == section and readme.read_text().endswith("after\n")
    assert report.update_readme(readme, section) is False
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(ValueError, match="no ledger section"):
        report.update_readme(tmp_path / "plain.md", section)


def test_the_readme_table_is_what_the_committed_records_say():
    """The README's "What is reproduced" table is rendered by ``bionn report --readme README.md``
    from the committed records; this fails when either changed without re-rendering."""
    repo = Path(__file__).resolve().parents[3]
    readme = repo / "README.md"
    store = ex.RunStore(repo / "results")
    expected = report.readme_table(ex.assess(ex.claims(), "full", store))
    assert report.readme_section(readme) == expected, "run: bionn report --readme README.md"
