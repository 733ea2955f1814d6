#!/usr/bin/env python
"""Per-layer forward/backward times of a benchmark case, bionn vs PyTorch.

Takes a benchmark case (benchmarks/cases/) whose ``setup()`` leaves ``bmodel`` (bionn Sequential),
``tmodel`` (torch Sequential, same layers in the same order) and ``x`` (an input batch) on the
case, walks the two models layer by layer and times each layer's forward (training mode) and
backward (input and parameter gradients) in isolation, then the optimizer step.

    python benchmarks/profile_layers.py small_cnn --threads 2
    python benchmarks/profile_layers.py mlp_bn_dropout --threads 1 --repeats 50

Caveats: a standalone bionn layer call copies its input and output between NumPy and C++ (a
Sequential does not), and always computes the input gradient (a Sequential skips it for the first
layer); torch's times include building the autograd graph. Minima over repeats are reported, so
the numbers approximate an undisturbed machine. This is a diagnostic, not the benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import bionn  # noqa: E402
import harness  # noqa: E402  (imports bionn before torch, see harness.py)


def best_of(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def torch_layer_times(tlayer: torch.nn.Module, x: np.ndarray, repeats: int) -> tuple:
    """(forward, backward) minimum seconds of one torch layer in training mode, standalone: the
    backward is (forward + autograd.grad of the input and parameters) minus the forward."""
    tx = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32).copy()).requires_grad_(True)
    params = [p for p in tlayer.parameters() if p.requires_grad]
    tlayer.train()
    with torch.no_grad():
        tg = torch.randn_like(tlayer(tx))
    t_fwd = best_of(lambda: tlayer(tx), repeats)

    def t_fb() -> None:
        out = tlayer(tx)
        torch.autograd.grad(out, [tx] + params, tg)

    return t_fwd, max(best_of(t_fb, repeats) - t_fwd, 0.0)


def profile(case_name: str, repeats: int) -> List[tuple]:
    case = harness.load_cases()[case_name]()
    case.setup()
    bmodel, tmodel = case.bmodel, case.tmodel
    tlayers = list(tmodel)
    if len(bmodel.layers) != len(tlayers):
        raise SystemExit(f"{case_name}: bionn has {len(bmodel.layers)} layers, torch {len(tlayers)}")
    rng = np.random.default_rng(0)
    x = np.ascontiguousarray(case.x[: case.x.shape[0]], dtype=np.float32)
    rows = []
    for blayer, tlayer in zip(bmodel.layers, tlayers):
        label = f"{type(blayer).__name__}{tuple(x.shape[1:])}"
        # bionn
        y = blayer.forward(x, training=True)
        g = rng.standard_normal(y.shape).astype(np.float32)
        b_fwd = best_of(lambda: blayer.forward(x, training=True), repeats)

        def b_fb() -> None:
            blayer.forward(x, training=True)
            blayer.backward(g)

        b_both = best_of(b_fb, repeats)
        t_fwd, t_bwd = torch_layer_times(tlayer, x, repeats)
        rows.append((label, b_fwd, b_both - b_fwd, t_fwd, t_bwd))
        x = np.ascontiguousarray(y)
    # optimizer steps (gradients are whatever the last calls left; the cost does not depend on them)
    b_step = best_of(case.bopt.step, repeats)
    for p in tmodel.parameters():
        p.grad = torch.zeros_like(p)
    t_step = best_of(case.topt.step, repeats)
    rows.append((f"{type(case.bopt).__name__}.step", b_step, 0.0, t_step, 0.0))
    b_zero = best_of(case.bopt.zero_grad, repeats)
    t_zero = best_of(lambda: case.topt.zero_grad(set_to_none=False), repeats)
    rows.append(("zero_grad", b_zero, 0.0, t_zero, 0.0))
    case.teardown()
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("case", choices=list(harness.load_cases()))
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    bionn.set_num_threads(args.threads)
    rows = profile(args.case, args.repeats)
    print(f"{args.case}, {args.threads} thread(s), best of {args.repeats}; times in ms")
    print(
        f"{'layer (input shape)':34s} {'bionn fwd':>10s} {'bionn bwd':>10s} {'torch fwd':>10s} "
        f"{'torch bwd':>10s} {'fwd t/b':>8s} {'bwd t/b':>8s}"
    )
    tot = np.zeros(4)
    for label, bf, bb, tf, tb in rows:
        tot += (bf, bb, tf, tb)
        rf = f"{tf / bf:8.2f}" if bf > 0 else ""
        rb = f"{tb / bb:8.2f}" if bb > 0 else ""
        print(f"{label:34s} {1e3 * bf:10.3f} {1e3 * bb:10.3f} {1e3 * tf:10.3f} {1e3 * tb:10.3f} {rf} {rb}")
    print(f"{'total':34s} {1e3 * tot[0]:10.3f} {1e3 * tot[1]:10.3f} {1e3 * tot[2]:10.3f} {1e3 * tot[3]:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
