"""Adversarial attacks on bionn models, run in the C++ core (issue 6).

FGSM (Goodfellow et al.; Evanson et al. Eq. 2) and PGD (Madry et al.; as in the TRADES evaluation
scripts the flexible-layer paper builds on), white-box against any :class:`bionn.nn.Sequential`
classifier whose last layer outputs logits, and black-box through a surrogate model: the
adversarial images are computed with the surrogate's gradients and then given to the target.

The API follows torchattacks: images in ``[0, 1]`` (``clip``), integer labels, ``eps``/``alpha``
in the images' units, the model in eval mode during the attack::

    from bionn import attacks
    adv = attacks.pgd(model, images, labels)                           # the defaults below
    atk = attacks.PGD(model, eps=0.031, alpha=0.003, steps=20)        # the paper's PGD settings (not the defaults)
    adv = atk(images, labels)
    attacks.evaluate_robustness(model, images, labels, eps=[0, 0.05, 0.1], attack="fgsm")
    # {0.0: 0.87, 0.05: 0.52, 0.1: 0.30}
    adv_bb = attacks.pgd(model, images, labels, eps=0.031, alpha=0.003, steps=20, surrogate=conv2d_model)

Defaults (the one place they are stated; every function and class here uses them)
-----------------------------------------------------------------------------------
torchattacks' defaults, shared by :func:`fgsm`, :class:`FGSM`, :func:`pgd`, :class:`PGD` and
:func:`evaluate_robustness` (``attack="pgd"``):

=================  ====================  ==================================================
argument           default               note
=================  ====================  ==================================================
``eps``            ``8/255`` (0.0314)    :func:`evaluate_robustness` takes a list; its
                                         default grid is ``(0, 0.05, 0.1)``
``alpha``          ``None``: ``eps/4``   ``2/255`` at the default ``eps``, as torchattacks
``steps``          ``10``                PGD iterations; FGSM is one step of size ``eps``
``random_start``   ``True``              ``x + U(-eps, eps)``, seeded by ``seed``
``seed``           ``0``
``clip``           ``(0.0, 1.0)``
=================  ====================  ==================================================

They are :data:`DEFAULTS`. The flexible-layer paper's PGD (``eps=0.031, alpha=0.003, steps=20``)
is *not* the default: pass it explicitly, as ``bionn.papers.flexible`` does.

Labels must be integer class labels of shape ``(N,)``: float labels and ``(N, 1)`` columns are
refused (a float array is a classic mix-up with one-hot targets or regression outputs).

The loss is the model's cross-entropy on its logits, mean-reduced over the batch (the sign of the
gradient does not depend on the reduction). PGD starts from ``x + U(−ε, ε)`` drawn from a generator
seeded by ``seed`` (or from an explicit ``start`` perturbation, e.g. to share the noise with another
library); every step is ``x ← Π(x + α·sign(∇ₓJ))`` with Π the projection onto the ε-ball around the
clean image and onto ``clip``. Layers that are random in inference (the flexible layer's random
thresholds) draw from the model's own engine.
"""

from __future__ import annotations

import abc
import numbers
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._validation import (
    INT32_MAX,
    UINT64_MAX,
    as_array,
    as_integer_labels,
    as_labels,
    check_bool,
    check_float,
    check_int,
    check_seed,
    core_errors,
    suffix,
)

__all__ = ["fgsm", "pgd", "FGSM", "PGD", "Attack", "evaluate_robustness", "accuracy", "DEFAULTS"]

#: The attacks' defaults (see the module docstring); ``alpha=None`` is ``eps / 4`` (2/255 at eps 8/255).
DEFAULTS: Dict[str, Any] = {"eps": 8 / 255, "alpha": None, "steps": 10, "random_start": True, "seed": 0}


def _alpha(alpha: Any, eps: float) -> float:
    """The PGD step: ``alpha``, or ``eps / 4`` when it is None (:data:`DEFAULTS`)."""
    return eps / 4 if alpha is None else check_float(alpha, "alpha", minimum=0.0)


def _check_model(model: Any, name: str = "model") -> Any:
    from .nn import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(
            f"{name} must be a bionn.nn.Sequential (attacks need its input gradient), got {type(model).__name__}"
        )
    return model


def _check_clip(clip: Any) -> Tuple[float, float]:
    if isinstance(clip, (str, bytes)) or not isinstance(clip, (tuple, list, np.ndarray)) or len(clip) != 2:
        raise TypeError(f"clip must be a pair (min, max), got {clip!r}")
    lo = check_float(clip[0], "clip[0]")
    hi = check_float(clip[1], "clip[1]")
    if not lo < hi:
        raise ValueError(f"clip must satisfy min < max, got ({lo}, {hi})")
    return lo, hi


def _check_eps(eps: Any, name: str = "eps") -> float:
    return check_float(eps, name, minimum=0.0)


def _inputs(model: Any, images: Any, labels: Any, clip: Tuple[float, float]) -> Tuple[np.ndarray, np.ndarray]:
    x = as_array(images, "images", model.dtype, min_ndim=2)
    # Integer labels of shape (N,), as torchattacks takes them: float or (N, 1) labels are refused
    # rather than silently rounded or flattened.
    y = as_labels(
        as_integer_labels(labels, "labels", x.shape[0], "images"), "labels", x.shape[0], model.dtype, "images"
    )
    lo, hi = clip
    if x.min() < lo or x.max() > hi:
        raise ValueError(
            f"images must lie in the valid range clip=({lo}, {hi}), got values in [{float(x.min())}, {float(x.max())}]"
        )
    return x, y


def _run_pgd(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool,
    clip: Tuple[float, float],
    batch_size: int,
    seed: int,
    start: Optional[np.ndarray],
    surrogate: bool = False,
) -> np.ndarray:
    from .losses import CrossEntropy

    loss = CrossEntropy()._for_dtype(model.dtype)
    fn = getattr(_core, "pgd_attack" + suffix(model.dtype))
    with core_errors("images", "labels", "the surrogate" if surrogate else "the model"):
        return fn(
            model._impl,
            x,
            y,
            loss,
            eps,
            alpha,
            steps,
            check_bool(random_start, "random_start"),
            clip[0],
            clip[1],
            batch_size,
            seed,
            start,
        )


def _attacker(model: Any, surrogate: Any) -> Any:
    """The model whose gradients craft the images: the surrogate for a black-box attack."""
    if surrogate is None:
        return model
    return _check_model(surrogate, "surrogate")


def pgd(
    model: Any,
    images: Any,
    labels: Any,
    eps: float = 8 / 255,
    alpha: Optional[float] = None,
    steps: int = 10,
    random_start: bool = True,
    *,
    seed: int = 0,
    start: Any = None,
    clip: Sequence[float] = (0.0, 1.0),
    batch_size: int = 1000,
    surrogate: Any = None,
) -> np.ndarray:
    """Projected gradient descent (L∞), white-box or black-box.

    Parameters
    ----------
    model : bionn.nn.Sequential
        The classifier under attack (logits out). For a black-box attack it is not queried here.
    images : array-like, (N, ...)
        Clean inputs inside ``clip``.
    labels : array-like of int, (N,)
        Integer class labels (float labels and ``(N, 1)`` columns are refused).
    eps : float
        Radius of the L∞ ball; default 8/255 (the paper: 0.031).
    alpha : float, optional
        Step size; default ``eps / 4``, i.e. 2/255 at the default ``eps`` (the paper: 0.003).
    steps : int
        Number of iterations; default 10 (the paper: 20); 0 returns the (random) start.
    random_start : bool
        Start from ``x + U(−ε, ε)`` (clipped) instead of ``x``.
    seed : int
        Seeds the random start.
    start : array-like, optional
        An explicit start perturbation of the images' shape (clipped to ±ε); overrides
        ``random_start``. Lets another library share the same noise.
    clip : (float, float)
        Valid input range; every iterate is projected onto it.
    batch_size : int
        Images attacked together.
    surrogate : bionn.nn.Sequential, optional
        Black-box attack: the gradients come from this model (the paper's "Conv2D model").

    Returns
    -------
    numpy.ndarray
        Adversarial images, the shape of ``images``, in the model's dtype.
    """
    model = _check_model(model)
    clip = _check_clip(clip)
    eps = _check_eps(eps)
    alpha = _alpha(alpha, eps)
    steps = check_int(steps, "steps", minimum=0, maximum=INT32_MAX)
    if steps > 0 and alpha == 0.0:
        raise ValueError("alpha must be > 0 when steps > 0")
    seed = check_seed(seed)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    attacker = _attacker(model, surrogate)
    if surrogate is not None and np.dtype(attacker.dtype) != np.dtype(model.dtype):
        raise TypeError(f"surrogate is {np.dtype(attacker.dtype).name}, model is {np.dtype(model.dtype).name}")
    x, y = _inputs(attacker, images, labels, clip)
    s = None
    if start is not None:
        s = as_array(start, "start", attacker.dtype, min_ndim=2)
        if s.shape != x.shape:
            raise ValueError(f"start must have the images' shape {x.shape}, got {s.shape}")
    return _run_pgd(attacker, x, y, eps, alpha, steps, random_start, clip, batch_size, seed, s, surrogate is not None)


def fgsm(
    model: Any,
    images: Any,
    labels: Any,
    eps: float = 8 / 255,
    *,
    clip: Sequence[float] = (0.0, 1.0),
    batch_size: int = 1000,
    surrogate: Any = None,
) -> np.ndarray:
    """Fast gradient sign method (Eq. 2): ``clip(x + ε·sign(∇ₓJ(θ, x, y)))``, one step, no start noise.

    Parameters are as for :func:`pgd`. Returns the adversarial images.
    """
    model = _check_model(model)
    clip = _check_clip(clip)
    eps = _check_eps(eps)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    attacker = _attacker(model, surrogate)
    if surrogate is not None and np.dtype(attacker.dtype) != np.dtype(model.dtype):
        raise TypeError(f"surrogate is {np.dtype(attacker.dtype).name}, model is {np.dtype(model.dtype).name}")
    x, y = _inputs(attacker, images, labels, clip)
    return _run_pgd(attacker, x, y, eps, eps, 1, False, clip, batch_size, 0, None, surrogate is not None)


class Attack(abc.ABC):
    """torchattacks-style attack object: configure once, then ``adv = atk(images, labels)``."""

    def __init__(self, model: Any, **options: Any) -> None:
        self.model = _check_model(model)
        self.options = options

    @abc.abstractmethod
    def __call__(self, images: Any, labels: Any) -> np.ndarray:
        """Returns the adversarial images (subclasses: :class:`FGSM`, :class:`PGD`)."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if k != "surrogate")
        return f"{type(self).__name__}({args})"


class FGSM(Attack):
    """``FGSM(model, eps=8/255)(images, labels)``; see :func:`fgsm`."""

    def __init__(
        self,
        model: Any,
        eps: float = 8 / 255,
        *,
        clip: Sequence[float] = (0.0, 1.0),
        batch_size: int = 1000,
        surrogate: Any = None,
    ) -> None:
        super().__init__(
            model,
            eps=_check_eps(eps),
            clip=_check_clip(clip),
            batch_size=check_int(batch_size, "batch_size", minimum=1),
            surrogate=surrogate,
        )

    def __call__(self, images: Any, labels: Any) -> np.ndarray:
        return fgsm(self.model, images, labels, **self.options)


class PGD(Attack):
    """``PGD(model, eps=8/255, alpha=None, steps=10, random_start=True)(images, labels)``; see :func:`pgd`
    (``alpha=None`` is ``eps / 4``).

    Each call draws a new random start: the n-th call uses ``seed + n``, so repeated attacks (the
    paper averages 100) differ but a fresh object with the same seed repeats them.
    """

    def __init__(
        self,
        model: Any,
        eps: float = 8 / 255,
        alpha: Optional[float] = None,
        steps: int = 10,
        random_start: bool = True,
        *,
        seed: int = 0,
        clip: Sequence[float] = (0.0, 1.0),
        batch_size: int = 1000,
        surrogate: Any = None,
    ) -> None:
        steps = check_int(steps, "steps", minimum=0, maximum=INT32_MAX)
        eps = _check_eps(eps)
        alpha = _alpha(alpha, eps)
        if steps > 0 and alpha == 0.0:
            raise ValueError("alpha must be > 0 when steps > 0")
        super().__init__(
            model,
            eps=eps,
            alpha=alpha,
            steps=steps,
            random_start=check_bool(random_start, "random_start"),
            clip=_check_clip(clip),
            batch_size=check_int(batch_size, "batch_size", minimum=1),
            surrogate=surrogate,
        )
        self.seed = check_seed(seed)
        self._calls = 0

    def __call__(self, images: Any, labels: Any) -> np.ndarray:
        seed = self.seed + self._calls
        self._calls += 1
        return pgd(self.model, images, labels, seed=seed, **self.options)


def accuracy(model: Any, images: Any, labels: Any, batch_size: int = 1000) -> float:
    """Fraction of ``images`` the model classifies as ``labels`` (eval mode)."""
    from .losses import CrossEntropy

    model = _check_model(model)
    loss = CrossEntropy()
    x = as_array(images, "images", model.dtype, min_ndim=2)
    y = as_integer_labels(labels, "labels", x.shape[0], "images")
    # The labels against the model's outputs, named as this function's arguments (not evaluate's X, y).
    y = model._targets(y, x.shape[0], loss, "labels", X=x, x_name="images")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    with core_errors("images", "labels"):
        return float(model.evaluate(x, y, loss, batch_size=batch_size)["accuracy"])


def evaluate_robustness(
    model: Any,
    images: Any,
    labels: Any,
    eps: Union[float, Iterable[float]] = (0.0, 0.05, 0.1),
    attack: str = "fgsm",
    *,
    alpha: Optional[float] = None,
    steps: int = 10,
    random_start: bool = True,
    seed: int = 0,
    repeats: int = 1,
    clip: Sequence[float] = (0.0, 1.0),
    batch_size: int = 1000,
    surrogate: Any = None,
) -> Dict[float, float]:
    """Accuracy of ``model`` on adversarial images, for every ε.

    Parameters
    ----------
    eps : float or iterable of float
        Perturbation sizes; ε = 0 is the clean accuracy.
    attack : {"fgsm", "pgd"}
    alpha : float, optional
        PGD step size; default ε / 4 for each ε (as :func:`pgd`'s ``2/255`` at its ``8/255``;
        the paper: 0.003 for ε = 0.031).
    steps, random_start, seed : as for :func:`pgd` (defaults 10, True, 0: :data:`DEFAULTS`)
    repeats : int
        Attacks per ε, averaged (the paper averages 10 FGSM and 100 PGD runs; this matters for
        models that are random in inference and for PGD's random start, repeat r uses ``seed + r``).
    surrogate : bionn.nn.Sequential, optional
        Black-box: images crafted on the surrogate, accuracy measured on ``model``.

    Returns
    -------
    dict
        ``{eps: accuracy}`` in the order given.
    """
    model = _check_model(model)
    if not isinstance(attack, str) or attack not in ("fgsm", "pgd"):
        raise ValueError(f"attack must be 'fgsm' or 'pgd', got {attack!r}")
    if isinstance(eps, (numbers.Real, np.floating, np.integer)) and not isinstance(eps, (bool, np.bool_)):
        eps_list = [_check_eps(eps)]
    else:
        if isinstance(eps, (str, bytes)) or not isinstance(eps, Iterable):
            raise TypeError(f"eps must be a number or an iterable of numbers, got {type(eps).__name__}")
        eps_list = [_check_eps(e, "eps[i]") for e in eps]
        if not eps_list:
            raise ValueError("eps is empty")
    repeats = check_int(repeats, "repeats", minimum=1, maximum=INT32_MAX)  # an iteration count, as steps
    seed = check_seed(seed)
    if seed + repeats - 1 > UINT64_MAX:  # repeat r attacks with seed + r
        raise ValueError(f"seed + repeats - 1 must be <= {UINT64_MAX} (repeat r uses seed + r); got seed={seed}")
    clip = _check_clip(clip)
    x, y = _inputs(model, images, labels, clip)
    from .losses import CrossEntropy

    # Checked against the model before any attack (a surrogate may have more classes than the model).
    model._targets(y, x.shape[0], CrossEntropy(), "labels", X=x, x_name="images")
    y = y.astype(np.int64)  # the checked labels, as the integers fgsm/pgd take
    out: Dict[float, float] = {}
    for e in eps_list:
        accs = []
        for r in range(repeats):
            if e == 0.0:
                adv = x
            elif attack == "fgsm":
                adv = fgsm(model, x, y, e, clip=clip, batch_size=batch_size, surrogate=surrogate)
            else:
                a = _alpha(alpha, e)
                adv = pgd(
                    model,
                    x,
                    y,
                    e,
                    a,
                    steps,
                    random_start,
                    seed=seed + r,
                    clip=clip,
                    batch_size=batch_size,
                    surrogate=surrogate,
                )
            accs.append(accuracy(model, adv, y, batch_size=batch_size))
        out[e] = float(np.mean(accs))
    return out
