"""Reproduction harness: repeated runs, run records, statistics, and the ledger of paper claims.

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
``$BIONN_RESULTS``, ``<checkout>/results`` in a source checkout, else ``~/.cache/bionn/results``.

Statistics (:mod:`bionn.experiments.stats`)
-------------------------------------------
:func:`summarize`, and the tests :func:`ttest`, :func:`paired_ttest`, :func:`wilcoxon`,
:func:`mannwhitney`, :func:`pearson`, :func:`spearman` (scipy, imported lazily).

The claims ledger (``registry``, ``criteria``, ``ledger``, ``report``)
----------------------------------------------------------------------
An :class:`Experiment` is a paper's training protocol (run function, configs, seeds, what quick
mode cuts, declared deviations); a :class:`Claim` is the paper's statement with its
:class:`Criterion` (the paper's test, alpha, repeats, magnitude), fixed before any run.
:func:`reproduce` runs the missing records and :func:`assess` computes verdicts from records only
(REPRODUCED, NOT REPRODUCED, PARTIAL, SKIPPED, ERROR); :func:`write_reports` renders
``results/<paper>.md`` and the README table. Paper modules in :mod:`bionn.papers` register their
experiments and claims when imported; this package never imports them.
"""

from __future__ import annotations

from .criteria import AllOf, ClaimData, Compare, Correlation, Criterion, Custom, Evidence, Group, Level, NoDifference
from .ledger import VERDICTS, assess, reproduce
from .records import RunStore, default_store
from .registry import (
    MODES,
    Claim,
    ClaimSkipped,
    Experiment,
    Quick,
    Section,
    claims,
    experiments,
    get_claim,
    get_experiment,
    papers,
    register_claim,
    register_experiment,
    register_section,
    section_experiments,
    sections,
    select,
    select_claims,
    unregister,
)
from .report import ledger_table, readme_table, write_reports
from .stats import TestResult, mannwhitney, paired_ttest, pearson, spearman, summarize, ttest, wilcoxon
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
    "paired_ttest",
    "wilcoxon",
    "mannwhitney",
    "pearson",
    "spearman",
    "Experiment",
    "Quick",
    "Claim",
    "ClaimSkipped",
    "Criterion",
    "Evidence",
    "ClaimData",
    "Group",
    "Compare",
    "NoDifference",
    "Level",
    "Correlation",
    "AllOf",
    "Custom",
    "register_experiment",
    "register_section",
    "sections",
    "Section",
    "register_claim",
    "unregister",
    "experiments",
    "get_experiment",
    "claims",
    "get_claim",
    "select_claims",
    "select",
    "section_experiments",
    "papers",
    "assess",
    "reproduce",
    "VERDICTS",
    "MODES",
    "ledger_table",
    "readme_table",
    "write_reports",
]
