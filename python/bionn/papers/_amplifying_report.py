"""Report pieces of the amplifying paper, drawn from the run records only: Tables 1-2 beside the
paper's values, Fig. 4 (fitted curves of Networks 1 and 5 over the exact solution), Fig. 6 (Ackley
error maps of Networks 9 and 10) and the MAE of every run beside the paper's best-of-ten.

Each function takes a ClaimData-like ``data`` (``data.records(experiment)`` → list of record dicts
with ``"config"``, ``"metrics"``, ``"curves"``); plots draw on a matplotlib ``fig`` and return
whether there was anything to draw (``bionn.experiments.Section``'s ``table`` / ``plot``).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._amplifying_protocol import NETWORKS, figure_grid

__all__ = ["report_table", "plot_fig4", "plot_fig6", "plot_mae_strips", "runs_by_network"]

_EXPERIMENT = {"1d": "table1_1d", "2d": "table2_ackley"}


def runs_by_network(data: Any, networks: Sequence[int]) -> Dict[int, List[Dict[str, Any]]]:
    """The records of each network in ``networks`` (any mode), sorted by seed."""
    out: Dict[int, List[Dict[str, Any]]] = {k: [] for k in networks}
    for problem in sorted({NETWORKS[k]["problem"] for k in networks}):
        try:
            records = data.records(_EXPERIMENT[problem])
        except KeyError:
            continue
        for rec in records:
            k = int(rec.get("config", {}).get("network", -1))
            if k in out:
                out[k].append(rec)
    for k in out:
        out[k].sort(key=lambda r: int(r.get("seed", 0)))
    return out


def _mae(rec: Dict[str, Any]) -> float:
    v = rec.get("metrics", {}).get("mae")
    return float(v) if v is not None and math.isfinite(float(v)) else math.inf


def _best(recs: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    return min(recs, key=_mae) if recs else None


def report_table(data: Any) -> str:
    """Markdown: Tables 1-2 (the paper's best-of-ten MAE and SD) beside ours (best run's MAE and SD,
    median MAE, runs)."""
    runs = runs_by_network(data, sorted(NETWORKS))
    lines = [
        "| Network | depth | amp./att. | paper MAE | paper SD | best MAE | its SD | median MAE | runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, spec in NETWORKS.items():
        recs = runs[k]
        best = _best(recs)
        maes = np.array([_mae(r) for r in recs])
        cells = ["—", "—", "—"]
        if best is not None:
            sd = best["metrics"].get("sd")
            cells = [
                f"{_mae(best):.6f}",
                f"{float(sd):.6f}" if sd is not None else "—",
                f"{float(np.median(maes)):.6f}",
            ]
        lines.append(
            f"| {k} | {spec['depth']} | {spec['amplifying']}/{spec['attenuating']} | {spec['mae']:.6f} | "
            f"{spec['sd']:.6f} | {cells[0]} | {cells[1]} | {cells[2]} | {len(recs)} |"
        )
    return "\n".join(lines)


def plot_fig4(data: Any, fig: Any) -> bool:
    """Fig. 4: the best runs of Networks 1 and 5 over the exact solution (top) and their errors
    ``y − y_exact`` (bottom), on the records' coarse grid (step 0.01)."""
    runs = runs_by_network(data, (1, 5))
    best = {k: _best([r for r in v if r.get("curves", {}).get("fit_y")]) for k, v in runs.items()}
    if not any(best.values()):
        return False
    x, exact = figure_grid("1d")
    x, exact = x[:, 0], exact[:, 0]
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(x, exact, "k-", lw=1.2, label="exact (Eq. 6)")
    for i, (k, rec) in enumerate(best.items()):
        if rec is None:
            continue
        y = np.array([np.nan if v is None else v for v in rec["curves"]["fit_y"]], dtype=np.float64)[: x.size]
        label = f"Network {k} (seed {rec.get('seed')}, MAE {_mae(rec):.4f})"
        top.plot(x[: y.size], y, color=f"C{i}", lw=1.0, label=label)
        bottom.plot(x[: y.size], y - exact[: y.size], color=f"C{i}", lw=1.0, label=f"Network {k}")
    top.set_ylabel("y")
    top.legend(fontsize=8)
    bottom.axhline(0.0, color="k", lw=0.5)
    bottom.set_xlabel("x")
    bottom.set_ylabel("y − y_exact")
    top.set_title("Fig. 4: best of the recorded runs")
    return True


def plot_fig6(data: Any, fig: Any) -> bool:
    """Fig. 6: error maps ``y − y_exact`` of the best runs of Networks 9 and 10 on the records'
    61 × 61 grid, with a shared symmetric colour scale."""
    runs = runs_by_network(data, (9, 10))
    best = {k: _best([r for r in v if r.get("curves", {}).get("error_map")]) for k, v in runs.items()}
    if not any(best.values()):
        return False
    X, _ = figure_grid("2d")
    n = int(round(math.sqrt(X.shape[0])))
    maps = {}
    for k, rec in best.items():
        if rec is not None:
            e = np.array([np.nan if v is None else v for v in rec["curves"]["error_map"]], dtype=np.float64)
            if e.size == n * n:
                maps[k] = (rec, e.reshape(n, n))
    if not maps:
        return False
    vmax = max(float(np.nanmax(np.abs(e))) for _, e in maps.values()) or 1.0
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    extent = (-3.0, 3.0, -3.0, 3.0)
    for ax, (k, (rec, e)) in zip(axes, maps.items()):
        im = ax.imshow(e, origin="lower", extent=extent, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"Network {k}: y − y_exact (MAE {_mae(rec):.3f})", fontsize=9)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        at = rec.get("metrics", {}).get("max_error_at")
        if at:
            ax.plot([at[0]], [at[1]], "kx", ms=8)
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    return True


def plot_mae_strips(data: Any, fig: Any) -> bool:
    """The grid MAE of every recorded run per network (log scale), the paper's best-of-ten as red
    stars."""
    runs = runs_by_network(data, sorted(NETWORKS))
    if not any(runs.values()):
        return False
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1]})
    for ax, nets in zip(axes, (tuple(range(1, 9)), (9, 10))):
        for i, k in enumerate(nets):
            maes = np.array([_mae(r) for r in runs[k]])
            maes = maes[np.isfinite(maes)]
            if maes.size:
                jitter = np.linspace(-0.15, 0.15, maes.size) if maes.size > 1 else np.zeros(1)
                ax.plot(i + jitter, maes, "o", color="C0", alpha=0.7, ms=4, label="runs" if i == 0 else None)
            ax.plot(
                [i], [NETWORKS[k]["mae"]], "*", color="crimson", ms=12, label="paper (best of 10)" if i == 0 else None
            )
        ax.set_xticks(range(len(nets)))
        ax.set_xticklabels([str(k) for k in nets])
        ax.set_yscale("log")
        ax.set_xlabel("Network")
    axes[0].set_ylabel("grid MAE")
    axes[0].legend(fontsize=8)
    axes[0].set_title("Table 1 (Eq. 6)", fontsize=9)
    axes[1].set_title("Table 2 (Ackley)", fontsize=9)
    return True
