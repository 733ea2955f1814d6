#!/usr/bin/env python
"""Full-protocol cost per paper: bionn's measured CPU-hours and PyTorch's, estimated from a benchmark.

    python benchmarks/costs.py benchmarks/results/bench-1t.json [more.json ...] --out benchmarks/results/costs.md

For every registered paper, the CPU-hours of one run of its full protocol with bionn come from the
committed run records (``results/<paper>/...``: per experiment, the mean wall time × threads of its
recorded runs × the runs its full protocol plans; an experiment with no run yet uses its cost probe,
``bionn reproduce ... --probe``, or counts as unknown). The PyTorch figure is that time × the ratio
torch/bionn of the benchmark case that trains the paper's network (:data:`PAPER_CASE`), from each
benchmark JSON given (one column per file, e.g. 1 and 2 threads). Both are estimates: the records
were timed on whatever load the machine had, and one training step's ratio stands for a whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The benchmark case whose unit of work is the paper's training (same network and batch).
PAPER_CASE = {
    "amplifying": "amplifying_net5_bs1",
    "demo": "fit_mlp_epoch",
    "flexible": "flexible_small",
    "focusing": "focus_table2_net",
    "neglu": "mixlu_lenet",
    "selforg": "selforg_epoch",
}


def protocol_cost(paper: str, store: Any = None) -> Dict[str, Any]:
    """CPU-hours of ``paper``'s full protocol from the records: (known hours, experiments with no
    estimate, experiments estimated from a probe, planned runs, recorded runs)."""
    from bionn.experiments.ledger import _experiment_records
    from bionn.experiments.records import default_store, probe_estimate
    from bionn.experiments.registry import experiments

    store = default_store() if store is None else store
    hours = 0.0
    unknown: List[str] = []
    probed: List[str] = []
    planned = recorded = 0
    for exp in experiments(paper):
        recs = _experiment_records(store, exp, "full")
        n = exp.n_runs("full")
        planned += n
        recorded += len(recs)
        cpu = [float(r.get("wall_time_s") or 0.0) * int((r.get("machine") or {}).get("threads") or 1) for r in recs]
        per_run: Optional[float] = sum(cpu) / len(cpu) if cpu else None
        if per_run is None:
            try:
                probe = store.load_probe(exp.paper, exp.name)
            except ValueError:
                probe = None
            if probe is not None:
                per_run = probe_estimate(probe)
                probed.append(exp.name)
        if per_run is None:
            unknown.append(exp.name)
        else:
            hours += per_run * n / 3600
    return {"cpu_hours": hours, "unknown": unknown, "probed": probed, "planned": planned, "recorded": recorded}


def cost_table(bench_files: Sequence[str], store: Any = None) -> str:
    import bionn.papers  # noqa: F401  (registers every paper)
    from bionn.experiments.registry import experiments, papers

    benches = []
    for path in bench_files:
        with open(path) as fh:
            data = json.load(fh)
        benches.append((data["machine"]["threads"], {c["name"]: c for c in data["cases"]}, data))
    head = "| paper | runs recorded / planned | bionn CPU-h (full protocol) | benchmark case |"
    rule = "|---|---:|---:|---|"
    for threads, _, _ in benches:
        head += f" ratio ({threads} thr) | torch CPU-h est. ({threads} thr) |"
        rule += "---:|---:|"
    lines = [head, rule]
    for paper in papers():
        cost = protocol_cost(paper, store)
        case = PAPER_CASE.get(paper, "—")
        known = len(cost["unknown"]) < len(experiments(paper))
        hours = f"{cost['cpu_hours']:.3g}" if known else "—"
        if cost["unknown"]:
            n_unknown = len(cost["unknown"])
            hours += (
                f" + {n_unknown} experiment(s) with no run or probe"
                if known
                else f" (no run or probe of its {n_unknown} experiment(s))"
            )
        if cost["probed"]:
            hours += f" (≈ {len(cost['probed'])} from probes)"
        row = f"| {paper} | {cost['recorded']}/{cost['planned']} | {hours} | `{case}` |"
        for _, cases, _ in benches:
            c = cases.get(case)
            if c is None or not known:
                row += f" {'—' if c is None else format(c['ratio'], '.2f') + 'x'} | — |"
            else:
                row += f" {c['ratio']:.2f}x | {cost['cpu_hours'] * c['ratio']:.3g} |"
        lines.append(row)
    notes = [
        "",
        "bionn CPU-h: mean recorded run (wall time × threads) × planned runs, per experiment; torch estimate: "
        "that × the case's ratio torch/bionn (> 1: PyTorch would take longer); experiments with no run or probe "
        "are left out of both. Benchmarks: "
        + ", ".join(
            f"{os.path.basename(p)} ({d['machine']['cpu']}, {t} thread(s), commit {d['settings'].get('git_commit')})"
            for p, (t, _, d) in zip(bench_files, benches)
        )
        + ".",
    ]
    return "\n".join(lines + notes) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bench", nargs="+", help="benchmark JSON files written by run.py --json")
    p.add_argument("--out", help="write the Markdown table here (it is always printed)")
    args = p.parse_args(argv)
    table = cost_table(args.bench)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
