"""Plots for the selforg paper; re-exported by :mod:`bionn.plot`.

* :func:`selforg_topology` draws a meta-network on its feature map (Fig. 2/4 style): the image
  region, each unit's hidden block coloured by hierarchy level, its receptive-field windows and
  arrows from the windows to the unit.
* :func:`selforg_evolution` draws a topology after each meta-step, side by side.
* :func:`selforg_entropy_accuracy` is the Fig. 5 scatter with its regression line.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ._base import _figure_and_ax

__all__ = ["selforg_topology", "selforg_evolution", "selforg_entropy_accuracy"]

_LEVEL_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _as_topology(topology: Any) -> Any:
    from ..selforg import SelfOrganizingNetwork, Topology

    if isinstance(topology, SelfOrganizingNetwork):
        return topology.topology
    if isinstance(topology, dict):
        return Topology.from_dict(topology)
    if not isinstance(topology, Topology):
        raise TypeError(
            f"topology must be a bionn.selforg.Topology, a network or a topology dict, got {type(topology).__name__}"
        )
    return topology


def selforg_topology(
    topology: Any, ax: Any = None, image: Optional[np.ndarray] = None, title: Optional[str] = None, arrows: bool = True
) -> Any:
    """Draws a topology on its feature map.

    Parameters
    ----------
    topology : bionn.selforg.Topology, SelfOrganizingNetwork or dict
    ax : matplotlib Axes, optional
    image : array (h, w), optional
        Drawn in the image region (e.g. a digit); otherwise the region is shaded.
    title : str, optional
        Default: the topology's name and its hierarchy levels.
    arrows : bool
        Arrows from each window's centre to its unit's hidden block.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import FancyArrowPatch, Rectangle

    topo = _as_topology(topology)
    h, w = topo.map_shape
    fig, ax = _figure_and_ax(ax, (0.18 * w + 1, 0.18 * h + 1))
    (ir, ic), (ih, iw) = topo.image_at, topo.image_shape
    if image is not None:
        img = np.asarray(image, dtype=float)
        if img.shape != (ih, iw):
            raise ValueError(f"image must have shape {(ih, iw)}, got {img.shape}")
        ax.imshow(img, cmap="gray_r", extent=(ic, ic + iw, ir + ih, ir), alpha=0.6, zorder=0)
    else:
        ax.add_patch(Rectangle((ic, ir), iw, ih, facecolor="0.9", edgecolor="0.4", zorder=0))
    # The dotted lines of Fig. 2: the image's 10 x 10 quadrants (any window-sized grid).
    for x in range(ic + topo.window, ic + iw, topo.window):
        ax.plot([x, x], [ir, ir + ih], ls=":", color="0.5", lw=0.8)
    for y in range(ir + topo.window, ir + ih, topo.window):
        ax.plot([ic, ic + iw], [y, y], ls=":", color="0.5", lw=0.8)
    levels = topo.levels()
    hh, hw = topo.hidden_shape
    N = topo.window
    for k, (r, c) in enumerate(topo.unit_locations):
        colour = _LEVEL_COLOURS[(levels[k] - 1) % len(_LEVEL_COLOURS)]
        ax.add_patch(Rectangle((c, r), hw, hh, facecolor=colour, alpha=0.35, edgecolor=colour, lw=1.5, zorder=1))
        ax.text(c + hw / 2, r + hh / 2, f"u{k}\nL{levels[k]}", ha="center", va="center", fontsize=8, zorder=4)
        for j, (wr, wc) in enumerate(topo.fields[k]):
            off = 0.25 * (k + 1)  # keeps coincident windows of different units visible
            ax.add_patch(
                Rectangle(
                    (wc + off, wr + off),
                    N - 2 * off,
                    N - 2 * off,
                    fill=False,
                    edgecolor=colour,
                    lw=1.6,
                    ls="-" if j == 0 else "--",
                    zorder=3,
                )
            )
            if arrows:
                ax.add_patch(
                    FancyArrowPatch(
                        (wc + N / 2, wr + N / 2),
                        (c + hw / 2, r + hh / 2),
                        color=colour,
                        arrowstyle="->",
                        mutation_scale=8,
                        lw=0.9,
                        alpha=0.8,
                        zorder=2,
                        connectionstyle="arc3,rad=0.2",
                    )
                )
    ax.set_xlim(-0.5, w + 0.5)
    ax.set_ylim(h + 0.5, -0.5)
    ax.set_aspect("equal")
    ax.add_patch(Rectangle((0, 0), w, h, fill=False, edgecolor="k", lw=1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title if title is not None else f"{topo.name} (levels {levels})", fontsize=9)
    return fig


def selforg_evolution(
    topologies: Sequence[Any],
    accuracies: Optional[Sequence[float]] = None,
    ncols: int = 4,
    image: Optional[np.ndarray] = None,
) -> Any:
    """One panel per meta-step: how the receptive fields moved (titles carry the step and, if
    given, the accuracy).

    Parameters
    ----------
    topologies : sequence of Topology (or topology dicts / field lists of one sheet)
    accuracies : sequence of float, optional
        Same length as ``topologies``.
    """
    import matplotlib.pyplot as plt

    if len(topologies) == 0:
        raise ValueError("topologies is empty")
    if accuracies is not None and len(accuracies) != len(topologies):
        raise ValueError(f"accuracies has {len(accuracies)} entries for {len(topologies)} topologies")
    topos = [_as_topology(t) for t in topologies]
    n = len(topos)
    ncols = max(1, min(int(ncols), n))
    nrows = (n + ncols - 1) // ncols
    h, w = topos[0].map_shape
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * (0.12 * w + 0.6), nrows * (0.12 * h + 0.8)), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        title = f"step {i}" + (f": {100 * accuracies[i]:.1f} %" if accuracies is not None else "")
        selforg_topology(topos[i], ax=ax, image=image, title=title, arrows=False)
    fig.tight_layout()
    return fig


def selforg_entropy_accuracy(
    max_entropy: Any, accuracy: Any, labels: Optional[Sequence[str]] = None, ax: Any = None
) -> Any:
    """Fig. 5: accuracy against maximum entropy, one point per network, with the least-squares line
    and Pearson's r in the legend. ``labels`` colours the points by group (e.g. topology name)."""
    x = np.asarray(max_entropy, dtype=float).reshape(-1)
    y = np.asarray(accuracy, dtype=float).reshape(-1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"max_entropy and accuracy need the same length >= 2, got {x.size} and {y.size}")
    if labels is not None and len(labels) != x.size:
        raise ValueError(f"labels has {len(labels)} entries for {x.size} points")
    fig, ax = _figure_and_ax(ax, (5, 4))
    if labels is None:
        ax.scatter(x, y, s=18)
    else:
        for name in dict.fromkeys(labels):
            sel = np.array([lab == name for lab in labels])
            ax.scatter(x[sel], y[sel], s=18, label=str(name))
    slope, intercept = np.polyfit(x, y, 1)
    r = float(np.corrcoef(x, y)[0, 1])
    xs = np.linspace(x.min(), x.max(), 50)
    ax.plot(xs, slope * xs + intercept, color="k", lw=1, label=f"fit, r = {r:.2f}")
    ax.set_xlabel("maximum entropy (nats)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=7)
    return fig
