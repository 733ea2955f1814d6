"""The NegLU thesis's protocol (bionn.papers.neglu) and plots: networks, data, tiny training runs, and
the registered claims in quick mode (real training on the MNIST sample)."""

from __future__ import annotations

import numpy as np
import pytest

import bionn
from bionn import experiments, nn
from bionn.papers import neglu


@pytest.fixture(autouse=True)
def _one_thread():
    threads = bionn.get_num_threads()
    bionn.set_num_threads(1)
    yield
    bionn.set_num_threads(threads)


@pytest.mark.repro
@pytest.mark.usefixtures("mnist_sample")
def test_neglu_claims_pass_in_quick_mode():
    results = experiments.run_claims("neglu", mode="quick")
    ids = {r["id"] for r in results}
    assert {"neglu.table6_test_error_close"} <= ids
    failed = [(r["id"], r["bionn_value"]) for r in results if not r["passed"]]
    assert not failed, failed


def test_lenet_is_the_matconvnet_architecture():
    net = neglu.lenet(0.07, seed=3)
    kinds = [type(l).__name__ for l in net.layers]
    assert kinds == ["Conv2d", "MaxPool2d", "Conv2d", "MaxPool2d", "Conv2d", "MixLU", "Conv2d", "Flatten"]
    assert net[5].negative_units.size == 35
    assert net.num_parameters() == (25 * 20 + 20) + (500 * 50 + 50) + (800 * 500 + 500) + (500 * 10 + 10)
    assert net.forward(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    w = net[0].parameters()[0].data
    assert 0.005 < w.std() < 0.02 and np.all(net[0].parameters()[1].data == 0)  # 0.01 N(0, 1), zero bias
    assert np.array_equal(neglu.lenet(0.07, seed=3)[5].negative_units, net[5].negative_units)
    for act, kind in (("relu", "ReLU"), ("learned", "LearnedActivation"), ("minmaxout", "MinMaxout")):
        other = neglu.lenet(activation=act)
        assert kind in [type(l).__name__ for l in other.layers]
        assert other.forward(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 10)
    with pytest.raises(ValueError, match="activation must be"):
        neglu.lenet(activation="tanh")


def test_cifar_net_shapes_and_mixlu_per_element():
    net = neglu.cifar_net(0.02, in_channels=1, seed=0)
    mix = [l for l in net.layers if isinstance(l, nn.MixLU)]
    assert len(mix) == 4
    assert [m.neglu_mask.shape for m in mix] == [(32, 16, 16), (32, 16, 16), (64, 8, 8), (64, 1, 1)]
    assert [m.negative_units.size for m in mix] == [164, 164, 82, 1]
    assert net.forward(np.zeros((2, 1, 32, 32), np.float32)).shape == (2, 10)
    assert neglu.cifar_net(activation="relu").forward(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 10)


@pytest.mark.usefixtures("mnist_sample")
def test_mnist_split_is_preprocessed_like_cnn_mnist():
    Xtr, ytr, Xte, yte = neglu.load_mnist_split()
    assert Xtr.shape == (8000, 1, 28, 28) and Xte.shape == (2000, 1, 28, 28)
    assert abs(float(Xtr.mean())) < 1e-3 and Xtr.max() > 100  # [0, 255] minus the mean image
    assert set(np.unique(ytr)) == set(range(10)) and len(yte) == 2000


@pytest.mark.usefixtures("mnist_sample")
def test_train_lenet_reports_errors_and_curves():
    r = neglu.train_lenet(seed=0, fraction=0.1, epochs=3, n_train=500, n_test=200)
    assert r["num_negative"] == 50 and r["n_train"] == 500 and r["n_test"] == 200
    assert len(r["train_curve"]) == len(r["test_curve"]) == len(r["running_train_curve"]) == 3
    assert 0 <= r["train_error"] <= 100 and 0 <= r["test_error"] <= 100
    assert r["gap"] == pytest.approx(r["test_error"] - r["train_error"])
    assert r["test_curve"][-1] < 60  # it learns something in 15 SGD steps
    assert "split seed 0" in r["dataset"]


@pytest.mark.usefixtures("fashion_mnist")
def test_fashion_stand_in_for_cifar_is_labelled():
    name, (Xtr, ytr, Xte, yte) = neglu.load_cifar_or_fashion()
    if name.startswith("CIFAR"):
        assert Xtr.shape[1:] == (3, 32, 32)
    else:
        assert "Fashion-MNIST" in name and "CIFAR-10 absent" in name
        assert Xtr.shape[1:] == (1, 32, 32) and len(Xte) == 10000
    r = neglu.train_cifar_net(seed=0, fraction=0.02, epochs=1, n_train=200, n_test=100)
    assert r["dataset"] == name and r["n_train"] == 200 and r["n_test"] == 100


@pytest.mark.usefixtures("mnist_sample")
def test_variants_compare_rows():
    df = neglu.variants_compare(seeds=(0,), epochs=1, n_train=100, n_test=100)
    assert list(df["variant"]) == ["ReLU", "MixLU 7%", "learned slopes", "Min-Maxout"]
    assert df["test_error"].between(0, 100).all()


# ------------------------------------------------------------------------------------------------
# Plots
# ------------------------------------------------------------------------------------------------


def _fake_results():
    rows = []
    for f in (0.0, 0.04, 0.07, 0.1):
        for s in (0, 1):
            tr = [30 - 3 * e + 10 * f for e in range(5)]
            te = [v + 3 for v in tr]
            rows.append(dict(fraction=f, seed=s, train_curve=tr, test_curve=te, train_error=tr[-1], test_error=te[-1]))
    return rows


def test_mixlu_error_curves_one_panel_per_fraction():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from bionn import plot

    fig = plot.mixlu_error_curves(_fake_results(), ncols=3, title="MNIST")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4
    assert visible[2].get_title() == "7 % NegLU"
    # per panel: 2 seeds x 2 thin lines + 2 mean lines
    assert len(visible[0].lines) == 6
    np.testing.assert_allclose(visible[0].lines[2].get_ydata(), [30, 27, 24, 21, 18])
    acc = plot.mixlu_error_curves(_fake_results(), accuracy=True)
    np.testing.assert_allclose(acc.axes[0].lines[2].get_ydata(), [70, 73, 76, 79, 82])
    matplotlib.pyplot.close("all")


def test_mixlu_gap_plots_means_and_paper_values():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from bionn import plot

    fig = plot.mixlu_gap(_fake_results(), paper={0: (0.92, 0.0), 7: (1.45, 0.85)})
    ax = fig.axes[0]
    gap_line = ax.lines[4]
    np.testing.assert_allclose(gap_line.get_ydata(), [3, 3, 3, 3])
    np.testing.assert_allclose(gap_line.get_xdata(), [0, 4, 7, 10])
    assert len(ax.lines) == 9
    matplotlib.pyplot.close("all")


def test_plot_argument_errors():
    pytest.importorskip("matplotlib")
    from bionn import plot

    with pytest.raises(ValueError, match="empty"):
        plot.mixlu_gap([])
    with pytest.raises(TypeError, match="DataFrame or a list"):
        plot.mixlu_gap(42)
    with pytest.raises(ValueError, match="needs test_error"):
        plot.mixlu_gap([{"fraction": 0.1}])
    with pytest.raises(ValueError, match="needs train_curve"):
        plot.mixlu_error_curves([{"fraction": 0.1}])
    with pytest.raises(ValueError, match="ncols"):
        plot.mixlu_error_curves(_fake_results(), ncols=0)
