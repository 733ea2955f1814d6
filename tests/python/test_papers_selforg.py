"""The selforg paper's registered claims in quick mode (real training on the MNIST sample), and the
experiment functions behind them."""
import numpy as np
import pytest

from bionn import data, experiments
from bionn.papers import selforg as paper


def _mnist_available():
    try:
        data.load_mnist_sample()
    except FileNotFoundError:
        return False
    return True


needs_mnist = pytest.mark.skipif(not _mnist_available(),
                                 reason="shared MNIST sample not found (set BIONN_DATA)")

CLAIMS = {"selforg.table1_a3_beats_random", "selforg.table1_a2_weakest_handcrafted",
          "selforg.sec32_entropy_accuracy_correlation"}


def test_claims_are_registered_with_paper_values():
    ids = {c.id for c in experiments.claims("selforg")}
    assert ids == CLAIMS  # Table 2 (meta-learning) is not registered: it does not reproduce (see module doc)
    gap = experiments.get_claim("selforg.table1_a2_weakest_handcrafted")
    assert gap.paper_value == pytest.approx(96.4 - 94.21)
    assert gap.check(0.01) and not gap.check(-0.01)


@needs_mnist
@pytest.mark.repro
def test_selforg_claims_pass_in_quick_mode():
    results = experiments.run_claims("selforg", mode="quick")
    assert {r["id"] for r in results} == CLAIMS
    failed = [(r["id"], r["bionn_value"]) for r in results if not r["passed"]]
    assert not failed, failed


@needs_mnist
def test_run_topology_and_run_meta_report_what_the_tables_need():
    r = paper.run_topology(0, "A3", n_train=300, n_test=200, epochs=1)
    assert 0.1 < r["accuracy"] <= 1.0 and r["max_entropy"] > 0 and r["levels"] == 2
    m = paper.run_meta(0, n_train=300, n_test=200, epochs=1, meta_steps=2)
    assert len(m["acc_per_step"]) == 3 and len(m["fields_per_step"]) == 3
    assert m["candidates"] >= 2 and 0 <= m["accepted"] <= 2
    assert all(0 < a <= 1 for a in m["acc_per_step"] + [m["acc_control"]])
    if m["accepted"] == 0:
        assert m["acc_final"] == m["acc_initial"] and m["fields_per_step"][0] == m["fields_per_step"][-1]
