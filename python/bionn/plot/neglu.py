"""Plots for the NegLU / MixLU thesis (chapter 4); re-exported by :mod:`bionn.plot`.

* :func:`mixlu_error_curves`: training (solid) and test (dotted) error per epoch, one panel per
  NegLU fraction, as the thesis's Fig. 12 (MNIST) and Fig. 13 (CIFAR-10).
* :func:`mixlu_gap`: final test error, training error and their gap against the NegLU fraction
  (Tables 7 and 10 as a plot), with the paper's values when given.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

from ._base import _figure_and_ax, _pyplot

__all__ = ["mixlu_error_curves", "mixlu_gap"]


def _records(results: Any, key: str) -> list:
    """Rows as dicts from a DataFrame (``table67_sweep`` / ``cifar_sweep``) or a list of dicts."""
    if hasattr(results, "to_dict") and hasattr(results, "columns"):
        rows = results.to_dict("records")
    elif isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        rows = list(results)
    else:
        raise TypeError(f"results must be a DataFrame or a list of dicts, got {type(results).__name__}")
    if not rows:
        raise ValueError("results is empty")
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping) or key not in r:
            raise ValueError(f"results row {i} has no {key!r} entry")
    return rows


def mixlu_error_curves(
    results: Any,
    key: str = "fraction",
    ncols: int = 3,
    accuracy: bool = False,
    figsize: Optional[Tuple[float, float]] = None,
    title: Optional[str] = None,
) -> Any:
    """Per-epoch training (solid) and test (dotted) error, one panel per value of ``key`` (Fig. 12-13).

    Parameters
    ----------
    results : DataFrame or list of dict
        Rows with ``key`` (e.g. ``fraction``), ``train_curve`` and ``test_curve`` (percent error per
        epoch), as returned by :func:`bionn.papers.neglu.table67_sweep`; several seeds per value are
        drawn as thin lines with their mean in bold.
    key : str
        Column that defines the panels.
    ncols : int
        Panels per row.
    accuracy : bool
        Plot 100 - error (the thesis plots CIFAR-10 as accuracy).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _records(results, key)
    for i, r in enumerate(rows):
        if "train_curve" not in r or "test_curve" not in r:
            raise ValueError(f"results row {i} needs train_curve and test_curve")
    if not isinstance(ncols, (int, np.integer)) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    values = sorted({r[key] for r in rows}, key=lambda v: (isinstance(v, str), v))
    ncols = min(int(ncols), len(values))
    nrows = -(-len(values) // ncols)
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (3.6 * ncols, 2.8 * nrows), squeeze=False, sharey=True)
    label = "accuracy (%)" if accuracy else "error (%)"
    for ax, v in zip(axes.ravel(), values):
        group = [r for r in rows if r[key] == v]
        for name, style, color in (("train_curve", "-", "C0"), ("test_curve", ":", "C3")):
            curves = [np.asarray(r[name], dtype=float) for r in group]
            n = min(len(c) for c in curves)
            stack = np.stack([c[:n] for c in curves])
            if accuracy:
                stack = 100.0 - stack
            epochs = np.arange(1, n + 1)
            if len(curves) > 1:
                for c in stack:
                    ax.plot(epochs, c, style, color=color, lw=0.6, alpha=0.4)
            ax.plot(
                epochs,
                stack.mean(axis=0),
                style,
                color=color,
                lw=2,
                label=("training" if name == "train_curve" else "test"),
            )
        shown = f"{100 * v:g} % NegLU" if key == "fraction" and isinstance(v, (float, int)) else f"{key} = {v}"
        ax.set_title(shown)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(values) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(label)
    axes.ravel()[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def mixlu_gap(
    results: Any,
    paper: Optional[Mapping[float, Tuple[float, float]]] = None,
    ax: Any = None,
    accuracy: bool = False,
    figsize: Tuple[float, float] = (5.0, 3.5),
) -> Any:
    """Final test error, training error and gap (test - train) against the NegLU fraction.

    Parameters
    ----------
    results : DataFrame or list of dict
        Rows with ``fraction``, ``test_error`` and ``train_error`` in percent (means over seeds
        are plotted, single seeds as dots).
    paper : mapping, optional
        ``{percent NegLU: (test, train)}`` from the thesis (Tables 6-7 errors or 9-10 accuracies,
        then set ``accuracy``), drawn as open markers.
    accuracy : bool
        Plot accuracies (100 - error), as the thesis does for CIFAR-10.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = _records(results, "fraction")
    for i, r in enumerate(rows):
        if "test_error" not in r or "train_error" not in r:
            raise ValueError(f"results row {i} needs test_error and train_error")
    fig, ax = _figure_and_ax(ax, figsize)
    fr = np.array([100 * float(r["fraction"]) for r in rows])
    test = np.array([float(r["test_error"]) for r in rows])
    train = np.array([float(r["train_error"]) for r in rows])
    if accuracy:
        test, train = 100 - test, 100 - train
    xs = np.unique(fr)
    for vals, name, color in ((test, "test", "C3"), (train, "training", "C0"), (test - train, "test - training", "k")):
        means = np.array([vals[fr == x].mean() for x in xs])
        ax.plot(xs, means, "o-", color=color, label=f"bionn {name}")
        ax.plot(fr, vals, ".", color=color, alpha=0.35)
    if paper:
        px = np.array(sorted(paper))
        pt = np.array([paper[k][0] for k in px])
        ptr = np.array([paper[k][1] for k in px])
        ax.plot(px, pt, "s--", mfc="none", color="C3", alpha=0.7, label="thesis test")
        ax.plot(px, ptr, "s--", mfc="none", color="C0", alpha=0.7, label="thesis training")
        ax.plot(px, pt - ptr, "s--", mfc="none", color="k", alpha=0.7, label="thesis gap")
    ax.set_xlabel("NegLU units (%)")
    ax.set_ylabel("accuracy (%)" if accuracy else "error (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
