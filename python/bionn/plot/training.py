"""Plots of training runs, predictions and experiment sweeps: :func:`training_curves`,
:func:`confusion_matrix`, :func:`sweep_summary`; re-exported by :mod:`bionn.plot`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..metrics import confusion_matrix as compute_confusion_matrix
from ._base import _check_ax, _figure_and_ax, _pyplot

__all__ = ["training_curves", "confusion_matrix", "sweep_summary", "compute_confusion_matrix"]


# ---------------------------------------------------------------------------------------------
# training curves
# ---------------------------------------------------------------------------------------------
def _history_data(history: Any) -> Tuple[Dict[str, List[float]], Optional[List[int]]]:
    """(metric -> values, epoch numbers or None) from a History, a mapping or a DataFrame."""
    epochs: Optional[List[int]] = None
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        data = history.history
        ep = getattr(history, "epoch", None)
        epochs = list(ep) if ep is not None and len(ep) else None
    elif isinstance(history, Mapping):
        data = history
    elif hasattr(history, "columns") and hasattr(history, "index"):  # a pandas DataFrame
        data = {str(c): history[c].tolist() for c in history.columns}
        epochs = [int(e) for e in history.index] if np.asarray(history.index).dtype.kind in "iu" else None
    else:
        raise TypeError(
            f"history must be a bionn History, a dict of per-epoch lists or a DataFrame, got {type(history).__name__}"
        )
    out: Dict[str, List[float]] = {}
    for key, values in data.items():
        if isinstance(values, (str, bytes)):
            raise ValueError(f"history[{key!r}] must be a sequence of numbers, got a string")
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.dtype.kind not in "biuf":
            raise ValueError(f"history[{key!r}] must be a 1-D sequence of numbers, got {values!r:.80}")
        out[str(key)] = arr.astype(np.float64).tolist()
    if not out or not any(len(v) for v in out.values()):
        raise ValueError("history is empty: no metric has any epoch recorded")
    return out, epochs


def _default_metrics(data: Mapping[str, Any]) -> List[str]:
    bases = []
    for key in data:
        base = key[4:] if key.startswith("val_") else key
        if base not in bases:
            bases.append(base)
    preferred = [m for m in ("loss", "accuracy") if m in bases]
    if preferred:
        return preferred
    return [b for b in bases if b != "lr"] or bases


def training_curves(history: Any, metrics: Optional[Union[str, Sequence[str]]] = None, ax: Any = None) -> Any:
    """Per-epoch curves of a training run, train against validation.

    Parameters
    ----------
    history : bionn.nn.History, dict of lists, or DataFrame
        What :meth:`bionn.nn.Sequential.fit` returns, its ``.history`` dict (Keras style keys
        ``loss``, ``val_loss``, ...) or ``History.to_dataframe()``.
    metrics : str or sequence of str, optional
        Base metric names (``"loss"``, ``"accuracy"``, ``"lr"``; a ``val_`` prefix is ignored).
        Default: ``loss`` and ``accuracy`` when recorded, else every recorded metric.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes per metric; by default a new figure with the metrics side by side.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per metric, each with a "train" line and, when recorded, a "validation" line.
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    data, epochs = _history_data(history)
    if metrics is None:
        names = _default_metrics(data)
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        if not names:
            raise ValueError("metrics must name at least one metric")
        names = [m[4:] if isinstance(m, str) and m.startswith("val_") else m for m in names]
        available = sorted({k[4:] if k.startswith("val_") else k for k in data})
        for m in names:
            if not isinstance(m, str):
                raise TypeError(f"metric names must be strings, got {type(m).__name__}")
            if m not in data and "val_" + m not in data:
                raise ValueError(f"metric {m!r} is not in the history; recorded: {available}")
        names = list(dict.fromkeys(names))
    if ax is None:
        fig, axes = plt.subplots(1, len(names), figsize=(4.8 * len(names), 3.6), squeeze=False)
        axes = list(axes[0])
    else:
        axes = [ax] if not isinstance(ax, (list, tuple, np.ndarray)) else list(np.ravel(ax))
        if len(axes) != len(names):
            raise ValueError(f"got {len(axes)} Axes for {len(names)} metrics {names}; pass one Axes per metric")
        for a in axes:
            _check_ax(a)
        fig = axes[0].figure
    for a, name in zip(axes, names):
        for key, label, style in ((name, "train", "-"), ("val_" + name, "validation", "--")):
            values = data.get(key)
            if not values:
                continue
            x = epochs if epochs is not None and len(epochs) == len(values) else list(range(1, len(values) + 1))
            a.plot(x, values, style, marker="o", markersize=3, label=label)
        a.set_title(name)
        a.set_xlabel("epoch")
        a.set_ylabel(name)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(True, alpha=0.3)
        a.legend()
    if ax is None:
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# confusion matrix
# ---------------------------------------------------------------------------------------------
def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    num_classes: Optional[int] = None,
    normalize: Optional[str] = None,
    class_names: Optional[Sequence[str]] = None,
    ax: Any = None,
    cmap: str = "Blues",
    annotate: Optional[bool] = None,
) -> Any:
    """Heat map of the confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    y_pred : array-like, (N,) predicted labels or (N, C) logits/scores (arg-max is taken)
    num_classes : int, optional
        Defaults to ``len(class_names)`` when given, else the largest label + 1.
    normalize : {None, "true", "pred", "all"}
        As in :func:`bionn.metrics.confusion_matrix`; "true" shows per-class recall.
    class_names : sequence of str, optional
        Tick labels, one per class.
    ax : matplotlib Axes, optional
    cmap : str
    annotate : bool, optional
        Write each cell's value; default when there are at most 20 classes.

    Returns
    -------
    matplotlib.figure.Figure
        The heat-map Axes and a colour-bar Axes. The overall accuracy is in the title.
    """
    plt = _pyplot()
    if class_names is not None:
        if isinstance(class_names, (str, bytes)):
            raise ValueError("class_names must be a sequence of names, not a single string")
        class_names = [str(c) for c in class_names]
        if num_classes is None:
            num_classes = len(class_names)
    counts = compute_confusion_matrix(y_true, y_pred, num_classes)
    k = counts.shape[0]
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names but there are {k} classes")
    matrix = compute_confusion_matrix(y_true, y_pred, k, normalize=normalize)
    owns_figure = ax is None
    if ax is None:
        side = min(max(4.0, 0.55 * k + 2.5), 14.0)
        fig, ax = plt.subplots(figsize=(side + 1.0, side))
    else:
        _check_ax(ax)
        fig = ax.figure
    vmax = 1.0 if normalize else max(int(matrix.max()), 1)
    image = ax.imshow(matrix, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(k)
    labels = class_names if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    if class_names is not None:
        ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels(labels)
    ax.set_yticklabels(labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = float(np.trace(counts)) / float(counts.sum())
    title = f"confusion matrix (accuracy {acc:.3f})"
    if normalize:
        title += (
            "\n"
            + {
                "true": "rows (true classes) sum to 1",
                "pred": "columns (predictions) sum to 1",
                "all": "normalized over all samples",
            }[normalize]
        )
    ax.set_title(title)
    if annotate is None:
        annotate = k <= 20
    if annotate:
        fmt = "{:.2f}" if normalize else "{:d}"
        for i in range(k):
            for j in range(k):
                value = matrix[i, j]
                text = fmt.format(float(value) if normalize else int(value))
                color = "white" if value > 0.5 * vmax else "black"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8 if k > 10 else 10)
    if owns_figure:
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# experiment sweeps
# ---------------------------------------------------------------------------------------------
def _group_label(key: Any, by: List[str]) -> str:
    if len(by) == 1:
        return str(key[0] if isinstance(key, tuple) else key)
    return ", ".join(f"{b}={v}" for b, v in zip(by, key))


def sweep_summary(
    df: Any,
    metric: str,
    by: Union[str, Sequence[str]],
    kind: str = "box",
    ax: Any = None,
    show_points: bool = True,
    error: str = "std",
) -> Any:
    """A metric per configuration over repeated runs (seeds), e.g. the DataFrame of
    :func:`bionn.experiments.repeat`: one row per run, a column for the metric.

    Parameters
    ----------
    df : pandas.DataFrame
    metric : str
        Numeric column to summarise (e.g. ``"test_accuracy"``).
    by : str or sequence of str
        Column(s) naming the configuration; groups keep their order of first appearance.
    kind : {"box", "bar"}
        Box plot per group (green triangle: mean), or a bar of the mean with an error bar (the
        y axis is zoomed to the data so that close configurations stay distinguishable).
    ax : matplotlib Axes, optional
    show_points : bool
        Overlay the individual runs (black dots, jittered horizontally; their lines have gid "runs").
    error : {"std", "sem"}
        Error bar of ``kind="bar"``: standard deviation or standard error of the mean.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _pyplot()  # without matplotlib: the install hint before any argument error
    if not (hasattr(df, "columns") and hasattr(df, "groupby")):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if kind not in ("box", "bar"):
        raise ValueError(f"kind must be 'box' or 'bar', got {kind!r}")
    if error not in ("std", "sem"):
        raise ValueError(f"error must be 'std' or 'sem', got {error!r}")
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise ValueError("by must name at least one column")
    columns = [str(c) for c in df.columns]
    for col in [metric] + by_cols:
        if col not in df.columns:
            raise ValueError(f"column {col!r} is not in the DataFrame; columns: {columns}")
    if len(df) == 0:
        raise ValueError("df has no rows")
    values = df[metric]
    if np.asarray(values).dtype.kind not in "biuf":
        raise ValueError(f"column {metric!r} must be numeric, got dtype {values.dtype}")
    groups: List[Tuple[str, np.ndarray]] = []
    for key, sub in df.groupby(by_cols, sort=False, dropna=False):
        vals = np.asarray(sub[metric], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        groups.append((_group_label(key, by_cols), vals))
    if not any(len(v) for _, v in groups):
        raise ValueError(f"column {metric!r} has no finite value")
    owns_figure = ax is None
    fig, ax = _figure_and_ax(ax, (max(4.0, 1.2 * len(groups) + 1.5), 4.0))
    positions = np.arange(1, len(groups) + 1)
    labels = [g[0] for g in groups]
    data = [g[1] for g in groups]
    if kind == "box":
        ax.boxplot([d if len(d) else [np.nan] for d in data], positions=positions, widths=0.5, showmeans=True)
    else:
        means = np.array([d.mean() if len(d) else np.nan for d in data])
        errs = []
        for d in data:
            if len(d) < 2:
                errs.append(0.0)
            else:
                sd = float(d.std(ddof=1))
                errs.append(sd if error == "std" else sd / math.sqrt(len(d)))
        ax.bar(positions, means, width=0.6, yerr=errs, capsize=4, alpha=0.7, color="C0", label=f"mean ± {error}")
        finite = means[np.isfinite(means)]
        if finite.size:  # bars of accuracies near 1 would otherwise all look the same
            lo = min(
                float(np.min(finite - np.asarray(errs)[np.isfinite(means)])),
                min(float(d.min()) for d in data if len(d)),
            )
            hi = max(
                float(np.max(finite + np.asarray(errs)[np.isfinite(means)])),
                max(float(d.max()) for d in data if len(d)),
            )
            pad = 0.15 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
            ax.set_ylim(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)
    if show_points:
        rng = np.random.default_rng(0)
        for pos, d in zip(positions, data):
            if len(d):
                jitter = rng.uniform(-0.08, 0.08, size=len(d))
                ax.plot(pos + jitter, d, "o", color="k", alpha=0.6, markersize=4, zorder=3, gid="runs")
    ax.set_xticks(positions)
    long_labels = max(len(l) for l in labels) > 10
    if long_labels:
        ax.set_xticklabels(labels, rotation=30, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticklabels(labels)
    ax.set_xlabel(" / ".join(by_cols))
    ax.set_ylabel(metric)
    counts = sorted({len(d) for d in data})
    runs = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    plural = "run" if counts == [1] else "runs"
    ax.set_title(f"{metric} by {' / '.join(by_cols)} ({runs} {plural} each)")
    ax.grid(True, axis="y", alpha=0.3)
    if owns_figure:
        fig.tight_layout()
    return fig
