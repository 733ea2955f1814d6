"""Amplifying and attenuating neurons (Jung & Kwon; issue 5). Layers are re-exported by :mod:`bionn.nn`.

An *amplifying* neuron squares its activated value, an *attenuating* one takes an approximate
reciprocal of it (Eq. 3-4)::

    F(x) = G(H(x)),   amplifying  G(h) = h^2,   attenuating  G(h) = h / (h^2 + b)   (b = 1)

with ``H`` an ordinary activation, in the paper the parametric softplus of Eq. 5,
``f(x) = a x + (1 - a) ln(e^x + 1)`` with ``a = 0.3``. Only some neurons of a layer are special; the
others keep ``H``. As in Algorithm 1 the derivative ``F'`` is computed during the forward pass.

>>> from bionn import nn
>>> hidden = nn.amplifying_dense(10, 10, amplifying=4, attenuating=1)   # Dense + SecondaryActivation
>>> model = nn.amplifying_mlp(1, 1, width=10, depth=5, amplifying=4, attenuating=1, seed=0)  # Network 5

By default the special neurons are the *last* ones of the layer (attenuating before amplifying),
as in the authors' code; pass explicit index lists to choose others.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import as_list, as_ndarray, check_bool, check_dtype, check_float, check_int, check_size
from .base import Layer, register_layer
from .layers import Dense
from .sequential import Sequential

__all__ = ["ParametricSoftplus", "SecondaryActivation", "amplifying_dense", "amplifying_mlp"]

_ACTIVATIONS = ("parametric_softplus", "identity", "relu", "softplus", "tanh", "sigmoid")

IndexSpec = Union[int, Sequence[int], np.ndarray]


@register_layer
class ParametricSoftplus(Layer):
    """Parametric softplus, Eq. 5: ``f(x) = a x + (1 - a) ln(e^x + 1)``.

    Evaluated as ``a x + (1 - a) (max(x, 0) + log1p(exp(-|x|)))``, exact and overflow-free for any
    ``x``; ``f'(x) = a + (1 - a) sigmoid(x)``. ``a = 0`` is the softplus, ``a = 1`` the identity.

    Parameters
    ----------
    a : float
        Slope mixing weight (the paper uses 0.3). Any finite value; ``0 <= a <= 1`` keeps ``f``
        increasing with slopes between ``a`` and 1.
    dtype : float32 or float64
    """

    def __init__(self, a: float = 0.3, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        a = check_float(a, "a")
        self._config = dict(a=a)
        self._impl = self._core("ParametricSoftplus")(a)

    @property
    def a(self) -> float:
        return float(self._config["a"])


def _indices(spec: Any, name: str, features: int) -> Optional[List[int]]:
    """None for a count (placed later), a list for explicit indices (validated)."""
    if isinstance(spec, (bool, np.bool_)):
        raise TypeError(f"{name} must be a count (int) or a sequence of neuron indices, got {spec!r}")
    if isinstance(spec, (int, np.integer)):
        return None
    if isinstance(spec, (str, bytes)) or not isinstance(spec, (Sequence, np.ndarray, range)):
        raise TypeError(f"{name} must be a count (int) or a sequence of neuron indices, got {type(spec).__name__}")
    arr = as_ndarray(spec, name)
    if arr.size == 0:
        return []
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} indices must be a 1-D sequence of integers, got {spec!r}")
    out = [int(i) for i in arr]
    bad = [i for i in out if not 0 <= i < features]
    if bad:
        raise ValueError(f"{name} index {bad[0]} is outside [0, {features}) (features={features})")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} lists a neuron twice: {out}")
    return out


def _place(features: int, amplifying: Any, attenuating: Any, taken: Sequence[int] = ()) -> Tuple[List[int], List[int]]:
    """Resolves counts/index lists to disjoint index lists; counts take the last neurons
    (amplifying last, attenuating just before them), as the authors' code does, skipping ``taken``
    (linear neurons)."""
    amp = _indices(amplifying, "amplifying", features)
    att = _indices(attenuating, "attenuating", features)
    n_amp = check_int(amplifying, "amplifying", minimum=0) if amp is None else len(amp)
    n_att = check_int(attenuating, "attenuating", minimum=0) if att is None else len(att)
    if n_amp + n_att + len(taken) > features:
        raise ValueError(
            f"amplifying ({n_amp}) + attenuating ({n_att}) + linear ({len(taken)}) neurons exceed the layer width "
            f"features={features}"
        )
    for name, idx in (("amplifying", amp), ("attenuating", att)):
        clash = sorted(set(idx or []) & set(taken))
        if clash:
            raise ValueError(f"neuron {clash[0]} is both {name} and linear")
    taken = set(taken) | set(amp or []) | set(att or [])
    if amp is not None and att is not None:
        both = sorted(set(amp) & set(att))
        if both:
            raise ValueError(f"neuron {both[0]} is both amplifying and attenuating")
    # Counts fill from the end, skipping neurons an explicit list already took.
    free = [i for i in range(features - 1, -1, -1) if i not in taken]
    if amp is None:
        amp, free = sorted(free[:n_amp]), free[n_amp:]
    if att is None:
        att = sorted(free[:n_att])
    return amp, att


@register_layer
class SecondaryActivation(Layer):
    """Per-neuron activation with amplifying and attenuating neurons (Eq. 3-4, Algorithm 1).

    Every neuron ``j`` of an (N, features) input computes ``h = H(x_j)``; amplifying neurons then
    output ``h^2``, attenuating neurons ``h / (h^2 + b)``, the others ``h``. The derivative is
    formed in the same pass (Algorithm 1), so backward is one multiply.

    Parameters
    ----------
    features : int
        Layer width.
    amplifying, attenuating : int or sequence of int
        A count (the special neurons are then the last ones: amplifying at the end, attenuating
        just before, as in the authors' code) or explicit neuron indices.
    activation : str
        The primary activation ``H``: ``"parametric_softplus"`` (Eq. 5, default), ``"identity"``
        (apply ``G`` to the input, e.g. after any other activation layer), ``"relu"``,
        ``"softplus"``, ``"tanh"``, ``"sigmoid"``.
    a : float
        Eq. 5's ``a`` (parametric softplus only), 0.3 in the paper.
    b : float
        Eq. 4's ``b > 0`` (1 in the paper). The attenuating output is bounded by ``1/(2 sqrt(b))``.
    linear : sequence of int
        Neurons with no activation at all (``y = x``): the paper's bias neurons ("for the bias
        neuron ... no activation function was applied", §4), trainable in the authors' MLP. Disjoint
        from the special neurons; counts for amplifying/attenuating skip them.
    secondary_enabled : bool
        Whether ``G`` is applied (default). ``False``: the special neurons compute ``H`` only, like
        ordinary ones; switch it on mid-training through the property of the same name (the authors
        train an ordinary network first and switch the special neurons on layer by layer).
    dtype : float32 or float64

    Raises
    ------
    ValueError
        Counts exceeding ``features``, an index outside the layer or listed twice, a neuron of two
        kinds, ``b <= 0``, an unknown activation.
    """

    def __init__(
        self,
        features: int,
        amplifying: IndexSpec = 0,
        attenuating: IndexSpec = 0,
        activation: str = "parametric_softplus",
        a: float = 0.3,
        b: float = 1.0,
        linear: Sequence[int] = (),
        secondary_enabled: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        features = check_int(features, "features", minimum=1)
        self._check_size("features", 4 * features)
        if not isinstance(activation, str) or activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(_ACTIVATIONS)}, got {activation!r}")
        a = check_float(a, "a")
        b = check_float(b, "b", minimum=0.0, min_inclusive=False)
        if np.dtype(self.dtype) == np.float32 and not (
            np.float32(b) > 0 and np.isfinite(np.float32(1) / np.float32(b))
        ):
            raise ValueError(f"b must be positive with b and 1/b representable in float32, got {b}")
        lin = _indices(
            as_list(linear, "linear", "a sequence of neuron indices")
            if not isinstance(linear, (int, np.integer))
            else linear,
            "linear",
            features,
        )
        if lin is None:
            raise TypeError("linear must be a sequence of neuron indices")
        if not isinstance(secondary_enabled, (bool, np.bool_)):
            raise TypeError(f"secondary_enabled must be a bool, got {secondary_enabled!r}")
        amp, att = _place(features, amplifying, attenuating, taken=lin)
        self._config = dict(
            features=features,
            amplifying=amp,
            attenuating=att,
            activation=activation,
            a=a,
            b=b,
            linear=lin,
            secondary_enabled=check_bool(secondary_enabled, "secondary_enabled"),
        )
        self._impl = self._core("SecondaryActivation")(features, amp, att, activation, a, b, lin)
        self._impl.secondary_enabled = check_bool(secondary_enabled, "secondary_enabled")

    @property
    def features(self) -> int:
        return int(self._config["features"])

    @property
    def amplifying(self) -> Tuple[int, ...]:
        """Indices of the amplifying neurons."""
        return tuple(self._config["amplifying"])

    @property
    def attenuating(self) -> Tuple[int, ...]:
        """Indices of the attenuating neurons."""
        return tuple(self._config["attenuating"])

    @property
    def linear(self) -> Tuple[int, ...]:
        """Indices of the linear (no-activation) neurons."""
        return tuple(self._config["linear"])

    @property
    def secondary_enabled(self) -> bool:
        """Whether the amplifying/attenuating neurons apply ``G`` (settable mid-training)."""
        return bool(self._impl.secondary_enabled)

    @secondary_enabled.setter
    def secondary_enabled(self, on: bool) -> None:
        if not isinstance(on, (bool, np.bool_)):
            raise TypeError(f"secondary_enabled must be a bool, got {on!r}")
        self._impl.secondary_enabled = check_bool(on, "secondary_enabled")
        self._config["secondary_enabled"] = check_bool(on, "secondary_enabled")

    @property
    def b(self) -> float:
        return float(self._config["b"])

    def kinds(self) -> np.ndarray:
        """Per-neuron kind: 0 ordinary, 1 amplifying, 2 attenuating, 3 linear."""
        k = np.zeros(self.features, dtype=np.int8)
        k[list(self.amplifying)] = 1
        k[list(self.attenuating)] = 2
        k[list(self.linear)] = 3
        return k


def amplifying_dense(
    in_features: int,
    out_features: int,
    amplifying: IndexSpec = 0,
    attenuating: IndexSpec = 0,
    *,
    activation: str = "parametric_softplus",
    a: float = 0.3,
    b: float = 1.0,
    bias: bool = True,
    init: str = "torch",
    dtype: Any = np.float32,
) -> List[Layer]:
    """A hidden layer with amplifying/attenuating neurons: ``[Dense, SecondaryActivation]``.

    ``nn.amplifying_dense(10, 10, amplifying=4, attenuating=1)`` is one of the paper's Network 5
    hidden layers (10 neurons, 4 amplifying, 1 attenuating, parametric softplus elsewhere). Splice it
    into a model with ``nn.Sequential([*nn.amplifying_dense(...), ...])``.
    """
    in_features = check_int(in_features, "in_features", minimum=1)
    out_features = check_int(out_features, "out_features", minimum=1)
    act = SecondaryActivation(out_features, amplifying, attenuating, activation=activation, a=a, b=b, dtype=dtype)
    return [Dense(in_features, out_features, bias=bias, init=init, dtype=dtype), act]


def amplifying_mlp(
    in_features: int,
    out_features: int,
    *,
    width: int = 10,
    depth: int = 5,
    amplifying: IndexSpec = 0,
    attenuating: IndexSpec = 0,
    special_layers: Optional[Iterable[int]] = None,
    activation: str = "parametric_softplus",
    a: float = 0.3,
    b: float = 1.0,
    init: str = "torch",
    seed: Optional[int] = None,
    dtype: Any = np.float32,
) -> Sequential:
    """The paper's multilayer perceptrons (§4): ``depth`` hidden layers of ``width`` neurons, a linear
    output layer.

    Parameters
    ----------
    in_features, out_features : int
    width, depth : int
        Neurons per hidden layer and number of hidden layers (Tables 1-2's "Depth").
    amplifying, attenuating : int or sequence of int
        Per special hidden layer, as for :class:`SecondaryActivation`.
    special_layers : iterable of int, optional
        1-based hidden layers that get the special neurons (the others are ordinary). Default: all
        of them (Networks 2-6); Network 8 uses ``range(1, 6)``, Network 10 ``range(2, 6)``.
    activation, a, b : as for :class:`SecondaryActivation`
    init : str
        Dense initialiser (see :class:`bionn.nn.Dense`).
    seed : int, optional
        Passed to :class:`bionn.nn.Sequential` (fixes init and shuffling).

    Examples
    --------
    >>> from bionn.nn import amplifying_mlp
    >>> net5 = amplifying_mlp(1, 1, width=10, depth=5, amplifying=4, attenuating=1, seed=0)
    >>> net10 = amplifying_mlp(2, 1, depth=6, amplifying=3, attenuating=1, special_layers=range(2, 6))
    """
    in_features = check_int(in_features, "in_features", minimum=1)
    out_features = check_int(out_features, "out_features", minimum=1)
    width = check_int(width, "width", minimum=1)
    depth = check_int(depth, "depth", minimum=1)
    # Every weight and bias with its gradient, checked before the first layer is built.
    n_params = (in_features + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_features
    what = "in_features, width, depth and out_features: the parameters and their gradients"
    check_size(what, 2 * n_params, check_dtype(dtype).itemsize)
    if special_layers is None:
        special = set(range(1, depth + 1))
    else:
        special = set()
        for layer in as_list(special_layers, "special_layers", "a sequence of 1-based hidden-layer numbers"):
            layer = check_int(layer, "special_layers[]", minimum=1)
            if layer > depth:
                raise ValueError(f"special_layers contains {layer}, but there are only depth={depth} hidden layers")
            special.add(layer)
    layers: List[Layer] = []
    fan_in = in_features
    for i in range(1, depth + 1):
        amp, att = (amplifying, attenuating) if i in special else (0, 0)
        layers += amplifying_dense(fan_in, width, amp, att, activation=activation, a=a, b=b, init=init, dtype=dtype)
        fan_in = width
    layers.append(Dense(fan_in, out_features, init=init, dtype=dtype))  # linear output (§4)
    return Sequential(layers, seed=seed)
