#!/usr/bin/env python
"""bionn vs PyTorch (CPU) training-speed benchmark.

Runs every registered case with bionn and with PyTorch in ONE process, at the same thread count,
with the same architecture, batch size, optimizer and dtype (float32), and reports the median
wall time of each side and the ratio ``torch_s / bionn_s`` (> 1 means bionn is faster).

    python benchmarks/run.py --threads 2 --json results.json --markdown results.md
    python benchmarks/run.py --only small_cnn --repeats 5 --json /tmp/cnn.json
    python benchmarks/run.py --list

This file is the command line only. The cases live in ``benchmarks/cases/`` (one module per
mechanism, all imported by ``harness.load_cases()``); the registry, the timing and the report are
in ``benchmarks/harness.py``. Adding a case: a new file in ``cases/`` that defines ``ORDER`` and
registers a :class:`harness.Case` subclass with ``@register``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List, Optional

import torch

import bionn
import harness

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import (
    BUSY_WARN,
    _core_fingerprint,
    _cpu_busy,
    _git_commit,
    _loadavg,
    _openmp_runtime,
    load_cases,
    machine_info,
    markdown_table,
    run_case,
)

CASES = load_cases()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help=f"cases to run (default: all but the opt-in ones): {', '.join(CASES)}"
    )
    p.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads for both libraries (default: os.cpu_count())"
    )
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per case (default: each case's own, 10-20)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up runs per side (default: per case)")
    p.add_argument("--json", metavar="FILE", help="write the results here (required unless --list)")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown table here")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument(
        "--memory",
        action="store_true",
        help="also measure each side's peak RSS, in a fresh subprocess per case and side (bionn_peak_mb, ...)",
    )
    p.add_argument(
        "--roofline",
        action="store_true",
        help="write the kernel-level report instead (benchmarks/roofline.py): per-layer GFLOP/s against the "
        "measured SGEMM peak and the ratio-vs-size sweeps; JSON + PNG (default benchmarks/results/roofline-<N>t.*)",
    )
    p.add_argument("--plot", metavar="ROOFLINE_JSON", help="re-render a roofline JSON's figure (next to it) and exit")
    p.add_argument("--memory-probe", nargs=2, metavar=("CASE", "SIDE"), help=argparse.SUPPRESS)
    p.add_argument(
        "--smoke",
        action="store_true",
        help="shrink the large cases (whole epochs) to a few thousand samples: a quick structural check, not a timing",
    )
    args = p.parse_args(argv)
    if args.list or args.plot or args.roofline:
        return args
    if args.memory_probe:
        if args.memory_probe[0] not in CASES or args.memory_probe[1] not in ("bionn", "torch"):
            p.error(f"--memory-probe CASE SIDE: unknown case or side {args.memory_probe}")
        return args
    if not args.json:
        p.error("--json FILE is required")
    if args.only:
        unknown = [n for n in args.only if n not in CASES]
        if unknown:
            p.error(f"unknown case(s) {unknown}; known: {list(CASES)}")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.warmup is not None and args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def _memory(name: str, args: argparse.Namespace) -> Dict[str, object]:
    """Each side's peak memory, measured in a fresh process (harness.memory_probe)."""
    out: Dict[str, object] = {}
    for side in ("bionn", "torch"):
        cmd = [sys.executable, os.path.abspath(__file__), "--memory-probe", name, side, "--threads", str(args.threads)]
        if args.smoke:
            cmd.append("--smoke")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            print(f"{name}: memory probe ({side}) failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        probe = json.loads(proc.stdout.strip().splitlines()[-1])
        out[f"{side}_peak_mb"] = probe["peak_mb"]
        out[f"{side}_train_mb"] = probe["train_mb"]
        out[f"{side}_setup_mb"] = probe["setup_mb"]
        out["imports_mb"] = probe["imports_mb"]
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, cls in CASES.items():
            print(f"{name:20s} {cls.description}")
        return 0
    if args.plot:
        import roofline

        print(roofline.plot(args.plot))
        return 0
    harness.SMOKE = bool(args.smoke)
    torch.set_num_threads(args.threads)
    bionn.set_num_threads(args.threads)
    if args.memory_probe:
        print(json.dumps(harness.memory_probe(*args.memory_probe, runs=1 if args.smoke else 2)))
        return 0
    if args.roofline:
        import roofline

        roofline.run(args.threads, json_path=args.json, repeats=args.repeats or 20, smoke=args.smoke)
        return 0
    names = list(dict.fromkeys(args.only)) if args.only else [n for n, c in CASES.items() if c.in_default_run]

    result: Dict[str, object] = {"machine": machine_info(args.threads), "cases": []}
    load_before = _loadavg()
    busy_before = _cpu_busy()
    if busy_before is not None and busy_before > BUSY_WARN:
        print(
            f"warning: the CPUs were {100 * busy_before:.0f}% busy before the run (load average "
            f"{load_before[0] if load_before else '?'}); other processes will disturb the timings",
            file=sys.stderr,
        )
    t_start = time.perf_counter()
    for name in names:
        case = CASES[name]()
        repeats = args.repeats if args.repeats is not None else case.default_repeats
        warmup = args.warmup if args.warmup is not None else case.warmup
        entry = run_case(case, repeats, warmup)
        if args.memory:
            entry.update(_memory(name, args))
        result["cases"].append(entry)
        other = entry["other_load"]
        print(
            f"{name:20s} bionn {1e3 * entry['bionn_s']:9.3f} ms  torch {1e3 * entry['torch_s']:9.3f} ms  "
            f"ratio {entry['ratio']:6.2f}x  other load {'?' if other is None else f'{100 * other:.0f}%'}",
            file=sys.stderr,
            flush=True,
        )
        if "baseline_s" in entry:
            print(
                f"{'':20s} baseline ({entry['baseline']}) {1e3 * entry['baseline_s']:9.3f} ms  "
                f"bionn/baseline {entry['bionn_over_baseline']:.2f}x",
                file=sys.stderr,
                flush=True,
            )
    result["settings"] = {
        "repeats": args.repeats,
        "warmup": args.warmup,
        "smoke": bool(args.smoke),
        "openmp_runtime": _openmp_runtime(),
        "bionn_threads": bionn.get_num_threads(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "bionn_core": _core_fingerprint(),
        "platform": platform.platform(),
        "wall_s": time.perf_counter() - t_start,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "cpu_busy_before": busy_before,
        "cpu_busy_after": _cpu_busy(),
    }

    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    table = markdown_table(result)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
