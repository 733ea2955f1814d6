"""Central finite-difference gradient checks for bionn layers and losses (float64).

A layer is checked through the scalar ``L(x, params) = sum(layer.forward(x) * W)`` with ``W`` a fixed
random array of the output's shape, so ``layer.backward(W)`` must return dL/dx and accumulate dL/dp in
every ``p.grad``. Each partial derivative is estimated by ``(L(v + h) - L(v - h)) / 2h``.

Usage from a test module (``tests/python`` is on ``sys.path`` under pytest's default import mode)::

    from gradcheck import check_layer, check_loss
    check_layer(nn.Dense(3, 2, dtype=np.float64), x)
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

import bionn

__all__ = ["rng", "numerical_gradient", "assert_close", "layer_gradients", "check_layer", "check_loss"]

DEFAULT_EPS = 1e-6
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-8


def rng(seed: int = 0) -> np.random.Generator:
    """The tests' random inputs: a NumPy generator with a fixed seed."""
    return np.random.default_rng(seed)


def numerical_gradient(f: Callable[[], float], v: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """dF/dv by central differences; ``v`` is perturbed in place (and restored) so it may be a
    zero-copy view of a parameter."""
    grad = np.zeros(v.shape, dtype=np.float64)
    flat = v.reshape(-1)  # a view for contiguous arrays
    assert np.shares_memory(flat, v), "numerical_gradient needs a contiguous array"
    g = grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        fp = f()
        flat[i] = orig - eps
        fm = f()
        flat[i] = orig
        g[i] = (fp - fm) / (2.0 * eps)
    return grad


def assert_close(
    analytic: np.ndarray,
    numeric: np.ndarray,
    name: str = "gradient",
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> None:
    """Elementwise ``|a - n| <= atol + rtol * max(|a|, |n|)`` with a readable failure message."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, f"{name}: analytic shape {a.shape} != numeric shape {n.shape}"
    err = np.abs(a - n)
    bound = atol + rtol * np.maximum(np.abs(a), np.abs(n))
    bad = err > bound
    if bad.any():
        idx = np.unravel_index(int(np.argmax(np.where(bad, err - bound, -np.inf))), a.shape)
        raise AssertionError(
            f"{name}: {int(bad.sum())}/{a.size} entries differ; worst at {tuple(int(i) for i in idx)}: "
            f"analytic {a[idx]!r} vs numeric {n[idx]!r} (|diff| {err[idx]:.3e} > {bound[idx]:.3e})"
        )


def layer_gradients(
    layer: Any,
    x: np.ndarray,
    training: bool = True,
    seed: int = 0,
    before_forward: Optional[Callable[[], None]] = None,
    eps: float = DEFAULT_EPS,
) -> Dict[str, Any]:
    """Analytic and numeric gradients of ``sum(layer(x) * W)`` w.r.t. ``x`` and every parameter.

    ``before_forward`` (optional) is called before every forward pass, e.g. to reseed the generator
    so that a dropout mask is the same on every evaluation.
    """
    x = np.array(x, dtype=np.float64, copy=True, order="C")
    hook = before_forward or (lambda: None)

    hook()
    out = np.array(layer.forward(x, training=training), dtype=np.float64)
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def loss() -> float:
        hook()
        return float(np.sum(np.asarray(layer.forward(x, training=training), dtype=np.float64) * weights))

    # Analytic: one forward/backward from zeroed gradients.
    layer.zero_grad()
    hook()
    layer.forward(x, training=training)
    dx = np.array(layer.backward(weights), dtype=np.float64)
    params = layer.parameters()
    analytic = {p.name: np.array(p.grad, dtype=np.float64) for p in params}

    result = {"output": out, "weights": weights, "params": {}}
    # The numeric pass is thousands of tiny forwards: run it on one thread (OpenMP start-up and
    # barriers dominate otherwise, badly so on a loaded machine). The analytic pass above used the
    # default thread count.
    threads = bionn.get_num_threads()
    bionn.set_num_threads(1)
    try:
        result["input"] = (dx, numerical_gradient(loss, x, eps))
        for p in params:
            assert p.data.dtype == np.float64, "gradient checks need a float64 layer"
            result["params"][p.name] = (analytic[p.name], numerical_gradient(loss, p.data, eps))
    finally:
        bionn.set_num_threads(threads)
    return result


def check_layer(
    layer: Any,
    x: np.ndarray,
    training: bool = True,
    seed: int = 0,
    before_forward: Optional[Callable[[], None]] = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    eps: float = DEFAULT_EPS,
    check_input: bool = True,
) -> Dict[str, Any]:
    """Asserts that the input gradient and every parameter gradient match central differences."""
    res = layer_gradients(layer, x, training=training, seed=seed, before_forward=before_forward, eps=eps)
    label = type(layer).__name__
    if check_input:
        assert_close(*res["input"], name=f"{label} d/dx", rtol=rtol, atol=atol)
    for name, (a, n) in res["params"].items():
        assert_close(a, n, name=f"{label} d/d{name}", rtol=rtol, atol=atol)
    return res


def check_loss(
    loss: Any,
    pred: np.ndarray,
    target: Any,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Asserts that ``loss.backward()`` matches central differences of ``loss(pred, target)``."""
    pred = np.array(pred, dtype=np.float64, copy=True, order="C")
    loss(pred, target)
    analytic = np.array(loss.backward(), dtype=np.float64)
    numeric = numerical_gradient(lambda: float(loss(pred, target)), pred, eps)
    assert_close(analytic, numeric, name=f"{type(loss).__name__} d/dpred", rtol=rtol, atol=atol)
    return analytic
