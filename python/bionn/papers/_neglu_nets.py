"""The NegLU thesis's networks, data and training loop (MatConvNet's cnn_mnist / cnn_cifar as the
authors ran them); :mod:`bionn.papers.neglu` registers the experiments and claims that use them (and
re-exports these names). Registers nothing."""

from __future__ import annotations

import functools
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._common import (
    FASHION_HINT,
    DataUnavailable,
    cifar10_or_skip,
    fashion_mnist,
    mnist_sample_or_skip,
    require_fashion,
)

__all__ = [
    "LR",
    "MNIST_EPOCHS",
    "CIFAR_LR_SCHEDULE",
    "FASHION_HINT",
    "load_mnist_split",
    "load_fashion",
    "require_fashion",
    "load_cifar_or_fashion",
    "lenet",
    "cifar_net",
    "train_lenet",
    "train_cifar_net",
]

# The authors' cnn_mnist / cnn_mnist_neglu: lr 0.001, batch 100; cnn_mnist_neglu (the MixLU script)
# trains 20 epochs (cnn_mnist.m 40). MatConvNet's cnn_train: momentum 0.9, weight decay 5e-4 on every
# parameter (its default multipliers are 1 for weights and biases).
LR = 0.001
MNIST_EPOCHS = 20
# The authors' cnn_cifar ('lenet'): lr 0.05 for 15 epochs, 0.005 for 10, 0.0005 for 5 (30 epochs),
# weight decay 1e-4; cnn_cifar_init's per-layer multipliers: 0.1 (weights) and 2 (biases), a tenth
# of that for the last convolution.
CIFAR_LR_SCHEDULE = ((0.05, 15), (0.005, 10), (0.0005, 5))
CIFAR_LR_MULTIPLIERS = ((0.1, 2.0),) * 4 + ((0.01, 0.2),)

Arrays = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


def _minus_train_mean(Xtr: np.ndarray, ytr: Any, Xte: np.ndarray, yte: Any) -> Arrays:
    """cnn_mnist's preprocessing: pixels in [0, 255] minus the training-set mean image."""
    Xtr = np.asarray(Xtr, np.float32) * 255.0
    Xte = np.asarray(Xte, np.float32) * 255.0
    mean = Xtr.mean(axis=0, keepdims=True)
    return Xtr - mean, np.asarray(ytr, np.int64), Xte - mean, np.asarray(yte, np.int64)


@functools.lru_cache(maxsize=2)
def load_mnist_split(split_seed: int = 0, test_fraction: float = 0.2) -> Arrays:
    """The MNIST sample split into train/test (stratified, ``split_seed``), preprocessed as the
    authors' cnn_mnist: pixels in [0, 255] minus the training-set mean image.

    Returns ``(X_train, y_train, X_test, y_test)``, float32 (N, 1, 28, 28) and int64 labels.

    Raises
    ------
    DataUnavailable
        The MNIST sample is not on this machine.
    """
    from .. import data

    X, y = mnist_sample_or_skip()
    (Xtr, ytr), (Xte, yte) = data.train_val_split(X, y, val_fraction=test_fraction, seed=split_seed)
    return _minus_train_mean(Xtr, ytr, Xte, yte)


@functools.lru_cache(maxsize=1)
def load_fashion() -> Arrays:
    """The official Fashion-MNIST split (60,000 / 10,000) preprocessed as cnn_mnist does MNIST."""
    require_fashion()
    return _minus_train_mean(*fashion_mnist())


def _lenet_data(dataset: str, split_seed: int) -> Arrays:
    if dataset == "mnist_sample":
        return load_mnist_split(split_seed)
    if dataset == "fashion_mnist":
        return load_fashion()
    raise ValueError(f"dataset must be 'mnist_sample' or 'fashion_mnist', got {dataset!r}")


def _contrast_normalize(z: np.ndarray) -> np.ndarray:
    """cnn_cifar's contrast normalisation of (N, D) images (in place): each image minus its mean,
    scaled by mean(std) / max(std, 40) (std over the image, N-1 normalised, mean over all images)."""
    z -= z.mean(axis=1, keepdims=True)
    n = z.std(axis=1, ddof=1)
    z *= (n.mean() / np.maximum(n, 40.0))[:, None].astype(z.dtype)
    return z


def _whiten(z: np.ndarray, n_train: int, chunk: int = 5000) -> np.ndarray:
    """cnn_cifar's ZCA whitening of (N, D) images (in place): W = Z_train^T Z_train / N (N: every
    image, as the code divides), z <- V diag(en / max(sqrt(d), 10)) V^T z, en = sqrt(mean(d))."""
    W = np.zeros((z.shape[1], z.shape[1]), np.float64)
    for i in range(0, n_train, chunk):
        b = z[i : min(i + chunk, n_train)].astype(np.float64)
        W += b.T @ b
    W /= z.shape[0]
    d, V = np.linalg.eigh(W)
    d = np.clip(d, 0.0, None)
    M = (V * (np.sqrt(d.mean()) / np.maximum(np.sqrt(d), 10.0))) @ V.T
    for i in range(0, z.shape[0], chunk):
        z[i : i + chunk] = (z[i : i + chunk].astype(np.float64) @ M.T).astype(z.dtype)
    return z


@functools.lru_cache(maxsize=2)
def load_cifar_or_fashion(
    fashion_fallback: bool = False, contrast_normalization: bool = True, whiten: bool = True
) -> Tuple[str, Arrays]:
    """CIFAR-10 preprocessed as the authors' cnn_cifar: pixels in [0, 255] minus the training-set
    mean image, then (options, on by default as in the code) contrast normalisation and ZCA
    whitening. Returns ``(name, (X_train, y_train, X_test, y_test))``.

    Parameters
    ----------
    fashion_fallback : bool
        When CIFAR-10 is absent, use Fashion-MNIST zero-padded to 32x32 instead (labelled so in
        ``name``). Off by default: the thesis's claims are about CIFAR-10, and the ledger never
        uses the stand-in.
    contrast_normalization, whiten : bool

    Raises
    ------
    DataUnavailable
        CIFAR-10 is absent and ``fashion_fallback`` is False.
    """
    try:
        Xtr, ytr, Xte, yte = cifar10_or_skip()
        name = "CIFAR-10"
    except DataUnavailable:
        if not fashion_fallback:
            raise
        Xtr, ytr, Xte, yte = fashion_mnist()
        pad = ((0, 0), (0, 0), (2, 2), (2, 2))
        Xtr, Xte = np.pad(Xtr, pad), np.pad(Xte, pad)
        name = "Fashion-MNIST (CIFAR-10 absent; padded to 32x32)"
    Xtr, ytr, Xte, yte = _minus_train_mean(Xtr, ytr, Xte, yte)
    if contrast_normalization or whiten:
        shape, n = Xtr.shape[1:], len(Xtr)
        z = np.concatenate([Xtr.reshape(n, -1), Xte.reshape(len(Xte), -1)])
        if contrast_normalization:
            _contrast_normalize(z)
        if whiten:
            _whiten(z, n)
        Xtr, Xte = z[:n].reshape(n, *shape), z[n:].reshape(len(Xte), *shape)
    return name, (Xtr, ytr, Xte, yte)


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
    """MatConvNet's CIFAR-10 "quick" net (thesis §4.4.4, the authors' cnn_cifar_init) for 32x32 inputs
    with every ReLU a MixLU of ``fraction`` NegLUs (per element of (C, H, W)) — or ``"relu"`` /
    ``"learned"`` activations."""
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


def _convs(net: Any) -> List[Any]:
    from .. import nn

    return [l for l in net.layers if isinstance(l, nn.Conv2d)]


def _matconvnet_init(net: Any, seed: int, stds: Sequence[float]) -> None:
    """cnn_*_init: weights std * N(0, 1), zero biases (one std per convolution, in order)."""
    gen = np.random.default_rng(seed)
    for conv, std in zip(_convs(net), stds):
        for p in conv.parameters():
            p.data[...] = std * gen.standard_normal(p.shape) if p.tag == "weight" else 0.0


# ------------------------------------------------------------------------------------------------
# Training (MatConvNet's cnn_train)
# ------------------------------------------------------------------------------------------------


def _optimizer(net: Any, momentum: float, weight_decay: float, multipliers: Optional[Sequence[Any]]) -> Any:
    """SGD with one parameter group per (convolution, weight/bias) when ``multipliers`` (pairs
    (weight, bias) per convolution) are given, else one group; the groups' ``mult`` is kept aside."""
    from .. import optim

    params = [p for p in net.parameters()]
    if multipliers is None:
        opt = optim.SGD(params, lr=1.0, momentum=momentum, weight_decay=weight_decay)
        opt._bionn_mult = [1.0]
        return opt
    groups, mult = [], []
    convs = _convs(net)
    if len(multipliers) != len(convs):
        raise ValueError(f"lr multipliers: {len(multipliers)} pairs for {len(convs)} convolutions")
    seen = set()
    for conv, (mw, mb) in zip(convs, multipliers):
        for p in conv.parameters():
            groups.append({"params": [p]})
            mult.append(float(mw if p.tag == "weight" else mb))
            seen.add(id(p))
    rest = [p for p in params if id(p) not in seen]  # e.g. learned activation slopes
    if rest:
        groups.append({"params": rest})
        mult.append(1.0)
    opt = optim.SGD(groups, lr=1.0, momentum=momentum, weight_decay=weight_decay)
    opt._bionn_mult = mult
    return opt


def _set_lr(opt: Any, lr: float) -> None:
    for group, m in zip(opt.param_groups, opt._bionn_mult):
        group["lr"] = lr * m


def _epoch_lrs(lr_schedule: Sequence[Sequence[float]]) -> List[float]:
    """``[[lr, epochs], ...]`` -> one lr per epoch."""
    out: List[float] = []
    for item in lr_schedule:
        lr, n = item
        if not (float(lr) > 0 and int(n) >= 0):
            raise ValueError(f"lr_schedule entries must be [lr > 0, epochs >= 0], got {item!r}")
        out += [float(lr)] * int(n)
    if not out:
        raise ValueError("lr_schedule has no epoch")
    return out


def _train(
    net: Any,
    data: Arrays,
    seed: int,
    lrs: Sequence[float],
    batch_size: int,
    momentum: float,
    weight_decay: float,
    n_train: Optional[int],
    n_test: Optional[int],
    n_eval_train: int,
    multipliers: Optional[Sequence[Any]] = None,
    flip: bool = False,
    chunk_batches: int = 50,
) -> Dict[str, Any]:
    """cnn_train: per epoch a new permutation of the training set (drawn from ``seed``), SGD with
    momentum over its mini-batches (lr ``lrs[epoch]`` times each group's multiplier), each batch
    flipped left-right with probability 1/2 when ``flip`` (cnn_cifar's getBatch); errors in percent
    after each epoch: the running train-mode error over the epoch's mini-batches (MatConvNet's
    training error), the eval-mode error on up to ``n_eval_train`` training samples, the test error."""
    from .. import losses

    Xtr, ytr, Xte, yte = data
    rng = np.random.default_rng(seed + 1000)
    if n_train is not None and n_train < len(Xtr):
        # The training subset depends on the run's seed; the test set is the same for every run.
        pick = rng.permutation(len(Xtr))[:n_train]
        Xtr, ytr = Xtr[pick], ytr[pick]
    if n_test is not None:
        Xte, yte = Xte[:n_test], yte[:n_test]
    Xev, yev = Xtr[:n_eval_train], ytr[:n_eval_train]
    loss = losses.CrossEntropy()
    opt = _optimizer(net, momentum, weight_decay, multipliers)
    n, chunk = len(Xtr), chunk_batches * batch_size
    train_err: List[float] = []
    running_err: List[float] = []
    test_err: List[float] = []
    t0 = time.perf_counter()
    for lr in lrs:
        _set_lr(opt, lr)
        order = rng.permutation(n)
        wrong = 0.0
        for start in range(0, n, chunk):  # chunks of whole batches: memory stays small on CIFAR-10
            idx = order[start : start + chunk]
            Xb, yb = Xtr[idx], ytr[idx]
            if flip:
                for b in range(0, len(idx), batch_size):
                    if rng.random() > 0.5:
                        Xb[b : b + batch_size] = Xb[b : b + batch_size, ..., ::-1]
            hist = net.fit(Xb, yb, loss=loss, optimizer=opt, epochs=1, batch_size=batch_size, shuffle=False)
            wrong += (1.0 - hist.history["accuracy"][-1]) * len(idx)
        running_err.append(wrong / n)
        train_err.append(1.0 - net.evaluate(Xev, yev, loss)["accuracy"] if len(Xev) else float("nan"))
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
    epochs: int = MNIST_EPOCHS,
    dataset: str = "mnist_sample",
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    mode: str = "fixed",
    neglu_grad: str = "exact",
    lr: float = LR,
    batch_size: int = 100,
    split_seed: int = 0,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    n_eval_train: int = 4000,
) -> Dict[str, Any]:
    """Trains the LeNet as the authors' cnn_mnist does (lr 0.001, batch 100, 20 epochs by default) on
    ``dataset`` (``"mnist_sample"``: the project's 10k-digit sample split 8,000 / 2,000;
    ``"fashion_mnist"``: the official Fashion-MNIST split) and returns errors in percent.

    Returns
    -------
    dict
        ``train_error`` (eval mode, on up to ``n_eval_train`` training samples, after the last
        epoch), ``test_error``, ``gap`` (test - train), per-epoch ``train_curve`` / ``test_curve`` and
        ``running_train_curve`` (MatConvNet's training error: the running error over the epoch's
        mini-batches, in training mode), ``n_train``, ``n_test``, ``seconds``, ``dataset``
        and ``num_negative`` (the fixed NegLU units drawn from ``seed``; 0 unless mode "fixed"); with
        ``activation="learned"`` the 500 units' final ``positive_slope`` and ``negative_slope``.
    """
    net = lenet(fraction, activation, mode, neglu_grad, seed)
    data = _lenet_data(dataset, split_seed)
    lrs = [float(lr)] * int(epochs)
    res = _train(net, data, seed, lrs, batch_size, momentum, weight_decay, n_train, n_test, n_eval_train)
    fixed = activation == "mixlu" and mode == "fixed"
    res["num_negative"] = int(net[5].negative_units.size) if fixed else 0
    if activation == "learned":  # §5.2: what the per-unit slopes became
        res["positive_slope"] = [round(float(v), 6) for v in net[5].positive_slope]
        res["negative_slope"] = [round(float(v), 6) for v in net[5].negative_slope]
    res["dataset"] = f"MNIST sample, split seed {split_seed}" if dataset == "mnist_sample" else "Fashion-MNIST"
    return res


def train_cifar_net(
    seed: int = 0,
    fraction: float = 0.0,
    activation: str = "mixlu",
    lr_schedule: Optional[Sequence[Sequence[float]]] = None,
    epochs: Optional[int] = None,
    lr: Optional[float] = None,
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    mode: str = "fixed",
    neglu_grad: str = "exact",
    batch_size: int = 100,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    lr_multipliers: bool = True,
    flip: bool = True,
    contrast_normalization: bool = True,
    whiten: bool = True,
    n_eval_train: int = 4000,
    fashion_fallback: bool = False,
) -> Dict[str, Any]:
    """Trains the CIFAR "quick" net as the authors' cnn_cifar does: ``lr_schedule`` ``[[lr, epochs],
    ...]`` (default 0.05 x 15, 0.005 x 10, 0.0005 x 5), per-layer multipliers (0.1 weights, 2 biases,
    a tenth for the last layer), weight decay 1e-4, batch flips, contrast normalisation and whitening
    — on CIFAR-10 (or, with ``fashion_fallback=True`` and CIFAR-10 absent, on Fashion-MNIST:
    ``dataset`` in the result says which). ``epochs`` replaces the schedule by a constant lr (``lr``,
    default the schedule's first, 0.05: the notebook's short runs). Errors in percent, as :func:`train_lenet`.

    Raises
    ------
    DataUnavailable
        CIFAR-10 is absent and ``fashion_fallback`` is False.
    """
    if epochs is not None:
        if lr_schedule is not None:
            raise ValueError("give lr_schedule, or epochs (and lr), not both")
        lrs = [float(CIFAR_LR_SCHEDULE[0][0] if lr is None else lr)] * int(epochs)
    elif lr is not None:
        raise ValueError("lr (a constant lr) needs epochs; the default is cnn_cifar's lr_schedule")
    else:
        lrs = _epoch_lrs(CIFAR_LR_SCHEDULE if lr_schedule is None else lr_schedule)
    name, (Xtr, ytr, Xte, yte) = load_cifar_or_fashion(fashion_fallback, contrast_normalization, whiten)
    net = cifar_net(fraction, Xtr.shape[1], activation, mode, neglu_grad, seed)
    mult = CIFAR_LR_MULTIPLIERS if lr_multipliers else None
    res = _train(
        net, (Xtr, ytr, Xte, yte), seed, lrs, batch_size, momentum, weight_decay, n_train, n_test, n_eval_train,
        multipliers=mult, flip=flip,
    )  # fmt: skip
    res["dataset"] = name
    return res
