"""Reproduction harness: repeated runs over seeds and configs, statistics, and a registry of paper claims.

Running experiments (:mod:`bionn.experiments.sweep`)
----------------------------------------------------
:func:`repeat` calls ``fn(seed=seed, **config)`` for every config and seed and collects the dicts of
metrics that ``fn`` returns into a pandas DataFrame, one row per run::

    from bionn.experiments import repeat, summarize, ttest

    def train(seed, hidden=32, epochs=20):
        ...                                   # build a bionn model seeded with `seed`, fit it
        return {"test_accuracy": acc}

    df = repeat(train, seeds=range(5), configs=[{"hidden": 8}, {"hidden": 32}], backend="processes")
    summarize(df, "test_accuracy", by=["hidden"])

Backends: ``"serial"`` (in this process), ``"processes"`` (a spawn-context
:class:`~concurrent.futures.ProcessPoolExecutor`; ``fn`` must be picklable, i.e. defined at module
level of an importable module) and ``"dask"`` (a ``dask.distributed`` cluster: an existing one at
``address`` or a temporary :class:`~distributed.LocalCluster` on loopback).

Threads: the C++ core parallelises its kernels with OpenMP. Many runs in parallel, each using every
core, would oversubscribe the machine, so in the parallel backends every run first calls
``bionn.set_num_threads(1)`` in its worker process. The serial backend leaves the thread count as it
is. bionn's results are reproducible for a given thread count; for bit-identical numbers across
backends call ``bionn.set_num_threads(1)`` before a serial run too.

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

from .sweep import BACKENDS, RunError, grid, repeat
from .stats import TestResult, pearson, summarize, ttest, wilcoxon
from .registry import (COMPARISONS, MODES, Claim, ClaimSkipped, claims, evaluate_claim, get_claim, papers,
                       register_claim, run_claims, unregister_claim)

__all__ = [
    "repeat", "grid", "RunError", "BACKENDS",
    "summarize", "TestResult", "ttest", "wilcoxon", "pearson",
    "Claim", "register_claim", "unregister_claim", "claims", "get_claim", "papers", "run_claims",
    "evaluate_claim", "ClaimSkipped", "COMPARISONS", "MODES",
]
