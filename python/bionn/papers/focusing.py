"""The focusing-neuron paper (``../shared/papers/focusing-neuron.txt``): data, protocols and claims.

Synthetic experiments (§4.1) on :func:`bionn.data.make_focus_blobs` (20 informative + 20 noise
columns, 2 classes, 2000 training samples, standardised), with the paper's network and training
protocol for Fig. 2: FocusDense(40, 4) (sigma initialised at 0.08) -> BatchNorm -> ReLU -> Dense(4, 2),
SGD with momentum 0.9, learning rate 1e-3 for weights and mu, 1e-4 for sigma, batch 128, 250 epochs.

* ``focusing.fig2_left_noise``: Fig. 2b — noise on the left, foci initialised at the centre move
  right (paired one-sided Wilcoxon over seeds on the mean centre, after > before).
* ``focusing.fig2_both_noise``: Fig. 2a — noise on both sides, spread foci move towards the
  informative centre: the share of the focus mass on informative inputs grows (paired one-sided
  Wilcoxon). The paper also says "most foci were enlarged"; here apertures mostly *shrink*
  (0.08 -> 0.01-0.12), reported in the claim's info, not claimed.

Not registered because they do not reproduce here: Fig. 3 (:func:`fig3_noisy`, :func:`fig3_clean`,
:func:`train_grid_pair`). Over 24 random Table 1 configurations (60 epochs) focusing and dense
networks tie on most noisy sets — both reach 100 % on many of them, since this blob generator
(clusters on hypercube vertices, ``class_sep`` 1) is easy with nL >= 40 — and the focusing network
loses on several hard low-dimensional ones (noisy sets: 6 focus wins, 7 dense wins, the rest ties).
The paper does not give the blob geometry, so the generator, not the layer, is the first suspect.
* ``focusing.fig9_prune_1e7``: Fig. 9 — pruning effective weights where phi < 1e-7 leaves test
  accuracy unchanged.

Image data (Table 2): :func:`train_table2` runs the paper's two-hidden-layer 800-800 networks
(Dense, Focus-s, Focus-c, Fixed-s) on the MNIST 10k sample, Fashion-MNIST, MNIST-cluttered and
CIFAR-10 (skipped while its files are absent) with the paper's learning rates.

* ``focusing.table2_mnist_focus_s_beats_dense``: Table 2, MNIST — Focus-s beats Dense (one-sided
  Welch t-test over seeds on the best test accuracy, Algorithm 3). At the paper's budget (full mode:
  200 epochs, 5 seeds) on the 10k sample (8k/2k split): Dense 97.60 ± 0.07, Focus-s 97.89 ± 0.06,
  Focus-c 97.71 ± 0.19, Fixed-s 98.09 ± 0.10 % (two-sided t for Dense - Focus-s -7.25, p = 1.2e-4;
  paper -6.26, p = 2e-4; the paper's ordering Fixed-s ~ Focus-s > Focus-c > Dense holds, about 1.4
  points lower with a fifth of the training data). Quick mode: 5 seeds, 60 epochs (97.47 vs
  97.25 %, p = 0.0099).

Fashion-MNIST (official 60k/10k split, 60 of the paper's 200 epochs, 3 seeds, sigma lr 0.0005 as
§4.2): Dense 90.27 ± 0.06 % (paper 90.26) but Focus-s 88.78 ± 0.01 % (paper 91.16), still rising at
epoch 60 with the foci barely moved (median sigma 0.025 -> 0.032) — not reproduced at this budget,
not registered (200 epochs x 2 configs x 5 repeats is ~4.5 h on 2 cores).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..experiments import register_claim, repeat, ttest, wilcoxon
from ._common import cifar10_or_skip, fashion_mnist, mnist_sample_or_skip

__all__ = [
    "train_blobs",
    "train_grid_pair",
    "fig3_noisy",
    "fig3_clean",
    "SETTINGS",
    "train_table2",
    "build_table2_net",
    "load_table2_data",
    "TABLE2_CONFIGS",
    "TABLE2_DATASETS",
    "TABLE2_LRS",
    "build_cnn",
    "train_cnn",
    "prune_curve",
]

PAPER = "focusing"
SETTINGS: Dict[str, Dict[str, Any]] = {
    "quick": {"seeds": 10, "n_samples": 2000, "epochs": 250, "grid_runs": 24, "grid_epochs": 60},
    "full": {"seeds": 30, "n_samples": 2000, "epochs": 250, "grid_runs": 150, "grid_epochs": 150},
}
_NOTE = "quick: 10 seeds (full: 30 seeds); both: 2000 samples, 250 epochs as §4.1"
_GRID_NOTE = (
    "quick: 24 random Table 1 configurations with N <= 2000 and nL <= 40, 60 epochs "
    "(full: 150 configurations over the whole grid, 150 epochs; the paper ran 750)"
)


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
) -> Dict[str, float]:
    """Trains §4.1's focusing network on the blobs and reports how the foci moved.

    Defaults are the paper's Fig. 2 protocol (4 focusing neurons, sigma 0.08, BatchNorm, ReLU, SGD
    momentum 0.9, lr 1e-3 for weights and mu, ``lr_sigma = 0.1 * lr``, batch 128, 250 epochs).

    Returns
    -------
    dict
        ``mu_mean_before/after``, ``mu_std_before/after``, ``sigma_mean_before/after``,
        ``focus_on_informative_before/after`` (share of the focus mass on informative inputs),
        ``accuracy`` (test), ``pruned_accuracy`` and ``sparsity`` after pruning at phi < 1e-7.
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
    groups = optim.groups_by_tag(net.parameters(), {"sigma": {"lr": 0.1 * lr if lr_sigma is None else lr_sigma}})
    loss = losses.CrossEntropy()
    net.fit(X, y, loss=loss, optimizer=optim.SGD(groups, lr=lr, momentum=0.9), epochs=epochs, batch_size=batch_size)
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
        "sigma_mean_before": float(sigma0.mean()),
        "sigma_mean_after": float(sigma1.mean()),
        "focus_on_informative_before": mass0,
        "focus_on_informative_after": mass1,
        "accuracy": float(accuracy),
        "pruned_accuracy": float(pruned),
        "sparsity": float(sparsity),
    }


@functools.lru_cache(maxsize=8)
def _runs(mode: str, noise: str, mu_init: str, backend: str, address: Optional[str], n_workers: Optional[int]) -> Any:
    s = SETTINGS[mode]
    config = {"noise": noise, "mu_init": mu_init, "n_samples": s["n_samples"], "epochs": s["epochs"]}
    return repeat(
        train_blobs, seeds=range(s["seeds"]), configs=[config], backend=backend, address=address, n_workers=n_workers
    )


@register_claim(
    id="focusing.fig2_left_noise",
    paper=PAPER,
    where="Fig. 2b, §4.1",
    description="noise on the left: foci initialised at the centre move right while training "
    "(paired one-sided Wilcoxon on the mean centre, after > before)",
    paper_value="foci shift right, p < 0.05",
    compare="significant",
    alpha=0.05,
    quick_note=_NOTE,
)
def fig2_left_noise(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = _runs(mode, "left", "center", backend, address, n_workers)
    res = wilcoxon(df["mu_mean_after"].to_numpy(), df["mu_mean_before"].to_numpy(), alternative="greater")
    return res.pvalue, {
        "mu_mean_before": float(df["mu_mean_before"].mean()),
        "mu_mean_after": float(df["mu_mean_after"].mean()),
        "seeds": len(df),
    }


@register_claim(
    id="focusing.fig2_both_noise",
    paper=PAPER,
    where="Fig. 2a, §4.1",
    description="noise on both sides: spread foci move towards the informative centre — the share "
    "of focus mass on informative inputs grows (paired one-sided Wilcoxon)",
    paper_value="foci move inward, p < 0.05",
    compare="significant",
    alpha=0.05,
    quick_note=_NOTE,
)
def fig2_both_noise(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = _runs(mode, "both", "spread", backend, address, n_workers)
    after, before = df["focus_on_informative_after"].to_numpy(), df["focus_on_informative_before"].to_numpy()
    res = wilcoxon(after, before, alternative="greater")
    return res.pvalue, {
        "informative_mass_before": float(before.mean()),
        "informative_mass_after": float(after.mean()),
        "runs_improved": int((after > before).sum()),
        "seeds": len(df),
        "sigma_mean_before": float(df["sigma_mean_before"].mean()),
        "sigma_mean_after": float(df["sigma_mean_after"].mean()),
    }


@register_claim(
    id="focusing.fig9_prune_1e7",
    paper=PAPER,
    where="Fig. 9, §4.4",
    description="pruning effective weights where phi < 1e-7 leaves test accuracy unchanged "
    "(largest absolute change over seeds, §4.1 networks)",
    paper_value=0.001,
    compare="<=",
    quick_note=_NOTE,
)
def fig9_prune(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = _runs(mode, "left", "center", backend, address, n_workers)
    change = float(np.abs(df["pruned_accuracy"] - df["accuracy"]).max())
    return change, {"mean_sparsity": float(df["sparsity"].mean()), "mean_accuracy": float(df["accuracy"].mean())}


# ================================================================================================
# Fig. 3: focusing vs dense over random Table 1 configurations
# ================================================================================================
_QUICK_GRID = {"n_samples": (100, 200, 2000), "n_informative": (4, 40)}


def train_grid_pair(
    seed: int, index: int = 0, epochs: int = 60, grid_seed: int = 0, restrict: bool = True, l2: float = 1e-4
) -> Dict[str, Any]:
    """Fig. 3: draws Table 1 configuration number ``index`` (:func:`bionn.data.focus_blobs_grid`
    with ``grid_seed``) and trains a matching focusing and dense two-layer network on it.

    Both networks: hidden layer (FocusDense with spread foci and sigma 0.08, or Dense) -> BatchNorm
    -> ReLU -> Dense(classes); SGD momentum 0.9 with the configuration's learning rate (sigma: a
    tenth of it, as §4.1), batch size and optional L2 penalty (weight decay ``l2``, a value the paper
    does not give). ``restrict`` keeps N <= 2000 and nL <= 40 (quick mode). Returns both test
    accuracies and the configuration.
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


@functools.lru_cache(maxsize=4)
def _grid_runs(mode: str, backend: str, address: Optional[str], n_workers: Optional[int]) -> Any:
    s = SETTINGS[mode]
    configs = [{"index": i, "epochs": s["grid_epochs"], "restrict": mode == "quick"} for i in range(s["grid_runs"])]
    return repeat(train_grid_pair, seeds=[0], configs=configs, backend=backend, address=address, n_workers=n_workers)


def fig3_noisy(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    """Fig. 3, noisy sets: one-sided paired Wilcoxon p (focusing > dense) and the means. Not a
    registered claim: it does not reproduce (see the module docstring)."""
    df = _grid_runs(mode, backend, address, n_workers)
    noisy = df[df["noisy"]]
    res = wilcoxon(noisy["focus_accuracy"].to_numpy(), noisy["dense_accuracy"].to_numpy(), alternative="greater")
    return res.pvalue, {
        "configurations": len(noisy),
        "focus_mean": float(noisy["focus_accuracy"].mean()),
        "dense_mean": float(noisy["dense_accuracy"].mean()),
        "focus_wins": int((noisy["focus_accuracy"] > noisy["dense_accuracy"]).sum()),
    }


def fig3_clean(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    """Fig. 3, clean sets: mean accuracy difference focusing - dense, and the means."""
    df = _grid_runs(mode, backend, address, n_workers)
    clean = df[~df["noisy"]]
    diff = clean["focus_accuracy"].to_numpy() - clean["dense_accuracy"].to_numpy()
    return float(diff.mean()), {
        "configurations": len(clean),
        "focus_mean": float(clean["focus_accuracy"].mean()),
        "dense_mean": float(clean["dense_accuracy"].mean()),
    }


# ================================================================================================
# Table 2: simple two-hidden-layer networks on image data sets
# ================================================================================================
TABLE2_CONFIGS = ("dense", "focus-s", "focus-c", "fixed-s")
TABLE2_DATASETS = ("mnist-sample", "fashion", "mnist-cluttered", "cifar10")
# §4.2: "The learning rates for MNIST, CLT, and CIFAR-10 were eta_g = 0.1, eta_mu = 0.01, and
# eta_sigma = 0.01 ... For the Fashion data set ... eta_sigma = 0.0005." (The authors' code uses
# eta_g = 0.01 for CIFAR-10 and MNIST-cluttered; the paper's numbers are the default here.)
TABLE2_LRS = {
    "mnist-sample": (0.1, 0.01, 0.01),
    "fashion": (0.1, 0.01, 0.0005),
    "mnist-cluttered": (0.1, 0.01, 0.01),
    "cifar10": (0.1, 0.01, 0.01),
}


class _StepDecayPerGroup:
    """The authors' step decay: at each milestone multiply the lr of the general (weights), mu and
    sigma groups by their own factor (code: 0.5, 0.9, 0.5 at epochs 100 and 150 of 200)."""

    def __init__(self, optimizer: Any, milestones: Tuple[int, ...], factors: Dict[int, float]) -> None:
        from ..callbacks import Callback

        outer = self

        class _Cb(Callback):
            def on_epoch_end(self, epoch: int, logs: Dict[str, float]) -> None:
                if epoch + 1 in outer.milestones:
                    for gi, factor in outer.factors.items():
                        outer.optimizer.param_groups[gi]["lr"] *= factor

        self.optimizer, self.milestones, self.factors = optimizer, set(milestones), factors
        self.callback = _Cb()


def load_table2_data(
    dataset: str, data_seed: int = 0, n_train: Optional[int] = None, n_test: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """The data of Table 2 as flat float32 rows in [0, 1]: ``(X_train, y_train, X_test, y_test, label)``.

    ``"mnist-sample"`` is the project's 10,000-digit MNIST sample split 80/20 with ``data_seed``
    (not the official 60k/10k split: ``label`` says so); ``"fashion"`` the official Fashion-MNIST
    split; ``"mnist-cluttered"`` 60x60 frames made by :func:`bionn.data.make_cluttered_mnist`
    from the sample (train and test frames from disjoint digits); ``"cifar10"`` the official split,
    grayscale-free (3x32x32 flattened). ``n_train``/``n_test`` take seeded stratified subsets.

    Raises
    ------
    bionn.experiments.ClaimSkipped
        CIFAR-10 files are absent (they are not in ``../shared/data`` yet).
    """
    from .. import data

    if dataset not in TABLE2_DATASETS:
        raise ValueError(f"dataset must be one of {TABLE2_DATASETS}, got {dataset!r}")
    if dataset in ("mnist-sample", "mnist-cluttered"):
        X, y = data.load_mnist_sample()
        (Xtr, ytr), (Xte, yte) = data.train_val_split(X, y, val_fraction=0.2, seed=data_seed)
        label = f"MNIST 10k sample, 8k/2k split (seed {data_seed})"
        if dataset == "mnist-cluttered":
            Xtr, ytr = data.make_cluttered_mnist(Xtr, ytr, len(Xtr), seed=data_seed)
            Xte, yte = data.make_cluttered_mnist(Xte, yte, len(Xte), seed=data_seed + 1)
            label = f"MNIST-cluttered 60x60 from the MNIST 10k sample (split seed {data_seed})"
    elif dataset == "fashion":
        Xtr, ytr, Xte, yte = fashion_mnist()
        label = "Fashion-MNIST (official split)"
    else:
        Xtr, ytr, Xte, yte = cifar10_or_skip()
        label = "CIFAR-10 (official split)"
    if n_train is not None and n_train < len(Xtr):
        Xtr, ytr = data.subsample(Xtr, ytr, per_class=max(1, n_train // 10), seed=data_seed)
        label += f", {len(Xtr)} training images"
    if n_test is not None and n_test < len(Xte):
        Xte, yte = data.subsample(Xte, yte, per_class=max(1, n_test // 10), seed=data_seed)
        label += f", {len(Xte)} test images"
    flat = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.float32).reshape(len(a), -1))  # noqa: E731
    return flat(Xtr), np.asarray(ytr), flat(Xte), np.asarray(yte), label


def build_table2_net(
    config: str,
    in_features: int,
    n_classes: int = 10,
    width: int = 800,
    layout: str = "code",
    normalization: str = "l2",
    seed: int = 0,
) -> Any:
    """Table 2's "simple" network with two hidden layers of ``width`` units.

    ``layout="code"`` (default; the authors' code, which produced Table 2): Dropout(0.2) on the
    input, then 2 x [hidden -> BatchNorm -> ReLU -> Dropout(0.25)] -> Dense(classes).
    ``layout="paper"`` (§4.2's prose): hidden -> BatchNorm -> ReLU -> Dropout(0.2) -> hidden ->
    BatchNorm -> ReLU -> Dropout(0.25) -> Dense(classes) (the prose names no activation; ReLU as
    in the code). Hidden layers: ``"dense"`` Dense (He-uniform, as the code's baselines);
    ``"focus-s"`` FocusDense with mu spread over [0.2, 0.8], sigma 0.025; ``"focus-c"`` mu at the
    centre (0.5 + U(-0.025, 0.025)), sigma 0.025; ``"fixed-s"`` spread, sigma 0.1, foci frozen.
    ``normalization`` is the focus normaliser (``"l2"`` = Eq. 7, ``"sum"`` = Algorithm 2).
    """
    from .. import nn

    if config not in TABLE2_CONFIGS:
        raise ValueError(f"config must be one of {TABLE2_CONFIGS}, got {config!r}")
    if layout not in ("code", "paper"):
        raise ValueError(f"layout must be 'code' or 'paper', got {layout!r}")

    def hidden(n_in: int) -> Any:
        if config == "dense":
            return nn.Dense(n_in, width, init="he_uniform")
        return nn.FocusDense(
            n_in,
            width,
            mu_init="center" if config == "focus-c" else "spread",
            sigma_init=0.1 if config == "fixed-s" else 0.025,
            trainable_focus=config != "fixed-s",
            normalization=normalization,
        )

    drops = (0.25, 0.25) if layout == "code" else (0.2, 0.25)
    layers = [nn.Dropout(0.2)] if layout == "code" else []
    n_in = in_features
    for p in drops:
        layers += [hidden(n_in), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(p)]
        n_in = width
    layers.append(nn.Dense(width, n_classes, init="he_uniform"))
    return nn.Sequential(layers, seed=seed)


def train_table2(
    seed: int,
    dataset: str = "fashion",
    config: str = "focus-s",
    epochs: int = 200,
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    batch_size: int = 512,
    width: int = 800,
    layout: str = "code",
    normalization: str = "l2",
    clip_value: float = 1.0,
    lr_decay: bool = True,
    data_seed: int = 0,
    return_model: bool = False,
) -> Any:
    """Trains one Table 2 network and scores it as the paper does (Algorithm 3: the best test
    accuracy over epochs; the final one is reported too).

    SGD with momentum 0.9 and the paper's per-group learning rates (:data:`TABLE2_LRS`), gradient
    values clipped to ``clip_value`` and, with ``lr_decay``, the code's step decay at 50 % and 75 %
    of the epochs (x0.5 weights and sigma, x0.9 mu) — both from the authors' code, not the paper.
    Returns the scores, or ``(scores, model)`` with ``return_model``.
    """
    from .. import losses, optim

    Xtr, ytr, Xte, yte, label = load_table2_data(dataset, data_seed=data_seed, n_train=n_train, n_test=n_test)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    net = build_table2_net(
        config, Xtr.shape[1], n_classes, width=width, layout=layout, normalization=normalization, seed=seed
    )
    lr_w, lr_mu, lr_sigma = TABLE2_LRS[dataset]
    groups = [{"params": net.parameters(exclude_tags=["mu", "sigma"])}]
    if config != "dense":
        groups += [
            {"params": net.parameters(tags=["mu"]), "lr": lr_mu},
            {"params": net.parameters(tags=["sigma"]), "lr": lr_sigma},
        ]
    opt = optim.SGD(groups, lr=lr_w, momentum=0.9, clip_value=clip_value)
    callbacks = []
    if lr_decay and epochs >= 4:
        decay = _StepDecayPerGroup(
            opt, (epochs // 2, (3 * epochs) // 4), {0: 0.5, 1: 0.9, 2: 0.5} if config != "dense" else {0: 0.5}
        )
        callbacks.append(decay.callback)
    loss = losses.CrossEntropy()
    start = time.perf_counter()
    hist = net.fit(
        Xtr,
        ytr,
        loss=loss,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(Xte, yte),
        callbacks=callbacks,
    )
    acc = hist["val_accuracy"]
    out: Dict[str, Any] = {
        "best_test_accuracy": float(max(acc)),
        "final_test_accuracy": float(acc[-1]),
        "best_epoch": int(np.argmax(acc)) + 1,
        "train_accuracy": float(hist["accuracy"][-1]),
        "seconds": time.perf_counter() - start,
        "data": label,
    }
    if config != "dense":
        sig = np.concatenate([layer.sigma.ravel() for layer in net.layers if hasattr(layer, "sigma")])
        out["sigma_median"] = float(np.median(sig))
    return (out, net) if return_model else out


# Table 2, MNIST: the one Table 2 comparison the 10k sample lets us run at the paper's budget.
TABLE2_CLAIM_SETTINGS: Dict[str, Dict[str, int]] = {
    "quick": {"seeds": 5, "epochs": 60},
    "full": {"seeds": 5, "epochs": 200},
}


def _table2_mnist_runs(mode: str, backend: str, address: Optional[str], n_workers: Optional[int]) -> Any:
    s = TABLE2_CLAIM_SETTINGS[mode]
    mnist_sample_or_skip()
    configs = [{"dataset": "mnist-sample", "config": c, "epochs": s["epochs"]} for c in ("dense", "focus-s")]
    return repeat(
        train_table2, seeds=range(s["seeds"]), configs=configs, backend=backend, address=address, n_workers=n_workers
    )


@register_claim(
    id="focusing.table2_mnist_focus_s_beats_dense",
    paper=PAPER,
    where="Table 2 (MNIST), §4.2.1",
    description="simple 800-800 networks on the MNIST 10k sample (8k/2k split, seed 0): Focus-s reaches "
    "a higher best test accuracy than Dense (one-sided Welch t-test over seeds)",
    paper_value="99.25 vs 99.02 %, t = -6.26, p = 2e-4 (5 repeats, 200 epochs, official split)",
    compare="significant",
    alpha=0.05,
    quick_note="quick: 5 seeds, 60 epochs (full: 5 seeds, 200 epochs as the paper)",
)
def table2_mnist(
    mode: str, backend: str = "serial", address: Optional[str] = None, n_workers: Optional[int] = None
) -> Tuple[float, Dict[str, Any]]:
    df = _table2_mnist_runs(mode, backend, address, n_workers)
    dense = df[df["config"] == "dense"]["best_test_accuracy"].to_numpy()
    focus = df[df["config"] == "focus-s"]["best_test_accuracy"].to_numpy()
    res = ttest(focus, dense, alternative="greater")
    return res.pvalue, {
        "dense_mean": float(dense.mean()),
        "focus_s_mean": float(focus.mean()),
        "t": float(res.statistic),
        "seeds": len(dense),
    }


def prune_curve(net: Any, X: np.ndarray, y: np.ndarray, thresholds: Any) -> Dict[str, list]:
    """Fig. 9b: test accuracy and sparsity (zero effective weights / all weights of the focusing
    layers) when every focusing layer of ``net`` prunes at phi < t, for each ``t`` in ``thresholds``.
    Pruning is switched off again afterwards."""
    from .. import losses, nn

    focus_layers = [layer for layer in net.layers if isinstance(layer, nn.FocusDense)]
    if not focus_layers:
        raise ValueError("net has no FocusDense layer to prune")
    sizes = np.array([layer.in_features * layer.out_features for layer in focus_layers], dtype=np.float64)
    out: Dict[str, list] = {"threshold": [], "sparsity": [], "accuracy": []}
    try:
        for t in thresholds:
            fractions = np.array([layer.prune(float(t)) for layer in focus_layers])
            out["threshold"].append(float(t))
            out["sparsity"].append(float((fractions * sizes).sum() / sizes.sum()))
            out["accuracy"].append(float(net.evaluate(X, y, losses.CrossEntropy())["accuracy"]))
    finally:
        for layer in focus_layers:
            layer.prune(0.0)
    return out


# ================================================================================================
# §4.5.1: CNN+Fcs vs CNN+Dns
# ================================================================================================
def build_cnn(
    head: str,
    image_shape: Tuple[int, int, int],
    n_classes: int = 10,
    width: int = 256,
    channels: int = 32,
    seed: int = 0,
) -> Any:
    """The small CNN of §4.5.1 as coded by the authors: Conv(32, 5x5, same) -> ReLU -> Conv(32, 5x5,
    same) -> ReLU -> MaxPool(2) -> Flatten -> Dropout(0.5) -> [FocusDense | Dense](256) -> BatchNorm
    -> ReLU -> Dropout(0.5) -> Dense(classes). ``head`` is ``"focus"`` (CNN+Fcs; foci spread over
    [0.2, 0.8], sigma 0.025) or ``"dense"`` (CNN+Dns)."""
    from .. import nn

    if head not in ("focus", "dense"):
        raise ValueError(f"head must be 'focus' or 'dense', got {head!r}")
    c, h, w = image_shape
    flat = channels * (h // 2) * (w // 2)
    hidden = nn.FocusDense(flat, width) if head == "focus" else nn.Dense(flat, width, init="he_uniform")
    return nn.Sequential(
        [
            nn.Conv2d(c, channels, 5, padding=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.5),
            hidden,
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Dense(width, n_classes, init="he_uniform"),
        ],
        seed=seed,
    )


def train_cnn(
    seed: int,
    dataset: str = "mnist-cluttered",
    head: str = "focus",
    epochs: int = 30,
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    batch_size: int = 128,
    channels: int = 32,
    width: int = 256,
    data_seed: int = 0,
) -> Dict[str, Any]:
    """Trains CNN+Fcs or CNN+Dns (§4.5.1) and scores it by the best test accuracy over epochs.

    SGD momentum 0.9 with the paper's learning rates (:data:`TABLE2_LRS`: weights 0.1, mu 0.01,
    sigma 0.01 on MNIST-cluttered), gradient values clipped to 1.0 (the authors' code). The paper
    trains 200 epochs on the full data; callers choose ``epochs``/``n_train`` to fit a 2-core budget.
    """
    from .. import losses, optim

    Xtr, ytr, Xte, yte, label = load_table2_data(dataset, data_seed=data_seed, n_train=n_train, n_test=n_test)
    side = {"cifar10": (3, 32, 32), "mnist-cluttered": (1, 60, 60)}.get(dataset, (1, 28, 28))
    Xtr, Xte = Xtr.reshape((-1,) + side), Xte.reshape((-1,) + side)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    net = build_cnn(head, side, n_classes, width=width, channels=channels, seed=seed)
    lr_w, lr_mu, lr_sigma = TABLE2_LRS[dataset]
    groups = [{"params": net.parameters(exclude_tags=["mu", "sigma"])}]
    if head == "focus":
        groups += [
            {"params": net.parameters(tags=["mu"]), "lr": lr_mu},
            {"params": net.parameters(tags=["sigma"]), "lr": lr_sigma},
        ]
    opt = optim.SGD(groups, lr=lr_w, momentum=0.9, clip_value=1.0)
    start = time.perf_counter()
    hist = net.fit(
        Xtr,
        ytr,
        loss=losses.CrossEntropy(),
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(Xte, yte),
    )
    acc = hist["val_accuracy"]
    return {
        "best_test_accuracy": float(max(acc)),
        "final_test_accuracy": float(acc[-1]),
        "best_epoch": int(np.argmax(acc)) + 1,
        "seconds": time.perf_counter() - start,
        "data": label,
    }
