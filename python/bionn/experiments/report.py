"""Reports rendered from run records: the ledger table, ``results/<paper>.md`` with figures, and the
README's "What is reproduced" table (between ``README_START`` and ``README_END``).

Everything here reads records (through :func:`bionn.experiments.ledger.assess`), never trains, and
renders deterministically, so a test can check that the committed README table is what the
committed records say.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..io import atomic_write
from .criteria import ClaimData
from .ledger import _experiment_records, assess
from .records import RunStore, default_store, probe_estimate
from .registry import Claim, claims, get_experiment
from .sweep import _to_frame

__all__ = [
    "ledger_table",
    "render_paper",
    "write_reports",
    "readme_table",
    "README_START",
    "README_END",
    "readme_section",
    "update_readme",
    "claim_data",
    "experiment_data",
    "cost_table",
]

README_START = "<!-- bionn:ledger:start (rendered by `bionn report --readme README.md`; do not edit) -->"
README_END = "<!-- bionn:ledger:end -->"


def _cell(text: Any) -> str:
    """Markdown table cell: one line, pipes escaped."""
    s = "" if text is None else " ".join(str(text).split())
    return s.replace("|", "\\|")


def _verdict_text(r: Dict[str, Any]) -> str:
    v = r["verdict"]
    if v == "PARTIAL":
        so_far = r.get("verdict_so_far")
        return f"PARTIAL ({r['runs_done']}/{r['runs_planned']} runs" + (
            f"; so far {so_far})" if r["runs_done"] else ")"
        )
    return v


def ledger_table(results: Sequence[Dict[str, Any]], markdown: bool = True, width: int = 48) -> str:
    """The ledger: claim, where, the paper's value, bionn's value, verdict, runs."""
    headers = ["claim", "where", "paper", "bionn", "verdict", "runs"]
    rows = [
        [
            r["id"],
            r["where"],
            r["paper_value"],
            r["bionn_value"] if r["bionn_value"] is not None else "—",
            _verdict_text(r),
            f"{r['runs_done']}/{r['runs_planned']}",
        ]
        for r in results
    ]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"

    def clip(s: Any) -> str:
        s = " ".join(str(s).split())
        return s if len(s) <= width else s[: width - 1] + "…"

    rows = [[clip(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out) + "\n"


def counts(results: Sequence[Dict[str, Any]]) -> str:
    from .ledger import VERDICTS

    n = {v: sum(r["verdict"] == v for r in results) for v in VERDICTS}
    return ", ".join(f"{k} {v}" for k, v in n.items() if v) or "no claims"


def experiment_data(
    paper: str, names: Sequence[str], mode: str = "full", store: Optional[RunStore] = None
) -> ClaimData:
    """The recorded runs of ``paper``'s experiments ``names`` (the protocol of ``mode``) as a
    :class:`ClaimData`: what criteria and report sections read."""
    import pandas as pd

    store = default_store() if store is None else store
    frames, records = {}, {}
    for name in names:
        recs = _experiment_records(store, get_experiment(paper, name), mode)
        records[name] = recs
        frames[name] = _to_frame(pd, [(r["seed"], r["config"]) for r in recs], [r["metrics"] for r in recs])
    return ClaimData(frames, records)


def claim_data(claim: Claim, mode: str = "full", store: Optional[RunStore] = None) -> ClaimData:
    """The recorded runs a claim's criterion reads (as :func:`assess` builds them)."""
    return experiment_data(claim.paper, claim.experiments, mode, store)


def cost_table(paper: str, mode: str = "full", store: Optional[RunStore] = None) -> str:
    """Markdown: per experiment of ``paper``, the runs recorded of those planned, the CPU-hours they
    took (wall time × threads, from the records), the mean CPU-minutes per run, and the CPU-hours
    the missing runs need at that mean (— while no run is recorded)."""
    from .registry import experiments

    store = default_store() if store is None else store
    by_exp: Dict[str, List[str]] = {}
    for c in claims(paper):
        for name in c.experiments:
            by_exp.setdefault(name, []).append(c.id.split(".", 1)[1])
    lines = [
        "| experiment | claims | runs | CPU-h done | CPU-min per run | CPU-h still needed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    total_done = total_needed = 0.0
    unknown = estimated = 0
    for exp in experiments(paper):
        recs = _experiment_records(store, exp, mode)
        planned = exp.n_runs(mode)
        cpu = [float(r.get("wall_time_s") or 0.0) * int((r.get("machine") or {}).get("threads") or 1) for r in recs]
        done = sum(cpu) / 3600
        total_done += done
        per_run = (sum(cpu) / len(cpu) / 60) if cpu else None
        missing = planned - len(recs)
        per_run_text = "—" if per_run is None else f"{per_run:.3g}"
        if per_run is None and mode == "full":
            try:
                probe = store.load_probe(exp.paper, exp.name)
            except ValueError:
                probe = None
            if probe is not None:  # no run yet: a probe's epochs extrapolated to the full protocol
                per_run = probe_estimate(probe) / 60
                per_run_text = f"≈ {per_run:.3g} (probe: {probe['epochs']} of {probe['full_epochs']} epochs)"
                estimated += 1
        if not missing:
            needed = "0"
        elif per_run is None:
            needed, unknown = "—", unknown + 1
        else:
            total_needed += missing * per_run / 60
            needed = f"{missing * per_run / 60:.3g}"
        lines.append(
            f"| `{exp.name}` | {_cell(', '.join(by_exp.get(exp.name, [])) or '— (a report section only)')} | "
            f"{len(recs)}/{planned} | "
            f"{done:.2f} | {per_run_text} | {needed} |"
        )
    lines.append(
        f"| **total** | | | **{total_done:.2f}** | | **{total_needed:.3g}**"
        + (f" + {unknown} experiment(s) with no run or probe yet" if unknown else "")
        + " |"
    )
    if estimated:
        lines += [
            "",
            f"≈: {estimated} experiment(s) with no run yet are estimated from a cost probe (`bionn reproduce "
            "CLAIMS --probe`: the CPU time of the first config trained for 1 and for 2 epochs on one thread; the "
            "difference is the cost per epoch, the rest — data loading, final evaluations — counts once per run; "
            "where a probe also timed the other configs for as many epochs, the estimate is the mean over configs). "
            "Recorded runs are counted in wall time × threads, which a loaded machine inflates.",
        ]
    return "\n".join(lines) + "\n"


def _section(section: Any, mode: str, store: RunStore, fig_dir: Optional[Path], rel: str) -> List[str]:
    """The markdown lines of one report section (and its figure, when ``fig_dir``)."""
    lines = [f"### {section.title}", ""]
    if section.note:
        lines += [section.note, ""]
    data = experiment_data(section.paper, section.experiments, mode, store)
    if not any(len(data.records(n)) for n in section.experiments):
        return lines + ["(no runs recorded yet)", ""]
    if section.table is not None:
        lines += [section.table(data).rstrip(), ""]
    if section.plot is not None and fig_dir is not None:
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            return lines + ["(figures need matplotlib: pip install 'bionn[plot]')", ""]
        fig = plt.figure(figsize=(6.4, 4.0))
        try:
            if section.plot(data, fig):
                path = fig_dir / f"section_{section.name}.png"
                fig.savefig(path, dpi=100, metadata={"Software": None})
                lines += [f"![{path.name}]({rel}/{path.name})", ""]
        finally:
            plt.close(fig)
    return lines


def _short(claim_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", claim_id.split(".", 1)[1])


def _figures(claim: Claim, data: ClaimData, fig_dir: Path, rel: str) -> List[str]:
    """Writes the claim's evidence figure and learning curves (if records carry curves; a curve whose
    name holds "/" is a per-run table, not a per-epoch curve, and is left to report sections);
    returns the figures' paths relative to the report."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    try:
        if claim.criterion.plot(data, ax):
            ax.set_title(claim.id, fontsize=8)
            fig.tight_layout()
            path = fig_dir / f"{_short(claim.id)}.png"
            fig.savefig(path, dpi=100, metadata={"Software": None})
            written.append(f"{rel}/{path.name}")
    finally:
        plt.close(fig)
    for name in claim.experiments:
        recs = [r for r in data.records(name) if r.get("curves")]

        # Per-epoch curves are a record's longest ones; shorter ones and names with "/" are per-run
        # tables (e.g. accuracy per ε, a pruning curve over thresholds), drawn by claims or sections.
        def _epoch_keys(r: Dict[str, Any]) -> List[str]:
            lengths = {k: len(v) for k, v in r["curves"].items() if v and "/" not in k}
            longest = max(lengths.values(), default=0)
            return [k for k, n in lengths.items() if n == longest]

        keys = sorted({k for r in recs for k in _epoch_keys(r)})[:4]
        if not keys:
            continue
        path = fig_dir / f"curves_{name}.png"
        if f"{rel}/{path.name}" in written:
            continue
        fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.2), squeeze=False)
        try:
            groups: Dict[str, List[List[float]]] = {}
            for r in recs:
                label = ", ".join(f"{k}={v}" for k, v in r["config"].items() if k in _varying(recs))
                groups.setdefault(label or name, []).append(r)
            for ax, key in zip(axes[0], keys):
                for i, (label, rs) in enumerate(sorted(groups.items())):
                    curves = [np.asarray(r["curves"].get(key) or [], dtype=float) for r in rs]
                    n = min((c.size for c in curves), default=0)
                    if n == 0:
                        continue
                    m = np.mean([c[:n] for c in curves], axis=0)
                    ax.plot(np.arange(1, n + 1), m, color=f"C{i % 10}", label=f"{label} (n={len(curves)})")
                ax.set_title(key, fontsize=9)
                ax.set_xlabel("epoch")
            axes[0][0].legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(path, dpi=100, metadata={"Software": None})
            written.append(f"{rel}/{path.name}")
        finally:
            plt.close(fig)
    return written


def _varying(recs: Sequence[Dict[str, Any]]) -> set:
    keys = {k for r in recs for k in r["config"]}
    return {k for k in keys if len({repr(r["config"].get(k)) for r in recs}) > 1}


def render_paper(
    paper: str,
    results: Sequence[Dict[str, Any]],
    store: Optional[RunStore] = None,
    out_dir: Optional[Path] = None,
    figures: bool = True,
) -> str:
    """The markdown report of one paper's claims (figures written under ``out_dir/figures/<paper>``)."""
    from .registry import experiments, sections

    store = default_store() if store is None else store
    results = [r for r in results if r["paper"] == paper]
    mode = results[0]["mode"] if results else "full"
    lines = [f"# {paper}: what reproduces", ""]
    lines.append(f"Rendered by `bionn report {paper}` from the run records in `{_rel_store(store)}` ({mode} protocol).")
    lines.append(f"Verdicts: {counts(results)}.")
    lines += ["", ledger_table(results)]
    by_id = {c.id: c for c in claims(paper)}
    fig_dir = None
    if figures and out_dir is not None:
        fig_dir = Path(out_dir) / "figures" / paper
        fig_dir.mkdir(parents=True, exist_ok=True)
    for r in results:
        claim = by_id.get(r["id"])
        lines += [f"## `{r['id']}` — {r['where']}", ""]
        lines.append(f"**The paper:** {r['statement']}  ")
        lines.append(f"**Paper's value:** {r['paper_value']}  ")
        lines.append(f"**Criterion (fixed before running):** {r['criterion']}  ")
        if r["reading"]:
            lines.append(f"**Reading:** {r['reading']}  ")
        lines.append(f"**bionn:** {r['bionn_value'] if r['bionn_value'] is not None else '—'}  ")
        if r["test"] and r["pvalue"] is not None:
            stat = f"{r['statistic']:.3g}" if r["statistic"] is not None else "—"
            lines.append(f"**Test:** {r['test']}, statistic {stat}, p = {r['pvalue']:.3g}  ")
        lines.append(
            f"**Verdict:** {_verdict_text(r)} — {r['runs_done']} of {r['runs_planned']} planned runs recorded  "
        )
        if r["reason"]:
            lines.append(f"**Why:** {r['reason']}  ")
        if r["note"]:
            lines.append(f"**Note:** {r['note']}  ")
        if r["deviations"]:
            lines += ["", "Declared deviations from the paper:", ""] + [f"- {d}" for d in r["deviations"]]
        if fig_dir is not None and claim is not None and r["runs_done"]:
            try:
                figs = _figures(claim, claim_data(claim, mode, store), fig_dir, f"figures/{paper}")
            except ImportError:
                figs = []
                lines += ["", "(figures need matplotlib: pip install 'bionn[plot]')"]
            lines += [""] + [f"![{os.path.basename(f)}]({f})" for f in figs]
        lines.append("")
    extra = sections(paper)
    if extra:
        lines += ["## Tables and figures", ""]
        for section in extra:
            lines += _section(section, mode, store, fig_dir, f"figures/{paper}")
    lines += ["## Cost", "", "CPU time of the recorded runs on this project's machine (from the records).", ""]
    lines += [cost_table(paper, mode, store).rstrip(), ""]
    lines += ["## Protocols", ""]
    for exp in experiments(paper):
        full, quick = exp.n_runs("full"), exp.n_runs("quick")
        lines.append(f"### `{exp.name}`" + (f" — {exp.description}" if exp.description else ""))
        lines.append("")
        for k, v in exp.protocol.items():
            lines.append(f"- **{k}:** {v}")
        lines.append(f"- **runs:** {len(exp.configs)} config(s) × {len(exp.seeds)} seed(s) = {full}")
        lines.append(f"- **quick mode:** {quick} run(s); {exp.quick.note or 'reduced settings'}")
        for d in exp.deviations:
            lines.append(f"- **deviation:** {d}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _rel_store(store: RunStore) -> str:
    """How the report names the store: ``results/`` for a checkout's, else its path."""
    return "results/" if store.root.name == "results" else str(store.root)


def write_reports(
    papers: Sequence[str], store: Optional[RunStore] = None, out_dir: Optional[Path] = None, figures: bool = True
) -> Dict[str, Path]:
    """Assesses every claim of ``papers`` from the full-protocol records and writes
    ``<out_dir>/<paper>.md`` (``out_dir`` defaults to the store's root); returns the paths."""
    store = default_store() if store is None else store
    out_dir = Path(store.root if out_dir is None else out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for paper in papers:
        results = assess(claims(paper), "full", store)
        text = render_paper(paper, results, store, out_dir, figures)
        path = out_dir / f"{paper}.md"
        with atomic_write(path, binary=False) as fh:
            fh.write(text)
        written[paper] = path
    return written


def readme_table(results: Sequence[Dict[str, Any]]) -> str:
    """The README's ledger section (between the markers), rendered from ``results``."""
    body = ledger_table(results)
    return (
        f"{README_START}\n{body}\n"
        f"Verdicts from the committed run records (full protocols): {counts(results)}. "
        "Per-paper reports with the tests, declared deviations and figures: `results/<paper>.md`.\n"
        f"{README_END}"
    )


def readme_section(path: Path) -> Optional[str]:
    """The ledger section currently in the README at ``path`` (markers included), or None."""
    text = Path(path).read_text(encoding="utf-8")
    i, j = text.find(README_START), text.find(README_END)
    if i < 0 or j < 0 or j < i:
        return None
    return text[i : j + len(README_END)]


def update_readme(path: Path, section: str) -> bool:
    """Replaces the README's ledger section with ``section``; returns whether the file changed.
    ValueError if the markers are missing."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    old = readme_section(path)
    if old is None:
        raise ValueError(f"{path} has no ledger section: add the lines\n{README_START}\n{README_END}")
    if old == section:
        return False
    with atomic_write(path, binary=False) as fh:
        fh.write(text.replace(old, section))
    return True
