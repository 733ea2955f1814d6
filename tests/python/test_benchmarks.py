"""Smoke test of benchmarks/run.py: it runs end to end and writes JSON of the documented schema.

Only the structure is checked, never the timings: performance claims do not belong in unit tests.
The expected cases are read from the registry (``harness.load_cases()`` over benchmarks/cases/),
so adding a mechanism's ``benchmarks/cases/<mechanism>.py`` needs no edit here.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "benchmarks")
SCRIPT = os.path.join(BENCH, "run.py")
CASES_DIR = os.path.join(BENCH, "cases")

# Run in a subprocess, as run.py is: the registry imports bionn before torch and puts benchmarks/ on
# sys.path, neither of which should leak into the test process.
_DUMP = """
import json, sys
sys.path.insert(0, sys.argv[1])
import harness
cases = harness.load_cases()
print(json.dumps([{"name": n, "module": c.__module__, "order": sys.modules[c.__module__].ORDER,
                   "in_default_run": c.in_default_run} for n, c in cases.items()]))
"""


@pytest.fixture(scope="module")
def registry():
    """The registered cases in run order: dicts with name, module, order, in_default_run."""
    proc = subprocess.run([sys.executable, "-c", _DUMP, BENCH], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _case_module_files():
    return sorted(f[:-3] for f in os.listdir(CASES_DIR) if f.endswith(".py") and not f.startswith("_"))


def _run(tmp_path, *extra):
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    proc = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--json",
            str(out),
            "--markdown",
            str(md),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), md.read_text()


def _is_pos_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def test_every_case_module_registers_a_case(registry):
    modules = {c["module"] for c in registry}
    files = _case_module_files()
    assert "standard" in files
    for name in files:
        assert f"cases.{name}" in modules, f"benchmarks/cases/{name}.py registers no case"
    assert modules <= {f"cases.{name}" for name in files}, "a case registered outside benchmarks/cases/"


def test_case_names_unique(registry):
    names = [c["name"] for c in registry]
    assert all(names), "a case has an empty name"
    assert len(set(names)) == len(names), names


def test_default_order_standard_first_then_by_module_order(registry):
    # Standard cases first, then each module's cases as one block, modules by (ORDER, name).
    assert registry[0]["module"] == "cases.standard"
    seen = [c["module"] for c in registry]
    blocks = list(dict.fromkeys(seen))
    assert seen == sorted(seen, key=blocks.index), "a module's cases are not contiguous"
    order = {c["module"]: c["order"] for c in registry}
    assert blocks == sorted(blocks, key=lambda m: (order[m], m))
    assert all(order[m] > order["cases.standard"] for m in blocks[1:])
    assert any(c["in_default_run"] for c in registry if c["module"] == "cases.standard")


def test_list_shows_every_case(registry):
    proc = subprocess.run([sys.executable, SCRIPT, "--list"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert listed == [c["name"] for c in registry]


def test_benchmark_json_schema(tmp_path, registry):
    data, md = _run(tmp_path)
    machine = data["machine"]
    for key in ("cpu", "cores", "threads", "python", "numpy", "torch", "bionn"):
        assert key in machine, key
    assert machine["cores"] == os.cpu_count()
    assert machine["threads"] == 1
    assert all(isinstance(machine[k], str) for k in ("cpu", "python", "numpy", "torch", "bionn"))

    cases = data["cases"]
    assert [c["name"] for c in cases] == [c["name"] for c in registry if c["in_default_run"]]
    for c in cases:
        assert set(("name", "bionn_s", "torch_s", "ratio")) <= set(c)
        assert _is_pos_number(c["bionn_s"]) and _is_pos_number(c["torch_s"]) and _is_pos_number(c["ratio"])
        assert c["ratio"] == pytest.approx(c["torch_s"] / c["bionn_s"])
        assert c["name"] in md


def test_benchmark_only_selects_cases(tmp_path):
    data, _ = _run(tmp_path, "--only", "mlp_softplus_bs1")
    assert [c["name"] for c in data["cases"]] == ["mlp_softplus_bs1"]


def test_benchmark_rejects_unknown_case(tmp_path):
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--only", "no_such_case", "--json", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "no_such_case" in proc.stderr
