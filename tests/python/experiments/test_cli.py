"""Tests of the ``bionn`` command line (``python -m bionn``, ``bionn.cli.main``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import bionn.experiments as ex
from bionn.cli import main

REQUIRED_KEYS = {"id", "description", "paper_value", "bionn_value", "passed"}


def run_cli(*args: str, cwd: os.PathLike, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bionn", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def check_report_schema(report: dict, paper: str, mode: str) -> None:
    assert set(report) == {"paper", "mode", "claims"}
    assert report["paper"] == paper and report["mode"] == mode
    assert isinstance(report["claims"], list) and report["claims"]
    for c in report["claims"]:
        assert REQUIRED_KEYS <= set(c)
        assert isinstance(c["id"], str) and isinstance(c["description"], str)
        assert isinstance(c["passed"], bool)


@pytest.fixture
def scratch_paper():
    paper = "pytest-cli"
    yield paper
    for c in ex.claims(paper):
        ex.unregister_claim(c.id)


# -- subprocess -------------------------------------------------------------------------------------
def test_list_subprocess(tmp_path):
    proc = run_cli("reproduce", "--list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "demo.mlp_beats_linear" in proc.stdout
    for header in ("claim", "paper", "where", "description", "paper value"):
        assert header in proc.stdout


def test_unknown_paper_subprocess(tmp_path):
    proc = run_cli("reproduce", "no-such-paper", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown paper 'no-such-paper'" in proc.stderr
    assert "demo" in proc.stderr  # lists the known ones


@pytest.mark.repro
def test_reproduce_demo_quick_subprocess(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("reproduce", "demo", "--quick", "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "demo.mlp_beats_linear" in proc.stdout and "PASS" in proc.stdout
    report = json.loads(out.read_text())
    check_report_schema(report, "demo", "quick")
    by_id = {c["id"]: c for c in report["claims"]}
    claim = by_id["demo.mlp_beats_linear"]
    assert claim["passed"] is True
    assert 0.0 <= claim["bionn_value"] < 0.05  # a p-value
    assert claim["info"]["mlp_accuracy_mean"] > claim["info"]["linear_accuracy_mean"]
    assert claim["info"]["seeds"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left behind


# -- in process -------------------------------------------------------------------------------------
def test_list_in_process(capsys):
    assert main(["reproduce", "--list", "demo"]) == 0
    out = capsys.readouterr().out
    assert "demo.mlp_beats_linear" in out and "synthetic two-moons task" in out
    assert main(["reproduce", "--list", "nope"]) == 2
    assert "known papers" in capsys.readouterr().err


def test_failing_claim_gives_nonzero_exit(scratch_paper, tmp_path, capsys):
    ex.register_claim(
        lambda mode: 0.99,
        id="cli.pass",
        paper=scratch_paper,
        where="Table 1",
        description="passes",
        paper_value=0.9,
        compare=">=",
    )
    ex.register_claim(
        lambda mode: 0.5 if mode == "quick" else 0.0,
        id="cli.fail",
        paper=scratch_paper,
        where="Table 2",
        description="fails on purpose",
        paper_value=0.9,
        compare="within",
        tolerance=0.01,
    )
    out = tmp_path / "report.json"
    assert main(["reproduce", scratch_paper, "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "FAIL" in text and "PASS" in text and "1/2 claim(s) passed" in text
    report = json.loads(out.read_text())
    check_report_schema(report, scratch_paper, "quick")
    assert [(c["id"], c["passed"], c["bionn_value"]) for c in report["claims"]] == [
        ("cli.pass", True, 0.99),
        ("cli.fail", False, 0.5),
    ]

    assert main(["reproduce", scratch_paper, "--full", "--json", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["mode"] == "full" and report["claims"][1]["bionn_value"] == 0.0


def test_erroring_claim_fails_and_reports(scratch_paper, capsys):
    def broken(mode):
        raise RuntimeError("out of memory")

    ex.register_claim(
        broken,
        id="cli.broken",
        paper=scratch_paper,
        where="Fig. 1",
        description="raises",
        paper_value=1.0,
        compare="<=",
    )
    assert main(["reproduce", scratch_paper, "-v"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "RuntimeError: out of memory" in out and "Traceback" in out


def test_skipped_claim_is_reported_and_does_not_fail_the_run(scratch_paper, capsys, tmp_path):
    def needs_cifar(mode):
        raise ex.ClaimSkipped("CIFAR-10 files not found in /nowhere; put them in ../shared/data")

    ex.register_claim(
        needs_cifar,
        id="cli.skip",
        paper=scratch_paper,
        where="Table 2",
        description="cifar",
        paper_value=0.5,
        compare=">=",
    )
    ex.register_claim(
        lambda mode: 0.9,
        id="cli.ok",
        paper=scratch_paper,
        where="Table 2",
        description="ok",
        paper_value=0.5,
        compare=">=",
    )
    report_path = tmp_path / "r.json"
    assert main(["reproduce", scratch_paper, "--json", str(report_path)]) == 0
    out = capsys.readouterr().out
    assert "SKIP" in out and "1/2 claim(s) passed, 1 skipped" in out and "CIFAR-10 files not found" in out
    report = json.loads(report_path.read_text())
    skipped = {c["id"]: c["skipped"] for c in report["claims"]}
    assert skipped == {"cli.skip": True, "cli.ok": False}
    # A failing claim next to a skipped one still fails the run.
    ex.register_claim(
        lambda mode: 0.1,
        id="cli.fail2",
        paper=scratch_paper,
        where="Table 2",
        description="bad",
        paper_value=0.5,
        compare=">=",
    )
    assert main(["reproduce", scratch_paper]) == 1


def test_all_passing_claims_exit_zero_and_backend_is_forwarded(scratch_paper, capsys):
    seen = {}

    def compute(mode, backend, n_workers):
        seen.update(mode=mode, backend=backend, n_workers=n_workers)
        return 0.01

    ex.register_claim(
        compute,
        id="cli.sig",
        paper=scratch_paper,
        where="Table 3",
        description="significant",
        paper_value="p < 0.05",
        compare="significant",
    )
    assert main(["reproduce", scratch_paper, "--backend", "processes", "--workers", "3"]) == 0
    assert seen == {"mode": "quick", "backend": "processes", "n_workers": 3}
    assert "p=0.01" in capsys.readouterr().out


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
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_help_and_version_exit_zero(capsys):
    assert main(["--version"]) == 0
    assert "bionn" in capsys.readouterr().out
    assert main(["reproduce", "--help"]) == 0
    assert "--backend" in capsys.readouterr().out
