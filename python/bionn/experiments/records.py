"""Run records: one small JSON file per training run, so protocols resume and verdicts recompute.

A run is identified by ``(paper, experiment, config, seed)``. :class:`RunStore` keeps one record per
run under a root directory::

    <root>/<paper>/<experiment>/<config-slug>-<hash8>/seed-<seed>.json

where ``hash8`` is the first 8 hex digits of the SHA-256 of the config's canonical JSON (sorted
keys, no NaN, JSON types only) and ``config-slug`` a short readable form of the config
(``epochs=200_model=focus-s``). :func:`bionn.experiments.repeat` with ``store=`` skips runs that
have a record and writes each finished run's record as soon as it finishes, so an interrupted
protocol continues where it stopped.

Record (``"format": "bionn.run"``, ``"version": 1``)::

    {"format", "version", "paper", "experiment", "config", "seed", "metrics", "curves",
     "wall_time_s", "bionn_version", "git_commit", "machine": {"cpu", "cores", "threads", "platform"[, "gemm"]},
     "created", "nonfinite"}

``machine.gemm`` (since bionn's run-time BLAS option; absent in older records) names the GEMM
library the run used: ``"eigen"``, ``"openblas <version>"`` or a library file name.

Decisions
---------
* Values: NumPy scalars and arrays are converted to Python numbers and lists, tuples to lists;
  anything else that is not JSON raises :class:`TypeError` naming the key. Configs must be finite
  (a NaN config has no stable identity: :class:`ValueError`). ``1`` and ``1.0`` are different
  configs (their JSON differs).
* NaN/Inf in metrics or curves (a diverged run is a result, not an error) are written as JSON
  ``null`` and listed in ``"nonfinite"`` (``[{"path": ["metrics", "loss"], "value": "nan"}]``);
  :meth:`RunStore.load` puts them back as floats, so a record reads back exactly as saved and the
  file stays strict JSON. Verdict code sees the NaN, as it would from :func:`repeat`.
* Loading validates everything; a corrupt or crafted file raises :class:`ValueError` naming its
  path (also from :meth:`RunStore.records`: a bad record is never skipped silently). Delete it,
  or rerun with ``rerun=True``, which overwrites it.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
import numbers
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..io import atomic_write
from .sweep import _check_configs, _check_seeds, _machine_info, _to_frame

__all__ = ["RunStore", "default_store", "probe_estimate", "RESULTS_ENV", "FORMAT", "VERSION"]

FORMAT = "bionn.run"
PROBE_FORMAT = "bionn.probe"
VERSION = 1
RESULTS_ENV = "BIONN_RESULTS"
_SLUG_MAX = 60
_MAX_BYTES = 64 << 20  # a record is small; refuse to parse anything huge
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_SEED_FILE_RE = re.compile(r"^seed-(0|[1-9][0-9]*)\.json$")
_KEYS = (
    "format",
    "version",
    "paper",
    "experiment",
    "config",
    "seed",
    "metrics",
    "curves",
    "wall_time_s",
    "bionn_version",
    "git_commit",
    "machine",
    "created",
    "nonfinite",
)
_MACHINE_KEYS = ("cpu", "cores", "threads", "platform")
_MACHINE_OPTIONAL = ("gemm",)
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

PathLike = Union[str, "os.PathLike[str]"]


# -- the repository and the default store ------------------------------------------------------------
def _is_checkout(path: Path) -> bool:
    """Whether ``path`` is the root of a bionn source checkout."""
    try:
        if not (path / "python" / "bionn").is_dir():
            return False
        text = (path / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r'^name\s*=\s*"bionn"', text, flags=re.MULTILINE) is not None


def _source_checkout() -> Optional[Path]:
    """The bionn source checkout in use: the one the package runs from (``<repo>/python/bionn``,
    an editable or ``PYTHONPATH`` install), else the current directory or one of its parents
    (an installed bionn run from inside a checkout, as CI does); None elsewhere."""
    here = Path(__file__).resolve().parents[3]
    if _is_checkout(here):
        return here
    cwd = Path.cwd().resolve()
    for path in (cwd, *cwd.parents):
        if _is_checkout(path):
            return path
    return None


def default_store() -> RunStore:
    """``$BIONN_RESULTS`` if set, else ``<checkout>/results`` when run from a source checkout
    (see ``_source_checkout``), else ``~/.cache/bionn/results``."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return RunStore(Path(env).expanduser())
    repo = _source_checkout()
    if repo is not None:
        return RunStore(repo / "results")
    return RunStore(Path.home() / ".cache" / "bionn" / "results")


@functools.lru_cache(maxsize=1)
def _git_commit() -> Optional[str]:
    """``git rev-parse HEAD`` of the checkout bionn runs from, or None (cached, never raises)."""
    try:
        repo = _source_checkout()
        if repo is None or not (repo / ".git").exists():
            return None
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
        commit = out.stdout.strip()
        return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None
    except Exception:
        return None


def _bionn_version() -> Optional[str]:
    import sys

    v = getattr(sys.modules.get("bionn"), "__version__", None)
    return v if isinstance(v, str) else None


# -- JSON normalisation --------------------------------------------------------------------------------
def _plain(value: Any, where: str, nonfinite: Optional[List[Dict[str, Any]]], path: Tuple[Any, ...]) -> Any:
    """``value`` as plain JSON types. Non-finite floats: collected in ``nonfinite`` (as null), or
    ValueError when ``nonfinite`` is None."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        f = float(value)
        if math.isfinite(f):
            return f
        if nonfinite is None:
            raise ValueError(f"{where} is {f}; NaN/Inf have no stable identity")
        nonfinite.append({"path": list(path), "value": "nan" if f != f else ("inf" if f > 0 else "-inf")})
        return None
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}")
            out[k] = _plain(v, f"{where}[{k!r}]", nonfinite, path + (k,))
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", nonfinite, path + (i,)) for i, v in enumerate(value)]
    raise TypeError(f"{where} is a {type(value).__name__}, which is not a JSON type")


def _canonical(config: Mapping[str, Any]) -> Tuple[Dict[str, Any], str]:
    """(the config as plain JSON types in its own key order, its canonical JSON text)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    plain = {}
    for k, v in config.items():
        if not isinstance(k, str):
            raise TypeError(f"config key {k!r} is not a string")
        plain[k] = _plain(v, f"config key {k!r}", None, ())
    return plain, json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _slug(plain: Mapping[str, Any]) -> str:
    def short(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":"))

    text = "_".join(f"{k}={short(plain[k])}" for k in sorted(plain)) or "default"
    text = re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip(".-_") or "config"
    return text[:_SLUG_MAX].rstrip(".-_")


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not _NAME_RE.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} must be 1-128 of A-Z a-z 0-9 . _ + - (not starting with . _ + -)")
    return value


def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


def _restore(record: Dict[str, Any], path: Path) -> None:
    """Puts the floats listed in ``record["nonfinite"]`` back (each must point at a null)."""
    for item in record["nonfinite"]:
        if not isinstance(item, dict) or set(item) != {"path", "value"} or item["value"] not in _NONFINITE:
            raise ValueError("bad nonfinite entry")
        where = item["path"]
        if not isinstance(where, list) or len(where) < 2 or where[0] not in ("metrics", "curves"):
            raise ValueError("bad nonfinite path")
        node: Any = record
        for step in where[:-1]:
            node = node[step]
        last = where[-1]
        if isinstance(node, dict) and isinstance(last, str) and last in node and node[last] is None:
            node[last] = _NONFINITE[item["value"]]
        elif (
            isinstance(node, list) and type(last) is int and 0 <= last < len(node) and node[last] is None  # noqa: E721
        ):
            node[last] = _NONFINITE[item["value"]]
        else:
            raise ValueError(f"nonfinite path {where} does not point at a null")


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def probe_estimate(probe: Mapping[str, Any]) -> float:
    """CPU seconds of one full run, on average over the experiment's configs, from a cost probe
    (:meth:`RunStore.load_probe`): per probed config, the fixed part once and the rest per epoch
    times the full protocol's epochs. A probe of the first config only (older probes) stands for
    every config."""
    fixed = float(probe.get("fixed_time_s", 0.0))
    epochs = int(probe["epochs"])
    costs = [(float(probe["cpu_time_s"]), int(probe["full_epochs"]))]
    costs += [(float(o["cpu_time_s"]), int(o["full_epochs"])) for o in probe.get("others", ())]
    return sum(fixed + max(t - fixed, 0.0) / epochs * full for t, full in costs) / len(costs)


class RunStore:
    """A directory of run records; see the module docstring for layout and schema.

    Parameters
    ----------
    root : str or os.PathLike
        The directory (created on the first save).
    """

    def __init__(self, root: PathLike) -> None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str or os.PathLike, got {type(root).__name__}")
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunStore) and other.root == self.root

    __hash__ = None  # type: ignore[assignment]

    # -- keys ----------------------------------------------------------------------------------------
    def key(self, paper: str, experiment: str, config: Mapping[str, Any], seed: int) -> Path:
        """The record's path: ``root/paper/experiment/<slug>-<hash8>/seed-<seed>.json``.

        Raises TypeError for a config value that is not a JSON type (naming its key), ValueError
        for a NaN/Inf config value or a paper/experiment name that is not filesystem-safe."""
        _check_name(paper, "paper")
        _check_name(experiment, "experiment")
        seed = _check_seed(seed)
        plain, text = _canonical(config)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        return self.root / paper / experiment / f"{_slug(plain)}-{digest}" / f"seed-{seed}.json"

    # -- writing -------------------------------------------------------------------------------------
    def save(
        self,
        paper: str,
        experiment: str,
        config: Mapping[str, Any],
        seed: int,
        metrics: Mapping[str, Any],
        *,
        curves: Optional[Mapping[str, Sequence[Any]]] = None,
        wall_time: Optional[float] = None,
        machine: Optional[Mapping[str, Any]] = None,
    ) -> Path:
        """Writes the run's record atomically (replacing an older one) and returns its path.

        ``metrics``: a dict of JSON values (NumPy converted); ``curves``: a dict of lists (e.g.
        per-epoch losses); NaN/Inf in either are recorded as described in the module docstring.
        ``machine`` defaults to this process's (``repeat`` passes the worker's)."""
        path = self.key(paper, experiment, config, seed)
        plain_config, _ = _canonical(config)
        nonfinite: List[Dict[str, Any]] = []
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a dict, got {type(metrics).__name__}")
        plain_metrics = _plain(metrics, "metric", nonfinite, ("metrics",))
        plain_curves = None
        if curves is not None:
            if not isinstance(curves, Mapping):
                raise TypeError(f"curves must be a dict of lists, got {type(curves).__name__}")
            plain_curves = _plain(curves, "curve", nonfinite, ("curves",))
            for k, v in plain_curves.items():
                if not isinstance(v, list):
                    raise TypeError(f"curve {k!r} must be a list, got {type(curves[k]).__name__}")
        if wall_time is not None:
            if isinstance(wall_time, bool) or not isinstance(wall_time, numbers.Real) or not wall_time >= 0:
                raise ValueError(f"wall_time must be a finite number >= 0, got {wall_time!r}")
            wall_time = float(wall_time)
            if not math.isfinite(wall_time):
                raise ValueError(f"wall_time must be finite, got {wall_time}")
        record = {
            "format": FORMAT,
            "version": VERSION,
            "paper": paper,
            "experiment": experiment,
            "config": plain_config,
            "seed": int(seed),
            "metrics": plain_metrics,
            "curves": plain_curves,
            "wall_time_s": wall_time,
            "bionn_version": _bionn_version(),
            "git_commit": _git_commit(),
            "machine": dict(machine) if machine is not None else _machine_info(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "nonfinite": nonfinite,
        }
        self._validate(json.loads(json.dumps(record)), path)  # what load() would refuse is never written
        blob = json.dumps(record, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=False) as fh:
            fh.write(blob)
        return path

    # -- reading -------------------------------------------------------------------------------------
    def load(self, paper: str, experiment: str, config: Mapping[str, Any], seed: int) -> Optional[Dict[str, Any]]:
        """The run's record (NaN/Inf restored), or None if there is none; ValueError naming the
        path if the file is corrupt, crafted or belongs to another run."""
        path = self.key(paper, experiment, config, seed)
        record = self._read(path)
        if record is None:
            return None
        expect = {"paper": paper, "experiment": experiment, "config": _canonical(config)[1], "seed": int(seed)}
        got = {k: record[k] for k in ("paper", "experiment", "seed")}
        got["config"] = _canonical(record["config"])[1]
        if got != expect:
            raise ValueError(f"{str(path)!r} holds the record of another run ({got}, expected {expect})")
        return record

    def has(self, paper: str, experiment: str, config: Mapping[str, Any], seed: int) -> bool:
        """Whether a valid record exists (a corrupt one raises ValueError, like :meth:`load`)."""
        return self.load(paper, experiment, config, seed) is not None

    def records(self, paper: str, experiment: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every record of ``paper`` (or of one experiment), sorted by experiment, canonical config
        and seed. Each is validated and must sit at its own key; otherwise ValueError."""
        _check_name(paper, "paper")
        base = self.root / paper
        if experiment is not None:
            _check_name(experiment, "experiment")
            exp_dirs = [base / experiment]
        else:
            exp_dirs = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        found = []
        for exp_dir in exp_dirs:
            if not exp_dir.is_dir():
                continue
            for config_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir()):
                for f in sorted(config_dir.iterdir()):
                    if not _SEED_FILE_RE.match(f.name):
                        continue  # temporary files of a write in progress, stray files
                    record = self._read(f)
                    if record is None:
                        continue  # removed meanwhile
                    try:
                        own = self.key(record["paper"], record["experiment"], record["config"], record["seed"])
                    except (TypeError, ValueError) as exc:
                        raise ValueError(f"{str(f)!r} is not a valid run record: {exc}") from None
                    if own.resolve() != f.resolve():
                        raise ValueError(f"{str(f)!r} holds the record of another run (it belongs at {str(own)!r})")
                    found.append(record)
        found.sort(key=lambda r: (r["experiment"], _canonical(r["config"])[1], r["seed"]))
        return found

    def missing(
        self, paper: str, experiment: str, configs: Optional[Sequence[Mapping[str, Any]]], seeds: Iterable[int]
    ) -> List[Tuple[Dict[str, Any], int]]:
        """The ``(config, seed)`` pairs without a record, in :func:`repeat`'s order (config, then seed)."""
        seed_list = _check_seeds(seeds)
        return [(c, s) for c in _check_configs(configs) for s in seed_list if not self.has(paper, experiment, c, s)]

    def frame(
        self,
        paper: str,
        experiment: str,
        configs: Optional[Sequence[Mapping[str, Any]]] = None,
        seeds: Optional[Iterable[int]] = None,
    ) -> Any:
        """The records as a DataFrame shaped like :func:`repeat`'s: config keys, ``seed``, metrics
        (not curves). Without ``configs``/``seeds``: every record of the experiment, ordered by
        canonical config then seed. With both: exactly those runs in :func:`repeat`'s order
        (KeyError if one has no record)."""
        import pandas as pd

        if (configs is None) != (seeds is None):
            raise TypeError("pass both configs and seeds, or neither")
        if seeds is None:
            recs = self.records(paper, experiment)
            tasks = [(r["seed"], r["config"]) for r in recs]
        else:
            tasks = [(s, c) for c in _check_configs(configs) for s in _check_seeds(seeds)]
            recs = []
            for s, c in tasks:
                r = self.load(paper, experiment, c, s)
                if r is None:
                    raise KeyError(f"no record of {paper}/{experiment} config={c} seed={s} in {self}")
                recs.append(r)
        return _to_frame(pd, tasks, [r["metrics"] for r in recs])

    # -- cost probes ---------------------------------------------------------------------------------
    def probe_path(self, paper: str, experiment: str) -> Path:
        """Where the cost probe of an experiment lives: ``root/paper/_probes/<experiment>.json``."""
        _check_name(paper, "paper")
        _check_name(experiment, "experiment")
        return self.root / paper / "_probes" / f"{experiment}.json"

    def save_probe(
        self,
        paper: str,
        experiment: str,
        config: Mapping[str, Any],
        epochs: int,
        full_epochs: int,
        cpu_time: float,
        fixed_time: float = 0.0,
        others: Sequence[Tuple[Mapping[str, Any], int, float]] = (),
    ) -> Path:
        """Records a cost probe: ``config`` (the full protocol's first) run for ``epochs`` of its
        ``full_epochs`` epochs took ``cpu_time`` CPU seconds on this machine (one thread), of which
        ``fixed_time`` does not grow with the epochs (data loading, the final evaluations: measured
        by a second, longer probe). ``others``: the experiment's other configs as ``(config,
        full_epochs, cpu_time)``, each run for the same ``epochs`` (configs can differ in cost, e.g.
        in width). :func:`probe_estimate` extrapolates them to a full run."""
        path = self.probe_path(paper, experiment)
        plain, _ = _canonical(config)

        def check_epochs(name: str, v: Any) -> None:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")

        def check_time(name: str, v: Any) -> None:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v < math.inf:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")

        check_epochs("epochs", epochs)
        check_epochs("full_epochs", full_epochs)
        check_time("cpu_time", cpu_time)
        if isinstance(fixed_time, bool) or not isinstance(fixed_time, numbers.Real) or not 0 <= fixed_time <= cpu_time:
            raise ValueError(f"fixed_time must be a number in [0, cpu_time], got {fixed_time!r}")
        other_rows = []
        for i, item in enumerate(others):
            if not isinstance(item, (tuple, list)) or len(item) != 3:
                raise ValueError(f"others[{i}] must be a (config, full_epochs, cpu_time) triple")
            other_config, other_full, other_time = item
            check_epochs(f"others[{i}] full_epochs", other_full)
            check_time(f"others[{i}] cpu_time", other_time)
            other_rows.append(
                {"config": _canonical(other_config)[0], "full_epochs": int(other_full), "cpu_time_s": float(other_time)}
            )
        probe = {
            "format": PROBE_FORMAT,
            "version": VERSION,
            "paper": paper,
            "experiment": experiment,
            "config": plain,
            "epochs": int(epochs),
            "full_epochs": int(full_epochs),
            "cpu_time_s": float(cpu_time),
            "fixed_time_s": float(fixed_time),
            "others": other_rows,
            "machine": _machine_info(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=False) as fh:
            fh.write(json.dumps(probe, indent=1, allow_nan=False, ensure_ascii=False) + "\n")
        return path

    def load_probe(self, paper: str, experiment: str) -> Optional[Dict[str, Any]]:
        """The experiment's cost probe, or None; ValueError naming the path if it is corrupt."""
        path = self.probe_path(paper, experiment)
        try:
            if path.stat().st_size > _MAX_BYTES:
                raise ValueError(f"larger than {_MAX_BYTES} bytes")
            probe = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            raise ValueError(f"{str(path)!r} cannot be read as a cost probe: {exc}") from None
        try:
            if not isinstance(probe, dict) or probe.get("format") != PROBE_FORMAT:
                raise ValueError(f"format is not {PROBE_FORMAT!r}")
            if (probe.get("paper"), probe.get("experiment")) != (paper, experiment):
                raise ValueError("it belongs to another experiment")
            _canonical(probe.get("config"))
            for k in ("epochs", "full_epochs"):
                if type(probe.get(k)) is not int or probe[k] < 1:  # noqa: E721
                    raise ValueError(f"{k} {probe.get(k)!r} is not an int >= 1")
            ct = probe.get("cpu_time_s")
            if type(ct) not in (int, float) or not 0 <= ct < math.inf:
                raise ValueError(f"cpu_time_s {ct!r} is not a number >= 0")
            fixed = probe.setdefault("fixed_time_s", 0.0)  # absent in probes older than the field
            if type(fixed) not in (int, float) or not 0 <= fixed <= ct:
                raise ValueError(f"fixed_time_s {fixed!r} is not a number in [0, cpu_time_s]")
            others = probe.setdefault("others", [])  # absent in probes of the first config only
            if not isinstance(others, list):
                raise ValueError("others is not a list")
            for i, o in enumerate(others):
                if not isinstance(o, dict):
                    raise ValueError(f"others[{i}] is not an object")
                _canonical(o.get("config"))
                if type(o.get("full_epochs")) is not int or o["full_epochs"] < 1:  # noqa: E721
                    raise ValueError(f"others[{i}] full_epochs {o.get('full_epochs')!r} is not an int >= 1")
                t = o.get("cpu_time_s")
                if type(t) not in (int, float) or not 0 <= t < math.inf:
                    raise ValueError(f"others[{i}] cpu_time_s {t!r} is not a number >= 0")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{str(path)!r} is not a valid cost probe: {exc}") from None
        return probe

    # -- validation ----------------------------------------------------------------------------------
    def _read(self, path: Path) -> Optional[Dict[str, Any]]:
        try:
            if path.stat().st_size > _MAX_BYTES:
                raise ValueError(f"larger than {_MAX_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{str(path)!r} cannot be read as a run record: {exc}") from None
        try:
            record = json.loads(text, parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{str(path)!r} is corrupt or truncated (not JSON): {exc}") from None
        self._validate(record, path)
        return record

    @staticmethod
    def _validate(record: Any, path: Path) -> None:
        """Checks a parsed record in place (restoring NaN/Inf); ValueError naming ``path``."""
        try:
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if record.get("format") != FORMAT:
                raise ValueError(f"format is {record.get('format')!r}, not {FORMAT!r}")
            v = record.get("version")
            if type(v) is not int or v != VERSION:  # noqa: E721 - bool is not a version
                raise ValueError(f"version {v!r}; this bionn reads version {VERSION}")
            if set(record) != set(_KEYS):
                raise ValueError(f"keys {sorted(record)} differ from {sorted(_KEYS)}")
            _check_name(record["paper"], "paper")
            _check_name(record["experiment"], "experiment")
            if type(record["seed"]) is not int or record["seed"] < 0:  # noqa: E721
                raise ValueError(f"seed {record['seed']!r} is not an int >= 0")
            _canonical(record["config"])
            if not isinstance(record["metrics"], dict):
                raise ValueError("metrics is not an object")
            curves = record["curves"]
            if curves is not None and not (
                isinstance(curves, dict) and all(isinstance(c, list) for c in curves.values())
            ):
                raise ValueError("curves is not null or an object of lists")
            wt = record["wall_time_s"]
            if wt is not None and (type(wt) not in (int, float) or not 0 <= wt < math.inf):
                raise ValueError(f"wall_time_s {wt!r} is not a number >= 0")
            for k in ("bionn_version", "git_commit"):
                if record[k] is not None and not isinstance(record[k], str):
                    raise ValueError(f"{k} is not a string or null")
            m = record["machine"]
            if not isinstance(m, dict) or not set(_MACHINE_KEYS) <= set(m) <= set(_MACHINE_KEYS + _MACHINE_OPTIONAL):
                raise ValueError(f"machine must hold {list(_MACHINE_KEYS)} (and optionally {list(_MACHINE_OPTIONAL)})")
            if not all(m.get(k) is None or isinstance(m[k], str) for k in ("cpu", "platform", "gemm")):
                raise ValueError("machine cpu/platform/gemm are not strings")
            if not all(m[k] is None or (type(m[k]) is int and m[k] >= 1) for k in ("cores", "threads")):  # noqa: E721
                raise ValueError("machine cores/threads are not ints >= 1")
            if not isinstance(record["created"], str):
                raise ValueError("created is not a string")
            datetime.datetime.fromisoformat(record["created"])
            if not isinstance(record["nonfinite"], list):
                raise ValueError("nonfinite is not a list")
            _restore(record, path)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            raise ValueError(f"{str(path)!r} is not a valid run record: {exc}") from None
