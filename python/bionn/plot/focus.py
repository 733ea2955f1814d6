"""Receptive fields and parameter trajectories, the focusing-neuron paper's figures (Figs. 2, 5, 7,
9b); re-exported by :mod:`bionn.plot`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._base import _figure_and_ax, _pyplot

__all__ = ["focus_curves", "focus_2d", "parameter_trajectories", "value_histogram", "accuracy_vs_sparsity"]


def _focus_matrix(focus: Any) -> np.ndarray:
    """A (neurons, inputs) focus matrix from an array or a layer with a ``focus()`` method."""
    phi = focus.focus() if hasattr(focus, "focus") and callable(focus.focus) else focus
    phi = np.asarray(phi, dtype=np.float64)
    if phi.ndim != 2 or phi.size == 0:
        raise ValueError(f"focus must be a non-empty (neurons, inputs) matrix, got shape {phi.shape}")
    return phi


def _neuron_indices(neurons: Optional[Sequence[int]], count: int, default: int) -> List[int]:
    if neurons is None:
        return list(range(min(count, default)))
    idx = [int(i) for i in neurons]
    bad = [i for i in idx if not 0 <= i < count]
    if bad or not idx:
        raise ValueError(f"neurons must be indices in [0, {count}), got {list(neurons)!r}")
    return idx


def focus_curves(focus: Any, weights: Any = None, neurons: Optional[Sequence[int]] = None, ax: Any = None) -> Any:
    """Each neuron's focus over the input positions tau in [0, 1] (Fig. 2a/5), and optionally its
    focused weights phi * w as markers.

    Parameters
    ----------
    focus : array (neurons, inputs) or a layer with ``focus()``
    weights : array (neurons, inputs), optional
        The raw weights W; the plot then also shows phi * W.
    neurons : sequence of int, optional
        Which neurons to draw (default: the first 8).
    """
    _pyplot()  # without matplotlib: the install hint before any argument error
    phi = _focus_matrix(focus)
    idx = _neuron_indices(neurons, phi.shape[0], 8)
    fig, ax = _figure_and_ax(ax, (7, 4))
    tau = np.linspace(0.0, 1.0, phi.shape[1])
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None and w.shape != phi.shape:
        raise ValueError(f"weights must have the focus's shape {phi.shape}, got {w.shape}")
    for i in idx:
        (line,) = ax.plot(tau, phi[i], label=f"neuron {i}")
        if w is not None:
            ax.plot(tau, phi[i] * w[i], ".", color=line.get_color(), markersize=3)
    ax.set_xlabel("input position tau")
    ax.set_ylabel("focus phi" + (" (lines), phi*w (dots)" if w is not None else ""))
    ax.legend(fontsize="small", ncol=2)
    return fig


def focus_2d(focus: Any, grid: Tuple[int, int], neurons: Optional[Sequence[int]] = None, cols: int = 4) -> Any:
    """Foci of a 2-D focusing layer projected on the image grid, one panel per neuron."""
    plt = _pyplot()
    phi = _focus_matrix(focus)
    h, w = int(grid[0]), int(grid[1])
    if h * w != phi.shape[1]:
        raise ValueError(f"grid {grid} has {h * w} positions but the focus has {phi.shape[1]} inputs")
    idx = _neuron_indices(neurons, phi.shape[0], 8)
    cols = max(1, min(int(cols), len(idx)))
    rows = math.ceil(len(idx) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(idx):
            ax.axis("off")
            continue
        ax.imshow(phi[idx[k]].reshape(h, w), cmap="viridis")
        ax.set_title(f"neuron {idx[k]}", fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def parameter_trajectories(recorder: Any, name: str, neurons: Optional[Sequence[int]] = None, ax: Any = None) -> Any:
    """Per-neuron values of a recorded parameter over epochs (Fig. 2c: mu and sigma while training).

    ``recorder`` is a :class:`bionn.callbacks.ParameterRecorder` (or a mapping name -> list of arrays).
    """
    _pyplot()
    records = recorder.records if hasattr(recorder, "records") else recorder
    if name not in records:
        raise KeyError(f"no recorded parameter {name!r}; recorded: {sorted(records)}")
    values = np.stack([np.asarray(v, dtype=np.float64).ravel() for v in records[name]])
    idx = _neuron_indices(neurons, values.shape[1], 16)
    fig, ax = _figure_and_ax(ax, (6, 4))
    ax.plot(np.arange(values.shape[0]), values[:, idx])
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    return fig


def value_histogram(values: Any, bins: int = 30, label: str = "value", ax: Any = None) -> Any:
    """Histogram of parameter values, e.g. the learned apertures sigma (Fig. 7)."""
    _pyplot()
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError("values must be non-empty and finite")
    fig, ax = _figure_and_ax(ax, (5, 3.5))
    ax.hist(v, bins=int(bins))
    ax.set_xlabel(label)
    ax.set_ylabel("count")
    return fig


def accuracy_vs_sparsity(curves: Mapping[str, Tuple[Sequence[float], Sequence[float]]], ax: Any = None) -> Any:
    """Accuracy against the fraction of pruned weights, one line per model (Fig. 9b).

    ``curves`` maps a label to ``(sparsities, accuracies)``.
    """
    _pyplot()
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping label -> (sparsities, accuracies)")
    fig, ax = _figure_and_ax(ax, (5, 3.5))
    for label, (sp, acc) in curves.items():
        sp, acc = np.asarray(sp, dtype=np.float64), np.asarray(acc, dtype=np.float64)
        if sp.shape != acc.shape or sp.ndim != 1:
            raise ValueError(f"curve {label!r}: sparsities and accuracies must be 1-D of equal length")
        ax.plot(sp, acc, marker="o", label=str(label))
    ax.set_xlabel("sparsity (fraction of weights pruned)")
    ax.set_ylabel("accuracy")
    ax.legend()
    return fig
