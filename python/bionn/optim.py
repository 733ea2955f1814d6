"""Optimizers and learning-rate schedulers (PyTorch's update rules, run in C++).

``params`` is either an iterable of :class:`bionn.nn.Parameter` or a list of parameter-group
dicts, exactly as in ``torch.optim``::

    opt = optim.SGD([
        {"params": model.parameters(tags=["mu", "sigma"]), "lr": 1e-3},
        {"params": model.parameters(exclude_tags=["mu", "sigma"])},
    ], lr=0.1, momentum=0.9)

Every group may override any hyper-parameter of the optimizer. ``clip_value=c > 0`` clips each
gradient element to ``[-c, c]`` before the update (torch's ``clip_grad_value_``, Keras'
``clipvalue``). ``opt.param_groups[i]["lr"]`` reads and writes the live value.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Sequence, Tuple

import numpy as np

from . import _core
from ._validation import check_float, check_int, suffix

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "StepLR", "ExponentialLR", "groups_by_tag"]

# Python option name -> GroupOptions field(s).
_FIELDS = (
    "lr",
    "weight_decay",
    "clip_value",
    "momentum",
    "dampening",
    "nesterov",
    "eps",
    "alpha",
    "centered",
    "amsgrad",
    "bias_correction",
    "eps_inside_sqrt",
    "decay_after_step",
)
_BOOLS = ("nesterov", "centered", "amsgrad", "bias_correction", "eps_inside_sqrt", "decay_after_step")


class _GroupView(MutableMapping):
    """A live dict view of one parameter group: ``group["lr"] = 0.01`` changes the C++ optimizer."""

    def __init__(self, opt: Optimizer, index: int, params: List[Any], keys: Sequence[str]) -> None:
        self._opt, self._index, self._params, self._keys = opt, index, params, list(keys)

    def _options(self) -> Any:
        return self._opt._impl.group_options(self._index)

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return list(self._params)
        if key == "initial_lr":
            return self._opt._impl.group_initial_lr(self._index)
        if key not in self._keys:
            raise KeyError(key)
        o = self._options()
        if key == "betas":
            return (o.beta1, o.beta2)
        return getattr(o, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._keys:
            raise KeyError(f"{key!r} cannot be set on a {type(self._opt).__name__} parameter group")
        o = self._options()
        fields = ("beta1", "beta2") if key == "betas" else (key,)
        saved = [getattr(o, f) for f in fields]
        if key == "betas":
            o.beta1, o.beta2 = _betas(value)
        elif key in _BOOLS:
            setattr(o, key, bool(value))
        else:
            setattr(o, key, check_float(value, key, minimum=0.0))
        try:  # the C++ optimizer checks the same ranges as at construction
            self._opt._impl.validate_options()
        except ValueError:
            for f, v in zip(fields, saved):
                setattr(o, f, v)
            raise

    def __delitem__(self, key: str) -> None:
        raise TypeError("parameter-group entries cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(["params"] + self._keys)

    def __len__(self) -> int:
        return 1 + len(self._keys)

    def __repr__(self) -> str:
        return repr({k: (f"<{len(self._params)} parameters>" if k == "params" else self[k]) for k in self})


def _betas(value: Any) -> Tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {value!r}")
    return (
        check_float(value[0], "betas[0]", minimum=0.0, maximum=1.0, max_inclusive=False),
        check_float(value[1], "betas[1]", minimum=0.0, maximum=1.0, max_inclusive=False),
    )


class Optimizer:
    """Base class. Subclasses list their hyper-parameters in ``_defaults``."""

    _core_name = ""
    _defaults: Dict[str, Any] = {}
    _fixed: Dict[str, Any] = {}

    def __init__(self, params: Any, **defaults: Any) -> None:
        from .nn.base import Parameter

        groups = _normalise_groups(params)
        unknown = set(defaults) - set(self._defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected argument(s) {sorted(unknown)}")
        self.defaults = dict(self._defaults, **defaults)
        core_groups = []
        self._group_params: List[List[Parameter]] = []
        dtypes = set()
        for gi, group in enumerate(groups):
            plist = group["params"]
            for p in plist:
                if not isinstance(p, Parameter):
                    raise TypeError(
                        f"param_groups[{gi}]['params'] must hold bionn.nn.Parameter objects, got {type(p).__name__}"
                    )
                dtypes.add(np.dtype(p.dtype))
            extra = set(group) - {"params"} - set(self._defaults)
            if extra:
                raise ValueError(f"param_groups[{gi}] has unknown option(s) {sorted(extra)} for {type(self).__name__}")
            options = dict(self.defaults, **{k: v for k, v in group.items() if k != "params"})
            core_groups.append(([p._p for p in plist], self._group_options(options, gi)))
            self._group_params.append(list(plist))
        if not any(self._group_params):
            raise ValueError("optimizer got an empty parameter list")
        if len(dtypes) != 1:
            raise TypeError(f"all parameters must share one dtype, got {sorted(d.name for d in dtypes)}")
        self.dtype = dtypes.pop()
        self._impl = getattr(_core, self._core_name + suffix(self.dtype))(core_groups)
        keys = [k for k in self._defaults]
        self.param_groups = [_GroupView(self, i, ps, keys) for i, ps in enumerate(self._group_params)]

    def _group_options(self, options: Mapping[str, Any], gi: int) -> Any:
        o = _core.GroupOptions()
        where = f"param_groups[{gi}]" if gi else type(self).__name__
        for key, value in options.items():
            if key == "betas":
                o.beta1, o.beta2 = _betas(value)
            elif key in _BOOLS:
                if not isinstance(value, (bool, np.bool_)):
                    raise TypeError(f"{where}: {key} must be a bool, got {value!r}")
                setattr(o, key, bool(value))
            else:
                setattr(o, key, check_float(value, f"{where}: {key}", minimum=0.0))
        for key, value in self._fixed.items():
            setattr(o, key, value)
        if o.decay_after_step and not o.decoupled_weight_decay:
            raise ValueError(f"{where}: decay_after_step needs decoupled weight decay (use AdamW)")
        return o

    def step(self) -> None:
        """Applies one update from the accumulated gradients (then each parameter's clamp)."""
        self._impl.step()

    def zero_grad(self) -> None:
        self._impl.zero_grad()

    def reset_state(self) -> None:
        """Zeroes the optimizer state (momentum buffers, Adam's moments) and every parameter's step
        count, as if the optimizer had just been built; the group options (lr included) are kept."""
        self._impl.reset_state()

    @property
    def steps_taken(self) -> int:
        return self._impl.steps_taken

    def state_dict(self) -> Dict[str, Any]:
        """Copies of the optimizer state (moments, momentum buffers), step count and group options."""
        return {
            "steps": self.steps_taken,
            "state": [a.copy() for a in self._impl.state_arrays()],
            "param_groups": [{k: g[k] for k in g if k != "params"} for g in self.param_groups],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.param_groups!r})"


def _normalise_groups(params: Any) -> List[Dict[str, Any]]:
    from .nn.base import Parameter

    if isinstance(params, Parameter):
        raise TypeError("params must be an iterable of Parameters or of group dicts, got a single Parameter")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"params must be an iterable of Parameters or group dicts, got {type(params).__name__}"
        ) from None
    if not items:
        raise ValueError("optimizer got an empty parameter list")
    if all(isinstance(i, Mapping) for i in items):
        groups = []
        for gi, g in enumerate(items):
            if "params" not in g:
                raise ValueError(f"param_groups[{gi}] has no 'params' entry")
            ps = g["params"]
            ps = [ps] if isinstance(ps, Parameter) else list(ps)
            groups.append(dict(g, params=ps))
        return groups
    if any(isinstance(i, Mapping) for i in items):
        raise TypeError("params mixes Parameters and group dicts")
    return [{"params": items}]


def groups_by_tag(params: Iterable[Any], overrides: Mapping[str, Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Splits parameters into groups by tag: ``groups_by_tag(model.parameters(), {"mu": {"lr": 1e-3}})``
    gives one group per overridden tag plus one for the rest (empty groups are dropped)."""
    params = list(params)
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a mapping {{tag: {{option: value}}}}, got {type(overrides).__name__}")
    for tag, opts in overrides.items():
        if not isinstance(tag, str) or not isinstance(opts, Mapping):
            raise TypeError(f"overrides must map a tag (str) to a mapping of options, got {tag!r}: {opts!r}")
    groups = []
    for tag, opts in overrides.items():
        ps = [p for p in params if p.tag == tag]
        if ps:
            groups.append(dict(opts, params=ps))
    rest = [p for p in params if p.tag not in overrides]
    if rest:
        groups.append({"params": rest})
    return groups


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay."""

    _core_name = "SGD"
    _defaults = {
        "lr": 0.01,
        "momentum": 0.0,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
        "clip_value": 0.0,
    }

    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clip_value: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            clip_value=clip_value,
        )


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction and eps placement; L2 weight decay.

    ``bias_correction=False`` drops the ``1/(1 − β^t)`` factors; ``eps_inside_sqrt=True`` divides by
    ``sqrt(v + eps)`` instead of ``sqrt(v) + eps`` (both as in, e.g., the amplifying-neuron authors' code).
    """

    _core_name = "Adam"
    _defaults = {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "clip_value": 0.0,
        "bias_correction": True,
        "eps_inside_sqrt": False,
    }

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        clip_value: float = 0.0,
        bias_correction: bool = True,
        eps_inside_sqrt: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            clip_value=clip_value,
            bias_correction=bias_correction,
            eps_inside_sqrt=eps_inside_sqrt,
            **extra,
        )


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the update, or
    ``p -= lr * weight_decay * p`` after it with ``decay_after_step=True``).

    ``AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.002, bias_correction=False,
    eps_inside_sqrt=True, decay_after_step=True)`` is the amplifying-neuron authors' optimizer:
    ``m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; w ← w − lr m / sqrt(v + eps); w ← w − lr λ w``.
    """

    _fixed = {"decoupled_weight_decay": True}
    _defaults = dict(Adam._defaults, decay_after_step=False)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        clip_value: float = 0.0,
        bias_correction: bool = True,
        eps_inside_sqrt: bool = False,
        decay_after_step: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            clip_value=clip_value,
            bias_correction=bias_correction,
            eps_inside_sqrt=eps_inside_sqrt,
            decay_after_step=decay_after_step,
        )


class RMSprop(Optimizer):
    """RMSprop with PyTorch's defaults (alpha 0.99, eps 1e-8), optional momentum and centering."""

    _core_name = "RMSprop"
    _defaults = {
        "lr": 1e-2,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
        "clip_value": 0.0,
    }

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        clip_value: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            clip_value=clip_value,
        )


class _Scheduler:
    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a bionn.optim.Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer

    def step(self) -> None:
        """Advances one epoch (``fit`` calls this for you when given ``scheduler=``)."""
        self._impl.step()

    @property
    def last_epoch(self) -> int:
        return self._impl.epoch

    def get_last_lr(self) -> List[float]:
        return [g["lr"] for g in self.optimizer.param_groups]


class StepLR(_Scheduler):
    """lr = initial_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        step_size = check_int(step_size, "step_size", minimum=1)
        gamma = check_float(gamma, "gamma", minimum=0.0, min_inclusive=False)
        self._impl = getattr(_core, "StepLR" + suffix(optimizer.dtype))(optimizer._impl, step_size, gamma)


class ExponentialLR(_Scheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        gamma = check_float(gamma, "gamma", minimum=0.0, min_inclusive=False)
        self._impl = getattr(_core, "ExponentialLR" + suffix(optimizer.dtype))(optimizer._impl, gamma)
