"""Plots for the flexible-layer paper; re-exported by :mod:`bionn.plot`.

* :func:`threshold_maps` — the threshold tensor T (or the max-pooling mask of one input) of a
  :class:`bionn.nn.FlexibleConv2d`, one map per output channel.
* :func:`accuracy_vs_eps` — accuracy under attack against the perturbation size ε, one line per
  network, mean ± SEM over seeds (the paper's Fig. 4D).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional, Sequence

import numpy as np

from ._base import _figure_and_ax, _pyplot

__all__ = ["threshold_maps", "accuracy_vs_eps"]


def threshold_maps(
    source: Any,
    channels: Optional[Sequence[int]] = None,
    ncols: int = 6,
    cmap: str = "viridis",
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    title: Optional[str] = None,
) -> Any:
    """One image per output channel of a flexible layer's threshold tensor T, or of any
    (C, H, W) array (e.g. ``layer.mask()[0]``, the max-pooling share of one input).

    Parameters
    ----------
    source : FlexibleConv2d or array-like (C, H, W)
        A layer in learned, reverse or uniform mode (its ``threshold``), or the maps themselves.
    channels : sequence of int, optional
        Channels to show (default: all).
    ncols : int
        Maps per row.
    vmin, vmax : float, optional
        Shared colour scale (default: the range of the shown maps).

    Returns
    -------
    matplotlib.figure.Figure
    """
    maps = np.asarray(
        source.threshold if hasattr(source, "threshold") and hasattr(source, "mask") else source, dtype=np.float64
    )
    if maps.ndim != 3:
        raise ValueError(f"threshold_maps needs (C, H, W) maps, got shape {maps.shape}")
    if not np.isfinite(maps).all():
        raise ValueError("threshold_maps: the maps contain NaN or Inf (a baseline layer has T = -inf)")
    chosen = list(range(maps.shape[0])) if channels is None else [int(c) for c in channels]
    if not chosen or any(not 0 <= c < maps.shape[0] for c in chosen):
        raise ValueError(f"channels must be a non-empty list of indices below {maps.shape[0]}, got {channels!r}")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    ncols = min(int(ncols), len(chosen))
    nrows = math.ceil(len(chosen) / ncols)
    lo = float(maps[chosen].min()) if vmin is None else float(vmin)
    hi = float(maps[chosen].max()) if vmax is None else float(vmax)
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols + 0.8, 1.6 * nrows + 0.4), squeeze=False)
    image = None
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(chosen):
            ax.axis("off")
            continue
        image = ax.imshow(maps[chosen[k]], cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(f"ch {chosen[k]}", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def _curve(values: Any, name: str) -> tuple:
    """(eps, mean, sem) from {eps: acc} or a list of such dicts (one per seed)."""
    runs = [values] if isinstance(values, Mapping) else list(values)
    if not runs or not all(isinstance(r, Mapping) and r for r in runs):
        raise ValueError(f"results[{name!r}] must be a non-empty {{eps: accuracy}} dict or a list of them")
    eps = sorted({float(e) for r in runs for e in r})
    table = np.array([[float(r.get(e, r.get(str(e), np.nan))) for e in eps] for r in runs], dtype=np.float64)
    mean = np.nanmean(table, axis=0)
    counts = np.sum(np.isfinite(table), axis=0)
    sem = np.where(counts > 1, np.nanstd(table, axis=0, ddof=min(1, len(runs) - 1)) / np.sqrt(np.maximum(counts, 1)), 0)
    return np.array(eps), mean, sem


def accuracy_vs_eps(
    results: Mapping, ax: Any = None, title: Optional[str] = None, ylabel: str = "accuracy under attack"
) -> Any:
    """Accuracy against the perturbation size ε, one line per network (mean ± SEM over seeds).

    Parameters
    ----------
    results : mapping
        ``{label: {eps: accuracy}}`` (one run, e.g. from :func:`bionn.attacks.evaluate_robustness`)
        or ``{label: [{eps: accuracy}, ...]}`` (one dict per seed; error bars show the SEM).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping {label: {eps: accuracy}}")
    fig, ax = _figure_and_ax(ax, (5.0, 3.6))
    for label, values in results.items():
        eps, mean, sem = _curve(values, str(label))
        ax.errorbar(eps, mean, yerr=sem, marker="o", capsize=3, label=str(label))
    ax.set_xlabel("ε")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig
