"""Verdicts: :func:`assess` computes each claim's verdict from run records only; :func:`reproduce`
first runs the records that are missing, then assesses.

Verdicts (:data:`VERDICTS`):

* ``REPRODUCED`` — every planned run is recorded and the criterion holds;
* ``NOT REPRODUCED`` — every planned run is recorded and it does not (or cannot be decided);
* ``PARTIAL`` — k of N planned runs are recorded; ``verdict_so_far`` says what they show;
* ``SKIPPED`` — runs are missing and the data they need is absent (the note names the files and
  where to put them). Never a pass; an ``ERROR`` with ``require_data=True``;
* ``ERROR`` — a run or the evaluation raised, or a record is corrupt.

``passed`` is true only for ``REPRODUCED``.
"""

from __future__ import annotations

import math
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .criteria import ClaimData
from .records import RunStore, _canonical, default_store, probe_estimate
from .registry import MODES, Claim, ClaimSkipped, Experiment, get_experiment
from .sweep import BACKENDS, RunError, _to_frame, repeat

__all__ = ["VERDICTS", "assess", "reproduce", "probe", "RESULT_KEYS"]

VERDICTS = ("REPRODUCED", "NOT REPRODUCED", "PARTIAL", "SKIPPED", "ERROR")
RESULT_KEYS = (
    "id",
    "paper",
    "where",
    "statement",
    "paper_value",
    "bionn_value",
    "criterion",
    "verdict",
    "passed",
    "runs_done",
    "runs_planned",
    "deviations",
    "reading",
    "mode",
    "verdict_so_far",
    "reason",
    "test",
    "statistic",
    "pvalue",
    "note",
    "details",
)

Status = Dict[Tuple[str, str], Tuple[str, str, Optional[str]]]  # (paper, experiment) -> (kind, message, dataset)


def _plain(value: Any) -> Any:
    """JSON-safe copy (non-finite floats -> None, numpy -> Python)."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, str) else str(value)


def _experiment_records(store: RunStore, exp: Experiment, mode: str) -> List[Dict[str, Any]]:
    """The records of ``exp``'s planned runs in ``mode`` (in plan order: config, then seed)."""
    configs, seeds = exp.plan(mode)
    wanted = {(_canonical(c)[1], s): (i, j) for i, c in enumerate(configs) for j, s in enumerate(seeds)}
    found = []
    for r in store.records(exp.paper, exp.name):
        key = (_canonical(r["config"])[1], r["seed"])
        if key in wanted:
            found.append((wanted[key], r))
    found.sort(key=lambda t: t[0])
    return [r for _, r in found]


def _deviations(claim: Claim, mode: str) -> List[str]:
    out: List[str] = []
    for name in claim.experiments:
        exp = get_experiment(claim.paper, name)
        out.extend(d for d in exp.deviations if d not in out)
        if mode == "quick":
            note = exp.quick.note or f"quick mode: {exp.n_runs('quick')} of {exp.n_runs('full')} runs, reduced settings"
            note = note if note.lower().startswith("quick") else f"quick mode: {note}"
            if note not in out:
                out.append(note)
    out.extend(d for d in claim.deviations if d not in out)
    return out


def _result(claim: Claim, mode: str, **fields: Any) -> Dict[str, Any]:
    base = {k: None for k in RESULT_KEYS}
    base.update(
        id=claim.id,
        paper=claim.paper,
        where=claim.where,
        statement=claim.statement,
        paper_value=claim.paper_value,
        criterion=claim.describe_criterion(),
        deviations=_deviations(claim, mode),
        reading=claim.reading,
        mode=mode,
        details={},
    )
    base.update(fields)
    base["passed"] = base["verdict"] == "REPRODUCED"
    return _plain(base)


def assess(
    selected: Sequence[Claim],
    mode: str = "full",
    store: Optional[RunStore] = None,
    status: Optional[Status] = None,
    require_data: bool = False,
    allow_missing: Sequence[str] = (),
    check_data: bool = True,
) -> List[Dict[str, Any]]:
    """Each claim's verdict from the records in ``store`` (default: :func:`default_store`), without
    training.

    Parameters
    ----------
    selected : sequence of Claim
    mode : {"full", "quick"}
        Which protocol's runs are planned (quick runs are other configs: other records).
    store : RunStore, optional
    status : dict, optional
        From :func:`reproduce`: experiments that were skipped (data absent) or failed.
    require_data : bool
        A SKIPPED verdict becomes ERROR, unless every data set missing for the claim is named in
        ``allow_missing`` (data this machine is known not to have, e.g. ``"cifar10"``; the claim
        stays SKIPPED, which is never a pass).
    allow_missing : sequence of str
    check_data : bool
        For an experiment with runs missing and no entry in ``status``, call its ``requires``: a
        claim whose missing runs need data absent on this machine is SKIPPED (naming the data),
        not PARTIAL, since those runs cannot be made here.

    Returns
    -------
    list of dict
        One per claim with the keys of ``RESULT_KEYS`` (JSON-serialisable).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    store = default_store() if store is None else store
    status = dict(status or {})
    cache: Dict[Tuple[str, str], Any] = {}
    data_checked: Dict[Tuple[str, str], Optional[Tuple[str, str, Optional[str]]]] = {}
    out = []
    for claim in selected:
        planned = done = 0
        frames: Dict[str, Any] = {}
        records: Dict[str, List[Dict[str, Any]]] = {}
        errors: List[str] = []
        skips: List[str] = []
        missing_sets: List[Optional[str]] = []
        for name in claim.experiments:
            exp = get_experiment(claim.paper, name)
            planned += exp.n_runs(mode)
            key = (exp.paper, exp.name)
            if key not in cache:
                try:
                    cache[key] = _experiment_records(store, exp, mode)
                except ValueError as exc:  # a corrupt or crafted record
                    cache[key] = exc
            got = cache[key]
            st = status.get(key)
            if st is None and check_data and not isinstance(got, Exception) and len(got) < exp.n_runs(mode):
                if key not in data_checked:
                    data_checked[key] = _data_status(exp)
                st = data_checked[key]
            if st is not None:
                if st[0] == "error":
                    errors.append(f"{exp.name}: {st[1]}")
                else:
                    skips.append(f"{exp.name}: {st[1]}")
                    missing_sets.append(st[2])
            if isinstance(got, Exception):
                errors.append(f"{exp.paper}/{exp.name}: {got}")
                continue
            done += len(got)
            records[name] = got
            frames[name] = _to_frame(_pandas(), [(r["seed"], r["config"]) for r in got], [r["metrics"] for r in got])
        if errors:
            out.append(
                _result(claim, mode, verdict="ERROR", note="; ".join(errors), runs_done=done, runs_planned=planned)
            )
            continue
        if skips and done < planned:
            required = require_data and not all(d is not None and d in allow_missing for d in missing_sets)
            verdict = "ERROR" if required else "SKIPPED"
            note = ("data required (--require-data): " if required else "") + "; ".join(skips)
            out.append(_result(claim, mode, verdict=verdict, note=note, runs_done=done, runs_planned=planned))
            continue
        try:
            ev = claim.criterion.evaluate(ClaimData(frames, records))
        except Exception as exc:
            out.append(
                _result(
                    claim,
                    mode,
                    verdict="ERROR",
                    note=f"evaluating the criterion raised {type(exc).__name__}: {exc}",
                    runs_done=done,
                    runs_planned=planned,
                    details={"traceback": traceback.format_exc()},
                )
            )
            continue
        so_far = {True: "REPRODUCED", False: "NOT REPRODUCED", None: "undetermined"}[ev.holds]
        if done < planned:
            verdict = "PARTIAL"
        else:
            verdict = "REPRODUCED" if ev.holds else "NOT REPRODUCED"
            so_far = None
        reason = ev.reason if ev.holds is not None or done < planned else f"undetermined: {ev.reason}"
        out.append(
            _result(
                claim,
                mode,
                verdict=verdict,
                verdict_so_far=so_far,
                bionn_value=ev.value if done else None,
                reason=reason,
                test=ev.test,
                statistic=ev.statistic,
                pvalue=ev.pvalue,
                details=ev.details,
                runs_done=done,
                runs_planned=planned,
            )
        )
    return out


def _data_status(exp: Experiment) -> Optional[Tuple[str, str, Optional[str]]]:
    """``status`` entry for an experiment whose data is absent (``requires`` raised), else None."""
    if exp.requires is None:
        return None
    try:
        exp.requires()
    except ClaimSkipped as exc:
        return ("skipped", str(exc), exc.dataset)
    except Exception as exc:
        return ("error", f"checking the data raised {type(exc).__name__}: {exc}", None)
    return None


def _cpu_seconds(exp: Experiment, seed: int, config: Dict[str, Any]) -> float:
    """CPU seconds (process time: robust to other load on the machine) of one run of ``exp``."""
    start = time.process_time()
    exp.run(seed=seed, **config)
    return time.process_time() - start


def _experiments_of(selected: Sequence[Claim], extra: Sequence[Experiment] = ()) -> List[Experiment]:
    """The experiments the claims read, then ``extra``, each once, in that order."""
    exps: List[Experiment] = []
    for exp in [get_experiment(c.paper, n) for c in selected for n in c.experiments] + list(extra):
        if not isinstance(exp, Experiment):
            raise TypeError(f"extra_experiments must hold Experiment objects, got {type(exp).__name__}")
        if not any(exp is e for e in exps):
            exps.append(exp)
    return exps


def _pandas() -> Any:
    import pandas as pd

    return pd


def _progress(enabled: bool, total: int) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the experiments extra
        return None
    return tqdm(total=total, desc="runs", unit="run", dynamic_ncols=True)


def reproduce(
    selected: Sequence[Claim],
    mode: str = "quick",
    store: Optional[RunStore] = None,
    backend: str = "serial",
    address: Optional[str] = None,
    n_workers: Optional[int] = None,
    rerun: bool = False,
    require_data: bool = False,
    allow_missing: Sequence[str] = (),
    progress: bool = False,
    on_experiment: Optional[Callable[[Experiment, int], None]] = None,
    extra_experiments: Sequence[Experiment] = (),
) -> List[Dict[str, Any]]:
    """Runs the missing runs of the claims' experiments (recording each as it finishes), then
    :func:`assess`. Each experiment shared by several claims runs once.

    Parameters
    ----------
    selected : sequence of Claim
    mode : {"quick", "full"}
    store : RunStore, optional
        Where records are read and written (default :func:`default_store`).
    backend, address, n_workers
        As in :func:`bionn.experiments.repeat` (records come back to this process).
    rerun : bool
        Run every planned run again, overwriting its record.
    require_data : bool
        Absent data is an ERROR, not a SKIP ...
    allow_missing : sequence of str
        ... except for these data sets (see :func:`assess`).
    progress : bool
        One tqdm bar over every missing run (done / total, ETA).
    on_experiment : callable, optional
        ``on_experiment(experiment, n_missing)`` before an experiment's runs start.
    extra_experiments : sequence of Experiment
        Experiments to run as well that no selected claim reads (e.g. those of report sections,
        :func:`~bionn.experiments.section_experiments`); they have no verdict.

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) propagates after the runs that finished are recorded; calling
    again continues with the missing ones.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    store = default_store() if store is None else store
    exps = _experiments_of(selected, extra_experiments)
    status: Status = {}
    to_run: List[Tuple[Experiment, int]] = []
    for exp in exps:
        key = (exp.paper, exp.name)
        configs, seeds = exp.plan(mode)
        try:
            missing = len(configs) * len(seeds) if rerun else len(store.missing(exp.paper, exp.name, configs, seeds))
        except ValueError as exc:
            status[key] = ("error", str(exc), None)
            continue
        if missing:
            absent = _data_status(exp)
            if absent is not None:
                status[key] = absent
                continue
            to_run.append((exp, missing))
    bar = _progress(progress, sum(n for _, n in to_run))
    try:
        for exp, missing in to_run:
            if on_experiment is not None:
                on_experiment(exp, missing)
            configs, seeds = exp.plan(mode)
            start = time.perf_counter()
            try:
                repeat(
                    exp.run,
                    seeds,
                    configs,
                    backend=backend,
                    address=address,
                    n_workers=n_workers,
                    progress=bar if bar is not None else False,
                    store=store,
                    paper=exp.paper,
                    experiment=exp.name,
                    rerun=rerun,
                )
            except RunError as exc:
                cause = exc.__cause__
                if isinstance(cause, ClaimSkipped):
                    status[(exp.paper, exp.name)] = ("skipped", str(cause), cause.dataset)
                else:
                    took = time.perf_counter() - start
                    status[(exp.paper, exp.name)] = ("error", f"{exc} (after {took:.0f} s)", None)
            except (TypeError, ValueError, ImportError, OSError) as exc:
                status[(exp.paper, exp.name)] = ("error", f"{type(exc).__name__}: {exc}", None)
    finally:
        if bar is not None:
            bar.close()
    return assess(selected, mode, store, status, require_data=require_data, allow_missing=allow_missing)


def probe(
    selected: Sequence[Claim],
    store: Optional[RunStore] = None,
    epochs: int = 1,
    rerun: bool = False,
    on_experiment: Optional[Callable[[Experiment, Dict[str, Any]], None]] = None,
    extra_experiments: Sequence[Experiment] = (),
) -> List[Dict[str, Any]]:
    """Measures what the full protocols of ``selected``'s experiments cost on this machine: for each
    experiment without full records (every one with ``rerun``), its first config runs for
    ``epochs`` of its ``"epochs"`` and again for twice as many (first seed, in this process, one
    thread). The difference is the cost per epoch; what the shorter run cost beyond its epochs (data
    loading, the final evaluations) is paid once per run. Every other config runs for ``epochs``
    too, since configs can differ in cost (e.g. in width); the estimate averages over them. All is
    stored as a cost probe beside the records (:meth:`RunStore.save_probe`), and the reports' cost
    tables extrapolate it (:func:`~bionn.experiments.records.probe_estimate` × planned runs) for
    experiments with no runs yet.
    ``extra_experiments`` are probed too (see :func:`reproduce`).

    Returns one dict per experiment: ``paper``, ``experiment``, ``status`` (``"probed"``,
    ``"has records"``, ``"no epochs"`` — its config has no ``epochs`` to cut —, ``"skipped"`` — data
    absent — or ``"error"``), ``note``, and for a probe ``seconds``, ``cpu_h_per_run`` and
    ``cpu_h_total`` (the estimates).
    """
    import bionn

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    store = default_store() if store is None else store
    seen = {(e.paper, e.name): e for e in _experiments_of(selected, extra_experiments)}
    out = []
    threads = bionn.get_num_threads()
    try:
        bionn.set_num_threads(1)
        for exp in seen.values():
            row: Dict[str, Any] = {"paper": exp.paper, "experiment": exp.name, "note": ""}
            configs, seeds = exp.plan("full")
            full_epochs = configs[0].get("epochs")
            absent = None
            if exp.requires is not None:
                try:
                    exp.requires()
                except ClaimSkipped as exc:
                    absent = str(exc)
            if not rerun and _experiment_records(store, exp, "full"):
                row.update(status="has records", note="the cost table reads the records' wall times")
            elif absent is not None:
                row.update(status="skipped", note=absent)
            elif isinstance(full_epochs, bool) or not isinstance(full_epochs, int) or full_epochs < 1:
                row.update(status="no epochs", note="its config has no 'epochs' setting to cut a probe from")
            else:
                e1 = min(epochs, full_epochs)
                e2 = min(2 * e1, full_epochs)
                try:
                    took = _cpu_seconds(exp, seeds[0], dict(configs[0], epochs=e1))
                    # A second, longer probe separates what grows with the epochs from what a run
                    # pays once (loading, final evaluations), which the first alone would multiply.
                    fixed = 0.0
                    if e2 > e1:
                        per_epoch = (_cpu_seconds(exp, seeds[0], dict(configs[0], epochs=e2)) - took) / (e2 - e1)
                        fixed = min(max(took - per_epoch * e1, 0.0), took) if per_epoch > 0 else 0.0
                    # Configs can differ in cost (Fig. 6's widths 64-1024): each other one runs for
                    # the same epochs; the fixed part is taken from the first.
                    others = []
                    for config in configs[1:]:
                        full = config.get("epochs")
                        if isinstance(full, bool) or not isinstance(full, int) or full < 1:
                            raise ValueError(f"config {config} has no 'epochs' setting to cut a probe from")
                        others.append((config, full, _cpu_seconds(exp, seeds[0], dict(config, epochs=min(e1, full)))))
                except ClaimSkipped as exc:
                    row.update(status="skipped", note=str(exc))
                except Exception as exc:  # a probe failing must not hide the others
                    row.update(status="error", note=f"{type(exc).__name__}: {exc}")
                else:
                    store.save_probe(exp.paper, exp.name, configs[0], e1, full_epochs, took, fixed, others)
                    per_run = probe_estimate(store.load_probe(exp.paper, exp.name)) / 3600
                    row.update(
                        status="probed",
                        seconds=took,
                        cpu_h_per_run=per_run,
                        cpu_h_total=per_run * exp.n_runs("full"),
                        note=f"{e1} of {full_epochs} epochs in {took:.1f} CPU-s, {fixed:.1f} of them once per run"
                        + (f"; {len(others)} other config(s) for {e1} epoch(s) each" if others else ""),
                    )
            if on_experiment is not None:
                on_experiment(exp, row)
            out.append(row)
    finally:
        bionn.set_num_threads(threads)
    return out
