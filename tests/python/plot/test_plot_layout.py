"""Layout of bionn.plot: every plot module imports bionn.plot._base (down) and never the package
(up); bionn.plot re-exports every module's public names; matplotlib is imported only when a plot
function is called. Needs no matplotlib."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bionn.plot

PLOT_DIR = Path(bionn.plot.__file__).resolve().parent
PYTHON_DIR = PLOT_DIR.parents[1]
# Every public module of bionn.plot (a new mechanism's plot module is covered without an edit here).
MODULES = sorted(p.stem for p in PLOT_DIR.glob("*.py") if not p.stem.startswith("_"))


def _bionn_imports(path: Path, package: str) -> set:
    """Absolute names of the bionn modules (or module attributes) imported anywhere in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "bionn")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] == "bionn":
                names.add(module)
    return names


def test_the_plot_modules_are_found():
    assert {"training", "focus", "amplifying", "flexible", "corruptions", "neglu", "selforg"} <= set(MODULES)


def test_plot_modules_import_base_never_the_package():
    for name in MODULES + ["_base"]:
        imported = _bionn_imports(PLOT_DIR / f"{name}.py", "bionn.plot")
        inside = {m for m in imported if m == "bionn.plot" or m.startswith("bionn.plot.")}
        allowed = set() if name == "_base" else {"bionn.plot._base"}
        assert inside <= allowed, f"plot/{name}.py imports {sorted(inside - allowed)}"
    assert _bionn_imports(PLOT_DIR / "_base.py", "bionn.plot") == set(), "_base must stay at the bottom"


def test_package_reexports_every_public_name():
    exported = set(bionn.plot.__all__)
    for name in MODULES:
        module = importlib.import_module(f"bionn.plot.{name}")
        assert set(module.__all__) <= exported, f"bionn.plot lacks {sorted(set(module.__all__) - exported)}"
        for attr in module.__all__:
            assert getattr(bionn.plot, attr) is getattr(module, attr)
    # the names bionn.plot offered before it became a package
    assert {
        "training_curves",
        "confusion_matrix",
        "sweep_summary",
        "compute_confusion_matrix",
        "focus_curves",
        "focus_2d",
        "parameter_trajectories",
        "value_histogram",
        "accuracy_vs_sparsity",
        "regression_1d",
        "surface_2d",
        "threshold_maps",
        "accuracy_vs_eps",
        "corruption_curves",
        "bandpass_curves",
        "mixlu_error_curves",
        "mixlu_gap",
        "selforg_topology",
        "selforg_evolution",
        "selforg_entropy_accuracy",
    } <= exported
    assert len(set(bionn.plot.__all__)) == len(bionn.plot.__all__)


def test_importing_bionn_and_plot_does_not_import_matplotlib():
    code = textwrap.dedent(f"""
        import importlib, json, sys
        import bionn
        import bionn.plot
        for name in {MODULES!r}:
            importlib.import_module("bionn.plot." + name)
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib")))
        """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
