"""Topology drawings, their evolution per meta-step and the entropy-accuracy scatter (Agg backend)."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from bionn import plot  # noqa: E402
from bionn.selforg import SelfOrganizingNetwork, Topology  # noqa: E402


def test_topology_draws_blocks_windows_and_arrows():
    topo = Topology.handcrafted("A3")
    fig = plot.selforg_topology(topo)
    ax = fig.axes[0]
    n_windows = sum(len(u) for u in topo.fields)
    # image + 3 hidden blocks + 6 windows + 6 arrows + map frame
    assert len(ax.patches) == 1 + 3 + n_windows + n_windows + 1
    assert "levels [1, 1, 2]" in ax.get_title()
    fig2 = plot.selforg_topology(SelfOrganizingNetwork(topo), image=np.zeros((20, 20)), arrows=False, title="x")
    assert len(fig2.axes[0].images) == 1 and fig2.axes[0].get_title() == "x"


def test_evolution_one_panel_per_step_and_validation():
    steps = [Topology.random(1), Topology.random(1).with_fields(Topology.random(2).fields)]
    fig = plot.selforg_evolution(steps, accuracies=[0.8, 0.85], ncols=3)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == ["step 0: 80.0 %", "step 1: 85.0 %"]
    with pytest.raises(ValueError, match="accuracies"):
        plot.selforg_evolution(steps, accuracies=[0.8])
    with pytest.raises(ValueError, match="empty"):
        plot.selforg_evolution([])
    with pytest.raises(TypeError, match="Topology"):
        plot.selforg_topology("A3")
    with pytest.raises(ValueError, match="image"):
        plot.selforg_topology(Topology.handcrafted("A1"), image=np.zeros((5, 5)))


def test_entropy_accuracy_scatter_has_regression_line():
    x = np.array([3.0, 3.1, 3.2, 3.3])
    y = np.array([0.8, 0.82, 0.85, 0.86])
    fig = plot.selforg_entropy_accuracy(x, y, labels=["A1", "A1", "A2", "A2"])
    ax = fig.axes[0]
    assert len(ax.collections) == 2 and len(ax.lines) == 1
    r = np.corrcoef(x, y)[0, 1]
    assert f"r = {r:.2f}" in ax.get_legend().get_texts()[-1].get_text()
    with pytest.raises(ValueError, match="same length"):
        plot.selforg_entropy_accuracy(x, y[:2])
