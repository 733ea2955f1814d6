#!/usr/bin/env python
"""Compares builds of bionn's core on the engine's hot cases: CPU time of one training step at one
thread, the minimum over interleaved rounds (each round runs every build once, in a fresh process,
alternating the order), so a loaded machine disturbs every build alike. Needs bionn only (no torch).

A build is ``LABEL=DIR`` or ``LABEL=DIR:ISA``: DIR holds the ``bionn`` package to import (e.g. a
worktree's ``python/`` with its built modules), ISA is a ``BIONN_ISA`` value for it::

    python benchmarks/compare_builds.py native=/tmp/native/python portable=python \\
        baseline=python:baseline --rounds 7

The cases mirror benchmarks/cases (mlp_bn_dropout, small_cnn, focus_dense) and a Conv2d-heavy CNN,
float32, at the benchmark sizes. Prints per case the best time of each build and its ratio to the
first build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Tuple

CHILD = r"""
import json, sys, time
import numpy as np
import bionn
from bionn import losses, nn, optim

bionn.set_num_threads(1)
inner = int(sys.argv[1])
rng = np.random.default_rng(0)

def case(layers, x, y, opt=lambda m: optim.SGD(m.parameters(), lr=0.01, momentum=0.9)):
    model = nn.Sequential(layers, seed=0)
    return model, x, y, losses.CrossEntropy(), opt(model)

def mlp():
    x = rng.standard_normal((128, 784)).astype(np.float32)
    layers = [nn.Dense(784, 800), nn.BatchNorm1d(800), nn.ReLU(), nn.Dropout(0.2),
              nn.Dense(800, 800), nn.BatchNorm1d(800), nn.ReLU(), nn.Dropout(0.2), nn.Dense(800, 10)]
    return case(layers, x, rng.integers(0, 10, 128))

def small_cnn():
    x = rng.random((100, 1, 28, 28), dtype=np.float32)
    layers = [nn.Conv2d(1, 12, 5), nn.Sigmoid(), nn.Flatten(), nn.Dense(6912, 120), nn.Dense(120, 60),
              nn.Dense(60, 10)]
    return case(layers, x, rng.integers(0, 10, 100))

def conv_net():
    x = rng.random((64, 3, 32, 32), dtype=np.float32)
    layers = [nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dense(4096, 10)]
    return case(layers, x, rng.integers(0, 10, 64))

def focus_dense():
    x = rng.standard_normal((128, 784)).astype(np.float32)
    return case([nn.FocusDense(784, 800, sigma_init=0.025)], x, rng.integers(0, 800, 128))

info = getattr(bionn._core, "build_info", None)  # builds before issue 16 do not report it
result = {"isa": info()["isa"] if info else "?"}
for name, make in [("mlp_bn_dropout", mlp), ("small_cnn", small_cnn), ("conv_net", conv_net),
                   ("focus_dense", focus_dense)]:
    model, x, y, loss, opt = make()
    model.train_step(x, y, loss, opt)
    best = float("inf")
    for _ in range(inner):
        t0 = time.process_time()
        model.train_step(x, y, loss, opt)
        best = min(best, time.process_time() - t0)
    result[name] = best
print(json.dumps(result))
"""


def parse_build(text: str) -> Tuple[str, str, str]:
    label, _, rest = text.partition("=")
    if not label or not rest:
        raise SystemExit(f"a build is LABEL=DIR or LABEL=DIR:ISA, got {text!r}")
    directory, _, isa = rest.partition(":")
    return label, os.path.abspath(directory), isa


def run_child(directory: str, isa: str, inner: int) -> Dict[str, float]:
    env = dict(os.environ, PYTHONPATH=directory, OMP_NUM_THREADS="1")
    env.pop("BIONN_ISA", None)
    if isa:
        env["BIONN_ISA"] = isa
    out = subprocess.run([sys.executable, "-c", CHILD, str(inner)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"build in {directory} (BIONN_ISA={isa or 'auto'}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("builds", nargs="+", help="LABEL=DIR[:ISA]; the first is the reference")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--inner", type=int, default=10, help="timed steps per case per round (default 10)")
    args = parser.parse_args(argv)
    builds = [parse_build(b) for b in args.builds]
    best: Dict[str, Dict[str, float]] = {label: {} for label, _, _ in builds}
    isa: Dict[str, str] = {}
    start = time.monotonic()
    for r in range(args.rounds):
        order = builds if r % 2 == 0 else builds[::-1]
        for label, directory, cap in order:
            res = run_child(directory, cap, args.inner)
            isa[label] = res.pop("isa")
            for case, t in res.items():
                best[label][case] = min(best[label].get(case, float("inf")), t)
        print(f"round {r + 1}/{args.rounds} done ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    ref = builds[0][0]
    header = "| case | " + " | ".join(f"{label} ({isa[label]}) ms" for label, _, _ in builds) + " |"
    print(header)
    print("|---" * (len(builds) + 1) + "|")
    for case in best[ref]:
        cells = [f"{best[ref][case] * 1e3:.2f}"]
        for label, _, _ in builds[1:]:
            t = best[label][case]
            cells.append(f"{t * 1e3:.2f} ({t / best[ref][case]:.3f}x)")
        print(f"| {case} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
