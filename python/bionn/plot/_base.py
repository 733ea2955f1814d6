"""The bottom of :mod:`bionn.plot`: lazy matplotlib import with an install hint, Axes checks.

Every plot module imports from here; this module imports no other part of :mod:`bionn.plot`, and
imports matplotlib only when :func:`_pyplot` is called (so ``import bionn.plot`` works without it).
"""

from __future__ import annotations

from typing import Any, Tuple

_INSTALL_HINT = (
    "bionn.plot needs matplotlib, an optional dependency of bionn; install it with "
    "`pip install bionn[plot]` (or `pip install matplotlib`)"
)


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _check_ax(ax: Any, name: str = "ax") -> None:
    plt = _pyplot()
    if not isinstance(ax, plt.Axes):
        raise TypeError(f"{name} must be a matplotlib Axes, got {type(ax).__name__}")


def _figure_and_ax(ax: Any, figsize: Tuple[float, float]) -> Tuple[Any, Any]:
    """The given Axes and its figure, or a new figure of ``figsize`` with one Axes."""
    if ax is None:
        return _pyplot().subplots(figsize=figsize)
    _check_ax(ax)
    return ax.figure, ax
