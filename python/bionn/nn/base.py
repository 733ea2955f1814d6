"""The bottom of :mod:`bionn.nn`: :class:`Parameter`, the :class:`Layer` base class and the layer
registry that :func:`bionn.nn.load` reads saved architectures through.

Every layer is a thin Python object around a C++ layer of the chosen dtype (float32 by default;
float64 for gradient checks). Layers record the arguments they were built with, which is the JSON
architecture written by :meth:`bionn.nn.Sequential.save`.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type

import numpy as np

from .. import _core
from .._validation import as_array, check_bool, check_dtype, check_size, suffix

__all__ = ["Parameter", "Layer", "register_layer", "layer_registry"]


class Parameter:
    """A trainable tensor of a layer.

    ``data`` and ``grad`` are NumPy views of the C++ storage (no copy): writing to them changes the
    model. ``tag`` (``weight``, ``bias``, ``mu``, ...) is what optimizers group parameters by.
    """

    __slots__ = ("_p", "name", "layer")

    def __init__(self, core_param: Any, name: str, layer: Layer) -> None:
        self._p = core_param
        self.name = name
        self.layer = layer

    @property
    def data(self) -> np.ndarray:
        return self._p.value

    @property
    def grad(self) -> np.ndarray:
        return self._p.grad

    @property
    def tag(self) -> str:
        return self._p.tag

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self._p.value.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._p.value.dtype

    @property
    def trainable(self) -> bool:
        return self._p.trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        self._p.trainable = check_bool(flag, "trainable")

    @property
    def clamp(self) -> Tuple[float, float]:
        return (self._p.clamp_min, self._p.clamp_max)

    def set_clamp(self, min: float = -np.inf, max: float = np.inf) -> None:
        """Bounds applied after every optimizer step (e.g. keep an aperture positive)."""
        if np.isnan(min) or np.isnan(max):
            raise ValueError("set_clamp: bounds must not be NaN")
        self._p.set_clamp(float(min), float(max))

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, tag={self.tag!r}, shape={self.shape}, dtype={self.dtype})"


_LAYER_REGISTRY: Dict[str, Type[Layer]] = {}


def register_layer(cls: Type[Layer]) -> Type[Layer]:
    """Class decorator: makes a layer type loadable by :func:`load` (by its class name)."""
    _LAYER_REGISTRY[cls.__name__] = cls
    return cls


# While a model file's layers are built (bionn.nn.load): [elements left] that the layers' size checks
# may still claim, bounded by what the file's arrays declare (see allocation_budget).
_BUDGET: contextvars.ContextVar[Optional[List[int]]] = contextvars.ContextVar("bionn_allocation_budget", default=None)


@contextlib.contextmanager
def allocation_budget(elements: int) -> Iterator[None]:
    """Within the block, layers may claim (through their size checks) at most ``elements`` elements
    in all; a layer claiming more raises ValueError before it allocates. :func:`bionn.nn.load` builds
    a file's layers under a budget derived from the arrays the file declares, so a crafted
    architecture cannot allocate far more than the file holds before its arrays are compared."""
    token = _BUDGET.set([int(elements)])
    try:
        yield
    finally:
        _BUDGET.reset(token)


class Layer:
    """Base class. Subclasses build ``self._impl`` (a C++ layer) and record ``self._config``."""

    _impl: Any
    _config: Dict[str, Any]

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = check_dtype(dtype)
        self._config = {}
        self._params_cache: Optional[List[Parameter]] = None

    def _check_size(self, what: str, count: int) -> None:
        """Refuses a layer whose ``count`` elements of its dtype cannot be allocated (before any are)."""
        check_size(what, count, self.dtype.itemsize)
        budget = _BUDGET.get()
        if budget is not None:
            if count > budget[0]:
                raise ValueError(
                    f"{type(self).__name__}: {what} = {count} elements, more than the file's arrays can fill "
                    f"({budget[0]} elements left): the architecture does not match the arrays (refused before "
                    "allocating)"
                )
            budget[0] -= count

    def _core(self, name: str) -> Any:
        return getattr(_core, name + suffix(self.dtype))

    # -- introspection -------------------------------------------------------------------------
    def config(self) -> Dict[str, Any]:
        """Constructor arguments, JSON-serialisable (the saved architecture)."""
        return dict(self._config, dtype=np.dtype(self.dtype).name)

    def parameters(self) -> List[Parameter]:
        if self._params_cache is None:
            ps = []
            for i in range(self._impl.num_parameters()):
                p = self._impl.parameter(i)
                ps.append(Parameter(p, p.name, self))
            self._params_cache = ps
        return list(self._params_cache)

    def buffers(self) -> Dict[str, np.ndarray]:
        """Non-trainable state (views), e.g. BatchNorm running statistics."""
        return {n: self._impl.buffer(n) for n in self._impl.buffer_names()}

    def reset_parameters(self) -> None:
        """Re-draws the parameters from the global generator (see :func:`bionn.manual_seed`)."""
        self._impl.reset_parameters()

    # -- constrained parameters ----------------------------------------------------------------
    def _check_value(self, p: Parameter, value: np.ndarray, where: str) -> None:
        """Raises ValueError (naming ``where``) if ``value`` is not allowed for ``p``; the base
        layer has no constrained parameters. Subclasses with some (e.g. a focus aperture must be
        > 0) override it; it is checked by ``load_state_dict`` and before every forward pass, fit,
        predict and evaluation, so a write to ``p.data`` is caught at the next use."""

    def _check_buffer(self, name: str, value: np.ndarray, where: str) -> None:
        """Raises ValueError (naming ``where``) if ``value`` is not allowed for the buffer ``name``
        (checked by ``load_state_dict``, so a file cannot load e.g. a negative variance); the base
        layer accepts any finite buffer."""

    def _check_parameters(self) -> None:
        """Checks every parameter's current value with :meth:`_check_value` (O(parameters) for
        the layers that override it, nothing for the others)."""
        if type(self)._check_value is Layer._check_value:
            return
        for p in self.parameters():
            self._check_value(p, p.data, f"{type(self).__name__}.{p.name}")

    # -- standalone use ------------------------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """Runs the layer on ``x`` (a batch); keeps what ``backward`` needs."""
        self._check_parameters()
        return self._impl.forward(as_array(x, "x", self.dtype), check_bool(training, "training"))

    __call__ = forward

    def backward(self, grad_output: Any) -> np.ndarray:
        """Accumulates parameter gradients for the last ``forward``; returns dLoss/dInput."""
        return self._impl.backward(as_array(grad_output, "grad_output", self.dtype))

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"


class _ArgumentFree(Layer):
    """A layer whose only constructor argument is its dtype; subclasses name their C++ class."""

    _core_name = ""

    def __init__(self, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        self._impl = self._core(self._core_name)()


def layer_registry() -> Dict[str, Type[Layer]]:
    """Every registered layer class by name (a copy): what saved models can contain."""
    return dict(_LAYER_REGISTRY)
