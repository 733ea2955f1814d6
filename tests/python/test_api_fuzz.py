"""The fuzz contract over the whole public API, run in child processes (issue 15).

Every public entry point (:mod:`api_fuzz_specs`: every registered layer and the mechanisms'
options, attacks, corruptions, the self-organizing network, the data loaders, save/load,
Sequential's methods, optimizers, schedulers, callbacks, losses) is called with generated
arguments; each call must give a correct result or a clear exception (ValueError/TypeError naming
the argument, or an OSError naming the file), leave the model unchanged when it is rejected, never
crash and never hang. The cases run in child processes (``api_fuzz_child.py``), so a segfault or an
abort is a finding naming its case, not the end of the test run; a case running past
``BIONN_FUZZ_CASE_TIMEOUT`` seconds is a hang.

* ``pytest -q`` (CI) runs a derandomised subset: a few examples per entry point, about a minute.
* ``pytest -m fuzz`` is the long campaign: ``BIONN_FUZZ_EXAMPLES`` examples per entry point (default
  100, i.e. over 10,000 cases) for each seed in ``BIONN_FUZZ_SEEDS`` (default ``1``), and writes
  its counts to ``BIONN_FUZZ_REPORT`` (default ``build/api-fuzz-report.json``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "api_fuzz_child.py")
ROOT = os.path.dirname(os.path.dirname(HERE))
# Tensors are capped at 256 MiB in the children, so a valid but huge size is refused quickly
# (the cap is bionn's own, BIONN_MAX_BYTES) instead of swapping the machine.
CHILD_ENV = dict(os.environ, BIONN_MAX_BYTES=str(256 << 20), OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def list_specs() -> List[str]:
    out = subprocess.run([sys.executable, CHILD, "-", "-"], capture_output=True, text=True, env=CHILD_ENV, check=True)
    return out.stdout.split()


def campaign(
    specs: List[str],
    examples: int,
    *,
    seed: Optional[int] = None,
    workdir: str,
    timeout_per_spec: float = 600.0,
) -> Dict[str, Any]:
    """Runs ``examples`` cases of every spec (derandomised when ``seed`` is None), restarting the
    child after a crash or a hang with the specs it had not finished. Returns the totals and the
    findings (crashes, hangs, unclear errors, contract violations)."""
    os.makedirs(workdir, exist_ok=True)
    out = os.path.join(workdir, f"results-{seed}.jsonl")
    progress = os.path.join(workdir, f"progress-{seed}.json")
    for path in (out, progress):
        if os.path.exists(path):
            os.remove(path)
    todo = list(specs)
    crashes: List[Dict[str, Any]] = []
    hangs: List[Dict[str, Any]] = []
    extra_cases = 0
    while todo:
        args = [sys.executable, CHILD, out, progress, "--examples", str(examples)]
        args += ["--derandomize"] if seed is None else ["--seed", str(seed)]
        try:
            proc = subprocess.run(
                args + ["--specs"] + todo,
                capture_output=True,
                text=True,
                env=CHILD_ENV,
                timeout=timeout_per_spec * len(todo),
                stdin=subprocess.DEVNULL,
            )
            rc, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc, stderr = None, (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        done = set()
        if os.path.exists(out):
            with open(out) as fh:
                done = {json.loads(line)["spec"] for line in fh}
        todo = [s for s in todo if s not in done]
        if rc == 0 and not todo:
            break
        case = {}
        if os.path.exists(progress):
            with open(progress) as fh:
                case = json.load(fh)
        finding = dict(case, returncode=rc, stderr=stderr[-1500:])
        if rc is None or "Timeout (" in stderr:
            hangs.append(finding)
        else:
            crashes.append(finding)
        extra_cases += 1
        failed = case.get("spec")
        if failed in todo:
            todo.remove(failed)  # the rest of this spec's cases are lost; the others continue
        elif todo:
            todo = todo[1:]  # the child died outside a case: skip one spec so the loop ends
    results = []
    if os.path.exists(out):
        with open(out) as fh:
            results = [json.loads(line) for line in fh]
    totals = {k: sum(r[k] for r in results) for k in ("cases", "ok", "clear", "unclear", "violation")}
    totals["cases"] += extra_cases
    totals["crashes"], totals["hangs"] = len(crashes), len(hangs)
    findings = [f for r in results for f in r["findings"]]
    return dict(
        totals=totals,
        specs=len(specs),
        crashes=crashes,
        hangs=hangs,
        unclear=[f for f in findings if f["kind"] == "unclear"],
        violations=[f for f in findings if f["kind"] == "violation"],
        cpu_s={r["spec"]: r["cpu_s"] for r in results},
    )


def describe(report: Dict[str, Any], limit: int = 40) -> str:
    lines = [json.dumps(report["totals"])]
    for kind in ("crashes", "hangs", "unclear", "violations"):
        for f in report[kind][:limit]:
            lines.append(f"{kind}: {f.get('spec')} {f.get('fuzzed')} {f.get('error', '')} {f.get('stderr', '')[-300:]}")
    return "\n".join(lines)


def assert_clean(report: Dict[str, Any]) -> None:
    t = report["totals"]
    assert t["crashes"] == t["hangs"] == t["unclear"] == t["violation"] == 0, describe(report)


# ------------------------------------------------------------------------------------------------
SPECS = list_specs()


def test_the_specs_cover_the_public_api():
    import bionn
    from bionn import attacks, callbacks, corruptions, losses, nn, optim

    names = set(SPECS)
    for layer in nn.layer_registry():
        if not layer.startswith("_"):  # other tests register private layers of their own
            assert f"nn.{layer}" in names
    for family in corruptions.CORRUPTIONS:
        assert f"corruptions.{family}" in names
    for fn in ("fgsm", "pgd", "FGSM", "PGD", "evaluate_robustness"):
        assert f"attacks.{fn}" in names and hasattr(attacks, fn)
    for cls in ("SGD", "Adam", "AdamW", "RMSprop", "StepLR", "ExponentialLR"):
        assert f"optim.{cls}" in names and hasattr(optim, cls)
    for cls in ("EarlyStopping", "ModelCheckpoint", "StepDecay", "LearningRateScheduler", "ParameterRecorder"):
        assert f"callbacks.{cls}" in names and hasattr(callbacks, cls)
    for cls in ("CrossEntropy", "MSE", "L1", "LinearSquare", "BCEWithLogits"):
        assert f"losses.{cls}" in names and hasattr(losses, cls)
    for method in ("fit", "predict", "evaluate", "train_step", "save", "load_state_dict"):
        assert f"Sequential.{method}" in names
    assert {"bionn.load", "selforg.load", "selforg.save_load", "selforg.MetaLearner", "selforg.Readout"} <= names
    assert sum(n.startswith("data.") for n in names) >= 10
    assert bionn.nn.load is nn.load


def test_the_classifier_spots_unclear_errors():
    """The detector itself: a pybind11 dump, an OverflowError, a message naming no fuzzed argument
    and an IndexError are unclear; a ValueError naming the argument is clear."""
    sys.path.insert(0, HERE)
    import api_fuzz_child as child
    from api_fuzz_specs import Spec

    spec = Spec("x", lambda **kw: None, dict(steps=1, path="p"))
    clear = ValueError("steps must be <= 2147483647, got 2147483648")
    assert child.classify_error(spec, {"steps": 2**31}, clear) == "clear"
    for exc in (
        TypeError("__init__(): incompatible constructor arguments. Invoked with: Dense_f32"),
        OverflowError("Python int too large to convert to C long"),
        ValueError("must be positive"),
        IndexError("list index out of range"),
        MemoryError("std::bad_alloc"),
    ):
        assert child.classify_error(spec, {"steps": 2**31}, exc) == "unclear", exc
    missing = FileNotFoundError(2, "No such file or directory", "/nope/m.bionn")
    assert child.classify_error(spec, {"path": "/nope/m.bionn"}, missing) == "clear"


def test_api_fuzz_ci_subset(tmp_path):
    """Derandomised: a few examples of every entry point, each batch of specs in a child process."""
    examples = int(os.environ.get("BIONN_FUZZ_CI_EXAMPLES", "6"))
    t0 = time.time()
    report = campaign(SPECS, examples, seed=None, workdir=str(tmp_path))
    assert report["totals"]["cases"] >= examples * len(SPECS) * 0.9, describe(report)
    assert_clean(report)
    print(f"api fuzz CI subset: {report['totals']} in {time.time() - t0:.0f} s")


@pytest.mark.fuzz
def test_api_fuzz_campaign(tmp_path):
    """The long campaign (``pytest -m fuzz``): at least 10,000 generated cases across the API."""
    examples = int(os.environ.get("BIONN_FUZZ_EXAMPLES", "100"))
    seeds = [int(s) for s in os.environ.get("BIONN_FUZZ_SEEDS", "1").split(",")]
    reports = [campaign(SPECS, examples, seed=s, workdir=str(tmp_path / f"seed-{s}")) for s in seeds]
    totals = {k: sum(r["totals"][k] for r in reports) for k in reports[0]["totals"]}
    merged = dict(totals=totals, specs=len(SPECS), seeds=seeds, examples_per_spec=examples)
    for kind in ("crashes", "hangs", "unclear", "violations"):
        merged[kind] = [f for r in reports for f in r[kind]]
    merged["cpu_s"] = {k: sum(r["cpu_s"].get(k, 0.0) for r in reports) for k in SPECS}
    path = os.environ.get("BIONN_FUZZ_REPORT", os.path.join(ROOT, "build", "api-fuzz-report.json"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(merged, fh, indent=1)
    print(f"api fuzz campaign: {totals} (report: {path})")
    assert totals["cases"] >= 10_000 or examples * len(SPECS) * len(seeds) < 10_000
    assert_clean(merged)
