"""Every paper's claims in quick mode (a smoke test of the full protocol's code path), parametrised
over the registry so a new paper is covered automatically.

As CI's ``bionn reproduce all --quick --require-data --allow-missing cifar10``: no claim may end in
ERROR (a data set this machine should have but lacks is an ERROR), and a claim whose committed full
records say REPRODUCED must still hold in quick mode where its quick version has the power to show
it (``Claim.quick_power``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bionn  # noqa: F401 - registers the papers
import bionn.experiments as ex
from bionn.cli import main

ALLOW_MISSING = ("cifar10",)  # not obtainable on this project's machines (see the README's data notes)
COMMITTED = ex.RunStore(Path(__file__).resolve().parents[3] / "results")


@pytest.mark.repro
@pytest.mark.parametrize("paper", ex.papers())
def test_quick_mode_runs_every_claim_without_error(paper, tmp_path):
    """``bionn reproduce <paper> --quick --require-data --allow-missing cifar10`` (CI's command, per
    paper): exit 0 means no claim ended in ERROR."""
    out = tmp_path / "quick.json"
    argv = ["reproduce", paper, "--quick", "--require-data", "--allow-missing", ",".join(ALLOW_MISSING)]
    # Two single-threaded worker processes: small networks parallelise better over runs than over
    # threads, and CI exercises the processes backend of the real protocols.
    extra = ["--backend", "processes", "--workers", "2", "--no-progress", "--store", str(tmp_path / "store")]
    status = main(argv + extra + ["--json", str(out)])
    results = json.loads(out.read_text())["claims"]
    errors = {r["id"]: r["note"] for r in results if r["verdict"] == "ERROR"}
    assert status == 0 and not errors, errors
    assert [r["id"] for r in results] == [c.id for c in ex.claims(paper)]
    for r in results:
        assert r["verdict"] in ex.VERDICTS and r["passed"] == (r["verdict"] == "REPRODUCED")
        assert r["runs_done"] == r["runs_planned"] or r["verdict"] == "SKIPPED"
        if r["verdict"] == "SKIPPED":
            assert "cifar" in r["note"].lower(), r["note"]
    full = {r["id"]: r["verdict"] for r in ex.assess(ex.claims(paper), "full", COMMITTED)}
    lost = [
        r["id"]
        for r in results
        if ex.get_claim(r["id"]).quick_power and full[r["id"]] == "REPRODUCED" and r["verdict"] != "REPRODUCED"
    ]
    assert not lost, f"reproduced by the committed full records but not in quick mode: {lost}"
