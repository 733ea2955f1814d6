"""The papers' synthetic data: the focusing-neuron paper's Gaussian blobs with noise columns (§4.1,
Table 1: :func:`make_focus_blobs`, :data:`FOCUS_BLOBS_GRID`, :func:`focus_blobs_grid`), the
authors' Fig. 3 data (scikit-learn's ``make_classification`` with uniform noise columns:
:func:`make_focus_classification`) and MNIST-cluttered frames (:func:`make_cluttered_mnist`)."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import (
    as_generator,
    as_integer_labels,
    as_ndarray,
    check_bool,
    check_choice,
    check_dtype,
    check_finite,
    check_float,
    check_int,
    check_numeric,
    check_size,
    pair,
)
from .transforms import RngLike

__all__ = [
    "make_focus_blobs",
    "make_focus_classification",
    "focus_blobs_grid",
    "FOCUS_BLOBS_GRID",
    "make_cluttered_mnist",
]

#: The parameter grid of Table 1 of the focusing-neuron paper (§4.1, "Synthetic data set, network
#: and training parameter sets"), sampled by :func:`focus_blobs_grid` for the random-configuration
#: experiment of Fig. 3 (750 runs). Keys are the keyword names used here:
#:
#: * ``n_samples`` -- "#Input Samples: N = {100, 200, 2000, 10000}" (training set size);
#: * ``n_informative`` -- "Input Length: nL = {4, 40, 400}" (informative columns);
#: * ``noise_ratio`` -- "Noisy Dimensions: nL*{0.0, 0.5, 1.0}" (noise columns / nL);
#: * ``noise`` -- "Noise Position: {Sides, Left}" (``'both'`` / ``'left'``);
#: * ``n_clusters_per_class`` -- "#Clusters: {1, 2, 4}";
#: * ``n_classes`` -- "#Classes: {2, 4, 8}";
#: * ``n_hidden`` -- "#Hidden Neurons: {4, 40, 100}";
#: * ``batch_fraction`` -- "Batch Size: N*{0.1, 0.05}";
#: * ``learning_rate`` -- "Learning rate: {0.01, 0.001}";
#: * ``l2_penalty`` -- "L2 Penalty: {True, False}".
FOCUS_BLOBS_GRID: Dict[str, Tuple] = {
    "n_samples": (100, 200, 2000, 10000),
    "n_informative": (4, 40, 400),
    "noise_ratio": (0.0, 0.5, 1.0),
    "noise": ("both", "left"),
    "n_clusters_per_class": (1, 2, 4),
    "n_classes": (2, 4, 8),
    "n_hidden": (4, 40, 100),
    "batch_fraction": (0.1, 0.05),
    "learning_rate": (0.01, 0.001),
    "l2_penalty": (True, False),
}

_NOISE_POSITIONS = ("left", "both", "none")
_NOISE_DISTRIBUTIONS = ("normal", "uniform")


def _check_noise_position(v, name: str) -> str:
    if isinstance(v, str) and v.lower() == "sides":  # the paper's word for noise on both sides
        v = "both"
    return check_choice(v, name, _NOISE_POSITIONS)


def _blob_centers(gen: np.random.Generator, n_centers: int, dim: int, class_sep: float) -> np.ndarray:
    """``n_centers`` distinct hypercube vertices ``class_sep * {-1, +1}^dim`` (random order).

    When the hypercube has fewer vertices than centres (only ``dim`` <= 4 with many classes and
    clusters), every vertex is used and the remaining centres are drawn uniformly inside the cube.
    """
    if dim <= 30:
        n_vertices = 1 << dim
        k = min(n_centers, n_vertices)
        codes = gen.choice(n_vertices, size=k, replace=False)
        bits = (codes[:, None] >> np.arange(dim)[None, :]) & 1
        signs = bits.astype(np.float64) * 2.0 - 1.0
        if k < n_centers:
            extra = gen.uniform(-1.0, 1.0, size=(n_centers - k, dim))
            signs = np.concatenate([signs, extra], axis=0)
    else:
        # 2**dim >> n_centers: collisions are astronomically unlikely, but redraw to be exact.
        signs = gen.choice(np.array([-1.0, 1.0]), size=(n_centers, dim))
        while np.unique(signs, axis=0).shape[0] < n_centers:  # pragma: no cover
            signs = gen.choice(np.array([-1.0, 1.0]), size=(n_centers, dim))
    return class_sep * signs


def make_focus_blobs(
    n_samples: int = 2000,
    n_informative: int = 20,
    *,
    n_test: Optional[int] = None,
    noise: str = "left",
    noise_ratio: float = 1.0,
    n_noise: Optional[int] = None,
    noise_distribution: str = "normal",
    noise_mean: float = 0.0,
    noise_std: float = 1.0,
    n_classes: int = 2,
    n_clusters_per_class: int = 1,
    cluster_std: float = 1.0,
    class_sep: float = 1.0,
    normalize: bool = True,
    dtype=np.float32,
    return_info: bool = False,
    seed: RngLike = 0,
):
    """Gaussian-blob classification data with uninformative noise columns (paper §4.1, Table 1).

    The synthetic experiment of the focusing-neuron paper (§4.1 "Learning to Focus"): a Gaussian
    blob data set of ``n_informative`` (nL) informative columns, to which ``n_noise`` columns of
    pure noise (N(0, 1) in the paper) are added on the left or on both sides; then every column
    is normalised to zero mean and unit variance. With the defaults this is the paper's
    illustrative data set (two classes, 20 informative + 20 noise columns = 40 inputs, Fig. 2b
    with ``noise='left'``, Fig. 2a with ``noise='both'``). Table 1's grid is
    :data:`FOCUS_BLOBS_GRID`; :func:`focus_blobs_grid` samples it (Fig. 3).

    Each class consists of ``n_clusters_per_class`` isotropic Gaussian clusters of standard
    deviation ``cluster_std`` centred on distinct random vertices of the hypercube
    ``class_sep * {-1, +1}^nL`` (the scheme of scikit-learn's ``make_classification``; the paper
    does not give the blob geometry, so ``cluster_std``/``class_sep`` are this module's choice).
    Cluster ``k`` belongs to class ``k % n_classes``; samples are spread evenly over the clusters
    (so classes are balanced up to one sample) and shuffled.

    Parameters
    ----------
    n_samples : int, optional
        Training samples, Table 1 "#Input Samples: N = {100, 200, 2000, 10000}". Default 2000
        (§4.1 does not state N for Fig. 2).
    n_informative : int, optional
        Informative columns, Table 1 "Input Length: nL = {4, 40, 400}"; 20 in §4.1 (default).
    n_test : int, optional
        Samples of the independent test set "of the same distribution" (§4.1); its size is not
        given in the paper; default ``n_samples``. May be 0.
    noise : {'left', 'both', 'none'}, optional
        Where the noise columns go, Table 1 "Noise Position: {Sides, Left}" (``'sides'`` is
        accepted for ``'both'``). ``'both'`` puts ``n_noise // 2`` columns on the left and the rest
        on the right; ``'none'`` adds no noise columns (``n_noise`` must then be 0 or None).
    noise_ratio : float, optional
        Noise columns as a multiple of nL, Table 1 "Noisy Dimensions: nL*{0.0, 0.5, 1.0}";
        ``n_noise = round(noise_ratio * n_informative)``. Default 1.0 (§4.1: 20 + 20).
    n_noise : int, optional
        Number of noise columns; overrides ``noise_ratio`` when given.
    noise_distribution : {'normal', 'uniform'}, optional
        Distribution of the noise columns; §4.1 uses ``'normal'`` N(0, 1.0). ``'uniform'`` draws
        from the uniform law with the same mean and standard deviation.
    noise_mean, noise_std : float, optional
        Mean and standard deviation of the noise columns (0 and 1 in §4.1; irrelevant after
        normalisation except through sampling error).
    n_classes : int, optional
        Table 1 "#Classes: {2, 4, 8}"; 2 in §4.1 (default).
    n_clusters_per_class : int, optional
        Table 1 "#Clusters: {1, 2, 4}" (read as clusters per class); default 1.
    cluster_std : float, optional
        Standard deviation of each blob (not given in the paper; default 1.0).
    class_sep : float, optional
        Half side of the hypercube whose vertices are the blob centres (not given in the paper;
        default 1.0, as scikit-learn's ``make_classification``).
    normalize : bool, optional
        Normalise every column to zero mean and unit variance (§4.1 "each data column was
        normalized"), with the *training* mean and standard deviation applied to both sets.
    dtype : numpy dtype-like, optional
        Floating dtype of the returned features (default ``float32``).
    return_info : bool, optional
        Also return a dict describing the data set.
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives identical output on every call.

    Returns
    -------
    X_train : numpy.ndarray
        ``(n_samples, n_features)`` with ``n_features = n_informative + n_noise``.
    y_train : numpy.ndarray
        ``int64`` labels in ``0..n_classes-1``.
    X_test, y_test : numpy.ndarray
        ``n_test`` further samples from the same distribution (same centres, same normalisation).
    info : dict, only if ``return_info``
        ``informative`` (column indices of the informative features, contiguous), ``noise``
        (column indices of the noise columns), ``n_features``, ``centers`` (blob centres in the
        raw informative space, ``(n_classes * n_clusters_per_class, nL)``), ``center_class``
        (class of each centre), ``cluster_train`` / ``cluster_test`` (blob of each sample),
        ``mean`` / ``std`` (the normalisation statistics, None if ``normalize=False``).

    Raises
    ------
    TypeError
        An argument has the wrong type.
    ValueError
        An argument is out of range, or ``noise='none'`` with ``n_noise > 0``.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    n_informative = check_int(n_informative, "n_informative", minimum=1)
    n_test = n_samples if n_test is None else check_int(n_test, "n_test", minimum=0)
    noise = _check_noise_position(noise, "noise")
    noise_ratio = check_float(noise_ratio, "noise_ratio", minimum=0.0)
    noise_distribution = check_choice(noise_distribution, "noise_distribution", _NOISE_DISTRIBUTIONS)
    noise_mean = check_float(noise_mean, "noise_mean")
    noise_std = check_float(noise_std, "noise_std", minimum=0.0, min_inclusive=False)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    n_clusters_per_class = check_int(n_clusters_per_class, "n_clusters_per_class", minimum=1)
    cluster_std = check_float(cluster_std, "cluster_std", minimum=0.0, min_inclusive=False)
    class_sep = check_float(class_sep, "class_sep", minimum=0.0, min_inclusive=False)
    normalize = check_bool(normalize, "normalize")
    return_info = check_bool(return_info, "return_info")
    try:
        dtype = np.dtype(dtype)
    except Exception:  # numpy's message does not name the argument
        raise TypeError(f"dtype must be a NumPy floating dtype, got {dtype!r}") from None
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    n_noise_given = n_noise
    if n_noise is None:
        n_noise = 0 if noise == "none" else int(np.floor(min(noise_ratio * n_informative, 2.0**62) + 0.5))
    else:
        n_noise = check_int(n_noise, "n_noise", minimum=0)
        if noise == "none" and n_noise > 0:
            raise ValueError(f"n_noise={n_noise} but noise='none'; use noise='left' or 'both'")
    n_centers = n_classes * n_clusters_per_class
    if n_samples < n_classes:
        raise ValueError(f"n_samples={n_samples} is smaller than n_classes={n_classes}")
    # Checked before anything is drawn: the float64 centres and the (train + test) x features matrix.
    check_size("n_classes * n_clusters_per_class * n_informative", n_centers * n_informative, 8)
    what = "(n_samples + n_test) * (n_informative + n_noise)"
    if n_noise_given is None and noise != "none":
        what += " with n_noise = round(noise_ratio * n_informative)"
    check_size(what, (n_samples + n_test) * (n_informative + n_noise), 8)
    gen = as_generator(seed, "seed")

    centers = _blob_centers(gen, n_centers, n_informative, class_sep)
    center_class = np.arange(n_centers, dtype=np.int64) % n_classes
    n_total = n_samples + n_test
    # Even spread over the clusters within each set, shuffled.
    cl_train = gen.permutation(np.arange(n_samples, dtype=np.int64) % n_centers)
    cl_test = gen.permutation(np.arange(n_test, dtype=np.int64) % n_centers)
    cluster = np.concatenate([cl_train, cl_test])
    informative = centers[cluster] + cluster_std * gen.standard_normal((n_total, n_informative))
    if noise_distribution == "normal":
        noise_cols = noise_mean + noise_std * gen.standard_normal((n_total, n_noise))
    else:
        half = noise_std * np.sqrt(3.0)
        noise_cols = gen.uniform(noise_mean - half, noise_mean + half, size=(n_total, n_noise))
    n_left = n_noise if noise == "left" else n_noise // 2
    X = np.concatenate([noise_cols[:, :n_left], informative, noise_cols[:, n_left:]], axis=1)
    mean = std = None
    if normalize:
        mean = X[:n_samples].mean(axis=0)
        std = X[:n_samples].std(axis=0)
        std = np.where(std < 1e-12, 1.0, std)
        X = (X - mean) / std
    X = X.astype(dtype, copy=False)
    y = center_class[cluster]
    out = (X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:])
    if not return_info:
        return out
    info = {
        "informative": np.arange(n_left, n_left + n_informative),
        "noise": np.concatenate([np.arange(n_left), np.arange(n_left + n_informative, n_informative + n_noise)]),
        "n_features": n_informative + n_noise,
        "n_noise": n_noise,
        "noise_position": noise,
        "centers": centers,
        "center_class": center_class,
        "cluster_train": cl_train,
        "cluster_test": cl_test,
        "mean": mean,
        "std": std,
    }
    return out + (info,)


_CLASSIFICATION_NOISE = ("left", "sides")


def make_focus_classification(
    n_samples: int = 1000,
    n_features: int = 40,
    *,
    n_classes: int = 2,
    n_clusters_per_class: int = 1,
    noise_ratio: float = 0.0,
    noise: str = "left",
    noise_scale: float = 1.0,
    test_size: float = 0.3,
    split_seed: int = 42,
    scale: bool = True,
    dtype=np.float32,
    return_info: bool = False,
    seed: RngLike = 0,
):
    """The focusing-neuron authors' synthetic data for Fig. 3 (§4.1): scikit-learn's
    ``make_classification`` with uniform noise columns, a 70/30 split and standardisation.

    As the authors' ``load_blob``/``add_noisy_dims`` (Theano repository, the notebook behind Fig. 3):

    1. ``int(n_samples / (1 - test_size))`` rows (so about ``n_samples`` are left for training)
       from ``make_classification(n_features=n_features, n_informative=n_features,
       n_redundant=0, n_classes, n_clusters_per_class)`` (its other defaults: clusters on the
       vertices of a hypercube with ``class_sep=1``, 1 % of the labels flipped);
    2. ``n_noise = int(noise_ratio * n_features)`` columns of uniform ``[0, 1) * noise_scale``
       noise: on the left (``noise="left"``), or an independent block of ``n_noise`` columns on
       EACH side (``noise="sides"``: ``2 * n_noise`` noise columns in all, as the authors' code);
    3. ``train_test_split(test_size=test_size, random_state=split_seed)`` (the authors: 0.3, 42);
    4. with ``scale``, a ``StandardScaler`` fitted on the training part and applied to both.

    Requires scikit-learn (``pip install 'bionn[experiments]'`` or ``pip install scikit-learn``).

    Parameters
    ----------
    n_samples : int
        Nominal training-set size (the authors' ``nSAMPLES``: {100, 1000, 2000, 10000}).
    n_features : int
        Informative columns (all of ``make_classification``'s features are informative).
        ``n_classes * n_clusters_per_class`` must not exceed ``2 ** n_features``.
    n_classes, n_clusters_per_class : int
    noise_ratio : float
        Noise columns per informative column (per side for ``"sides"``), >= 0.
    noise : {"left", "sides"}
        Where the noise columns go ("both" is accepted for "sides").
    noise_scale : float
        Width of the uniform noise, > 0 (irrelevant after scaling).
    test_size : float
        Test share, in (0, 1).
    split_seed : int
        ``random_state`` of the split (fixed at 42 by the authors; the data differ by ``seed``).
    scale : bool
        Standardise the columns with the training part's mean and standard deviation.
    dtype : float32 or float64
    return_info : bool
        Also return a dict: ``informative`` and ``noise_columns`` (column indices), ``n_noise``
        (per block), ``n_generated`` (rows before the split), ``mean``/``std`` of the scaler.
    seed : int, SeedSequence or numpy.random.Generator
        Draws ``make_classification``'s ``random_state`` and the noise.

    Returns
    -------
    X_train, y_train, X_test, y_test[, info]
        ``X`` of shape (n, n_features + noise columns) in ``dtype``, ``y`` int64 labels.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    n_features = check_int(n_features, "n_features", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    n_clusters_per_class = check_int(n_clusters_per_class, "n_clusters_per_class", minimum=1)
    if n_features < 31 and n_classes * n_clusters_per_class > 2**n_features:
        raise ValueError(
            f"n_classes * n_clusters_per_class ({n_classes * n_clusters_per_class}) must be <= 2 ** n_features "
            f"({2**n_features}); increase n_features"
        )
    noise_ratio = check_float(noise_ratio, "noise_ratio", minimum=0.0)
    if isinstance(noise, str) and noise.lower() == "both":
        noise = "sides"
    noise = check_choice(noise, "noise", _CLASSIFICATION_NOISE)
    noise_scale = check_float(noise_scale, "noise_scale")
    if not noise_scale > 0:
        raise ValueError(f"noise_scale must be > 0, got {noise_scale}")
    test_size = check_float(test_size, "test_size")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    split_seed = check_int(split_seed, "split_seed", minimum=0)
    scale = check_bool(scale, "scale")
    dtype = check_dtype(dtype)
    return_info = check_bool(return_info, "return_info")
    gen = as_generator(seed, "seed")
    n_generated = int(n_samples / (1.0 - test_size))
    blocks = 2 if noise == "sides" else 1
    n_noise = int(noise_ratio * n_features) if noise_ratio * n_features < 2**62 else 2**62
    # the float64 matrix make_classification draws, and the noise columns beside it
    check_size("n_samples * n_features * (1 + noise_ratio)", n_generated * (n_features + blocks * n_noise), 8)
    try:
        from sklearn.datasets import make_classification
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise ImportError(
            "make_focus_classification needs scikit-learn: pip install scikit-learn (or 'bionn[experiments]')"
        ) from None

    n_test = int(np.ceil(test_size * n_generated))
    if n_generated - n_test < 1 or n_test < 1:
        raise ValueError(f"n_samples={n_samples} with test_size={test_size} leaves an empty split")
    X, y = make_classification(
        n_samples=n_generated,
        n_features=n_features,
        n_informative=n_features,
        n_redundant=0,
        n_repeated=0,
        n_classes=n_classes,
        n_clusters_per_class=n_clusters_per_class,
        random_state=int(gen.integers(2**31 - 1)),
    )
    noise_cols = [gen.random((n_generated, n_noise)) * noise_scale for _ in range(blocks)] if n_noise else []
    if noise == "sides" and n_noise:
        X = np.concatenate([noise_cols[0], X, noise_cols[1]], axis=1)
        informative = np.arange(n_noise, n_noise + n_features)
        noise_idx = np.concatenate([np.arange(n_noise), np.arange(n_noise + n_features, 2 * n_noise + n_features)])
    elif n_noise:
        X = np.concatenate([noise_cols[0], X], axis=1)
        informative = np.arange(n_noise, n_noise + n_features)
        noise_idx = np.arange(n_noise)
    else:
        informative, noise_idx = np.arange(n_features), np.arange(0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=split_seed)
    mean, std = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if scale:  # scikit-learn's StandardScaler fitted on the training part
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        mean, std = scaler.mean_, scaler.scale_
    out = (
        np.ascontiguousarray(Xtr, dtype=dtype),
        ytr.astype(np.int64),
        np.ascontiguousarray(Xte, dtype=dtype),
        yte.astype(np.int64),
    )
    if not return_info:
        return out
    info = {
        "informative": informative,
        "noise_columns": noise_idx,
        "n_noise": n_noise,
        "n_generated": n_generated,
        "mean": mean,
        "std": std,
    }
    return out + (info,)


def focus_blobs_grid(seed: RngLike = 0, n: Optional[int] = None, grid: Optional[Mapping[str, Sequence]] = None):
    """Yield random configurations from Table 1 of the focusing-neuron paper (§4.1, Fig. 3).

    The paper's Fig. 3 reports 750 runs of a script that "repeatedly sampled a random synthetic
    data set, created matching focusing and dense networks, selected random training parameters"
    from Table 1 (:data:`FOCUS_BLOBS_GRID`). Each value is drawn independently and uniformly from
    its set.

    Parameters
    ----------
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives the same sequence of configurations every time.
    n : int, optional
        Number of configurations; None (default) yields forever.
    grid : mapping, optional
        Replacement value sets for some keys of :data:`FOCUS_BLOBS_GRID` (e.g. to keep
        ``n_samples`` small in quick runs); unknown keys raise ValueError.

    Yields
    ------
    dict
        ``{"data": {...}, "train": {...}, "sampled": {...}}``. ``data`` holds keyword arguments
        for :func:`make_focus_blobs` (``n_samples``, ``n_informative``, ``noise_ratio``, ``noise``
        -- ``'none'`` when the sampled ratio is 0 -- ``n_classes``, ``n_clusters_per_class`` and a
        data ``seed``); ``train`` holds the network and training parameters of Table 1
        (``n_hidden``, ``batch_size = max(1, round(N * batch_fraction))``, ``batch_fraction``,
        ``learning_rate``, ``l2_penalty``); ``sampled`` holds the raw draws.
    """
    gen = as_generator(seed, "seed")
    if n is not None:
        n = check_int(n, "n", minimum=0)
    table = dict(FOCUS_BLOBS_GRID)
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise TypeError(f"grid must be a mapping, got {type(grid).__name__}")
        for k, v in grid.items():
            if k not in table:
                raise ValueError(f"grid: unknown key {k!r}; known: {', '.join(table)}")
            v = tuple(v) if not isinstance(v, str) else (v,)
            if not v:
                raise ValueError(f"grid[{k!r}] is empty")
            table[k] = v
    count = 0
    while n is None or count < n:
        s = {k: vals[int(gen.integers(len(vals)))] for k, vals in table.items()}
        s = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in s.items()}
        data = {
            "n_samples": int(s["n_samples"]),
            "n_informative": int(s["n_informative"]),
            "noise_ratio": float(s["noise_ratio"]),
            "noise": "none" if float(s["noise_ratio"]) == 0.0 else s["noise"],
            "n_classes": int(s["n_classes"]),
            "n_clusters_per_class": int(s["n_clusters_per_class"]),
            "seed": int(gen.integers(2**31 - 1)),
        }
        train = {
            "n_hidden": int(s["n_hidden"]),
            "batch_size": max(1, int(np.floor(s["n_samples"] * s["batch_fraction"] + 0.5))),
            "batch_fraction": float(s["batch_fraction"]),
            "learning_rate": float(s["learning_rate"]),
            "l2_penalty": bool(s["l2_penalty"]),
        }
        yield {"data": data, "train": train, "sampled": s}
        count += 1


def _check_clutter_count(v) -> Tuple[int, int]:
    lo, hi = pair(v, "n_clutter", minimum=0)
    if lo > hi:
        raise ValueError(f"n_clutter range must have min <= max, got {v!r}")
    return lo, hi


def make_cluttered_mnist(
    X: np.ndarray,
    y: np.ndarray,
    n: int,
    size: int = 60,
    *,
    n_clutter: Union[int, Tuple[int, int]] = 6,
    clutter_size: int = 8,
    seed: RngLike = 0,
    return_info: bool = False,
):
    """MNIST-cluttered: each digit randomly translated in a frame full of digit fragments.

    The focusing-neuron paper (§4, data sets; "MNIST-Cluttered (CLT)", Table 2) uses "a cluttered
    version of MNIST ... randomly transformed MNIST samples superimposed on cluttered 60x60
    backgrounds" (its ref. [31]), without giving the clutter parameters. The author's code loads
    the published ``mnist_cluttered_60x60_6distortions.npz`` (60x60 frames, 6 clutter pieces),
    made with DeepMind's ``mnist-cluttered`` generator, whose default fragment ("distractor")
    size is 8x8. This function follows that generator: the frame starts black; ``n_clutter``
    random ``clutter_size`` x ``clutter_size`` fragments, each cut at a random place from a random
    *other* digit of ``X``, are added at random places (overlaps add up) and the frame is clipped
    to 1; then the whole source digit is added at a uniformly random integer position fully
    inside the frame and the frame is clipped to 1 again. The defaults (6 fragments of 8x8) are
    therefore an informed guess, not numbers stated in the paper; pass ``n_clutter=4`` for the
    60x60 setting of Mnih et al. (2014), or a range ``(4, 8)`` to vary it per frame.

    In this project MNIST comes from the shared 10,000-digit sample (:func:`load_mnist_sample`),
    not from the official 60k/10k split; split it (e.g. :func:`train_val_split`) *before*
    cluttering so that train and test frames use disjoint digits (clutter fragments of a set come
    only from that set's ``X``).

    Parameters
    ----------
    X : numpy.ndarray
        Source digits, ``(N, 1, h, w)`` or ``(N, h, w)`` (N >= 2 when there is clutter), floating
        in ``[0, 1]`` or ``uint8`` in ``[0, 255]`` (scaled by 1/255).
    y : numpy.ndarray
        ``N`` integer labels.
    n : int
        Number of frames to make (>= 1). Source digits are taken in random order without
        repetition until all ``N`` are used, then in a new random order, and so on.
    size : int, optional
        Frame side (60 in the paper); must be >= ``max(h, w)``.
    n_clutter : int or (int, int), optional
        Fragments per frame, or an inclusive range drawn uniformly per frame. Default 6.
    clutter_size : int, optional
        Side of the square fragments (default 8); must be <= ``min(h, w)``.
    seed : int or numpy.random.Generator, optional
        Randomness source; an int gives identical output on every call.
    return_info : bool, optional
        Also return a dict with ``source`` (index into ``X`` of each frame's digit),
        ``position`` (``(n, 2)`` top-left row/column of the digit), ``n_clutter`` (per frame),
        ``clutter_source`` / ``clutter_position`` (``(n, max_clutter)`` and
        ``(n, max_clutter, 2)``, -1 where a frame has fewer fragments).

    Returns
    -------
    frames : numpy.ndarray
        ``float32`` array of shape ``(n, 1, size, size)`` in ``[0, 1]``.
    labels : numpy.ndarray
        ``int64`` label of each frame's digit.
    info : dict, only if ``return_info``

    Raises
    ------
    TypeError, ValueError
        Invalid arguments (the message names the argument).
    """
    X = as_ndarray(X, "X")
    check_numeric(X, "X")
    if X.ndim == 4:
        if X.shape[1] != 1:
            raise ValueError(f"X must have one channel, got shape {X.shape}")
        X = X[:, 0]
    elif X.ndim != 3:
        raise ValueError(f"X must have shape (N, 1, h, w) or (N, h, w), got shape {X.shape}")
    N, h, w = X.shape
    if N < 1 or h < 1 or w < 1:
        raise ValueError(f"X must hold at least one non-empty image, got shape {X.shape}")
    y = as_integer_labels(y, "y", N)
    n = check_int(n, "n", minimum=1)
    size = check_int(size, "size", minimum=1)
    if size < max(h, w):
        raise ValueError(f"size={size} is smaller than the digits ({h}x{w})")
    lo, hi = _check_clutter_count(n_clutter)
    clutter_size = check_int(clutter_size, "clutter_size", minimum=1)
    if clutter_size > min(h, w):
        raise ValueError(f"clutter_size={clutter_size} is larger than the digits ({h}x{w})")
    return_info = check_bool(return_info, "return_info")
    if np.issubdtype(X.dtype, np.integer):
        if X.size and (X.min() < 0 or X.max() > 255):
            raise ValueError("integer X must be in [0, 255]")
        src = X.astype(np.float32) / np.float32(255.0)
    else:
        check_finite(X, "X")
        if X.size and (X.min() < 0.0 or X.max() > 1.0):
            raise ValueError(f"X must be in [0, 1], got values in [{float(X.min())}, {float(X.max())}]")
        src = X.astype(np.float32, copy=False)
    if hi > 0 and N < 2:
        raise ValueError("X must hold at least 2 digits to cut clutter from other digits")
    # Checked before anything is drawn: the frames (accumulated in float64 when there is clutter)
    # and the fragments' pixel indices.
    check_size("n * size * size", n * size * size, 8 if hi > 0 else 4)
    check_size("n * max(n_clutter) * clutter_size**2", n * hi * clutter_size * clutter_size, 8)
    gen = as_generator(seed, "seed")

    reps = -(-n // N)
    source = np.concatenate([gen.permutation(N) for _ in range(reps)])[:n]
    pos = np.stack([gen.integers(0, size - h + 1, n), gen.integers(0, size - w + 1, n)], axis=1)
    counts = gen.integers(lo, hi + 1, n) if hi > lo else np.full(n, lo, dtype=np.int64)
    frames = np.zeros(n * size * size, dtype=np.float32)
    c = clutter_size
    csrc = np.full((n, hi), -1, dtype=np.int64)
    cpos = np.full((n, hi, 2), -1, dtype=np.int64)
    if hi > 0:
        # Fragment sources: any digit but the frame's own (uniform over the other N - 1).
        other = gen.integers(0, N - 1, (n, hi))
        other += other >= source[:, None]
        cut = np.stack([gen.integers(0, h - c + 1, (n, hi)), gen.integers(0, w - c + 1, (n, hi))], axis=-1)
        put = gen.integers(0, size - c + 1, (n, hi, 2))
        active = np.arange(hi)[None, :] < counts[:, None]
        f_idx, k_idx = np.nonzero(active)
        o, cr, cc = other[f_idx, k_idx], cut[f_idx, k_idx, 0], cut[f_idx, k_idx, 1]
        pr, pc = put[f_idx, k_idx, 0], put[f_idx, k_idx, 1]
        ar = np.arange(c)
        rows_s = cr[:, None, None] + ar[None, :, None]
        cols_s = cc[:, None, None] + ar[None, None, :]
        vals = src[o[:, None, None], rows_s, cols_s]
        flat = (
            (f_idx[:, None, None] * size + pr[:, None, None] + ar[None, :, None]) * size
            + pc[:, None, None]
            + ar[None, None, :]
        )
        frames += np.bincount(flat.ravel(), weights=vals.ravel().astype(np.float64), minlength=frames.size).astype(
            np.float32
        )
        np.minimum(frames, 1.0, out=frames)
        csrc[f_idx, k_idx] = o
        cpos[f_idx, k_idx] = put[f_idx, k_idx]
    frames = frames.reshape(n, size, size)
    fr = np.arange(n)[:, None, None]
    rows = pos[:, 0, None, None] + np.arange(h)[None, :, None]
    cols = pos[:, 1, None, None] + np.arange(w)[None, None, :]
    frames[fr, rows, cols] = np.minimum(frames[fr, rows, cols] + src[source], 1.0)
    np.clip(frames, 0.0, 1.0, out=frames)
    out = (frames[:, None], y[source].astype(np.int64))
    if not return_info:
        return out
    info = {"source": source, "position": pos, "n_clutter": counts, "clutter_source": csrc, "clutter_position": cpos}
    return out + (info,)
