"""The flexible-layer paper (Evanson et al., "Biomimetic computations improve neural network
robustness", ``../shared/papers/flexible-layer-robustness.md``, issue 6): claims checked so far.

Networks
--------
* :func:`small_network` — the paper's small Fashion-MNIST network (Fig. 2B; S.I. "Small Network"):
  Flexible[Conv2d(1, 12, 5) ‖ MaxPool2d(5, 1)] → Sigmoid → Linear(6912, 120) → Linear(120, 60) →
  Linear(60, 10). As listed in the paper there is no non-linearity between the linear layers.
* :func:`vgg_style_network` — a scaled-down VGG-style network with the flexible layer in block 1
  (S.I. "Single Layer Baseline/Flexible VGG16", first block kept, later blocks shrunk) and
  :func:`surrogate_network`, a scaled-down "Conv2D model" for black-box PGD.

Training follows the paper: SGD lr 0.001, momentum 0.9, weight decay 0.006 on every parameter but
the threshold (weight decay 0), StepLR(20, 0.7), batch 100, cross-entropy. Images are in [0, 1]
(the attacks' valid range; the paper normalises them, which only rescales ε). The paper trains
for 150 epochs on all 60,000 images; quick and full mode use subsets and fewer epochs, with a
larger learning rate so that a few epochs train the network (``SETTINGS`` lists them).

Claims
------
See ``bionn reproduce flexible --list``; the module docstring of each compute function says what it
measures. CIFAR-10 (Table 3, Fig. 4C) is used when :func:`bionn.datasets.load_cifar10` finds the
files; otherwise :func:`cifar10_or_skip` raises :class:`DataUnavailable` with the reason and the
claims run on Fashion-MNIST, as the issue asks.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..experiments import register_claim, repeat, ttest

__all__ = ["SETTINGS", "DataUnavailable", "load_fmnist", "cifar10_or_skip", "small_network", "vgg_style_network",
           "surrogate_network", "paper_optimizer", "train", "train_small", "threshold_sweep", "small_data",
           "pgd_robustness"]

PAPER = "flexible"

# Reductions from the paper (150 epochs, 60,000 training and 10,000 test images, 10 seeds).
SETTINGS: Dict[str, Dict[str, Any]] = {
    "quick": {"seeds": 3, "n_train": 6000, "n_test": 1000, "epochs": 4, "lr": 0.01,
              "sweep": [0.1, 0.6], "per_class": 100, "small_epochs": 30,
              "vgg_train": 3000, "vgg_test": 500, "vgg_epochs": 4},
    "full": {"seeds": 5, "n_train": 20000, "n_test": 2000, "epochs": 10, "lr": 0.01,
             "sweep": [0.1, 0.6], "per_class": 100, "small_epochs": 60,
             "vgg_train": 10000, "vgg_test": 1000, "vgg_epochs": 8},
}


class DataUnavailable(RuntimeError):
    """A data set the claim needs is not on this machine (the message says where it was looked for)."""


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _fmnist() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from .. import datasets

    X, y = datasets.load_fashion_mnist(split="train")
    Xt, yt = datasets.load_fashion_mnist(split="test")
    return X, y, Xt, yt


def load_fmnist(n_train: Optional[int] = None, n_test: Optional[int] = None,
                seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST in [0, 1], shape (N, 1, 28, 28): a class-balanced random subset of the official
    training split (``n_train``) and the first ``n_test`` images of the official test split."""
    from .. import datasets

    X, y, Xt, yt = _fmnist()
    if n_train is not None and n_train < len(X):
        X, y = datasets.subsample(X, y, per_class=max(1, n_train // 10), seed=seed)
    if n_test is not None:
        Xt, yt = Xt[:n_test], yt[:n_test]
    return (np.ascontiguousarray(X, dtype=np.float32), np.asarray(y), np.ascontiguousarray(Xt, dtype=np.float32),
            np.asarray(yt))


def cifar10_or_skip() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 (train, test) in [0, 1], or :class:`DataUnavailable` saying why not."""
    from .. import datasets

    try:
        X, y = datasets.load_cifar10(split="train")
        Xt, yt = datasets.load_cifar10(split="test")
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise DataUnavailable(f"CIFAR-10 is not available offline on this machine, so this claim runs on "
                              f"Fashion-MNIST instead ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    return X.astype(np.float32), y, Xt.astype(np.float32), yt


# ------------------------------------------------------------------------------------------------
# Networks and training
# ------------------------------------------------------------------------------------------------

def small_network(mode: str = "learned", threshold: float = 0.5, seed: int = 0, dtype: Any = np.float32) -> Any:
    """The paper's small network (Fig. 2B) with the given threshold mode ("baseline" = convolution)."""
    from .. import nn

    return nn.Sequential([
        nn.FlexibleConv2d(1, 12, 5, input_size=(28, 28), pool_kernel=5, pool_stride=1, threshold_mode=mode,
                          threshold=threshold, dtype=dtype),
        nn.Sigmoid(dtype=dtype), nn.Flatten(dtype=dtype),
        nn.Dense(6912, 120, dtype=dtype), nn.Dense(120, 60, dtype=dtype), nn.Dense(60, 10, dtype=dtype)], seed=seed)


def vgg_style_network(mode: str = "learned", threshold: float = 0.5, seed: int = 0, in_channels: int = 1,
                      size: int = 28, width: int = 16, dtype: Any = np.float32) -> Any:
    """VGG block 1 as in the paper (Conv → BN → ReLU → Flexible[Conv(C, C, 3, pad 0) ‖ MaxPool(3, 1)] →
    Sigmoid → BN → ReLU → Dropout2d(0.3)), then one shrunk block and a small classifier:
    MaxPool(2) → Conv(C, 2C, 3, pad 1) → BN → ReLU → MaxPool(2) → Dropout2d(0.4) → Linear → ReLU → Linear(10).
    ``width`` = C (64 in the paper)."""
    from .. import nn

    d = dict(dtype=dtype)
    s1 = size - 2          # the flexible layer has no padding
    s2 = s1 // 2 // 2
    return nn.Sequential([
        nn.Conv2d(in_channels, width, 3, padding=1, **d), nn.BatchNorm2d(width, **d), nn.ReLU(**d),
        nn.FlexibleConv2d(width, width, 3, input_size=(size, size), pool_kernel=3, threshold_mode=mode,
                          threshold=threshold, **d),
        nn.Sigmoid(**d), nn.BatchNorm2d(width, **d), nn.ReLU(**d), nn.Dropout2d(0.3, **d),
        nn.MaxPool2d(2, **d),
        nn.Conv2d(width, 2 * width, 3, padding=1, **d), nn.BatchNorm2d(2 * width, **d), nn.ReLU(**d),
        nn.MaxPool2d(2, **d), nn.Dropout2d(0.4, **d), nn.Flatten(**d),
        nn.Dense(2 * width * s2 * s2, 64, **d), nn.ReLU(**d), nn.Dense(64, 10, **d)], seed=seed)


def surrogate_network(seed: int = 0, in_channels: int = 1, size: int = 28, width: int = 16,
                      dtype: Any = np.float32) -> Any:
    """The paper's "Conv2D model" for black-box PGD, scaled down: two conv blocks with max-pooling
    (C and 2C channels instead of 64 and 128), Linear → ReLU → Linear(10)."""
    from .. import nn

    d = dict(dtype=dtype)
    s = size // 4
    return nn.Sequential([
        nn.Conv2d(in_channels, width, 3, padding=1, **d), nn.ReLU(**d),
        nn.Conv2d(width, width, 3, padding=1, **d), nn.ReLU(**d), nn.MaxPool2d(2, **d),
        nn.Conv2d(width, 2 * width, 3, padding=1, **d), nn.ReLU(**d),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1, **d), nn.ReLU(**d), nn.MaxPool2d(2, **d),
        nn.Flatten(**d), nn.Dense(2 * width * s * s, 64, **d), nn.ReLU(**d), nn.Dense(64, 10, **d)], seed=seed)


def paper_optimizer(model: Any, lr: float = 0.001, momentum: float = 0.9, weight_decay: float = 0.006,
                    step_size: int = 20, gamma: float = 0.7) -> Tuple[Any, Any]:
    """SGD with the paper's settings: weight decay on everything but the threshold; StepLR(20, 0.7)."""
    from .. import optim

    groups = optim.groups_by_tag(model.parameters(), {"threshold": {"weight_decay": 0.0}})
    opt = optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return opt, optim.StepLR(opt, step_size=step_size, gamma=gamma)


def train(model: Any, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, batch_size: int = 100,
          validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Any:
    """Trains ``model`` with :func:`paper_optimizer`; returns the History."""
    from .. import losses

    opt, sched = paper_optimizer(model, lr=lr)
    return model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, scheduler=sched, epochs=epochs,
                     batch_size=batch_size, validation_data=validation_data)


def train_small(seed: int, mode: str = "learned", threshold: float = 0.5, n_train: int = 6000, n_test: int = 1000,
                epochs: int = 4, lr: float = 0.01, fgsm_eps: float = 0.1,
                eval_thresholds: Sequence[float] = ()) -> Dict[str, float]:
    """Trains the small network (Table 2) and attacks it with FGSM.

    Returns
    -------
    dict
        ``accuracy`` (clean test accuracy), ``fgsm_accuracy`` (FGSM at ``fgsm_eps``) and, for a
        uniform-threshold network, ``acc_at_<T>`` for every validation threshold of
        ``eval_thresholds`` (Fig. 3).
    """
    from .. import attacks

    X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
    model = small_network(mode, threshold, seed=seed)
    train(model, X, y, epochs, lr)
    out = {"accuracy": attacks.accuracy(model, Xt, yt),
           "fgsm_accuracy": attacks.evaluate_robustness(model, Xt, yt, eps=[fgsm_eps], attack="fgsm")[fgsm_eps]}
    if eval_thresholds:
        layer = model[0]
        for t in eval_thresholds:
            layer.set_threshold(float(t))
            out[f"acc_at_{float(t):g}"] = attacks.accuracy(model, Xt, yt)
        layer.set_threshold(threshold)
    return out


def threshold_sweep(seed: int, threshold: float, grid: Sequence[float], n_train: int = 6000, n_test: int = 1000,
                    epochs: int = 4, lr: float = 0.01) -> Dict[str, float]:
    """Fig. 3: train with a fixed uniform threshold, validate at every threshold of ``grid``.

    Returns ``acc_at_<T>`` per grid value, ``best_threshold`` and ``trained_is_best`` (1.0 when the
    training threshold gives the best validation accuracy)."""
    r = train_small(seed, "uniform", threshold, n_train, n_test, epochs, lr, eval_thresholds=grid)
    accs = {float(t): r[f"acc_at_{float(t):g}"] for t in grid}
    best = max(accs, key=lambda t: accs[t])
    r.update(best_threshold=best, trained_is_best=float(accs[float(threshold)] >= max(accs.values())))
    return r


def small_data(seed: int, mode: str, per_class: int = 100, epochs: int = 30, lr: float = 0.01,
               n_test: int = 2000, dataset: str = "fmnist") -> Dict[str, float]:
    """Fig. 4C's small-data regime: ``per_class`` training images per class; returns the final and
    the mean-over-epochs validation accuracy."""
    from .. import datasets

    if dataset == "cifar10":  # Fig. 4C proper: the VGG-style network on 50x-downsampled CIFAR-10
        X, y, Xt, yt = cifar10_or_skip()
        X, y = datasets.subsample(X, y, per_class=per_class, seed=seed)
        Xt, yt = Xt[:n_test], yt[:n_test]
        model = vgg_style_network(mode, seed=seed, in_channels=3, size=32)
    elif dataset == "fmnist":
        X, y, Xt, yt = load_fmnist(None, n_test)
        X, y = datasets.subsample(X, y, per_class=per_class, seed=seed)
        model = small_network(mode, seed=seed)
    else:
        raise ValueError(f"dataset must be 'fmnist' or 'cifar10', got {dataset!r}")
    hist = train(model, X, y, epochs, lr, validation_data=(Xt, yt))
    acc = hist["val_accuracy"]
    return {"val_accuracy": float(acc[-1]), "mean_val_accuracy": float(np.mean(acc))}


def pgd_robustness(seed: int, mode: str, n_train: int = 3000, n_test: int = 500, epochs: int = 4, lr: float = 0.01,
                   eps: float = 0.031, alpha: float = 0.003, steps: int = 20) -> Dict[str, float]:
    """Table 3 on Fashion-MNIST: the VGG-style network (flexible block 1, or the baseline) under
    white-box PGD and black-box PGD crafted on the surrogate "Conv2D model" (trained on the same
    images with the same seed). Returns ``natural``, ``pgd_whitebox``, ``pgd_blackbox`` accuracies."""
    from .. import attacks

    X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
    model = vgg_style_network(mode, seed=seed)
    train(model, X, y, epochs, lr)
    model.eval()
    surrogate = surrogate_network(seed=seed)
    train(surrogate, X, y, epochs, lr)
    white = attacks.pgd(model, Xt, yt, eps, alpha, steps, seed=seed)
    black = attacks.pgd(model, Xt, yt, eps, alpha, steps, seed=seed, surrogate=surrogate)
    return {"natural": attacks.accuracy(model, Xt, yt), "pgd_whitebox": attacks.accuracy(model, white, yt),
            "pgd_blackbox": attacks.accuracy(model, black, yt)}
