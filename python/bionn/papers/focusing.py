"""The focusing-neuron paper (``../shared/papers/focusing-neuron.txt``): experiments and claims.

Experiments (each a protocol whose runs are recorded; deviations from the paper are declared on it):

* ``fig2_blobs`` (§4.1, Fig. 2): :func:`train_blobs` — 20 informative Gaussian-blob columns plus 20
  N(0, 1) noise columns (left, or both sides), FocusDense(40, 4) (sigma 0.08) -> BatchNorm -> ReLU
  -> Dense(4, 2), SGD momentum 0.9, lr 1e-3 (weights, mu), 1e-4 (sigma), batch 128, 250 epochs.
  30 seeds (quick: 10). Curves: each focus centre and aperture per epoch (Fig. 2c).
* ``fig3_grid`` (§4.1, Fig. 3): :func:`train_grid_pair` — matching focusing and dense networks on
  random Table 1 configurations. 150 configurations, 150 epochs (quick: 24 small ones, 60 epochs).
* ``table2_mnist`` / ``table2_fashion`` (§4.2.1, Table 2): :func:`train_table2` — the simple
  800-800 Dense and Focus-s networks, the paper's learning rates, batch 512, 200 epochs, 5 repeats,
  scored by the best test accuracy over epochs (Algorithm 3). MNIST is the project's 10k-digit
  sample (8k/2k split; quick: 60 epochs); Fashion-MNIST the official 60k/10k split (quick: 10,000
  training images, 10 epochs, 3 seeds). Focus-s runs also prune the final network (Fig. 9).
  The networks and their data live in :mod:`bionn.papers._focusing_nets` (re-exported here).

Claims (criteria fixed from the paper, before any run):

* ``focusing.fig2_left_noise`` — Fig. 2b: centre-initialised foci move right (noise on the left).
* ``focusing.fig2_both_noise`` — Fig. 2a: spread foci move to the centre (noise on both sides).
* ``focusing.fig2_foci_enlarged`` — §4.1: "in both cases, most foci were enlarged".
* ``focusing.fig3_noisy`` / ``focusing.fig3_clean`` — Fig. 3: focusing networks beat dense ones on
  noisy sets and are similar on clean sets.
* ``focusing.table2_mnist_focus_s_beats_dense`` / ``focusing.table2_fashion_focus_s_beats_dense`` —
  Table 2: Focus-s > Dense (two-tailed two-sample t-test, 5 repeats, p < 0.05; at least half the
  paper's difference).
* ``focusing.fig9_prune_1e7`` — §4.4 / Fig. 9: pruning Focus-s (MNIST) at phi < 1e-7 leaves the test
  accuracy unaffected.

``fig2_foci_enlarged`` and the Fig. 3 claims were earlier left unregistered because they did not
hold here (apertures mostly shrank; Fig. 3 tied on most noisy sets); they are registered now.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ..experiments import (
    AllOf,
    Claim,
    ClaimData,
    Custom,
    Evidence,
    Experiment,
    Group,
    Quick,
    register_claim,
    register_experiment,
)
from ._focusing_nets import (
    TABLE2_CONFIGS,
    TABLE2_DATASETS,
    TABLE2_LRS,
    build_cnn,
    build_table2_net,
    load_table2_data,
    prune_curve,
    require_fashion,
    require_mnist_sample,
    train_cnn,
    train_table2,
)

__all__ = [
    "train_blobs",
    "train_grid_pair",
    "train_table2",
    "build_table2_net",
    "load_table2_data",
    "TABLE2_CONFIGS",
    "TABLE2_DATASETS",
    "TABLE2_LRS",
    "build_cnn",
    "train_cnn",
    "prune_curve",
    "require_fashion",
    "require_mnist_sample",
    "PAPER_TABLE2",
    "PAPER_TABLE2_CNN",
    "TABLE2_NETS",
    "FIG6_WIDTHS",
]

PAPER = "focusing"
ALPHA = 0.05


def _trace(layer: Any, n: int) -> Any:
    """A callback recording ``layer``'s first ``n`` focus centres and apertures after each epoch."""
    from ..callbacks import Callback

    class _Trace(Callback):
        def __init__(self) -> None:
            self.curves: Dict[str, list] = {f"{p}_{j}": [] for p in ("mu", "sigma") for j in range(n)}

        def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
            for j in range(n):
                self.curves[f"mu_{j}"].append(float(layer.mu[j]))
                self.curves[f"sigma_{j}"].append(float(layer.sigma[j]))

    return _Trace()


def train_blobs(
    seed: int,
    noise: str = "left",
    mu_init: str = "center",
    n_samples: int = 2000,
    epochs: int = 250,
    hidden: int = 4,
    sigma_init: float = 0.08,
    lr: float = 1e-3,
    lr_sigma: Optional[float] = None,
    batch_size: int = 128,
    batchnorm: bool = True,
    normalization: str = "l2",
) -> Dict[str, Any]:
    """Trains §4.1's focusing network on the blobs and reports how the foci moved.

    Defaults are the paper's Fig. 2 protocol (4 focusing neurons, sigma 0.08, BatchNorm, ReLU, SGD
    momentum 0.9, lr 1e-3 for weights and mu, ``lr_sigma = 0.1 * lr``, batch 128, 250 epochs).

    Returns
    -------
    dict
        ``mu_mean_before/after``, ``mu_std_before/after``, ``mu_centre_distance_before/after``
        (mean ``|mu - 0.5|``), ``sigma_mean_before/after``, ``foci_enlarged_share`` (share of the
        neurons whose sigma grew), ``focus_on_informative_before/after`` (share of the focus mass on
        informative inputs), ``accuracy`` (test), ``pruned_accuracy`` and ``sparsity`` after pruning
        at phi < 1e-7, and ``curves`` (each neuron's mu and sigma after every epoch, Fig. 2c).
    """
    from .. import data, losses, nn, optim

    X, y, X_test, y_test, info = data.make_focus_blobs(
        n_samples=n_samples, n_informative=20, noise=noise, n_classes=2, seed=seed, return_info=True
    )
    informative = np.asarray(info["informative"])
    m = X.shape[1]
    layers = [nn.FocusDense(m, hidden, mu_init=mu_init, sigma_init=sigma_init, normalization=normalization)]
    layers += [nn.BatchNorm1d(hidden)] if batchnorm else []
    net = nn.Sequential(layers + [nn.ReLU(), nn.Dense(hidden, 2)], seed=seed)
    focus = net[0]
    mu0, sigma0 = focus.mu.copy(), focus.sigma.copy()

    # Share of the focus mass that lies on informative inputs: what "locating the features" means.
    def on_informative() -> float:
        phi = focus.focus()
        return float(phi[:, informative].sum() / phi.sum())

    mass0 = on_informative()
    trace = _trace(focus, hidden)
    groups = optim.groups_by_tag(net.parameters(), {"sigma": {"lr": 0.1 * lr if lr_sigma is None else lr_sigma}})
    loss = losses.CrossEntropy()
    opt = optim.SGD(groups, lr=lr, momentum=0.9)
    net.fit(X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=batch_size, callbacks=[trace])
    mu1, sigma1 = focus.mu.copy(), focus.sigma.copy()
    mass1 = on_informative()
    accuracy = net.evaluate(X_test, y_test, loss)["accuracy"]
    sparsity = focus.prune(1e-7)
    pruned = net.evaluate(X_test, y_test, loss)["accuracy"]
    return {
        "mu_mean_before": float(mu0.mean()),
        "mu_mean_after": float(mu1.mean()),
        "mu_std_before": float(mu0.std()),
        "mu_std_after": float(mu1.std()),
        "mu_centre_distance_before": float(np.abs(mu0 - 0.5).mean()),
        "mu_centre_distance_after": float(np.abs(mu1 - 0.5).mean()),
        "sigma_mean_before": float(sigma0.mean()),
        "sigma_mean_after": float(sigma1.mean()),
        "foci_enlarged_share": float((sigma1 > sigma0).mean()),
        "focus_on_informative_before": mass0,
        "focus_on_informative_after": mass1,
        "accuracy": float(accuracy),
        "pruned_accuracy": float(pruned),
        "sparsity": float(sparsity),
        "curves": trace.curves,
    }


# ================================================================================================
# Fig. 3: focusing vs dense over random Table 1 configurations
# ================================================================================================
_QUICK_GRID = {"n_samples": (100, 200, 2000), "n_informative": (4, 40)}


def train_grid_pair(
    seed: int, index: int = 0, epochs: int = 60, grid_seed: int = 0, restrict: bool = True, l2: float = 1e-4
) -> Dict[str, Any]:
    """Fig. 3: draws Table 1 configuration number ``index`` (:func:`bionn.data.focus_blobs_grid`
    with ``grid_seed + 1000 * seed``) and trains a matching focusing and dense two-layer network on it.

    Both networks: hidden layer (FocusDense with spread foci and sigma 0.08, or Dense) -> BatchNorm
    -> ReLU -> Dense(classes); SGD momentum 0.9 with the configuration's learning rate (sigma: a
    tenth of it, as §4.1), batch size and optional L2 penalty (weight decay ``l2``, a value the paper
    does not give). ``restrict`` keeps N <= 2000 and nL <= 40 (quick mode). Returns both final test
    accuracies, ``noisy`` (whether the set has noise columns) and the configuration.
    """
    from .. import data, losses, nn, optim

    grid = _QUICK_GRID if restrict else None
    gen = data.focus_blobs_grid(seed=grid_seed + 1000 * seed, n=index + 1, grid=grid)
    cfg = list(gen)[index]
    d, t = cfg["data"], cfg["train"]
    X, y, Xt, yt = data.make_focus_blobs(**d)
    m, k, h = X.shape[1], int(d["n_classes"]), int(t["n_hidden"])
    out: Dict[str, Any] = {
        "noisy": d["noise"] != "none",
        "n_inputs": m,
        **{f"cfg_{a}": b for a, b in d.items()},
        **{f"cfg_{a}": b for a, b in t.items()},
    }
    loss = losses.CrossEntropy()
    for kind in ("focus", "dense"):
        hidden = nn.FocusDense(m, h, mu_init="spread", sigma_init=0.08) if kind == "focus" else nn.Dense(m, h)
        net = nn.Sequential([hidden, nn.BatchNorm1d(h), nn.ReLU(), nn.Dense(h, k)], seed=seed)
        wd = l2 if t["l2_penalty"] else 0.0
        groups = optim.groups_by_tag(
            net.parameters(),
            {"sigma": {"lr": 0.1 * t["learning_rate"], "weight_decay": 0.0}, "mu": {"weight_decay": 0.0}},
        )
        opt = optim.SGD(groups, lr=t["learning_rate"], momentum=0.9, weight_decay=wd)
        net.fit(X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=t["batch_size"])
        out[f"{kind}_accuracy"] = float(net.evaluate(Xt, yt, loss)["accuracy"])
    return out


# ================================================================================================
# Criteria that Compare/Level do not express: before/after pairs within the same runs
# ================================================================================================
def _columns(data: ClaimData, group: Group, a: str, b: Union[str, float]) -> Tuple[np.ndarray, np.ndarray]:
    rows = group.rows(data)
    if len(rows) == 0:
        return np.zeros(0), np.zeros(0)
    x = rows[a].to_numpy(dtype=np.float64)
    y = rows[b].to_numpy(dtype=np.float64) if isinstance(b, str) else np.full(len(rows), float(b))
    return x, y


def _paired_greater(group: Group, a: str, b: Union[str, float], what: str) -> Custom:
    """``a > b`` within the group's runs: one-sided Wilcoxon signed-rank test over the runs (pairs
    ``(a, b)`` of the same run; ``b`` a column or a constant), p < ALPHA, and mean(a - b) > 0."""
    b_text = b if isinstance(b, str) else f"{b:g}"

    def evaluate(data: ClaimData) -> Evidence:
        from ..experiments import stats

        x, y = _columns(data, group, a, b)
        n = int(x.size)
        value = f"{group.label}: {a} {np.mean(x) if n else float('nan'):.4f} vs {b_text} "
        value += f"{np.mean(y) if n else float('nan'):.4f} (n = {n})"
        if n < 5:
            return Evidence(None, value, "needs at least 5 runs (one-sided Wilcoxon p >= 2^-n)", details={"n": n})
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return Evidence(False, value, "a run diverged (NaN/Inf metric)", details={"n": n})
        res = stats.wilcoxon(x, y, alternative="greater")
        diff = float(np.mean(x - y))
        holds = bool(res.pvalue < ALPHA) and diff > 0
        reason = (
            f"p = {res.pvalue:.3g} {'<' if res.pvalue < ALPHA else '≥'} {ALPHA:g}; mean({a} - {b_text}) = {diff:.4g}"
        )
        details = {"n": n, "mean_difference": diff, "runs_greater": int((x > y).sum())}
        return Evidence(holds, value, reason, "wilcoxon", res.statistic, res.pvalue, details)

    def plot(data: ClaimData, ax: Any) -> bool:
        x, y = _columns(data, group, a, b)
        if not x.size:
            return False
        ax.plot(y, x, "o", alpha=0.6)
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set_xlabel(b_text)
        ax.set_ylabel(a)
        return True

    description = (
        f"{what}: {a} > {b_text} over the runs of {group.label}, one-sided Wilcoxon signed-rank test "
        f"(pairs within each run), p < {ALPHA:g}, and mean({a} - {b_text}) > 0"
    )
    return Custom([group.experiment], description, evaluate, plot)


def _mean_within(group: Group, a: str, b: str, tolerance: float, what: str) -> Custom:
    """``|mean(a - b)| <= tolerance`` over the group's runs (at least 2)."""

    def evaluate(data: ClaimData) -> Evidence:
        x, y = _columns(data, group, a, b)
        n = int(x.size)
        if n < 2:
            return Evidence(None, f"{group.label}: n = {n}", "needs at least 2 runs", details={"n": n})
        d = float(np.mean(x - y))
        value = f"{group.label}: mean({a} - {b}) = {100 * d:+.2f} points (n = {n})"
        if not np.isfinite(d):
            return Evidence(False, value, "a run diverged (NaN/Inf metric)", details={"n": n})
        holds = abs(d) <= tolerance
        reason = f"|{100 * d:.2f}| {'≤' if holds else '>'} {100 * tolerance:g} points"
        return Evidence(holds, value, reason, details={"n": n, "mean_difference": d})

    description = f"{what}: |mean({a} - {b})| ≤ {100 * tolerance:g} points over the runs of {group.label}"
    return Custom([group.experiment], description, evaluate)


# ================================================================================================
# Experiments
# ================================================================================================
_FIG2_BASE = {
    "n_samples": 2000,
    "epochs": 250,
    "hidden": 4,
    "sigma_init": 0.08,
    "lr": 1e-3,
    "lr_sigma": 1e-4,
    "batch_size": 128,
    "batchnorm": True,
    "normalization": "l2",
}
register_experiment(
    Experiment(
        paper=PAPER,
        name="fig2_blobs",
        run=train_blobs,
        configs=[
            {"noise": "left", "mu_init": "center", **_FIG2_BASE},
            {"noise": "both", "mu_init": "spread", **_FIG2_BASE},
        ],
        seeds=range(30),
        quick=Quick(seeds=range(10), note="quick: 10 of the 30 seeds (same data, network and 250 epochs)"),
        protocol={
            "data": "Gaussian blobs, 2 classes, 20 informative columns + 20 N(0, 1) noise columns on the left "
            "(Fig. 2b) or 10 on each side (Fig. 2a), each column standardised; 2000 training and 2000 test samples",
            "architecture": "FocusDense(40, 4) (Eq. 7 normalisation, sigma 0.08; mu at 0.5 ± U(0.025) for left "
            "noise, spread over [0.2, 0.8] for both sides) -> BatchNorm -> ReLU -> Dense(4, 2)",
            "optimizer": "SGD momentum 0.9, lr 1e-3 (weights, mu), 1e-4 (sigma), cross-entropy",
            "schedule": "constant learning rates",
            "epochs": "250",
            "batch": "128",
            "init": "focus weights Eq. 10 (U(±sqrt(6) / ||phi_j||_2)), output layer torch default",
            "repeats": "30 seeds (data and initialisation)",
        },
        deviations=[
            "30 seeded repeats; the paper shows a single run and gives no repeats or test",
            "the paper gives neither the number of samples nor the blob geometry: 2000 training samples, an "
            "independent test set of 2000, clusters on hypercube vertices with class_sep 1 and cluster_std 1 "
            "(scikit-learn's make_classification scheme) are bionn's choices",
        ],
        description="§4.1, Fig. 2: do focusing neurons move to the informative inputs?",
    )
)

register_experiment(
    Experiment(
        paper=PAPER,
        name="fig3_grid",
        run=train_grid_pair,
        configs=[{"index": i, "epochs": 150, "grid_seed": 0, "restrict": False, "l2": 1e-4} for i in range(150)],
        seeds=[0],
        quick=Quick(
            seeds=[0],
            configs=range(24),
            overrides={"epochs": 60, "restrict": True},
            note="quick: 24 random configurations restricted to N in {100, 200, 2000} and nL in {4, 40}, 60 epochs "
            "(full: 150 configurations over the whole Table 1 grid, 150 epochs)",
        ),
        protocol={
            "data": "per configuration, a random draw from Table 1 (N, nL, noise ratio and position, clusters, "
            "classes) of bionn.data.make_focus_blobs with an independent test set of N samples",
            "architecture": "hidden layer (FocusDense, mu spread over [0.2, 0.8], sigma 0.08; or Dense, torch "
            "default init) with Table 1's hidden units -> BatchNorm -> ReLU -> Dense(classes)",
            "optimizer": "SGD momentum 0.9, Table 1's learning rate (sigma: a tenth of it), batch N x Table 1's "
            "fraction, L2 weight decay 1e-4 when Table 1's L2 penalty is drawn",
            "epochs": "150",
            "score": "final test accuracy of each network",
            "repeats": "150 random configurations, one run each",
        },
        deviations=[
            "150 random configurations x 1 run (the paper: 750 trials; the authors' notebook: 250 configurations "
            "x 3 repeats)",
            "data: Gaussian clusters on hypercube vertices with N(0, 1) noise columns and an independent test set "
            "of N samples (the authors: scikit-learn make_classification with uniform [0, 1) noise columns, a "
            "70/30 split and a StandardScaler fitted on the training part)",
            "score: the final test accuracy (the authors' notebook: the best test accuracy over the epochs)",
            "training details the paper does not give, chosen here and differing from the authors' notebook: "
            "momentum 0.9 (notebook 0.5), sigma lr 0.1 x lr (0.82 x), sigma init 0.08 (0.15), no gradient "
            "clipping (clipped), Dense init torch default (Glorot uniform), L2 weight 1e-4 (not given)",
        ],
        description="§4.1, Fig. 3: focusing vs dense networks over random Table 1 configurations",
    )
)

# ================================================================================================
# Claims
# ================================================================================================
_FIG2_READING = (
    "The paper shows one run (Fig. 2) and gives no test; the statement is read as a systematic effect over "
    "seeded repeats, tested per run (before vs after training) with a one-sided Wilcoxon signed-rank test."
)
_LEFT = Group("fig2_blobs", {"noise": "left"}, "left noise, centre init")
_BOTH = Group("fig2_blobs", {"noise": "both"}, "noise on both sides, spread init")

register_claim(
    Claim(
        id="focusing.fig2_left_noise",
        paper=PAPER,
        where="§4.1 and Fig. 2b",
        statement="With noise on the left, foci initialised in the centre shift rightwards during training, "
        "towards the informative features.",
        paper_value="Fig. 2b: the 4 foci move from the centre to the right half (one run, no test)",
        criterion=_paired_greater(_LEFT, "mu_mean_after", "mu_mean_before", "foci move right"),
        reading=_FIG2_READING + " Per run: the mean of the 4 focus centres after vs before training.",
        quick_power=True,
    )
)
register_claim(
    Claim(
        id="focusing.fig2_both_noise",
        paper=PAPER,
        where="§4.1 and Fig. 2a (caption: 'foci were initially spread and during the training they shifted "
        "to the center')",
        statement="With noise on both sides, foci initially spread over [0.2, 0.8] move towards the centre, "
        "where the informative features are.",
        paper_value="Fig. 2a: the spread foci move inward (one run, no test)",
        criterion=_paired_greater(
            _BOTH, "mu_centre_distance_before", "mu_centre_distance_after", "foci move to the centre"
        ),
        reading=_FIG2_READING + " Per run: the mean distance |mu - 0.5| of the 4 focus centres from the "
        "centre of the input, before vs after training (smaller after).",
        # The inward shift is small per run: the 30 seeds of the full protocol show it, the quick
        # protocol's 10 seeds do not (the ledger's quick-mode test found the declaration wrong).
        quick_power=False,
    )
)
register_claim(
    Claim(
        id="focusing.fig2_foci_enlarged",
        paper=PAPER,
        where="§4.1, after Fig. 2 ('In both cases, most foci were enlarged and migrated towards informative inputs.')",
        statement="In both Fig. 2 settings most foci were enlarged (their apertures sigma grew from 0.08).",
        paper_value="most foci enlarged, in both settings (one run each, no test)",
        criterion=AllOf(
            [
                _paired_greater(_LEFT, "foci_enlarged_share", 0.5, "left noise: most foci enlarged"),
                _paired_greater(_BOTH, "foci_enlarged_share", 0.5, "both sides: most foci enlarged"),
            ],
            "most foci enlarged in both settings",
        ),
        reading="'Most foci' = more than half of the 4 neurons of a run: per run the share of neurons whose "
        "sigma grew, tested against 1/2 over the seeds with a one-sided Wilcoxon signed-rank test, in each "
        "setting. " + _FIG2_READING,
        quick_power=True,
    )
)
_NOISY = Group("fig3_grid", {"noisy": True}, "noisy configurations")
_CLEAN = Group("fig3_grid", {"noisy": False}, "clean configurations")
register_claim(
    Claim(
        id="focusing.fig3_noisy",
        paper=PAPER,
        where="§4.1 and Fig. 3",
        statement="Regardless of the data set or training parameters, the focusing networks performed better "
        "than matching dense networks on the noisy data sets.",
        paper_value="Fig. 3: 750 random trials; on noisy sets the focusing networks' accuracies lie above the "
        "dense ones' (no test)",
        criterion=_paired_greater(_NOISY, "focus_accuracy", "dense_accuracy", "focusing beats dense on noisy sets"),
        reading="The paper gives no test; the focusing and dense networks of one configuration form a pair, "
        "compared over the configurations with noise columns (noise ratio 0.5 or 1) by a one-sided Wilcoxon "
        "signed-rank test.",
    )
)
register_claim(
    Claim(
        id="focusing.fig3_clean",
        paper=PAPER,
        where="§4.1 and Fig. 3",
        statement="On the clean data sets (no noise columns) the focusing networks performed similarly to the "
        "dense networks.",
        paper_value="Fig. 3: clean-set accuracies lie on the diagonal (no number given)",
        criterion=_mean_within(_CLEAN, "focus_accuracy", "dense_accuracy", 0.01, "focusing ~ dense on clean sets"),
        reading="The paper gives no number for 'similar'; read (before any run) as a mean accuracy difference "
        "focusing - dense within ±1 percentage point over the clean configurations (noise ratio 0).",
    )
)


# Table 2 (simple and CNN networks), Fig. 6 and Fig. 9: their experiments, claims and report sections.
from . import _focusing_table2  # noqa: E402,F401  (registers on import)
from ._focusing_table2 import FIG6_WIDTHS, PAPER_TABLE2, PAPER_TABLE2_CNN, TABLE2_NETS  # noqa: E402
