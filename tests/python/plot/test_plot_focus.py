"""Receptive-field plots and the ParameterRecorder callback (matplotlib Agg backend)."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from bionn import callbacks, losses, nn, optim, plot  # noqa: E402


def gaussian_focus(neurons=5, inputs=40):
    tau = np.linspace(0, 1, inputs)
    mu = np.linspace(0.2, 0.8, neurons)[:, None]
    return np.exp(-((tau - mu) ** 2) / (2 * 0.1**2))


def test_focus_curves_draws_one_line_per_neuron_and_weight_markers():
    phi = gaussian_focus()
    fig = plot.focus_curves(phi, weights=np.ones_like(phi), neurons=[0, 2, 4])
    ax = fig.axes[0]
    assert len(ax.lines) == 6  # 3 focus curves + 3 marker series
    np.testing.assert_allclose(ax.lines[0].get_ydata(), phi[0])


def test_focus_curves_accepts_an_object_with_focus_method():
    class Layer:
        def focus(self):
            return gaussian_focus(3, 10)

    fig = plot.focus_curves(Layer())
    assert len(fig.axes[0].lines) == 3


@pytest.mark.parametrize("bad", [dict(neurons=[7]), dict(weights=np.ones((2, 2)))])
def test_focus_curves_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        plot.focus_curves(gaussian_focus(), **bad)


def test_focus_2d_one_panel_per_neuron_and_grid_check():
    phi = np.random.default_rng(0).random((6, 12))
    fig = plot.focus_2d(phi, (3, 4), cols=4)
    assert sum(1 for ax in fig.axes if ax.images) == 6
    with pytest.raises(ValueError, match="positions"):
        plot.focus_2d(phi, (5, 5))


def test_parameter_recorder_records_every_epoch_and_plots_trajectories():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = nn.Sequential([nn.Dense(4, 3), nn.ReLU(), nn.Dense(3, 2)], seed=0)
    rec = callbacks.ParameterRecorder(tags=["bias"])
    model.fit(
        X,
        y,
        loss=losses.CrossEntropy(),
        optimizer=optim.SGD(model.parameters(), lr=0.5),
        epochs=3,
        batch_size=16,
        callbacks=[rec],
    )
    assert sorted(rec.records) == ["0.bias", "2.bias"]
    assert len(rec.records["0.bias"]) == 4  # before training + 3 epochs
    assert not np.array_equal(rec.records["0.bias"][0], rec.records["0.bias"][-1])  # training moved it
    np.testing.assert_array_equal(rec.records["0.bias"][-1], model[0].parameters()[1].data)
    fig = plot.parameter_trajectories(rec, "0.bias")
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(KeyError):
        plot.parameter_trajectories(rec, "9.mu")


def test_value_histogram_and_accuracy_vs_sparsity():
    fig = plot.value_histogram(np.linspace(0.01, 1, 50), bins=10, label="sigma")
    assert len(fig.axes[0].patches) == 10
    with pytest.raises(ValueError):
        plot.value_histogram([np.nan])
    fig = plot.accuracy_vs_sparsity({"focus": ([0, 0.5, 0.7], [0.98, 0.98, 0.97]), "dense": ([0, 0.5], [0.97, 0.9])})
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError):
        plot.accuracy_vs_sparsity({"x": ([0, 1], [1.0])})
