"""Reproduction harness: repeated runs over seeds and configs, statistics, and a registry of paper claims.

Running experiments (:mod:`bionn.experiments.sweep`)
----------------------------------------------------
:func:`repeat` runs ``fn(seed=seed, **config)`` for every config and seed (serially, in worker
processes or on a Dask cluster) and collects the metrics into a pandas DataFrame; :func:`grid`
builds configs. See the module for the backends and the threading rule.

Run records (:mod:`bionn.experiments.records`)
----------------------------------------------
:class:`RunStore` keeps one JSON record per run ``(paper, experiment, config, seed)``;
``repeat(..., store=RunStore(...), paper=..., experiment=...)`` skips runs already recorded and
records each run as it finishes, so long protocols resume. :func:`default_store` is
``$BIONN_RESULTS``, ``<repo>/results`` in a source checkout, else ``~/.cache/bionn/results``.

Statistics (:mod:`bionn.experiments.stats`)
-------------------------------------------
:func:`summarize`, :func:`ttest`, :func:`wilcoxon` and :func:`pearson` (scipy, imported lazily).

Claims (:mod:`bionn.experiments.registry`)
------------------------------------------
A :class:`Claim` is one checkable statement of a paper ("MLP beats a linear model, p < 0.05";
"test accuracy >= 0.98"). Its ``compute(mode)`` function really trains the models and returns bionn's
value; :func:`run_claims` computes a paper's claims and compares each with the paper's value.
Paper modules in :mod:`bionn.papers` import this package and register their claims with
:func:`register_claim` when imported; ``import bionn`` imports :mod:`bionn.papers` after this
package, so :func:`claims` and :func:`run_claims` see them. This package never imports
:mod:`bionn.papers`.

"""

from __future__ import annotations

from .records import RunStore, default_store
from .registry import (
    COMPARISONS,
    MODES,
    Claim,
    ClaimSkipped,
    claims,
    evaluate_claim,
    get_claim,
    papers,
    register_claim,
    run_claims,
    unregister_claim,
)
from .stats import TestResult, pearson, summarize, ttest, wilcoxon
from .sweep import BACKENDS, RunError, grid, repeat

__all__ = [
    "repeat",
    "grid",
    "RunError",
    "BACKENDS",
    "RunStore",
    "default_store",
    "summarize",
    "TestResult",
    "ttest",
    "wilcoxon",
    "pearson",
    "Claim",
    "register_claim",
    "unregister_claim",
    "claims",
    "get_claim",
    "papers",
    "run_claims",
    "evaluate_claim",
    "ClaimSkipped",
    "COMPARISONS",
    "MODES",
]
