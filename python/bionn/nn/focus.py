"""Focusing-neuron layers ("focusing-neuron.txt" in the README's paper table, issue 4): dense
layers whose neurons learn *where* to look, i.e. their receptive field over the input positions.

Each neuron ``j`` multiplies its weights by a Gaussian focus over the input positions (Eq. 6)::

    phi_j(i) = s_j exp(-(tau(i) - mu_j)^2 / (2 sigma_j^2)),   tau(i) = i / (m - 1) in [0, 1]

and the layer computes ``y = x K^T + b`` with the effective weight ``K = Phi ∘ W`` (Algorithm 1).
``s_j`` normalises the focus: by default ``||phi_j||_2 = sqrt(m)`` (Eq. 7, what the author's code
uses); ``normalization="sum"`` divides by the plain sum instead, ``phi_j = sqrt(m) e_j / sum(e_j)``
(Algorithm 2). ``mu`` and ``sigma`` are parameters tagged ``"mu"`` and ``"sigma"`` with analytic
gradients (Eq. 8-9) chained through the normaliser, clamped after every optimizer step to
``mu_bounds`` and ``sigma_bounds`` (Algorithm 3: [0, 1] and [0.01, 1]). Give them their own
learning rates with parameter groups::

    opt = optim.SGD(optim.groups_by_tag(model.parameters(), {"mu": {"lr": 0.01}, "sigma": {"lr": 0.01}}),
                    lr=0.1, momentum=0.9)

Phi is computed once per forward pass and the product is a single GEMM, so a focusing layer costs
about as much as a :class:`bionn.nn.Dense` of the same shape.

Units, axes and readings (read this before choosing ``sigma_init``)
-------------------------------------------------------------------
* **Positions are normalised.** Input ``i`` of ``m`` sits at ``tau(i) = i / (m - 1)``, i.e.
  ``numpy.linspace(0, 1, m)`` -- what the authors' code does. Eq. 6 read literally places it at
  ``i / m``; the two differ by a factor ``m / (m - 1)`` in every position and aperture (0.1 % at
  784 inputs, 2.6 % at 40).
* **``mu`` and ``sigma`` are in those normalised units**, so the same ``sigma`` covers a different
  number of inputs at every width: the default 0.025 is about 20 inputs (one standard deviation)
  at 784 inputs, one input at 40, and 0.7 pixel on a 28 x 28 grid (:class:`FocusDense2D`
  normalises each axis separately). ``sigma_units="inputs"`` takes ``sigma_init`` in input
  positions (pixels) instead and converts it, ``sigma = sigma_init / (m - 1)``; the layer still
  stores and trains the normalised value, and ``sigma_bounds`` stay normalised (their default
  lower bound, 0.01, is 7.8 inputs at 784 inputs).
* **The gradient is the true gradient.** The mu/sigma gradients include the dependence of the
  Eq. 7 normaliser ``s_j`` on mu and sigma (the chain rule through ``s_j``); Eq. 8 read literally
  treats ``s_j`` as a constant. With ``normalization="none"`` the two agree.
* **Constraints.** ``sigma`` must be > 0 (a zero aperture divides by zero). The constructor checks
  ``sigma_init``; ``Sequential.load_state_dict`` refuses a state with a non-positive or non-finite
  aperture, and a write through ``p.data`` / :attr:`FocusDense.sigma` that breaks it is reported
  (``ValueError`` naming the parameter) at the next forward pass, ``fit``, ``predict`` or
  ``evaluate``. ``mu_bounds`` / ``sigma_bounds`` are a clamp applied after each optimizer step,
  not checked on writes.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._validation import as_ndarray, check_bool, check_float, check_int
from .base import Layer, register_layer
from .layers import Dense

__all__ = ["FocusDense", "FocusDense2D"]

_NORMALIZATIONS = ("l2", "sum", "none")
_SIGMA_UNITS = ("normalized", "inputs")
_INITS = (
    "focus",
    "focus_glorot",
    "torch",
    "default",
    "glorot_uniform",
    "xavier_uniform",
    "glorot_normal",
    "xavier_normal",
    "he_uniform",
    "kaiming_uniform",
    "he_normal",
    "kaiming_normal",
    "zeros",
)


def _interval(value: Any, name: str) -> Tuple[float, float]:
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, (tuple, list, np.ndarray))
        or np.ndim(value) == 0
        or len(value) != 2
    ):
        raise TypeError(f"{name} must be a pair (min, max), got {value!r}")
    lo = check_float(value[0], f"{name}[0]")
    hi = check_float(value[1], f"{name}[1]")
    if not lo <= hi:
        raise ValueError(f"{name} must satisfy min <= max, got ({lo}, {hi})")
    return lo, hi


class _FocusBase(Layer):
    """Shared option handling and methods of :class:`FocusDense` and :class:`FocusDense2D`."""

    _dims = 1

    def _options(
        self,
        out_features: int,
        bias: bool,
        init: str,
        normalization: str,
        mu_init: Union[str, Sequence[float], np.ndarray],
        spread: Sequence[float],
        sigma_init: float,
        trainable_focus: bool,
        mu_bounds: Sequence[float],
        sigma_bounds: Sequence[float],
        sigma_l1: float,
        sigma_l2: float,
        prune_threshold: float,
        sigma_units: str = "normalized",
    ) -> Tuple[Dict[str, Any], Any]:
        if not isinstance(init, str) or init not in _INITS:
            raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
        if not isinstance(normalization, str) or normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {list(_NORMALIZATIONS)}, got {normalization!r}")
        mu_lo, mu_hi = _interval(mu_bounds, "mu_bounds")
        s_lo, s_hi = _interval(sigma_bounds, "sigma_bounds")
        if s_lo <= 0:
            raise ValueError(f"sigma_bounds must be positive, got ({s_lo}, {s_hi})")
        a, b = _interval(spread, "spread")
        if not (0.0 <= a <= b <= 1.0):
            raise ValueError(f"spread must lie inside [0, 1], got ({a}, {b})")
        sigma_init = check_float(sigma_init, "sigma_init")
        if not sigma_init > 0:
            raise ValueError(f"sigma_init must be > 0, got {sigma_init}")
        if not isinstance(sigma_units, str) or sigma_units not in _SIGMA_UNITS:
            raise ValueError(f"sigma_units must be one of {list(_SIGMA_UNITS)}, got {sigma_units!r}")
        given = sigma_init
        if sigma_units == "inputs":
            sigma_init = given / self._input_spacing_units()
        if not s_lo <= sigma_init <= s_hi:
            shown = f"{given} inputs = {sigma_init:.6g} normalised" if sigma_units == "inputs" else f"{sigma_init}"
            raise ValueError(f"sigma_init {shown} is outside sigma_bounds ({s_lo}, {s_hi}) (normalised units)")
        if isinstance(mu_init, str):
            if mu_init not in ("spread", "center"):
                raise ValueError(f"mu_init must be 'spread', 'center' or an array of centres, got {mu_init!r}")
            mu_mode, mu_values, mu_cfg = mu_init, [], mu_init
        else:
            arr = as_ndarray(mu_init, "mu_init")
            if arr.dtype.kind not in "iuf":
                raise TypeError(f"mu_init must be 'spread', 'center' or an array of real numbers, got {mu_init!r}")
            arr = arr.astype(np.float64)
            want = (out_features,) if self._dims == 1 else (out_features, 2)
            if arr.shape != want:
                raise ValueError(f"mu_init array must have shape {want}, got {arr.shape}")
            if not np.isfinite(arr).all() or arr.min() < mu_lo or arr.max() > mu_hi:
                raise ValueError(f"mu_init values must lie inside mu_bounds ({mu_lo}, {mu_hi})")
            mu_mode, mu_values, mu_cfg = "values", arr.reshape(-1).tolist(), arr.tolist()
        sigma_l1 = check_float(sigma_l1, "sigma_l1", minimum=0.0)
        sigma_l2 = check_float(sigma_l2, "sigma_l2", minimum=0.0)
        prune_threshold = check_float(prune_threshold, "prune_threshold", minimum=0.0)
        config = dict(
            bias=check_bool(bias, "bias"),
            init=init,
            normalization=normalization,
            mu_init=mu_cfg,
            spread=[a, b],
            sigma_init=given,
            trainable_focus=check_bool(trainable_focus, "trainable_focus"),
            mu_bounds=[mu_lo, mu_hi],
            sigma_bounds=[s_lo, s_hi],
            sigma_l1=sigma_l1,
            sigma_l2=sigma_l2,
            prune_threshold=prune_threshold,
        )
        core = _core.FocusOptions()
        for name, value in dict(
            bias=check_bool(bias, "bias"),
            init=init,
            normalization=normalization,
            mu_init=mu_mode,
            mu_values=mu_values,
            spread_lo=a,
            spread_hi=b,
            sigma_init=sigma_init,
            trainable_focus=check_bool(trainable_focus, "trainable_focus"),
            mu_min=mu_lo,
            mu_max=mu_hi,
            sigma_min=s_lo,
            sigma_max=s_hi,
            sigma_l1=sigma_l1,
            sigma_l2=sigma_l2,
            prune_threshold=prune_threshold,
        ).items():
            setattr(core, name, value)
        if sigma_units != "normalized":  # saved architectures without the key stay as they were
            config["sigma_units"] = sigma_units
        return config, core

    def _input_spacing_units(self) -> float:
        """Input positions per normalised unit (m - 1), for ``sigma_units="inputs"``."""
        raise NotImplementedError

    def _check_value(self, p: Any, value: np.ndarray, where: str) -> None:
        if p.tag == "sigma":
            if not (np.isfinite(value).all() and (value > 0).all()):
                bad = value[~(np.isfinite(value) & (value > 0))]
                raise ValueError(
                    f"{where}: focus apertures (sigma) must be finite and > 0, got {bad.ravel()[:3].tolist()} "
                    f"({bad.size} bad of {value.size}); a zero aperture gives NaN outputs"
                )
        elif p.tag == "mu" and not np.isfinite(value).all():
            raise ValueError(f"{where}: focus centres (mu) must be finite")

    @property
    def sigma_units(self) -> str:
        """How ``sigma_init`` was given: ``"normalized"`` or ``"inputs"`` (the layer's ``sigma``
        is normalised either way)."""
        return str(self._config.get("sigma_units", "normalized"))

    # -- focus parameters ----------------------------------------------------------------------
    def _by_tag(self, tag: str) -> list:
        return [p for p in self.parameters() if p.tag == tag]

    @property
    def in_features(self) -> int:
        return int(self._impl.in_features)

    @property
    def out_features(self) -> int:
        return int(self._impl.out_features)

    def focus(self) -> np.ndarray:
        """The focus coefficients Phi for the current mu, sigma: shape (out_features, in_features)
        (the transpose of the paper's m x n matrix), a copy; unaffected by pruning."""
        return self._impl.focus()

    def effective_weight(self) -> np.ndarray:
        """K = Phi ∘ W, shape (out_features, in_features), pruned entries zeroed (a copy)."""
        return self._impl.effective_weight()

    def prune(self, threshold: float) -> float:
        """Zeroes the out-of-focus effective weights (where phi < ``threshold``; 0 disables) in
        this and every later forward pass, and returns the fraction of weights pruned.

        The threshold is recorded in the layer's config, so a saved model stays pruned.
        """
        threshold = check_float(threshold, "threshold", minimum=0.0)
        sparsity = float(self._impl.prune(threshold))
        self._config["prune_threshold"] = threshold
        return sparsity

    @property
    def prune_threshold(self) -> float:
        return float(self._impl.prune_threshold)

    def penalty(self) -> float:
        """Value of the aperture penalty ``sigma_l1 * sum|sigma| + sigma_l2 * sum sigma^2``.

        ``backward`` already adds its gradient to ``sigma.grad``; add this value to the reported
        loss if wanted.
        """
        return float(self._impl.sigma_penalty())

    def to_dense(self) -> Dense:
        """A plain :class:`bionn.nn.Dense` computing the same function: weight K (pruned entries
        zero), the same bias. Inputs must be given flattened, (N, in_features)."""
        has_bias = bool(self._config["bias"])
        dense = Dense(self.in_features, self.out_features, bias=has_bias, dtype=self.dtype)
        params = dense.parameters()
        params[0].data[...] = self.effective_weight()
        if has_bias:
            params[1].data[...] = self._by_tag("bias")[0].data
        return dense


@register_layer
class FocusDense(_FocusBase):
    """Fully connected layer of focusing neurons: ``y = x (Phi ∘ W)^T + b`` (Algorithm 1).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    init : str
        ``"focus"`` (default): Eq. 10, each neuron's weights drawn from
        ``U(-sqrt(6) / ||phi_j||_2, +sqrt(6) / ||phi_j||_2)`` (the variance of Appendix A.8), zero
        bias. ``"focus_glorot"``: the authors' Keras code's initialiser (not the paper's),
        Glorot-uniform per element with focus-weighted fans,
        ``W_ji ~ U(+-sqrt(6 / (sum_i phi_ji^2 + sum_k phi_ki^2)))`` at the initial foci, zero bias.
        Or any :class:`bionn.nn.Dense` initialiser (``"torch"``, ``"he_uniform"``, ...).
    normalization : {"l2", "sum", "none"}
        ``"l2"``: Eq. 7, ``||phi_j||_2 = sqrt(m)``; ``"sum"``: Algorithm 2,
        ``phi_j = sqrt(m) e_j / sum_i e_j(i)``; ``"none"``: the bare Gaussian.
    mu_init : "spread", "center" or array of shape (out_features,)
        ``"spread"``: evenly over ``spread`` (the paper's [0.2, 0.8], Focus-s); ``"center"``:
        ``0.5 + U(-0.025, 0.025)`` (Focus-c); an array: those centres (inside ``mu_bounds``).
    spread : (float, float)
        Interval for ``mu_init="spread"``, inside [0, 1].
    sigma_init : float
        Initial aperture (0.025, the paper's Focus-s MLP value; 0.1 for its Fixed-s), in the
        normalised position units of ``mu`` (about ``sigma_init * (in_features - 1)`` inputs wide)
        unless ``sigma_units="inputs"``.
    sigma_units : {"normalized", "inputs"}
        The unit of ``sigma_init``: normalised positions (default, the paper's) or input positions
        (``sigma_init=2.0`` is two inputs at any width; converted to ``2 / (in_features - 1)``).
    trainable_focus : bool
        False gives the paper's Fixed-s: mu and sigma are not trained (``trainable=False``, no
        gradients computed).
    mu_bounds, sigma_bounds : (float, float)
        Clamp bounds applied after every optimizer step (Algorithm 3): [0, 1] and [0.01, 1].
    sigma_l1, sigma_l2 : float
        Penalty ``sigma_l1 * sum|sigma| + sigma_l2 * sum sigma^2`` on the apertures (encourages
        locality, Sec. 3.1.2); its gradient is added to ``sigma.grad`` by ``backward``.
    prune_threshold : float
        Effective weights with ``phi < prune_threshold`` are zero (see :meth:`prune`).
    dtype : float32 or float64

    Notes
    -----
    Input positions are ``tau(i) = i / (m - 1)``, linearly spaced in [0, 1] inclusive (the authors'
    code; Eq. 6 literally reads ``i / m``, see the module docstring). Parameters are ``weight``
    (out, in), ``bias``, ``mu`` (tag "mu") and ``sigma`` (tag "sigma"), both in those normalised
    units; ``sigma`` must stay > 0 (checked on load and before each use).

    Focus coefficients below ``eps ** 1.5`` of a neuron's peak (``eps`` the dtype's machine
    epsilon: ~4e-11 in float32) are exactly 0; the layer's products skip them, which makes narrow
    foci cheaper than a :class:`bionn.nn.Dense` layer of the same shape. The truncated tail is far
    below the rounding of any sum that includes the peak.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "focus",
        normalization: str = "l2",
        mu_init: Union[str, Sequence[float], np.ndarray] = "spread",
        spread: Sequence[float] = (0.2, 0.8),
        sigma_init: float = 0.025,
        trainable_focus: bool = True,
        mu_bounds: Sequence[float] = (0.0, 1.0),
        sigma_bounds: Sequence[float] = (0.01, 1.0),
        sigma_l1: float = 0.0,
        sigma_l2: float = 0.0,
        prune_threshold: float = 0.0,
        dtype: Any = np.float32,
        sigma_units: str = "normalized",
    ) -> None:
        super().__init__(dtype)
        in_features = check_int(in_features, "in_features", minimum=1)
        out_features = check_int(out_features, "out_features", minimum=1)
        self._m = in_features
        # W, the focus Phi, the kernel K and their gradients: about four weight-sized buffers.
        self._check_size("in_features * out_features", 4 * in_features * out_features)
        config, core = self._options(
            out_features,
            bias,
            init,
            normalization,
            mu_init,
            spread,
            sigma_init,
            trainable_focus,
            mu_bounds,
            sigma_bounds,
            sigma_l1,
            sigma_l2,
            prune_threshold,
            sigma_units,
        )
        self._config = dict(in_features=in_features, out_features=out_features, **config)
        self._impl = self._core("FocusDense")(in_features, out_features, core)

    def _input_spacing_units(self) -> float:
        if self._m < 2:
            raise ValueError("sigma_units='inputs' needs in_features >= 2")
        return float(self._m - 1)

    @property
    def mu(self) -> np.ndarray:
        """Focus centres (a writable view)."""
        return self._by_tag("mu")[0].data

    @property
    def sigma(self) -> np.ndarray:
        """Focus apertures (a writable view)."""
        return self._by_tag("sigma")[0].data


@register_layer
class FocusDense2D(_FocusBase):
    """Focusing neurons over a 2-D grid of inputs (e.g. an image): the 2-D form of Eq. 6,

    ``phi_j(x, y) = s_j exp(-(x - mu_x)^2 / (2 sigma_x^2) - (y - mu_y)^2 / (2 sigma_y^2))``

    with ``sigma_x = sigma_y = sigma`` unless ``anisotropic``.

    Axes: **x is the column (width) axis, y the row (height) axis.** ``mu_x`` / ``sigma_x`` are
    along the columns, ``mu_y`` / ``sigma_y`` along the rows; ``mu_x = 0`` is the left edge and
    ``mu_y = 0`` the top row. Each axis is normalised on its own, so an isotropic ``sigma`` is
    ``sigma * (width - 1)`` pixels across and ``sigma * (height - 1)`` pixels down (the default 0.025
    is 0.7 pixel on a 28 x 28 grid).

    Parameters
    ----------
    height, width : int
        The input grid. Inputs are (N, height * width), row-major (index ``r * width + c``), or
        (N, 1, height, width); pixel (r, c) sits at ``(x, y) = (c / (width - 1), r / (height - 1))``.
    out_features : int
    anisotropic : bool
        Separate apertures ``sigma_x``, ``sigma_y`` (both tagged "sigma") instead of one ``sigma``.
    mu_init : "spread", "center" or array of shape (out_features, 2)
        ``"spread"`` places the centres on a ceil(sqrt(n)) x ceil(n / ceil(sqrt(n))) grid over
        ``spread`` x ``spread``; an array gives (mu_x, mu_y) = (column, row) per neuron.
    sigma_units : {"normalized", "inputs"}
        ``"inputs"``: ``sigma_init`` in pixels, converted to ``sigma_init / (width - 1)``; needs a
        square grid (``height == width``), where a pixel is the same normalised step on both axes.
    Other parameters
        As for :class:`FocusDense`.

    Notes
    -----
    Parameters are ``weight`` (out, height * width), ``bias``, ``mu_x`` and ``mu_y`` (tag "mu"),
    ``sigma`` or ``sigma_x``/``sigma_y`` (tag "sigma"). :meth:`focus` returns (out, height, width).
    """

    _dims = 2

    def __init__(
        self,
        height: int,
        width: int,
        out_features: int,
        bias: bool = True,
        init: str = "focus",
        normalization: str = "l2",
        mu_init: Union[str, Sequence[Sequence[float]], np.ndarray] = "spread",
        spread: Sequence[float] = (0.2, 0.8),
        sigma_init: float = 0.025,
        trainable_focus: bool = True,
        mu_bounds: Sequence[float] = (0.0, 1.0),
        sigma_bounds: Sequence[float] = (0.01, 1.0),
        sigma_l1: float = 0.0,
        sigma_l2: float = 0.0,
        prune_threshold: float = 0.0,
        anisotropic: bool = False,
        dtype: Any = np.float32,
        sigma_units: str = "normalized",
    ) -> None:
        super().__init__(dtype)
        height = check_int(height, "height", minimum=1)
        width = check_int(width, "width", minimum=1)
        self._hw = (height, width)
        out_features = check_int(out_features, "out_features", minimum=1)
        self._check_size("height * width * out_features", 4 * height * width * out_features)
        config, core = self._options(
            out_features,
            bias,
            init,
            normalization,
            mu_init,
            spread,
            sigma_init,
            trainable_focus,
            mu_bounds,
            sigma_bounds,
            sigma_l1,
            sigma_l2,
            prune_threshold,
            sigma_units,
        )
        self._config = dict(
            height=height,
            width=width,
            out_features=out_features,
            **config,
            anisotropic=check_bool(anisotropic, "anisotropic"),
        )
        core.anisotropic = check_bool(anisotropic, "anisotropic")
        self._impl = self._core("FocusDense2D")(height, width, out_features, core)

    def _input_spacing_units(self) -> float:
        height, width = self._hw
        if height != width:
            raise ValueError(
                f"sigma_units='inputs' needs a square grid (a pixel is 1/(width-1) across but 1/(height-1) down), "
                f"got height={height}, width={width}; give sigma_init in normalised units"
            )
        if width < 2:
            raise ValueError("sigma_units='inputs' needs a grid of at least 2 x 2")
        return float(width - 1)

    def focus(self) -> np.ndarray:
        """Phi reshaped to (out_features, height, width) (a copy)."""
        return self._impl.focus().reshape(self.out_features, self._config["height"], self._config["width"])

    @property
    def mu(self) -> np.ndarray:
        """Centres as a (out_features, 2) copy of (mu_x, mu_y)."""
        mx, my = self._by_tag("mu")
        return np.stack([mx.data, my.data], axis=1)
