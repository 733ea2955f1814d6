"""Plots of training runs, predictions, experiment sweeps and each paper's figures (matplotlib).

matplotlib is an optional dependency (``pip install bionn[plot]``); it is imported only when a
plotting function is called, so ``import bionn.plot`` works without it. Every function draws on
the Axes it is given (or on a new figure) and returns the :class:`matplotlib.figure.Figure`; none
calls ``plt.show()``. In a script choose a backend yourself (``matplotlib.use("Agg")`` to only
save files); Jupyter shows the returned figures inline.

Modules (all re-exported here): :mod:`~bionn.plot.training` (training curves, confusion matrix,
sweep summary), :mod:`~bionn.plot.focus` (the focusing paper's figures) and one module per paper
(:mod:`~bionn.plot.amplifying`, :mod:`~bionn.plot.flexible`, :mod:`~bionn.plot.corruptions`,
:mod:`~bionn.plot.neglu`, :mod:`~bionn.plot.selforg`). Each imports ``bionn.plot._base`` (the lazy
matplotlib import and Axes checks) and never this package.

Example
-------
>>> from bionn import plot
>>> fig = plot.training_curves(history)                        # doctest: +SKIP
>>> fig = plot.confusion_matrix(y_test, model.predict(X_test),  # doctest: +SKIP
...                             normalize="true", class_names=names)
>>> fig.savefig("confusion.png")                               # doctest: +SKIP
"""

from __future__ import annotations

from .amplifying import regression_1d, surface_2d
from .corruptions import bandpass_curves, corruption_curves
from .flexible import accuracy_vs_eps, threshold_maps
from .focus import accuracy_vs_sparsity, focus_2d, focus_curves, parameter_trajectories, value_histogram
from .neglu import mixlu_error_curves, mixlu_gap
from .selforg import selforg_entropy_accuracy, selforg_evolution, selforg_topology
from .training import compute_confusion_matrix, confusion_matrix, sweep_summary, training_curves

__all__ = [
    "training_curves",
    "confusion_matrix",
    "sweep_summary",
    "compute_confusion_matrix",
    "focus_curves",
    "focus_2d",
    "parameter_trajectories",
    "value_histogram",
    "accuracy_vs_sparsity",
    "regression_1d",
    "surface_2d",
    "threshold_maps",
    "accuracy_vs_eps",
    "corruption_curves",
    "bandpass_curves",
    "mixlu_error_curves",
    "mixlu_gap",
    "selforg_topology",
    "selforg_evolution",
    "selforg_entropy_accuracy",
]
