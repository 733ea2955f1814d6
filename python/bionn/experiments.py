"""Reproduction harness: repeated runs over seeds and configs, statistics, and a registry of paper claims.

Running experiments
-------------------
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

Statistics
----------
:func:`summarize`, :func:`ttest`, :func:`wilcoxon` and :func:`pearson` (scipy, imported lazily).

Claims
------
A :class:`Claim` is one checkable statement of a paper ("MLP beats a linear model, p < 0.05";
"test accuracy >= 0.98"). Its ``compute(mode)`` function really trains the models and returns bionn's
value; :func:`run_claims` computes a paper's claims and compares each with the paper's value.
Paper modules in :mod:`bionn.papers` register their claims with :func:`register_claim` when
imported; :func:`claims` and :func:`run_claims` import them on first use.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import pickle
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union,
                    overload)

import numpy as np

__all__ = [
    "repeat", "grid", "RunError", "BACKENDS",
    "summarize", "TestResult", "ttest", "wilcoxon", "pearson",
    "Claim", "register_claim", "unregister_claim", "claims", "get_claim", "papers", "run_claims",
    "evaluate_claim", "ClaimSkipped", "COMPARISONS", "MODES",
]

BACKENDS = ("serial", "processes", "dask")
MODES = ("quick", "full")
COMPARISONS = (">=", "<=", "within", "significant")


# ================================================================================================
# repeat
# ================================================================================================
class RunError(RuntimeError):
    """A run of :func:`repeat` raised; ``seed`` and ``config`` say which one (the cause is chained)."""

    def __init__(self, message: str, seed: Any = None, config: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.seed = seed
        self.config = dict(config or {})


def grid(**axes: Sequence[Any]) -> List[Dict[str, Any]]:
    """Every combination of the given values, as a list of configs for :func:`repeat`.

    Examples
    --------
    >>> grid(hidden=[8, 32], lr=[0.1])
    [{'hidden': 8, 'lr': 0.1}, {'hidden': 32, 'lr': 0.1}]
    """
    import itertools

    keys = list(axes)
    values = []
    for k in keys:
        v = axes[k]
        if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
            raise TypeError(f"grid: {k} must be a sequence of values, got {type(v).__name__}")
        values.append(list(v))
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _run_one(fn: Callable[..., Mapping[str, Any]], seed: int, config: Mapping[str, Any],
             single_thread: bool) -> Dict[str, Any]:
    """Executes one run (in a worker for the parallel backends). Module level so it pickles."""
    if single_thread:
        import bionn

        bionn.set_num_threads(1)
    result = fn(seed=seed, **config)
    if not isinstance(result, Mapping):
        raise TypeError(f"fn must return a dict of metrics, got {type(result).__name__}")
    return dict(result)


def _check_seeds(seeds: Any) -> List[int]:
    if isinstance(seeds, (numbers.Integral, np.integer)) or isinstance(seeds, (str, bytes)):
        raise TypeError(f"seeds must be a sequence of ints such as range({seeds!r}), got {type(seeds).__name__}")
    try:
        seq = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}") from None
    if not seq:
        raise ValueError("seeds is empty")
    out = []
    for s in seq:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Integral, np.integer)):
            raise TypeError(f"seeds must hold ints, got {s!r} ({type(s).__name__})")
        if s < 0:
            raise ValueError(f"seeds must be >= 0, got {s}")
        out.append(int(s))
    return out


def _check_configs(configs: Any) -> List[Dict[str, Any]]:
    if configs is None:
        return [{}]
    if isinstance(configs, Mapping):
        raise TypeError("configs must be a list of dicts; for every combination of several values use "
                        "configs=bionn.experiments.grid(name=[...], ...)")
    try:
        seq = list(configs)
    except TypeError:
        raise TypeError(f"configs must be a list of dicts, got {type(configs).__name__}") from None
    if not seq:
        raise ValueError("configs is empty (pass None for a single run per seed without extra arguments)")
    out = []
    for i, c in enumerate(seq):
        if not isinstance(c, Mapping):
            raise TypeError(f"configs[{i}] must be a dict, got {type(c).__name__}")
        for k in c:
            if not isinstance(k, str) or not k.isidentifier():
                raise ValueError(f"configs[{i}] has key {k!r}; keys must be valid Python argument names")
        if "seed" in c:
            raise ValueError(f"configs[{i}] has a 'seed' key; seeds are given by the seeds argument")
        out.append(dict(c))
    return out


def _check_picklable(fn: Callable[..., Any], configs: List[Dict[str, Any]]) -> None:
    name = getattr(fn, "__qualname__", repr(fn))
    hint = ("with backend='processes' fn is sent to spawned worker processes, so it must be picklable: "
            "define it with `def` at the top level of an importable module (not a lambda, a nested "
            "function or a function typed into an interactive session), or use backend='dask', which "
            "pickles with cloudpickle")
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"fn {name!r} is not picklable ({exc}); {hint}") from exc
    if getattr(fn, "__module__", None) == "__main__":
        main = sys.modules.get("__main__")
        if main is None or not getattr(main, "__file__", None):
            raise TypeError(f"fn {name!r} is defined in an interactive __main__ that worker processes "
                            f"cannot import; {hint}")
    for i, c in enumerate(configs):
        try:
            pickle.dumps(c)
        except Exception as exc:
            raise TypeError(f"configs[{i}] is not picklable ({exc}); backend='processes' sends configs "
                            "to worker processes") from exc


def _describe(seed: int, config: Mapping[str, Any]) -> str:
    args = ", ".join([f"seed={seed}"] + [f"{k}={v!r}" for k, v in config.items()])
    return f"fn({args})"


def _progress_bar(enabled: bool, total: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the experiments extra
        return None
    return tqdm(total=total, desc="runs", unit="run", dynamic_ncols=True)


def _default_workers(n_runs: int) -> int:
    return max(1, min(n_runs, os.cpu_count() or 1))


def repeat(fn: Callable[..., Mapping[str, Any]], seeds: Iterable[int],
           configs: Optional[Sequence[Mapping[str, Any]]] = None, backend: str = "serial",
           address: Optional[str] = None, n_workers: Optional[int] = None, progress: bool = False) -> Any:
    """Runs ``fn(seed=seed, **config)`` for every config and every seed; one DataFrame row per run.

    Parameters
    ----------
    fn : callable
        Called with keyword arguments ``seed`` and the config's keys; returns a dict of metrics
        (e.g. ``{"test_accuracy": 0.97}``).
    seeds : iterable of int
        Seeds (>= 0), e.g. ``range(5)``.
    configs : sequence of dict, optional
        Keyword arguments for ``fn``; ``None`` means one config without arguments. See :func:`grid`.
    backend : {"serial", "processes", "dask"}
        Where runs execute. ``"processes"`` uses a spawn-context process pool (``fn`` and the configs
        must be picklable); ``"dask"`` submits to a ``dask.distributed`` cluster. In both parallel
        backends each run calls ``bionn.set_num_threads(1)`` in its worker first, so that parallel
        runs do not oversubscribe the cores.
    address : str, optional
        ``"dask"`` only: scheduler address of an existing cluster (e.g. ``"tcp://10.0.0.5:8786"``).
        Without it a temporary ``LocalCluster`` (one single-threaded worker process per run slot,
        bound to 127.0.0.1, no dashboard) is started and closed afterwards.
    n_workers : int, optional
        Worker processes for ``"processes"`` and for the temporary dask cluster (ignored with
        ``address``: the existing cluster's workers are used); defaults to
        ``min(number of runs, os.cpu_count())``.
    progress : bool
        Show a tqdm progress bar over runs.

    Returns
    -------
    pandas.DataFrame
        Columns: the config keys, ``seed``, then the metric keys. Rows are ordered by config (in
        the order given) then by seed (in the order given), whatever the backend and the order
        in which runs finish.

    Raises
    ------
    TypeError
        ``fn`` (or a config) is not picklable with ``backend="processes"``, or ``fn`` returned
        something other than a dict.
    RunError
        A run raised; the message names its seed and config and the original exception is chained.
    ValueError
        Bad arguments, or a metric named like a config key or ``seed``.
    """
    import pandas as pd

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    seed_list = _check_seeds(seeds)
    config_list = _check_configs(configs)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if address is not None and backend != "dask":
        raise ValueError(f"address is only used by backend='dask' (got backend={backend!r})")
    if n_workers is not None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, (numbers.Integral, np.integer)):
            raise TypeError(f"n_workers must be an int, got {type(n_workers).__name__}")
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        n_workers = int(n_workers)

    tasks: List[Tuple[int, Dict[str, Any]]] = [(s, c) for c in config_list for s in seed_list]
    bar = _progress_bar(progress, len(tasks))
    try:
        if backend == "serial":
            results = _run_serial(fn, tasks, bar)
        elif backend == "processes":
            _check_picklable(fn, config_list)
            results = _run_processes(fn, tasks, n_workers or _default_workers(len(tasks)), bar)
        else:
            results = _run_dask(fn, tasks, address, n_workers or _default_workers(len(tasks)), bar)
    finally:
        if bar is not None:
            bar.close()
    return _to_frame(pd, tasks, results)


def _run_serial(fn: Callable[..., Any], tasks: List[Tuple[int, Dict[str, Any]]], bar: Any) -> List[Dict[str, Any]]:
    results = []
    for seed, config in tasks:
        try:
            results.append(_run_one(fn, seed, config, single_thread=False))
        except Exception as exc:
            raise RunError(f"{_describe(seed, config)} failed: {type(exc).__name__}: {exc}", seed, config) from exc
        if bar is not None:
            bar.update(1)
    return results


def _collect(done: Any, index_of: Callable[[Any], int], tasks: List[Tuple[int, Dict[str, Any]]],
             results: List[Optional[Dict[str, Any]]], where: str, bar: Any) -> None:
    """Stores each finished future's result at its task's index (so order does not depend on
    completion order); a failed run raises RunError naming its seed and config."""
    for fut in done:
        i = index_of(fut)
        seed, config = tasks[i]
        try:
            results[i] = fut.result()
        except Exception as exc:
            raise RunError(f"{_describe(seed, config)} failed {where}: {type(exc).__name__}: {exc}",
                           seed, config) from exc
        if bar is not None:
            bar.update(1)


def _run_processes(fn: Callable[..., Any], tasks: List[Tuple[int, Dict[str, Any]]], n_workers: int,
                   bar: Any) -> List[Dict[str, Any]]:
    import concurrent.futures as cf
    import multiprocessing

    # spawn, not fork: forking a process whose OpenMP runtime is already running can deadlock.
    ctx = multiprocessing.get_context("spawn")
    results: List[Optional[Dict[str, Any]]] = [None] * len(tasks)
    pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)
    try:
        futures = {pool.submit(_run_one, fn, seed, config, True): i for i, (seed, config) in enumerate(tasks)}
        _collect(cf.as_completed(futures), lambda fut: futures[fut], tasks, results, "in a worker process", bar)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results  # type: ignore[return-value]


def _run_dask(fn: Callable[..., Any], tasks: List[Tuple[int, Dict[str, Any]]], address: Optional[str],
              n_workers: int, bar: Any) -> List[Dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: pip install 'bionn[experiments]' "
                          "or pip install 'dask[distributed]'") from exc
    import logging

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(address)
    results: List[Optional[Dict[str, Any]]] = [None] * len(tasks)
    try:
        futures = []
        index = {}
        for i, (seed, config) in enumerate(tasks):
            fut = client.submit(_run_one, fn, seed, config, True, pure=False)
            futures.append(fut)
            index[fut.key] = i
        try:
            _collect(as_completed(futures), lambda fut: index[fut.key], tasks, results, "on a dask worker", bar)
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results  # type: ignore[return-value]


def _to_frame(pd: Any, tasks: List[Tuple[int, Dict[str, Any]]], results: List[Dict[str, Any]]) -> Any:
    config_keys: List[str] = []
    metric_keys: List[str] = []
    for (_, config), result in zip(tasks, results):
        for k in config:
            if k not in config_keys:
                config_keys.append(k)
        for k in result:
            if k not in metric_keys:
                metric_keys.append(k)
    clash = set(metric_keys) & (set(config_keys) | {"seed"})
    if clash:
        raise ValueError(f"fn returned metric(s) {sorted(clash)} named like a config key or 'seed'; rename them")
    columns = config_keys + ["seed"] + metric_keys
    rows = []
    for (seed, config), result in zip(tasks, results):
        row = {k: config.get(k, np.nan) for k in config_keys}
        row["seed"] = seed
        for k in metric_keys:
            row[k] = result.get(k, np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


# ================================================================================================
# statistics
# ================================================================================================
def summarize(df: Any, metric: str, by: Optional[Union[str, Sequence[str]]] = None) -> Any:
    """Mean, standard deviation (ddof=1), min, max and count of ``metric`` per group.

    Parameters
    ----------
    df : pandas.DataFrame
        Typically the output of :func:`repeat`.
    metric : str
        Column to summarise.
    by : str or sequence of str, optional
        Grouping columns (e.g. config keys); none gives one row over all runs.

    Returns
    -------
    pandas.DataFrame
        Columns: the ``by`` columns, then ``mean``, ``std``, ``min``, ``max``, ``n`` (number of
        non-missing values; ``std`` is NaN when ``n < 2``). Groups appear in sorted order.
    """
    import pandas as pd

    by_list = [] if by is None else [by] if isinstance(by, str) else list(by)
    missing = [c for c in [metric] + by_list if c not in df.columns]
    if missing:
        raise KeyError(f"summarize: no column(s) {missing} in the DataFrame (columns: {list(df.columns)})")
    values = pd.to_numeric(df[metric], errors="raise")
    stats = ["mean", "std", "min", "max", "count"]
    if by_list:
        out = values.groupby([df[c] for c in by_list], dropna=False, sort=True).agg(stats).reset_index()
    else:
        out = values.agg(stats).to_frame().T.reset_index(drop=True)
    out = out.rename(columns={"count": "n"})
    out["n"] = out["n"].astype(int)
    return out


@dataclass(frozen=True)
class TestResult:
    """Result of a statistical test.

    Attributes
    ----------
    test : str
        Which test (``"welch_t"``, ``"student_t"``, ``"wilcoxon"``, ``"pearson"``).
    statistic : float
    pvalue : float
    alternative : str
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    n : int
        Number of observations (per sample for t-tests: the smaller sample; pairs otherwise).

    Unpacks like scipy's results: ``stat, p = ttest(a, b)``.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pvalue: float
    alternative: str = "two-sided"
    n: int = 0

    def __iter__(self) -> Iterator[float]:
        return iter((self.statistic, self.pvalue))

    def significant(self, alpha: float = 0.05) -> bool:
        """``pvalue < alpha`` (False for a NaN p-value)."""
        return bool(self.pvalue < alpha)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


_ALTERNATIVES = ("two-sided", "greater", "less")


def _sample(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    return alternative


def ttest(a: Any, b: Any, welch: bool = True, alternative: str = "two-sided") -> TestResult:
    """Two-sample t-test of the means of ``a`` and ``b`` (``scipy.stats.ttest_ind``).

    Parameters
    ----------
    a, b : array-like
        Independent samples (e.g. a metric over seeds for two configs), at least 2 values each.
    welch : bool
        Welch's test (unequal variances, the default); ``False`` gives Student's pooled-variance test.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests mean(a) > mean(b).

    Returns
    -------
    TestResult
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size < 2 or b.size < 2:
        raise ValueError(f"ttest needs at least 2 values per sample, got {a.size} and {b.size}")
    res = stats.ttest_ind(a, b, equal_var=not welch, alternative=_check_alternative(alternative))
    return TestResult("welch_t" if welch else "student_t", float(res.statistic), float(res.pvalue), alternative,
                      int(min(a.size, b.size)))


def wilcoxon(a: Any, b: Any, alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test on the paired differences ``a - b`` (``scipy.stats.wilcoxon``).

    Parameters
    ----------
    a, b : array-like
        Paired samples of equal length (e.g. two methods run with the same seeds).
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests that ``a - b`` is shifted above 0.

    Returns
    -------
    TestResult
        When every difference is zero the test is undefined; the result has statistic 0 and
        p-value 1 (no evidence of a difference).

    Notes
    -----
    With n pairs the smallest attainable one-sided p-value is ``2**-n`` (0.125 for 3 pairs), so
    use at least 5 pairs for a test at alpha = 0.05.
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size != b.size:
        raise ValueError(f"wilcoxon needs paired samples of equal length, got {a.size} and {b.size}")
    _check_alternative(alternative)
    if np.all(a == b):
        return TestResult("wilcoxon", 0.0, 1.0, alternative, int(a.size))
    res = stats.wilcoxon(a, b, alternative=alternative)
    return TestResult("wilcoxon", float(res.statistic), float(res.pvalue), alternative, int(a.size))


def pearson(x: Any, y: Any, alternative: str = "two-sided") -> TestResult:
    """Pearson correlation coefficient and its p-value (``scipy.stats.pearsonr``).

    Parameters
    ----------
    x, y : array-like
        Paired samples of equal length (at least 2).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
        ``statistic`` is r.
    """
    from scipy import stats

    x, y = _sample(x, "x"), _sample(y, "y")
    if x.size != y.size:
        raise ValueError(f"pearson needs samples of equal length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError("pearson needs at least 2 pairs")
    res = stats.pearsonr(x, y, alternative=_check_alternative(alternative))
    return TestResult("pearson", float(res.statistic), float(res.pvalue), alternative, int(x.size))


# ================================================================================================
# claims
# ================================================================================================
class ClaimSkipped(Exception):
    """Raised by a claim's ``compute`` when it cannot run here for a reason outside bionn (e.g. the
    CIFAR-10 files are absent); the message says why and how to enable it. The claim is reported as
    skipped, neither passed nor failed."""


@dataclass
class Claim:
    """One checkable statement of a paper, and the code that checks it with bionn.

    Parameters
    ----------
    id : str
        Unique over all papers, e.g. ``"demo.mlp_beats_linear"``.
    paper : str
        Paper key (``bionn reproduce <paper>``), e.g. ``"demo"``.
    where : str
        Where the paper states it, e.g. ``"Table 2"`` or ``"Fig. 3b"``.
    description : str
        The claim in one line.
    paper_value : float or str
        The paper's number for ``">="``, ``"<="`` and ``"within"``; for ``"significant"`` any
        JSON-serialisable description (e.g. ``"p < 0.05"``).
    compare : {">=", "<=", "within", "significant"}
        ``">="``: passes when ``bionn_value >= paper_value - slack``; ``"<="``: when
        ``bionn_value <= paper_value + slack``; ``"within"``: when
        ``|bionn_value - paper_value| <= slack``; ``"significant"``: ``bionn_value`` is a p-value and
        the claim passes when it is below ``alpha``. ``slack`` is ``tolerance`` (0 if unset), times
        ``|paper_value|`` when ``relative``.
    compute : callable
        ``compute(mode)`` with mode ``"quick"`` or ``"full"``; it may also accept any of the keyword
        arguments ``backend``, ``address``, ``n_workers`` (passed on from :func:`run_claims` when it
        does). Returns the bionn value, or ``(value, info)`` with ``info`` a JSON-serialisable dict
        (e.g. the means behind a p-value). It must really train: no stored results.
    tolerance : float, optional
        Required for ``"within"``.
    relative : bool
        ``tolerance`` is a fraction of ``|paper_value|``.
    alpha : float
        Significance level for ``"significant"``.
    quick_note : str
        What quick mode cuts (seeds, epochs, data), shown by ``bionn reproduce --list``.
    """

    id: str
    paper: str
    where: str
    description: str
    paper_value: Any
    compare: str
    compute: Callable[..., Any]
    tolerance: Optional[float] = None
    relative: bool = False
    alpha: float = 0.05
    quick_note: str = ""

    def __post_init__(self) -> None:
        for name in ("id", "paper", "where", "description"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Claim.{name} must be a non-empty string, got {value!r}")
        if self.paper == "all":
            raise ValueError("'all' is reserved (bionn reproduce all); choose another paper key")
        if self.compare not in COMPARISONS:
            raise ValueError(f"Claim {self.id!r}: compare must be one of {COMPARISONS}, got {self.compare!r}")
        if not callable(self.compute):
            raise TypeError(f"Claim {self.id!r}: compute must be callable")
        if self.compare != "significant":
            if isinstance(self.paper_value, bool) or not isinstance(self.paper_value, numbers.Real) \
                    or not math.isfinite(self.paper_value):
                raise TypeError(f"Claim {self.id!r}: compare={self.compare!r} needs a finite numeric paper_value, "
                                f"got {self.paper_value!r}")
        if self.compare == "within" and self.tolerance is None:
            raise ValueError(f"Claim {self.id!r}: compare='within' needs a tolerance")
        if self.tolerance is not None:
            if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, numbers.Real) \
                    or not (self.tolerance >= 0) or not math.isfinite(self.tolerance):
                raise ValueError(f"Claim {self.id!r}: tolerance must be a finite number >= 0, got {self.tolerance!r}")
        if not (isinstance(self.alpha, numbers.Real) and 0 < self.alpha < 1):
            raise ValueError(f"Claim {self.id!r}: alpha must be in (0, 1), got {self.alpha!r}")

    def slack(self) -> float:
        """The allowed deviation from ``paper_value`` (absolute)."""
        tol = float(self.tolerance or 0.0)
        return tol * abs(float(self.paper_value)) if self.relative else tol

    def check(self, value: Any) -> bool:
        """Whether bionn's ``value`` supports the claim (False for a missing or non-finite value)."""
        if value is None or isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        if self.compare == "significant":
            return v < self.alpha
        p = float(self.paper_value)
        s = self.slack()
        if self.compare == ">=":
            return v >= p - s
        if self.compare == "<=":
            return v <= p + s
        return abs(v - p) <= s

    def criterion(self) -> str:
        """The pass criterion in words, e.g. ``">= 0.95"`` or ``"p < 0.05"``."""
        if self.compare == "significant":
            return f"p < {self.alpha:g}"
        s = self.slack()
        if self.compare == "within":
            return f"{self.paper_value:g} ± {s:g}"
        if s:
            return f"{self.compare} {self.paper_value:g} (slack {s:g})"
        return f"{self.compare} {self.paper_value:g}"

    def run(self, mode: str = "quick", **runtime: Any) -> Tuple[Any, Dict[str, Any]]:
        """Calls ``compute``; returns ``(value, info)``. ``runtime`` keywords the function does not
        accept are dropped."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        try:
            params = inspect.signature(self.compute).parameters
        except (TypeError, ValueError):  # builtins without a signature
            params = {}
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in runtime.items() if takes_kwargs or k in params}
        out = self.compute(mode, **kwargs)
        if isinstance(out, tuple):
            if len(out) != 2 or not isinstance(out[1], Mapping):
                raise TypeError(f"claim {self.id!r}: compute must return a value or (value, info dict)")
            return out[0], dict(out[1])
        return out, {}


_REGISTRY: Dict[str, Claim] = {}
_PAPERS_LOADED = False


@overload
def register_claim(claim: Claim, *, replace: bool = False) -> Claim: ...


@overload
def register_claim(claim: None = None, *, replace: bool = False, **fields: Any) -> Callable[[Callable[..., Any]], Claim]: ...


def register_claim(claim: Optional[Union[Claim, Callable[..., Any]]] = None, *, replace: bool = False,
                   **fields: Any) -> Any:
    """Adds a claim to the registry; works as a function or as a decorator of the compute function.

    Parameters
    ----------
    claim : Claim or callable, optional
        A :class:`Claim`; or the compute function, with the other fields as keywords; or nothing,
        to get a decorator.
    replace : bool
        Allow replacing a registered claim with the same id (otherwise that is an error).
    **fields
        :class:`Claim` fields other than ``compute``.

    Returns
    -------
    Claim, or a decorator returning the Claim

    Examples
    --------
    >>> @register_claim(id="demo.example", paper="demo", where="Table 1",   # doctest: +SKIP
    ...                 description="accuracy >= 0.9", paper_value=0.9, compare=">=")
    ... def example(mode):
    ...     return train_and_measure(epochs=5 if mode == "quick" else 50)
    """
    if isinstance(claim, Claim):
        if fields:
            raise TypeError("register_claim(Claim) takes no other fields")
        return _add(claim, replace)
    if claim is not None:
        if not callable(claim):
            raise TypeError(f"register_claim expects a Claim or a compute function, got {type(claim).__name__}")
        return _add(Claim(compute=claim, **fields), replace)

    def decorator(fn: Callable[..., Any]) -> Claim:
        return _add(Claim(compute=fn, **fields), replace)

    return decorator


def _add(claim: Claim, replace: bool) -> Claim:
    if claim.id in _REGISTRY and not replace:
        raise ValueError(f"a claim with id {claim.id!r} is already registered (paper "
                         f"{_REGISTRY[claim.id].paper!r}); use a unique id or replace=True")
    _REGISTRY[claim.id] = claim
    return claim


def unregister_claim(claim_id: str) -> Claim:
    """Removes a claim from the registry and returns it (KeyError if unknown)."""
    try:
        return _REGISTRY.pop(claim_id)
    except KeyError:
        raise KeyError(f"no claim with id {claim_id!r}") from None


def _load_papers() -> None:
    global _PAPERS_LOADED
    if not _PAPERS_LOADED:
        import bionn.papers  # noqa: F401  (paper modules register their claims on import)

        _PAPERS_LOADED = True


def claims(paper: Optional[str] = None) -> List[Claim]:
    """Registered claims, in registration order; only ``paper``'s when given (``"all"`` = every paper).

    Imports :mod:`bionn.papers` first so its modules' claims are registered. An unknown paper
    gives an empty list (see :func:`papers`).
    """
    _load_papers()
    if paper is None or paper == "all":
        return list(_REGISTRY.values())
    return [c for c in _REGISTRY.values() if c.paper == paper]


def get_claim(claim_id: str) -> Claim:
    """The registered claim with this id (KeyError if none)."""
    _load_papers()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"no claim with id {claim_id!r}") from None


def papers() -> List[str]:
    """Keys of the papers with registered claims, sorted."""
    _load_papers()
    return sorted({c.paper for c in _REGISTRY.values()})


def _jsonable(value: Any) -> Any:
    """numpy scalars -> Python numbers, non-finite floats -> None, containers recursively."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, numbers.Integral)):
        return int(value)
    if isinstance(value, (np.floating, numbers.Real)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if value is None or isinstance(value, str):
        return value
    return str(value)


def evaluate_claim(claim: Claim, mode: str = "quick", **runtime: Any) -> Dict[str, Any]:
    """Computes one claim and compares it with the paper.

    Returns
    -------
    dict
        ``{"id", "description", "paper_value", "bionn_value", "passed", "skipped", "info"}``.
        ``info`` holds what ``compute`` returned besides the value, plus ``seconds`` (wall time),
        ``where``, ``criterion`` and, when ``compute`` raised, ``error`` (the claim then fails with
        ``bionn_value`` None) or, for :class:`ClaimSkipped`, ``skipped`` (the reason; ``passed`` is
        False and ``skipped`` True). Values are JSON-serialisable (non-finite numbers become None).
    """
    start = time.perf_counter()
    info: Dict[str, Any] = {}
    skipped = False
    try:
        value, info = claim.run(mode, **runtime)
        passed = claim.check(value)
    except ClaimSkipped as exc:
        value, passed, skipped = None, False, True
        info = {"skipped": str(exc)}
    except Exception as exc:
        value, passed = None, False
        info = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    info = dict(info, seconds=round(time.perf_counter() - start, 3), where=claim.where,
                criterion=claim.criterion())
    return {
        "id": claim.id,
        "description": claim.description,
        "paper_value": _jsonable(claim.paper_value),
        "bionn_value": _jsonable(value),
        "passed": bool(passed),
        "skipped": skipped,
        "info": _jsonable(info),
    }


def run_claims(paper: Optional[str] = "all", mode: str = "quick", backend: str = "serial",
               address: Optional[str] = None, n_workers: Optional[int] = None,
               on_result: Optional[Callable[[Dict[str, Any]], None]] = None,
               on_start: Optional[Callable[[Claim], None]] = None) -> List[Dict[str, Any]]:
    """Computes every claim of ``paper`` (``"all"`` or None: of every paper) and checks it.

    Parameters
    ----------
    paper : str, optional
        A key from :func:`papers`, or ``"all"``.
    mode : {"quick", "full"}
        Quick mode uses fewer seeds, epochs and data (each claim's ``quick_note`` says what).
    backend, address, n_workers
        Passed to claims whose ``compute`` accepts them (and from there to :func:`repeat`).
    on_start, on_result : callable, optional
        Called before each claim with the :class:`Claim` and after it with its result dict
        (progress reporting).

    Returns
    -------
    list of dict
        One per claim, in registration order: ``{"id", "description", "paper_value", "bionn_value",
        "passed", "skipped", "info"}`` (see :func:`evaluate_claim`). A claim whose computation raises
        fails (unless it raises :class:`ClaimSkipped`); it does not stop the others.

    Raises
    ------
    ValueError
        Unknown paper (the message lists the known ones), mode or backend.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    selected = claims(paper)
    if not selected:
        known = papers()
        raise ValueError(f"unknown paper {paper!r}; known papers: {', '.join(known) if known else '(none)'}")
    runtime = {"backend": backend, "address": address, "n_workers": n_workers}
    results = []
    for claim in selected:
        if on_start is not None:
            on_start(claim)
        result = evaluate_claim(claim, mode, **runtime)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
