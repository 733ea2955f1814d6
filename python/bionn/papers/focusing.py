"""The focusing-neuron paper (``../shared/papers/focusing-neuron.txt``): experiments and claims.

Experiments (each a protocol whose runs are recorded; deviations from the paper are declared on it):

* ``fig2_blobs`` (§4.1, Fig. 2): :func:`train_blobs` — 20 informative Gaussian-blob columns plus 20
  N(0, 1) noise columns (left, or both sides), FocusDense(40, 4) (sigma 0.08) -> BatchNorm -> ReLU
  -> Dense(4, 2), SGD momentum 0.9, lr 1e-3 (weights, mu), 1e-4 (sigma), batch 128, 250 epochs.
  30 seeds (quick: 10). Curves: each focus centre and aperture per epoch (Fig. 2c).
* ``fig3_random`` (§4.1, Fig. 3): :func:`train_random_pair` — the authors' protocol: matching focusing
  and dense networks on the same make_classification data, 250 random configurations
  (:func:`fig3_configs`) x 3 repeats = 750 trials, 150 epochs (quick: 12 configurations x 1 repeat).
* ``table2_{mnist,fashion,clt,cifar10}`` (§4.2.1, Table 2): :func:`train_table2` — the four simple
  800-800 networks (Dense, Focus-s, Focus-c, Fixed-s), the paper's learning rates, batch 512, 200
  epochs, 5 repeats, scored by the best test accuracy over epochs (Algorithm 3). Fashion-MNIST is the
  official split; MNIST the project's 10k-digit sample (8k/2k); CLT 60x60 cluttered frames made from
  it; CIFAR-10 is SKIPPED while absent. Focus-s runs also prune the final network (Fig. 9).
* ``table2_{mnist,fashion,clt,cifar10}_code_init``: the authors' code's variant of Table 2's Focus-s —
  its focusing weights initialised as the code does (``FocusDense(init="focus_glorot")``: Glorot per
  element with focus-weighted fans) instead of the paper's Eq. 10; 5 seeds, Focus-s only.
* ``cnn_{mnist,fashion,clt,cifar10}`` (§4.2.2, Table 2's CNN rows): :func:`train_cnn` — CNN+Dns vs
  CNN+Fcs, 200 epochs, batch 512, 5 repeats.
* ``fig6_mnist`` (§4.3, Fig. 6): Dense and Focus-s with 64-1024 hidden units (800: ``table2_mnist``).
  These live in :mod:`bionn.papers._focusing_table2` (with the report sections: Table 2 beside the
  paper's, Fig. 6, Fig. 9b); the networks and data in :mod:`bionn.papers._focusing_nets`.

Claims (criteria fixed from the paper, before any run):

* ``focusing.fig2_left_noise`` — Fig. 2b: centre-initialised foci move right (noise on the left).
* ``focusing.fig2_both_noise`` — Fig. 2a: spread foci move to the centre (noise on both sides).
* ``focusing.fig2_foci_enlarged`` — §4.1: "in both cases, most foci were enlarged".
* ``focusing.fig3_noisy`` / ``focusing.fig3_clean`` — Fig. 3: focusing networks beat dense ones on
  noisy sets and are similar on clean sets.
* ``focusing.table2_<data>_focus_s_beats_dense`` — Table 2: Focus-s > Dense (two-tailed Student
  t-test, 5 repeats, p < 0.05; at least half the paper's difference), for each data set; and
  ``focusing.code_table2_<data>_focus_s_beats_dense``, the same criterion with the code-init Focus-s
  runs against the same Dense runs (which variant reproduces).
* ``focusing.cnn_{mnist,fashion}_no_difference`` / ``focusing.cnn_{clt,cifar10}_fcs_beats_dns`` —
  Table 2's CNN rows: the paper's non-significant and significant t-tests.
* ``focusing.fig6_focus_s_wins_above_64`` / ``focusing.fig6_focus_s_256_beats_every_dense`` — Fig. 6.
* ``focusing.fig9_prune_1e7`` / ``focusing.fig9_pruned_above_dense_at_70pct`` — §4.4 / Fig. 9:
  pruning at phi < 1e-7 changes nothing; pruned past 70 % sparsity Focus-s stays above Dense.

Every statement is registered whatever it shows here (``fig2_foci_enlarged`` and the Fig. 3 claims
were once left out because they did not hold; they are in).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

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
    "train_random_pair",
    "fig3_configs",
    "FIG3_GRID",
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
# Fig. 3: focusing vs dense over the authors' 250 random configurations x 3 repeats
# ================================================================================================
#: The authors' random-test grid (Theano notebook ``Random_Syntethic_Tests-master-forPaper-ready``),
#: each value drawn uniformly and independently per configuration.
FIG3_GRID: Dict[str, Tuple[Any, ...]] = {
    "batch_fraction": (0.1, 0.05),
    "n_hidden": (4, 40, 100),
    "n_classes": (2, 4, 8),
    "n_features": (4, 40, 100),
    "n_clusters_per_class": (1, 2, 4),
    "n_samples": (100, 1000, 2000, 10000),
    "noise_ratio": (0.0, 0.5, 1.0),
    "noise": ("left", "sides"),
}
#: The fixed training settings of every Fig. 3 trial (the notebook's values).
FIG3_TRAINING: Dict[str, Any] = {
    "epochs": 150,
    "lr": 0.01,
    "momentum": 0.5,
    "sigma_init": 0.15,
    "lr_sigma_factor": 0.82,
    "mu_bounds": [0.01, 0.99],
    "sigma_bounds": [0.01, 0.5],
    "clip_value": 0.0,
    "batchnorm": True,
    "shuffle": False,
}
FIG3_CONFIG_SEED = 2019
FIG3_N_CONFIGS = 250


def fig3_configs(n: int = FIG3_N_CONFIGS, seed: int = FIG3_CONFIG_SEED) -> List[Dict[str, Any]]:
    """The Fig. 3 configurations, drawn once and deterministically: ``n`` dicts, each value of
    :data:`FIG3_GRID` drawn uniformly (``numpy.random.default_rng(seed)``, keys in the grid's
    order), the informative features raised to at least ``n_clusters_per_class * n_classes`` (as the
    authors' notebook: ``n_features_drawn`` keeps the draw), plus ``index`` and ``FIG3_TRAINING``."""
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    gen = np.random.default_rng(int(seed))
    out = []
    for i in range(n):
        d = {k: v[int(gen.integers(len(v)))] for k, v in FIG3_GRID.items()}
        drawn = int(d["n_features"])
        cfg: Dict[str, Any] = {"index": i, **d, "n_features_drawn": drawn}
        cfg["n_features"] = max(drawn, int(d["n_clusters_per_class"]) * int(d["n_classes"]))
        cfg.update(FIG3_TRAINING)
        out.append(cfg)
    return out


def train_random_pair(
    seed: int,
    index: int = 0,
    batch_fraction: float = 0.1,
    n_hidden: int = 40,
    n_classes: int = 2,
    n_features: int = 40,
    n_clusters_per_class: int = 1,
    n_samples: int = 1000,
    noise_ratio: float = 1.0,
    noise: str = "left",
    n_features_drawn: Optional[int] = None,
    epochs: int = 150,
    lr: float = 0.01,
    momentum: float = 0.5,
    sigma_init: float = 0.15,
    lr_sigma_factor: float = 0.82,
    mu_bounds: Sequence[float] = (0.01, 0.99),
    sigma_bounds: Sequence[float] = (0.01, 0.5),
    clip_value: float = 0.0,
    batchnorm: bool = True,
    shuffle: bool = False,
) -> Dict[str, Any]:
    """Fig. 3, one trial: configuration ``index`` (see :func:`fig3_configs`), repeat ``seed``.

    Draws the data (:func:`bionn.data.make_focus_classification`, seeded by ``(index, seed)``) and
    trains, on the same split, a focusing network (FocusDense with ``n_hidden`` units, mu spread over
    [0.2, 0.8], sigma ``sigma_init``, Glorot-uniform weights, zero bias; Eq. 7 normalisation, for
    which the authors' per-neuron Glorot-like bound sqrt(6 / (||phi_j||^2 + n_hidden)) is the
    Glorot-uniform one) and a dense one (Dense, Glorot uniform): hidden -> BatchNorm -> ReLU ->
    Dense(classes) (Glorot uniform). SGD with momentum ``momentum`` on every parameter, lr ``lr`` for
    the weights and mu, ``lr_sigma_factor * lr`` for sigma, batches of ``int(batch_fraction *
    n_samples)`` in the split's order (``shuffle=False``, as the authors), mu and sigma clamped to
    ``mu_bounds`` / ``sigma_bounds`` after every step (the authors' ``sgdWithLrsClip`` clips these
    values, not the gradients: ``clip_value=0`` means no gradient clipping).

    Returns
    -------
    dict
        ``focus_accuracy`` (best test accuracy over all epochs), ``dense_accuracy`` (best over the
        epochs after the first, as the authors' notebook), ``focus_final_accuracy``,
        ``dense_final_accuracy``, ``noisy`` (noise columns present), ``n_inputs``, ``batch_size``,
        ``n_train`` and ``n_test``.
    """
    from .. import data, losses, nn, optim

    index, seed = int(index), int(seed)
    ss = np.random.SeedSequence([index, seed])
    data_ss, net_ss = ss.spawn(2)
    X, y, Xt, yt = data.make_focus_classification(
        n_samples,
        n_features,
        n_classes=n_classes,
        n_clusters_per_class=n_clusters_per_class,
        noise_ratio=noise_ratio,
        noise=noise,
        seed=data_ss,
    )
    m, h, k = X.shape[1], int(n_hidden), int(n_classes)
    batch_size = max(1, int(batch_fraction * n_samples))
    net_seed = int(net_ss.generate_state(1)[0])
    loss = losses.CrossEntropy()
    out: Dict[str, Any] = {
        "noisy": bool(noise_ratio > 0),
        "n_inputs": int(m),
        "batch_size": batch_size,
        "n_train": int(len(X)),
        "n_test": int(len(Xt)),
    }
    for kind in ("focus", "dense"):
        if kind == "focus":
            hidden = nn.FocusDense(
                m,
                h,
                init="glorot_uniform",
                mu_init="spread",
                sigma_init=sigma_init,
                mu_bounds=tuple(mu_bounds),
                sigma_bounds=tuple(sigma_bounds),
            )
        else:
            hidden = nn.Dense(m, h, init="glorot_uniform")
        layers = [hidden] + ([nn.BatchNorm1d(h)] if batchnorm else [])
        net = nn.Sequential(layers + [nn.ReLU(), nn.Dense(h, k, init="glorot_uniform")], seed=net_seed)
        groups = optim.groups_by_tag(net.parameters(), {"sigma": {"lr": lr_sigma_factor * lr}})
        opt = optim.SGD(groups, lr=lr, momentum=momentum, clip_value=clip_value)
        hist = net.fit(
            X,
            y,
            loss=loss,
            optimizer=opt,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=(Xt, yt),
            shuffle=shuffle,
        )
        acc = [float(a) for a in hist["val_accuracy"]]
        scored = acc if kind == "focus" or len(acc) < 2 else acc[1:]
        out[f"{kind}_accuracy"] = max(scored)
        out[f"{kind}_final_accuracy"] = acc[-1]
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
        name="fig3_random",
        run=train_random_pair,
        configs=fig3_configs(),
        seeds=range(3),
        quick=Quick(
            seeds=[0],
            configs=range(12),
            note="quick: the first 12 of the 250 configurations, one repeat (full: 250 configurations x 3 "
            "repeats = 750 trials), the same 150 epochs",
        ),
        protocol={
            "data": "per trial, scikit-learn make_classification(n_samples / 0.7 rows, F informative features, "
            "C classes, K clusters per class) with int(r x F) uniform [0, 1) noise columns on the left or a block "
            "on each side, train_test_split(test_size=0.3, random_state=42), StandardScaler fitted on the training "
            "part (bionn.data.make_focus_classification); a new draw for every trial",
            "configurations": "250 drawn once (seed 2019) uniformly from batch fraction {0.1, 0.05}, hidden units "
            "{4, 40, 100}, classes {2, 4, 8}, features {4, 40, 100} (raised to at least clusters x classes), "
            "clusters per class {1, 2, 4}, samples {100, 1000, 2000, 10000}, noise ratio {0, 0.5, 1}, noise "
            "position {left, sides}",
            "architecture": "input -> hidden (FocusDense: mu spread over [0.2, 0.8], sigma 0.15, Glorot-uniform "
            "weights, zero bias; or Dense, Glorot uniform) -> BatchNorm -> ReLU -> Dense(classes) (Glorot uniform); "
            "both networks on the same data and split",
            "optimizer": "SGD momentum 0.5 on every parameter, cross-entropy, lr 0.01 (weights, mu), 0.0082 "
            "(sigma), no penalty, no gradient clipping; mu and sigma clamped to [0.01, 0.99] and [0.01, 0.5] "
            "after every step (the authors' sgdWithLrsClip)",
            "epochs": "150",
            "batch": "int(batch fraction x samples), in the split's order (not reshuffled)",
            "score": "each network's best test accuracy over the epochs (the dense network's from the second "
            "epoch on, as the authors' notebook)",
            "repeats": "3 per configuration (seeds 0-2: new data, new initialisation) = 750 trials",
        },
        deviations=[
            "the grid and training settings are the authors' notebook's (the paper cites it, [47], as reproducing "
            "Fig. 3), which differ from the paper's Table 1: samples {100, 1000, 2000, 10000} (Table 1: 200 for "
            "1000), features {4, 40, 100} (Table 1: 400 for 100), lr 0.01 only (Table 1: {0.01, 0.001}), no L2 "
            "penalty (Table 1: {True, False}); momentum 0.5, sigma 0.15 and the sigma lr 0.82 x lr are the "
            "notebook's (the paper gives none)",
            "the authors' notebook draws a NEW configuration for each of its 750 trials (250 x 3 loop, drawing "
            "inside the inner loop); here 250 configurations are drawn once and each is repeated 3 times (the "
            "same 750 trials in number, the repeats share a configuration)",
            "input positions tau_i = i / (m - 1) (bionn's FocusDense; the authors' Theano layer: i / m)",
            "the configurations come from a fixed seed (2019) of NumPy's Generator, not the authors' draw "
            "(np.random seeded 42, not reproducible here)",
        ],
        description="§4.1, Fig. 3: focusing vs dense networks over the authors' 250 random configurations x 3",
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
_NOISY = Group("fig3_random", {"noisy": True}, "noisy trials")
_CLEAN = Group("fig3_random", {"noisy": False}, "clean trials")


def _fig3_scatter(data: ClaimData, ax: Any) -> bool:
    """Fig. 3: focusing (x) vs dense (y) best test accuracy of every trial, noisy and clean coloured,
    with the share of trials where focusing scored higher."""
    drawn = False
    for group, colour in ((_CLEAN, "C0"), (_NOISY, "C3")):
        x, y = _columns(data, group, "focus_accuracy", "dense_accuracy")
        if not x.size:
            continue
        share = float(np.mean(x > y))
        ax.plot(
            x, y, "o", ms=3, alpha=0.5, color=colour, label=f"{group.label} (n={x.size}, focus > dense {share:.0%})"
        )
        drawn = True
    if not drawn:
        return False
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("focusing network accuracy")
    ax.set_ylabel("dense network accuracy")
    ax.legend(fontsize=7, loc="upper left")
    return True


def _fig3_criterion(inner: Custom) -> Custom:
    """``inner`` with Fig. 3's scatter as its figure and the share of trials where focusing scored
    higher added to its evidence (``details["share_focus_greater"]``, reported, not tested)."""

    def evaluate(data: ClaimData) -> Evidence:
        ev = inner.evaluate(data)
        x, y = _columns(data, _NOISY, "focus_accuracy", "dense_accuracy")
        xc, yc = _columns(data, _CLEAN, "focus_accuracy", "dense_accuracy")
        details = dict(ev.details)
        value = ev.value
        if x.size:
            details["share_focus_greater"] = float(np.mean(x > y))
            value += f"; focus > dense in {np.sum(x > y)}/{x.size} noisy trials ({np.mean(x > y):.0%})"
        if xc.size:
            details["share_focus_greater_clean"] = float(np.mean(xc > yc))
            value += f", {np.sum(xc > yc)}/{xc.size} clean ({np.mean(xc > yc):.0%})"
        return Evidence(ev.holds, value, ev.reason, ev.test, ev.statistic, ev.pvalue, details)

    return Custom(list(inner.experiments), inner.describe(), evaluate, _fig3_scatter)


_FIG3_READING = (
    "A trial is one configuration x one repeat (250 configurations drawn from the authors' grid x 3 repeats = "
    "the paper's 750 trials); the focusing and dense networks of a trial share its data and split and form a "
    "pair, scored by their best test accuracy over the epochs. Noisy trials: noise ratio 0.5 or 1; clean: 0. "
)
register_claim(
    Claim(
        id="focusing.fig3_noisy",
        paper=PAPER,
        where="§4.1 and Fig. 3",
        statement="Regardless of the data set or training parameters, the focusing networks performed better "
        "than matching dense networks on the noisy data sets.",
        paper_value="Fig. 3: 750 random trials; on noisy sets the focusing networks' accuracies lie above the "
        "dense ones' (no test)",
        criterion=_fig3_criterion(
            _paired_greater(_NOISY, "focus_accuracy", "dense_accuracy", "focusing beats dense on noisy sets")
        ),
        reading=_FIG3_READING + "The paper gives no test; 'performed better' is read as focus > dense over the "
        "noisy trials' pairs, one-sided Wilcoxon signed-rank test (p < 0.05, mean difference > 0). The share of "
        "noisy trials where focus > dense (the issue's sign-test view) is reported with the evidence and in the "
        "figure, not tested.",
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
        criterion=_fig3_criterion(
            _mean_within(_CLEAN, "focus_accuracy", "dense_accuracy", 0.01, "focusing ~ dense on clean sets")
        ),
        reading=_FIG3_READING + "The paper gives no number for 'similar'; read (before any run) as a mean "
        "accuracy difference focusing - dense within ±1 percentage point over the clean trials.",
    )
)


# Table 2 (simple and CNN networks), Fig. 6 and Fig. 9: their experiments, claims and report sections.
from . import _focusing_table2  # noqa: E402,F401  (registers on import)
from ._focusing_table2 import FIG6_WIDTHS, PAPER_TABLE2, PAPER_TABLE2_CNN, TABLE2_NETS  # noqa: E402
