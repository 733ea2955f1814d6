"""The run-time BLAS behind gemm() (bionn.set_blas): choosing it, rejecting what cannot be used,
and, per registered layer, the same forward and gradients from OpenBLAS as from Eigen (float64 to
1e-10, so every gradient check done on one backend holds on the other) at sizes the library takes.

The OpenBLAS tests need the ``scipy-openblas32`` package (``pip install bionn[blas]``; the test
extra installs it) and skip without it."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from typing import Any, Dict, Tuple

import numpy as np
import pytest

import bionn
from bionn import nn
from bionn._blas import ENV
from gradcheck import check_layer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn"))
import test_registry  # noqa: E402  (builds every registered layer; here at sizes the BLAS takes)

try:
    import scipy_openblas32  # noqa: F401

    HAVE_OPENBLAS = True
except ImportError:
    HAVE_OPENBLAS = False
needs_openblas = pytest.mark.skipif(
    not HAVE_OPENBLAS,
    reason="scipy-openblas32 is not installed (pip install bionn[blas])",
)

# bionn's own layers, as test_registry covers them.
REGISTRY = test_registry.REGISTRY
BATCH = 16
# test_registry's layers at sizes where every GEMM is over blas.h's kMinMultiplyAdds (2**15).
SIZES: Dict[str, Any] = {
    **test_registry.SIZES,
    **dict(in_features=96, out_features=64, num_features=32, in_channels=4, out_channels=16),
    **dict(height=8, width=12, num_units=64, features=64, input_size=(12, 12)),
}
SHAPES = {"BatchNorm1d": (32,), "BatchNorm2d": (32, 6, 6), "MinMaxout": (128,)}
SHAPES.update({k: (4, 12, 12) for k in ("GlobalAvgPool2d", "Dropout2d", "Flatten", "AvgPool2d", "MaxPool2d")})
OVERRIDES: Dict[str, Dict[str, Any]] = {
    **{k: v for k, v in test_registry.OVERRIDES.items() if "shape" not in v},
    **{k: {"shape": v} for k, v in SHAPES.items()},
    "FlexibleConv2d": {"kwargs": dict(in_channels=1, padding=1)},
}
# The layers whose products must reach the library at these sizes.
GEMM_LAYERS = ("Dense", "Conv2d", "FocusDense", "FocusDense2D")  # FlexibleConv2d computes its own sums


@pytest.fixture
def backend():
    """Restores the backend (and BIONN_BLAS) the session started with."""
    before, env = bionn.get_blas(), os.environ.get(ENV)
    yield
    bionn.set_blas(before)
    if env is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = env


def build(name: str) -> Tuple[Any, Tuple[int, ...]]:
    kwargs = test_registry.constructor_args(name, SIZES, OVERRIDES)
    bionn.manual_seed(0)
    layer = REGISTRY[name](**kwargs, dtype=np.float64)
    return layer, test_registry.input_shape(name, kwargs, OVERRIDES, side=12)


def forward_backward(name: str) -> Dict[str, np.ndarray]:
    layer, shape = build(name)
    x = np.random.default_rng(1).uniform(-1, 1, (BATCH, *shape))
    layer.zero_grad()
    y = np.array(layer.forward(x, training=False))
    g = np.random.default_rng(2).standard_normal(y.shape)
    out = {"y": y, "dx": np.array(layer.backward(g))}
    out.update({f"d{p.name}": np.array(p.grad) for p in layer.parameters()})
    return out


# ------------------------------------------------------------------------------------------------
def test_eigen_is_always_available(backend):
    assert bionn.set_blas("eigen") == "eigen"
    assert bionn.get_blas() == "eigen"
    assert os.environ[ENV] == "eigen"
    info = bionn.show_config("dicts")["blas"]
    assert info == {"backend": "eigen", "library": None, "version": None}


@pytest.mark.parametrize("bad", [1, None, b"eigen", ["eigen"]])
def test_backend_must_be_a_str(bad, backend):
    before = bionn.get_blas()
    with pytest.raises(TypeError, match="backend"):
        bionn.set_blas(bad)
    assert bionn.get_blas() == before


def test_unusable_libraries_are_rejected_and_change_nothing(backend, tmp_path):
    before = bionn.get_blas()
    with pytest.raises(ValueError, match="backend"):
        bionn.set_blas("")
    with pytest.raises(RuntimeError, match="not 'auto'"):
        bionn.set_blas(str(tmp_path / "missing.so"))
    crafted = tmp_path / "libfake.so"
    crafted.write_bytes(b"\x7fELF not really a library")
    with pytest.raises(RuntimeError, match="cannot open"):
        bionn.set_blas(str(crafted))
    libm = ctypes.util.find_library("m")
    if libm:  # a real shared library without CBLAS symbols
        path = next(
            (
                os.path.join(d, libm)
                for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")
                if os.path.exists(os.path.join(d, libm))
            ),
            None,
        )
        if path:
            with pytest.raises(RuntimeError, match="exports neither"):
                bionn.set_blas(path)
    assert bionn.get_blas() == before


@pytest.mark.skipif(HAVE_OPENBLAS, reason="scipy-openblas32 is installed")
def test_openblas_without_the_package_is_an_import_error(backend):
    with pytest.raises(ImportError, match="bionn\\[blas\\]"):
        bionn.set_blas("openblas")
    assert bionn.set_blas("auto") == "eigen"


@needs_openblas
def test_auto_picks_openblas_when_installed(backend):
    assert bionn.set_blas("auto") == "openblas"
    info = bionn.show_config("dicts")["blas"]
    assert info["backend"] == "openblas" and info["library"].endswith(".so") and "OpenBLAS" in info["version"]
    from bionn._blas import gemm_label

    assert gemm_label().startswith("openblas 0.")


@needs_openblas
@pytest.mark.parametrize("name", test_registry.NAMES)
def test_openblas_matches_eigen(name, backend):
    bionn.set_blas("eigen")
    want = forward_backward(name)
    bionn.set_blas("openblas")
    calls = bionn._core.blas_calls()
    got = forward_backward(name)
    if name in GEMM_LAYERS:
        assert bionn._core.blas_calls() > calls, f"{name}: no product reached the library"
    assert want.keys() == got.keys()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12, err_msg=f"{name} {k}")


@needs_openblas
@pytest.mark.parametrize("name", ["Dense", "Conv2d", "FocusDense"])
def test_float64_gradients_through_openblas(name, backend):
    bionn.set_blas("openblas")
    layer, shape = build(name)
    x = np.random.default_rng(4).uniform(-1, 1, (BATCH, *shape))
    calls = bionn._core.blas_calls()
    check_layer(
        layer, x[:4] if name == "Conv2d" else x, training=False, rtol=1e-5, atol=1e-7, check_input=name != "Conv2d"
    )
    assert bionn._core.blas_calls() > calls


@needs_openblas
@pytest.mark.parametrize("threads", [1, 2])
def test_openblas_training_is_reproducible(threads, backend):
    bionn.set_blas("openblas")
    before = bionn.get_num_threads()
    bionn.set_num_threads(threads)
    try:
        r = np.random.default_rng(0)
        x = r.uniform(0, 1, (256, 1, 12, 12)).astype(np.float32)
        y = r.integers(0, 10, 256)

        def train():
            m = nn.Sequential(
                [
                    nn.Conv2d(1, 8, 3),
                    nn.ReLU(),
                    nn.Flatten(),
                    nn.Dense(800, 64),
                    nn.Dropout(0.2),
                    nn.ReLU(),
                    nn.Dense(64, 10),
                ],
                seed=5,
            )
            opt = bionn.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
            m.fit(x, y, loss=bionn.losses.CrossEntropy(), optimizer=opt, epochs=2, batch_size=32)
            return [p.data.copy() for p in m.parameters()]

        a, b = train(), train()
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    finally:
        bionn.set_num_threads(before)


def _child(env_value: str) -> Dict[str, Any]:
    code = "import json, warnings, bionn; print(json.dumps(bionn.get_blas()))"
    env = {**os.environ, ENV: env_value}
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return {"blas": json.loads(proc.stdout), "stderr": proc.stderr}


def test_env_chooses_the_backend_at_import():
    assert _child("eigen")["blas"] == "eigen"
    bad = _child("/no/such/libblas.so")
    assert bad["blas"] == "eigen" and "BIONN_BLAS" in bad["stderr"] and "RuntimeWarning" in bad["stderr"]
    if HAVE_OPENBLAS:
        assert _child("openblas")["blas"] == "openblas"
        assert _child("auto")["blas"] == "openblas"


def test_worker_processes_inherit_the_choice(backend):
    bionn.set_blas("eigen")
    from bionn.experiments import repeat

    frame = repeat(_report_blas, seeds=[0], backend="processes", n_workers=1)
    assert list(frame["blas"]) == ["eigen"]


def _report_blas(seed: int) -> Dict[str, Any]:
    return {"blas": bionn.get_blas()}


def test_run_records_name_the_gemm(tmp_path, backend):
    from bionn.experiments import RunStore

    bionn.set_blas("eigen")
    store = RunStore(tmp_path)
    store.save("p", "e", {"a": 1}, 0, {"m": 1.0})
    path = next(tmp_path.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["machine"]["gemm"] == "eigen"
    assert store.load("p", "e", {"a": 1}, 0)["machine"]["gemm"] == "eigen"
    del record["machine"]["gemm"]  # records written before the option load as they are
    path.write_text(json.dumps(record))
    assert "gemm" not in store.load("p", "e", {"a": 1}, 0)["machine"]
    record["machine"]["gemm"] = 3
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="gemm"):
        store.load("p", "e", {"a": 1}, 0)
    record["machine"]["gemm"] = "eigen"
    record["machine"]["extra"] = "x"
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="machine"):
        store.load("p", "e", {"a": 1}, 0)
