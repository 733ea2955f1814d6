"""Tests parametrised over the layer registry: every ``@register_layer`` class gets them for free.

For each registered layer: it is re-exported by :mod:`bionn.nn` (and by ``from bionn.nn import *``),
its repr rebuilds an equal layer, a model holding it survives a save/load round trip bit for bit,
its float64 gradients match central differences, and it honours the fuzz contract (a bad input or
constructor argument raises ``ValueError``/``TypeError``, never anything else, and a rejected call
leaves the parameters untouched).

A layer is built from the names of its required constructor arguments (:data:`SIZES`), and its
input shape is read off those arguments (:func:`input_shape`). A new layer whose arguments are not
covered fails :func:`test_every_registered_layer_can_be_built` with what to add to
:data:`OVERRIDES`.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pytest

import bionn
from bionn import nn
from bionn.nn import layer_registry
from gradcheck import check_layer

OK = (ValueError, TypeError)
N = 3  # batch size of the probes

# Values for required constructor arguments, by name.
SIZES: Dict[str, Any] = dict(
    in_features=6,
    out_features=3,
    num_features=4,
    in_channels=2,
    out_channels=3,
    kernel_size=3,
    height=2,
    width=3,
    num_units=6,
    features=6,
    input_size=(6, 6),
)

# Where names are not enough: extra constructor arguments and the per-sample input shape.
OVERRIDES: Dict[str, Dict[str, Any]] = {
    "BatchNorm1d": {"shape": (4,)},
    "BatchNorm2d": {"shape": (4, 3, 3)},
    "GlobalAvgPool2d": {"shape": (2, 4, 4)},
    "Dropout2d": {"shape": (2, 4, 4)},
    "Flatten": {"shape": (2, 3, 3)},
    "AvgPool2d": {"shape": (2, 6, 6)},
    "MaxPool2d": {"shape": (2, 6, 6)},
    "SecondaryActivation": {"kwargs": dict(amplifying=[1, 4], attenuating=[2])},
    "MixLU": {"kwargs": dict(fraction=0.5, seed=1)},
    "MinMaxout": {"shape": (12,)},
    "LearnedActivation": {"kwargs": dict(init=(0.7, 0.3))},
    "FlexibleConv2d": {"kwargs": dict(out_channels=2, padding=1)},
}

# Layers whose float64 gradient check needs care: the max-pool family has kinks at ties (random
# inputs have none); the flexible layer's threshold is a steep sigmoid (checked at eps 1e-7).
GRADCHECK_EPS = {"FlexibleConv2d": 1e-7}

# bionn's own layers (test modules may register private ones, e.g. test_serialization's).
REGISTRY = {name: cls for name, cls in layer_registry().items() if cls.__module__.startswith("bionn.")}
NAMES = sorted(REGISTRY)


def constructor_args(
    name: str, sizes: Optional[Dict[str, Any]] = None, overrides: Optional[Dict[str, Dict[str, Any]]] = None
) -> Dict[str, Any]:
    """The layer's constructor arguments: its required ones from ``sizes`` (default :data:`SIZES`),
    then ``overrides[name]["kwargs"]`` (default :data:`OVERRIDES`)."""
    sizes = SIZES if sizes is None else sizes
    overrides = OVERRIDES if overrides is None else overrides
    cls = REGISTRY[name]
    kwargs = {}
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            if pname not in sizes:
                raise LookupError(
                    f"{name}: no value for its required argument {pname!r}; add it to SIZES or "
                    f"OVERRIDES[{name!r}]['kwargs'] in {__file__}"
                )
            kwargs[pname] = sizes[pname]
    kwargs.update(overrides.get(name, {}).get("kwargs", {}))
    return kwargs


def input_shape(
    name: str, kwargs: Dict[str, Any], overrides: Optional[Dict[str, Dict[str, Any]]] = None, side: int = 6
) -> Tuple[int, ...]:
    """The per-sample input shape, from the constructor arguments (images ``side`` x ``side``)."""
    overrides = OVERRIDES if overrides is None else overrides
    if "shape" in overrides.get(name, {}):
        return tuple(overrides[name]["shape"])
    if "input_size" in kwargs:
        return (kwargs["in_channels"], *kwargs["input_size"])
    if "in_channels" in kwargs:
        return (kwargs["in_channels"], side, side)
    if "height" in kwargs:
        return (kwargs["height"] * kwargs["width"],)
    for key in ("in_features", "num_features", "features", "num_units"):
        if key in kwargs:
            return (kwargs[key],)
    return (side,)  # element-wise layers


def build(name: str, dtype: Any = np.float32) -> Tuple[Any, Tuple[int, ...]]:
    kwargs = constructor_args(name)
    bionn.manual_seed(0)
    layer = REGISTRY[name](**kwargs, dtype=dtype)
    return layer, input_shape(name, kwargs)


def probe(shape: Tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(N, *shape)).astype(dtype)


def state(layer: Any) -> Dict[str, np.ndarray]:
    out = {f"p{i}": p.data.copy() for i, p in enumerate(layer.parameters())}
    out.update({f"b.{k}": v.copy() for k, v in layer.buffers().items()})
    return out


# ------------------------------------------------------------------------------------------------
def test_the_registry_holds_every_mechanism():
    for name in (
        "Dense",
        "FocusDense",
        "FocusDense2D",
        "SecondaryActivation",
        "ParametricSoftplus",
        "FlexibleConv2d",
        "NegLU",
        "MixLU",
    ):
        assert name in REGISTRY


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_layer_can_be_built(name):
    layer, shape = build(name)
    out = layer.forward(probe(shape))
    assert out.shape[0] == N and np.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_reexported_by_nn(name):
    assert name in nn.__all__, f"{name} is registered but missing from bionn.nn.__all__"
    assert getattr(nn, name) is REGISTRY[name]
    namespace: Dict[str, Any] = {}
    exec("from bionn.nn import *", namespace)
    assert namespace[name] is REGISTRY[name]


@pytest.mark.parametrize("name", NAMES)
def test_repr_rebuilds_an_equal_layer(name):
    layer, _ = build(name)
    text = repr(layer)
    assert text.startswith(f"{name}(")
    rebuilt = eval(text, {**vars(nn), "np": np})  # noqa: S307 - the repr of our own layer
    assert rebuilt.config() == layer.config()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, dtype, tmp_path):
    layer, shape = build(name, dtype)
    model = nn.Sequential([layer], seed=3)
    x = probe(shape, dtype, seed=1)
    for p in model.parameters():  # move off the initial values, so loading is really tested
        p.data[...] += np.random.default_rng(2).uniform(-0.01, 0.01, size=p.shape).astype(p.dtype)
    before = model.predict(x)
    model.save(tmp_path / "m.npz")
    loaded = nn.load(tmp_path / "m.npz")
    assert [type(l).__name__ for l in loaded.layers] == [name]
    assert loaded.layers[0].config() == layer.config()
    np.testing.assert_array_equal(loaded.predict(x), before)
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("name", NAMES)
def test_float64_gradients_match_central_differences(name):
    layer, shape = build(name, np.float64)
    x = probe(shape, np.float64, seed=4)
    # training=False: dropout is the identity and batch norm uses its running statistics, so the
    # function being differentiated is deterministic.
    check_layer(layer, x, training=False, eps=GRADCHECK_EPS.get(name, 1e-6), rtol=1e-5, atol=1e-7)


def bad_inputs(shape: Tuple[int, ...]):
    good = probe(shape)
    wrong_width = probe((*shape[:-1], shape[-1] + 1))
    yield "nan", np.where(good > 0.5, np.nan, good)
    yield "inf", np.where(good > 0.5, np.inf, good)
    yield "complex", good.astype(np.complex64)
    yield "object", good.astype(object)
    yield "string", np.full(good.shape, "1")
    yield "scalar", np.float32(1.0)
    yield "one_more_dim", good[..., None]
    yield "one_less_dim", good.reshape(good.shape[0], -1)[:, 0] if len(shape) == 1 else good[:, 0]
    yield "wrong_last_size", wrong_width
    yield "none", None


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_contract_bad_inputs(name):
    layer, shape = build(name)
    before = state(layer)
    for kind, x in bad_inputs(shape):
        try:
            out = layer.forward(x)
        except OK:
            continue
        # Accepted: only a shape-agnostic layer may take it, and the result must be finite.
        assert kind in ("one_more_dim", "one_less_dim", "wrong_last_size", "scalar"), (
            f"{name}.forward accepted a {kind} input"
        )
        assert np.isfinite(np.asarray(out)).all()
    after = state(layer)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=f"{name}: {k} changed by a rejected call")


# 2**40 elements cannot fit in memory; 2**62 and 2**64 overflow once multiplied by another size;
# 2**31 and 10**12 fit in an int64 but not (times the other sizes) under the 1 GiB cap set below.
BAD_SIZES = [0, -1, 2.5, "3", None, True, 2**31, 2**40, 10**12, 2**62, 2**64]


@pytest.mark.parametrize("name", NAMES)
def test_fuzz_contract_bad_constructor_sizes(name, monkeypatch):
    # The cap makes the outcome the same on every machine (2**31 elements fit in a large one's memory).
    monkeypatch.setenv("BIONN_MAX_BYTES", str(2**30))
    kwargs = constructor_args(name)
    size_args = [k for k, v in kwargs.items() if k in SIZES and isinstance(v, int)]
    for arg in size_args:
        for value in BAD_SIZES:
            try:
                layer = REGISTRY[name](**{**kwargs, arg: value})
            except OK as exc:
                assert arg in str(exc), f"{name}({arg}={value!r}) raised {exc!r}, which does not name {arg!r}"
                continue
            except MemoryError:
                pytest.fail(f"{name}({arg}={value!r}) tried to allocate instead of rejecting the size")
            # Accepted: only a size that allocates nothing (a pooling window, say) may be.
            assert not layer.parameters() and not layer.buffers(), f"{name}({arg}={value!r}) was accepted"


def test_a_refused_size_names_the_bytes_needed(monkeypatch):
    monkeypatch.setenv("BIONN_MAX_BYTES", str(2**20))
    with pytest.raises(ValueError, match=r"in_features \* out_features = 1000000 elements need 4000000 bytes"):
        nn.Dense(1000, 1000)
    nn.Dense(100, 100)  # 40 kB: under the cap
    with pytest.raises(ValueError, match="in_features must be <= 9223372036854775807"):
        nn.Dense(2**63, 3)  # beyond int64: named here, not a pybind11 signature dump


def test_sizes_whose_product_overflows_are_rejected():
    for make in (
        lambda: nn.FocusDense2D(height=2**62, width=4, out_features=3),
        lambda: nn.FocusDense2D(2**32, 2**32, 3),
        lambda: nn.Dense(2**62, 4),
        lambda: nn.Conv2d(2**32, 4, (2**30, 4)),
    ):
        with pytest.raises(OK):
            make()


CORE_OVERFLOWS = [
    "_core.FocusDense2D_f32(2**62, 4, 3, _core.FocusOptions())",
    "_core.FocusDense2D_f32(2**32, 2**32, 3, _core.FocusOptions())",
    "_core.FocusDense_f32(2**32, 2**32, _core.FocusOptions())",
    "_core.Dense_f32(2**32, 2**32, True, 'torch')",
    "_core.Dense_f32(10**9, 10**9, True, 'torch')",
    "_core.Conv2d_f32(2**16, 2**16, 2**16, 2**16, 1, 0, True, 'torch')",
    "_core.BatchNorm_f32(2**62, False, 1e-5, 0.1, True)",
    "_core.SecondaryActivation_f32(2**62, [1], [2])",
    "_core.MixLU_f32([2**32, 2**32], 0.5, [], False, 1, 'fixed', 'exact')",
    "_core.MinMaxout_f32(2**62, 2, 0.5, [], False, 1)",
    "_core.LearnedActivation_f32(2**62, 0.5, 0.5)",
    "_core.SelfOrgAEUnit_f32(2**32, 2**32)",
]


def test_core_constructors_refuse_overflowing_sizes_without_crashing():
    """The C++ guard, without the Python checks in front of it: each call raises ValueError (a
    std::length_error) naming its arguments. In a subprocess, so a regression (a segfault, or the
    allocation the guard prevents) fails this test instead of killing pytest."""
    script = (
        "import json, sys\nfrom bionn import _core\nout = []\n"
        "for call in json.loads(sys.argv[1]):\n"
        "    try:\n        eval(call)\n        out.append('accepted')\n"
        "    except Exception as exc:\n        out.append(f'{type(exc).__name__}: {exc}')\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "BIONN_MAX_BYTES": str(2**30)}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(CORE_OVERFLOWS)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, f"the core crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"
    for call, result in zip(CORE_OVERFLOWS, json.loads(proc.stdout)):
        assert result.startswith("ValueError: "), (call, result)
        assert "elements need" in result or "overflows" in result, (call, result)
