"""Negative rectifiers (Maharaj's thesis "neglu-mixlu-thesis.txt", chapter 4 and §5.2; issue 7).

* :class:`NegLU`: ``eta(x) = min(0, x)`` (§4.2), the mirror image of a ReLU: it passes its input
  only when it is negative.
* :class:`SmoothNegLU`: ``N(x) = -ln(1 + e^-x)`` (§4.2), whose derivative ``1 / (e^x + 1)`` is the
  mirrored logistic sigmoid; computed without overflow for any finite ``x``.
* :class:`MixLU`: one activation layer in which a chosen fraction (or an explicit set) of the units
  are NegLUs and the rest ReLUs (§4.4, "MixLU networks"). The set is fixed, drawn from the model's
  seed (``Sequential(seed=...)``) or the layer's own ``seed``, saved with the model, and reported by
  :attr:`MixLU.negative_units`. ``mode="random"`` is the variant of the authors' MatConvNet code,
  which draws a new per-element mask at every forward call.
* :class:`MinMaxout`: maxout units (the max over ``pieces`` inputs) mixed with "min" units (the min
  over their pieces) in one layer (§5.2, "Min-Maxout networks").
* :class:`LearnedActivation`: ``y = a_pos max(0, x) + a_neg min(0, x)`` with trainable per-unit (or
  per-channel) slopes tagged ``"slope"`` (§5.2: "make the degree and sign of activation functions
  learned"), so a unit can become ReLU-like (1, 0), NegLU-like (0, 1) or linear (1, 1).

Example
-------
>>> from bionn import nn
>>> net = nn.Sequential([nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
...                      nn.Conv2d(50, 500, 4), nn.MixLU(500, fraction=0.05), nn.Conv2d(500, 10, 1),
...                      nn.Flatten()], seed=0)
>>> mix = net[5]
>>> len(mix.negative_units)       # 25 of the 500 units are NegLUs, fixed by seed 0
25
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import as_ndarray, check_float, check_int
from .base import Layer, _ArgumentFree, register_layer

__all__ = ["NegLU", "SmoothNegLU", "MixLU", "MinMaxout", "LearnedActivation"]

_SLOPE_PRESETS = {"relu": (1.0, 0.0), "neglu": (0.0, 1.0), "linear": (1.0, 1.0), "abs": (1.0, -1.0)}


@register_layer
class NegLU(_ArgumentFree):
    """Negative-linear rectifier ``min(0, x)`` (thesis §4.2). The derivative is 1 for ``x < 0`` and 0
    for ``x >= 0`` (0 at the kink, like ``-relu(-x)``)."""

    _core_name = "NegLU"


@register_layer
class SmoothNegLU(_ArgumentFree):
    """Smooth negative rectifier ``N(x) = -ln(1 + e^-x)`` (thesis §4.2), ``dN/dx = 1 / (e^x + 1)``.

    Evaluated as ``-(max(-x, 0) + log1p(e^-|x|))``: finite for every finite input, and accurate both
    for large negative ``x`` (where ``N(x) ~ x``) and large positive ``x`` (``N(x) ~ -e^-x``).
    """

    _core_name = "SmoothNegLU"


def _units_shape(num_units: Any) -> Tuple[int, ...]:
    if isinstance(num_units, (tuple, list)):
        if not 1 <= len(num_units) <= 3:
            raise ValueError(f"num_units must be an int or a shape of 1 to 3 ints, got {num_units!r}")
        return tuple(check_int(v, "num_units", minimum=1) for v in num_units)
    return (check_int(num_units, "num_units", minimum=1),)


def _selection(
    fraction: Any, units: Any, n: int, fraction_name: str, units_name: str, default_fraction: Optional[float]
) -> Tuple[float, list, bool]:
    """(fraction, explicit unit list, is_explicit) after validation."""
    if units is not None:
        if fraction is not None:
            raise ValueError(f"give either {fraction_name} or {units_name}, not both")
        if isinstance(units, (str, bytes)):
            raise TypeError(f"{units_name} must be a sequence of unit indices, got {units!r}")
        arr = as_ndarray(units, units_name)
        if arr.size == 0:
            return 0.0, [], True
        if arr.dtype == bool:
            if arr.shape != (n,) and arr.size != n:
                raise ValueError(f"{units_name} as a boolean mask must have {n} entries, got shape {arr.shape}")
            arr = np.flatnonzero(arr.reshape(-1))
        elif arr.dtype.kind not in "iu":
            raise TypeError(
                f"{units_name} must hold integer unit indices (or be a boolean mask), got dtype {arr.dtype}"
            )
        arr = arr.reshape(-1).astype(np.int64)
        if arr.min() < 0 or arr.max() >= n:
            raise ValueError(f"{units_name} must lie in [0, {n}), got indices from {arr.min()} to {arr.max()}")
        if np.unique(arr).size != arr.size:
            raise ValueError(f"{units_name} lists a unit more than once")
        return 0.0, sorted(int(v) for v in arr), True
    if fraction is None:
        if default_fraction is None:
            raise ValueError(f"give {fraction_name} (in [0, 1]) or {units_name}")
        fraction = default_fraction
    fraction = check_float(fraction, fraction_name, minimum=0.0, maximum=1.0)
    return fraction, [], False


def _check_mask(value: np.ndarray, where: str) -> None:
    """A unit mask holds 0 and 1 only (a file could hold anything)."""
    if not ((value == 0) | (value == 1)).all():
        raise ValueError(f"{where}: a unit mask holds 0 and 1 only, got {np.unique(value)[:5].tolist()}")


def _seed(seed: Any) -> int:
    if seed is None:
        return -1
    return check_int(seed, "seed", minimum=0, maximum=None) % (2**63)


@register_layer
class MixLU(Layer):
    """ReLUs and NegLUs in one layer (thesis §4.4): unit ``u`` computes ``min(0, x)`` if it is one of
    :attr:`negative_units`, ``max(0, x)`` otherwise.

    Parameters
    ----------
    num_units : int or tuple of int
        An int ``C``: one unit per feature of (N, C) inputs, or per channel of (N, C, H, W) / (N, C, L)
        inputs (the whole feature map shares its unit's function). A tuple, e.g. ``(C, H, W)``: one
        unit per element of a sample (the input's sample shape must equal it).
    fraction : float in [0, 1], optional
        Share of NegLU units: ``round(fraction * n_units)`` of them (halves up), drawn uniformly
        without replacement. Default 0.05 (the authors' code default) unless ``negative_units`` is given.
    negative_units : sequence of int or boolean mask, optional
        Explicit NegLU units (flat indices into ``num_units``), instead of ``fraction``.
    seed : int, optional
        Draws the units from this seed, independently of the model. Without it the units are drawn
        from the generator at construction and redrawn from the model's engine by
        ``Sequential(seed=...)``, so the model's seed fixes them.
    mode : {"fixed", "random"}
        ``"fixed"`` (default; the thesis: "we designate a certain percentage of the units"): the same
        units in every forward pass. ``"random"``: the authors' MatConvNet code, which draws a new
        mask over every element of the input (per sample and position) at every forward call, in
        training and evaluation alike, with exactly ``round(fraction * numel)`` NegLU elements.
    neglu_grad : {"exact", "relu_mask"}
        ``"exact"`` (default): the derivative of ``min(0, x)``, 1 where ``x < 0``. ``"relu_mask"``: the
        authors' code, which multiplies the NegLU elements' gradient by ``x > 0`` (the ReLU's mask).
    dtype : float32 or float64

    Notes
    -----
    The fixed mask is the buffer ``"neglu_mask"`` (1 = NegLU), saved and loaded with the model.
    """

    def __init__(
        self,
        num_units: Union[int, Sequence[int]],
        fraction: Optional[float] = None,
        negative_units: Optional[Any] = None,
        seed: Optional[int] = None,
        mode: str = "fixed",
        neglu_grad: str = "exact",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        shape = _units_shape(num_units)
        n = math.prod(shape)
        self._check_size("num_units", 2 * n)
        if not isinstance(mode, str) or mode not in ("fixed", "random"):
            raise ValueError(f"mode must be 'fixed' or 'random', got {mode!r}")
        if not isinstance(neglu_grad, str) or neglu_grad not in ("exact", "relu_mask"):
            raise ValueError(f"neglu_grad must be 'exact' or 'relu_mask', got {neglu_grad!r}")
        if mode == "random" and negative_units is not None:
            raise ValueError("mode='random' draws a new mask at every forward; give fraction, not negative_units")
        frac, units, explicit = _selection(fraction, negative_units, n, "fraction", "negative_units", 0.05)
        seed_v = _seed(seed)
        if not explicit and mode == "fixed" and frac > 0 and np.floor(frac * n + 0.5) == 0:
            warnings.warn(
                f"MixLU: fraction {frac} of {n} units rounds to no NegLU at all; use per-element units "
                f"(num_units=(C, H, W)) or mode='random' for small fractions",
                stacklevel=2,
            )
        self._config = dict(
            num_units=list(shape) if len(shape) > 1 else shape[0],
            fraction=None if explicit else frac,
            negative_units=units if explicit else None,
            seed=None if seed is None else seed_v,
            mode=mode,
            neglu_grad=neglu_grad,
        )
        self._impl = self._core("MixLU")(list(shape), frac, units, explicit, seed_v, mode, neglu_grad)
        self._shape = shape

    def _check_buffer(self, name: str, value: np.ndarray, where: str) -> None:
        _check_mask(value, where)

    @property
    def mode(self) -> str:
        return self._config["mode"]

    @property
    def neglu_mask(self) -> np.ndarray:
        """Boolean array of shape ``num_units``: True for NegLU units (all False in random mode)."""
        return self._impl.mask().reshape(self._shape) != 0

    @property
    def negative_units(self) -> np.ndarray:
        """Flat indices of the NegLU units (empty in ``mode="random"``, where no unit is fixed)."""
        return np.flatnonzero(self._impl.mask())

    @property
    def positive_units(self) -> np.ndarray:
        """Flat indices of the ReLU units (all units in ``mode="random"``)."""
        return np.flatnonzero(self._impl.mask() == 0)

    @property
    def negative_fraction(self) -> float:
        """Realised share of NegLUs: the fixed units' share, or the requested fraction in random mode."""
        if self.mode == "random":
            return float(self._config["fraction"])
        return float(self.negative_units.size / max(1, int(np.prod(self._shape))))


@register_layer
class MinMaxout(Layer):
    """Min-Maxout (thesis §5.2): unit ``j`` reads ``pieces`` consecutive channels (features)
    ``j * pieces ... j * pieces + pieces - 1`` and outputs their max ("max unit", Goodfellow et al.'s
    maxout) or, for the :attr:`min_units`, their min. (N, num_units * pieces[, H, W]) -> (N, num_units[, H, W]).

    Parameters
    ----------
    num_units : int
        Output units (channels).
    pieces : int >= 1
        Inputs per unit (1 makes the layer an identity).
    min_fraction : float in [0, 1], optional
        Share of min units, ``round(min_fraction * num_units)``; default 0.5 unless ``min_units`` is given.
    min_units : sequence of int or boolean mask, optional
        Explicit min units.
    seed : int, optional
        As for :class:`MixLU`: draws the min units independently of the model.

    Notes
    -----
    Ties: the first piece attaining the max (min) gets the whole gradient, as ``torch.max(dim)`` and
    :class:`bionn.nn.MaxPool2d`. The assignment is the buffer ``"min_mask"`` (1 = min unit).
    """

    def __init__(
        self,
        num_units: int,
        pieces: int = 2,
        min_fraction: Optional[float] = None,
        min_units: Optional[Any] = None,
        seed: Optional[int] = None,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        num_units = check_int(num_units, "num_units", minimum=1)
        pieces = check_int(pieces, "pieces", minimum=1)
        self._check_size("num_units * pieces", 2 * num_units * pieces)
        frac, units, explicit = _selection(min_fraction, min_units, num_units, "min_fraction", "min_units", 0.5)
        seed_v = _seed(seed)
        self._config = dict(
            num_units=num_units,
            pieces=pieces,
            min_fraction=None if explicit else frac,
            min_units=units if explicit else None,
            seed=None if seed is None else seed_v,
        )
        self._impl = self._core("MinMaxout")(num_units, pieces, frac, units, explicit, seed_v)

    def _check_buffer(self, name: str, value: np.ndarray, where: str) -> None:
        _check_mask(value, where)

    @property
    def min_units(self) -> np.ndarray:
        """Indices of the min units."""
        return np.flatnonzero(self._impl.mask())

    @property
    def max_units(self) -> np.ndarray:
        """Indices of the max units."""
        return np.flatnonzero(self._impl.mask() == 0)


@register_layer
class LearnedActivation(Layer):
    """``y = a_pos * max(0, x) + a_neg * min(0, x)`` with trainable slopes per unit (thesis §5.2).

    Parameters
    ----------
    num_units : int
        Features of (N, C) inputs or channels of (N, C, ...) inputs; each has its own pair of slopes.
    init : {"relu", "neglu", "linear", "abs"} or (float, float)
        Initial ``(a_pos, a_neg)``: ReLU (1, 0), NegLU (0, 1), identity (1, 1), ``|x|`` (1, -1), or a pair.
    dtype : float32 or float64

    Notes
    -----
    Parameters ``positive_slope`` and ``negative_slope``, both tagged ``"slope"`` (give them their own
    learning rate with :func:`bionn.optim.groups_by_tag`). ``dy/dx`` is ``a_pos`` for ``x > 0`` and
    ``a_neg`` for ``x <= 0`` (PReLU's convention at the kink). The thesis gives no experiment for this
    layer; it is the natural generalisation of a PReLU to a learned sign on both sides.
    """

    def __init__(self, num_units: int, init: Union[str, Sequence[float]] = "relu", dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        num_units = check_int(num_units, "num_units", minimum=1)
        self._check_size("num_units", 4 * num_units)
        if isinstance(init, str):
            if init not in _SLOPE_PRESETS:
                raise ValueError(f"init must be one of {sorted(_SLOPE_PRESETS)} or a pair (a_pos, a_neg), got {init!r}")
            pos, neg = _SLOPE_PRESETS[init]
            init_cfg: Any = init
        else:
            if not isinstance(init, (tuple, list, np.ndarray)) or len(init) != 2:
                raise TypeError(f"init must be a preset name or a pair (a_pos, a_neg), got {init!r}")
            pos = check_float(init[0], "init[0]")
            neg = check_float(init[1], "init[1]")
            init_cfg = [pos, neg]
        self._config = dict(num_units=num_units, init=init_cfg)
        self._impl = self._core("LearnedActivation")(num_units, pos, neg)

    @property
    def positive_slope(self) -> np.ndarray:
        """a_pos per unit (a writable view)."""
        return self.parameters()[0].data

    @property
    def negative_slope(self) -> np.ndarray:
        """a_neg per unit (a writable view)."""
        return self.parameters()[1].data
