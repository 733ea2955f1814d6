"""What bionn runs on: :func:`show_config` (like ``numpy.show_config()``) and the oversubscription
check of :meth:`bionn.nn.Sequential.fit` (:class:`OversubscriptionWarning`).

The C++ core reports what it was compiled with (``_core.build_info()``: instruction-set level, the
SIMD instruction sets Eigen uses, Eigen version, compiler, OpenMP version) and its thread count;
:mod:`bionn._isa` tells which builds of the core exist, what the CPU supports and which build was
loaded; the rest is read from the running process (the OpenMP runtime mapped into it, the CPU
affinity, the cgroup CPU quota and the load).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = ["show_config", "cpu_budget", "OversubscriptionWarning", "check_threads"]


class OversubscriptionWarning(RuntimeWarning):
    """bionn's threads get far less CPU than their number (a loaded machine or a CPU quota): OpenMP
    threads then wait on each other, and training can be slower than with one thread. Silence it
    with ``warnings.simplefilter("ignore", bionn.OversubscriptionWarning)``."""


# ------------------------------------------------------------------------------------------------
# the CPU budget
# ------------------------------------------------------------------------------------------------


def _cgroup_quota() -> Optional[float]:
    """CPUs allowed by the cgroup (v2 ``cpu.max`` or v1 ``cfs_quota_us``), None when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def _running_others() -> Optional[float]:
    """Runnable tasks other than the caller, the median of a few samples of ``/proc/loadavg``."""
    samples = []
    for _ in range(5):
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        samples.append(max(0, running - 1))
        time.sleep(0.002)
    return float(sorted(samples)[len(samples) // 2])


def cpu_budget() -> Dict[str, Any]:
    """The CPUs this process can use and how busy the machine is.

    Returns
    -------
    dict
        ``cpu_count`` (logical CPUs), ``affinity`` (CPUs the process may run on), ``quota`` (cgroup
        CPU quota or None), ``cpus`` (the least of the three), ``load`` (1-minute load average or
        None), ``others`` (other runnable tasks now, or None), ``busy`` (the load the process
        competes with: the smaller of ``load`` and ``others``, which discounts the process's own
        past load).
    """
    count = os.cpu_count() or 1
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = count
    quota = _cgroup_quota()
    cpus = float(min(count, affinity, quota if quota is not None else count))
    try:
        load: Optional[float] = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    others = _running_others()
    busy = None if load is None and others is None else min(v for v in (load, others) if v is not None)
    return dict(cpu_count=count, affinity=affinity, quota=quota, cpus=cpus, load=load, others=others, busy=busy)


def expected_share(threads: int, budget: Dict[str, Any]) -> float:
    """CPUs ``threads`` busy threads can expect: all of them while ``busy + threads <= cpus``,
    else their fair part ``threads * cpus / (busy + threads)``."""
    cpus, busy = budget["cpus"], budget["busy"] or 0.0
    return min(float(threads), threads * cpus / max(cpus, busy + threads))


_CACHE: Dict[str, Any] = {}
_LOCK = threading.Lock()
_WARNED: set = set()


def check_threads(threads: Optional[int] = None, stacklevel: int = 3, ratio: float = 0.75) -> Optional[str]:
    """Warns (:class:`OversubscriptionWarning`, once per process and thread count) when ``threads``
    (default: bionn's) > 1 can expect less than ``ratio`` of a CPU each; returns the message or
    None. The budget is measured at most once a minute."""
    if threads is None:
        from . import get_num_threads

        threads = get_num_threads()
    if threads <= 1:
        return None
    with _LOCK:
        now = time.monotonic()
        if "budget" not in _CACHE or now - _CACHE["at"] > 60.0:
            _CACHE.update(budget=cpu_budget(), at=now)
        budget = _CACHE["budget"]
    share = expected_share(threads, budget)
    if share >= ratio * threads:
        return None
    why = (
        f"the process may use {budget['cpus']:g} CPU(s)"
        if threads > budget["cpus"]
        else f"the machine is busy ({budget['busy']:g} other runnable task(s) on {budget['cpus']:g} CPU(s))"
    )
    msg = (
        f"bionn runs {threads} threads but can expect about {share:.2g} CPU(s): {why}. OpenMP threads "
        f"then wait on each other and training may be slower than with fewer threads; call "
        f"bionn.set_num_threads({max(1, int(share))}) or set OMP_NUM_THREADS={max(1, int(share))} (or start "
        f"Python with OMP_WAIT_POLICY=passive, so that waiting threads sleep instead of spinning)."
    )
    if threads not in _WARNED:
        _WARNED.add(threads)
        warnings.warn(msg, OversubscriptionWarning, stacklevel=stacklevel)
    return msg


# ------------------------------------------------------------------------------------------------
# show_config
# ------------------------------------------------------------------------------------------------


def _openmp_runtime() -> Optional[str]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    libs = sorted({line.rsplit("/", 1)[-1] for line in maps.splitlines() if "omp" in line.rsplit("/", 1)[-1]})
    return ", ".join(libs) or None


_SIMD = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "neon", "asimd")


def _cpu_flags(features: Dict[str, bool]) -> List[str]:
    """The CPU's SIMD extensions: from bionn._cpu on x86-64, else from /proc/cpuinfo."""
    if features:
        return [name for name, on in features.items() if on]
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in _SIMD if f in flags]
    except OSError:
        pass
    return []


def config_info() -> Dict[str, Any]:
    """What :func:`show_config` prints, as a dict."""
    import numpy

    from . import __version__, _blas, _core, _isa, get_num_threads

    build = _core.build_info() if hasattr(_core, "build_info") else {}
    isa = _isa.state()
    budget = cpu_budget()
    threads = get_num_threads()
    simd = build.get("simd")
    return {
        "bionn": {"version": __version__, "core": str(Path(_core.__file__)), "python": sys.version.split()[0]},
        "build": {
            "compiler": build.get("compiler"),
            "openmp": bool(getattr(_core, "has_openmp", False)),
            "openmp_version": build.get("openmp"),
            "eigen": build.get("eigen"),
            # the build loaded (chosen at import among isa_builds) and the SIMD sets Eigen uses in it
            "isa": f"{build.get('isa', 'unknown')} ({simd})" if simd else build.get("isa"),
            "isa_builds": isa.get("built", []),
        },
        # the GEMM library (bionn.set_blas): eigen, or a CBLAS opened at run time
        "blas": _blas.blas_info(),
        "runtime": {
            "cpu_level": isa.get("cpu") or None,
            "BIONN_ISA": os.environ.get(_isa.ENV),
            "cpu_simd": _cpu_flags(isa.get("features") or {}),  # type: ignore[arg-type]
            "openmp_runtime": _openmp_runtime(),
            "threads": threads,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            **{k: budget[k] for k in ("cpu_count", "affinity", "quota", "cpus", "busy")},
            "load": None if budget["load"] is None else round(budget["load"], 2),
            "expected_cpu_share": round(expected_share(threads, budget), 2),
        },
        "numpy": numpy.__version__,
    }


def show_config(mode: str = "stdout") -> Optional[Dict[str, Any]]:
    """Prints (``mode="stdout"``) or returns (``mode="dicts"``) how bionn was built and what it
    runs on: version, compiler, OpenMP (compiled in, version, runtime library loaded), the Eigen
    version compiled in, the instruction-set builds of the core and the one in use (``isa``, with
    the SIMD instruction sets Eigen uses; ``BIONN_ISA`` caps it), the CPU's level and SIMD
    extensions, threads, the process's CPU budget (affinity, cgroup quota, load) and numpy. Paste
    it into bug and performance reports.
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"mode must be 'stdout' or 'dicts', got {mode!r}")
    info = config_info()
    if mode == "dicts":
        return info
    for section, values in info.items():
        if not isinstance(values, dict):
            print(f"{section}: {values}")
            continue
        print(f"{section}:")
        for key, value in values.items():
            if isinstance(value, list):
                value = " ".join(value) or "-"
            print(f"  {key}: {'-' if value is None else value}")
    share = info["runtime"]["expected_cpu_share"]
    if share < 0.75 * info["runtime"]["threads"]:
        print(
            f"note: {info['runtime']['threads']} threads can expect about {share} CPU(s) now "
            "(see OversubscriptionWarning)"
        )
    return None
