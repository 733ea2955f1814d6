"""Smoke test of benchmarks/run.py: it runs end to end and writes JSON of the documented schema.

Only the structure is checked, never the timings: performance claims do not belong in unit tests.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "run.py")
EXPECTED_CASES = [
    "mlp_bn_dropout",
    "small_cnn",
    "mlp_softplus_bs1",
    "focus_dense",
    "focus_dense_wide",
    "amplifying_net5_bs1",
    "flexible_small",
    "mixlu_lenet",
    "selforg_epoch",
]


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


def test_benchmark_json_schema(tmp_path):
    data, md = _run(tmp_path)
    machine = data["machine"]
    for key in ("cpu", "cores", "threads", "python", "numpy", "torch", "bionn"):
        assert key in machine, key
    assert machine["cores"] == os.cpu_count()
    assert machine["threads"] == 1
    assert all(isinstance(machine[k], str) for k in ("cpu", "python", "numpy", "torch", "bionn"))

    cases = data["cases"]
    assert [c["name"] for c in cases] == EXPECTED_CASES
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
