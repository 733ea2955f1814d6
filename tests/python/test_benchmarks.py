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
            "--smoke",  # whole-epoch cases train on 2,048 samples instead of 60,000
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


def test_benchmark_memory_probe(tmp_path):
    data, md = _run(tmp_path, "--only", "mlp_softplus_bs1", "--memory")
    (case,) = data["cases"]
    for side in ("bionn", "torch"):
        assert _is_pos_number(case[f"{side}_peak_mb"]), case
        assert case[f"{side}_peak_mb"] >= case[f"{side}_setup_mb"] > 0
        train = case[f"{side}_train_mb"]
        assert train is None or train >= 0
    assert "peak RSS MB" in md


def test_fit_epoch_cases_registered(registry):
    names = [c["name"] for c in registry if c["module"] == "cases.epochs"]
    assert names == ["fit_mlp_epoch", "fit_cnn_epoch"]
    assert all(c["in_default_run"] for c in registry if c["module"] == "cases.epochs")


# The roofline's arithmetic, report and figure, and the cost table, on fabricated inputs (no timing).
_OFFLINE = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
out = sys.argv[2]
import numpy as np
import roofline, costs
from bionn import nn

d = roofline.layer_work(nn.Dense(784, 800), (128, 784), (128, 800), first=True)
assert d == {"kind": "gemm", "forward_flops": 2.0 * 128 * 784 * 800, "backward_flops": 2.0 * 128 * 784 * 800}, d
d = roofline.layer_work(nn.Dense(784, 800), (128, 784), (128, 800), first=False)
assert d["backward_flops"] == 2 * d["forward_flops"]
c = roofline.layer_work(nn.Conv2d(1, 12, 5), (100, 1, 28, 28), (100, 12, 24, 24), first=True)
assert c["forward_flops"] == 2.0 * 100 * 24 * 24 * 12 * 25, c
r = roofline.layer_work(nn.ReLU(), (128, 800), (128, 800), first=False)
assert r == {"kind": "elementwise", "forward_bytes": 4 * 2 * 128 * 800, "backward_bytes": 4 * 3 * 128 * 800}, r

pt = lambda axis, v: {"batch": v if axis == "batch" else 128, "width": v if axis == "width" else 800,
                      "bionn_s": 0.01, "torch_s": 0.02, "ratio": 2.0, "bionn_gflops": 50.0, "torch_gflops": 25.0}
net = lambda: {"batch": [pt("batch", b) for b in (1, 4)], "width": [pt("width", w) for w in (64, 128)],
               "default_width": 800, "default_batch": 128}
layer = {"layer": "Dense(784,)", "forward_s": 1e-3, "backward_s": 2e-3, "kind": "gemm", "forward_flops": 1e8,
         "backward_flops": 2e8, "forward_gflops": 100.0, "backward_gflops": 100.0, "forward_peak_share": 1.0,
         "backward_peak_share": 1.0, "torch_forward_s": 1e-3, "torch_backward_s": 2e-3}
data = {"machine": {"cpu": "test cpu", "threads": 1, "torch": "x"},
        "peak": {"size": 2048, "eigen_gflops": 100.0, "torch_gflops": 110.0},
        "gemm_shapes": [{"m": 128, "n": 800, "k": 784, "eigen_gflops": 60.0, "torch_gflops": 80.0,
                         "numpy_gflops": 85.0}],
        "steps": [{"case": "mlp", "batch": 128, "layers": [layer], "loss_s": 1e-5, "zero_grad_s": 1e-5,
                   "optimizer_s": 1e-4, "step_s": 3e-3, "gemm_flops": 3e8, "step_gflops": 100.0,
                   "step_peak_share": 1.0}],
        "sweeps": {"mlp": net(), "cnn": net()}, "settings": {"other_load": 0.0}}
path = os.path.join(out, "roofline-1t.json")
with open(path, "w") as fh:
    json.dump(data, fh)
png = roofline.plot(path)
assert os.path.getsize(png) > 1000
md = roofline.markdown(data)
assert "| Dense(784,) | 1.000 | 2.000 |" in md and "128 x 800 x 784" in md, md

bench = {"machine": {"threads": 1, "cpu": "test cpu"}, "settings": {"git_commit": "abc"},
         "cases": [{"name": case, "bionn_s": 1.0, "torch_s": 2.0, "ratio": 2.0} for case in costs.PAPER_CASE.values()]}
bpath = os.path.join(out, "bench-1t.json")
with open(bpath, "w") as fh:
    json.dump(bench, fh)
table = costs.cost_table([bpath])
import bionn.papers
from bionn.experiments.registry import papers
for paper in papers():
    assert f"| {paper} |" in table, (paper, table)
assert "2.00x" in table
print("ok")
"""


def test_roofline_and_costs_offline(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE, BENCH, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")


def test_roofline_smoke_run(tmp_path):
    out = tmp_path / "roof.json"
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--roofline", "--smoke", "--threads", "1", "--repeats", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert _is_pos_number(data["peak"]["eigen_gflops"]) and _is_pos_number(data["peak"]["torch_gflops"])
    assert {s["case"] for s in data["steps"]} == {
        "mlp_bn_dropout",
        "small_cnn",
        "flexible_small",
        "mixlu_lenet",
        "focus_dense",
        "focus_table2_net",
    }
    for step in data["steps"]:
        assert all(_is_pos_number(r["forward_s"]) for r in step["layers"])
    assert set(data["sweeps"]) == {"mlp", "cnn"}
    assert (tmp_path / "roof.png").stat().st_size > 1000
