"""Layout of bionn.experiments: the claim registry imports no paper (papers -> experiments only),
and ``import bionn`` stays light while still registering every paper's claims."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import bionn.experiments

EXPERIMENTS_DIR = Path(bionn.experiments.__file__).resolve().parent
PYTHON_DIR = EXPERIMENTS_DIR.parents[1]  # the directory holding the bionn package


def _imported_modules(path: Path, package: str) -> list:
    """Absolute names of every module an ``import`` statement in ``path`` may load (top level and
    inside functions), ``from X import a`` counting as both ``X`` and ``X.a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def _dynamic_imports(path: Path) -> list:
    """Calls of importlib.import_module / __import__ (which the AST check above cannot resolve)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__"):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_experiments_sources_never_import_papers():
    sources = sorted(EXPERIMENTS_DIR.glob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "sweep.py", "stats.py", "registry.py"}
    offending = []
    for path in sources:
        for name in _imported_modules(path, "bionn.experiments"):
            if name == "bionn.papers" or name.startswith("bionn.papers."):
                offending.append(f"{path.name}: {name}")
        offending.extend(_dynamic_imports(path))
    assert not offending, f"bionn.experiments must not import bionn.papers: {offending}"


def test_experiments_submodules_import_down_only():
    """Each submodule imports only the ones below it: stats, sweep -> records -> criteria ->
    registry -> ledger -> report; none imports the package itself."""
    E = "bionn.experiments."
    allowed = {
        "sweep.py": set(),
        "stats.py": set(),
        "records.py": {E + "sweep"},
        "criteria.py": {E + "stats"},
        "registry.py": {E + "criteria", E + "records"},
        "ledger.py": {E + "criteria", E + "records", E + "registry", E + "sweep"},
        "report.py": {E + "criteria", E + "ledger", E + "records", E + "registry", E + "sweep"},
    }
    for fname, ok in allowed.items():
        siblings = {
            n
            for n in _imported_modules(EXPERIMENTS_DIR / fname, "bionn.experiments")
            if n == "bionn.experiments" or n.startswith("bionn.experiments.")
        }
        # "from .sweep import BACKENDS" also yields "bionn.experiments.sweep.BACKENDS"
        modules = {n for n in siblings if n.count(".") <= 2}
        assert modules <= ok, f"{fname} imports {sorted(modules - ok)}"


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR)] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


def test_registry_works_with_papers_unimportable():
    """Loads bionn.experiments without bionn/__init__.py (so without the papers) while any import
    of bionn.papers raises, then uses the whole registry API."""
    proc = _run(f"""
        import importlib.abc, json, sys, types

        class BlockPapers(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "bionn.papers" or name.startswith("bionn.papers."):
                    raise ImportError("blocked by the test: " + name)
                return None

        sys.meta_path.insert(0, BlockPapers())
        pkg = types.ModuleType("bionn")          # the package without running its __init__
        pkg.__path__ = [{str(PYTHON_DIR / "bionn")!r}]
        sys.modules["bionn"] = pkg
        import bionn.experiments as ex

        def run(seed, model="a"):
            return {{"acc": 0.9 if model == "a" else 0.5 + 0.01 * seed}}

        before = (ex.claims(), ex.papers())
        ex.register_experiment(ex.Experiment("t", "e", run, [{{"model": "a"}}, {{"model": "b"}}], range(4),
                                             ex.Quick(range(3))))
        crit = ex.Compare("acc", ex.Group("e", {{"model": "a"}}), ex.Group("e", {{"model": "b"}}), test="mannwhitney",
                          sided="one-sided")
        ex.register_claim(ex.Claim("t.one", "t", "Table 1", "a beats b", "a > b", crit))
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            results = ex.reproduce(ex.claims("t"), "full", ex.RunStore(tmp))
        c = ex.get_claim("t.one")
        ex.unregister("t")
        print(json.dumps({{"before": [len(before[0]), before[1]], "passed": results[0]["passed"],
                          "id": c.id, "after": len(ex.claims()),
                          "papers_loaded": any(m.startswith("bionn.papers") for m in sys.modules)}}))
        """)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"before": [0, []], "passed": True, "id": "t.one", "after": 0, "papers_loaded": False}


def test_import_bionn_is_light_and_registers_the_papers():
    proc = _run("""
        import json, sys
        import bionn
        heavy = [m for m in ("matplotlib", "scipy", "pandas", "torch", "dask", "distributed", "tqdm")
                 if m in sys.modules]
        print(json.dumps({"heavy": heavy, "papers": bionn.experiments.papers(),
                          "n_claims": len(bionn.experiments.claims())}))
        """)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [], f"import bionn imported {out['heavy']}"
    assert {"demo", "focusing", "amplifying", "flexible", "neglu", "selforg"} <= set(out["papers"])
    assert out["n_claims"] >= 30


def test_claims_attribute_is_the_function():
    assert callable(bionn.experiments.claims)
    assert bionn.experiments.claims("demo")
    assert sys.modules["bionn.experiments.registry"].claims is bionn.experiments.claims
