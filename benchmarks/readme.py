#!/usr/bin/env python
"""The README's performance figures, rendered from the committed benchmark runs.

    python benchmarks/readme.py README.md           # rewrite the block between the bench markers
    python benchmarks/readme.py --check README.md   # exit 1 if the README differs from the runs

A run is a directory ``benchmarks/results/<UTC time>/`` written by ``benchmarks/report.py``
(``bench-<N>t.json`` per thread count, ``roofline-<N>t.json``). Only **idle** runs count: no smoke
settings, and neither before, around nor during any case did other processes keep the CPUs more
than :data:`IDLE_MAX_BUSY` busy (the harness measures this per case). Each figure is the median
over the idle runs of the per-run medians, with the range over runs; the targets of the
performance issue are checked against the same figures. Needs neither bionn nor torch: it only
reads JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
IDLE_MAX_BUSY = 0.10  # other processes' share of the CPUs above which a run is not idle
START = "<!-- bionn:bench:start (rendered by `python benchmarks/readme.py README.md`; do not edit) -->"
END = "<!-- bionn:bench:end -->"

#: Cases whose steps are GEMM-bound (targets: >= 2x torch at 2 threads, >= 1.5x at 1, scaling).
STEP_TARGETS = ("mlp_bn_dropout", "small_cnn", "flexible_small", "mixlu_lenet", "focus_table2_net")
EPOCH_TARGETS = ("fit_mlp_epoch", "fit_cnn_epoch")
BATCH1_TARGETS = ("mlp_softplus_bs1", "amplifying_net5_bs1")
SCALING_TARGETS = ("mlp_bn_dropout", "small_cnn", "focus_table2_net")


def _load(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _busy(bench: Dict[str, Any]) -> float:
    st = bench.get("settings", {})
    vals = [st.get("cpu_busy_before"), st.get("cpu_busy_after"), st.get("other_load")]
    vals += [c.get("other_load") for c in bench.get("cases", [])]
    vals = [float(v) for v in vals if isinstance(v, (int, float))]
    return max(vals) if vals else float("nan")


def load_runs(results: str = RESULTS) -> List[Dict[str, Any]]:
    """Every run directory under ``results``, oldest first: ``{"id", "bench": {threads: data},
    "roofline": {threads: data}, "idle": bool, "why": str}``."""
    out = []
    if not os.path.isdir(results):
        return out
    for rid in sorted(os.listdir(results)):
        d = os.path.join(results, rid)
        if not os.path.isdir(d):
            continue
        run: Dict[str, Any] = {"id": rid, "bench": {}, "roofline": {}, "idle": True, "why": ""}
        for kind in ("bench", "roofline"):
            for t in (1, 2):
                data = _load(os.path.join(d, f"{kind}-{t}t.json"))
                if data is not None:
                    run[kind][t] = data
        if not run["bench"]:
            continue
        every = list(run["bench"].values()) + list(run["roofline"].values())
        if any(x.get("settings", {}).get("smoke") for x in every):
            run["idle"], run["why"] = False, "smoke settings"
        else:
            busy = max(_busy(x) for x in every)
            if not busy <= IDLE_MAX_BUSY:
                run["idle"], run["why"] = False, f"other processes up to {100 * busy:.0f}% busy"
        out.append(run)
    return out


def _cases(runs: Sequence[Dict[str, Any]], threads: int) -> Dict[str, List[Dict[str, Any]]]:
    by: Dict[str, List[Dict[str, Any]]] = {}
    for r in runs:
        for c in r["bench"].get(threads, {}).get("cases", []):
            by.setdefault(c["name"], []).append(c)
    return by


_med = statistics.median


def _ratio(entries: Sequence[Dict[str, Any]]) -> Tuple[float, float, float]:
    rs = [e["ratio"] for e in entries]
    return _med(rs), min(rs), max(rs)


def _fmt_ratio(entries: Sequence[Dict[str, Any]]) -> str:
    if not entries:
        return ""
    m, lo, hi = _ratio(entries)
    digits = 0 if m >= 10 else 2
    spread = f" ({lo:.{digits}f}–{hi:.{digits}f})" if len(entries) > 1 else ""
    return f"**{m:.{digits}f}x**{spread}"


def _num(v: float) -> str:
    """Three significant digits, never in exponent notation (1250, 12.5, 0.125)."""
    return f"{v:.0f}" if v >= 100 else f"{v:.3g}"


def _times(entries: Sequence[Dict[str, Any]]) -> str:
    """``bionn / torch`` median times, both in ms, or both in s when either reaches a second."""
    if not entries:
        return ""
    b, t = _med([e["bionn_s"] for e in entries]), _med([e["torch_s"] for e in entries])
    if max(b, t) >= 1.0:
        return f"{_num(b)} / {_num(t)} s"
    return f"{_num(1e3 * b)} / {_num(1e3 * t)} ms"


def _mem(entries: Sequence[Dict[str, Any]]) -> str:
    es = [e for e in entries if "bionn_peak_mb" in e and "torch_peak_mb" in e]
    if not es:
        return ""
    return f"{_med([e['bionn_peak_mb'] for e in es]):.0f} / {_med([e['torch_peak_mb'] for e in es]):.0f}"


def _check(ok: Optional[bool]) -> str:
    return {True: "met", False: "**not met**", None: "no data"}[ok]


def targets(idle: Sequence[Dict[str, Any]]) -> List[Tuple[str, str, Optional[bool]]]:
    """The performance issue's targets: ``(target, measured, met)`` from the idle runs."""
    one, two = _cases(idle, 1), _cases(idle, 2)
    rows: List[Tuple[str, str, Optional[bool]]] = []
    for t, by, need in ((2, two, 2.0), (1, one, 1.5)):
        got = {n: _ratio(by[n])[0] for n in STEP_TARGETS if n in by}
        txt = ", ".join(f"{n} {v:.2f}x" for n, v in got.items()) or "—"
        ok = None if len(got) < len(STEP_TARGETS) else all(v >= need for v in got.values())
        rows.append((f"training steps ≥ {need}x PyTorch at {t} thread(s)", txt, ok))
    got = {(n, t): _ratio(by[n])[0] for t, by in ((1, one), (2, two)) for n in EPOCH_TARGETS if n in by}
    txt = ", ".join(f"{n} {t}t {v:.2f}x" for (n, t), v in got.items()) or "—"
    ok = None if len(got) < 2 * len(EPOCH_TARGETS) else all(v >= 1.5 for v in got.values())
    rows.append(("whole `fit` epoch ≥ 1.5x a plain PyTorch loop at 1 and 2 threads", txt, ok))
    shares = []
    for r in idle:
        for t, roof in r["roofline"].items():
            for s in roof.get("steps", []):
                if s.get("case") == "mlp_bn_dropout":
                    shares.append((t, s["step_peak_share"]))
    txt = ", ".join(f"{t}t {100 * v:.0f}%" for t, v in sorted(shares)) or "—"
    rows.append(
        ("GEMM-bound step (mlp_bn_dropout, batch 128) ≥ 85% of the SGEMM peak of the same run", txt,
         None if not shares else all(v >= 0.85 for _, v in shares))
    )  # fmt: skip
    fd = [e["bionn_over_baseline"] for e in two.get("focus_dense", []) if "bionn_over_baseline" in e]
    rows.append(
        ("FocusDense(784, 800) step ≤ 1.05x a Dense step of the same shape (2 threads)",
         f"{_med(fd):.2f}x" if fd else "—", None if not fd else _med(fd) <= 1.05)
    )  # fmt: skip
    got = {n: _ratio(two[n])[0] for n in BATCH1_TARGETS if n in two}
    rows.append(
        ("batch-1 epochs ≥ 80x PyTorch (2 threads)", ", ".join(f"{n} {v:.0f}x" for n, v in got.items()) or "—",
         None if len(got) < len(BATCH1_TARGETS) else all(v >= 80 for v in got.values()))
    )  # fmt: skip
    scal = {}
    for n in SCALING_TARGETS:
        if n in one and n in two:
            scal[n] = _med([e["bionn_s"] for e in one[n]]) / _med([e["bionn_s"] for e in two[n]])
    rows.append(
        ("thread scaling 1→2 threads ≥ 1.7x on GEMM-bound steps", ", ".join(f"{n} {v:.2f}x" for n, v in scal.items())
         or "—", None if len(scal) < len(SCALING_TARGETS) else all(v >= 1.7 for v in scal.values()))
    )  # fmt: skip
    mem = [
        (n, e["bionn_peak_mb"], e["torch_peak_mb"])
        for by in (one, two)
        for n, es in by.items()
        for e in es
        if "bionn_peak_mb" in e and "torch_peak_mb" in e
    ]
    worse = sorted({n for n, b, t in mem if b > t})
    rows.append(
        ("peak RSS of bionn ≤ PyTorch's in every case", "all cases" if mem and not worse else
         ("higher in " + ", ".join(worse) if worse else "—"), None if not mem else not worse)
    )  # fmt: skip
    return rows


def _gemm(run: Dict[str, Any]) -> str:
    """The run's GEMM backend (runs before bionn.set_blas existed used Eigen)."""
    return str(next(iter(run["bench"].values())).get("machine", {}).get("gemm") or "eigen")


def render(results: str = RESULTS, link_prefix: str = "benchmarks/results") -> str:
    """The markdown between the README's bench markers."""
    runs = load_runs(results)
    idle = [r for r in runs if r["idle"]]
    lines: List[str] = []
    if not idle:
        lines.append("No idle benchmark run is committed yet (`python benchmarks/report.py` on an idle machine).")
        skipped = [f"`{r['id']}` ({r['why']})" for r in runs]
        if skipped:
            lines.append("Not counted: " + ", ".join(skipped) + ".")
        return "\n".join(lines)
    # Only runs with the newest idle run's GEMM backend count (bionn.set_blas: eigen or a BLAS).
    backend = _gemm(idle[-1]).split()[0]
    other_gemm = [r for r in idle if _gemm(r).split()[0] != backend]
    idle = [r for r in idle if _gemm(r).split()[0] == backend]
    first = next(iter(idle[-1]["bench"].values()))
    m = first.get("machine", {})
    cpus = sorted({next(iter(r["bench"].values())).get("machine", {}).get("cpu", "?") for r in idle})
    commits = sorted({b.get("settings", {}).get("git_commit", "?") for r in idle for b in r["bench"].values()})
    ids = ", ".join("`" + r["id"] + "`" for r in idle)
    lines.append(
        f"bionn {m.get('bionn', '?')} vs PyTorch {m.get('torch', '?')} on {', '.join(cpus)} "
        f"({m.get('cores', '?')} cores), from {len(idle)} idle run(s) of `benchmarks/report.py` "
        f"({ids}; commit(s) {', '.join(commits)}; bionn's GEMM: {', '.join(sorted({_gemm(r) for r in idle}))}). "
        "Ratio = PyTorch time / bionn time for the same work (> 1: bionn faster): the median over runs of "
        "each run's median, with the range over runs; times are the median run's. Peak memory: resident set "
        "of a fresh process per side (MB)."
    )
    not_idle = [f"`{r['id']}` ({r['why']})" for r in runs if not r["idle"]]
    not_idle += [f"`{r['id']}` (GEMM {_gemm(r)}, not {backend})" for r in other_gemm]
    if not_idle:
        lines.append("")
        lines.append("Runs not counted: " + ", ".join(not_idle) + ".")
    lines.append("")
    one, two = _cases(idle, 1), _cases(idle, 2)
    lines.append(
        "| case | 2 threads: bionn / torch | ratio | 1 thread: bionn / torch | ratio | peak MB bionn / torch |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|")
    names = list(dict.fromkeys([*two, *one]))
    for n in names:
        lines.append(
            f"| `{n}` | {_times(two.get(n, []))} | {_fmt_ratio(two.get(n, []))} | {_times(one.get(n, []))} | "
            f"{_fmt_ratio(one.get(n, []))} | {_mem(two.get(n, []) or one.get(n, []))} |"
        )
    base = [(n, e) for n, es in two.items() for e in es if "bionn_over_baseline" in e]
    if base:
        lines.append("")
        parts = []
        for n in dict.fromkeys(n for n, _ in base):
            es = [e for k, e in base if k == n]
            parts.append(f"`{n}` {_med([e['bionn_over_baseline'] for e in es]):.2f}x {es[0]['baseline']}")
        lines.append("bionn side over its bionn baseline (2 threads, < 1: cheaper): " + "; ".join(parts) + ".")
    roofs = [(r["id"], t, roof) for r in idle for t, roof in sorted(r["roofline"].items())]
    if roofs:
        lines.append("")
        peaks = ", ".join(
            f"{t}t {roof['peak']['eigen_gflops']:.0f} / "
            f"{'—' if not roof['peak'].get('blas_gflops') else format(roof['peak']['blas_gflops'], '.0f')} / "
            f"{roof['peak']['torch_gflops']:.0f}"
            for _, t, roof in roofs
        )
        lines.append(
            "SGEMM peak measured in the same runs (2048², GFLOP/s, bionn with Eigen / with its BLAS / torch.mm): "
            f"{peaks}."
        )
        rid = roofs[-1][0]
        lines.append(  # paths, not links: docs/benchmarks.md includes this block from another directory
            f"Roofline and cost-vs-size figures: `{link_prefix}/{rid}/roofline-<threads>t.png`; every table, with the "
            f"per-layer roofline and the full-protocol cost per paper: `{link_prefix}/{rid}/summary.md`."
        )
    lines.append("")
    lines.append("| target (performance issue) | measured | |")
    lines.append("|---|---|---|")
    for what, txt, ok in targets(idle):
        lines.append(f"| {what} | {txt} | {_check(ok)} |")
    return "\n".join(lines)


def update(readme: str, results: str = RESULTS, check: bool = False) -> bool:
    """Rewrite (or with ``check`` compare) the block between :data:`START` and :data:`END`;
    returns whether it was up to date."""
    with open(readme, encoding="utf-8") as fh:
        text = fh.read()
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"{readme} has no benchmark block ({START!r} ... {END!r})")
    new = text[: i + len(START)] + "\n" + render(results) + "\n" + text[j:]
    if new == text:
        return True
    if not check:
        tmp = readme + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(new)
        os.replace(tmp, readme)
    return False


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("readme")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--check", action="store_true", help="exit 1 if the README is not what the runs say")
    args = p.parse_args(argv)
    same = update(args.readme, args.results, check=args.check)
    if args.check and not same:
        print(
            f"{args.readme}: the benchmark block differs from {args.results}; run benchmarks/readme.py", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
