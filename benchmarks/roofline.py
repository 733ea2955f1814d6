"""Kernel-level report: where a training step's time goes, against the machine's measured GEMM peak.

``python benchmarks/run.py --roofline --threads N`` runs :func:`run` and writes
``benchmarks/results/roofline-<N>t.json`` and, rendered from that JSON by :func:`plot`,
``roofline-<N>t.png`` (``--plot FILE.json`` re-renders a figure without measuring). It measures:

- **peak**: the best float32 GFLOP/s of a 2048x2048x2048 product through bionn's GEMM (the same
  ``gemm()`` every layer calls, ``_core.bench_gemm``) with Eigen and with the BLAS
  :func:`bionn.set_blas` loaded, if any, and through ``torch.mm`` (MKL/oneDNN), at the run's thread
  count, in the same process;
- **GEMM shapes**: bionn's GEMM, ``torch.mm`` and ``numpy.matmul`` at the (m, n, k) of the seed
  networks' Dense products (:data:`GEMM_SHAPES`);
- **steps**: for every seed network (the benchmark step cases), one training step timed stage by
  stage inside C++ (``_core.bench_profile_step``: per layer forward and backward, loss, optimizer)
  with the FLOPs of each layer that holds a weight matrix or filter bank (GFLOP/s and share of the
  peak) and the bytes an element-wise layer reads and writes (GB/s); PyTorch's per-layer times from
  standalone autograd calls beside them (``profile_layers.torch_layer_times``);
- **sweeps**: one training step of the MLP (784-w-w-10, Dense-ReLU-Dropout(0.2) per hidden layer:
  ``mlp_bn_dropout`` without its BatchNorm, which cannot train on batches of 1) and of the small CNN
  (Conv2d(1,12,5)-Sigmoid-Linear(6912,w)-Linear(w,60)-Linear(60,10), as ``small_cnn``) over batch
  sizes 1...1024 (w = 800 / 120) and widths w = 64...4096 (batch 128 / 100), bionn vs PyTorch
  interleaved, minima: the ratio torch/bionn and each side's GFLOP/s as the work grows.

Times are minima over repeats (the least disturbed sample). Like every figure in benchmarks/, they
mean something only from an idle machine: the JSON records the other load during the run.
"""

from __future__ import annotations

import gc
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

import bionn

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
import harness
from bionn import _core
from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt
from bionn._blas import gemm_label
from bionn.nn.sequential import _core_loss, _core_optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
STEP_CASES = ("mlp_bn_dropout", "small_cnn", "flexible_small", "mixlu_lenet", "focus_dense", "focus_table2_net")
BATCHES = (1, 4, 16, 64, 128, 256, 1024)
WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
BYTES = 4  # float32


# ---------------------------------------------------------------------------------------------
# Peak
# ---------------------------------------------------------------------------------------------
def _bionn_gemm_s(m: int, n: int, k: int, repeats: int) -> Dict[str, float]:
    """Seconds of bionn's GEMM (``_core.bench_gemm``) with Eigen and, when :func:`bionn.set_blas`
    has a library loaded, with that library too; the backend in use is restored."""
    backend = bionn.get_blas()
    out = {}
    try:
        bionn.set_blas("eigen")
        out["eigen"] = _core.bench_gemm(m, n, k, repeats)
        if backend != "eigen":
            bionn.set_blas(backend)
            out["blas"] = _core.bench_gemm(m, n, k, repeats)
    finally:
        bionn.set_blas(backend)
    return out


def gemm_peak(size: int = 2048, repeats: int = 5) -> Dict[str, Any]:
    """GFLOP/s of a size^3 float32 product: bionn's GEMM with Eigen, with the loaded BLAS if any
    (``blas_gflops``, else None; ``blas`` names it) and torch.mm, best of ``repeats``."""
    flops = 2.0 * size**3
    ours = _bionn_gemm_s(size, size, size, repeats)
    a = torch.rand(size, size)
    b = torch.rand(size, size)
    c = torch.empty(size, size)
    torch.mm(a, b, out=c)
    torch_s = min(harness._time_once(lambda: torch.mm(a, b, out=c)) for _ in range(repeats))
    return {
        "size": size,
        "blas": gemm_label(),
        "eigen_gflops": flops / ours["eigen"] / 1e9,
        "blas_gflops": flops / ours["blas"] / 1e9 if "blas" in ours else None,
        "torch_gflops": flops / torch_s / 1e9,
    }


def bionn_peak(peak: Dict[str, Any]) -> float:
    """The SGEMM peak of the backend bionn's layers use in this run (the BLAS if loaded)."""
    return peak.get("blas_gflops") or peak["eigen_gflops"]


# (m, n, k) of the products the seed networks' Dense layers run (forward: batch x out x in).
GEMM_SHAPES = ((128, 800, 784), (128, 800, 800), (100, 120, 6912), (128, 256, 784), (128, 256, 256), (1, 800, 784))


def gemm_shapes(shapes: Sequence[Tuple[int, int, int]] = GEMM_SHAPES, repeats: int = 20) -> List[Dict[str, Any]]:
    """GFLOP/s of float32 (m, k) x (k, n) products at the networks' shapes: bionn's GEMM (Eigen),
    torch.mm (MKL/oneDNN) and numpy.matmul (the BLAS NumPy ships, OpenBLAS in the PyPI wheels): how far
    bionn's GEMM is from the libraries PyTorch and NumPy use, shape by shape."""
    rows = []
    for m, n, k in shapes:
        flops = 2.0 * m * n * k
        reps = max(3, min(repeats, int(2e9 / flops)))
        ours = _bionn_gemm_s(m, n, k, reps)
        rng = np.random.default_rng(0)
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(m, n)
        torch.mm(ta, tb, out=tc)
        np.matmul(a, b, out=c)
        torch_s = min(harness._time_once(lambda: torch.mm(ta, tb, out=tc)) for _ in range(reps))  # noqa: B023 (called here)
        numpy_s = min(harness._time_once(lambda: np.matmul(a, b, out=c)) for _ in range(reps))  # noqa: B023
        rows.append(
            {
                "m": m,
                "n": n,
                "k": k,
                "eigen_gflops": flops / ours["eigen"] / 1e9,
                "blas_gflops": flops / ours["blas"] / 1e9 if "blas" in ours else None,
                "torch_gflops": flops / torch_s / 1e9,
                "numpy_gflops": flops / numpy_s / 1e9,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Per-layer work
# ---------------------------------------------------------------------------------------------
def layer_work(layer: bnn.Layer, x_shape: Sequence[int], y_shape: Sequence[int], first: bool) -> Dict[str, Any]:
    """The arithmetic of one layer's forward and backward at these shapes.

    A layer with a 2-D ``weight`` (out, in) is a matrix product: 2·N·out·in FLOPs forward, the same
    again for the weight gradient and for the input gradient (skipped for the first layer). A 4-D
    ``weight`` (C_out, C_in, kh, kw) is a convolution: 2·N·H_out·W_out·C_out·C_in·kh·kw per pass.
    Anything else is counted as element-wise: bytes read and written (forward: input + output;
    backward: output gradient + saved tensor + input gradient), the least traffic the pass needs.
    """
    n = int(x_shape[0])
    weight = next((p for p in layer.parameters() if p.name == "weight"), None)
    x_numel = int(np.prod(x_shape))
    y_numel = int(np.prod(y_shape))
    if weight is not None and weight.data.ndim == 2:
        fwd = 2.0 * n * weight.data.size
    elif weight is not None and weight.data.ndim == 4:
        spatial = int(np.prod(y_shape[2:])) if len(y_shape) == 4 else 1
        fwd = 2.0 * n * spatial * weight.data.size
    else:
        return {
            "kind": "elementwise",
            "forward_bytes": BYTES * (x_numel + y_numel),
            "backward_bytes": BYTES * (2 * y_numel + (0 if first else x_numel)),
        }
    return {"kind": "gemm", "forward_flops": fwd, "backward_flops": fwd if first else 2 * fwd}


def _shapes(model: bnn.Sequential, x: np.ndarray) -> List[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
    shapes = []
    h = x
    for layer in model.layers:
        out = layer.forward(h, training=True)
        shapes.append((tuple(h.shape), tuple(out.shape)))
        h = out
    return shapes


def profile_case(name: str, repeats: int, peak: float) -> Dict[str, Any]:
    """One seed network's training step, stage by stage, with each layer's GFLOP/s or GB/s."""
    import profile_layers

    case = harness.load_cases()[name]()
    case.setup()
    try:
        model, x = case.bmodel, np.ascontiguousarray(case.x, dtype=np.float32)
        y = model._targets(case.y, x.shape[0], case.bloss)
        prof = _core.bench_profile_step(
            model._impl,
            x,
            y,
            _core_loss(case.bloss, model.dtype),
            _core_optimizer(case.bopt, model.dtype),
            repeats,
        )
        tlayers = list(case.tmodel) if isinstance(getattr(case, "tmodel", None), torch.nn.Sequential) else None
        if tlayers is not None and len(tlayers) != len(model.layers):
            tlayers = None
        layers = []
        h = x
        for i, (layer, (xs, ys)) in enumerate(zip(model.layers, _shapes(model, x))):
            work = layer_work(layer, xs, ys, first=i == 0)
            row: Dict[str, Any] = {
                "layer": f"{type(layer).__name__}{tuple(xs[1:])}",
                "forward_s": prof["forward_s"][i],
                "backward_s": prof["backward_s"][i],
                **work,
            }
            if work["kind"] == "gemm":
                for side in ("forward", "backward"):
                    gf = work[f"{side}_flops"] / row[f"{side}_s"] / 1e9
                    row[f"{side}_gflops"] = gf
                    row[f"{side}_peak_share"] = gf / peak
            else:
                for side in ("forward", "backward"):
                    row[f"{side}_gbs"] = work[f"{side}_bytes"] / row[f"{side}_s"] / 1e9
            if tlayers is not None:
                tf, tb = profile_layers.torch_layer_times(tlayers[i], h, max(3, repeats // 2))
                row["torch_forward_s"], row["torch_backward_s"] = tf, tb
                h = tlayers[i](torch.from_numpy(h)).detach().numpy()
            layers.append(row)
        total = sum(prof["forward_s"]) + sum(prof["backward_s"])
        total += prof["loss_forward_s"] + prof["loss_backward_s"] + prof["zero_grad_s"] + prof["step_s"]
        flops = sum(r.get("forward_flops", 0) + r.get("backward_flops", 0) for r in layers)
        return {
            "case": name,
            "batch": int(x.shape[0]),
            "layers": layers,
            "loss_s": prof["loss_forward_s"] + prof["loss_backward_s"],
            "zero_grad_s": prof["zero_grad_s"],
            "optimizer_s": prof["step_s"],
            "step_s": total,
            "gemm_flops": flops,
            "step_gflops": flops / total / 1e9,
            "step_peak_share": flops / total / 1e9 / peak,
        }
    finally:
        case.teardown()


# ---------------------------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------------------------
def _mlp(width: int, seed: int = 0) -> Tuple[bnn.Sequential, torch.nn.Module, Tuple[int, ...], float]:
    d, c = 784, 10
    blayers: List[bnn.Layer] = []
    tlayers: List[torch.nn.Module] = []
    for a, b in ((d, width), (width, width)):
        blayers += [bnn.Dense(a, b), bnn.ReLU(), bnn.Dropout(0.2)]
        tlayers += [torch.nn.Linear(a, b), torch.nn.ReLU(), torch.nn.Dropout(0.2)]
    blayers.append(bnn.Dense(width, c))
    tlayers.append(torch.nn.Linear(width, c))
    torch.manual_seed(seed)
    # FLOPs per sample of a training step: 3 products per layer, 2 for the first (no input gradient)
    flops = 2.0 * (2 * d * width + 3 * width * width + 3 * width * c)
    return bnn.Sequential(blayers, seed=seed), torch.nn.Sequential(*tlayers), (d,), flops


def _cnn(width: int, seed: int = 0) -> Tuple[bnn.Sequential, torch.nn.Module, Tuple[int, ...], float]:
    blayers = [
        bnn.Conv2d(1, 12, 5),
        bnn.Sigmoid(),
        bnn.Flatten(),
        bnn.Dense(6912, width),
        bnn.Dense(width, 60),
        bnn.Dense(60, 10),
    ]
    torch.manual_seed(seed)
    tlayers = [
        torch.nn.Conv2d(1, 12, 5),
        torch.nn.Sigmoid(),
        torch.nn.Flatten(),
        torch.nn.Linear(6912, width),
        torch.nn.Linear(width, 60),
        torch.nn.Linear(60, 10),
    ]
    conv = 2.0 * 24 * 24 * 12 * 25
    flops = 2 * conv + 2.0 * 3 * (6912 * width + width * 60 + 60 * 10)
    return bnn.Sequential(blayers, seed=seed), torch.nn.Sequential(*tlayers), (1, 28, 28), flops


NETWORKS = {"mlp": (_mlp, 800, 128), "cnn": (_cnn, 120, 100)}


def step_pair(net: str, batch: int, width: int, budget_s: float = 0.4, max_repeats: int = 30) -> Dict[str, float]:
    """Minimum time of one training step (CE, SGD momentum 0.9) of ``net`` at this batch and width,
    bionn and torch interleaved; repeats fill about ``budget_s`` per side."""
    build = NETWORKS[net][0]
    bmodel, tmodel, sample, flops = build(width)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + sample).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    bopt_ = bopt.SGD(bmodel.parameters(), lr=0.01, momentum=0.9)
    bloss = bl.CrossEntropy()
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    tloss = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def run_b() -> None:
        bmodel.train_step(x, y, bloss, bopt_)

    def run_t() -> None:
        topt.zero_grad()
        loss = tloss(tmodel(tx), ty)
        loss.backward()
        topt.step()
        loss.item()

    run_b()
    run_t()
    first = harness._time_once(run_b) + harness._time_once(run_t)
    repeats = int(min(max_repeats, max(3, 2 * budget_s / max(first, 1e-6))))
    tb, tt = [], []
    for _ in range(repeats):
        gc.collect()
        tb.append(harness._time_once(run_b))
        gc.collect()
        tt.append(harness._time_once(run_t))
    b, t = min(tb), min(tt)
    work = flops * batch
    return {
        "batch": batch,
        "width": width,
        "bionn_s": b,
        "torch_s": t,
        "ratio": t / b,
        "bionn_gflops": work / b / 1e9,
        "torch_gflops": work / t / 1e9,
        "repeats": repeats,
    }


def sweeps(
    batches: Sequence[int] = BATCHES, widths: Sequence[int] = WIDTHS, log: Callable = print, budget_s: float = 0.4
) -> Dict:
    out: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    for net, (_, width0, batch0) in NETWORKS.items():
        out[net] = {"batch": [], "width": [], "default_width": width0, "default_batch": batch0}
        for b in batches:
            out[net]["batch"].append(step_pair(net, b, width0, budget_s))
            log(f"  {net} batch {b:5d}: ratio {out[net]['batch'][-1]['ratio']:.2f}")
        for w in widths:
            out[net]["width"].append(step_pair(net, batch0, w, budget_s))
            log(f"  {net} width {w:5d}: ratio {out[net]['width'][-1]['ratio']:.2f}")
    return out


# ---------------------------------------------------------------------------------------------
# Driver, report and figure
# ---------------------------------------------------------------------------------------------
def run(
    threads: int,
    json_path: Optional[str] = None,
    png_path: Optional[str] = None,
    repeats: int = 20,
    cases: Sequence[str] = STEP_CASES,
    batches: Sequence[int] = BATCHES,
    widths: Sequence[int] = WIDTHS,
    smoke: bool = False,
) -> Dict[str, Any]:
    """Measures everything (see the module docstring), writes the JSON, the figure and returns the data."""
    import sys

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(threads)
    bionn.set_num_threads(threads)
    os.makedirs(RESULTS, exist_ok=True)
    json_path = json_path or os.path.join(RESULTS, f"roofline-{threads}t.json")
    png_path = png_path or os.path.splitext(json_path)[0] + ".png"
    if smoke:
        batches, widths = batches[:2], widths[:2]
    load = harness._OtherLoad()
    t0 = time.perf_counter()
    peak = gemm_peak(512 if smoke else 2048, 2 if smoke else 7)
    log(f"GEMM peak: {_peak_text(peak)}")
    shapes = gemm_shapes(GEMM_SHAPES[:2] if smoke else GEMM_SHAPES, 3 if smoke else 20)
    steps = []
    for name in cases:
        steps.append(profile_case(name, 2 if smoke else repeats, bionn_peak(peak)))
        log(f"  {name}: step {1e3 * steps[-1]['step_s']:.2f} ms, {100 * steps[-1]['step_peak_share']:.0f}% of peak")
    data = {
        "machine": harness.machine_info(threads),
        "peak": peak,
        "gemm_shapes": shapes,
        "steps": steps,
        "sweeps": sweeps(batches, widths, log, 0.01 if smoke else 0.4),
        "settings": {
            "threads": threads,
            "repeats": repeats,
            "smoke": smoke,
            "git_commit": harness._git_commit(),
            "bionn_core": harness._core_fingerprint(),
            "wall_s": time.perf_counter() - t0,
            "other_load": load.share(),
        },
    }
    with open(json_path, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    plot(json_path, png_path)
    print(markdown(data))
    return data


def _share(data: Dict[str, Any]) -> str:
    load = data.get("settings", {}).get("other_load")
    return "unknown" if load is None else f"{100 * load:.0f}%"


def _peak_text(p: Dict[str, Any]) -> str:
    blas = f", bionn ({p['blas']}) {p['blas_gflops']:.1f}" if p.get("blas_gflops") else ""
    return f"bionn (Eigen) {p['eigen_gflops']:.1f}{blas}, torch.mm {p['torch_gflops']:.1f} GFLOP/s"


def markdown(data: Dict[str, Any]) -> str:
    """The per-layer tables of a roofline JSON."""
    p = data["peak"]
    m = data["machine"]
    lines = [
        f"Roofline on {m['cpu']}, {m['threads']} thread(s); SGEMM peak {p['size']}^3: {_peak_text(p)}; "
        f"other load {_share(data)}. The layers' GEMM in this run: {p.get('blas', 'eigen')}.",
        "",
        "GEMM at the networks' shapes, float32 (m, k) x (k, n), GFLOP/s (NumPy: the BLAS its wheel ships,"
        " on its own threads):",
        "",
        f"| m x n x k | bionn (Eigen) | bionn ({p.get('blas', 'eigen')}) | torch.mm | numpy.matmul |",
        "|---|---:|---:|---:|---:|",
    ]
    for g in data.get("gemm_shapes", []):
        blas = f"{g['blas_gflops']:.1f}" if g.get("blas_gflops") else "—"
        lines.append(
            f"| {g['m']} x {g['n']} x {g['k']} | {g['eigen_gflops']:.1f} | {blas} | {g['torch_gflops']:.1f} | "
            f"{g['numpy_gflops']:.1f} |"
        )
    lines.append("")
    for s in data["steps"]:
        lines += [
            f"### {s['case']} (batch {s['batch']}): step {1e3 * s['step_s']:.3f} ms, "
            f"{s['step_gflops']:.1f} GFLOP/s = {100 * s['step_peak_share']:.0f}% of bionn's GEMM peak",
            "",
            "| stage | fwd ms | bwd ms | fwd GFLOP/s (GB/s) | bwd GFLOP/s (GB/s) | % peak fwd/bwd | torch fwd/bwd ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in s["layers"]:
            if r["kind"] == "gemm":
                rate = f"{r['forward_gflops']:.1f} | {r['backward_gflops']:.1f}"
                share = f"{100 * r['forward_peak_share']:.0f}/{100 * r['backward_peak_share']:.0f}"
            else:
                rate = f"({r['forward_gbs']:.1f}) | ({r['backward_gbs']:.1f})"
                share = ""
            tt = ""
            if "torch_forward_s" in r:
                tt = f"{1e3 * r['torch_forward_s']:.3f}/{1e3 * r['torch_backward_s']:.3f}"
            lines.append(
                f"| {r['layer']} | {1e3 * r['forward_s']:.3f} | {1e3 * r['backward_s']:.3f} | {rate} | {share} | {tt} |"
            )
        lines += [
            f"| loss | {1e3 * s['loss_s']:.3f} | | | | | |",
            f"| zero_grad + optimizer | {1e3 * (s['zero_grad_s'] + s['optimizer_s']):.3f} | | | | | |",
            "",
        ]
    return "\n".join(lines)


def plot(json_path: str, png_path: Optional[str] = None) -> str:
    """Renders the sweeps of a roofline JSON: ratio torch/bionn (top) and GFLOP/s of each side with
    the measured peaks (bottom), against batch size and width, for the MLP and the CNN."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(json_path) as fh:
        data = json.load(fh)
    png_path = png_path or os.path.splitext(json_path)[0] + ".png"
    sw = data["sweeps"]
    panels = [(net, axis) for net in sw for axis in ("batch", "width")]
    fig, axes = plt.subplots(2, len(panels), figsize=(4 * len(panels), 6.5), sharex="col")
    axes = np.atleast_2d(axes)
    peak = data["peak"]
    for j, (net, axis) in enumerate(panels):
        pts = sw[net][axis]
        xs = [pt[axis] for pt in pts]
        top, bottom = axes[0, j], axes[1, j]
        top.plot(xs, [pt["ratio"] for pt in pts], "o-", color="C0")
        top.axhline(1.0, color="grey", lw=0.8)
        top.set_xscale("log", base=2)
        other = "width" if axis == "batch" else "batch"
        top.set_title(f"{net.upper()}: vs {axis} ({other} {sw[net]['default_' + other]})", fontsize=10)
        top.set_ylabel("torch / bionn (>1: bionn faster)" if j == 0 else "")
        bottom.plot(xs, [pt["bionn_gflops"] for pt in pts], "o-", label="bionn")
        bottom.plot(xs, [pt["torch_gflops"] for pt in pts], "s--", label="torch")
        bottom.axhline(
            bionn_peak(peak), color="C0", lw=0.8, ls=":", label=f"bionn ({peak.get('blas', 'eigen')}) SGEMM peak"
        )
        bottom.axhline(peak["torch_gflops"], color="C1", lw=0.8, ls=":", label="torch.mm peak")
        bottom.set_xscale("log", base=2)
        bottom.set_xticks(xs, [str(x) for x in xs], fontsize=8)
        top.set_ylim(bottom=0)
        bottom.set_ylim(bottom=0)
        bottom.set_xlabel(axis)
        bottom.set_ylabel("GFLOP/s (training step)" if j == 0 else "")
        if j == 0:
            bottom.legend(fontsize=8)
    m = data["machine"]
    fig.suptitle(f"bionn vs torch {m['torch']}, one training step, {m['threads']} thread(s), {m['cpu']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return png_path
