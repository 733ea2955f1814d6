"""Maharaj's thesis on negative rectifiers (``../shared/papers/neglu-mixlu-thesis.txt``, chapter 4 and
§5.2): MixLU networks, and the Min-Maxout / learned-activation variants it proposes.

Protocol (as the thesis and the authors' MatConvNet code describe it; reductions are listed below):

* **MNIST, Tables 6-7** — MatConvNet's example LeNet: Conv(5x5, 1->20) -> MaxPool(2) -> Conv(5x5, 20->50)
  -> MaxPool(2) -> Conv(4x4, 50->500) -> ReLU/MixLU -> Conv(1x1, 500->10) -> softmax loss. Weights
  0.01 N(0, 1), zero biases; inputs are pixels in [0, 255] minus the training-set mean image; SGD with
  momentum 0.9, lr 0.001, weight decay 5e-4 (MatConvNet's cnn_train), batch 100. MNIST here is the
  project's 10,000-digit sample, split 8,000 train / 2,000 test (stratified, split seed 0): *not* the
  official 60k/10k split, so errors are larger and noisier than the thesis's.
* **CIFAR-10, Tables 9-10** — MatConvNet's CIFAR "quick" net with every ReLU a MixLU. CIFAR-10 is not
  available offline; when :func:`bionn.data.load_cifar10` finds no files the same protocol runs
  on Fashion-MNIST (zero-padded to 32x32 so the net's shapes work), labelled as such. Pooling uses
  symmetric padding 1 (MatConvNet pads one row/column at the bottom/right only, "emulate caffe"); the
  output sizes (16, 8, 4) are the same. Per-layer learning-rate multipliers of the code are not used.
* **§5.2 variants** (no paper numbers): the MNIST LeNet with the ReLU replaced by a
  :class:`~bionn.neglu.LearnedActivation` (ReLU-initialised slopes) or a :class:`~bionn.neglu.MinMaxout`
  (Conv(4x4, 50->1000) -> 500 units of 2 pieces, half of them min units).

MixLU units are fixed per unit (``mode="fixed"``, the thesis's description) for the 500 units of the
LeNet; on the convolutional CIFAR/Fashion net they are fixed per element of (C, H, W), because 0.25-3 %
of 32 channels is less than one channel. ``mode="random"`` (the authors' code: a new per-element mask
at every forward) and ``neglu_grad="relu_mask"`` (the code's backward) are options of
:func:`train_lenet` / :func:`train_cifar_net`.

Registered claim (quick mode in CI; ``bionn reproduce neglu --full`` for 3 seeds on all 8,000 digits):

* ``neglu.table6_test_error_close`` — Table 6: with 7 % NegLUs the test error rises by at most
  0.53 + 0.5 percentage points over the ReLU baseline (thesis: +0.53; quick mode here: -0.10).

Measured but NOT reproduced, hence not registered (numbers in the notebook ``04_neglu_mixlu.ipynb``):

* Table 7, "the train-test gap shrinks with NegLUs": at 7 % the gap does not shrink (quick mode,
  2 seeds: 4.88 -> 4.92 points; notebook, 4,000 digits, 8 epochs: 2.70 -> 3.35; thesis 0.92 -> 0.60).
  With fixed units the nets still fit their training digits (training error <= 0.05 %). The authors'
  code variant (``mode="random"``, ``neglu_grad="relu_mask"``) does raise the training error (2.9 %
  at 7 %, 4.8 % at 10 %) but raises the test error more (6.5 %, 8.5 %), so its gap grows too.
* Table 6, "training collapses at 10 % NegLUs" (90.2 % error): no collapse at 10 % with any variant
  (notebook: 2.60 % test error with fixed units, 8.45 % with the code variant, vs 2.70 % for ReLU;
  an exploratory run with fixed units and the code's gradient: 5.35 % vs 4.7 %).
* Tables 9-10 on the Fashion-MNIST stand-in: :func:`table9_test_error_change` (quick mode: +7.2
  points at 2 %; the notebook's single 2,000-image run: -5.4 points; thesis +0.96 on CIFAR-10): the
  net is undertrained in this budget and single runs differ by several points. No collapse at 3 %
  (26.6 % error vs the thesis's 90 %).
* §5.2 variants (learned slopes, Min-Maxout): reported against the baseline, no thesis numbers
  (notebook: test error 3.35 % and 3.65 % vs 2.70 % for ReLU and 3.40 % for MixLU 7 %).
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..experiments import register_claim
from ._common import DataUnavailable, cifar10_or_skip, fashion_mnist

__all__ = [
    "SETTINGS",
    "FASHION_SETTINGS",
    "LR",
    "table9_test_error_change",
    "load_mnist_split",
    "load_cifar_or_fashion",
    "lenet",
    "cifar_net",
    "train_lenet",
    "train_cifar_net",
    "table67_sweep",
    "cifar_sweep",
    "variants_compare",
    "PAPER_TABLE6",
    "PAPER_TABLE7_TRAIN",
    "PAPER_TABLE9",
    "PAPER_TABLE10_TRAIN",
]

PAPER = "neglu"

# Thesis numbers (percent): Table 6 test error and Table 7 training error per % NegLUs (MNIST);
# Table 9 test accuracy and Table 10 training accuracy per % NegLUs (CIFAR-10).
PAPER_TABLE6 = {0: 0.92, 1: 0.95, 2: 1.02, 3: 1.22, 4: 1.14, 5: 1.26, 6: 1.43, 7: 1.45, 8: 2.53, 9: 2.68, 10: 90.20}
PAPER_TABLE7_TRAIN = {
    0: 0.00,
    1: 0.12,
    2: 0.15,
    3: 0.34,
    4: 0.36,
    5: 0.48,
    6: 0.61,
    7: 0.85,
    8: 1.29,
    9: 2.09,
    10: 90.13,
}
PAPER_TABLE9 = {0: 79.81, 0.25: 79.72, 0.5: 79.72, 1: 79.64, 2: 78.85, 3: 10.0}
PAPER_TABLE10_TRAIN = {0: 88.64, 0.25: 87.05, 0.5: 85.57, 1: 84.44, 2: 82.43, 3: 10.0}

SETTINGS: Dict[str, Dict[str, Any]] = {
    # quick (CI): 2 seeds x {0 %, 7 %} NegLUs, 1,500 training digits, 5 epochs, 1,000 test digits.
    "quick": {"seeds": 2, "n_train": 1500, "n_test": 1000, "epochs": 5, "fractions": (0.0, 0.07)},
    # full: 3 seeds on the whole 8,000-digit training split and the 2,000 test digits, 10 epochs
    # (thesis: 60,000 training digits, 20+ epochs, one run per fraction).
    "full": {"seeds": 3, "n_train": 8000, "n_test": None, "epochs": 10, "fractions": (0.0, 0.07)},
}
# lr 0.005, five times the authors' 0.001: with 8,000 digits or fewer, an epoch has 7.5x to 40x fewer
# SGD steps than on the official 60,000, and the short runs must still reach the overfitting regime
# (training error near 0) in which the thesis compares train and test error.
LR = 0.005
_NOTE = (
    "quick: 2 seeds, 1,500 training / 1,000 test digits of the MNIST sample, 5 epochs (full: 3 seeds, "
    "8,000 / 2,000 digits, 10 epochs; thesis: official 60k/10k split, 20+ epochs); lr 0.005 (thesis 0.001)"
)


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def load_mnist_split(split_seed: int = 0, test_fraction: float = 0.2) -> Tuple[np.ndarray, ...]:
    """The MNIST sample split into train/test (stratified, ``split_seed``), preprocessed as the
    authors' cnn_mnist: pixels in [0, 255] minus the training-set mean image.

    Returns ``(X_train, y_train, X_test, y_test)``, float32 (N, 1, 28, 28) and int64 labels.
    """
    from .. import data

    X, y = data.load_mnist_sample()
    (Xtr, ytr), (Xte, yte) = data.train_val_split(X, y, val_fraction=test_fraction, seed=split_seed)
    Xtr = Xtr.astype(np.float32) * 255.0
    Xte = Xte.astype(np.float32) * 255.0
    mean = Xtr.mean(axis=0, keepdims=True)
    return Xtr - mean, ytr, Xte - mean, yte


@functools.lru_cache(maxsize=1)
def load_cifar_or_fashion() -> Tuple[str, Tuple[np.ndarray, ...]]:
    """CIFAR-10 if its files are found, else Fashion-MNIST padded to 32x32 (labelled in the result).

    Both are preprocessed as the authors' cnn_cifar without whitening: pixels in [0, 255] minus the
    training-set mean image. Returns ``(name, (X_train, y_train, X_test, y_test))``.
    """

    try:
        Xtr, ytr, Xte, yte = cifar10_or_skip()
        name = "CIFAR-10"
    except DataUnavailable:
        Xtr, ytr, Xte, yte = fashion_mnist()
        pad = ((0, 0), (0, 0), (2, 2), (2, 2))
        Xtr, Xte = np.pad(Xtr, pad), np.pad(Xte, pad)
        name = "Fashion-MNIST (CIFAR-10 absent; padded to 32x32)"
    Xtr = Xtr.astype(np.float32) * 255.0
    Xte = Xte.astype(np.float32) * 255.0
    mean = Xtr.mean(axis=0, keepdims=True)
    return name, (Xtr - mean, np.asarray(ytr, np.int64), Xte - mean, np.asarray(yte, np.int64))


# ------------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------------


def _activation(kind: str, fraction: float, units: Any, mode: str, neglu_grad: str) -> Any:
    from .. import nn

    n = int(np.prod(units))
    c = units if isinstance(units, int) else units[0]
    if kind == "mixlu":
        return nn.MixLU(units, fraction=fraction, mode=mode, neglu_grad=neglu_grad)
    if kind == "relu":
        return nn.ReLU()
    if kind == "learned":
        return nn.LearnedActivation(c, init="relu")
    raise ValueError(f"activation must be 'mixlu', 'relu' or 'learned', got {kind!r} ({n} units)")


def lenet(
    fraction: float = 0.0, activation: str = "mixlu", mode: str = "fixed", neglu_grad: str = "exact", seed: int = 0
) -> Any:
    """MatConvNet's MNIST LeNet (thesis §4.4.3) with its ReLU replaced by ``activation``:
    ``"mixlu"`` (``fraction`` NegLUs among the 500 units), ``"relu"``, ``"learned"`` (per-unit slopes)
    or ``"minmaxout"`` (500 units of 2 pieces, half of them min units). Weights 0.01 N(0, 1), zero biases."""
    from .. import nn

    if activation == "minmaxout":
        mid = [nn.Conv2d(50, 1000, 4), nn.MinMaxout(500, pieces=2, min_fraction=0.5)]
    else:
        mid = [nn.Conv2d(50, 500, 4), _activation(activation, fraction, 500, mode, neglu_grad)]
    net = nn.Sequential(
        [
            nn.Conv2d(1, 20, 5),
            nn.MaxPool2d(2),
            nn.Conv2d(20, 50, 5),
            nn.MaxPool2d(2),
            *mid,
            nn.Conv2d(500, 10, 1),
            nn.Flatten(),
        ],
        seed=seed,
    )
    _matconvnet_init(net, seed, [0.01] * 4)
    return net


def cifar_net(
    fraction: float = 0.0,
    in_channels: int = 3,
    activation: str = "mixlu",
    mode: str = "fixed",
    neglu_grad: str = "exact",
    seed: int = 0,
) -> Any:
    """MatConvNet's CIFAR-10 "quick" net (thesis §4.4.4) for 32x32 inputs with every ReLU a MixLU of
    ``fraction`` NegLUs (per element of (C, H, W)) — or ``"relu"`` / ``"learned"`` activations."""
    from .. import nn

    def act(c: int, hw: int) -> Any:
        # The last MixLU has 64 units only: small fractions give it no NegLU, which is expected here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="MixLU: fraction", category=UserWarning)
            return _activation(activation, fraction, (c, hw, hw) if activation == "mixlu" else c, mode, neglu_grad)

    net = nn.Sequential(
        [
            nn.Conv2d(in_channels, 32, 5, padding=2),
            nn.MaxPool2d(3, stride=2, padding=1),
            act(32, 16),
            nn.Conv2d(32, 32, 5, padding=2),
            act(32, 16),
            nn.AvgPool2d(3, stride=2, padding=1),
            nn.Conv2d(32, 64, 5, padding=2),
            act(64, 8),
            nn.AvgPool2d(3, stride=2, padding=1),
            nn.Conv2d(64, 64, 4),
            act(64, 1),
            nn.Conv2d(64, 10, 1),
            nn.Flatten(),
        ],
        seed=seed,
    )
    _matconvnet_init(net, seed, [0.01, 0.05, 0.05, 0.05, 0.05])
    return net


def _matconvnet_init(net: Any, seed: int, stds: Sequence[float]) -> None:
    """cnn_*_init: weights std * N(0, 1), zero biases (one std per convolution, in order)."""
    from .. import nn

    gen = np.random.default_rng(seed)
    convs = [l for l in net.layers if isinstance(l, nn.Conv2d)]
    for conv, std in zip(convs, stds):
        for p in conv.parameters():
            p.data[...] = std * gen.standard_normal(p.shape) if p.tag == "weight" else 0.0


# ------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------


def _train(
    net: Any,
    data: Tuple[np.ndarray, ...],
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    n_train: Optional[int],
    n_test: Optional[int] = None,
    n_eval_train: int = 4000,
) -> Dict[str, Any]:
    from .. import losses, optim

    Xtr, ytr, Xte, yte = data
    if n_train is not None and n_train < len(Xtr):
        # The training subset depends on the run's seed; the test set is the same for every run.
        pick = np.random.default_rng(seed + 1000).permutation(len(Xtr))[:n_train]
        Xtr, ytr = Xtr[pick], ytr[pick]
    if n_test is not None:
        Xte, yte = Xte[:n_test], yte[:n_test]
    # Training error is measured (in eval mode) on up to n_eval_train training samples per epoch.
    Xev, yev = Xtr[:n_eval_train], ytr[:n_eval_train]
    loss = losses.CrossEntropy()
    opt = optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    train_err: List[float] = []
    running_err: List[float] = []
    test_err: List[float] = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        hist = net.fit(Xtr, ytr, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size)
        running_err.append(1.0 - hist.history["accuracy"][-1])
        train_err.append(1.0 - net.evaluate(Xev, yev, loss)["accuracy"])
        test_err.append(1.0 - net.evaluate(Xte, yte, loss)["accuracy"])
    return {
        "train_error": train_err[-1] * 100,
        "test_error": test_err[-1] * 100,
        "gap": (test_err[-1] - train_err[-1]) * 100,
        "train_curve": [100 * v for v in train_err],
        "test_curve": [100 * v for v in test_err],
        "running_train_curve": [100 * v for v in running_err],
        "n_train": len(Xtr),
        "n_test": len(Xte),
        "seconds": time.perf_counter() - t0,
    }


def train_lenet(
    seed: int = 0,
    fraction: float = 0.0,
    activation: str = "mixlu",
    epochs: int = 5,
    n_train: Optional[int] = 1500,
    n_test: Optional[int] = None,
    mode: str = "fixed",
    neglu_grad: str = "exact",
    lr: float = LR,
    batch_size: int = 100,
    split_seed: int = 0,
) -> Dict[str, Any]:
    """Trains the LeNet on the MNIST sample split and returns errors in percent.

    Returns
    -------
    dict
        ``train_error`` (on up to 4,000 training digits, eval mode, after the last epoch),
        ``test_error``, ``gap`` (test - train), per-epoch ``train_curve`` / ``test_curve`` and
        ``running_train_curve`` (MatConvNet's training error: the running error over the epoch's
        mini-batches, in training mode), ``n_train``, ``n_test``, ``seconds``,
        and for MixLU ``num_negative`` (the NegLU units drawn from ``seed``).
    """
    net = lenet(fraction, activation, mode, neglu_grad, seed)
    res = _train(
        net,
        load_mnist_split(split_seed),
        epochs,
        lr,
        batch_size,
        seed,
        n_train,
        n_test,
        n_eval_train=min(4000, n_train or 4000),
    )
    res["num_negative"] = int(net[5].negative_units.size) if activation == "mixlu" else 0
    res["dataset"] = f"MNIST sample, split seed {split_seed}"
    return res


def train_cifar_net(
    seed: int = 0,
    fraction: float = 0.0,
    activation: str = "mixlu",
    epochs: int = 4,
    n_train: Optional[int] = 2000,
    n_test: Optional[int] = 1000,
    mode: str = "fixed",
    neglu_grad: str = "exact",
    lr: float = LR,
    batch_size: int = 100,
) -> Dict[str, Any]:
    """Trains the CIFAR "quick" net on CIFAR-10, or on Fashion-MNIST when CIFAR-10 is absent
    (``dataset`` in the result says which). Errors in percent."""
    name, (Xtr, ytr, Xte, yte) = load_cifar_or_fashion()
    net = cifar_net(fraction, Xtr.shape[1], activation, mode, neglu_grad, seed)
    res = _train(
        net,
        (Xtr, ytr, Xte, yte),
        epochs,
        lr,
        batch_size,
        seed,
        n_train,
        n_test,
        n_eval_train=min(4000, n_train or 4000),
    )
    res["dataset"] = name
    return res


def table67_sweep(
    fractions: Iterable[float] = (0.0, 0.01, 0.04, 0.07, 0.1), seeds: Iterable[int] = (0,), **kwargs: Any
) -> Any:
    """Tables 6-7 on the MNIST sample: one row per (fraction, seed) with errors and gap in percent."""
    import pandas as pd

    rows = [dict(fraction=f, seed=s, **train_lenet(seed=s, fraction=f, **kwargs)) for f in fractions for s in seeds]
    return pd.DataFrame(rows)


def cifar_sweep(
    fractions: Iterable[float] = (0.0, 0.005, 0.02, 0.03), seeds: Iterable[int] = (0,), **kwargs: Any
) -> Any:
    """Tables 9-10's protocol (CIFAR-10, or Fashion-MNIST when absent): one row per (fraction, seed)."""
    import pandas as pd

    rows = [dict(fraction=f, seed=s, **train_cifar_net(seed=s, fraction=f, **kwargs)) for f in fractions for s in seeds]
    return pd.DataFrame(rows)


def variants_compare(seeds: Iterable[int] = (0,), **kwargs: Any) -> Any:
    """§5.2 on the MNIST protocol: ReLU baseline, MixLU 7 %, learned slopes and Min-Maxout."""
    import pandas as pd

    rows = []
    for name, act, frac in (
        ("ReLU", "relu", 0.0),
        ("MixLU 7%", "mixlu", 0.07),
        ("learned slopes", "learned", 0.0),
        ("Min-Maxout", "minmaxout", 0.0),
    ):
        for s in seeds:
            rows.append(dict(variant=name, seed=s, **train_lenet(seed=s, fraction=frac, activation=act, **kwargs)))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Claims
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _mnist_runs(mode: str) -> Any:
    s = SETTINGS[mode]
    return table67_sweep(
        s["fractions"], range(s["seeds"]), epochs=s["epochs"], n_train=s["n_train"], n_test=s["n_test"]
    )


def _by_fraction(df: Any, column: str) -> Dict[float, float]:
    return {float(k): float(v) for k, v in df.groupby("fraction")[column].mean().items()}


@register_claim(
    id="neglu.table6_test_error_close",
    paper=PAPER,
    where="Table 6, §4.5.1",
    description="MNIST LeNet: with 7 % NegLUs in the MixLU layer the test error rises by at most about "
    "half a point over the ReLU baseline (mean over seeds of test error at 7 % minus at 0 %, "
    "percentage points; tolerance 0.5 points, the binomial s.e. of a 2,000-digit test set)",
    paper_value=round(PAPER_TABLE6[7] - PAPER_TABLE6[0], 2),
    compare="<=",
    tolerance=0.5,
    quick_note=_NOTE,
)
def table6_test_error_close(mode: str) -> Tuple[float, Dict[str, Any]]:
    df = _mnist_runs(mode)
    test, train, gap = (_by_fraction(df, c) for c in ("test_error", "train_error", "gap"))
    return test[0.07] - test[0.0], {
        "test_error": test,
        "train_error": train,
        "gap": gap,
        "seeds": int(df["seed"].nunique()),
        "dataset": str(df["dataset"].iloc[0]),
        # Table 7's "the gap shrinks" is reported here, not claimed: it does not reproduce (see module doc).
        "gap_change_at_7pct": gap[0.07] - gap[0.0],
    }


FASHION_SETTINGS: Dict[str, Dict[str, Any]] = {
    # quick (CI): 1 seed x {0 %, 2 %}, 1,000 training / 1,000 test images, 3 epochs.
    "quick": {"seeds": 1, "n_train": 1000, "n_test": 1000, "epochs": 3, "fractions": (0.0, 0.02)},
    # full: 3 seeds, 4,000 training / 2,000 test images, 6 epochs (thesis: all of CIFAR-10, ~45 epochs).
    "full": {"seeds": 3, "n_train": 4000, "n_test": 2000, "epochs": 6, "fractions": (0.0, 0.02)},
}
_FASHION_NOTE = (
    "Fashion-MNIST padded to 32x32 when CIFAR-10 is absent; quick: 1 seed, 1,000 training / 1,000 test "
    "images, 3 epochs (full: 3 seeds, 4,000 / 2,000, 6 epochs; thesis: CIFAR-10, ~45 epochs)"
)


@functools.lru_cache(maxsize=2)
def _cifar_runs(mode: str) -> Any:
    s = FASHION_SETTINGS[mode]
    return cifar_sweep(s["fractions"], range(s["seeds"]), epochs=s["epochs"], n_train=s["n_train"], n_test=s["n_test"])


def table9_test_error_change(mode: str = "quick") -> Tuple[float, Dict[str, Any]]:
    """Table 9 on CIFAR-10, or Fashion-MNIST when CIFAR-10 is absent: test error at 2 % NegLUs minus
    at 0 % (percentage points; thesis, CIFAR-10: +0.96), with the means behind it.

    Not a registered claim: in quick mode (1 seed, 1,000 images, 3 epochs) the Fashion-MNIST stand-in
    gave +7.2 points (32.1 % -> 39.3 %), far above the thesis's +0.96, and quick mode cannot afford
    more (one run of this net costs ~25 s on a loaded core). ``mode="full"`` runs 3 seeds.
    """
    df = _cifar_runs(mode)
    test, train, gap = (_by_fraction(df, c) for c in ("test_error", "train_error", "gap"))
    return test[0.02] - test[0.0], {
        "test_error": test,
        "train_error": train,
        "gap": gap,
        "seeds": int(df["seed"].nunique()),
        "dataset": str(df["dataset"].iloc[0]),
    }
