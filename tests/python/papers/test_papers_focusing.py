"""The focusing paper's registered claims, in quick mode (real training on §4.1's synthetic data),
and the Table 2 / Fig. 3 protocols on small budgets."""

import numpy as np
import pytest

from bionn import experiments
from bionn.papers import focusing


@pytest.mark.repro
def test_focusing_claims_pass_in_quick_mode():
    results = experiments.run_claims("focusing", mode="quick")
    ids = {r["id"] for r in results}
    assert {
        "focusing.fig2_left_noise",
        "focusing.fig2_both_noise",
        "focusing.fig9_prune_1e7",
        "focusing.table2_mnist_focus_s_beats_dense",
    } <= ids
    failed = [(r["id"], r["bionn_value"]) for r in results if not r["passed"] and not r["skipped"]]
    assert not failed, failed


def test_train_blobs_reports_focus_movement_and_pruning():
    r = focusing.train_blobs(0, noise="left", mu_init="center", n_samples=400, epochs=40)
    assert r["mu_mean_after"] > r["mu_mean_before"]  # informative inputs are on the right
    assert 0.0 <= r["sparsity"] <= 1.0 and 0.0 <= r["accuracy"] <= 1.0
    assert 0.0 < r["focus_on_informative_before"] < 1.0
    assert r["sigma_mean_before"] == pytest.approx(0.08)


def test_train_blobs_both_sides_starts_spread():
    r = focusing.train_blobs(1, noise="both", mu_init="spread", n_samples=400, epochs=5)
    assert r["mu_mean_before"] == pytest.approx(0.5, abs=1e-6) and r["mu_std_before"] > 0.2


def test_grid_pair_trains_matching_networks_on_a_table1_configuration():
    r = focusing.train_grid_pair(0, index=3, epochs=3)
    for key in ("focus_accuracy", "dense_accuracy"):
        assert 0.0 <= r[key] <= 1.0
    assert r["cfg_n_samples"] in (100, 200, 2000) and r["cfg_n_informative"] in (4, 40)
    again = focusing.train_grid_pair(0, index=3, epochs=3)
    assert again == r  # seeded: same configuration, same numbers


@pytest.mark.parametrize("config", focusing.TABLE2_CONFIGS)
def test_table2_network_follows_the_authors_layout(config):
    net = focusing.build_table2_net(config, 784, 10, width=16, seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    hidden = "Dense" if config == "dense" else "FocusDense"
    assert kinds == [
        "Dropout",
        hidden,
        "BatchNorm1d",
        "ReLU",
        "Dropout",
        hidden,
        "BatchNorm1d",
        "ReLU",
        "Dropout",
        "Dense",
    ]
    if config != "dense":
        focus = net.layers[1]
        if config == "focus-c":
            assert np.all(np.abs(focus.mu - 0.5) <= 0.025 + 1e-6)
            assert focus.sigma == pytest.approx(0.025)
        else:
            assert focus.mu.min() == pytest.approx(0.2) and focus.mu.max() == pytest.approx(0.8)
            assert focus.sigma == pytest.approx(0.1 if config == "fixed-s" else 0.025)
        trainable = {p.tag: p.trainable for p in focus.parameters() if p.tag in ("mu", "sigma")}
        assert all(v == (config != "fixed-s") for v in trainable.values()) and trainable
    paper = focusing.build_table2_net(config, 784, 10, width=16, layout="paper")
    assert type(paper.layers[0]).__name__ == hidden


def test_table2_bad_arguments():
    with pytest.raises(ValueError, match="config"):
        focusing.build_table2_net("focus-x", 10)
    with pytest.raises(ValueError, match="layout"):
        focusing.build_table2_net("dense", 10, layout="keras")
    with pytest.raises(ValueError, match="dataset"):
        focusing.load_table2_data("imagenet")


@pytest.mark.usefixtures("mnist_sample")
def test_table2_mnist_sample_is_split_with_a_seed_and_labelled():
    Xtr, ytr, Xte, yte, label = focusing.load_table2_data("mnist-sample", data_seed=3, n_train=500, n_test=200)
    assert Xtr.shape == (500, 784) and Xte.shape == (200, 784) and Xtr.dtype == np.float32
    assert "sample" in label and "seed 3" in label
    assert 0.0 <= Xtr.min() and Xtr.max() <= 1.0


def test_table2_cifar_is_skipped_with_a_reason_when_absent(monkeypatch, tmp_path):
    monkeypatch.setenv("BIONN_DATA", str(tmp_path))
    from bionn import data

    try:
        data.load_cifar10(split="test")
        pytest.skip("CIFAR-10 is present on this machine")
    except (FileNotFoundError, OSError):
        pass
    with pytest.raises(experiments.ClaimSkipped, match="CIFAR-10"):
        focusing.load_table2_data("cifar10")


@pytest.mark.usefixtures("mnist_sample")
def test_train_table2_scores_the_best_epoch_and_is_seeded():
    r = focusing.train_table2(
        0, dataset="mnist-sample", config="focus-s", epochs=2, n_train=600, n_test=300, width=32, batch_size=64
    )
    assert r["best_test_accuracy"] >= r["final_test_accuracy"] and 1 <= r["best_epoch"] <= 2
    assert r["best_test_accuracy"] > 0.5  # well above chance after 2 epochs
    again = focusing.train_table2(
        0, dataset="mnist-sample", config="focus-s", epochs=2, n_train=600, n_test=300, width=32, batch_size=64
    )
    assert again["best_test_accuracy"] == r["best_test_accuracy"]
