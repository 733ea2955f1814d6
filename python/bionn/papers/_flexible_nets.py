"""The flexible-layer paper's networks and evaluations (helpers of :mod:`bionn.papers.flexible`).

* Input normalisation inside the model: ``normalization_layer`` is a frozen 1x1 convolution
  computing ``(x - mean) / std`` per channel, put in front of a network by :func:`small_network`
  and :func:`vgg16_network`. Every image therefore stays in ``[0, 1]`` pixel space outside the
  model (data, attacks, corruptions, band-pass filters), while every layer sees normalised inputs
  as in the paper ("images from the FMNIST dataset are normalised", S1 Methods).
* The ε reading (:func:`pixel_eps`): ``eps_space="pixel"`` (default) perturbs the [0, 1] image by ε
  and clips to [0, 1], as the PyTorch FGSM tutorial the paper follows (its ref. 26) does with a
  normalised model (gradient w.r.t. the normalised input, de-normalise, add ε·sign, clamp to
  [0, 1], re-normalise); ``eps_space="normalised"`` adds ε to the normalised input instead, i.e.
  ε·std in pixel units. The sign of the gradient is the same in both spaces (std > 0), so both are
  the same FGSM step at different radii.
* :func:`small_network` (Fig. 2B), :func:`vgg16_network` (S1: the Single Flexible Layer VGG16,
  its All-Layer variant and the baseline) and :func:`conv2d_model` (the black-box source model).
* :func:`evaluate_small`: everything Table 2, Fig. 3, Fig. 4D-type and Fig. 5 need from one trained
  network (clean and FGSM accuracy, accuracy vs ε, accuracy per inference threshold, the threshold
  map, corruptions per category and severity, the band-pass curve), as metrics and curves.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ._common import CIFAR10_HINT, DataUnavailable, cifar10_or_skip, fashion_mnist

__all__ = [
    "FMNIST_MEAN",
    "FMNIST_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "EPS_SPACES",
    "CORRUPTION_CATEGORIES",
    "GREYSCALE_FAMILIES",
    "LOW_BAND",
    "normalization_layer",
    "set_normalization",
    "with_normalization",
    "pixel_eps",
    "flexible_layers",
    "small_network",
    "vgg16_network",
    "conv2d_model",
    "evaluate_small",
    "category_means",
    "bandpass_summary",
]

# Fashion-MNIST training-set statistics of the [0, 1] pixels (the paper normalises but does not give them).
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530
# CIFAR-10 training-set per-channel statistics.
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
EPS_SPACES = ("pixel", "normalised")

# The paper's Table 1 (Hendrycks & Dietterich's 19 corruptions in five categories), restricted to the
# families bionn.corruptions implements for grey-scale images. Not available: glass blur, zoom blur
# (blur); elastic transform (digital); snow, frost, fog (weather); spatter (other): implemented
# nowhere here; saturate (other): needs colour, not applicable to grey-scale images.
CORRUPTION_CATEGORIES: Dict[str, Tuple[str, ...]] = {
    "blur": ("defocus_blur", "motion_blur"),
    "digital": ("contrast", "pixelate", "jpeg_compression"),
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
    "weather": ("brightness",),
    "other": ("speckle_noise", "gaussian_blur"),
}
GREYSCALE_FAMILIES = tuple(f for fams in CORRUPTION_CATEGORIES.values() for f in fams)
# The paper's "5-20 Hz" on 224x224 images, scaled to 28x28 (÷ 8): 0.625-2.5 cycles per image.
LOW_BAND = (5 / 8, 20 / 8)


def _check_space(eps_space: str) -> str:
    if eps_space not in EPS_SPACES:
        raise ValueError(f"eps_space must be one of {EPS_SPACES}, got {eps_space!r}")
    return eps_space


def pixel_eps(eps: float, eps_space: str = "pixel", std: float = FMNIST_STD) -> float:
    """The perturbation radius in [0, 1] pixel units of an ε stated in ``eps_space``.

    ``"pixel"`` (default, the FGSM tutorial the paper follows): ε itself. ``"normalised"``: ε on
    the normalised input, i.e. ``ε · std`` in pixel units."""
    _check_space(eps_space)
    if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if not (isinstance(std, (int, float)) and std > 0):
        raise ValueError(f"std must be a number > 0, got {std!r}")
    return float(eps) if eps_space == "pixel" else float(eps) * float(std)


def normalization_layer(mean: Sequence[float], std: Sequence[float], dtype: Any = np.float32) -> Any:
    """A frozen 1x1 convolution computing ``(x - mean[c]) / std[c]`` on each channel c.

    A :class:`~bionn.nn.Sequential` initialises its layers' parameters when it is built: put the layer
    in a model through :func:`with_normalization`, or call :func:`set_normalization` after building."""
    from .. import nn

    m, _ = _stats(mean, std)
    layer = nn.Conv2d(m.size, m.size, 1, dtype=dtype)
    set_normalization(layer, mean, std)
    return layer


def _stats(mean: Any, std: Any) -> Tuple[np.ndarray, np.ndarray]:
    mean, std = np.atleast_1d(np.asarray(mean, np.float64)), np.atleast_1d(np.asarray(std, np.float64))
    if mean.shape != std.shape or mean.ndim != 1:
        raise ValueError(f"mean and std must have one value per channel, got {mean.shape} and {std.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ValueError("mean must be finite and std finite and > 0")
    return mean, std


def set_normalization(layer: Any, mean: Sequence[float], std: Sequence[float]) -> None:
    """Sets a C->C 1x1 :class:`~bionn.nn.Conv2d` to ``(x - mean) / std`` per channel and freezes it."""
    mean, std = _stats(mean, std)
    c = mean.size
    w, b = layer.parameters()
    if tuple(w.shape) != (c, c, 1, 1):
        raise ValueError(f"the layer must be a {c}->{c} 1x1 convolution, its weight is {w.shape}")
    w.data[...] = np.diag(1.0 / std).reshape(c, c, 1, 1)
    b.data[...] = -mean / std
    w.trainable = b.trainable = False


def with_normalization(layers: list, normalize: Optional[Tuple[Any, Any]], seed: int, dtype: Any) -> Any:
    """``Sequential(layers, seed)``, with a frozen ``normalization_layer`` in front when ``normalize =
    (mean, std)`` is given (set after the model's seeded initialisation)."""
    from .. import nn

    if normalize is None:
        return nn.Sequential(layers, seed=seed)
    model = nn.Sequential([normalization_layer(*normalize, dtype=dtype), *layers], seed=seed)
    set_normalization(model[0], *normalize)
    return model


def flexible_layers(model: Any) -> list:
    """The model's :class:`~bionn.nn.FlexibleConv2d` layers, in order."""
    from .. import nn

    return [layer for layer in model if isinstance(layer, nn.FlexibleConv2d)]


def small_network(
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    seed: int = 0,
    dtype: Any = np.float32,
    normalize: Optional[Tuple[Any, Any]] = None,
) -> Any:
    """The paper's small network (Fig. 2B, S1): Flexible[Conv2d(1, 12, 5) ‖ MaxPool2d(5, 1)] (s = 50) →
    Sigmoid → Linear(6912, 120) → Linear(120, 60) → Linear(60, 10), as listed (no other activation).
    ``threshold_mode="baseline"`` is the paper's baseline (convolution everywhere). ``normalize=(mean,
    std)`` puts ``normalization_layer`` in front (inputs stay in [0, 1])."""
    from .. import nn

    d = dict(dtype=dtype)
    flex = nn.FlexibleConv2d(1, 12, 5, input_size=(28, 28), pool_kernel=5, pool_stride=1, threshold=threshold,
                             threshold_mode=threshold_mode, **d)  # fmt: skip
    dense = [nn.Dense(6912, 120, **d), nn.Dense(120, 60, **d), nn.Dense(60, 10, **d)]
    return with_normalization([flex, nn.Sigmoid(**d), nn.Flatten(**d), *dense], normalize, seed, dtype)


_VGG_BLOCKS = ((128, 2, 0.4), (256, 3, 0.4), (512, 3, 0.4), (512, 3, 0.5))  # blocks 2-5: width, convs, dropout


def vgg16_network(
    layers: str = "single",
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    seed: int = 0,
    in_channels: int = 3,
    size: int = 32,
    normalize: Optional[Tuple[Any, Any]] = None,
    dtype: Any = np.float32,
) -> Any:
    """The paper's VGG16 (S1 "Single Layer Baseline/Flexible VGG16").

    Block 1: Conv2d(C, 64, 3, pad 1) → BN → ReLU → Flexible[Conv2d(64, 64, 3, pad 0) ‖ MaxPool2d(3, 1)] →
    Sigmoid → BN → ReLU → Dropout2d(0.3); blocks 2-5: 2, 3, 3, 3 × [Conv2d(3, pad 1) → BN → ReLU] at
    128, 256, 512, 512 channels, each block ending MaxPool2d(2) → Dropout2d(0.4, 0.4, 0.4, 0.5); then
    Linear(512, 100) → Dropout(0.5) → BN1d → ReLU → Dropout(0.5) → Linear(100, 10). BN momentum 0.1.

    ``layers="single"``: the flexible layer of block 1 only (``threshold_mode="baseline"`` = the
    paper's baseline). ``layers="all"``: every convolution whose input and output channels agree
    (9 of 13; those are the ones a flexible layer can replace, its pooled map needing the output's
    channels) is a flexible layer with padding 1 (block 1's keeps padding 0), followed by Sigmoid as
    in block 1; the four channel-changing convolutions stay convolutions (a declared reading: the
    paper does not list its All-Layer network).
    """
    from .. import nn

    if layers not in ("single", "all"):
        raise ValueError(f"layers must be 'single' or 'all', got {layers!r}")
    d = dict(dtype=dtype)

    def flex(c: int, s: int, pad: int) -> list:
        f = nn.FlexibleConv2d(c, c, 3, input_size=(s, s), padding=pad, pool_kernel=3, pool_stride=1,
                              pool_padding=pad, threshold_mode=threshold_mode, threshold=threshold, **d)  # fmt: skip
        return [f, nn.Sigmoid(**d)]

    def bn_relu(c: int) -> list:
        return [nn.BatchNorm2d(c, momentum=0.1, **d), nn.ReLU(**d)]

    seq = [nn.Conv2d(in_channels, 64, 3, padding=1, **d), *bn_relu(64)]
    seq += flex(64, size, 0) + bn_relu(64) + [nn.Dropout2d(0.3, **d)]
    s, c_in = size - 2, 64
    for width, n_conv, drop in _VGG_BLOCKS:
        for _ in range(n_conv):
            if layers == "all" and c_in == width:
                seq += flex(width, s, 1)
            else:
                seq.append(nn.Conv2d(c_in, width, 3, padding=1, **d))
            seq += bn_relu(width)
            c_in = width
        seq += [nn.MaxPool2d(2, **d), nn.Dropout2d(drop, **d)]
        s //= 2
    head = [nn.Flatten(**d), nn.Dense(512 * s * s, 100, **d), nn.Dropout(0.5, **d)]
    head += [nn.BatchNorm1d(100, momentum=0.1, **d), nn.ReLU(**d), nn.Dropout(0.5, **d), nn.Dense(100, 10, **d)]
    return with_normalization(seq + head, normalize, seed, dtype)


def conv2d_model(
    seed: int = 0,
    in_channels: int = 3,
    size: int = 32,
    normalize: Optional[Tuple[Any, Any]] = None,
    dtype: Any = np.float32,
) -> Any:
    """The paper's "Conv2D model" (S1; the black-box PGD source): Conv(C, 64) → ReLU → Conv(64, 64) → ReLU →
    MaxPool(2) → Conv(64, 128) → ReLU → Conv(128, 128) → ReLU → MaxPool(2) → Linear(8192, 256) → ReLU →
    Linear(256, 10), 3x3 convolutions with padding 1."""
    from .. import nn

    d, r = dict(dtype=dtype), nn.ReLU
    b1 = [nn.Conv2d(in_channels, 64, 3, padding=1, **d), r(**d), nn.Conv2d(64, 64, 3, padding=1, **d), r(**d)]
    b2 = [nn.Conv2d(64, 128, 3, padding=1, **d), r(**d), nn.Conv2d(128, 128, 3, padding=1, **d), r(**d)]
    s = size // 4
    head = [nn.Flatten(**d), nn.Dense(128 * s * s, 256, **d), r(**d), nn.Dense(256, 10, **d)]
    seq = b1 + [nn.MaxPool2d(2, **d)] + b2 + [nn.MaxPool2d(2, **d)] + head
    return with_normalization(seq, normalize, seed, dtype)


def category_means(rows: Sequence[Dict[str, Any]], severities: Sequence[int]) -> Dict[str, float]:
    """Per category of :data:`CORRUPTION_CATEGORIES`: the accuracy averaged over its families and
    ``severities`` (``corruption_<category>``) and over its families at severity 5
    (``corruption_<category>_sev5``, when 5 was evaluated)."""
    out = {}
    for cat, fams in CORRUPTION_CATEGORIES.items():
        acc = [r["accuracy"] for r in rows if r["corruption"] in fams and r["severity"] in severities]
        out[f"corruption_{cat}"] = float(np.mean(acc)) if acc else float("nan")
        if 5 in severities:
            acc5 = [r["accuracy"] for r in rows if r["corruption"] in fams and r["severity"] == 5]
            out[f"corruption_{cat}_sev5"] = float(np.mean(acc5)) if acc5 else float("nan")
    return out


def bandpass_summary(centers: Sequence[float], accuracy: Sequence[float]) -> Dict[str, float]:
    """``bandpass_low``: mean accuracy over the centres inside :data:`LOW_BAND` (the paper's 5-20 Hz,
    scaled); ``bandpass_high``: over the centres above it; ``bandpass_drop`` = low - high."""
    c, a = np.asarray(centers, float), np.asarray(accuracy, float)
    low, high = (c >= LOW_BAND[0]) & (c <= LOW_BAND[1]), c > LOW_BAND[1]
    lo = float(a[low].mean()) if low.any() else float("nan")
    hi = float(a[high].mean()) if high.any() else float("nan")
    return {"bandpass_low": lo, "bandpass_high": hi, "bandpass_drop": lo - hi}


def evaluate_small(
    model: Any,
    Xt: np.ndarray,
    yt: np.ndarray,
    *,
    seed: int,
    fgsm_eps: float = 0.1,
    eps_space: str = "pixel",
    norm_std: float = FMNIST_STD,
    eps_grid: Sequence[float] = (),
    eval_thresholds: Sequence[float] = (),
    train_threshold: float = 0.5,
    corruption_severities: Sequence[int] = (),
    corruption_table: str = "cifar",
    bandpass_centers: Sequence[float] = (),
    bandpass_fwhm: float = 1.0,
) -> Dict[str, Any]:
    """Every evaluation of a trained small network on the test images ``Xt`` (pixels in [0, 1]).

    Returns metrics ``accuracy``, ``fgsm_accuracy`` (ε = ``fgsm_eps`` read in ``eps_space``),
    ``fgsm_pixel_eps``; with ``eval_thresholds`` ``acc_at_<T>``, ``best_threshold``; for a learned
    threshold ``threshold_mean/sd/min/max``; with ``corruption_severities`` the
    :func:`category_means`; with ``bandpass_centers`` the :func:`bandpass_summary`; and ``curves``
    (per-run tables, named with "/", not per-epoch curves): ``fgsm/eps``, ``fgsm/accuracy`` (ε in
    ``eps_space``); ``threshold/value``, ``threshold/accuracy``; ``threshold/map`` (the learned T,
    flattened (12, 24, 24)); ``corruption/family`` (index into :data:`GREYSCALE_FAMILIES`),
    ``corruption/severity``, ``corruption/accuracy``; ``bandpass/center``, ``bandpass/accuracy``.
    """
    from .. import attacks, corruptions

    out: Dict[str, Any] = {"accuracy": attacks.accuracy(model, Xt, yt)}
    curves: Dict[str, list] = {}
    px = pixel_eps(fgsm_eps, eps_space, norm_std)
    out["fgsm_pixel_eps"] = px
    out["fgsm_accuracy"] = attacks.evaluate_robustness(model, Xt, yt, eps=[px], attack="fgsm")[px]
    if len(eps_grid):
        grid = [float(e) for e in eps_grid]
        acc = attacks.evaluate_robustness(model, Xt, yt, eps=[pixel_eps(e, eps_space, norm_std) for e in grid])
        curves["fgsm/eps"], curves["fgsm/accuracy"] = grid, [float(v) for v in acc.values()]
    flex = flexible_layers(model)[0]
    if flex.threshold_mode in ("learned", "reverse"):
        t = np.asarray(next(p for p in flex.parameters() if p.tag == "threshold").data, np.float64)
        out.update(threshold_mean=float(t.mean()), threshold_sd=float(t.std()))
        out.update(threshold_min=float(t.min()), threshold_max=float(t.max()))
        curves["threshold/map"] = [round(float(v), 5) for v in t.ravel()]
    if len(eval_thresholds):
        accs = []
        for t in eval_thresholds:
            flex.set_threshold(float(t))
            accs.append(attacks.accuracy(model, Xt, yt))
            out[f"acc_at_{float(t):g}"] = accs[-1]
        flex.set_threshold(float(train_threshold))
        curves["threshold/value"], curves["threshold/accuracy"] = [float(t) for t in eval_thresholds], accs
        out["best_threshold"] = float(eval_thresholds[int(np.argmax(accs))])
    if len(corruption_severities):
        sev = [int(s) for s in corruption_severities]
        rows = corruptions.evaluate_corruptions(
            model, Xt, yt, names=GREYSCALE_FAMILIES, severities=sev, seed=seed, table=corruption_table, as_frame=False
        )
        rows = [r for r in rows if r["severity"] > 0]
        out.update(category_means(rows, sev))
        curves["corruption/family"] = [GREYSCALE_FAMILIES.index(r["corruption"]) for r in rows]
        curves["corruption/severity"] = [int(r["severity"]) for r in rows]
        curves["corruption/accuracy"] = [float(r["accuracy"]) for r in rows]
    if len(bandpass_centers):
        centers = [float(c) for c in bandpass_centers]
        rows = corruptions.evaluate_bandpass(model, Xt, yt, centers, bandpass_fwhm, as_frame=False)
        acc = [float(r["accuracy"]) for r in rows]
        out.update(bandpass_summary(centers, acc))
        curves["bandpass/center"], curves["bandpass/accuracy"] = centers, acc
    out["curves"] = curves
    return out


# ================================================================================================
# data, optimizer and the run functions of the experiments (re-exported by bionn.papers.flexible)
# ================================================================================================
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
    """Fashion-MNIST in [0, 1], shape (N, 1, 28, 28): the whole official split, or a class-balanced random
    subset of ``n_train`` training images (drawn with ``seed``) and the first ``n_test`` test images."""
    return _subset(fashion_mnist(), n_train, n_test, seed)


def load_cifar10_subset(n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0) -> Tuple:
    """CIFAR-10 in [0, 1], (N, 3, 32, 32), subset as :func:`load_fmnist`; :class:`DataUnavailable` when absent."""
    return _subset(cifar10_or_skip(), n_train, n_test, seed)


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
    lr: float = 0.001,
    batch_size: int = 100,
    validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    flip: bool = False,
    seed: int = 0,
) -> Dict[str, list]:
    """Trains ``model`` with :func:`paper_optimizer`; returns the per-epoch history (dict of lists).
    ``flip``: every epoch, each training image is flipped horizontally with probability 0.5 (the
    paper's CIFAR-10 augmentation; drawn with ``seed``)."""
    from .. import losses

    opt, sched = paper_optimizer(model, lr=lr)
    kw = dict(loss=losses.CrossEntropy(), optimizer=opt, scheduler=sched, batch_size=batch_size)
    if not flip:
        hist = model.fit(X, y, epochs=epochs, validation_data=validation_data, **kw)
        return {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    rng, out = np.random.default_rng(seed), {}
    for _ in range(epochs):
        pick = rng.random(len(X)) < 0.5
        Xe = X.copy()
        Xe[pick] = Xe[pick][..., ::-1]
        hist = model.fit(Xe, y, epochs=1, validation_data=validation_data, **kw)
        for k, vals in hist.history.items():
            out.setdefault(k, []).extend(float(v) for v in vals)
    return out


def train_small(
    seed: int,
    threshold_mode: str = "learned",
    threshold: float = 0.5,
    n_train: int = 60000,
    n_test: int = 10000,
    epochs: int = 150,
    lr: float = 0.001,
    batch_size: int = 100,
    normalize: bool = True,
    norm_mean: float = FMNIST_MEAN,
    norm_std: float = FMNIST_STD,
    eps_space: str = "pixel",
    fgsm_eps: float = 0.1,
    eps_grid: Sequence[float] = (),
    eval_thresholds: Sequence[float] = (),
    corruption_severities: Sequence[int] = (),
    corruption_table: str = "cifar",
    bandpass_centers: Sequence[float] = (),
    bandpass_fwhm: float = 1.0,
) -> Dict[str, Any]:
    """Trains the small network on Fashion-MNIST (Table 2 protocol) and evaluates it with
    :func:`~bionn.papers._flexible_nets.evaluate_small`: ``accuracy`` (clean test), ``fgsm_accuracy``
    (FGSM at ``fgsm_eps`` in ``eps_space``), per-threshold, threshold-map, corruption and band-pass
    metrics, and ``curves`` (those tables plus the per-epoch training ``loss`` and ``accuracy``).
    ``normalize=False`` trains on [0, 1] pixels (an option; then ε is in pixel units either way)."""
    if eps_space not in EPS_SPACES:
        raise ValueError(f"eps_space must be one of {EPS_SPACES}, got {eps_space!r}")
    X, y, Xt, yt = load_fmnist(n_train, n_test, seed=seed)
    norm = (norm_mean, norm_std) if normalize else None
    model = small_network(threshold_mode, threshold, seed=seed, normalize=norm)
    hist = train(model, X, y, epochs, lr, batch_size)
    out = evaluate_small(
        model,
        Xt,
        yt,
        seed=seed,
        fgsm_eps=fgsm_eps,
        eps_space=eps_space if normalize else "pixel",
        norm_std=norm_std,
        eps_grid=eps_grid,
        eval_thresholds=eval_thresholds if threshold_mode == "uniform" else (),
        train_threshold=threshold,
        corruption_severities=corruption_severities,
        corruption_table=corruption_table,
        bandpass_centers=bandpass_centers,
        bandpass_fwhm=bandpass_fwhm,
    )
    out["curves"].update({k: v for k, v in hist.items() if k in ("loss", "accuracy")})
    return out


def threshold_sweep(seed: int, threshold: float, grid: Sequence[float], **config: Any) -> Dict[str, Any]:
    """Fig. 3: trains with a fixed uniform threshold (:func:`train_small`), validates at each threshold of
    ``grid``: ``acc_at_<T>``, ``best_threshold``, ``trained_is_best`` (1.0 when T has the best accuracy)."""
    r = train_small(seed, "uniform", threshold, eval_thresholds=grid, **config)
    accs = {float(t): r[f"acc_at_{float(t):g}"] for t in grid}
    r["trained_is_best"] = float(accs[float(threshold)] >= max(accs.values()))
    return r


def vgg_cifar(
    seed: int,
    threshold_mode: str,
    layers: str = "single",
    per_class: Optional[int] = None,
    n_test: int = 10000,
    epochs: int = 150,
    lr: float = 0.001,
    batch_size: int = 100,
    flip: bool = True,
    validate_every_epoch: bool = True,
    fgsm_eps_grid: Sequence[float] = (),
    fgsm_repeats: int = 1,
    pgd_eps: float = 0.0,
    pgd_alpha: float = 0.003,
    pgd_steps: int = 20,
    pgd_repeats: int = 1,
) -> Dict[str, Any]:
    """VGG16 on CIFAR-10 at the paper's protocol (Fig. 4B/4C/4D, Table 3): normalised images (a frozen
    first layer), random horizontal flips, SGD as :func:`train`. ``per_class`` draws a class-balanced
    training subset with ``seed`` (Fig. 4C: 100). Returns ``val_accuracy`` (last epoch), and with
    ``validate_every_epoch`` ``mean_val_accuracy`` and ``curves["val_accuracy"]``; with ``fgsm_eps_grid``
    ``curves["fgsm/eps"]``, ``curves["fgsm/accuracy"]`` (pixel ε, ``fgsm_repeats`` averaged); with
    ``pgd_eps > 0`` ``natural``, ``pgd_whitebox`` and ``pgd_blackbox`` (source: :func:`conv2d_model`
    trained on the same images with the same protocol), each averaged over ``pgd_repeats`` random starts.
    :class:`DataUnavailable` when CIFAR-10 is absent."""
    from .. import attacks, data

    X, y, Xt, yt = cifar10_or_skip()
    if per_class is not None:
        X, y = data.subsample(X, y, per_class=per_class, seed=seed)
    Xt, yt = Xt[:n_test], yt[:n_test]
    norm = (CIFAR10_MEAN, CIFAR10_STD)
    model = vgg16_network(layers, threshold_mode, seed=seed, normalize=norm)
    val = (Xt, yt) if validate_every_epoch else None
    hist = train(model, X, y, epochs, lr, batch_size, validation_data=val, flip=flip, seed=seed)
    out: Dict[str, Any] = {"val_accuracy": attacks.accuracy(model, Xt, yt)}
    curves: Dict[str, list] = {k: v for k, v in hist.items() if k in ("loss", "accuracy", "val_accuracy")}
    if validate_every_epoch:
        out["mean_val_accuracy"] = float(np.mean(hist["val_accuracy"]))
    if len(fgsm_eps_grid):
        grid = [float(e) for e in fgsm_eps_grid]
        acc = attacks.evaluate_robustness(model, Xt, yt, eps=grid, attack="fgsm", repeats=fgsm_repeats, seed=seed)
        curves["fgsm/eps"], curves["fgsm/accuracy"] = grid, [float(v) for v in acc.values()]
    if pgd_eps > 0:
        source = conv2d_model(seed=seed, normalize=norm)
        train(source, X, y, epochs, lr, batch_size, flip=flip, seed=seed)
        kw = dict(eps=[pgd_eps], attack="pgd", alpha=pgd_alpha, steps=pgd_steps, repeats=pgd_repeats, seed=seed)
        out["natural"] = out["val_accuracy"]
        out["pgd_whitebox"] = attacks.evaluate_robustness(model, Xt, yt, **kw)[pgd_eps]
        out["pgd_blackbox"] = attacks.evaluate_robustness(model, Xt, yt, surrogate=source, **kw)[pgd_eps]
    out["curves"] = curves
    return out
