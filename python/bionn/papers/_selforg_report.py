"""The self-organizing network paper's evidence and report: Table 2's paired evidence and Fig. 6 (the
claims' criteria in :mod:`bionn.papers.selforg` call them), and the report sections — Table 1 and
Table 2 beside the paper's, and the topology evolution of a meta-learned run (Fig. 6 right) —
rendered from the run records. :func:`register_sections` is called by ``selforg`` once its
experiments are registered. Imports no paper module (no cycle)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..experiments import ClaimData, Evidence, Group, Section, register_section, wilcoxon
from ._selforg_protocol import (
    CONTROLS,
    PAPER,
    PAPER_PEARSON_R,
    PAPER_TABLE1,
    PAPER_TABLE2,
    SENSITIVITY,
    T2_MAIN,
    TOPOLOGIES,
)

# §3.2's r = 0.75 with its 95 % confidence interval (Fisher z) at the n of our reading of Fig. 5:
# the 60 networks of Table 1 (6 topologies x 10 runs); the paper gives no n and no interval.
PAPER_PEARSON_N = len(TOPOLOGIES) * 10
_Z, _SE = float(np.arctanh(PAPER_PEARSON_R)), 1.0 / float(np.sqrt(PAPER_PEARSON_N - 3))
PAPER_PEARSON_CI = (round(float(np.tanh(_Z - 1.959964 * _SE)), 3), round(float(np.tanh(_Z + 1.959964 * _SE)), 3))
ALL_T1 = Group("table1_mnist", {}, "Table 1 networks (all topologies x runs)")


def corr_xy(data: ClaimData) -> Tuple[np.ndarray, np.ndarray, Any]:
    rows = ALL_T1.rows(data)
    if len(rows) == 0:
        return np.zeros(0), np.zeros(0), rows
    return rows["max_entropy"].to_numpy(np.float64), rows["accuracy"].to_numpy(np.float64), rows


def corr_evaluate(data: ClaimData) -> Evidence:
    from ..experiments import pearson

    x, y, _ = corr_xy(data)
    n = int(x.size)
    if n < 3:
        return Evidence(None, f"n = {n}", "needs at least 3 runs", details={"n": n})
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return Evidence(False, f"n = {n}", "a run diverged (NaN/Inf metric)", details={"n": n})
    res = pearson(x, y, alternative="greater")
    r, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(r):
        return Evidence(False, f"r undefined (constant values), n = {n}", "no correlation", details={"n": n})
    lo, hi = PAPER_PEARSON_CI
    sig, inside = bool(p < 0.05 and r > 0), bool(lo <= r <= hi)
    reason = (
        f"r = {r:.3f}; p = {p:.3g} {'<' if p < 0.05 else '≥'} 0.05; r {'within' if inside else 'outside'} the "
        f"paper's {PAPER_PEARSON_R} [{lo}, {hi}]"
    )
    details = {"n": n, "r": r, "paper_r": PAPER_PEARSON_R, "paper_ci": list(PAPER_PEARSON_CI)}
    return Evidence(sig and inside, f"r = {r:.3f}, p = {p:.3g} (n = {n})", reason, res.test, r, p, details)


def corr_plot(data: ClaimData, ax: Any) -> bool:
    from ..plot.selforg import selforg_entropy_accuracy

    x, y, rows = corr_xy(data)
    if x.size < 2:
        return False
    labels = list(rows["topology"]) if "topology" in rows.columns else None
    selforg_entropy_accuracy(x, y, labels=labels, ax=ax)
    lo, hi = PAPER_PEARSON_CI
    ax.text(
        0.02, 0.02, f"paper: r = {PAPER_PEARSON_R} [{lo}, {hi}]", transform=ax.transAxes, fontsize=7, color="crimson"
    )
    return True


T2_MIN = round((PAPER_TABLE2["x1"] - PAPER_TABLE2["x0"]) / 2, 4) / 100  # half the paper's 1.16 points


def main_rows(data: ClaimData, cfg: Optional[Dict[str, Any]] = None) -> Any:
    """The table2_mnist runs of one (meta_steps, epochs_per_step) config (default: the main one),
    sorted by seed. Quick mode's records carry its own meta_steps: with a single config recorded,
    that one is the main config."""
    df = data.frame("table2_mnist")
    if len(df) == 0 or "meta_steps" not in df.columns:
        return df
    if cfg is None:
        if "controls" in df.columns:
            main = df[df["controls"].astype(str) == ",".join(CONTROLS)]
            if len(main):
                return main.sort_values("seed")
        cfg = T2_MAIN
    mask = (df["meta_steps"] == cfg["meta_steps"]) & (df["epochs_per_step"] == cfg["epochs_per_step"])
    return df[mask].sort_values("seed")


def paired(data: ClaimData, a: str, b: str) -> Tuple[np.ndarray, np.ndarray]:
    df = main_rows(data)
    if len(df) == 0 or a not in df.columns or b not in df.columns:
        return np.zeros(0), np.zeros(0)
    df = df.dropna(subset=[a, b])
    return df[a].to_numpy(np.float64), df[b].to_numpy(np.float64)


def sensitivity(data: ClaimData) -> Dict[str, Any]:
    """Median x0 -> x1 and the one-sided Wilcoxon p of each sensitivity config with records."""
    from ..experiments import wilcoxon

    out = {}
    for cfg in SENSITIVITY:
        df = main_rows(data, cfg)
        if len(df) < 2 or "acc_final" not in df.columns:
            continue
        x0, x1 = df["acc_initial"].to_numpy(np.float64), df["acc_final"].to_numpy(np.float64)
        try:
            p = float(wilcoxon(x1, x0, alternative="greater").pvalue)
        except ValueError:
            p = float("nan")
        out[f"M={cfg['meta_steps']},epochs={cfg['epochs_per_step']}"] = {
            "n": len(df),
            "median_initial": float(np.median(x0)),
            "median_final": float(np.median(x1)),
            "p": p,
        }
    return out


def paired_test(
    data: ClaimData, a: str, b: str, label_a: str, label_b: str, margin: float, min_diff: Optional[float]
) -> Evidence:
    """One-sided Wilcoxon signed-rank test of ``a + margin > b`` paired by run; with ``min_diff``,
    also median(a) - median(b) ≥ min_diff."""
    from ..experiments import wilcoxon

    xa, xb = paired(data, a, b)
    n = int(xa.size)
    if n < 2:
        return Evidence(None, f"n = {n}", "too few runs for the Wilcoxon signed-rank test", details={"n": n})
    if not (np.isfinite(xa).all() and np.isfinite(xb).all()):
        return Evidence(False, f"n = {n}", "a run diverged (NaN/Inf metric)", details={"n": n})
    ma, mb = float(np.median(xa)), float(np.median(xb))
    try:
        res = wilcoxon(xa + margin, xb, alternative="greater")
    except ValueError as exc:
        return Evidence(None, f"n = {n}", f"the test cannot be computed: {exc}", details={"n": n})
    diff = ma - mb
    sig = bool(res.pvalue < 0.05)
    holds = sig
    reason = f"p = {res.pvalue:.3g} {'<' if sig else '≥'} 0.05"
    if min_diff is not None:
        big = bool(diff >= min_diff - 1e-12)
        holds = holds and diff > 0 and big
        reason += f"; median difference {100 * diff:.2f} points {'≥' if big else '<'} {100 * min_diff:.2f}"
    details: Dict[str, Any] = {"n": n, f"median_{a}": ma, f"median_{b}": mb, "median_difference": diff}
    if margin:
        details["margin"] = margin
    value = f"median {label_a} {100 * ma:.2f} % vs {label_b} {100 * mb:.2f} %, n = {n}"
    return Evidence(bool(holds), value, reason, res.test, res.statistic, res.pvalue, details)


def table2_evaluate(data: ClaimData) -> Evidence:
    ev = paired_test(data, "acc_final", "acc_initial", "x1", "x0", 0.0, T2_MIN)
    df = main_rows(data)
    if ev.holds is None and not len(df):
        return ev
    x1 = df["acc_final"].to_numpy(np.float64) if "acc_final" in df.columns else np.zeros(0)
    if x1.size:
        m0, m1 = ev.details.get("median_acc_initial"), ev.details.get("median_acc_final")
        if m0 is not None and m1 is not None:
            ev.value = f"median x0 {100 * m0:.2f} % -> x1 {100 * m1:.2f} % (max {100 * x1.max():.2f} %), n = {x1.size}"
        ev.details["max_final"] = float(x1.max())
    for col, key in (("accepted", "accepted_mean"), ("candidates", "candidates_mean")):
        if col in df.columns:
            ev.details[key] = float(df[col].mean())
    sens = sensitivity(data)
    ev.details["sensitivity"] = sens
    if sens:
        ev.reason += "; sensitivity (median x0 -> x1, p): " + ", ".join(
            f"{k}: {100 * v['median_initial']:.2f} -> {100 * v['median_final']:.2f} %, p = {v['p']:.3g}"
            for k, v in sens.items()
        )
    else:
        ev.reason += "; sensitivity configs: no records"
    return ev


def fig6(data: ClaimData, ax: Any) -> bool:
    """Fig. 6: accuracy per run after each meta-step, the paper's medians at the ends."""
    recs = [r for r in data.records("table2_mnist") if r.get("curves", {}).get("accuracy")]
    main = main_rows(data)
    seeds = set(main["seed"]) if len(main) else set()
    cfg = None
    if len(main):
        cfg = {k: main.iloc[0][k] for k in ("meta_steps", "epochs_per_step")}
    recs = [
        r
        for r in recs
        if r["seed"] in seeds and cfg is not None and all(r["config"].get(k) == v for k, v in cfg.items())
    ]
    if not recs:
        return False
    M = 0
    for i, r in enumerate(sorted(recs, key=lambda r: r["seed"])):
        acc = 100 * np.asarray(r["curves"]["accuracy"], dtype=float)
        M = max(M, acc.size - 1)
        ax.plot(np.arange(acc.size), acc, "-", lw=1, color=f"C{i % 10}", alpha=0.8)
    ax.plot([0, M], [PAPER_TABLE2["x0"], PAPER_TABLE2["x1"]], "*", ms=12, color="crimson", label="paper medians")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("meta-step")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="best", fontsize=7)
    return True


def pair_plot(a: str, b: str, labels: Tuple[str, str]) -> Any:
    def plot(data: ClaimData, ax: Any) -> bool:
        xa, xb = paired(data, a, b)
        if not xa.size:
            return False
        for u, v in zip(xb, xa):
            ax.plot([0, 1], [100 * u, 100 * v], "o-", color="C0", alpha=0.6)
        ax.set_xticks([0, 1])
        ax.set_xticklabels([labels[1], labels[0]])
        ax.set_ylabel("test accuracy (%)")
        return True

    return plot


def _pct(x: np.ndarray) -> str:
    if not x.size:
        return "—"
    if x.size == 1:
        return f"{100 * x[0]:.2f} (n = 1)"
    return f"{100 * x.mean():.2f} ± {100 * x.std(ddof=1):.2f} (n = {x.size})"


def table1_markdown(data: ClaimData) -> str:
    """Table 1: accuracy per topology (mean ± sd over runs) and the mean maximum entropy, beside the paper's."""
    df = data.frame("table1_mnist")
    lines = [
        "| topology | paper accuracy % | bionn accuracy % (mean ± sd, n) | bionn max entropy |",
        "|---|---:|---|---:|",
    ]
    for t in TOPOLOGIES:
        rows = df[df["topology"] == t] if len(df) and "topology" in df.columns else df.iloc[0:0]
        acc = rows["accuracy"].to_numpy(np.float64) if len(rows) else np.zeros(0)
        ent = f"{rows['max_entropy'].mean():.3f}" if len(rows) and "max_entropy" in rows.columns else "—"
        lines.append(f"| {t} | {PAPER_TABLE1[t]} | {_pct(acc)} | {ent} |")
    return "\n".join(lines)


def _median_line(label: str, df: Any, col: str, paper: str = "") -> str:
    x = df[col].dropna().to_numpy(np.float64) if len(df) and col in df.columns else np.zeros(0)
    med = f"{100 * np.median(x):.2f} (n = {x.size})" if x.size else "—"
    return f"| {label} | {paper} | {med} |"


def table2_markdown(data: ClaimData) -> str:
    """Table 2: medians of the initial (x0) and meta-learned (x1) accuracies, the best x1, the one-sided
    Wilcoxon p, the two controls and the sensitivity configs, beside the paper's."""
    main = main_rows(data)
    lines = ["| main config (declared reading) | paper | bionn (median %, n) |", "|---|---:|---:|"]
    lines.append(_median_line("x0: random topology after base learning", main, "acc_initial", f"{PAPER_TABLE2['x0']}"))
    lines.append(_median_line("x1: after meta-learning", main, "acc_final", f"{PAPER_TABLE2['x1']}"))
    best = main["acc_final"].max() if len(main) and "acc_final" in main.columns else None
    lines.append(f"| best x1 | {PAPER_TABLE2['max']} | {'—' if best is None else f'{100 * best:.2f}'} |")
    p = "—"
    if len(main) >= 2:
        try:
            p = f"{wilcoxon(main['acc_final'], main['acc_initial'], alternative='greater').pvalue:.3g}"
        except ValueError as exc:
            p = f"(not computable: {exc})"
    lines.append(f"| one-sided Wilcoxon x1 > x0, p | {PAPER_TABLE2['p']} | {p} |")
    lines.append(_median_line("control: the same epochs without meta-steps", main, "acc_control", "(not in the paper)"))
    lines.append(
        _median_line(
            "control: only the epochs the accepted candidates got", main, "acc_control_matched", "(not in the paper)"
        )
    )
    lines.append(
        _median_line("control: random search, same evaluations", main, "acc_random_search", "(not in the paper)")
    )
    if len(main) and "accepted" in main.columns:
        lines.append(
            f"| accepted / candidate moves per run (mean) | | {main['accepted'].mean():.1f} / "
            f"{main['candidates'].mean():.1f} |"
        )
    lines += [
        "",
        "| sensitivity: meta-steps M, epochs per candidate | median x0 → x1 % | p (x1 > x0) | n |",
        "|---|---|---:|---:|",
    ]
    for cfg in SENSITIVITY:
        df = main_rows(data, cfg)
        label = f"M = {cfg['meta_steps']}, {cfg['epochs_per_step']} epoch(s)"
        if len(df) < 1 or "acc_final" not in df.columns:
            lines.append(f"| {label} | — | — | 0 |")
            continue
        x0, x1 = df["acc_initial"].to_numpy(np.float64), df["acc_final"].to_numpy(np.float64)
        try:
            pv = f"{wilcoxon(x1, x0, alternative='greater').pvalue:.3g}" if x0.size >= 2 else "—"
        except ValueError:
            pv = "—"
        lines.append(f"| {label} | {100 * np.median(x0):.2f} → {100 * np.median(x1):.2f} | {pv} | {x0.size} |")
    return "\n".join(lines)


def evolution_plot(data: ClaimData, fig: Any) -> bool:
    """The receptive fields of the main-config run with the most accepted moves, one panel per accepted
    meta-step (Fig. 6 right), with its test accuracy."""
    from ..plot import selforg_topology
    from ..selforg import Topology

    main = main_rows(data)
    if not len(main) or "fields_per_step" not in main.columns:
        return False
    row = main.sort_values(["accepted", "seed"], ascending=[False, True]).iloc[0]
    fields, accs = list(row["fields_per_step"]), list(row["acc_per_step"])
    keep = [0] + [i for i in range(1, len(fields)) if fields[i] != fields[i - 1]]  # accepted moves only
    keep = keep[:12]
    base = Topology.random(100 + int(row["seed"]))
    ncols = min(4, len(keep))
    nrows = (len(keep) + ncols - 1) // ncols
    fig.set_size_inches(3.4 * ncols, 2.2 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, i in zip(axes, keep):
        selforg_topology(
            base.with_fields(fields[i], name=""), ax=ax, title=f"step {i}: {100 * accs[i]:.1f} %", arrows=False
        )
    for ax in axes[len(keep) :]:
        ax.axis("off")
    fig.suptitle(f"run {int(row['seed'])}: receptive fields after each accepted meta-step", fontsize=9)
    fig.tight_layout()
    return True


def register_sections() -> None:
    """Registers the report sections (after ``selforg`` has registered its experiments)."""
    register_section(
        Section(
            PAPER,
            "table1",
            "Table 1: handcrafted and random topologies (MNIST sample)",
            ["table1_mnist"],
            table=table1_markdown,
            note="Test accuracy of the readout per topology and the network's maximum entropy over epochs (mean over "
            "runs).",
        )
    )
    register_section(
        Section(
            PAPER,
            "table2",
            "Table 2: meta-learning from random topologies, with controls and the sensitivity check",
            ["table2_mnist"],
            table=table2_markdown,
            note="Medians over the runs of the main config (M and epochs per candidate are a declared reading; "
            "the sensitivity configs vary them). The controls start from the same initial network as the hill climber.",
        )
    )
    register_section(
        Section(
            PAPER,
            "evolution",
            "Fig. 6 (right): how one run's receptive fields moved",
            ["table2_mnist"],
            plot=evolution_plot,
        )
    )
