"""The flexible-layer paper (Evanson et al., "Biomimetic computations improve neural network
robustness", ``../shared/papers/flexible-layer-robustness.md``, issue 6): networks, protocols, and
the ledger's experiments and claims (``bionn reproduce flexible``).

Networks: :func:`small_network`, the paper's Fashion-MNIST network (Fig. 2B: Flexible[Conv2d(1, 12, 5)
‖ MaxPool2d(5, 1)] → Sigmoid → Linear(6912, 120) → Linear(120, 60) → Linear(60, 10), as listed);
:func:`vgg_style_network`, a scaled-down VGG with the flexible layer in block 1;
:func:`surrogate_network`, a small "Conv2D model". :func:`train`: the paper's SGD (momentum 0.9,
weight decay 0.006, 0 on the threshold; StepLR(20, 0.7); batch 100) at the experiment's lr.

Experiments (each declares its protocol and every deviation from the paper's) and claims:

* ``table2_small`` (Fashion-MNIST; baseline, standard = learned T, uniform T = 0.6, standard
  reverse) — Table 2: ``table2_uniform_fgsm``, ``table2_standard_fgsm`` (FGSM ε = 0.1 accuracy above
  the baseline's), ``table2_uniform_most_robust``, ``table2_reverse_weaker``, ``table2_clean_cost``
  (≤ 6 points), ``table2_clean_lower``, ``table2_clean_accuracy`` (87.7 / 86.3 / 85.2 / 84.6 %).
  Two-sided Welch t-tests over seeds, alpha 0.05 (the paper gives mean ± SEM and no test), with
  magnitudes fixed from the paper's numbers.
* ``fig3_threshold`` (uniform T = 0.1 / 0.6 validated at T = 0–1) — ``fig3_trained_threshold_best``.
* ``fig4c_cifar`` (1,000 CIFAR-10 images) — ``fig4c_small_data``; ``table3_cifar`` (PGD on
  CIFAR-10) — ``table3_pgd_whitebox``, ``table3_pgd_blackbox_little_difference``,
  ``table3_blackbox_above_whitebox``. Without CIFAR-10 their ``requires`` raises
  :class:`DataUnavailable` (SKIPPED); ``dataset="fmnist"`` of :func:`small_data` and
  :func:`pgd_robustness` is an explicit option for notebook 03, never a stand-in for a claim.

Not registered: Fig. 4A/B/D (HMAX; VGG16 on CIFAR-10) and Fig. 5 (ImageNet-C, Imagenette: no loader;
:func:`corruption_robustness` runs the corruptions on Fashion-MNIST for the notebook only).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..experiments import (
    AllOf,
    Claim,
    ClaimData,
    Compare,
    Custom,
    Evidence,
    Experiment,
    Group,
    Level,
    Quick,
    paired_ttest,
    register_claim,
    register_experiment,
)
from ._common import CIFAR10_HINT, DataUnavailable, cifar10_or_skip, fashion_mnist

__all__ = [
    "DataUnavailable",
    "load_fmnist",
    "load_cifar10_subset",
    "cifar10_or_skip",
    "require_fmnist",
    "require_cifar10",
    "small_network",
    "vgg_style_network",
    "surrogate_network",
    "paper_optimizer",
    "train",
    "train_small",
    "threshold_sweep",
    "small_data",
    "pgd_robustness",
    "corruption_robustness",
    "NOISE_CORRUPTIONS",
    "FIG3_GRID",
]

PAPER = "flexible"


def _require(load: Any, what: str, hint: str, dataset: str) -> None:
    try:
        load(split="test")
    except (FileNotFoundError, OSError) as exc:
        raise DataUnavailable(
            f"{what} is not available on this machine ({str(exc).splitlines()[0]}); {hint}", dataset=dataset
        ) from None


def require_fmnist() -> None:
    """Raises :class:`DataUnavailable` when Fashion-MNIST's IDX files are not found."""
    from .. import data

    hint = "apt-get install dataset-fashion-mnist, or put its four IDX .gz files in ../shared/data/fashion-mnist/"
    _require(data.load_fashion_mnist, "Fashion-MNIST", hint + " or $BIONN_DATA/fashion-mnist/", "fashion-mnist")


def require_cifar10() -> None:
    """Raises :class:`DataUnavailable` when CIFAR-10 is not found (never falls back to other data)."""
    from .. import data

    _require(data.load_cifar10, "CIFAR-10", CIFAR10_HINT, "cifar10")


def _subset(arrays: Tuple[np.ndarray, ...], n_train: Optional[int], n_test: Optional[int], seed: int) -> Tuple:
    from .. import data

    X, y, Xt, yt = arrays
    if n_train is not None and n_train < len(X):
        X, y = data.subsample(X, y, per_class=max(1, n_train // 10), seed=seed)
    if n_test is not None:
        Xt, yt = Xt[:n_test], yt[:n_test]
    X, Xt = (np.ascontiguousarray(a, dtype=np.float32) for a in (X, Xt))
    return X, np.asarray(y), Xt, np.asarray(yt)


def load_fmnist(n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0) -> Tuple:
    """Fashion-MNIST in [0, 1], shape (N, 1, 28, 28): a class-balanced random subset of the official
    training split (``n_train``, drawn with ``seed``) and the first ``n_test`` official test images."""
    return _subset(fashion_mnist(), n_train, n_test, seed)


def load_cifar10_subset(n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0) -> Tuple:
    """CIFAR-10 in [0, 1], (N, 3, 32, 32), subset as :func:`load_fmnist`; :class:`DataUnavailable` when absent."""
    return _subset(cifar10_or_skip(), n_train, n_test, seed)


def small_network(
    threshold_mode: str = "learned", threshold: float = 0.5, seed: int = 0, dtype: Any = np.float32
) -> Any:
    """The paper's small network (Fig. 2B) with the given threshold mode ("baseline" = convolution)."""
    from .. import nn

    d = dict(dtype=dtype)
    flex = nn.FlexibleConv2d(1, 12, 5, input_size=(28, 28), pool_kernel=5, pool_stride=1, threshold=threshold,
                             threshold_mode=threshold_mode, **d)  # fmt: skip
    dense = [nn.Dense(6912, 120, **d), nn.Dense(120, 60, **d), nn.Dense(60, 10, **d)]
    return nn.Sequential([flex, nn.Sigmoid(**d), nn.Flatten(**d), *dense], seed=seed)


def vgg_style_network(
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    seed: int = 0,
    in_channels: int = 1,
    size: int = 28,
    width: int = 16,
    dtype: Any = np.float32,
) -> Any:
    """VGG block 1 as in the paper (Conv → BN → ReLU → Flexible[Conv(C, C, 3, pad 0) ‖ MaxPool(3, 1)] →
    Sigmoid → BN → ReLU → Dropout2d(0.3)), then one shrunk block and a small classifier:
    MaxPool(2) → Conv(C, 2C, 3, pad 1) → BN → ReLU → MaxPool(2) → Dropout2d(0.4) → Linear → ReLU → Linear(10).
    ``width`` = C (64 in the paper)."""
    from .. import nn

    d = dict(dtype=dtype)
    s1 = size - 2  # the flexible layer has no padding
    s2 = s1 // 2 // 2
    w = width
    flex = nn.FlexibleConv2d(w, w, 3, input_size=(size, size), pool_kernel=3, threshold_mode=threshold_mode,
                             threshold=threshold, **d)  # fmt: skip
    block1 = [nn.Conv2d(in_channels, w, 3, padding=1, **d), nn.BatchNorm2d(w, **d), nn.ReLU(**d), flex]
    block1 += [nn.Sigmoid(**d), nn.BatchNorm2d(w, **d), nn.ReLU(**d), nn.Dropout2d(0.3, **d), nn.MaxPool2d(2, **d)]
    block2 = [nn.Conv2d(w, 2 * w, 3, padding=1, **d), nn.BatchNorm2d(2 * w, **d), nn.ReLU(**d), nn.MaxPool2d(2, **d)]
    head = [nn.Dropout2d(0.4, **d), nn.Flatten(**d), nn.Dense(2 * w * s2 * s2, 64, **d), nn.ReLU(**d)]
    return nn.Sequential(block1 + block2 + head + [nn.Dense(64, 10, **d)], seed=seed)


def surrogate_network(
    seed: int = 0, in_channels: int = 1, size: int = 28, width: int = 16, dtype: Any = np.float32
) -> Any:
    """The paper's "Conv2D model" for black-box PGD, scaled down: two conv blocks with max-pooling
    (C and 2C channels instead of 64 and 128), Linear → ReLU → Linear(10)."""
    from .. import nn

    d = dict(dtype=dtype)
    s = size // 4
    w, r = width, nn.ReLU
    b1 = [nn.Conv2d(in_channels, w, 3, padding=1, **d), r(**d), nn.Conv2d(w, w, 3, padding=1, **d), r(**d)]
    b2 = [nn.Conv2d(w, 2 * w, 3, padding=1, **d), r(**d), nn.Conv2d(2 * w, 2 * w, 3, padding=1, **d), r(**d)]
    head = [nn.Flatten(**d), nn.Dense(2 * w * s * s, 64, **d), r(**d), nn.Dense(64, 10, **d)]
    return nn.Sequential(b1 + [nn.MaxPool2d(2, **d)] + b2 + [nn.MaxPool2d(2, **d)] + head, seed=seed)


def paper_optimizer(
    model: Any,
    lr: float = 0.001,
    momentum: float = 0.9,
    weight_decay: float = 0.006,
    step_size: int = 20,
    gamma: float = 0.7,
) -> Tuple[Any, Any]:
    """SGD with the paper's settings: weight decay on everything but the threshold; StepLR(20, 0.7)."""
    from .. import optim

    groups = optim.groups_by_tag(model.parameters(), {"threshold": {"weight_decay": 0.0}})
    opt = optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return opt, optim.StepLR(opt, step_size=step_size, gamma=gamma)


def train(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    lr: float,
    batch_size: int = 100,
    validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
) -> Any:
    """Trains ``model`` with :func:`paper_optimizer`; returns the History."""
    from .. import losses

    opt, sched = paper_optimizer(model, lr=lr)
    kw = dict(epochs=epochs, batch_size=batch_size, validation_data=validation_data)
    return model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, scheduler=sched, **kw)


def train_small(
    seed: int,
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    n_train: int = 2000,
    n_test: int = 500,
    epochs: int = 3,
    lr: float = 0.02,
    fgsm_eps: float = 0.1,
    eval_thresholds: Sequence[float] = (),
) -> Dict[str, float]:
    """Trains the small network (Table 2); returns ``accuracy`` (clean test), ``fgsm_accuracy`` (FGSM at
    ``fgsm_eps``) and, for a uniform network, ``acc_at_<T>`` for each threshold of ``eval_thresholds``."""
    from .. import attacks

    X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
    model = small_network(threshold_mode, threshold, seed=seed)
    train(model, X, y, epochs, lr)
    out = {
        "accuracy": attacks.accuracy(model, Xt, yt),
        "fgsm_accuracy": attacks.evaluate_robustness(model, Xt, yt, eps=[fgsm_eps], attack="fgsm")[fgsm_eps],
    }
    if eval_thresholds:
        layer = model[0]
        for t in eval_thresholds:
            layer.set_threshold(float(t))
            out[f"acc_at_{float(t):g}"] = attacks.accuracy(model, Xt, yt)
        layer.set_threshold(threshold)
    return out


def threshold_sweep(
    seed: int,
    threshold: float,
    grid: Sequence[float],
    n_train: int = 2000,
    n_test: int = 500,
    epochs: int = 3,
    lr: float = 0.02,
) -> Dict[str, float]:
    """Fig. 3: trains with a fixed uniform threshold, validates at each threshold of ``grid``: ``acc_at_<T>``,
    ``best_threshold`` and ``trained_is_best`` (1.0 when the training threshold is the best)."""
    r = train_small(seed, "uniform", threshold, n_train, n_test, epochs, lr, eval_thresholds=grid)
    accs = {float(t): r[f"acc_at_{float(t):g}"] for t in grid}
    best = max(accs, key=lambda t: accs[t])
    r.update(best_threshold=best, trained_is_best=float(accs[float(threshold)] >= max(accs.values())))
    return r


def small_data(
    seed: int,
    threshold_mode: str,
    per_class: int = 100,
    epochs: int = 10,
    lr: float = 0.02,
    n_test: int = 2000,
    dataset: str = "cifar10",
) -> Dict[str, Any]:
    """Fig. 4C: ``per_class`` training images per class (drawn with ``seed``). ``dataset="cifar10"``
    (default, the paper's; :class:`DataUnavailable` when absent) trains the VGG-style network;
    ``"fmnist"`` (explicit option) the small network. Returns ``val_accuracy`` (last epoch),
    ``mean_val_accuracy`` (over epochs) and ``curves`` (``val_accuracy`` per epoch)."""
    from .. import data

    if dataset == "cifar10":
        X, y, Xt, yt = cifar10_or_skip()
        X, y = data.subsample(X, y, per_class=per_class, seed=seed)
        Xt, yt = Xt[:n_test], yt[:n_test]
        model = vgg_style_network(threshold_mode, seed=seed, in_channels=3, size=32)
    elif dataset == "fmnist":
        X, y, Xt, yt = load_fmnist(None, n_test)
        X, y = data.subsample(X, y, per_class=per_class, seed=seed)
        model = small_network(threshold_mode, seed=seed)
    else:
        raise ValueError(f"dataset must be 'fmnist' or 'cifar10', got {dataset!r}")
    hist = train(model, X, y, epochs, lr, validation_data=(Xt, yt))
    acc = [float(a) for a in hist["val_accuracy"]]
    return {"val_accuracy": acc[-1], "mean_val_accuracy": float(np.mean(acc)), "curves": {"val_accuracy": acc}}


def pgd_robustness(
    seed: int,
    threshold_mode: str,
    n_train: int = 3000,
    n_test: int = 300,
    epochs: int = 3,
    lr: float = 0.02,
    eps: float = 0.031,
    alpha: float = 0.003,
    steps: int = 20,
    width: int = 16,
    dataset: str = "cifar10",
) -> Dict[str, float]:
    """Table 3: ``natural``, ``pgd_whitebox`` and ``pgd_blackbox`` (crafted on the surrogate, trained on the
    same images) accuracy of the VGG-style network. ``dataset="cifar10"`` (default, the paper's;
    :class:`DataUnavailable` when absent) or ``"fmnist"`` (explicit option, for the notebook)."""
    from .. import attacks

    if dataset == "cifar10":
        X, y, Xt, yt = load_cifar10_subset(n_train, n_test, seed=seed)
        shape = {"in_channels": 3, "size": 32}
    elif dataset == "fmnist":
        X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
        shape = {"in_channels": 1, "size": 28}
    else:
        raise ValueError(f"dataset must be 'fmnist' or 'cifar10', got {dataset!r}")
    model = vgg_style_network(threshold_mode, seed=seed, width=width, **shape)
    train(model, X, y, epochs, lr)
    model.eval()
    surrogate = surrogate_network(seed=seed, width=width, **shape)
    train(surrogate, X, y, epochs, lr)
    white = attacks.pgd(model, Xt, yt, eps, alpha, steps, seed=seed)
    black = attacks.pgd(model, Xt, yt, eps, alpha, steps, seed=seed, surrogate=surrogate)
    names = ("natural", "pgd_whitebox", "pgd_blackbox")
    return {k: attacks.accuracy(model, x, yt) for k, x in zip(names, (Xt, white, black))}


NOISE_CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise")


def corruption_robustness(
    seed: int,
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    n_train: int = 2000,
    n_test: int = 500,
    epochs: int = 3,
    lr: float = 0.02,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    names: Optional[Sequence[str]] = None,
    table: str = "imagenet",
) -> Dict[str, Any]:
    """Fig. 5A's corruptions on Fashion-MNIST (notebook 03; not a claim: the paper's data is ImageNet):
    the small network's test accuracy under each corruption and severity (noise seeded with ``seed``).
    Returns ``clean``, ``noise_sev5`` (mean over :data:`NOISE_CORRUPTIONS` at severity 5) and ``table``."""
    from .. import corruptions

    X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
    model = small_network(threshold_mode, threshold, seed=seed)
    train(model, X, y, epochs, lr)
    rows = corruptions.evaluate_corruptions(
        model, Xt, yt, names=names, severities=tuple(severities), seed=seed, table=table, as_frame=False
    )
    clean = next(r["accuracy"] for r in rows if r["severity"] == 0)
    noise = [r["accuracy"] for r in rows if r["corruption"] in NOISE_CORRUPTIONS and r["severity"] == 5]
    return {"clean": float(clean), "noise_sev5": float(np.mean(noise)) if noise else float("nan"), "table": rows}


def _experiment(name: str, **fields: Any) -> Experiment:
    return register_experiment(Experiment(paper=PAPER, name=name, **fields))


FIG3_GRID = (0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
_SMALL_FULL = {"n_train": 10000, "n_test": 2000, "epochs": 5, "lr": 0.02}
_SMALL_QUICK = {"n_train": 2000, "n_test": 500, "epochs": 3}
_SMALL_QUICK_NOTE = "3 seeds, 2,000 training / 500 test images, 3 epochs"
_SMALL_PROTOCOL = {
    "data": "Fashion-MNIST: a class-balanced random subset of 10,000 training images (1,000 per class, drawn with "
    "the seed) and the first 2,000 official test images; pixels in [0, 1], not normalised",
    "architecture": "the paper's small network (Fig. 2B): Flexible[Conv2d(1, 12, 5) ‖ MaxPool2d(5, 1)], s = 50 → "
    "Sigmoid → Linear(6912, 120) → Linear(120, 60) → Linear(60, 10)",
    "optimizer": "SGD lr 0.02, momentum 0.9, weight decay 0.006 (0 on the threshold), cross-entropy",
    "schedule": "StepLR(step 20, gamma 0.7) — never steps within 5 epochs",
    "epochs": "5",
    "batch": "100",
    "init": "bionn's default initialisers, seeded; learned / reverse thresholds start at 0.5",
    "repeats": "5 seeds (initialisation and training subset)",
}
_SMALL_DEVIATIONS = [
    "training data: a class-balanced random subset of 10,000 of the 60,000 Fashion-MNIST training images, "
    "redrawn with each seed (paper: all 60,000)",
    "test data: the first 2,000 of the 10,000 official test images (paper: the whole validation set)",
    "5 epochs (paper: 150)",
    "learning rate 0.02 (paper: 0.001); the StepLR(20, 0.7) schedule never decays within 5 epochs",
    "images in [0, 1], not normalised (the paper normalises Fashion-MNIST, statistics not given), so ε is in "
    "pixel units: ε = 0.1 here is 2× (mean/sd 0.5) to 2.8× (dataset sd 0.353) the paper's perturbation in "
    "normalised units",
]

_FGSM_ONCE = "FGSM evaluated once (deterministic; the paper averages 10 iterations of the same attack)"
TABLE2 = _experiment(
    "table2_small",
    run=train_small,
    configs=[
        dict(_SMALL_FULL, threshold_mode=m, threshold=t, fgsm_eps=0.1)
        for m, t in (("baseline", 0.5), ("learned", 0.5), ("uniform", 0.6), ("reverse", 0.5))
    ],
    seeds=range(5),
    quick=Quick(seeds=range(3), overrides=_SMALL_QUICK, note=_SMALL_QUICK_NOTE),
    protocol=dict(
        _SMALL_PROTOCOL,
        variants="baseline (convolution everywhere); standard (learned T); uniform T = 0.6 (fixed); standard "
        "reverse (learned T, max-pooling above T)",
        attack="FGSM ε = 0.1 (one signed-gradient step, clipped to [0, 1]) on the test images",
    ),
    deviations=[*_SMALL_DEVIATIONS, "5 seeds (paper: 10 initialisations of each network)", _FGSM_ONCE],
    requires=require_fmnist,
    description="Table 2: clean and FGSM accuracy of the small network's threshold variants",
)

_FIG3_GRID_DEVIATION = f"validation thresholds {list(FIG3_GRID)} (Fig. 3's grid is not given in the text)"
FIG3 = _experiment(
    "fig3_threshold",
    run=threshold_sweep,
    configs=[dict(_SMALL_FULL, threshold=t, grid=list(FIG3_GRID)) for t in (0.1, 0.6)],
    seeds=range(5),
    quick=Quick(seeds=range(3), overrides=_SMALL_QUICK, note=_SMALL_QUICK_NOTE),
    protocol=dict(
        _SMALL_PROTOCOL,
        variants="uniform threshold fixed at T = 0.1 or 0.6 during training, validated with T set to each of "
        f"{list(FIG3_GRID)}",
        repeats="5 seeds (the paper does not say how many networks Fig. 3 shows)",
    ),
    deviations=[*_SMALL_DEVIATIONS, "5 seeds (Fig. 3 does not state its repeats)", _FIG3_GRID_DEVIATION],
    requires=require_fmnist,
    description="Fig. 3: networks trained with a fixed uniform threshold, validated at other thresholds",
)

_VGG_DEVIATIONS = [
    "network: a scaled-down VGG-style network (block 1 as the paper's with 16 instead of 64 channels, then one "
    "shrunk block and a small classifier) instead of VGG16",
    "learning rate 0.02 (paper: 0.001) with StepLR(20, 0.7) never decaying",
    "images in [0, 1], not normalised, and no random horizontal flip (the paper normalises CIFAR-10 and flips)",
]

_F4_CONFIG = {"per_class": 100, "epochs": 10, "lr": 0.02, "n_test": 2000, "dataset": "cifar10"}
FIG4C = _experiment(
    "fig4c_cifar",
    run=small_data,
    configs=[dict(_F4_CONFIG, threshold_mode=m) for m in ("baseline", "learned", "random")],
    seeds=range(10),
    quick=Quick(seeds=range(3), overrides={"epochs": 3}, note="3 seeds, 3 epochs"),
    protocol={
        "data": "CIFAR-10 downsampled 50×: 100 training images per class (drawn with the seed), the first 2,000 "
        "test images; pixels in [0, 1]",
        "architecture": "VGG-style network with the flexible layer in block 1 (baseline / learned / random T)",
        "optimizer": "SGD lr 0.02, momentum 0.9, weight decay 0.006 (0 on the threshold), cross-entropy",
        "schedule": "StepLR(20, 0.7)",
        "epochs": "10",
        "batch": "100",
        "repeats": "10 seeds (the paper: 10 networks)",
    },
    deviations=_VGG_DEVIATIONS
    + [
        "10 epochs (Fig. 4C's epochs are not stated; the paper's VGG protocol is 150)",
        "validation on the first 2,000 of the 10,000 test images",
    ],
    requires=require_cifar10,
    description="Fig. 4C: VGG-style networks trained on 1,000 CIFAR-10 images",
)

_T3_CONFIG = {"n_train": 3000, "n_test": 300, "epochs": 3, "lr": 0.02, "width": 16, "dataset": "cifar10"}
_T3_CONFIG.update(eps=0.031, alpha=0.003, steps=20)
_T3_QUICK = {"n_train": 1000, "n_test": 100, "epochs": 1}
TABLE3 = _experiment(
    "table3_cifar",
    run=pgd_robustness,
    configs=[dict(_T3_CONFIG, threshold_mode=m) for m in ("baseline", "learned")],
    seeds=range(5),
    quick=Quick(range(2), _T3_QUICK, note="2 seeds, 1,000 training / 100 test images, 1 epoch"),
    protocol={
        "data": "CIFAR-10: a class-balanced subset of 3,000 training images (drawn with the seed), the first 300 "
        "test images; pixels in [0, 1]",
        "architecture": "VGG-style network, flexible block 1 (learned T) or baseline; black-box source: a "
        "scaled-down Conv2D model trained on the same images",
        "optimizer": "SGD lr 0.02, momentum 0.9, weight decay 0.006 (0 on the threshold), cross-entropy",
        "epochs": "3",
        "batch": "100",
        "attack": "PGD L∞ ε = 0.031, 20 steps of 0.003, random start, white-box and black-box (TRADES style)",
        "repeats": "5 seeds",
    },
    deviations=_VGG_DEVIATIONS
    + [
        "surrogate Conv2D model scaled down (16 / 32 channels, Linear → 64 instead of 64 / 128 channels, 256)",
        "3,000 training images (paper: 50,000), 300 test images (paper: 10,000)",
        "3 epochs (paper: 150)",
        "each attack run once per seed (paper: 100 runs averaged); 5 seeds (paper: repeats not stated)",
    ],
    requires=require_cifar10,
    description="Table 3: white-box and black-box PGD on the VGG-style networks",
)


_T2 = "table2_small"
BASE = Group(_T2, {"threshold_mode": "baseline"}, "baseline")
STANDARD = Group(_T2, {"threshold_mode": "learned"}, "standard")
UNIFORM = Group(_T2, {"threshold_mode": "uniform", "threshold": 0.6}, "uniform T=0.6")
REVERSE = Group(_T2, {"threshold_mode": "reverse"}, "standard reverse")
_PCT = {"scale": 100, "unit": " %", "digits": 2}
_CLEAN = ((BASE, 0.877, 0.0054), (UNIFORM, 0.863, 0.005), (STANDARD, 0.852, 0.0053), (REVERSE, 0.846, 0.0093))
_TEST_READING = (
    "Table 2 reports mean ± SEM over 10 initialisations and no test; the statistic here is a two-sided Welch "
    "t-test over seeds at alpha 0.05, with the magnitude fixed from the paper's numbers."
)
_UNIFORM_T = " Table 2 does not give the uniform network's T; we use T = 0.6, one of Fig. 3's two training thresholds."


def _claim(name: str, **fields: Any) -> Claim:
    return register_claim(Claim(id=f"{PAPER}.{name}", paper=PAPER, **fields))


def _cmp(metric: str, a: Group, b: Group, paper: Tuple[float, float], min_diff: float, note: str = "") -> Compare:
    """a > b on ``metric``: two-sided Welch t-test, p < 0.05, mean difference ≥ ``min_diff``."""
    note = note or f"half the paper's {(paper[0] - paper[1]) * 100:.2f} points"
    kw = dict(min_difference=min_diff, magnitude_note=note, paper_centers=paper, **_PCT)
    return Compare(metric, a, b, "greater", "welch", **kw)


_NOTE_UNIFORM = "half Table 2's 17.1-point gain; stricter than the text's 6-point lower bound"
_NOTE_STANDARD = "the text's lower bound '6-15 % greater'; stricter than half Table 2's 9.1-point gain (4.55)"
_claim(
    "table2_uniform_fgsm",
    where="Table 2; §'Flexible computation confers robustness' ('6-15% greater')",
    statement="on the small network, FGSM (ε = 0.1) accuracy of the uniform-threshold network is greater than "
    "the baseline's",
    paper_value="uniform 44.4 ± 0.82 % vs baseline 27.3 ± 0.89 % (mean ± SEM, 10 initialisations)",
    criterion=_cmp("fgsm_accuracy", UNIFORM, BASE, (0.444, 0.273), 0.0855, _NOTE_UNIFORM),
    reading=_TEST_READING + _UNIFORM_T + " The text's '6-15 %' does not match Table 2's gains (17.1 and 9.1 "
    "points); each claim uses the stricter of half the table's gain and the text's 6 points.",
)

_claim(
    "table2_standard_fgsm",
    where="Table 2; §'Flexible computation confers robustness'",
    statement="on the small network, FGSM (ε = 0.1) accuracy of the standard (learned-threshold) network is "
    "greater than the baseline's, by 6-15 %",
    paper_value="standard 36.4 ± 0.85 % vs baseline 27.3 ± 0.89 % (mean ± SEM, 10 initialisations)",
    criterion=_cmp("fgsm_accuracy", STANDARD, BASE, (0.364, 0.273), 0.06, _NOTE_STANDARD),
    reading=_TEST_READING + " The '6-15 %' of the text is read as percentage points of accuracy.",
)

_claim(
    "table2_uniform_most_robust",
    where="Table 2",
    statement="the uniform-threshold network is the most robust of Table 2's networks under FGSM (ε = 0.1)",
    paper_value="uniform 44.4 % > standard 36.4 % > standard reverse 31.9 % > baseline 27.3 % (SEM 0.8-1.1)",
    criterion=AllOf(
        [
            _cmp("fgsm_accuracy", UNIFORM, STANDARD, (0.444, 0.364), 0.04),
            _cmp("fgsm_accuracy", UNIFORM, REVERSE, (0.444, 0.319), 0.0625),
        ],
        "uniform above standard and above standard reverse (above the baseline: table2_uniform_fgsm)",
    ),
    reading=_TEST_READING + _UNIFORM_T,
)

_claim(
    "table2_reverse_weaker",
    where="§'Flexible computation confers robustness': 'This effect weakens when we reverse the operation "
    "selection of the Flexible Layer'; Table 2",
    statement="reversing the flexible layer's operation selection weakens the FGSM robustness gain",
    paper_value="standard reverse 31.9 ± 1.12 % vs standard 36.4 ± 0.85 % (baseline 27.3 %)",
    criterion=_cmp("fgsm_accuracy", STANDARD, REVERSE, (0.364, 0.319), 0.0225),
    reading=_TEST_READING + " 'Weakens' is read as: the standard reverse network keeps less FGSM accuracy "
    "than the standard network it reverses (same baseline, so a smaller gain).",
)


def _clean_cost(data: ClaimData) -> Evidence:
    base = BASE.values(data, "accuracy")[0]
    drops, parts = {}, []
    for g in (UNIFORM, STANDARD, REVERSE):
        x = g.values(data, "accuracy")[0]
        if not (x.size and base.size):
            return Evidence(None, "missing runs", f"no runs of {g.label if base.size else BASE.label}")
        drops[g.label] = float(np.mean(base) - np.mean(x))
        parts.append(f"{g.label} {drops[g.label] * 100:.1f}")
    holds = all(d <= 0.06 for d in drops.values())  # a NaN (diverged run) fails
    value = f"clean-accuracy drop vs baseline ({np.mean(base) * 100:.1f} %): " + ", ".join(parts) + " points"
    reason = f"largest drop {max(drops.values()) * 100:.1f} {'≤' if holds else '>'} 6 points"
    return Evidence(bool(holds), value, reason, details={"drops": drops})


_claim(
    "table2_clean_cost",
    where="§'Flexible computation and network accuracy': 'validation accuracy that is 2-6% lower compared to the "
    "baseline network (Table 2)'",
    statement="the flexible layer costs the small network at most 6 points of clean accuracy",
    paper_value="drops 1.4 (uniform), 2.5 (standard), 3.1 (standard reverse) points from 87.7 %",
    criterion=Custom(
        [_T2],
        "mean clean accuracy of the baseline minus that of each flexible variant (uniform T=0.6, standard, "
        "standard reverse) ≤ 6 points (the text's upper bound)",
        _clean_cost,
    ),
    reading="The upper bound of '2-6 % lower' as percentage points, for every flexible row of Table 2, on "
    "means (the paper gives no test). That the variants are lower at all is flexible.table2_clean_lower.",
)

_claim(
    "table2_clean_lower",
    where="§'Flexible computation and network accuracy'; Table 2",
    statement="introducing flexible mapping leads to lower validation accuracy than the baseline network",
    paper_value="baseline 87.7 ± 0.54 % vs uniform 86.3 ± 0.50, standard 85.2 ± 0.53, reverse 84.6 ± 0.93 %",
    criterion=AllOf(
        [_cmp("accuracy", BASE, g, (0.877, v), round((0.877 - v) / 2, 4)) for g, v, _ in _CLEAN[1:]],
        "the baseline above each flexible variant on clean accuracy",
    ),
    reading=_TEST_READING + " The text's lower bound '2 %' contradicts the table's own 1.4-point uniform drop, "
    "so each magnitude is half that row's drop.",
)


def _level(g: Group, mean: float, sem: float) -> Level:
    note = f"the paper's {mean * 100:.1f} % ± 2 sd (sd = SEM·√10)"
    return Level("accuracy", g, "within", mean, 2 * sem * 10**0.5, note, min_runs=2, **_PCT)


_claim(
    "table2_clean_accuracy",
    where="Table 2, 'Validation Accuracy'",
    statement="the small network's validation accuracies after training: baseline 87.7 %, uniform 86.3 %, "
    "standard 85.2 %, standard reverse 84.6 %",
    paper_value="87.7 ± 0.54, 86.3 ± 0.50, 85.2 ± 0.53, 84.6 ± 0.93 % (mean ± SEM, 10 initialisations)",
    criterion=AllOf(
        [_level(g, m, sem) for g, m, sem in _CLEAN],
        "each network's mean clean accuracy within the paper's mean ± 2 sd",
    ),
    reading="sd recovered from the SEM over 10 networks: sd = SEM × √10.",
)


def _paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value; NaN where it is undefined (constant non-zero differences)."""
    try:
        return paired_ttest(a, b).pvalue
    except ValueError:
        return float("nan")


def _fig3(data: ClaimData) -> Evidence:
    values, reasons, holds, details = [], [], True, {}
    for t in (0.1, 0.6):
        rows = Group("fig3_threshold", {"threshold": t}).rows(data).sort_values("seed")
        if len(rows) < 2:
            return Evidence(None, f"n = {len(rows)}", f"T = {t:g}: needs at least 2 runs")
        acc = {g: rows[f"acc_at_{g:g}"].to_numpy(dtype=float) for g in FIG3_GRID}
        means = {g: float(np.mean(v)) for g, v in acc.items()}
        rival = max((g for g in FIG3_GRID if g != t), key=lambda g: means[g])
        p, best = _paired_p(acc[t], acc[rival]), means[t] > means[rival]
        if best and np.isnan(p):
            return Evidence(None, f"T = {t:g}", "paired t-test undefined (every difference equal)")
        ok = best and p < 0.05
        holds = holds and bool(ok)
        values.append(f"trained at {t:g}: {means[t] * 100:.1f} % at {t:g} vs {means[rival] * 100:.1f} % at {rival:g}")
        reasons.append(f"T = {t:g}: {'best' if best else 'not best'}, paired p = {p:.3g} vs T = {rival:g}")
        details[f"{t:g}"] = {"means": {f"{g:g}": means[g] for g in FIG3_GRID}, "rival": rival, "pvalue": p}
    return Evidence(bool(holds), "; ".join(values), "; ".join(reasons), details=details)


_claim(
    "fig3_trained_threshold_best",
    where="§'Flexible computation and network accuracy', Fig. 3",
    statement="a network trained with a fixed uniform threshold optimises around it and performs worse if a "
    "different fixed uniform threshold is used for validation",
    paper_value="Fig. 3 (curves for T = 0.1 and 0.6; no numbers in the text)",
    criterion=Custom(
        ["fig3_threshold"],
        f"for each training threshold T ∈ {{0.1, 0.6}}: the mean validation accuracy at T exceeds that at every "
        f"other threshold of {list(FIG3_GRID)}, and the best other threshold is below T's by a two-sided "
        "paired t-test over seeds, p < 0.05",
        _fig3,
    ),
    reading="Fig. 3 shows curves without a test; 'performs worse if a different threshold is used' is read as "
    "T being the best validation threshold, significantly better than the closest rival (paired by network).",
)

_F4 = "fig4c_cifar"
_F4_BASE = Group(_F4, {"threshold_mode": "baseline"}, "baseline")


def _fig4c_all_epochs(data: ClaimData) -> Evidence:
    def curves(mode: str) -> Dict[int, np.ndarray]:
        recs = [r for r in data.records(_F4) if r["config"]["threshold_mode"] == mode]
        return {r["seed"]: np.asarray(r["curves"]["val_accuracy"], float) for r in recs}

    base = curves("baseline")
    parts, holds = [], True
    for mode in ("learned", "random"):
        flex = curves(mode)
        seeds = sorted(set(base) & set(flex))
        if not seeds:
            return Evidence(None, "no paired runs", f"no runs of {mode} and baseline")
        b, f = np.mean([base[s] for s in seeds], 0), np.mean([flex[s] for s in seeds], 0)
        epochs_ok = bool(np.all(f > b))
        seeds_ok = all(flex[s].mean() > base[s].mean() for s in seeds)
        holds = holds and epochs_ok and seeds_ok
        n_seeds = sum(flex[s].mean() > base[s].mean() for s in seeds)
        parts.append(f"{mode}: above at {int(np.sum(f > b))}/{f.size} epochs, {n_seeds}/{len(seeds)} seeds")
    return Evidence(bool(holds), "; ".join(parts), "; ".join(parts))


_claim(
    "fig4c_small_data",
    where="§'Flexible computation and network accuracy', Fig. 4C",
    statement="on CIFAR-10 downsampled 50 times, a VGG16 with a single flexible layer (learned or random "
    "threshold) performs better than the baseline during all epochs, regardless of the data seed",
    paper_value="Fig. 4C (10 networks; mean ± SEM curves, no numbers in the text)",
    criterion=AllOf(
        [
            Compare("mean_val_accuracy", Group(_F4, {"threshold_mode": m}, m), _F4_BASE, "greater", "welch", **_PCT)
            for m in ("learned", "random")
        ]
        + [
            Custom(
                [_F4],
                "at every epoch the mean validation curve of learned and of random is above the baseline's, "
                "and for every seed each one's mean-over-epochs accuracy is above the baseline's",
                _fig4c_all_epochs,
            )
        ],
        "learned and random above the baseline (two-sided Welch on the mean-over-epochs accuracy), at every "
        "epoch and for every seed",
    ),
    reading="The paper gives no test; a two-sided Welch t-test over the 10 networks on the accuracy averaged "
    "over epochs, plus the statement's 'all epochs' (mean curves) and 'regardless of random seed' (per seed).",
)

_T3 = "table3_cifar"
_T3_BASE = Group(_T3, {"threshold_mode": "baseline"}, "baseline")
_T3_FLEX = Group(_T3, {"threshold_mode": "learned"}, "flexible")
_T3_HALF_GAIN = 0.0438  # half of 33.57 - 24.81 = 8.76 points


def _blackbox_little(data: ClaimData) -> Evidence:
    b, f = _T3_BASE.values(data, "pgd_blackbox")[0], _T3_FLEX.values(data, "pgd_blackbox")[0]
    if not (b.size and f.size):
        return Evidence(None, "missing runs", "no runs of one network")
    diff = float(np.mean(f) - np.mean(b))
    holds = abs(diff) < _T3_HALF_GAIN  # False for NaN
    value = f"black-box PGD: flexible {np.mean(f) * 100:.1f} % vs baseline {np.mean(b) * 100:.1f} %"
    return Evidence(bool(holds), value, f"|difference| {abs(diff) * 100:.2f} vs bound 4.38 points")


def _black_above_white(data: ClaimData) -> Evidence:
    parts, holds = [], True
    for g in (_T3_BASE, _T3_FLEX):
        w, b = g.values(data, "pgd_whitebox")[0], g.values(data, "pgd_blackbox")[0]
        if w.size < 2:
            return Evidence(None, f"n = {w.size}", f"{g.label}: needs at least 2 runs")
        p, above = _paired_p(b, w), float(np.mean(b)) > float(np.mean(w))
        if above and np.isnan(p):
            return Evidence(None, g.label, "paired t-test undefined (every difference equal)")
        ok = above and p < 0.05
        holds = holds and bool(ok)
        parts.append(f"{g.label}: black {np.mean(b) * 100:.1f} % vs white {np.mean(w) * 100:.1f} %, paired p = {p:.3g}")
    return Evidence(bool(holds), "; ".join(parts), "; ".join(parts))


_claim(
    "table3_pgd_whitebox",
    where="§'Flexible computation confers robustness', Table 3",
    statement="adding a flexible layer increases test accuracy after the white-box PGD attack by 8.76 %",
    paper_value="Flexible VGG16 33.57 % vs Baseline VGG16 24.81 % (white-box PGD, CIFAR-10)",
    criterion=_cmp("pgd_whitebox", _T3_FLEX, _T3_BASE, (0.3357, 0.2481), _T3_HALF_GAIN),
    reading="Table 3 gives single numbers (attacks averaged over 100 runs) and no test: two-sided Welch over "
    "seeds at alpha 0.05 and half the reported gain.",
)

_claim(
    "table3_pgd_blackbox_little_difference",
    where="§'Flexible computation confers robustness', Table 3",
    statement="after the weaker black-box PGD attack the flexible network shows little difference from the baseline",
    paper_value="Flexible VGG16 60.41 % vs Baseline VGG16 60.21 %",
    criterion=Custom(
        [_T3],
        "|mean black-box accuracy of flexible − baseline| < 4.38 points (half the white-box gain the paper "
        "calls an increase)",
        _blackbox_little,
    ),
    reading="'Little difference' is read as a mean difference smaller than half of the 8.76-point white-box "
    "gain the paper reports as an effect.",
)

_claim(
    "table3_blackbox_above_whitebox",
    where="§'Flexible computation confers robustness', Table 3",
    statement="for both networks the accuracy after the black-box attack is greater than after the white-box attack",
    paper_value="baseline 60.21 vs 24.81 %; flexible 60.41 vs 33.57 %",
    criterion=Custom(
        [_T3],
        "for the baseline and the flexible network: mean black-box PGD accuracy > mean white-box, two-sided "
        "paired t-test over seeds (same network), p < 0.05",
        _black_above_white,
    ),
    reading="No test in the paper; paired t-test over the seeds' networks.",
)
