"""Loads the best build of the C++ core the CPU can run (runtime dispatch by instruction set).

On x86-64 the core and its bindings are compiled once per micro-architecture level (CMake option
``BIONN_ISA_LEVELS``, by default ``x86-64-v2;x86-64-v3;x86-64-v4``), each into its own extension
module: ``_core`` for the first level (the baseline) and ``_core_x86_64_v3``, ``_core_x86_64_v4``
for the others. All of them define ``PyInit__core``; :func:`load` imports the best one the CPU
supports under the name ``bionn._core`` before anything else in bionn imports it. ``bionn._cpu``
(compiled for any x86-64 CPU) tells the CPU's level and which levels were built. A build for one
machine (``BIONN_NATIVE``) or for another architecture has the ``_core`` module only.

The environment variable ``BIONN_ISA`` caps the level: ``baseline``, ``x86-64-v2`` (or ``v2``),
``x86-64-v3`` (``v3``), ``x86-64-v4`` (``v4``), ``auto`` (the default: the best). The loader then
takes the best level that was built, the CPU supports and is at most the cap.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, Optional, Sequence, Tuple

__all__ = ["LEVELS", "ENV", "parse_cap", "choose", "module_path", "load", "state"]

# The x86-64 micro-architecture levels (x86-64 psABI), lowest first.
LEVELS: Tuple[str, ...] = ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4")
ENV = "BIONN_ISA"
_ALIASES = {"v1": "x86-64", "v2": "x86-64-v2", "v3": "x86-64-v3", "v4": "x86-64-v4"}

# What load() did, for bionn.show_config: the levels built, the CPU's level, the cap, the choice.
_STATE: Dict[str, object] = {}


def parse_cap(value: Optional[str]) -> Optional[str]:
    """The level named by a ``BIONN_ISA`` value: a level of :data:`LEVELS`, ``"baseline"``, or
    None for no cap (unset, empty or ``auto``). Raises ValueError naming BIONN_ISA otherwise."""
    text = (value or "").strip().lower()
    if text in ("", "auto", "best"):
        return None
    text = _ALIASES.get(text, text)
    if text == "baseline" or text in LEVELS:
        return text
    raise ValueError(
        f"{ENV}={value!r} is not a level: use baseline, x86-64-v2 (v2), x86-64-v3 (v3), x86-64-v4 (v4) or auto"
    )


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def choose(built: Sequence[str], cpu_level: str, cap: Optional[str] = None) -> str:
    """The build to load: the highest of ``built`` (the baseline first) that the CPU supports
    (``cpu_level``, a level of :data:`LEVELS`) and that is at most ``cap`` (a level,
    ``"baseline"`` or None). Builds that are not x86-64 levels (``native``, ``generic``) are only
    ever the baseline. Raises ImportError when the CPU cannot run the baseline."""
    if not built:
        raise ValueError("no build of the core to choose from")
    baseline = built[0]
    if baseline in LEVELS and _rank(cpu_level) < _rank(baseline):
        raise ImportError(
            f"this CPU supports {cpu_level or 'no x86-64 level'}, but bionn's core was built for {baseline} at "
            f"least; build bionn from source for it: pip install bionn --no-binary bionn "
            f"-C cmake.define.BIONN_ISA_LEVELS={cpu_level or 'x86-64'}"
        )
    if cap == "baseline":
        return baseline
    best = baseline
    for level in built[1:]:
        if level in LEVELS and _rank(level) <= _rank(cpu_level) and (cap is None or _rank(level) <= _rank(cap)):
            if _rank(level) > _rank(best):
                best = level
    return best


def module_path(level: str, baseline: str, directory: Path) -> Optional[Path]:
    """The extension file of ``level``'s build in ``directory`` (None when absent): ``_core`` for the
    baseline, ``_core_<level with '-' as '_'>`` for the others, with this interpreter's suffix."""
    stem = "_core" if level == baseline else "_core_" + level.replace("-", "_")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / (stem + suffix)
        if path.is_file():
            return path
    return None


def _detect() -> Tuple[Tuple[str, ...], str, Dict[str, bool]]:
    """(built levels, the CPU's level, the CPU's features) from bionn._cpu; a build without it
    (an older build tree) is one ``_core`` of unknown level."""
    try:
        from . import _cpu
    except ImportError:
        return ("unknown",), "", {}
    built = tuple(level for level in _cpu.built_levels().split(",") if level)
    return built or ("unknown",), _cpu.level(), dict(_cpu.features())


def load() -> ModuleType:
    """Imports the chosen build of the core as ``bionn._core`` and returns it (see the module
    docstring). Idempotent."""
    name = __name__.rsplit(".", 1)[0] + "._core"
    if name in sys.modules:
        return sys.modules[name]
    built, cpu_level, features = _detect()
    cap = parse_cap(os.environ.get(ENV))
    directory = Path(__file__).resolve().parent
    # Levels whose module is missing (a partial copy of a build tree) are skipped.
    present = [built[0]] + [lvl for lvl in built[1:] if module_path(lvl, built[0], directory) is not None]
    chosen = choose(present, cpu_level, cap) if built[0] in LEVELS else built[0]
    _STATE.update(built=list(present), cpu=cpu_level, features=features, cap=cap, chosen=chosen)
    if chosen == built[0]:
        return importlib.import_module(name)
    path = module_path(chosen, built[0], directory)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def state() -> Dict[str, object]:
    """What :func:`load` found and chose: ``built`` (levels with a module here, the baseline
    first), ``cpu`` (the CPU's level, '' when not x86-64), ``features`` (SIMD feature -> supported),
    ``cap`` (from BIONN_ISA) and ``chosen``."""
    return dict(_STATE)
