"""Tests of the ``bionn`` command line (``python -m bionn``, ``bionn.cli.main``): reproduce (claim
selection, verdicts, exit codes, --strict, --require-data, --json, --store, --rerun) and report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import bionn.experiments as ex
from bionn.cli import main
from bionn.experiments import records, report

P = "t-cli"
JSON_KEYS = {
    "id",
    "paper",
    "where",
    "paper_value",
    "bionn_value",
    "criterion",
    "verdict",
    "passed",
    "runs_done",
    "runs_planned",
    "deviations",
}


def run_cli(*args: str, cwd: os.PathLike, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bionn", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


# -- a throw-away paper --------------------------------------------------------------------------
def value_fn(seed, model="a", shift=0.0):
    rng = np.random.default_rng(seed + (0 if model == "a" else 100))
    return {"acc": float((0.9 if model == "a" else 0.8 + shift) + 0.005 * rng.standard_normal())}


def absent():
    raise ex.ClaimSkipped("needs cifar-10-batches-bin/ in ../shared/data/cifar-10/", dataset="cifar10")


def absent_fmnist():
    raise ex.ClaimSkipped("needs the Fashion-MNIST IDX files", dataset="fashion-mnist")


def broken_fn(seed, model="a"):
    raise RuntimeError("out of memory")


def _exp(name, run=value_fn, configs=None, requires=None):
    ex.register_experiment(
        ex.Experiment(
            P,
            name,
            run,
            configs or [{"model": "a"}, {"model": "b"}],
            range(4),
            ex.Quick(range(3), note="3 seeds"),
            requires=requires,
            deviations=["synthetic"],
        )
    )


def _claim(cid, exp, direction="greater"):
    crit = ex.Compare("acc", ex.Group(exp, {"model": "a"}, "A"), ex.Group(exp, {"model": "b"}, "B"), direction)
    ex.register_claim(ex.Claim(f"{P}.{cid}", P, "Table 1", "A beats B", "0.9 vs 0.8", crit))


@pytest.fixture(autouse=True)
def clean():
    ex.unregister(P)
    yield
    ex.unregister(P)


@pytest.fixture
def paper():
    _exp("good")
    _exp("bad", configs=[{"model": "a"}, {"model": "b", "shift": 0.2}])
    _claim("holds", "good")
    _claim("fails", "bad")
    return P


def _json(capsys):
    return json.loads(capsys.readouterr().out)


# -- reproduce -----------------------------------------------------------------------------------
def test_verdicts_exit_codes_and_json(paper, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["reproduce", paper, "--quick", "--no-progress", "--json", str(out)]) == 0  # NOT REPRODUCED is a result
    text = capsys.readouterr().out
    assert "REPRODUCED 1, NOT REPRODUCED 1" in text and "temporary store" in text
    payload = json.loads(out.read_text())
    assert payload["mode"] == "quick"
    for c in payload["claims"]:
        assert JSON_KEYS <= set(c) and c["verdict"] in ex.VERDICTS and c["passed"] == (c["verdict"] == "REPRODUCED")
        assert c["runs_done"] == c["runs_planned"] == 6
    assert [c["verdict"] for c in payload["claims"]] == ["REPRODUCED", "NOT REPRODUCED"]
    assert main(["reproduce", paper, "--strict", "--no-progress"]) == 1
    assert main(["reproduce", f"{P}.hol*", "--strict", "--no-progress"]) == 0
    assert list(tmp_path.iterdir()) == [out]  # quick records went to a temporary store


def test_skip_never_passes(paper, tmp_path, capsys):
    _exp("nodata", requires=absent)
    _claim("skips", "nodata")
    argv = ["reproduce", f"{P}.skips", "--no-progress", "--json", "-"]
    assert main(argv) == 0
    (c,) = _json(capsys)["claims"]
    assert c["verdict"] == "SKIPPED" and c["passed"] is False and "cifar-10-batches-bin" in c["note"]
    assert main(argv + ["--strict"]) == 1
    capsys.readouterr()
    assert main(argv + ["--require-data"]) == 1
    assert _json(capsys)["claims"][0]["verdict"] == "ERROR"
    assert main(argv + ["--require-data", "--allow-missing", "cifar10"]) == 0  # declared absent: stays SKIPPED
    assert _json(capsys)["claims"][0]["verdict"] == "SKIPPED"
    _exp("nofmnist", requires=absent_fmnist)
    _claim("skips2", "nofmnist")
    assert main(["reproduce", f"{P}.skips2", "--no-progress", "--require-data", "--allow-missing", "cifar10"]) == 1


def test_error_exit_one_and_verbose(paper, capsys):
    _exp("broken", run=broken_fn)
    _claim("errs", "broken")
    assert main(["reproduce", P, "--no-progress", "-v"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "out of memory" in out


def test_full_mode_store_resume_and_rerun(paper, tmp_path, capsys):
    store = tmp_path / "store"
    argv = ["reproduce", f"{P}.holds", "--full", "--store", str(store), "--no-progress", "--json", "-"]
    assert main(argv) == 0
    (c,) = _json(capsys)["claims"]
    assert c["verdict"] == "REPRODUCED" and c["runs_done"] == 8
    records = sorted(store.rglob("seed-*.json"))
    assert len(records) == 8
    records[0].unlink()
    mtime = records[1].stat().st_mtime_ns
    assert main(argv) == 0  # runs only the missing one
    assert len(sorted(store.rglob("seed-*.json"))) == 8 and records[1].stat().st_mtime_ns == mtime
    capsys.readouterr()
    assert main(argv + ["--rerun"]) == 0
    assert records[1].stat().st_mtime_ns != mtime


def test_list_json_from_records_without_training(paper, tmp_path, capsys):
    store = ex.RunStore(tmp_path)
    assert main(["reproduce", "--list", P, "--store", str(tmp_path), "--json"]) == 0
    claims = _json(capsys)["claims"]
    assert [c["verdict"] for c in claims] == ["PARTIAL", "PARTIAL"] and claims[0]["runs_done"] == 0
    for c in claims:
        assert JSON_KEYS <= set(c)
    ex.reproduce(ex.claims(P), "full", store)
    assert main(["reproduce", "--list", P, "--store", str(tmp_path), "--json"]) == 0
    assert [c["verdict"] for c in _json(capsys)["claims"]] == ["REPRODUCED", "NOT REPRODUCED"]
    assert main(["reproduce", "--list", "--store", str(tmp_path)]) == 0
    assert "criterion: A > B on acc" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["reproduce"],
        ["reproduce", "demo", "--quick", "--full"],
        ["reproduce", "demo", "--backend", "threads"],
        ["reproduce", "demo", "--backend", "processes", "--address", "tcp://127.0.0.1:8786"],
        ["reproduce", "demo", "--backend", "processes", "--workers", "0"],
        ["reproduce", "demo", "--workers", "2"],
        ["reproduce", "demo", "--json", "/nonexistent-dir/out.json"],
        ["reproduce", "no-such-paper"],
        ["reproduce", "demo.no_such_claim*"],
        ["reproduce", "demo", "--probe", "--quick"],
        ["reproduce", "demo", "--probe", "--probe-epochs", "0"],
        ["report", "no-such-paper"],
        ["report", "--check"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err


def epochs_fn(seed, model="a", epochs=10):
    return {"acc": 0.9 if model == "a" else 0.8, "epochs_run": epochs}


def test_probe_measures_a_few_epochs_and_the_report_extrapolates(tmp_path, capsys):
    ex.register_experiment(
        ex.Experiment(
            P,
            "long",
            epochs_fn,
            [{"model": "a", "epochs": 200}, {"model": "b", "epochs": 200}],
            range(5),
            ex.Quick(range(2), {"epochs": 1}),
        )
    )
    _exp("no_epochs")
    _exp("no_data", requires=absent)
    _claim("long_claim", "long")
    _claim("plain", "no_epochs")
    _claim("absent", "no_data")
    store = tmp_path / "store"
    assert main(["reproduce", P, "--probe", "--probe-epochs", "2", "--store", str(store)]) == 0
    text = capsys.readouterr()
    assert f"{P}/long" in text.out and "probed" in text.out and "no epochs" in text.out and "skipped" in text.out
    probe = ex.RunStore(store).load_probe(P, "long")
    assert probe["epochs"] == 2 and probe["full_epochs"] == 200 and probe["config"] == {"model": "a", "epochs": 200}
    # the other config is timed too (configs can differ in cost)
    assert [o["config"] for o in probe["others"]] == [{"model": "b", "epochs": 200}]
    assert probe["others"][0]["full_epochs"] == 200 and probe["others"][0]["cpu_time_s"] >= 0
    table = report.cost_table(P, store=ex.RunStore(store))
    assert "| `long` | long_claim | 0/10 | 0.00 | ≈ " in table and "(probe: 2 of 200 epochs)" in table
    assert "cost probe" in table and "no run or probe yet" in table
    # an experiment with records is not probed again (the records' wall times are the measure)
    assert main(["reproduce", f"{P}.plain", "--full", "--store", str(store), "--no-progress"]) in (0, 1)
    capsys.readouterr()
    assert main(["reproduce", f"{P}.plain", "--probe", "--store", str(store)]) == 0
    assert "has records" in capsys.readouterr().out
    # a corrupt probe is reported, never trusted
    ex.RunStore(store).probe_path(P, "long").write_text("{not json")
    with pytest.raises(ValueError, match="cost probe"):
        ex.RunStore(store).load_probe(P, "long")
    assert "| `long` | long_claim | 0/10 | 0.00 | — | — |" in report.cost_table(P, store=ex.RunStore(store))


def fixed_cost_fn(seed, model="a", epochs=10):
    """CPU time: 0.3 s once (a final evaluation), then 0.05 s per epoch."""

    def burn(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    burn(0.05 * epochs)
    burn(0.3)
    return {"acc": 0.9}


def test_probe_counts_a_runs_fixed_cost_once(tmp_path, capsys):
    ex.register_experiment(
        ex.Experiment(P, "evals", fixed_cost_fn, [{"model": "a", "epochs": 100}], range(2), ex.Quick(range(1)))
    )
    _claim("evals_claim", "evals")
    store = ex.RunStore(tmp_path / "store")
    (row,) = ex.ledger.probe(ex.claims(P), store)
    probe = store.load_probe(P, "evals")
    assert probe["epochs"] == 1 and 0.25 < probe["fixed_time_s"] < 0.45 and probe["fixed_time_s"] < probe["cpu_time_s"]
    # 0.3 s once + 100 epochs x 0.05 s = 5.3 s per run; one epoch's probe alone would say 35 s
    assert 4.0 < records.probe_estimate(probe) < 7.0
    assert row["cpu_h_per_run"] == pytest.approx(records.probe_estimate(probe) / 3600)
    assert "once per run" in row["note"]
    old = dict(probe)
    del old["fixed_time_s"]  # probes from before the field: the single-probe extrapolation
    assert records.probe_estimate(old) == pytest.approx(probe["cpu_time_s"] * 100)
    with pytest.raises(ValueError, match="fixed_time"):
        store.save_probe(P, "evals", {"model": "a", "epochs": 100}, 1, 100, 1.0, 2.0)


def sized_cost_fn(seed, width=1, epochs=10):
    """CPU time: 0.01 s per epoch and unit of width."""
    end = time.process_time() + 0.01 * width * epochs
    while time.process_time() < end:
        pass
    return {"acc": 0.9}


def test_probe_times_every_config_when_their_costs_differ(tmp_path):
    configs = [{"width": 1, "epochs": 100}, {"width": 4, "epochs": 100}, {"width": 7, "epochs": 50}]
    ex.register_experiment(ex.Experiment(P, "widths", sized_cost_fn, configs, range(2), ex.Quick(range(1))))
    _claim("widths_claim", "widths")
    store = ex.RunStore(tmp_path / "store")
    (row,) = ex.ledger.probe(ex.claims(P), store)
    probe = store.load_probe(P, "widths")
    assert [o["config"] for o in probe["others"]] == configs[1:]
    assert [o["full_epochs"] for o in probe["others"]] == [100, 50]
    assert probe["others"][0]["cpu_time_s"] > 2 * probe["cpu_time_s"]  # width 4 costs more than width 1
    # full runs: 1 s, 4 s and 3.5 s; the first config alone would have said 1 s per run
    assert 2.0 < records.probe_estimate(probe) < 3.5
    assert row["cpu_h_per_run"] == pytest.approx(records.probe_estimate(probe) / 3600)
    assert "2 other config(s)" in row["note"]
    # malformed others are refused when saved and when loaded
    with pytest.raises(ValueError, match="others"):
        store.save_probe(P, "widths", configs[0], 1, 100, 1.0, 0.0, [(configs[1], 0, 1.0)])
    path = store.probe_path(P, "widths")
    bad = json.loads(path.read_text())
    bad["others"][0]["cpu_time_s"] = -1
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="others"):
        store.load_probe(P, "widths")


def test_help_and_version_exit_zero(capsys):
    assert main(["--version"]) == 0
    assert "bionn" in capsys.readouterr().out
    assert main(["reproduce", "--help"]) == 0
    assert "--require-data" in capsys.readouterr().out
    assert main(["report", "--help"]) == 0


# -- report --------------------------------------------------------------------------------------
def test_report_writes_papers_and_checks_the_readme(paper, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    store = tmp_path / "store"
    ex.reproduce(ex.claims(P), "full", ex.RunStore(store))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{report.README_START}\n{report.README_END}\n")
    argv = ["report", "--store", str(store), "--readme", str(readme)]
    assert main(argv + ["--check"]) == 1
    assert "differs" in capsys.readouterr().out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ledger table updated" in out and f"{P}.md" in out
    assert (store / f"{P}.md").is_file() and (store / "figures" / P / "holds.png").is_file()
    assert main(argv + ["--check"]) == 0
    assert f"{P}.holds" in readme.read_text()


# -- subprocess: the installed entry point ---------------------------------------------------------
@pytest.mark.repro
def test_reproduce_demo_quick_subprocess(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("reproduce", "demo", "--quick", "--no-progress", "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads(out.read_text())
    assert {c["id"]: c["verdict"] for c in payload["claims"]} == {
        "demo.mlp_beats_linear": "REPRODUCED",
        "demo.mlp_accuracy": "REPRODUCED",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_report_subprocess_answers_what_holds(tmp_path):
    proc = run_cli("report", "--no-write", "--store", str(tmp_path), cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "demo.mlp_beats_linear" in proc.stdout and "PARTIAL" in proc.stdout
