"""Self-organizing network: AE units on a feature map, entropy, meta-learning (issue 8).

Paper: "self-organizing network with entropy-driven meta-learning" (``shared/papers/
self-organizing-entropy-metalearning.txt``). A *feature map* (an h x w sheet, §2) holds the input
image and the hidden activity of K autoencoder (AE) units at fixed places. Each unit reads a
receptive field r_k of two N x N windows on the map (Eq. 1), learns locally to reconstruct it (MSE,
dropout, L2; §2.1) and writes its code back onto the map (Algorithm 1), so units can read each
other and a virtual hierarchy forms on a flat sheet. A meta-learner moves the windows one cell at a
time and keeps a move only when the moved unit's histogram entropy rises (Eq. 2-3, Algorithm 2).
The concatenated codes feed a multinomial logistic regression (the extrinsic metric).

>>> from bionn import selforg
>>> Xtr, ytr, Xte, yte = selforg.load_mnist(n_train=2000, n_test=500, seed=0)   # doctest: +SKIP
>>> net = selforg.SelfOrganizingNetwork(selforg.Topology.handcrafted("A3"), seed=0)  # doctest: +SKIP
>>> net.fit(Xtr, epochs=5)                                                        # doctest: +SKIP
>>> clf = selforg.Readout(seed=0).fit(net.transform(Xtr), ytr)                     # doctest: +SKIP
>>> clf.score(net.transform(Xte), yte)                                            # doctest: +SKIP

Defaults the paper leaves open (documented choices, not the authors'): a 20 x 40 map with the
20 x 20 MNIST crop on the left and one 10 x 10 hidden block (n_hidden = 100) per unit on the right;
N = 10; Adam (lr 1e-3), L2 1e-4, dropout 0.1 on the hidden code; the map is settled per mini-batch.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .io import atomic_write
from ._validation import as_array, as_labels, check_dtype, check_float, check_int, suffix

__all__ = ["Topology", "SelfOrganizingNetwork", "MetaLearner", "Readout", "histogram_entropy",
           "preprocess_mnist", "load_mnist", "load_cifar10_gray", "cifar10_available", "HANDCRAFTED",
           "META_METHODS", "load"]

Cell = Tuple[int, int]
META_METHODS = ("hill_climbing", "local_search", "random_search")
_FORMAT = "bionn.selforg"
_FORMAT_VERSION = 1

# The default MNIST sheet: the 20 x 20 crop at (0, 0); hidden blocks of units 0, 1, 2 at the right.
_DEFAULT_MAP = (20, 40)
_DEFAULT_UNITS: Tuple[Cell, ...] = ((0, 20), (0, 30), (10, 20))
_TL, _TR, _BL, _BR, _MID_L, _MID_R = (0, 0), (0, 10), (10, 0), (10, 10), (5, 0), (5, 10)
# Fig. 2 (right): three AE units, two N x N windows each. The figure gives the pattern, not the
# coordinates; these are our reading of it on the default sheet (see Topology.handcrafted).
HANDCRAFTED: Dict[str, Tuple[Tuple[Cell, Cell], ...]] = {
    # A1 flat: every unit reads the image only (one level).
    "A1": ((_TL, _TR), (_BL, _BR), (_MID_L, _MID_R)),
    # A2 columnar: a single column; each unit above the first reads only the unit directly below it
    # ("receive partial information overall", §3.2).
    "A2": ((_MID_L, _MID_R), (_DEFAULT_UNITS[0], _DEFAULT_UNITS[0]), (_DEFAULT_UNITS[1], _DEFAULT_UNITS[1])),
    # A3 pyramidal: two units read the top and bottom halves of the image, the third reads both
    # codes (Fig. 3/4: "rC targets the hidden layer activations of both A and B").
    "A3": ((_TL, _TR), (_BL, _BR), (_DEFAULT_UNITS[0], _DEFAULT_UNITS[1])),
}


def _pair(value: Any, name: str, minimum: int = 0) -> Tuple[int, int]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a pair of integers (row, col), got {value!r}")
    return (check_int(value[0], f"{name}[0]", minimum=minimum), check_int(value[1], f"{name}[1]", minimum=minimum))


# ================================================================================================
# topology
# ================================================================================================
@dataclass
class Topology:
    """A meta-network's architecture: the feature map layout and every unit's receptive field.

    Parameters
    ----------
    fields : sequence of sequences of (row, col)
        Per unit, the top-left corners of its N x N windows (Eq. 1: r_k). Two windows per unit in
        the paper.
    map_shape : (h, w)
        Feature map size.
    image_shape, image_at : (rows, cols), (row, col)
        Size and top-left corner of the input image on the map.
    window : int
        N, the side of each receptive-field window.
    hidden_shape : (rows, cols)
        Shape of each unit's hidden block on the map; n_hidden = rows * cols.
    unit_locations : sequence of (row, col)
        Top-left corner of each unit's hidden block (fixed for the life of the network, §2).
    name : str
        Label used in plots and tables.

    Raises
    ------
    ValueError
        Windows or blocks outside the map, overlapping unit blocks, a block over the image, N
        larger than the map, or a number of fields different from the number of units.
    """

    fields: Sequence[Sequence[Cell]]
    map_shape: Cell = _DEFAULT_MAP
    image_shape: Cell = (20, 20)
    image_at: Cell = (0, 0)
    window: int = 10
    hidden_shape: Cell = (10, 10)
    unit_locations: Sequence[Cell] = _DEFAULT_UNITS
    name: str = "custom"

    def __post_init__(self) -> None:
        self.map_shape = _pair(self.map_shape, "map_shape", 1)
        self.image_shape = _pair(self.image_shape, "image_shape", 1)
        self.image_at = _pair(self.image_at, "image_at")
        self.window = check_int(self.window, "window", minimum=1)
        self.hidden_shape = _pair(self.hidden_shape, "hidden_shape", 1)
        if isinstance(self.unit_locations, (str, bytes)) or not hasattr(self.unit_locations, "__len__"):
            raise TypeError("unit_locations must be a sequence of (row, col) pairs")
        self.unit_locations = tuple(_pair(u, f"unit_locations[{k}]") for k, u in enumerate(self.unit_locations))
        if isinstance(self.fields, (str, bytes)) or not hasattr(self.fields, "__len__"):
            raise TypeError("fields must be a sequence (one per unit) of sequences of (row, col) window corners")
        fields = []
        for k, unit in enumerate(self.fields):
            if isinstance(unit, (str, bytes)) or not hasattr(unit, "__len__") or len(unit) == 0:
                raise ValueError(f"fields[{k}] must be a non-empty sequence of (row, col) window corners")
            fields.append(tuple(_pair(c, f"fields[{k}][{j}]") for j, c in enumerate(unit)))
        self.fields = tuple(fields)
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")
        layout = self.layout()
        try:
            layout.validate()
            layout.validate_fields([list(map(list, u)) for u in self.fields])
        except ValueError as exc:
            raise ValueError(f"invalid topology {self.name!r}: {exc}") from None

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def handcrafted(cls, name: str) -> "Topology":
        """A1 flat, A2 columnar or A3 pyramidal (Fig. 2, right) on the default MNIST sheet.

        The paper draws the patterns without coordinates. Here the 20 x 20 image is cut into 10 x 10
        quadrants (the figure's dotted lines) and the units' codes sit in 10 x 10 blocks at (0, 20),
        (0, 30) and (10, 20): A1 reads only the image (top half, bottom half, middle band); A2 is a
        column (middle band, then each unit reads the unit below it twice); A3 is a pyramid (top
        half, bottom half, then both codes).
        """
        if not isinstance(name, str) or name.upper() not in HANDCRAFTED:
            raise ValueError(f"name must be one of {sorted(HANDCRAFTED)}, got {name!r}")
        key = name.upper()
        return cls(fields=HANDCRAFTED[key], name=key)

    @classmethod
    def random(cls, seed: int, n_units: int = 3, windows_per_unit: int = 2, name: Optional[str] = None,
               **layout: Any) -> "Topology":
        """A seeded random topology: every window corner uniform over the map (randomTopology()).

        ``layout`` keywords (``map_shape``, ``image_shape``, ``image_at``, ``window``,
        ``hidden_shape``, ``unit_locations``) override the default sheet; with ``n_units`` != 3 pass
        ``unit_locations``.
        """
        seed = check_int(seed, "seed", minimum=0)
        n_units = check_int(n_units, "n_units", minimum=1)
        windows_per_unit = check_int(windows_per_unit, "windows_per_unit", minimum=1)
        if "unit_locations" not in layout:
            if n_units > len(_DEFAULT_UNITS):
                raise ValueError(f"the default sheet has room for {len(_DEFAULT_UNITS)} units; pass unit_locations "
                                 f"for n_units={n_units}")
            layout["unit_locations"] = _DEFAULT_UNITS[:n_units]
        elif len(layout["unit_locations"]) != n_units:
            raise ValueError(f"unit_locations has {len(layout['unit_locations'])} entries but n_units={n_units}")
        probe = cls(fields=[[(0, 0)]] * n_units, **layout)
        fields = _core.selforg_random_fields(probe.layout(), windows_per_unit, seed)
        return cls(fields=[[tuple(c) for c in u] for u in fields], name=name or f"random-{seed}", **layout)

    def with_fields(self, fields: Sequence[Sequence[Cell]], name: Optional[str] = None) -> "Topology":
        """The same sheet with other receptive fields."""
        return Topology(fields=fields, map_shape=self.map_shape, image_shape=self.image_shape, image_at=self.image_at,
                        window=self.window, hidden_shape=self.hidden_shape, unit_locations=self.unit_locations,
                        name=self.name if name is None else name)

    # -- properties ------------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return len(self.unit_locations)

    @property
    def n_hidden(self) -> int:
        return self.hidden_shape[0] * self.hidden_shape[1]

    def layout(self) -> Any:
        """The C++ layout object (``bionn._core.SelfOrgLayout``)."""
        L = _core.SelfOrgLayout()
        L.height, L.width = self.map_shape
        L.image_row, L.image_col = self.image_at
        L.image_height, L.image_width = self.image_shape
        L.window = self.window
        L.hidden_height, L.hidden_width = self.hidden_shape
        L.unit_locations = [list(u) for u in self.unit_locations]
        return L

    def mask(self, k: int) -> np.ndarray:
        """Unit k's binary indicator delta_k over the map (h, w) (§2.1)."""
        k = check_int(k, "k", minimum=0)
        if k >= self.n_units:
            raise ValueError(f"k must be < {self.n_units}, got {k}")
        m = np.zeros(self.map_shape, dtype=bool)
        N = self.window
        for r, c in self.fields[k]:
            m[r:r + N, c:c + N] = True
        return m

    def reads(self, k: int) -> Dict[str, float]:
        """Share of unit k's field on the image and on each unit's hidden block (keys ``"image"``,
        ``"unit0"``, ...; the rest is empty map)."""
        m = self.mask(k)
        total = float(m.sum())
        (ir, ic), (ih, iw) = self.image_at, self.image_shape
        out = {"image": float(m[ir:ir + ih, ic:ic + iw].sum()) / total}
        hh, hw = self.hidden_shape
        for j, (r, c) in enumerate(self.unit_locations):
            out[f"unit{j}"] = float(m[r:r + hh, c:c + hw].sum()) / total
        return out

    def levels(self) -> List[int]:
        """Hierarchy level of each unit: 1 if it reads only the image (or nothing), else 1 + the
        highest level among the units whose codes it reads. Units in a cycle (possible in random
        topologies) get the level at which the iteration stops growing, capped at K."""
        K = self.n_units
        reads = [[j for j in range(K) if j != k and self.reads(k)[f"unit{j}"] > 0] for k in range(K)]
        level = [1] * K
        for _ in range(K):
            new = [1 + max((level[j] for j in reads[k]), default=0) for k in range(K)]
            new = [min(v, K) for v in new]
            if new == level:
                break
            level = new
        return level

    def to_dict(self) -> Dict[str, Any]:
        return {"fields": [[list(c) for c in u] for u in self.fields], "map_shape": list(self.map_shape),
                "image_shape": list(self.image_shape), "image_at": list(self.image_at), "window": self.window,
                "hidden_shape": list(self.hidden_shape), "unit_locations": [list(u) for u in self.unit_locations],
                "name": self.name}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Topology":
        if not isinstance(d, dict) or "fields" not in d:
            raise ValueError("a topology dict needs at least 'fields'")
        return cls(**{k: (tuple(v) if isinstance(v, list) and k != "fields" and k != "unit_locations" else v)
                      for k, v in d.items()})


def histogram_entropy(values: Any, bins: int = 100) -> float:
    """Shannon entropy (nats) of the ``bins``-bin histogram of ``values`` over their full range (Eq. 2).

    Equals ``scipy.stats.entropy(numpy.histogram(values, bins)[0])``; constant input gives 0.
    """
    v = as_array(values, "values", np.float64, min_ndim=1, max_ndim=4).reshape(-1)
    bins = check_int(bins, "bins", minimum=1)
    return float(_core.selforg_histogram_entropy(v, bins))


# ================================================================================================
# network
# ================================================================================================
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
    raise ValueError(f"{name} must hold {ih} x {iw} images: shape (n, {ih}, {iw}), (n, 1, {ih}, {iw}) or "
                     f"(n, {ih * iw}); got {arr.shape}")


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

    def __init__(self, topology: Topology, *, lr: float = 1e-3, l2: float = 1e-4, dropout: float = 0.1,
                 batch_size: int = 64, bins: int = 100, entropy_samples: int = 1000, seed: int = 0,
                 dtype: Any = np.float32) -> None:
        if not isinstance(topology, Topology):
            raise TypeError(f"topology must be a bionn.selforg.Topology, got {type(topology).__name__}")
        self.dtype = check_dtype(dtype)
        self.seed = check_int(seed, "seed", minimum=0)
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
            topology.layout(), [list(map(list, u)) for u in topology.fields], opts, self.seed)
        self.history: Dict[str, List[Any]] = {"loss": [], "entropy": []}

    def __repr__(self) -> str:
        return (f"SelfOrganizingNetwork(topology={self._topology.name!r}, units={self.n_units}, "
                f"n_hidden={self._topology.n_hidden}, epochs_trained={self.epochs_trained}, dtype={self.dtype.name})")

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
        return {"topology": self._topology.to_dict(), "lr": o.lr, "l2": o.l2, "dropout": o.dropout,
                "batch_size": o.batch_size, "bins": o.bins, "entropy_samples": self.entropy_samples,
                "seed": self.seed, "dtype": self.dtype.name}

    # -- training --------------------------------------------------------------------------------
    def _set_topology(self, topology: Topology) -> None:
        self._topology = topology

    def _entropy_set(self, X: np.ndarray, entropy_X: Any) -> np.ndarray:
        if entropy_X is None:
            return X[: self.entropy_samples]
        return _images(entropy_X, self._topology, self.dtype, "entropy_X")

    def fit(self, X: Any, epochs: int = 1, entropy_X: Any = None) -> "SelfOrganizingNetwork":
        """Trains every unit locally (Algorithm 1) for ``epochs`` epochs; records per epoch and unit
        the mean loss and the entropy (on ``entropy_X``, default the first ``entropy_samples``
        images of ``X``) in ``self.history``. Runs in C++ with the GIL released; Ctrl-C stops
        between batches."""
        X = _images(X, self._topology, self.dtype)
        epochs = check_int(epochs, "epochs", minimum=0)
        for loss, ent in self._impl.fit(X, epochs, self._entropy_set(X, entropy_X)):
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
        """Writes ``path`` (.npz): every unit's parameters plus a JSON entry with the config,
        current topology and history. Adam moments are not saved. No pickle."""
        path = os.fspath(path)
        arrays = {f"unit{k}.{n}": v for k in range(self.n_units) for n, v in self.unit_parameters(k).items()}
        cfg = {"format": _FORMAT, "version": _FORMAT_VERSION, "config": self.config(),
               "epochs_trained": self.epochs_trained, "history": self.history}
        arrays["__config__"] = np.frombuffer(json.dumps(cfg).encode("utf-8"), dtype=np.uint8)
        with atomic_write(path) as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "SelfOrganizingNetwork":
        return load(path)


def load(path: Union[str, os.PathLike]) -> SelfOrganizingNetwork:
    """Loads a network written by :meth:`SelfOrganizingNetwork.save`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "__config__" not in archive.files:
                raise ValueError(f"{path!r} is not a bionn.selforg network file (no __config__ entry)")
            cfg = json.loads(bytes(archive["__config__"]).decode("utf-8"))
            arrays = {k: archive[k] for k in archive.files if k != "__config__"}
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r} is not a readable bionn.selforg network file: {exc}") from None
    if cfg.get("format") != _FORMAT:
        raise ValueError(f"{path!r} is not a bionn.selforg network file")
    c = dict(cfg["config"])
    topology = Topology.from_dict(c.pop("topology"))
    net = SelfOrganizingNetwork(topology, **c)
    for k in range(net.n_units):
        unit = net._impl.unit(k)
        for n in ("encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias"):
            key = f"unit{k}.{n}"
            if key not in arrays:
                raise ValueError(f"{path!r} lacks {key}")
            a = np.ascontiguousarray(arrays[key], dtype=net.dtype)
            if a.shape != tuple(unit.get(n).shape) or not np.isfinite(a).all():
                raise ValueError(f"{path!r}: {key} has the wrong shape or non-finite values")
            unit.set(n, a)
    net.history = {"loss": [None if x is None else list(x) for x in cfg["history"]["loss"]],
                   "entropy": [list(x) for x in cfg["history"]["entropy"]]}
    return net


# ================================================================================================
# meta-learning (§2.2)
# ================================================================================================
class MetaLearner:
    """Meta-learning of the receptive fields by entropy (§2.2).

    Parameters
    ----------
    method : {"hill_climbing", "local_search", "random_search"}
        ``hill_climbing`` is Algorithm 2: for units 1..K in order, move one random window of the
        unit by one cell (up/down/left/right), train the candidate, and keep it (and stop) at the
        first unit whose entropy rises strictly. ``local_search`` tries every such move of the unit
        and keeps the best if it raises that unit's entropy. ``random_search`` draws a fresh random
        topology and keeps it if the summed entropy rises.
    epochs_per_step : int
        Base-learning epochs per candidate: the meta-learner updates slower than base learning.
    seed : int
        Fixes the choice of candidates.
    """

    def __init__(self, method: str = "hill_climbing", epochs_per_step: int = 1, seed: int = 0) -> None:
        if method not in META_METHODS:
            raise ValueError(f"method must be one of {META_METHODS}, got {method!r}")
        self.method = method
        self.epochs_per_step = check_int(epochs_per_step, "epochs_per_step", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        opts = _core.SelfOrgMetaOptions()
        opts.method = method
        opts.epochs_per_step = self.epochs_per_step
        self._opts = opts
        self._impls: Dict[str, Any] = {}
        self.history: List[Dict[str, Any]] = []

    def step(self, network: SelfOrganizingNetwork, X: Any, entropy_X: Any = None) -> Dict[str, Any]:
        """One meta-step on a fitted ``network`` (changed in place when a candidate is accepted).

        Returns
        -------
        dict
            ``accepted``, ``unit`` (the moved unit, -1 if none or random search), ``candidates``
            (networks trained), ``entropy`` (per-unit, after the step), ``fields``.
        """
        if not isinstance(network, SelfOrganizingNetwork):
            raise TypeError(f"network must be a SelfOrganizingNetwork, got {type(network).__name__}")
        incumbent = network.last_entropy
        if incumbent is None:
            raise RuntimeError("fit() the network before meta-learning: the incumbent entropy is needed")
        Xc = _images(X, network.topology, network.dtype)
        E = network._entropy_set(Xc, entropy_X)
        key = network.dtype.name
        if key not in self._impls:
            self._impls[key] = getattr(_core, "SelfOrgMetaLearner" + suffix(network.dtype))(self._opts, self.seed)
        r = dict(self._impls[key].step(network._impl, incumbent, Xc, E))
        fields = [[tuple(c) for c in u] for u in network._impl.fields]
        if r["accepted"]:
            network._set_topology(network.topology.with_fields(fields))
            network.history["loss"].append(None)  # the candidate's epochs: losses not recorded
            network.history["entropy"].append(list(r["entropy"]))
        r["fields"] = fields
        self.history.append(r)
        return r

    def run(self, network: SelfOrganizingNetwork, X: Any, meta_steps: int, entropy_X: Any = None,
            on_step: Optional[Callable[[int, SelfOrganizingNetwork, Dict[str, Any]], None]] = None) -> List[Dict[str, Any]]:
        """``meta_steps`` meta-steps (Algorithm 2's outer loop); ``on_step(m, network, record)`` is
        called after each (e.g. to measure readout accuracy per meta-step, Fig. 6)."""
        meta_steps = check_int(meta_steps, "meta_steps", minimum=0)
        out = []
        for m in range(1, meta_steps + 1):
            r = self.step(network, X, entropy_X)
            r["step"] = m
            out.append(r)
            if on_step is not None:
                on_step(m, network, r)
        return out


# ================================================================================================
# readout (extrinsic metric)
# ================================================================================================
class Readout:
    """Multinomial logistic regression on the concatenated codes (§2, Fig. 3 right), built from
    bionn's own layers: ``Dense(K*n_hidden, n_classes)`` + softmax cross-entropy + Adam. Features
    are standardised with the training set's mean and standard deviation.

    Parameters
    ----------
    n_classes : int
    lr, epochs, batch_size, weight_decay : training settings
    seed : int
    """

    def __init__(self, n_classes: int = 10, lr: float = 1e-2, epochs: int = 20, batch_size: int = 128,
                 weight_decay: float = 1e-4, seed: int = 0) -> None:
        self.n_classes = check_int(n_classes, "n_classes", minimum=2)
        self.lr = check_float(lr, "lr", minimum=0, min_inclusive=False)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.weight_decay = check_float(weight_decay, "weight_decay", minimum=0)
        self.seed = check_int(seed, "seed", minimum=0)
        self.model: Any = None
        self._mean: Optional[np.ndarray] = None
        self._std: Optional[np.ndarray] = None

    def _standardise(self, F: Any, name: str) -> np.ndarray:
        F = as_array(F, name, np.float32, min_ndim=2, max_ndim=2)
        if self._mean is not None and F.shape[1] != self._mean.shape[0]:
            raise ValueError(f"{name} has {F.shape[1]} features, the readout was fitted on {self._mean.shape[0]}")
        return np.ascontiguousarray((F - self._mean) / self._std, dtype=np.float32)

    def fit(self, F: Any, y: Any) -> "Readout":
        from . import losses, nn, optim

        F = as_array(F, "F", np.float32, min_ndim=2, max_ndim=2)
        labels = as_labels(y, "y", F.shape[0], np.float32)
        if labels.max() >= self.n_classes:
            raise ValueError(f"y has label {int(labels.max())} but n_classes={self.n_classes}")
        self._mean = F.mean(axis=0)
        self._std = F.std(axis=0) + 1e-6
        Z = self._standardise(F, "F")
        self.model = nn.Sequential([nn.Dense(Z.shape[1], self.n_classes)], seed=self.seed)
        opt = optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.model.fit(Z, labels, loss=losses.CrossEntropy(), optimizer=opt, epochs=self.epochs,
                       batch_size=self.batch_size)
        return self

    def predict(self, F: Any) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("fit() the readout first")
        return np.argmax(self.model.predict(self._standardise(F, "F")), axis=1)

    def score(self, F: Any, y: Any) -> float:
        """Accuracy in [0, 1]."""
        pred = self.predict(F)
        labels = as_labels(y, "y", pred.shape[0], np.float64)
        return float(np.mean(pred == labels))


# ================================================================================================
# data (§3.1)
# ================================================================================================
def preprocess_mnist(X: Any, crop: int = 20, value_range: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Centre-crop 28 x 28 digits to ``crop`` x ``crop`` and min-max scale to [0, 1] (§3.1).

    Parameters
    ----------
    X : array (n, 28, 28) or (n, 1, 28, 28)
    crop : int
        Side of the centre crop (20 in the paper: "the 8 x 8 region acts mostly as extra padding").
    value_range : (lo, hi), optional
        Scaling range; default the min and max of ``X`` (use the training set's for test data).

    Returns
    -------
    numpy.ndarray
        float32 (n, crop, crop) in [0, 1] (for data inside ``value_range``).
    """
    arr = as_array(X, "X", np.float32, min_ndim=3, max_ndim=4)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(f"X must be single-channel (n, 1, h, w), got {arr.shape}")
        arr = arr[:, 0]
    h, w = arr.shape[1:]
    crop = check_int(crop, "crop", minimum=1)
    if crop > min(h, w):
        raise ValueError(f"crop={crop} is larger than the {h} x {w} images")
    r, c = (h - crop) // 2, (w - crop) // 2
    arr = arr[:, r:r + crop, c:c + crop]
    lo, hi = (float(arr.min()), float(arr.max())) if value_range is None else (float(value_range[0]), float(value_range[1]))
    if not hi > lo:
        raise ValueError(f"min-max scaling needs hi > lo, got ({lo}, {hi})")
    return np.ascontiguousarray((arr - lo) / (hi - lo), dtype=np.float32)


def load_mnist(n_train: Optional[int] = None, n_test: Optional[int] = None, seed: int = 0, test_fraction: float = 0.2,
               root: Any = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The project's 10,000-digit MNIST sample, split with ``seed`` (stratified), cropped to 20 x 20
    and min-max scaled with the training split's range.

    Not the official MNIST split: results on it are labelled "MNIST sample (10k), seeded split".
    ``n_train`` / ``n_test`` take stratified subsets of the two splits.

    Returns
    -------
    X_train, y_train, X_test, y_test
    """
    from . import datasets

    X, y = datasets.load_mnist_sample(root)
    test_fraction = check_float(test_fraction, "test_fraction", minimum=0, maximum=1, min_inclusive=False,
                                max_inclusive=False)
    (Xtr, ytr), (Xte, yte) = datasets.train_val_split(X, y, val_fraction=test_fraction, seed=seed)
    if n_train is not None:
        n_train = check_int(n_train, "n_train", minimum=1)
        Xtr, ytr = Xtr[:n_train], ytr[:n_train]   # train_val_split shuffles, so a prefix is random
    if n_test is not None:
        n_test = check_int(n_test, "n_test", minimum=1)
        Xte, yte = Xte[:n_test], yte[:n_test]
    Xtr_c = preprocess_mnist(Xtr)
    crop_tr = np.asarray(Xtr)[:, 0, 4:24, 4:24]
    rng_ = (float(crop_tr.min()), float(crop_tr.max()))
    return Xtr_c, np.asarray(ytr), preprocess_mnist(Xte, value_range=rng_), np.asarray(yte)


def _cifar_dir(root: Any = None) -> Optional[str]:
    from . import datasets

    candidates = []
    if root is not None:
        candidates.append(os.fspath(root))
    env = os.environ.get("BIONN_SHARED_DATA")
    if env:
        candidates.append(env)
    candidates.append(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(datasets.__file__)))),
                                   "..", "shared", "data"))
    candidates.append(os.path.join(os.getcwd(), "..", "shared", "data"))
    for base in candidates:
        for name in ("cifar-10-batches-py", os.path.join("cifar-10", "cifar-10-batches-py"), "cifar-10"):
            d = os.path.join(base, name)
            if os.path.exists(os.path.join(d, "data_batch_1")) and os.path.exists(os.path.join(d, "test_batch")):
                return d
    return None


def cifar10_available(root: Any = None) -> bool:
    """Whether the CIFAR-10 python batches (``cifar-10-batches-py``) are in the shared data."""
    return _cifar_dir(root) is not None


def load_cifar10_gray(augment: bool = True, seed: int = 0, root: Any = None
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 as in §3.1: standard augmentation of the training set (zero-pad 4, random 32 x 32
    crop, random horizontal flip; one augmented copy, seeded), then grayscale and normalisation.

    Raises
    ------
    FileNotFoundError
        CIFAR-10 is not in the shared data (it is not available offline on this machine).
    """
    d = _cifar_dir(root)
    if d is None:
        raise FileNotFoundError("CIFAR-10 (cifar-10-batches-py) is not in the shared data directory; the CIFAR-10 "
                                "experiments of the paper cannot run offline here")
    # The python batches are pickled dicts of uint8 arrays; np.load cannot read them without pickle,
    # so they are read with the standard-library unpickler restricted to plain data.
    import pickle

    class _Plain(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:  # numpy arrays inside the batches
            if module.startswith("numpy") or module == "_codecs":
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def read(name: str) -> Tuple[np.ndarray, np.ndarray]:
        with open(os.path.join(d, name), "rb") as fh:
            b = _Plain(fh, encoding="bytes").load()
        return np.asarray(b[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(b[b"labels"], dtype=np.int64)

    parts = [read(f"data_batch_{i}") for i in range(1, 6)]
    Xtr = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    ytr = np.concatenate([p[1] for p in parts])
    Xte, yte = read("test_batch")
    Xte = Xte.astype(np.float32) / 255.0
    if augment:
        rng = np.random.default_rng(seed)
        padded = np.pad(Xtr, ((0, 0), (0, 0), (4, 4), (4, 4)))
        oy, ox = rng.integers(0, 9, size=len(Xtr)), rng.integers(0, 9, size=len(Xtr))
        flip = rng.random(len(Xtr)) < 0.5
        out = np.empty_like(Xtr)
        for i in range(len(Xtr)):
            img = padded[i, :, oy[i]:oy[i] + 32, ox[i]:ox[i] + 32]
            out[i] = img[:, :, ::-1] if flip[i] else img
        Xtr = out

    def gray(X: np.ndarray) -> np.ndarray:
        return 0.299 * X[:, 0] + 0.587 * X[:, 1] + 0.114 * X[:, 2]

    gtr, gte = gray(Xtr), gray(Xte)
    mean, std = float(gtr.mean()), float(gtr.std())
    return ((gtr - mean) / std).astype(np.float32), ytr, ((gte - mean) / std).astype(np.float32), yte
