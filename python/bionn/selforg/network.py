"""The meta-network of §2: a feature map and K masked AE units trained by Algorithm 1.

:class:`SelfOrganizingNetwork` runs in C++ (``bionn._core.SelfOrgNetwork_f32/_f64``);
:func:`histogram_entropy` is the paper's intrinsic metric (Eq. 2). Networks are saved with
:func:`bionn.io.save_archive` (format ``"bionn.selforg"``) and read back by :func:`load`.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from .. import _core
from .._validation import (
    as_array,
    check_dtype,
    check_float,
    check_int,
    check_path,
    check_seed,
    check_size,
    suffix,
)
from ..io import load_archive, save_archive
from .topology import Topology

__all__ = ["SelfOrganizingNetwork", "histogram_entropy", "load"]

_FORMAT = "bionn.selforg"
_FORMAT_VERSION = 1
_WHAT = "bionn.selforg network file"
_PARAMETERS = ("encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias")
_CONFIG_KEYS = ("topology", "lr", "l2", "dropout", "batch_size", "bins", "entropy_samples", "seed", "dtype")


def histogram_entropy(values: Any, bins: int = 100) -> float:
    """Shannon entropy (nats) of the ``bins``-bin histogram of ``values`` over their full range (Eq. 2).

    Equals ``scipy.stats.entropy(numpy.histogram(values, bins)[0])``; constant input gives 0.
    """
    v = as_array(values, "values", np.float64, min_ndim=1, max_ndim=4).reshape(-1)
    bins = check_int(bins, "bins", minimum=1)
    check_size("bins", bins, 8)  # the core's int64 counts, refused before they are allocated
    return float(_core.selforg_histogram_entropy(v, bins))


def _images(X: Any, topology: Topology, dtype: np.dtype, name: str = "X") -> np.ndarray:
    """(n, h, w), (n, 1, h, w) or (n, h*w) images of the topology's image shape -> (n, h*w)."""
    arr = as_array(X, name, dtype, min_ndim=2, max_ndim=4)
    ih, iw = topology.image_shape
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 3 and arr.shape[1:] == (ih, iw):
        return np.ascontiguousarray(arr.reshape(arr.shape[0], ih * iw))
    if arr.ndim == 2 and arr.shape[1] == ih * iw:
        return arr
    raise ValueError(
        f"{name} must hold {ih} x {iw} images: shape (n, {ih}, {iw}), (n, 1, {ih}, {iw}) or "
        f"(n, {ih * iw}); got {arr.shape}"
    )


class SelfOrganizingNetwork:
    """The meta-network of §2: a feature map and K masked AE units trained by Algorithm 1.

    Parameters
    ----------
    topology : Topology
    lr : float
        Adam step size of each unit's local learning.
    l2 : float
        L2 penalty on the units' effective (masked) weights.
    dropout : float
        Dropout probability on the hidden code during training, in [0, 1).
    batch_size : int
        Mini-batch size; the map is initialised and settled (K x K passes) per mini-batch.
    bins : int
        Histogram bins of the entropy estimate (100 in the paper).
    entropy_samples : int
        Training images (the first ones) on which entropy is estimated after every epoch.
    seed : int
        Fixes initialisation, shuffling and dropout.
    dtype : float32 or float64
    """

    def __init__(
        self,
        topology: Topology,
        *,
        lr: float = 1e-3,
        l2: float = 1e-4,
        dropout: float = 0.1,
        batch_size: int = 64,
        bins: int = 100,
        entropy_samples: int = 1000,
        seed: int = 0,
        dtype: Any = np.float32,
    ) -> None:
        if not isinstance(topology, Topology):
            raise TypeError(f"topology must be a bionn.selforg.Topology, got {type(topology).__name__}")
        self.dtype = check_dtype(dtype)
        self.seed = check_seed(seed)
        self.entropy_samples = check_int(entropy_samples, "entropy_samples", minimum=1)
        opts = _core.SelfOrgTrainOptions()
        opts.lr = check_float(lr, "lr", minimum=0, min_inclusive=False)
        opts.l2 = check_float(l2, "l2", minimum=0)
        opts.dropout = check_float(dropout, "dropout", minimum=0, maximum=1, max_inclusive=False)
        opts.batch_size = check_int(batch_size, "batch_size", minimum=1)
        opts.bins = check_int(bins, "bins", minimum=1)
        self._options = opts
        self._topology = topology
        self._impl = getattr(_core, "SelfOrgNetwork" + suffix(self.dtype))(
            topology.layout(), [list(map(list, u)) for u in topology.fields], opts, self.seed
        )
        self.history: Dict[str, List[Any]] = {"loss": [], "entropy": []}

    def __repr__(self) -> str:
        return (
            f"SelfOrganizingNetwork(topology={self._topology.name!r}, units={self.n_units}, "
            f"n_hidden={self._topology.n_hidden}, epochs_trained={self.epochs_trained}, dtype={self.dtype.name})"
        )

    # -- properties ------------------------------------------------------------------------------
    @property
    def topology(self) -> Topology:
        """The current topology (receptive fields move under meta-learning)."""
        return self._topology

    @property
    def n_units(self) -> int:
        return self._topology.n_units

    @property
    def n_features(self) -> int:
        """Readout input size, K x n_hidden."""
        return self._topology.n_units * self._topology.n_hidden

    @property
    def epochs_trained(self) -> int:
        return int(self._impl.epochs_trained)

    @property
    def last_entropy(self) -> Optional[List[float]]:
        """Per-unit entropies after the last epoch (None before training)."""
        return list(self.history["entropy"][-1]) if self.history["entropy"] else None

    @property
    def max_entropy(self) -> float:
        """Maximum over epochs of the network's entropy (mean over units of H(x_k)), §3.2."""
        if not self.history["entropy"]:
            raise RuntimeError("the network has not been trained yet; call fit() first")
        return float(max(np.mean(e) for e in self.history["entropy"]))

    def config(self) -> Dict[str, Any]:
        o = self._options
        return {
            "topology": self._topology.to_dict(),
            "lr": o.lr,
            "l2": o.l2,
            "dropout": o.dropout,
            "batch_size": o.batch_size,
            "bins": o.bins,
            "entropy_samples": self.entropy_samples,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }

    # -- training --------------------------------------------------------------------------------
    def _set_topology(self, topology: Topology) -> None:
        self._topology = topology

    def _entropy_set(self, X: np.ndarray, entropy_X: Any) -> np.ndarray:
        if entropy_X is None:
            return X[: self.entropy_samples]
        return _images(entropy_X, self._topology, self.dtype, "entropy_X")

    def fit(self, X: Any, epochs: int = 1, entropy_X: Any = None) -> SelfOrganizingNetwork:
        """Trains every unit locally (Algorithm 1) for ``epochs`` epochs; records per epoch and unit
        the mean loss and the entropy (on ``entropy_X``, default the first ``entropy_samples``
        images of ``X``) in ``self.history``. Runs in C++ with the GIL released; Ctrl-C stops
        between batches."""
        X = _images(X, self._topology, self.dtype)
        epochs = check_int(epochs, "epochs", minimum=0)
        try:
            results = self._impl.fit(X, epochs, self._entropy_set(X, entropy_X))
        except ValueError as exc:
            if "must be finite" not in str(exc):
                raise
            raise ValueError(
                f"fit diverged: the units' activity became non-finite ({exc}); lower lr (now {self._options.lr}) "
                f"or l2 (now {self._options.l2})"
            ) from None
        for loss, ent in results:
            self.history["loss"].append(list(loss))
            self.history["entropy"].append(list(ent))
        return self

    def transform(self, X: Any, batch_size: int = 256) -> np.ndarray:
        """The concatenated hidden activity of all units, (n, K x n_hidden): the readout's input."""
        X = _images(X, self._topology, self.dtype)
        codes = self._impl.transform(X, check_int(batch_size, "batch_size", minimum=1))
        return codes.reshape(codes.shape[0], -1)

    def entropies(self, X: Any) -> List[float]:
        """Histogram entropy of each unit's hidden activity on ``X`` (Eq. 2-3)."""
        return list(self._impl.entropies(_images(X, self._topology, self.dtype)))

    def feature_maps(self, X: Any) -> np.ndarray:
        """The settled feature maps (n, h, w): the image plus every unit's code in its block."""
        return self._impl.feature_maps(_images(X, self._topology, self.dtype))

    def unit_parameters(self, k: int) -> Dict[str, np.ndarray]:
        """Unit k's full-map parameters: ``encoder_weight`` (n_hidden, h*w), ``encoder_bias``,
        ``decoder_weight`` (h*w, n_hidden), ``decoder_bias``. Entries outside the field are the
        retained weights (§2.2)."""
        k = check_int(k, "k", minimum=0)
        if k >= self.n_units:
            raise ValueError(f"k must be < {self.n_units}, got {k}")
        u = self._impl.unit(k)
        return {n: u.get(n) for n in ("encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias")}

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes ``path`` (.npz, :func:`bionn.io.save_archive`, atomic, no pickle): every unit's
        parameters plus a JSON header with the config, current topology and history. Adam moments
        are not saved.

        Raises
        ------
        ValueError
            A parameter or a recorded loss is NaN/Inf (nothing is written; an existing file is kept).
        """
        arrays = {f"unit{k}.{n}": v for k in range(self.n_units) for n, v in self.unit_parameters(k).items()}
        header = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "config": self.config(),
            "epochs_trained": self.epochs_trained,
            "history": self.history,
        }
        try:
            save_archive(path, header, arrays)
        except ValueError as exc:  # json's "Out of range float values" for a diverged loss
            raise ValueError(f"cannot save the network to {os.fspath(path)!r}: {exc}") from None

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> SelfOrganizingNetwork:
        return load(path)


def load(path: Union[str, os.PathLike]) -> SelfOrganizingNetwork:
    """Loads a network written by :meth:`SelfOrganizingNetwork.save` (also the files of earlier
    releases, whose header sat under ``__config__``).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is truncated or corrupt, is not a bionn.selforg network (e.g. a
        :meth:`bionn.nn.Sequential.save` model), is of a newer format version, or its header or
        arrays are malformed (missing keys, wrong types, an invalid topology, arrays of the wrong
        shape or with NaN/Inf). The message names the file; nothing is returned.
    """
    path = check_path(path)

    def expect(header: Dict[str, Any], members: Mapping[str, Any]) -> Dict[str, Tuple[int, ...]]:
        # The arrays the header's topology needs, compared with the entries before any is read.
        try:
            return _expected_shapes(_check_header(header)[1])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValueError(f"{path!r} is a malformed {_WHAT}: {exc}") from None

    header, arrays = load_archive(path, _FORMAT, _FORMAT_VERSION, what=_WHAT, expect=expect)
    try:
        config, topology, history = _check_header(header)
        params = _check_arrays(arrays, topology, np.dtype(config["dtype"]))
        net = SelfOrganizingNetwork(topology, **{k: v for k, v in config.items() if k != "topology"})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path!r} is a malformed {_WHAT}: {exc}") from None
    # Everything is checked before the new network is touched: a rejected file yields no network.
    for k in range(net.n_units):
        unit = net._impl.unit(k)
        for n in _PARAMETERS:
            unit.set(n, params[f"unit{k}.{n}"])
    net.history = history
    return net


def _check_header(header: Mapping[str, Any]) -> Tuple[Dict[str, Any], Topology, Dict[str, List[Any]]]:
    """The header's config, topology and history, checked; ValueError/TypeError otherwise."""
    config = header.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"'config' must be an object, got {type(config).__name__}")
    missing = [k for k in _CONFIG_KEYS if k not in config]
    extra = sorted(set(config) - set(_CONFIG_KEYS))
    if missing or extra:
        raise ValueError(f"config has missing keys {missing} / unknown keys {extra}")
    if config["dtype"] not in ("float32", "float64"):
        raise ValueError(f"config dtype must be 'float32' or 'float64', got {config['dtype']!r}")
    if not isinstance(config["topology"], dict):
        raise ValueError(f"config topology must be an object, got {type(config['topology']).__name__}")
    topology = Topology.from_dict(config["topology"])
    K = topology.n_units
    history = header.get("history")
    if (
        not isinstance(history, dict)
        or not isinstance(history.get("loss"), list)
        or not isinstance(history.get("entropy"), list)
    ):
        raise ValueError("'history' must be an object with 'loss' and 'entropy' lists")

    def row(values: Any, what: str) -> List[float]:
        if not isinstance(values, list) or len(values) != K:
            raise ValueError(f"history {what} entries must be lists of {K} numbers, got {values!r}")
        return [check_float(v, f"history {what}") for v in values]

    loss = [None if x is None else row(x, "loss") for x in history["loss"]]
    entropy = [row(x, "entropy") for x in history["entropy"]]
    return dict(config), topology, {"loss": loss, "entropy": entropy}


def _check_arrays(arrays: Mapping[str, np.ndarray], topology: Topology, dtype: np.dtype) -> Dict[str, np.ndarray]:
    """Every unit's four parameter arrays, of the shapes the topology implies, finite, as ``dtype``."""
    expected = _expected_shapes(topology)
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(f"arrays do not match the topology: missing {missing}, unexpected {extra}")
    out = {}
    for key, shape in expected.items():
        a = arrays[key]
        if a.dtype.kind not in "biuf" or a.shape != shape or not np.isfinite(a).all():
            raise ValueError(f"{key} must be a finite real array of shape {shape}, got {a.dtype} {a.shape}")
        with np.errstate(over="ignore"):
            out[key] = np.ascontiguousarray(a, dtype=dtype)
        if not np.isfinite(out[key]).all():
            raise ValueError(f"{key} overflows to Inf as {np.dtype(dtype).name}")
    return out


def _expected_shapes(topology: Topology) -> Dict[str, Tuple[int, ...]]:
    """Every unit's four parameter arrays and their shapes, as the topology implies them."""
    size, H = topology.map_shape[0] * topology.map_shape[1], topology.n_hidden
    shapes = {"encoder_weight": (H, size), "encoder_bias": (H,), "decoder_weight": (size, H), "decoder_bias": (size,)}
    return {f"unit{k}.{n}": shapes[n] for k in range(topology.n_units) for n in _PARAMETERS}
