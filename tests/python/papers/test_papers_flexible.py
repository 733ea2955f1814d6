"""The flexible paper's claims in quick mode (real training on Fashion-MNIST subsets) and the
helpers behind them: the paper's networks, optimizer groups, the CIFAR-10 skip path."""

import numpy as np
import pytest

from bionn import experiments, nn
from bionn.papers import flexible

needs_fmnist = pytest.mark.usefixtures("fashion_mnist")


@needs_fmnist
@pytest.mark.repro
def test_flexible_claims_pass_in_quick_mode():
    results = experiments.run_claims("flexible", mode="quick")
    ids = {r["id"] for r in results}
    assert {"flexible.table2_uniform_fgsm", "flexible.table2_standard_fgsm", "flexible.table2_clean_cost"} <= ids
    failed = [(r["id"], r["bionn_value"], r["info"].get("error")) for r in results if not r["passed"]]
    assert not failed, failed


def test_small_network_is_the_papers():
    model = flexible.small_network("uniform", 0.1, seed=0)
    assert isinstance(model[0], nn.FlexibleConv2d) and model[0].output_shape == (12, 24, 24)
    assert model.num_parameters() == (12 * 25 + 12) + (6912 * 120 + 120) + (120 * 60 + 60) + (60 * 10 + 10)
    learned = flexible.small_network("learned", seed=0)
    assert [p.tag for p in learned.parameters(tags=["threshold"])] == ["threshold"]
    opt, sched = flexible.paper_optimizer(learned)
    decay = {p.tag: g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert decay["threshold"] == 0.0 and decay["weight"] == 0.006
    assert learned.forward(np.zeros((2, 1, 28, 28))).shape == (2, 10)


def test_vgg_style_and_surrogate_networks_run():
    x = np.random.default_rng(0).uniform(0, 1, (2, 1, 28, 28))
    for model in (flexible.vgg_style_network("learned", seed=0, width=4), flexible.surrogate_network(seed=0, width=4)):
        assert model.forward(x, training=False).shape == (2, 10)
    assert flexible.vgg_style_network("baseline", seed=0, in_channels=3, size=32, width=4).forward(
        np.zeros((1, 3, 32, 32)), training=False
    ).shape == (1, 10)


def test_cifar10_path_skips_with_a_reason_when_absent():
    try:
        flexible.cifar10_or_skip()
    except flexible.DataUnavailable as exc:
        assert "CIFAR-10" in str(exc) and "BIONN_DATA" in str(exc)
        with pytest.raises(flexible.DataUnavailable):
            flexible.small_data(0, "learned", dataset="cifar10")
    else:  # pragma: no cover - only where CIFAR-10 is installed
        pytest.skip("CIFAR-10 is installed here; the skip path cannot be exercised")


@needs_fmnist
def test_threshold_sweep_and_pgd_helpers_report_their_metrics():
    r = flexible.threshold_sweep(0, 0.6, [0.1, 0.6], n_train=200, n_test=100, epochs=1)
    assert {"acc_at_0.1", "acc_at_0.6", "best_threshold", "trained_is_best"} <= set(r)
    assert r["acc_at_0.6"] == r["accuracy"]  # validated at its own threshold = its accuracy
    p = flexible.pgd_robustness(0, "learned", n_train=100, n_test=20, epochs=1, steps=2, width=4)
    assert set(p) == {"natural", "pgd_whitebox", "pgd_blackbox"} and all(0 <= v <= 1 for v in p.values())
    with pytest.raises(ValueError, match="dataset"):
        flexible.small_data(0, "learned", dataset="svhn")


def test_corruption_robustness_reports_every_family_and_severity():
    pytest.importorskip("scipy")
    r = flexible.corruption_robustness(
        0, "learned", n_train=200, n_test=60, epochs=1, names=("gaussian_noise", "contrast"), severities=(1, 5)
    )
    combos = {(row["corruption"], row["severity"]) for row in r["table"]}
    assert {("gaussian_noise", 1), ("gaussian_noise", 5), ("contrast", 1), ("contrast", 5)} <= combos
    assert 0.0 <= r["noise_sev5"] <= 1.0 and 0.0 <= r["clean"] <= 1.0
    again = flexible.corruption_robustness(
        0, "learned", n_train=200, n_test=60, epochs=1, names=("gaussian_noise", "contrast"), severities=(1, 5)
    )
    assert again["table"] == r["table"]  # seeded training and corruption noise
