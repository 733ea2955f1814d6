"""Plots for the amplifying paper (Fig. 4 and Fig. 6 style); re-exported by :mod:`bionn.plot`."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["regression_1d", "surface_2d"]


def regression_1d(
    x: Any,
    exact: Any,
    predictions: Sequence[Any],
    labels: Sequence[str],
    train_x: Optional[Any] = None,
    train_y: Optional[Any] = None,
) -> Any:
    """Fig. 4: exact solution vs network outputs (top) and their errors ``y - y_exact`` (bottom).

    Parameters
    ----------
    x, exact : 1-D arrays (the evaluation grid and exact values)
    predictions : sequence of 1-D arrays, one per network; labels : their names
    train_x, train_y : optional training points, drawn as dots

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    x = np.ravel(x)
    exact = np.ravel(exact)
    if len(predictions) != len(labels):
        raise ValueError(f"predictions ({len(predictions)}) and labels ({len(labels)}) differ in length")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(x, exact, "k-", lw=1.2, label="exact (Eq. 6)")
    if train_x is not None and train_y is not None:
        top.plot(np.ravel(train_x), np.ravel(train_y), "o", ms=3, color="0.5", label="training data")
    for pred, label in zip(predictions, labels):
        pred = np.ravel(pred)
        top.plot(x, pred, lw=1, label=label)
        bottom.plot(x, pred - exact, lw=1, label=label)
    top.set_ylabel("y")
    top.legend(loc="lower right", fontsize=8)
    bottom.axhline(0.0, color="k", lw=0.5)
    bottom.set_xlabel("x")
    bottom.set_ylabel("y - y_exact")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig


def surface_2d(
    grid_x: Any, exact: Any, predictions: Sequence[Any], labels: Sequence[str], train_x: Optional[Any] = None
) -> Any:
    """Fig. 6: network outputs (first row) and error maps ``y - y_exact`` (second row) on a square
    grid (``grid_x`` of shape (n*n, 2), x1 varying fastest), training points overlaid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    grid_x = np.asarray(grid_x)
    side = int(round(np.sqrt(grid_x.shape[0])))
    if side * side != grid_x.shape[0] or grid_x.ndim != 2 or grid_x.shape[1] != 2:
        raise ValueError(f"grid_x must be a square grid of shape (n*n, 2), got {grid_x.shape}")
    if len(predictions) != len(labels):
        raise ValueError(f"predictions ({len(predictions)}) and labels ({len(labels)}) differ in length")
    ext = [grid_x[:, 0].min(), grid_x[:, 0].max(), grid_x[:, 1].min(), grid_x[:, 1].max()]
    exact = np.ravel(exact).reshape(side, side)
    n = len(predictions)
    fig, axes = plt.subplots(2, n, figsize=(4.6 * n, 8), squeeze=False)
    errs = [np.ravel(p).reshape(side, side) - exact for p in predictions]
    lim = max(float(np.abs(e).max()) for e in errs)
    for i, (pred, err, label) in enumerate(zip(predictions, errs, labels)):
        im = axes[0, i].imshow(np.ravel(pred).reshape(side, side), origin="lower", extent=ext, cmap="viridis")
        axes[0, i].set_title(f"{label}: output y")
        fig.colorbar(im, ax=axes[0, i], shrink=0.8)
        im = axes[1, i].imshow(err, origin="lower", extent=ext, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, i].set_title(f"{label}: y - y_exact (MAE {np.abs(err).mean():.3f})")
        fig.colorbar(im, ax=axes[1, i], shrink=0.8)
        if train_x is not None:
            t = np.asarray(train_x)
            for row in (0, 1):
                axes[row, i].plot(t[:, 0], t[:, 1], ".", ms=2, color="k")
        worst = np.unravel_index(np.argmax(np.abs(err)), err.shape)
        axes[1, i].plot(
            grid_x[worst[0] * side + worst[1], 0], grid_x[worst[0] * side + worst[1], 1], "x", color="m", ms=10, mew=2
        )
        for row in (0, 1):
            axes[row, i].set_xlabel("x1")
            axes[row, i].set_ylabel("x2")
    fig.tight_layout()
    return fig
