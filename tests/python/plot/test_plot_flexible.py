"""Plots of the flexible paper (matplotlib Agg backend): threshold maps and accuracy vs eps."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from bionn import nn, plot  # noqa: E402


def test_threshold_maps_from_a_layer_and_from_an_array():
    layer = nn.FlexibleConv2d(1, 5, 3, input_size=(8, 8), threshold_mode="learned")
    layer.threshold[...] = np.random.default_rng(0).uniform(0, 1, layer.threshold.shape)
    fig = plot.threshold_maps(layer, ncols=3, title="T")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 5
    np.testing.assert_allclose(images[2].get_array(), layer.threshold[2])
    fig = plot.threshold_maps(np.zeros((2, 4, 4)), channels=[1])
    assert sum(1 for ax in fig.axes if ax.images) == 1


def test_threshold_maps_rejects_bad_input():
    with pytest.raises(ValueError, match="C, H, W"):
        plot.threshold_maps(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="channels"):
        plot.threshold_maps(np.zeros((2, 4, 4)), channels=[5])
    with pytest.raises(ValueError, match="NaN or Inf"):
        plot.threshold_maps(nn.FlexibleConv2d(1, 2, 3, input_size=(5, 5), threshold_mode="baseline"))
    with pytest.raises(ValueError, match="ncols"):
        plot.threshold_maps(np.zeros((2, 4, 4)), ncols=0)


def test_accuracy_vs_eps_single_runs_and_seeds():
    fig = plot.accuracy_vs_eps(
        {"baseline": {0.0: 0.9, 0.1: 0.3}, "flexible": [{0.0: 0.88, 0.1: 0.45}, {0.0: 0.86, 0.1: 0.41}]}
    )
    ax = fig.axes[0]
    baseline, flexible = (c.lines[0] for c in ax.containers)  # one errorbar container per network
    np.testing.assert_allclose(baseline.get_ydata(), [0.9, 0.3])
    np.testing.assert_allclose(flexible.get_ydata(), [0.87, 0.43])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline", "flexible"]
    with pytest.raises(ValueError, match="mapping"):
        plot.accuracy_vs_eps({})
    with pytest.raises(ValueError, match="flexible"):
        plot.accuracy_vs_eps({"flexible": []})
