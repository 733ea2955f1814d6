"""The self-organizing network paper's report sections: Table 1 and Table 2 beside the paper's, and
the topology evolution of a meta-learned run (Fig. 6 right) — rendered from the run records.
Registered when :mod:`bionn.papers.selforg` is imported."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..experiments import ClaimData, Section, register_section, wilcoxon

PAPER = "selforg"


def _pct(x: np.ndarray) -> str:
    if not x.size:
        return "—"
    if x.size == 1:
        return f"{100 * x[0]:.2f} (n = 1)"
    return f"{100 * x.mean():.2f} ± {100 * x.std(ddof=1):.2f} (n = {x.size})"


def table1_markdown(data: ClaimData) -> str:
    """Table 1: accuracy per topology (mean ± sd over runs) and the mean maximum entropy, beside the paper's."""
    from .selforg import PAPER_TABLE1, TOPOLOGIES

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
    from .selforg import PAPER_TABLE2, SENSITIVITY, _main_rows

    main = _main_rows(data)
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
        df = _main_rows(data, cfg)
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
    from .selforg import _main_rows

    main = _main_rows(data)
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
