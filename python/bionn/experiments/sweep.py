"""Repeated runs over seeds and configs: :func:`repeat`, :func:`grid` and the backends.

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
"""

from __future__ import annotations

import functools
import numbers
import os
import pickle
import platform
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["repeat", "grid", "RunError", "BACKENDS"]

BACKENDS = ("serial", "processes", "dask")


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
    >>> from bionn.experiments import grid
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


def _run_one(
    fn: Callable[..., Mapping[str, Any]], seed: int, config: Mapping[str, Any], single_thread: bool
) -> Dict[str, Any]:
    """Executes one run (in a worker for the parallel backends). Module level so it pickles."""
    if single_thread:
        import bionn

        bionn.set_num_threads(1)
    result = fn(seed=seed, **config)
    if not isinstance(result, Mapping):
        raise TypeError(f"fn must return a dict of metrics, got {type(result).__name__}")
    return dict(result)


@functools.lru_cache(maxsize=1)
def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine_info() -> Dict[str, Any]:
    """Where a run executes (recorded by :class:`~bionn.experiments.RunStore`); never raises."""
    try:
        import bionn

        threads: Optional[int] = int(bionn.get_num_threads())
    except Exception:  # pragma: no cover - bionn without its core
        threads = None
    try:
        cpu = _cpu_name()
    except Exception:  # pragma: no cover
        cpu = None
    try:
        from .._blas import gemm_label

        gemm: Optional[str] = gemm_label()
    except Exception:  # pragma: no cover - bionn without its core
        gemm = None
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "platform": platform.platform(), "gemm": gemm}


def _run_timed(
    fn: Callable[..., Mapping[str, Any]], seed: int, config: Mapping[str, Any], single_thread: bool
) -> Dict[str, Any]:
    """:func:`_run_one` plus its wall time and the worker's machine (what a run record needs)."""
    if single_thread:
        import bionn

        bionn.set_num_threads(1)
    start = time.perf_counter()
    metrics = _run_one(fn, seed, config, False)
    wall = time.perf_counter() - start
    return {"metrics": metrics, "wall_time_s": wall, "machine": _machine_info()}


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
        raise TypeError(
            "configs must be a list of dicts; for every combination of several values use "
            "configs=bionn.experiments.grid(name=[...], ...)"
        )
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
    hint = (
        "with backend='processes' fn is sent to spawned worker processes, so it must be picklable: "
        "define it with `def` at the top level of an importable module (not a lambda, a nested "
        "function or a function typed into an interactive session), or use backend='dask', which "
        "pickles with cloudpickle"
    )
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"fn {name!r} is not picklable ({exc}); {hint}") from exc
    if getattr(fn, "__module__", None) == "__main__":
        main = sys.modules.get("__main__")
        if main is None or not getattr(main, "__file__", None):
            raise TypeError(
                f"fn {name!r} is defined in an interactive __main__ that worker processes cannot import; {hint}"
            )
    for i, c in enumerate(configs):
        try:
            pickle.dumps(c)
        except Exception as exc:
            raise TypeError(
                f"configs[{i}] is not picklable ({exc}); backend='processes' sends configs to worker processes"
            ) from exc


def _describe(seed: int, config: Mapping[str, Any]) -> str:
    args = ", ".join([f"seed={seed}"] + [f"{k}={v!r}" for k, v in config.items()])
    return f"fn({args})"


def _progress_bar(enabled: Any, total: int) -> Any:
    if enabled is not None and not isinstance(enabled, bool) and hasattr(enabled, "update"):
        return enabled  # a bar the caller owns (one bar over several repeat calls)
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the experiments extra
        return None
    return tqdm(total=total, desc="runs", unit="run", dynamic_ncols=True)


def _default_workers(n_runs: int) -> int:
    return max(1, min(n_runs, os.cpu_count() or 1))


def repeat(
    fn: Callable[..., Mapping[str, Any]],
    seeds: Iterable[int],
    configs: Optional[Sequence[Mapping[str, Any]]] = None,
    backend: str = "serial",
    address: Optional[str] = None,
    n_workers: Optional[int] = None,
    progress: Any = False,
    store: Any = None,
    paper: Optional[str] = None,
    experiment: Optional[str] = None,
    rerun: bool = False,
) -> Any:
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
    progress : bool or tqdm bar
        Show a tqdm progress bar over runs; or a bar the caller owns (anything with ``update``),
        advanced by one per finished run and not closed here.
    store : bionn.experiments.RunStore, optional
        Keep one run record per run (see :mod:`bionn.experiments.records`). Runs that already have
        a record are not run again; each finished run's record is written at once, in this process
        (for every backend; dask workers need no shared file system), so after Ctrl-C or a crash a
        second call runs only what is missing. The frame is built from the records' values (JSON
        numbers: a float32 metric comes back as float64), identical whether runs were loaded or
        run. A ``"curves"`` metric (a dict of lists, e.g. per-epoch losses) goes to the record's
        ``curves`` and is not a column. A corrupt record raises ValueError (``rerun`` overwrites).
    paper, experiment : str
        Required with ``store`` (TypeError otherwise): the run's identity is
        ``(paper, experiment, config, seed)``. There is deliberately no default from ``fn``'s name:
        renaming a function must not orphan its records.
    rerun : bool
        With ``store``: run everything again and overwrite the records.

    Returns
    -------
    pandas.DataFrame
        Columns: the config keys, ``seed``, then the metric keys. Rows are ordered by config (in
        the order given) then by seed (in the order given), whatever the backend and the order
        in which runs finish.

    Raises
    ------
    TypeError
        ``fn`` (or a config) is not picklable with ``backend="processes"``, ``fn`` returned
        something other than a dict, ``store`` without ``paper``/``experiment`` (or those without
        ``store``), or a config or metric that is not JSON with ``store``.
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
    if store is None:
        if paper is not None or experiment is not None or rerun:
            raise TypeError("paper, experiment and rerun are only used with store=")
        bar = _progress_bar(progress, len(tasks))
        try:
            results = _dispatch(fn, tasks, backend, address, n_workers, bar, _run_one, None)
        finally:
            if bar is not None and bar is not progress:
                bar.close()
        return _to_frame(pd, tasks, results)
    return _repeat_stored(
        pd, fn, tasks, len(seed_list), backend, address, n_workers, progress, store, paper, experiment, rerun
    )


def _dispatch(
    fn: Callable[..., Any],
    tasks: List[Tuple[int, Dict[str, Any]]],
    backend: str,
    address: Optional[str],
    n_workers: Optional[int],
    bar: Any,
    worker: Callable[..., Any],
    on_done: Optional[Callable[[int, Any], None]],
) -> List[Any]:
    """Runs ``worker(fn, seed, config, single_thread)`` for every task on the backend; ``on_done(i,
    result)`` is called in this process as each run finishes."""
    if backend == "serial":
        return _run_serial(fn, tasks, bar, worker, on_done)
    if backend == "processes":
        configs: List[Dict[str, Any]] = []
        for _, c in tasks:  # the distinct config dicts, in order (tasks share them)
            if not any(c is x for x in configs):
                configs.append(c)
        _check_picklable(fn, configs)
        return _run_processes(fn, tasks, n_workers or _default_workers(len(tasks)), bar, worker, on_done)
    return _run_dask(fn, tasks, address, n_workers or _default_workers(len(tasks)), bar, worker, on_done)


def _repeat_stored(
    pd: Any,
    fn: Callable[..., Any],
    tasks: List[Tuple[int, Dict[str, Any]]],
    n_seeds: int,
    backend: str,
    address: Optional[str],
    n_workers: Optional[int],
    progress: Any,
    store: Any,
    paper: Any,
    experiment: Any,
    rerun: bool,
) -> Any:
    for name, value in (("paper", paper), ("experiment", experiment)):
        if not isinstance(value, str):
            raise TypeError(f"repeat with store= needs {name}= (a str), got {type(value).__name__}")
    for seed, config in tasks:  # names and configs checked (JSON types) before anything runs
        store.key(paper, experiment, config, seed)
    results: List[Optional[Dict[str, Any]]] = [None] * len(tasks)
    pending = []
    for i, (seed, config) in enumerate(tasks):
        record = None if rerun else store.load(paper, experiment, config, seed)
        if record is None:
            pending.append(i)
        else:
            results[i] = record["metrics"]

    def on_done(j: int, out: Dict[str, Any]) -> None:
        i = pending[j]
        seed, config = tasks[i]
        metrics = dict(out["metrics"])
        clash = set(metrics) & (set(config) | {"seed"})
        if clash:
            raise ValueError(f"fn returned metric(s) {sorted(clash)} named like a config key or 'seed'; rename them")
        curves = metrics.pop("curves", None)
        try:
            store.save(
                paper,
                experiment,
                config,
                seed,
                metrics,
                curves=curves,
                wall_time=out["wall_time_s"],
                machine=out["machine"],
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{_describe(seed, config)} returned a result that cannot be recorded: {exc}") from exc
        results[i] = store.load(paper, experiment, config, seed)["metrics"]

    # Seed-major order: a long protocol stopped part-way leaves whole seeds (every config of a
    # seed), so paired comparisons over the finished seeds are balanced.
    pending.sort(key=lambda i: (i % n_seeds, i // n_seeds))
    if pending:
        bar = _progress_bar(progress, len(pending))
        try:
            _dispatch(fn, [tasks[i] for i in pending], backend, address, n_workers, bar, _run_timed, on_done)
        finally:
            if bar is not None and bar is not progress:
                bar.close()
    return _to_frame(pd, tasks, results)  # type: ignore[arg-type]


def _run_serial(
    fn: Callable[..., Any],
    tasks: List[Tuple[int, Dict[str, Any]]],
    bar: Any,
    worker: Callable[..., Any] = _run_one,
    on_done: Optional[Callable[[int, Any], None]] = None,
) -> List[Any]:
    results = []
    for i, (seed, config) in enumerate(tasks):
        try:
            results.append(worker(fn, seed, config, False))
        except Exception as exc:
            raise RunError(f"{_describe(seed, config)} failed: {type(exc).__name__}: {exc}", seed, config) from exc
        if on_done is not None:
            on_done(i, results[i])
        if bar is not None:
            bar.update(1)
    return results


def _collect(
    done: Any,
    index_of: Callable[[Any], int],
    tasks: List[Tuple[int, Dict[str, Any]]],
    results: List[Optional[Dict[str, Any]]],
    where: str,
    bar: Any,
    on_done: Optional[Callable[[int, Any], None]] = None,
) -> None:
    """Stores each finished future's result at its task's index (so order does not depend on
    completion order); a failed run raises RunError naming its seed and config."""
    for fut in done:
        i = index_of(fut)
        seed, config = tasks[i]
        try:
            results[i] = fut.result()
        except Exception as exc:
            raise RunError(
                f"{_describe(seed, config)} failed {where}: {type(exc).__name__}: {exc}", seed, config
            ) from exc
        if on_done is not None:
            on_done(i, results[i])
        if bar is not None:
            bar.update(1)


def _run_processes(
    fn: Callable[..., Any],
    tasks: List[Tuple[int, Dict[str, Any]]],
    n_workers: int,
    bar: Any,
    worker: Callable[..., Any] = _run_one,
    on_done: Optional[Callable[[int, Any], None]] = None,
) -> List[Dict[str, Any]]:
    import concurrent.futures as cf
    import multiprocessing

    # spawn, not fork: forking a process whose OpenMP runtime is already running can deadlock.
    ctx = multiprocessing.get_context("spawn")
    results: List[Optional[Dict[str, Any]]] = [None] * len(tasks)
    pool = cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)
    try:
        futures = {pool.submit(worker, fn, seed, config, True): i for i, (seed, config) in enumerate(tasks)}
        _collect(
            cf.as_completed(futures), lambda fut: futures[fut], tasks, results, "in a worker process", bar, on_done
        )
    except BaseException:
        # Ctrl-C or a failed run: stop the runs in flight now. Cancelling futures alone would let
        # every worker finish its current run and the runs already queued to it (a worker that
        # sees Ctrl-C itself reports its run as failed and takes the next one). Finished runs
        # are already recorded by on_done.
        _terminate_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results  # type: ignore[return-value]


def _terminate_workers(pool: Any) -> None:
    """Ends a ProcessPoolExecutor's worker processes at once (``terminate_workers`` from Python
    3.14; the same on the executor's process table before)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:  # pragma: no cover - Python >= 3.14
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


def _run_dask(
    fn: Callable[..., Any],
    tasks: List[Tuple[int, Dict[str, Any]]],
    address: Optional[str],
    n_workers: int,
    bar: Any,
    worker: Callable[..., Any] = _run_one,
    on_done: Optional[Callable[[int, Any], None]] = None,
) -> List[Dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "backend='dask' needs dask.distributed: pip install 'bionn[experiments]' or pip install 'dask[distributed]'"
        ) from exc
    import logging

    cluster = None
    if address is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        client = Client(address)
    results: List[Optional[Dict[str, Any]]] = [None] * len(tasks)
    try:
        futures = []
        index = {}
        for i, (seed, config) in enumerate(tasks):
            fut = client.submit(worker, fn, seed, config, True, pure=False)
            futures.append(fut)
            index[fut.key] = i
        try:
            _collect(
                as_completed(futures), lambda fut: index[fut.key], tasks, results, "on a dask worker", bar, on_done
            )
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
