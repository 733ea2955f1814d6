"""NumPy data utilities: splitting, standardising, one-hot encoding, class-balanced subsampling,
and vectorised augmentation with an explicit random generator (:func:`random_horizontal_flip`,
:func:`random_crop`, :func:`random_translate`)."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import (
    as_generator,
    as_integer_labels,
    as_ndarray,
    check_bool,
    check_finite,
    check_float,
    check_int,
    check_numeric,
    check_size,
    pair,
)

__all__ = [
    "train_val_split",
    "standardize",
    "one_hot",
    "subsample",
    "random_horizontal_flip",
    "random_crop",
    "random_translate",
]

RngLike = Union[np.random.Generator, int, np.integer, np.random.SeedSequence]


def _as_images(X, name: str = "X") -> np.ndarray:
    X = check_numeric(as_ndarray(X, name), name)
    if X.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {X.shape}")
    if min(X.shape[1:]) < 1:
        raise ValueError(f"{name} must have C, H, W >= 1, got shape {X.shape}")
    return check_finite(X, name)


def _as_samples(X, name: str = "X") -> np.ndarray:
    X = as_ndarray(X, name)
    if X.ndim < 1:
        raise ValueError(f"{name} must have a leading sample axis, got a 0-d array")
    return X


def train_val_split(
    X: np.ndarray, y: np.ndarray, val_fraction: float = 0.1, seed: RngLike = 0, stratify: bool = True
) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """Split ``(X, y)`` into shuffled training and validation sets.

    Parameters
    ----------
    X : numpy.ndarray
        Samples along axis 0.
    y : numpy.ndarray
        1-D integer labels, one per sample.
    val_fraction : float, optional
        Fraction of samples in the validation set, in (0, 1). The validation set has
        ``round(N * val_fraction)`` samples, clipped to ``[1, N - 1]``.
    seed : int or numpy.random.Generator, optional
        Randomness source (deterministic for an int).
    stratify : bool, optional
        Keep class proportions: each class contributes its proportional share of the validation
        set, rounded by the largest-remainder method so the total is exact.

    Returns
    -------
    (X_train, y_train), (X_val, y_val) : tuple of tuples of numpy.ndarray
        Both sets in random order; together they hold every sample exactly once.
    """
    X = _as_samples(X, "X")
    y = as_integer_labels(y, "y", X.shape[0])
    stratify = check_bool(stratify, "stratify")
    val_fraction = check_float(
        val_fraction, "val_fraction", minimum=0.0, maximum=1.0, min_inclusive=False, max_inclusive=False
    )
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 samples to split, got {n}")
    rng = as_generator(seed, "seed")
    n_val = int(np.floor(n * float(val_fraction) + 0.5))
    n_val = min(max(n_val, 1), n - 1)
    if stratify:
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        num = counts.astype(np.int64) * n_val
        k = num // n
        rest = n_val - int(k.sum())
        order = np.argsort(-(num % n), kind="stable")  # largest remainders first
        k[order[:rest]] += 1
        val_parts, train_parts = [], []
        for ci in range(classes.size):
            idx = rng.permutation(np.flatnonzero(inverse == ci))
            val_parts.append(idx[: k[ci]])
            train_parts.append(idx[k[ci] :])
        val_idx = rng.permutation(np.concatenate(val_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    else:
        perm = rng.permutation(n)
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    return (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx])


def standardize(
    X_train: np.ndarray, *others: np.ndarray, axis: Union[int, Tuple[int, ...], None, str] = "auto", eps: float = 1e-8
) -> tuple:
    """Standardize arrays with the mean and standard deviation of ``X_train``.

    Parameters
    ----------
    X_train : numpy.ndarray
        Data whose statistics are used (finite, at least one sample along axis 0).
    *others : numpy.ndarray
        Further arrays (validation, test) transformed with the *training* statistics; they must
        have ``X_train``'s shape except along the reduced axes.
    axis : int, tuple of int, None or 'auto', optional
        Axes the statistics are computed over (reduced), as in :func:`numpy.mean`. ``'auto'``:
        per channel for 4-D ``(N, C, H, W)`` input (axes ``(0, 2, 3)``), per feature otherwise
        (axis 0). None: one global mean and std.
    eps : float, optional
        Standard deviations below ``eps`` (constant features) are replaced by 1.

    Returns
    -------
    tuple
        ``(X_train_std, *others_std, (mean, std))``; ``mean`` and ``std`` keep the reduced axes
        (size 1) so that ``(X - mean) / std`` reproduces the transform. Float inputs keep their
        dtype; integer inputs become ``float32``.
    """
    Xt = as_ndarray(X_train, "X_train")
    check_numeric(Xt, "X_train")
    if Xt.ndim < 1 or Xt.shape[0] < 1:
        raise ValueError(f"X_train must have at least one sample, got shape {Xt.shape}")
    check_finite(Xt, "X_train")
    eps = check_float(eps, "eps", minimum=0.0)
    if isinstance(axis, str):
        if axis != "auto":
            raise ValueError(f"axis must be an int, a tuple of ints, None or 'auto', got {axis!r}")
        red = (0, 2, 3) if Xt.ndim == 4 else (0,)
    elif axis is None:
        red = tuple(range(Xt.ndim))
    else:
        axes = axis if isinstance(axis, tuple) else (axis,)
        red_list = []
        for a in axes:
            a = check_int(a, "axis")
            if not -Xt.ndim <= a < Xt.ndim:
                raise ValueError(f"axis {a} is out of range for X_train with {Xt.ndim} dims")
            red_list.append(a % Xt.ndim)
        if len(set(red_list)) != len(red_list):
            raise ValueError(f"axis contains repeated axes: {axis!r}")
        red = tuple(sorted(red_list))
    out_dtype = np.result_type(Xt.dtype, np.float32)
    mean = Xt.mean(axis=red, dtype=np.float64, keepdims=True)
    std = Xt.std(axis=red, dtype=np.float64, keepdims=True)
    std = np.where(std < eps, 1.0, std)
    mean_o, std_o = mean.astype(out_dtype), std.astype(out_dtype)
    results = []
    for k, A in enumerate((Xt,) + others):
        name = "X_train" if k == 0 else f"others[{k - 1}]"
        A = as_ndarray(A, name)
        check_numeric(A, name)
        if A.ndim != Xt.ndim or any(A.shape[i] != Xt.shape[i] for i in range(Xt.ndim) if i not in red):
            raise ValueError(
                f"{name} has shape {A.shape}, incompatible with X_train's shape "
                f"{Xt.shape} (must match on the non-reduced axes)"
            )
        if k:
            check_finite(A, name)
        results.append((A.astype(out_dtype) - mean_o) / std_o)
    return (*results, (mean_o, std_o))


def one_hot(y: np.ndarray, num_classes: Optional[int] = None, dtype=np.float32) -> np.ndarray:
    """One-hot encode integer labels.

    Parameters
    ----------
    y : numpy.ndarray
        1-D non-negative integer labels.
    num_classes : int, optional
        Number of classes; default ``max(y) + 1``.
    dtype : numpy dtype-like, optional
        Output dtype.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(len(y), num_classes)`` with a single 1 per row.
    """
    y = as_integer_labels(y, "y")
    if y.size and y.min() < 0:
        raise ValueError(f"y must be non-negative, found {int(y.min())}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("num_classes must be given when y is empty")
        num_classes = int(y.max()) + 1
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"y contains label {int(y.max())} but num_classes={num_classes}")
    try:
        dtype = np.dtype(dtype)
    except Exception:
        raise TypeError(f"dtype must be a NumPy numeric dtype, got {dtype!r}") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"dtype must be a NumPy numeric dtype, got {dtype}")
    check_size("len(y) * num_classes", y.shape[0] * num_classes, dtype.itemsize)
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def subsample(
    X: np.ndarray, y: np.ndarray, per_class: int, seed: RngLike = 0, classes: Optional[Sequence[int]] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Draw exactly ``per_class`` samples of every class, without replacement.

    Parameters
    ----------
    X : numpy.ndarray
        Samples along axis 0.
    y : numpy.ndarray
        1-D integer labels.
    per_class : int
        Samples to keep from each class (>= 1).
    seed : int or numpy.random.Generator, optional
        Randomness source.
    classes : sequence of int, optional
        Classes to draw from (each must have ``per_class`` samples); default: the classes in ``y``.

    Returns
    -------
    X_sub, y_sub : numpy.ndarray
        ``per_class * n_classes`` samples in random order.

    Raises
    ------
    ValueError
        A class has fewer than ``per_class`` samples (the message lists them).
    """
    X = _as_samples(X, "X")
    y = as_integer_labels(y, "y", X.shape[0])
    per_class = check_int(per_class, "per_class", minimum=1)
    rng = as_generator(seed, "seed")
    if classes is None:
        cls = np.unique(y)
    else:
        cls = as_integer_labels(classes, "classes")
        if np.unique(cls).size != cls.size:
            raise ValueError(f"classes contains duplicates: {cls.tolist()}")
    if cls.size == 0:
        raise ValueError("no classes to sample from (y is empty)")
    pools = [np.flatnonzero(y == c) for c in cls]
    short = [(int(c), p.size) for c, p in zip(cls, pools) if p.size < per_class]
    if short:
        desc = ", ".join(f"class {c} has {n}" for c, n in short)
        raise ValueError(f"y has too few samples of a class for per_class={per_class}: {desc} sample(s)")
    idx = np.concatenate([rng.choice(p, per_class, replace=False) for p in pools])
    idx = rng.permutation(idx)
    return X[idx], y[idx]


def random_horizontal_flip(X: np.ndarray, p: float = 0.5, *, rng: RngLike) -> np.ndarray:
    """Flip each image left-right with probability ``p``.

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    p : float, optional
        Flip probability in ``[0, 1]``.
    rng : numpy.random.Generator or int
        Randomness source (an int is used as a seed).

    Returns
    -------
    numpy.ndarray
        New array, same shape and dtype as ``X``.
    """
    X = _as_images(X, "X")
    p = check_float(p, "p", minimum=0.0, maximum=1.0)
    gen = as_generator(rng, "rng")
    flip = gen.random(X.shape[0]) < float(p)
    out = X.copy()
    out[flip] = X[flip][..., ::-1]
    return out


def _crop_windows(
    X: np.ndarray, pad: Tuple[int, int], size: Tuple[int, int], gen: np.random.Generator, pad_name: str
) -> np.ndarray:
    n = X.shape[0]
    ph, pw = pad
    h, w = size
    # Checked before np.pad allocates: the padded copy and the cropped output.
    n_planes, hp, wp = n * X.shape[1], X.shape[2] + 2 * ph, X.shape[3] + 2 * pw
    check_size(f"N * C * (H + 2 * {pad_name}) * (W + 2 * {pad_name})", n_planes * hp * wp, X.itemsize)
    check_size("N * C * size", n_planes * h * w, X.itemsize)
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if (ph or pw) else X
    top = gen.integers(0, Xp.shape[2] - h + 1, size=n)
    left = gen.integers(0, Xp.shape[3] - w + 1, size=n)
    windows = np.lib.stride_tricks.sliding_window_view(Xp, (h, w), axis=(2, 3))
    # windows: (N, C, Hp-h+1, Wp-w+1, h, w); indexing axes 0, 2, 3 gives (N, C, h, w).
    return np.ascontiguousarray(windows[np.arange(n), :, top, left])


def random_crop(
    X: np.ndarray, size: Union[int, Tuple[int, int]], padding: Union[int, Tuple[int, int]] = 0, *, rng: RngLike
) -> np.ndarray:
    """Zero-pad each image, then crop a random window (like torchvision ``RandomCrop``).

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    size : int or (int, int)
        Output height and width.
    padding : int or (int, int), optional
        Zeros added on each side (top/bottom, left/right).
    rng : numpy.random.Generator or int
        Randomness source; each image gets its own offset, uniform over all valid positions.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(N, C, size_h, size_w)``, dtype of ``X``.
    """
    X = _as_images(X, "X")
    h, w = pair(size, "size", 1)
    ph, pw = pair(padding, "padding", 0)
    if h > X.shape[2] + 2 * ph or w > X.shape[3] + 2 * pw:
        raise ValueError(f"size {(h, w)} is larger than the padded image {(X.shape[2] + 2 * ph, X.shape[3] + 2 * pw)}")
    gen = as_generator(rng, "rng")
    return _crop_windows(X, (ph, pw), (h, w), gen, "padding")


def random_translate(X: np.ndarray, max_shift: Union[int, Tuple[int, int]], *, rng: RngLike) -> np.ndarray:
    """Shift each image by a random integer offset, filling uncovered pixels with zeros.

    Parameters
    ----------
    X : numpy.ndarray
        Images of shape ``(N, C, H, W)``.
    max_shift : int or (int, int)
        Largest vertical / horizontal shift; each shift is uniform in ``[-max_shift, max_shift]``.
    rng : numpy.random.Generator or int
        Randomness source.

    Returns
    -------
    numpy.ndarray
        Array of the same shape and dtype as ``X``.
    """
    X = _as_images(X, "X")
    mh, mw = pair(max_shift, "max_shift", 0)
    gen = as_generator(rng, "rng")
    return _crop_windows(X, (mh, mw), (X.shape[2], X.shape[3]), gen, "max_shift")
