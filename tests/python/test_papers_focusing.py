"""The focusing paper's registered claims, in quick mode (real training on §4.1's synthetic data)."""
import pytest

from bionn import experiments
from bionn.papers import focusing


@pytest.mark.repro
def test_focusing_claims_pass_in_quick_mode():
    results = experiments.run_claims("focusing", mode="quick")
    ids = {r["id"] for r in results}
    assert {"focusing.fig2_left_noise", "focusing.fig9_prune_1e7"} <= ids
    failed = [(r["id"], r["bionn_value"]) for r in results if not r["passed"]]
    assert not failed, failed


def test_train_blobs_reports_focus_movement_and_pruning():
    r = focusing.train_blobs(0, noise="left", mu_init="center", n_samples=400, epochs=10)
    assert r["mu_mean_after"] > r["mu_mean_before"]          # informative inputs are on the right
    assert 0.0 <= r["sparsity"] <= 1.0 and 0.0 <= r["accuracy"] <= 1.0
    assert 0.0 < r["focus_on_informative_before"] < 1.0
