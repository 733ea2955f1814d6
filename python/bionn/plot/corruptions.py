"""Plots for corruptions and Fourier band-pass analysis; re-exported by :mod:`bionn.plot`.

Both functions take the tables of :func:`bionn.corruptions.evaluate_corruptions` and
:func:`bionn.corruptions.evaluate_bandpass` (pandas DataFrames or lists of dicts), one per model,
in a mapping ``{"baseline": table, "flexible": table, ...}`` (or a single table).

Example
-------
>>> from bionn import corruptions, plot
>>> tables = {name: corruptions.evaluate_corruptions(m, X, y) for name, m in models.items()}  # doctest: +SKIP
>>> fig = plot.corruption_curves(tables)                                                   # doctest: +SKIP
>>> fig = plot.bandpass_curves({name: corruptions.evaluate_bandpass(m, X, y, range(20), 2)  # doctest: +SKIP
...                             for name, m in models.items()})
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._base import _figure_and_ax, _pyplot

__all__ = ["corruption_curves", "bandpass_curves"]


def _records(table: Any, label: str, required: Sequence[str]) -> List[Dict[str, Any]]:
    """Rows of an evaluation table (a DataFrame or a list of dicts) as dicts, checked."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        rows = table.to_dict("records")
    elif isinstance(table, (list, tuple)) and all(isinstance(r, Mapping) for r in table):
        rows = [dict(r) for r in table]
    else:
        raise TypeError(f"results[{label!r}] must be a pandas DataFrame or a list of dicts, got {type(table).__name__}")
    if not rows:
        raise ValueError(f"results[{label!r}] is empty")
    missing = [k for k in required if k not in rows[0]]
    if missing:
        raise ValueError(
            f"results[{label!r}] lacks the column(s) {missing}; expected the table of "
            f"bionn.corruptions ({', '.join(required)})"
        )
    return rows


def _per_model(results: Any, required: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
    if isinstance(results, Mapping):
        if not results:
            raise ValueError("results must contain at least one model")
        return {str(label): _records(table, str(label), required) for label, table in results.items()}
    return {"model": _records(results, "model", required)}


def corruption_curves(
    results: Any,
    names: Optional[Sequence[str]] = None,
    *,
    average: bool = True,
    ncols: int = 4,
    figsize: Optional[Tuple[float, float]] = None,
) -> Any:
    """Accuracy vs severity, one panel per corruption family and one line per model.

    Parameters
    ----------
    results : mapping of str to table, or one table
        Tables returned by :func:`bionn.corruptions.evaluate_corruptions` (columns
        ``corruption``, ``severity``, ``accuracy``), keyed by model name.
    names : sequence of str, optional
        Families to draw (default: every family in the first table, in its order).
    average : bool
        Add a last panel with the mean accuracy over the drawn families per severity (the
        paper's Fig. 5A averages over families).
    ncols : int
        Panels per row.
    figsize : (float, float), optional
        Default: 3 x 2.4 inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tables = _per_model(results, ("corruption", "severity", "accuracy"))
    if names is None:
        names = list(dict.fromkeys(r["corruption"] for r in next(iter(tables.values()))))
    else:
        names = [str(n) for n in names]
        if not names:
            raise ValueError("names must contain at least one corruption family")
    for label, rows in tables.items():
        present = {r["corruption"] for r in rows}
        absent = [n for n in names if n not in present]
        if absent:
            raise ValueError(f"results[{label!r}] has no rows for {absent}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    panels = names + (["mean over families"] if average else [])
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (3.0 * ncols, 2.4 * nrows), squeeze=False, sharey=True)
    flat = axes.ravel()
    for ax, panel in zip(flat, panels):
        for label, rows in tables.items():
            if panel == "mean over families":
                by_severity: Dict[int, List[float]] = {}
                for r in rows:
                    if r["corruption"] in names:
                        by_severity.setdefault(int(r["severity"]), []).append(float(r["accuracy"]))
                xs = sorted(by_severity)
                ys = [sum(by_severity[s]) / len(by_severity[s]) for s in xs]
            else:
                points = sorted((int(r["severity"]), float(r["accuracy"])) for r in rows if r["corruption"] == panel)
                xs, ys = [p[0] for p in points], [p[1] for p in points]
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_title(panel.replace("_", " "), fontsize="medium")
        ax.set_xlabel("severity")
        ax.set_xticks(range(0, 6))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    for ax in flat[len(panels) :]:
        ax.set_visible(False)
    if len(tables) > 1:
        flat[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def bandpass_curves(
    results: Any, *, ax: Any = None, figsize: Tuple[float, float] = (5.0, 3.5), chance: Optional[float] = None
) -> Any:
    """Accuracy vs centre frequency of the Gaussian band-pass filter, one line per model
    (the paper's Fig. 5C).

    Parameters
    ----------
    results : mapping of str to table, or one table
        Tables returned by :func:`bionn.corruptions.evaluate_bandpass` (columns ``center``,
        ``accuracy`` and optionally ``units``, ``bandwidth``), keyed by model name.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    figsize : (float, float)
        Size of a new figure.
    chance : float, optional
        Draw a dashed line at this accuracy (e.g. 0.1 for ten balanced classes).

    Returns
    -------
    matplotlib.figure.Figure
    """
    tables = _per_model(results, ("center", "accuracy"))
    fig, ax = _figure_and_ax(ax, figsize)
    units = None
    bandwidth = None
    for label, rows in tables.items():
        points = sorted((float(r["center"]), float(r["accuracy"])) for r in rows)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=label)
        units = units or rows[0].get("units")
        bandwidth = bandwidth or rows[0].get("bandwidth")
    if chance is not None:
        ax.axhline(float(chance), color="gray", linestyle="--", linewidth=1, label="chance")
    unit_text = {"cycles": "cycles per image", "normalized": "cycles per pixel"}.get(units, units or "")
    ax.set_xlabel(f"band-pass centre frequency ({unit_text})" if unit_text else "band-pass centre frequency")
    ax.set_ylabel("accuracy")
    if bandwidth is not None:
        ax.set_title(f"Gaussian band-pass, FWHM {float(bandwidth):g}", fontsize="medium")
    ax.grid(alpha=0.3)
    if len(tables) > 1 or chance is not None:
        ax.legend(fontsize="small")
    return fig
