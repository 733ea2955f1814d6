"""Shared machinery of the bionn vs PyTorch benchmark (benchmarks/run.py is the command line).

- the case registry: :class:`Case`, :func:`register`, :data:`CASES`, and :func:`load_cases`, which
  imports every module of ``benchmarks/cases/`` and puts the cases in run order;
- bases and helpers the case modules share (:class:`_TrainStepCase`, :class:`_PerSampleEpochCase`,
  :func:`torch_per_sample_epoch`, :func:`_check_same_size`);
- timing (:func:`run_case`: interleaved, GC-free timed calls, medians, the other-load measure);
- the machine description and the Markdown table.

Case modules import from this module before they import torch (see the note on OpenMP below).
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Type

import numpy as np

# bionn is imported before torch on purpose: both link an OpenMP runtime with the soname
# libgomp.so.1, so the loader maps only the first one and both libraries share one thread pool.
# Importing bionn first means bionn runs on the same runtime as in a bionn-only process. This is
# the first module to import either (run.py, profile_layers.py and every case module import it
# before torch), so the order holds for the whole process.
import bionn  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # pragma: no cover - the benchmark needs torch
    sys.exit("benchmarks/run.py needs PyTorch (pip install 'bionn[bench]', i.e. torch==2.13.0 CPU)")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the case modules are the package ``cases`` beside this file
    sys.path.insert(0, HERE)

from readme import IDLE_MAX_BUSY  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Case registry
# ---------------------------------------------------------------------------------------------
class Case:
    """One benchmark: the same unit of training work done by bionn and by PyTorch.

    ``setup()`` builds the models, optimizers and (seeded) inputs; it is not timed and runs once,
    after the thread count is set. ``run_bionn()`` / ``run_torch()`` each do one timed unit of work
    (e.g. one training step, or one epoch) and may return anything (ignored).
    """

    name: str = ""
    description: str = ""
    default_repeats: int = 20
    warmup: int = 3
    seed: int = 0
    # False: run only when named with --only (keeps the default run's case list stable).
    in_default_run: bool = True
    # Optional third side, timed interleaved with the other two: a bionn baseline the bionn side is
    # compared with (``run_baseline``); the entry then also has ``baseline_s`` and
    # ``bionn_over_baseline`` (bionn_s / baseline_s, < 1 means the bionn side is cheaper).
    baseline: Optional[str] = None
    # Facts about the case's inputs that ``setup`` wants in the result (e.g. which data set it
    # found); copied into the JSON entry as ``info``.
    info: Optional[Dict[str, object]] = None

    def setup(self) -> None:
        raise NotImplementedError

    def run_bionn(self) -> object:
        raise NotImplementedError

    def run_torch(self) -> object:
        raise NotImplementedError

    def teardown(self) -> None:
        """Drops references so the next case starts with free memory."""
        self.__dict__.clear()


# name -> case class; complete and in run order only after load_cases() (see there).
CASES: Dict[str, Type[Case]] = {}
# True under ``run.py --smoke``: cases whose unit of work is large (whole epochs) shrink their data
# so a structural check runs in seconds. Timings of a smoke run mean nothing.
SMOKE = False
# warn when other processes keep the CPUs more than this busy around the run (such runs do not
# count for the README: benchmarks/readme.py)
BUSY_WARN = IDLE_MAX_BUSY


def register(cls: Type[Case]) -> Type[Case]:
    """Class decorator adding a case to the registry (within its module, cases run in registration order)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in CASES:
        raise ValueError(f"duplicate benchmark case name {cls.name!r}")
    CASES[cls.name] = cls
    return cls


def _check_same_size(bionn_model: bionn.nn.Sequential, torch_model: torch.nn.Module, case: str) -> None:
    nb = bionn_model.num_parameters()
    nt = sum(p.numel() for p in torch_model.parameters())
    if nb != nt:
        raise RuntimeError(f"{case}: bionn model has {nb} parameters, torch model has {nt}")


def load_cases() -> Dict[str, Type[Case]]:
    """Imports every module of ``benchmarks/cases/`` and returns :data:`CASES` in run order.

    Modules are ordered by their ``ORDER`` (an int every case module defines; ties by module
    name), cases within a module by registration order. Files starting with ``_`` are helpers and
    are not imported here. A module that registers no case is an error (it would be dead code).
    """
    package = importlib.import_module("cases")
    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"cases.{info.name}")
        order = getattr(module, "ORDER", None)
        if not isinstance(order, int) or isinstance(order, bool):
            raise TypeError(f"benchmarks/cases/{info.name}.py must define ORDER = <int> (its place in the run)")
        modules.append((order, info.name, module.__name__))
    modules.sort()
    rank = {name: i for i, (_, _, name) in enumerate(modules)}
    for _, short, name in modules:
        if not any(cls.__module__ == name for cls in CASES.values()):
            raise ValueError(f"benchmarks/cases/{short}.py registers no case (helpers go in cases/_{short}.py)")
    ordered = sorted(CASES.values(), key=lambda cls: rank.get(cls.__module__, len(rank)))  # stable
    CASES.clear()
    CASES.update((cls.name, cls) for cls in ordered)
    return CASES


# ---------------------------------------------------------------------------------------------
# Shared bases
# ---------------------------------------------------------------------------------------------
class _TrainStepCase(Case):
    """A case timing one training step: setup() builds bmodel/bloss/bopt and tmodel/tloss/topt."""

    def run_bionn(self) -> float:
        return self.bmodel.train_step(self.x, self.y, self.bloss, self.bopt)

    def run_torch(self) -> float:
        self.topt.zero_grad()
        loss = self.tloss(self.tmodel(self.tx), self.ty)
        loss.backward()
        self.topt.step()
        return loss.item()  # bionn's train_step returns the loss too


def torch_per_sample_epoch(
    model: torch.nn.Module, optimizer: Any, loss_fn: Any, tx: torch.Tensor, ty: torch.Tensor
) -> float:
    """One epoch at batch size 1 as a PyTorch user writes it: shuffle, slice a pre-made tensor per
    step, and track the epoch loss (bionn's fit reports it too)."""
    total = 0.0
    for i in torch.randperm(tx.shape[0]).tolist():
        xb, yb = tx[i : i + 1], ty[i : i + 1]
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / tx.shape[0]


class _PerSampleEpochCase(Case):
    """One epoch at batch size 1: bionn's C++ fit loop vs :func:`torch_per_sample_epoch`.
    ``setup`` builds ``bmodel``/``bloss``/``bopt``, ``tmodel``/``tloss``/``topt`` and the data."""

    def run_bionn(self) -> object:
        return self.bmodel.fit(
            self.x, self.y, loss=self.bloss, optimizer=self.bopt, epochs=1, batch_size=1, shuffle=True
        )

    def run_torch(self) -> float:
        return torch_per_sample_epoch(self.tmodel, self.topt, self.tloss, self.tx, self.ty)


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------
def _time_once(fn: Callable[[], object]) -> float:
    # As timeit does, keep the cyclic GC out of the measured region (it is collected in between).
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


class _OtherLoad:
    """Share of the machine's CPU time used by *other* processes while a case ran (Linux).

    System-wide busy time from /proc/stat minus this process's own CPU time (all its threads,
    including OpenMP threads spinning at barriers), divided by wall time x CPUs. Anything well
    above 0 means the timings were disturbed.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> Optional[tuple]:
        try:
            with open("/proc/stat") as fh:
                v = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(v) - v[3] - (v[4] if len(v) > 4 else 0)
        self_cpu = sum(os.times()[:2])
        return busy / os.sysconf("SC_CLK_TCK"), self_cpu, time.perf_counter()

    def share(self) -> Optional[float]:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[2] - self.start[2]
        if wall <= 0:
            return None
        other = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return round(min(max(other / (wall * (os.cpu_count() or 1)), 0.0), 1.0), 3)


def run_case(case: Case, repeats: int, warmup: int) -> Dict[str, object]:
    case.setup()
    try:
        has_baseline = case.baseline is not None
        for _ in range(warmup):
            case.run_bionn()
            case.run_torch()
            if has_baseline:
                case.run_baseline()  # type: ignore[attr-defined]
        tb: List[float] = []
        tt: List[float] = []
        tbase: List[float] = []
        load = _OtherLoad()
        # Interleaved so both sides see the same machine conditions (load, frequency, caches). Every
        # side is timed right after a garbage collection, which also evicts much of the caches:
        # collecting only before the bionn side made it alone start cold (a FocusDense step looked
        # 4-5 % dearer next to the Dense baseline that followed torch).
        for _ in range(repeats):
            gc.collect()
            tb.append(_time_once(case.run_bionn))
            gc.collect()
            tt.append(_time_once(case.run_torch))
            if has_baseline:
                gc.collect()
                tbase.append(_time_once(case.run_baseline))  # type: ignore[attr-defined]
        other_load = load.share()
        baseline = case.baseline
        info = case.info
    finally:
        case.teardown()
        gc.collect()
    bionn_s = statistics.median(tb)
    torch_s = statistics.median(tt)
    extra: Dict[str, object] = {}
    if tbase:
        baseline_s = statistics.median(tbase)
        extra = {
            "baseline": baseline,
            "baseline_s": baseline_s,
            "bionn_over_baseline": bionn_s / baseline_s,
            "baseline_min_s": min(tbase),
            "baseline_times_s": tbase,
        }
    if info:
        extra["info"] = dict(info)
    return {
        "name": case.name,
        "bionn_s": bionn_s,
        "torch_s": torch_s,
        "ratio": torch_s / bionn_s,
        "description": type(case).description,
        "repeats": repeats,
        "warmup": warmup,
        # The minimum is the least disturbed sample: compare it with the median to judge noise.
        "bionn_min_s": min(tb),
        "torch_min_s": min(tt),
        "ratio_of_min": min(tt) / min(tb),
        "other_load": other_load,
        "bionn_times_s": tb,
        "torch_times_s": tt,
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# Peak memory (one fresh process per case and side: run.py --memory)
# ---------------------------------------------------------------------------------------------
def _status_mb(key: str) -> Optional[float]:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def _reset_peak() -> bool:
    """Resets this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_probe(name: str, side: str, runs: int = 2) -> Dict[str, Optional[float]]:
    """Peak resident memory of one side of a case, measured in this (fresh) process.

    ``imports_mb``: RSS with both libraries imported; ``peak_mb``: the process's peak RSS after
    ``setup()`` and ``runs`` units of work of ``side`` only (VmHWM; setup builds both sides' models
    and the shared data, so the two sides' figures differ by what training itself allocates);
    ``train_mb``: the peak above the RSS right after setup, while training (the working memory:
    activations, gradients, optimizer state and whatever the library allocates lazily), when the
    kernel lets the peak be reset (``/proc/self/clear_refs``), else None.
    """
    gc.collect()
    imports_mb = _status_mb("VmRSS")
    case = CASES[name]()
    case.setup()
    gc.collect()
    setup_mb = _status_mb("VmRSS")
    peak_before_runs = _status_mb("VmHWM")
    reset = _reset_peak()
    fn = case.run_bionn if side == "bionn" else case.run_torch
    for _ in range(runs):
        fn()
    peak = _status_mb("VmHWM")
    return {
        "imports_mb": imports_mb,
        "setup_mb": setup_mb,
        "peak_mb": None if peak is None else max(peak, peak_before_runs or 0.0),
        "train_mb": (peak - setup_mb) if reset and peak is not None and setup_mb is not None else None,
    }


# ---------------------------------------------------------------------------------------------
# Machine description and table
# ---------------------------------------------------------------------------------------------


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _openmp_runtime() -> Optional[str]:
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                if "libgomp" in line or "libiomp" in line or "libomp" in line:
                    return line.split()[-1]
    except OSError:
        pass
    return None


def _cpu_busy(window: float = 1.0) -> Optional[float]:
    """Fraction of all CPUs busy (any process) during ``window`` seconds while we sleep (Linux)."""

    def snap() -> Optional[List[int]]:
        try:
            with open("/proc/stat") as fh:
                return [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None

    a = snap()
    if a is None:
        return None
    time.sleep(window)
    b = snap()
    if b is None:
        return None
    d = [y - x for x, y in zip(a, b)]
    total = sum(d)
    idle = d[3] + (d[4] if len(d) > 4 else 0)  # idle + iowait
    return round(1.0 - idle / total, 3) if total > 0 else None


def _loadavg() -> Optional[List[float]]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _core_fingerprint() -> Optional[str]:
    """Short hash of the installed extension: tells apart runs on different builds of one commit."""
    import hashlib

    path = getattr(bionn._core, "__file__", None)
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return f"{os.path.basename(path)}:{hashlib.sha256(fh.read()).hexdigest()[:12]}"
    except OSError:
        return None


def _git_commit() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def machine_info(threads: int) -> Dict[str, object]:
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "bionn": bionn.__version__,
        "gemm": _gemm_label(),
    }


def _gemm_label() -> str:
    from bionn._blas import gemm_label

    return gemm_label()


def _mb(c: Dict[str, object], what: str) -> str:
    b, t = c.get(f"bionn_{what}_mb"), c.get(f"torch_{what}_mb")
    return f"{'?' if b is None else f'{b:.0f}'} / {'?' if t is None else f'{t:.0f}'}"


def markdown_table(result: Dict[str, object]) -> str:
    m = result["machine"]
    memory = any("bionn_peak_mb" in c for c in result["cases"])
    lines = [
        f"bionn {m['bionn']} vs torch {m['torch']} on {m['cpu']} ({m['cores']} cores), "
        f"{m['threads']} thread(s), Python {m['python']}, NumPy {m['numpy']}, bionn's GEMM {m.get('gemm', 'eigen')}.",
        "Median wall time per unit of work, warm-up excluded; ratio = torch / bionn (> 1: bionn faster).",
        "",
        "| case | bionn (ms) | torch (ms) | ratio (torch/bionn) | ratio of minima | repeats | other load |"
        + (" peak RSS MB bionn / torch | training MB bionn / torch |" if memory else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if memory else ""),
    ]
    for c in result["cases"]:
        rmin = f"{c['ratio_of_min']:.2f}x" if "ratio_of_min" in c else ""
        other = c.get("other_load")
        other_s = "" if other is None else f"{100 * other:.0f}%"
        lines.append(
            f"| {c['name']} | {1e3 * c['bionn_s']:.3f} | {1e3 * c['torch_s']:.3f} | "
            f"{c['ratio']:.2f}x | {rmin} | {c.get('repeats', '')} | {other_s} |"
            + (f" {_mb(c, 'peak')} | {_mb(c, 'train')} |" if memory else "")
        )
    st = result.get("settings", {})
    busy = [b for b in (st.get("cpu_busy_before"), st.get("cpu_busy_after")) if b is not None]
    busy += [c["other_load"] for c in result["cases"] if c.get("other_load") is not None]
    if busy and max(busy) > BUSY_WARN:
        lines += [
            "",
            f"WARNING: other processes kept the CPUs up to {100 * max(busy):.0f}% busy during or around "
            f"the run (see other_load / cpu_busy_* in the JSON): timings are inflated and noisy.",
        ]
    return "\n".join(lines) + "\n"
