"""Hypothesis fuzzing of the Python entry points.

Contract under test: every call either works *correctly* or raises ``ValueError``/``TypeError`` --
never another exception, never a crash. The fuzz cases run in this process, so a segfault fails the
whole run. Set BIONN_FUZZ_SCALE=N to run N times as many examples.

"Correctly" is checked against a reference wherever one is cheap:

* any real dtype (bool, int8..int64, uint8..uint64, float16/32/64, big-endian) and any memory layout
  (transposed, strided, negative strides, Fortran order, unaligned, read-only) is accepted and gives
  *bit-identical* results to the C-contiguous array of the model's dtype;
* layer outputs match NumPy implementations; losses match NumPy formulas;
* a rejected call leaves the model's parameters and buffers untouched.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bionn
from bionn import losses, nn, optim

OK = (ValueError, TypeError)


# BIONN_FUZZ_SCALE=20 runs twenty times as many examples (a deeper, slower fuzzing session).
FUZZ_SCALE = float(os.environ.get("BIONN_FUZZ_SCALE", "1"))


def fuzz(n):
    # In CI the examples are derandomised (fixed seed) so a run is repeatable; locally they vary.
    return settings(
        max_examples=max(1, int(n * FUZZ_SCALE)),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=bool(os.environ.get("CI")),
    )


def outcome(fn, *args, **kwargs):
    """("ok", result) or ("err", exception type) for the allowed exceptions; anything else propagates."""
    try:
        return "ok", fn(*args, **kwargs)
    except OK as exc:
        return "err", type(exc)


def snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_state_equal(model, snap):
    now = model.state_dict()
    assert now.keys() == snap.keys()
    for k in snap:
        np.testing.assert_array_equal(now[k], snap[k], err_msg=f"state entry {k} changed")


# ------------------------------------------------------------------------------------------------
# Array generators
# ------------------------------------------------------------------------------------------------

GOOD_X_DTYPES = [
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.dtype(">f8"),
    np.dtype(">i4"),
    np.dtype("<f4"),
]
LABEL_DTYPES = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.dtype(">i8"),
]
LAYOUTS = ["contiguous", "transposed", "strided", "negative", "fortran", "unaligned", "readonly", "list"]


def base_values(rng, shape, dtype):
    """Values exactly representable in `dtype` and in float16/32/64 (so every cast is exact)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if dtype.kind == "u":
        return rng.integers(0, 4, size=shape).astype(np.float64)
    if dtype.kind == "i":
        return rng.integers(-3, 4, size=shape).astype(np.float64)
    return rng.integers(-24, 25, size=shape) / 8.0


def with_layout(a, layout):
    """An array equal to `a` (same dtype and values) with another memory layout."""
    if layout == "contiguous" or (a.ndim == 0 and layout != "list"):
        return np.array(a, copy=True)
    if layout == "transposed":  # C-contiguous data seen through .T: F-ordered, non-C-contiguous
        out = np.ascontiguousarray(a.T).T
    elif layout == "strided":  # every other element of a bigger buffer along every axis
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        out = big[tuple(slice(None, None, 2) for _ in a.shape)]
    elif layout == "negative":
        flipped = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
        out = flipped[tuple(slice(None, None, -1) for _ in a.shape)]
    elif layout == "fortran":
        out = np.asfortranarray(a)
    elif layout == "unaligned":  # data starting one byte past an aligned address
        raw = bytearray(a.nbytes + 1)
        out = np.frombuffer(raw, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
        np.copyto(out, a)
        if a.dtype.itemsize > 1 and a.size:
            assert not out.flags.aligned
    elif layout == "readonly":
        out = a.copy()
        out.setflags(write=False)
    elif layout == "list":
        return a.tolist()
    else:  # pragma: no cover
        raise AssertionError(layout)
    np.testing.assert_array_equal(out, a)
    assert out.dtype == a.dtype
    return out


# ------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------


def make_mlp(dtype=np.float32, seed=0):
    """Sample shape (6,), 3 classes; BatchNorm (needs >1 sample in training) and Dropout (uses the RNG)."""
    return nn.Sequential(
        [
            nn.Dense(6, 5, dtype=dtype),
            nn.BatchNorm1d(5, dtype=dtype),
            nn.Tanh(dtype=dtype),
            nn.Dropout(0.3, dtype=dtype),
            nn.Dense(5, 3, dtype=dtype),
        ],
        seed=seed,
    )


def make_cnn(dtype=np.float32, seed=0):
    """Sample shape (2, 4, 4), 3 classes."""
    return nn.Sequential(
        [
            nn.Conv2d(2, 3, 3, padding=1, dtype=dtype),
            nn.ReLU(dtype=dtype),
            nn.MaxPool2d(2, dtype=dtype),
            nn.Flatten(dtype=dtype),
            nn.Dense(12, 3, dtype=dtype),
        ],
        seed=seed,
    )


ARCHS = {"mlp": (make_mlp, (6,)), "cnn": (make_cnn, (2, 4, 4))}

# Sample shapes the first layer (or a later one) must reject.
WRONG_SAMPLE_SHAPES = {
    "mlp": [(), (5,), (7,), (6, 1), (1, 6), (2, 3), (6, 1, 1)],
    "cnn": [(), (32,), (2, 4), (1, 4, 4), (3, 4, 4), (2, 6, 6), (2, 1, 1), (2, 4, 3), (2, 8, 8), (4, 2, 4)],
}


# ------------------------------------------------------------------------------------------------
# 1. Any real dtype and any layout is accepted and gives bit-identical results
# ------------------------------------------------------------------------------------------------


@fuzz(60)
@given(
    arch=st.sampled_from(sorted(ARCHS)),
    model_dtype=st.sampled_from([np.float32, np.float64]),
    n=st.integers(1, 7),
    x_dtype=st.sampled_from(GOOD_X_DTYPES),
    x_layout=st.sampled_from(LAYOUTS),
    y_dtype=st.sampled_from(LABEL_DTYPES),
    y_layout=st.sampled_from(LAYOUTS + ["column"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_real_dtype_and_layout_matches_contiguous(arch, model_dtype, n, x_dtype, x_layout, y_dtype, y_layout, seed):
    make, sample = ARCHS[arch]
    rng = np.random.default_rng(seed)
    values = base_values(rng, (n,) + sample, x_dtype)
    x_ref = np.ascontiguousarray(values, dtype=model_dtype)
    x_var = with_layout(values.astype(x_dtype), x_layout)
    labels = rng.integers(0, 3, size=n)
    y_ref = labels.astype(np.int64)
    if y_layout == "column":
        y_var = labels.astype(y_dtype)[:, None]
    else:
        y_var = with_layout(labels.astype(y_dtype), y_layout)
    model = make(model_dtype, seed=3)
    loss = losses.CrossEntropy()

    def both(fn):
        a = outcome(fn, x_ref, y_ref)
        b = outcome(fn, x_var, y_var)
        assert a[0] == b[0], (a, b)
        if a[0] == "err":
            assert a[1] is b[1]
        return a, b

    (ka, a), (_, b) = both(lambda x, y: model.predict(x, batch_size=3))
    assert ka == "ok"  # predict is eval mode: always valid here
    np.testing.assert_array_equal(a, b)
    assert a.dtype == model_dtype and a.shape == (n, 3) and np.isfinite(a).all()

    (ka, a), (_, b) = both(lambda x, y: model.evaluate(x, y, loss, batch_size=2))
    assert ka == "ok" and a == b

    (ka, a), (_, b) = both(lambda x, y: model.input_gradient(x, y, loss))
    assert ka == "ok"
    np.testing.assert_array_equal(a, b)
    assert a.shape == x_ref.shape

    def train_step(x, y):
        model.reset_parameters(seed=11)  # also reseeds the dropout engine
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        value = model.train_step(x, y, loss, opt)
        return value, snapshot(model)

    (ka, a), (_, b) = both(train_step)
    if ka == "ok":
        assert a[0] == b[0]
        for k in a[1]:
            np.testing.assert_array_equal(a[1][k], b[1][k])
    else:
        assert arch == "mlp" and n == 1, a  # BatchNorm cannot train on a single sample

    def fit(x, y):
        model.reset_parameters(seed=12)
        opt = optim.Adam(model.parameters(), lr=0.01)
        hist = model.fit(x, y, loss=loss, optimizer=opt, epochs=2, batch_size=3, shuffle=True, drop_last=n > 3)
        return hist.history, snapshot(model)

    (ka, a), (_, b) = both(fit)
    if ka == "ok":
        assert a[0] == b[0]
        for k in a[1]:
            np.testing.assert_array_equal(a[1][k], b[1][k])
    else:  # a batch of one sample reaches BatchNorm in training
        assert arch == "mlp" and n == 1


# ------------------------------------------------------------------------------------------------
# 2. Bad X / y are rejected with ValueError/TypeError and leave the model unchanged
# ------------------------------------------------------------------------------------------------


def bad_x(kind, rng, n, sample, arch):
    shape = (n,) + sample
    good = rng.standard_normal(shape)
    if kind == "complex":
        return good.astype(np.complex128)
    if kind == "complex64":
        return (good + 1j).astype(np.complex64)
    if kind == "object":
        return good.astype(object)
    if kind == "str":
        return good.astype(str)
    if kind == "bytes":
        return good.astype("S8")
    if kind == "datetime":
        return np.zeros(shape, dtype="datetime64[s]")
    if kind == "timedelta":
        return np.zeros(shape, dtype="timedelta64[s]")
    if kind == "structured":
        return np.zeros(shape, dtype=[("a", "f4"), ("b", "f4")])
    if kind in ("nan", "inf", "-inf"):
        bad = good.copy()
        bad.flat[rng.integers(bad.size)] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[kind]
        return bad
    if kind == "overflow":  # finite in float64, infinite once cast to float32
        bad = good.copy()
        bad.flat[rng.integers(bad.size)] = 1e300
        return bad
    if kind == "empty_batch":
        return np.zeros((0,) + sample)
    if kind == "empty_feature":
        return np.zeros((n,) + (0,) * max(1, len(sample)))
    if kind == "0d":
        return np.array(1.5)
    if kind == "scalar":
        return 1.5
    if kind == "5d":
        return np.zeros((n, 1, 1, 1, 1))
    if kind == "6d":
        return np.zeros((n,) + sample + (1,) * (6 - 1 - len(sample)))
    if kind == "ragged":
        return [[1.0, 2.0], [1.0]]
    if kind == "none":
        return None
    if kind == "string":
        return "not an array"
    if kind == "wrong_sample":
        ws = WRONG_SAMPLE_SHAPES[arch][rng.integers(len(WRONG_SAMPLE_SHAPES[arch]))]
        return rng.standard_normal((n,) + ws)
    raise AssertionError(kind)


BAD_X_KINDS = [
    "complex",
    "complex64",
    "object",
    "str",
    "bytes",
    "datetime",
    "timedelta",
    "structured",
    "nan",
    "inf",
    "-inf",
    "empty_batch",
    "empty_feature",
    "0d",
    "scalar",
    "5d",
    "6d",
    "ragged",
    "none",
    "string",
    "wrong_sample",
    "overflow",
]
ENTRY_POINTS = ["predict", "evaluate", "forward", "input_gradient", "train_step", "fit", "fit_validation"]


def call_entry(model, entry, x, y, *, n=None, sample=None, rng=None):
    loss = losses.CrossEntropy()
    if entry == "predict":
        return model.predict(x)
    if entry == "evaluate":
        return model.evaluate(x, y, loss)
    if entry == "forward":
        return model.forward(x, training=False)
    if entry == "input_gradient":
        return model.input_gradient(x, y, loss)
    opt = optim.SGD(model.parameters(), lr=0.1)
    if entry == "train_step":
        return model.train_step(x, y, loss, opt)
    if entry == "fit":
        return model.fit(x, y, loss=loss, optimizer=opt, epochs=1, batch_size=2)
    if entry == "fit_validation":  # the bad data is the validation set
        xs = rng.standard_normal((4,) + sample)
        return model.fit(xs, np.arange(4) % 3, loss=loss, optimizer=opt, epochs=1, batch_size=2, validation_data=(x, y))
    raise AssertionError(entry)


@fuzz(150)
@given(
    arch=st.sampled_from(sorted(ARCHS)),
    model_dtype=st.sampled_from([np.float32, np.float64]),
    entry=st.sampled_from(ENTRY_POINTS),
    kind=st.sampled_from(BAD_X_KINDS),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_bad_x_is_rejected_and_model_unchanged(arch, model_dtype, entry, kind, n, seed):
    if kind == "overflow":
        assume(model_dtype == np.float32)
    make, sample = ARCHS[arch]
    rng = np.random.default_rng(seed)
    x = bad_x(kind, rng, n, sample, arch)
    y = np.arange(n) % 3
    if kind == "empty_batch":
        y = np.zeros(0, dtype=int)
    model = make(model_dtype, seed=1)
    model.training = False  # no state change from a forward in training mode
    before = snapshot(model)
    with pytest.raises(OK):
        call_entry(model, entry, x, y, n=n, sample=sample, rng=rng)
    assert_state_equal(model, before)
    # ... and the model still works.
    out = model.predict(rng.standard_normal((2,) + sample))
    assert np.isfinite(out).all()


def bad_y(kind, rng, n):
    labels = rng.integers(0, 3, size=n)
    if kind == "negative":
        y = labels.copy()
        y[rng.integers(n)] = -1
        return y
    if kind == "too_large":  # >= number of classes (3): caught by the loss in C++
        y = labels.copy()
        y[rng.integers(n)] = 3 + int(rng.integers(0, 1000))
        return y
    if kind == "huge":
        y = labels.astype(np.uint64)
        y[rng.integers(n)] = 2**63 + 5
        return y
    if kind == "fraction":
        y = labels.astype(np.float64)
        y[rng.integers(n)] = 0.5
        return y
    if kind in ("nan", "inf"):
        y = labels.astype(np.float64)
        y[rng.integers(n)] = np.nan if kind == "nan" else np.inf
        return y
    if kind == "complex":
        return labels.astype(np.complex128)
    if kind == "str":
        return labels.astype(str)
    if kind == "object":
        return labels.astype(object)
    if kind == "two_columns":
        return np.stack([labels, labels], axis=1)
    if kind == "3d":
        return labels.reshape(n, 1, 1)
    if kind == "0d":
        return np.array(1)
    if kind == "shorter":
        return labels[:-1]
    if kind == "longer":
        return np.concatenate([labels, [0]])
    if kind == "none":
        return None
    raise AssertionError(kind)


BAD_Y_KINDS = [
    "negative",
    "too_large",
    "huge",
    "fraction",
    "nan",
    "inf",
    "complex",
    "str",
    "object",
    "two_columns",
    "3d",
    "0d",
    "shorter",
    "longer",
    "none",
]


@fuzz(120)
@given(
    arch=st.sampled_from(sorted(ARCHS)),
    model_dtype=st.sampled_from([np.float32, np.float64]),
    entry=st.sampled_from(["evaluate", "input_gradient", "train_step", "fit", "fit_validation"]),
    kind=st.sampled_from(BAD_Y_KINDS),
    n=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_bad_labels_are_rejected_and_model_unchanged(arch, model_dtype, entry, kind, n, seed):
    make, sample = ARCHS[arch]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + sample)
    y = bad_y(kind, rng, n)
    model = make(model_dtype, seed=2)
    before = snapshot(model)
    with pytest.raises(OK):
        call_entry(model, entry, x, y, n=n, sample=sample, rng=rng)
    if kind != "too_large":
        # Everything but an out-of-range label is caught before the C++ loop runs.
        assert_state_equal(model, before)
    elif entry in ("evaluate", "input_gradient", "train_step"):
        # An out-of-range label is found by the loss, before any optimizer step (in train_step, after
        # BatchNorm has updated its running statistics, so only the parameters are compared). In fit
        # the bad label may sit in a later batch (or, for validation data, be seen after an epoch).
        for name, p in model.named_parameters():
            np.testing.assert_array_equal(p.data, before[name], err_msg=name)


@fuzz(60)
@given(
    model_dtype=st.sampled_from([np.float32, np.float64]),
    entry=st.sampled_from(["evaluate", "input_gradient", "train_step", "fit"]),
    kind=st.sampled_from(["wrong_width", "nan", "shorter", "3d", "complex", "transposed"]),
    n=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_bad_regression_targets_are_rejected(model_dtype, entry, kind, n, seed):
    rng = np.random.default_rng(seed)
    model = nn.Sequential([nn.Dense(4, 2, dtype=model_dtype)], seed=0)
    x = rng.standard_normal((n, 4))
    y = rng.standard_normal((n, 2))
    y = {
        "wrong_width": lambda: rng.standard_normal((n, 3)),
        "nan": lambda: np.where(y > 0, np.nan, y),
        "shorter": lambda: y[:-1],
        "3d": lambda: y[:, :, None],
        "complex": lambda: y.astype(complex),
        "transposed": lambda: y.T if n != 2 else y[:, :1].T,
    }[kind]()
    if kind == "nan":
        y[0, 0] = np.nan
    loss = losses.MSE()
    before = snapshot(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(OK):
        if entry == "evaluate":
            model.evaluate(x, y, loss)
        elif entry == "input_gradient":
            model.input_gradient(x, y, loss)
        elif entry == "train_step":
            model.train_step(x, y, loss, opt)
        else:
            model.fit(x, y, loss=loss, optimizer=opt, epochs=1, batch_size=2)
    assert_state_equal(model, before)


BAD_BATCH = [0, -1, -(2**40), 2.5, "3", None, True, [], np.float64(2.0)]
BAD_KWARGS = (
    [("predict", "batch_size", v) for v in BAD_BATCH]
    + [("evaluate", "batch_size", v) for v in BAD_BATCH]
    + [("evaluate", "loss", v) for v in ["mse", None, object(), losses.CrossEntropy, lambda p, t: 0.0]]
    + [("fit", "batch_size", v) for v in BAD_BATCH]
    + [("fit", "eval_batch_size", v) for v in BAD_BATCH]
    + [("fit", "epochs", v) for v in [-1, 2.5, "3", None, True, 2**40]]
    + [("fit", "verbose", v) for v in [-1, 1.5, "1", None, True]]
    + [("fit", "validation_data", v) for v in ["v", 3, ("x",), ("x", "y", "z"), {"x": 1}, ([[0.0] * 6], [0, 1])]]
    + [("fit", "loss", v) for v in ["mse", None, 3]]
    + [("fit", "optimizer", v) for v in ["sgd", None, object()]]
    + [("fit", "scheduler", v) for v in ["step", 3, object()]]
    + [("fit", "callbacks", v) for v in [[3], ["cb"], [object()], 3, [None]]]
)


@fuzz(80)
@given(case=st.sampled_from(BAD_KWARGS), n=st.integers(2, 6))
def test_bad_keyword_arguments_are_rejected(case, n):
    entry, key, value = case
    model = make_mlp(np.float32, seed=0)
    x = np.random.default_rng(n).standard_normal((n, 6))
    y = np.arange(n) % 3
    loss = losses.CrossEntropy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = snapshot(model)
    with pytest.raises(OK):
        if entry == "predict":
            model.predict(x, **{key: value})
        elif entry == "evaluate":
            kwargs = dict(loss=loss, batch_size=4)
            kwargs[key] = value
            model.evaluate(x, y, **kwargs)
        else:
            kwargs = dict(loss=loss, optimizer=opt, epochs=1, batch_size=2)
            kwargs[key] = value
            model.fit(x, y, **kwargs)
    assert_state_equal(model, before)


# ------------------------------------------------------------------------------------------------
# 3. Every layer's forward/backward
# ------------------------------------------------------------------------------------------------


def _act(name):
    return {
        "ReLU": (lambda d: nn.ReLU(dtype=d), lambda x: np.maximum(x, 0)),
        "LeakyReLU": (lambda d: nn.LeakyReLU(0.1, dtype=d), lambda x: np.where(x > 0, x, 0.1 * x)),
        "ELU": (lambda d: nn.ELU(0.5, dtype=d), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
        "Sigmoid": (lambda d: nn.Sigmoid(dtype=d), lambda x: 1 / (1 + np.exp(-x))),
        "Tanh": (lambda d: nn.Tanh(dtype=d), np.tanh),
        "Softplus": (
            lambda d: nn.Softplus(2.0, 5.0, dtype=d),
            lambda x: np.where(2 * x > 5, x, np.log1p(np.exp(2 * x)) / 2),
        ),
    }[name]


def conv_ref(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, co, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out + (0 if b is None else b[None, :, None, None])


def pool_ref(x, k, stride, pad, mode):
    n, c, h, w = x.shape
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            if mode == "max":
                out[:, :, i, j] = win.max(axis=(2, 3))
            else:  # count_include_pad: the window clipped to the padded input
                y0, x0 = i * stride - pad, j * stride - pad
                div = (min(y0 + k, h + pad) - y0) * (min(x0 + k, w + pad) - x0)
                out[:, :, i, j] = win.sum(axis=(2, 3)) / div
    return out


LAYER_SPECS = {
    # name: (factory(dtype), a valid sample shape, reference(layer, x, training) or None)
    "Dense": (
        lambda d: nn.Dense(4, 3, dtype=d),
        (4,),
        lambda l, x, t: x @ l.parameters()[0].data.T.astype(np.float64) + l.parameters()[1].data,
    ),
    "DenseNoBias": (
        lambda d: nn.Dense(4, 3, bias=False, init="he_normal", dtype=d),
        (4,),
        lambda l, x, t: x @ l.parameters()[0].data.T.astype(np.float64),
    ),
    "Conv2d": (
        lambda d: nn.Conv2d(2, 3, (2, 3), stride=2, padding=1, dtype=d),
        (2, 5, 4),
        lambda l, x, t: conv_ref(x, l.parameters()[0].data.astype(np.float64), l.parameters()[1].data, 2, 1),
    ),
    "MaxPool2d": (
        lambda d: nn.MaxPool2d(3, stride=2, padding=1, dtype=d),
        (2, 5, 4),
        lambda l, x, t: pool_ref(x, 3, 2, 1, "max"),
    ),
    "AvgPool2d": (
        lambda d: nn.AvgPool2d(2, stride=1, padding=1, dtype=d),
        (2, 3, 4),
        lambda l, x, t: pool_ref(x, 2, 1, 1, "avg"),
    ),
    "GlobalAvgPool2d": (lambda d: nn.GlobalAvgPool2d(dtype=d), (3, 2, 3), lambda l, x, t: x.mean(axis=(2, 3))),
    "BatchNorm1d": (lambda d: nn.BatchNorm1d(3, dtype=d), (3,), None),
    "BatchNorm1d_3d": (lambda d: nn.BatchNorm1d(3, dtype=d), (3, 4), None),
    "BatchNorm2d": (lambda d: nn.BatchNorm2d(2, dtype=d), (2, 3, 3), None),
    "Dropout": (lambda d: nn.Dropout(0.5, dtype=d), (5,), None),
    "Dropout2d": (lambda d: nn.Dropout2d(0.5, dtype=d), (3, 2, 2), None),
    "Flatten": (lambda d: nn.Flatten(dtype=d), (2, 3, 2), lambda l, x, t: x.reshape(len(x), -1)),
}
for _name in ["ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus"]:
    _make, _f = _act(_name)
    LAYER_SPECS[_name] = (_make, (3, 2), (lambda f: lambda l, x, t: f(x))(_f))


def bn_ref(layer, x, training):
    eps = layer.config()["eps"]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    else:
        mean, var = layer.buffers()["running_mean"].astype(np.float64), layer.buffers()["running_var"]
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)


@fuzz(150)
@given(
    name=st.sampled_from(sorted(LAYER_SPECS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    n=st.integers(1, 4),
    training=st.booleans(),
    layout=st.sampled_from(LAYOUTS),
    x_dtype=st.sampled_from(GOOD_X_DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_layer_forward_backward_valid_inputs(name, dtype, n, training, layout, x_dtype, seed):
    make, sample, ref = LAYER_SPECS[name]
    rng = np.random.default_rng(seed)
    bionn.manual_seed(seed)
    layer = make(dtype)
    values = base_values(rng, (n,) + sample, x_dtype) + (
        rng.uniform(-0.01, 0.01, (n,) + sample) if np.dtype(x_dtype).kind == "f" else 0
    )
    x_var = with_layout(values.astype(x_dtype), layout)
    x = np.asarray(x_var, dtype=dtype).astype(np.float64)  # what the layer sees, in float64

    bionn.manual_seed(7)
    res = outcome(layer.forward, x_var, training=training)
    if res[0] == "err":  # only BatchNorm in training with one value per channel may refuse
        assert name.startswith("BatchNorm") and training and n * int(np.prod(sample[1:])) < 2, res
        return
    out = res[1]
    assert out.dtype == dtype and np.isfinite(out).all()
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    if ref is not None:
        np.testing.assert_allclose(out, ref(layer, x, training), **tol)
    elif name.startswith("BatchNorm"):
        if not training:  # fresh running stats (0, 1)
            np.testing.assert_allclose(out, bn_ref(layer, x, False), **tol)
        else:
            np.testing.assert_allclose(out, bn_ref(layer, x, True), rtol=1e-3, atol=1e-3)
    elif name.startswith("Dropout"):
        if not training:
            np.testing.assert_array_equal(out, x.astype(dtype))
        else:
            kept = out != 0
            np.testing.assert_allclose(out[kept], 2 * x[kept], **tol)

    # The same call on the C-contiguous array of the layer's dtype gives the same bits.
    bionn.manual_seed(7)
    out_ref = layer.forward(np.ascontiguousarray(x_var, dtype=dtype), training=training)
    np.testing.assert_array_equal(out, out_ref)

    # backward: a gradient of the output's shape works (any layout), returns the input's shape.
    g = rng.standard_normal(out.shape)
    for p in layer.parameters():
        p.grad[...] = 0
    dx = layer.backward(with_layout(g, layout if layout != "list" else "contiguous"))
    grads = [p.grad.copy() for p in layer.parameters()]
    assert dx.shape == (n,) + sample and dx.dtype == dtype and np.isfinite(dx).all()
    for p in layer.parameters():
        p.grad[...] = 0
    dx2 = layer.backward(np.ascontiguousarray(g, dtype=dtype))
    np.testing.assert_array_equal(dx, dx2)
    for a, p in zip(grads, layer.parameters()):
        np.testing.assert_array_equal(a, p.grad)
    if name.startswith("Dense"):
        np.testing.assert_allclose(dx, g @ layer.parameters()[0].data.astype(np.float64), **tol)
        np.testing.assert_allclose(grads[0], g.T @ x, **tol)


ALLOWED_NDIM = {
    "Dense": {2},
    "Conv2d": {4},
    "MaxPool2d": {4},
    "AvgPool2d": {4},
    "GlobalAvgPool2d": {4},
    "BatchNorm1d": {2, 3},
    "BatchNorm2d": {4},
    "Dropout": {1, 2, 3, 4},
    "Dropout2d": {3, 4},
    "Flatten": {1, 2, 3, 4},
    "ReLU": {1, 2, 3, 4},
    "LeakyReLU": {1, 2, 3, 4},
    "ELU": {1, 2, 3, 4},
    "Sigmoid": {1, 2, 3, 4},
    "Tanh": {1, 2, 3, 4},
    "Softplus": {1, 2, 3, 4},
}


@fuzz(200)
@given(
    name=st.sampled_from(sorted(LAYER_SPECS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    kind=st.sampled_from(BAD_X_KINDS + ["random_shape"] * 8),
    n=st.integers(1, 3),
    training=st.booleans(),
    data=st.data(),
)
def test_layer_forward_bad_inputs(name, dtype, kind, n, training, data):
    make, sample, _ = LAYER_SPECS[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    layer = make(dtype)
    if kind == "overflow" and dtype == np.float64:
        kind = "nan"
    if kind == "random_shape":
        # Any shape at all (0 to 6 dims, sizes 0 to 5): works exactly when the layer takes that
        # layout, otherwise ValueError/TypeError -- never a crash.
        shape = tuple(data.draw(st.lists(st.integers(0, 5), min_size=0, max_size=6), label="shape"))
        x = rng.standard_normal(shape)
        res = outcome(layer.forward, x, training=training)
        if res[0] == "ok":
            out = res[1]
            assert np.isfinite(out).all() and out.dtype == dtype
            assert x.ndim in ALLOWED_NDIM[type(layer).__name__] and x.size > 0, (name, shape)
            back = outcome(layer.backward, np.ones(out.shape))
            assert back[0] == "ok" and back[1].shape == x.shape
        elif type(layer).__name__ in ("ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Flatten", "Dropout"):
            assert x.size == 0 or not 1 <= x.ndim <= 4, f"{name} refused a valid input of shape {shape}"
        return
    if kind == "wrong_sample":
        return  # per-model; covered above
    x = bad_x(kind, rng, n, sample, "mlp")
    with pytest.raises(OK):
        layer.forward(x, training=training)


@fuzz(150)
@given(
    name=st.sampled_from(sorted(LAYER_SPECS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    kind=st.sampled_from(BAD_X_KINDS + ["wrong_grad_shape"]),
    n=st.integers(2, 3),
    data=st.data(),
)
def test_layer_backward_bad_gradients(name, dtype, kind, n, data):
    make, sample, _ = LAYER_SPECS[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    layer = make(dtype)
    x = rng.standard_normal((n,) + sample)
    out = layer.forward(x, training=True)
    grads_before = [p.grad.copy() for p in layer.parameters()]
    if kind == "wrong_grad_shape":
        shape = list(out.shape)
        how = data.draw(st.sampled_from(["grow", "shrink", "drop_axis", "add_axis", "swap"]), label="how")
        if how == "grow":
            i = data.draw(st.integers(0, len(shape) - 1))
            shape[i] += 1
        elif how == "shrink":
            i = data.draw(st.integers(0, len(shape) - 1))
            assume(shape[i] > 1)
            shape[i] -= 1
        elif how == "drop_axis":
            shape = shape[:-1]
            assume(len(shape) >= 1)
        elif how == "add_axis":
            shape = shape + [1]
            assume(len(shape) <= 4)
        else:
            assume(len(shape) >= 2 and shape[0] != shape[-1])
            shape[0], shape[-1] = shape[-1], shape[0]
        g = rng.standard_normal(shape)
    elif kind == "wrong_sample":
        return
    else:
        g = bad_x(kind, rng, n, tuple(out.shape[1:]), "mlp")
        if kind == "overflow" and dtype == np.float64:
            return
    with pytest.raises(OK):
        layer.backward(g)
    for a, p in zip(grads_before, layer.parameters()):
        np.testing.assert_array_equal(a, p.grad)
    # still usable
    dx = layer.backward(np.ones(out.shape))
    assert dx.shape == x.shape


def test_layer_backward_before_forward_raises():
    # A usage-order error: RuntimeError ("call forward first") like losses.Loss.backward; no crash.
    for name, (make, _, _) in sorted(LAYER_SPECS.items()):
        layer = make(np.float32)
        with pytest.raises((RuntimeError, ValueError)) as info:
            layer.backward(np.ones((2, 3)))
        assert "forward" in str(info.value) or "shape" in str(info.value), name


# ------------------------------------------------------------------------------------------------
# 4. Out-of-range hyper-parameters
# ------------------------------------------------------------------------------------------------

INT_VALUES = st.one_of(
    st.integers(-3, 6),
    st.sampled_from(
        [
            -(2**31),
            0,
            2**70,
            2.0,
            2.5,
            "3",
            None,
            True,
            np.int64(2),
            np.uint8(3),
            [2],
            (2, 2),
            (2, 2, 2),
            (0, 2),
            (2, -1),
            float("nan"),
        ]
    ),
)
FLOAT_VALUES = st.one_of(
    st.floats(-2, 3, allow_nan=False),
    st.sampled_from(
        [
            0.0,
            1.0,
            -0.0,
            float("nan"),
            float("inf"),
            -float("inf"),
            1e308,
            "0.5",
            None,
            True,
            1,
            np.float32(0.5),
            [0.5],
            1 + 1j,
        ]
    ),
)


def ctor_kwargs(name, draw):
    i, f = (lambda: draw(INT_VALUES)), (lambda: draw(FLOAT_VALUES))
    b = lambda: draw(st.sampled_from([True, False, 0, 1, "yes", None]))  # noqa: E731
    return {
        "Dense": lambda: dict(
            in_features=i(),
            out_features=i(),
            bias=b(),
            init=draw(st.sampled_from(["torch", "he_normal", "zeros", "bogus", "", 3])),
        ),
        "Conv2d": lambda: dict(in_channels=i(), out_channels=i(), kernel_size=i(), stride=i(), padding=i()),
        "MaxPool2d": lambda: dict(kernel_size=i(), stride=draw(st.one_of(st.none(), INT_VALUES)), padding=i()),
        "AvgPool2d": lambda: dict(
            kernel_size=i(), stride=draw(st.one_of(st.none(), INT_VALUES)), padding=i(), count_include_pad=b()
        ),
        "BatchNorm1d": lambda: dict(num_features=i(), eps=f(), momentum=f(), affine=b()),
        "BatchNorm2d": lambda: dict(num_features=i(), eps=f(), momentum=f()),
        "Dropout": lambda: dict(p=f()),
        "Dropout2d": lambda: dict(p=f()),
        "LeakyReLU": lambda: dict(negative_slope=f()),
        "ELU": lambda: dict(alpha=f()),
        "Softplus": lambda: dict(beta=f(), threshold=f()),
        "Dtype": lambda: dict(
            dtype=draw(
                st.sampled_from(
                    [np.float16, np.int32, "float32", "float64", complex, object, "bogus", None, np.float32, np.float64]
                )
            )
        ),
    }[name]()


CTOR_CLASSES = {
    "Dense": nn.Dense,
    "Conv2d": nn.Conv2d,
    "MaxPool2d": nn.MaxPool2d,
    "AvgPool2d": nn.AvgPool2d,
    "BatchNorm1d": nn.BatchNorm1d,
    "BatchNorm2d": nn.BatchNorm2d,
    "Dropout": nn.Dropout,
    "Dropout2d": nn.Dropout2d,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "Softplus": nn.Softplus,
    "Dtype": nn.ReLU,
}


def probe_input(layer, rng, size):
    cfg = layer.config()
    name = type(layer).__name__
    if name == "Dense":
        return rng.standard_normal((2, cfg["in_features"]))
    if name == "Conv2d":
        return rng.standard_normal((2, cfg["in_channels"], size, size))
    if name in ("MaxPool2d", "AvgPool2d", "BatchNorm2d", "Dropout2d"):
        return rng.standard_normal((2, cfg.get("num_features", 2), size, size))
    if name == "BatchNorm1d":
        return rng.standard_normal((2, cfg["num_features"]))
    return rng.standard_normal((2, 3))


@fuzz(250)
@given(name=st.sampled_from(sorted(CTOR_CLASSES)), size=st.integers(1, 6), data=st.data())
def test_layer_constructor_hyperparameters(name, size, data):
    kwargs = ctor_kwargs(name, data.draw)
    res = outcome(CTOR_CLASSES[name], **kwargs)
    if res[0] == "err":
        return
    layer = res[1]
    # Accepted hyper-parameters must be sane ...
    for key, v in kwargs.items():
        if isinstance(v, float) and key != "dtype":
            assert np.isfinite(v), (key, v)
        if key in ("in_features", "out_features", "in_channels", "out_channels", "num_features"):
            assert not isinstance(v, (bool, float, str)) and int(v) >= 1, (key, v)
    if name in ("Dropout", "Dropout2d"):
        assert 0 <= kwargs["p"] < 1
    # ... and the layer works on a matching input or refuses it (e.g. kernel larger than input).
    # Extreme but finite hyper-parameters legitimately overflow float32 outputs: a slope of 1e38, or
    # Softplus with beta 1e-40 (log(2) / beta alone is 7e39).
    finite_expected = all(v == 0 or 1e-6 <= abs(v) <= 1e6 for v in kwargs.values() if isinstance(v, float))
    rng = np.random.default_rng(0)
    x = probe_input(layer, rng, size)
    for training in (False, True):
        res = outcome(layer.forward, x, training=training)
        if res[0] == "ok":
            out = res[1]
            dx = layer.backward(np.ones(out.shape))
            assert dx.shape == x.shape
            if finite_expected:
                assert np.isfinite(out).all() and np.isfinite(dx).all()
        elif name in ("Conv2d", "MaxPool2d", "AvgPool2d"):
            k = kwargs["kernel_size"]
            k = max(k) if isinstance(k, (tuple, list)) else k
            assert k > size + 2 * int(kwargs.get("padding", 0)), "refused a input at least as large as the kernel"


@pytest.mark.parametrize("case", ["elu", "leaky", "softplus", "adam_eps", "rmsprop_eps"])
def test_float_hyperparameters_that_overflow_the_layer_dtype(case):
    """Regression: values fine as doubles but inf/0 in float32 (ELU alpha 1e308 -> -inf outputs, Adam eps
    1e-320 -> 0/0 = NaN) are rejected, or work."""
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    try:
        if case == "adam_eps" or case == "rmsprop_eps":
            model = nn.Sequential([nn.Dense(5, 2), nn.ReLU(), nn.Dense(2, 1)], seed=0)
            make = optim.Adam if case == "adam_eps" else optim.RMSprop
            opt = make(model.parameters(), eps=1e-320)
        else:
            layer = {
                "elu": lambda: nn.ELU(alpha=1e308),
                "leaky": lambda: nn.LeakyReLU(1e308),
                "softplus": lambda: nn.Softplus(beta=1e308),
            }[case]()
    except ValueError:
        return  # rejecting the value is fine
    if case in ("adam_eps", "rmsprop_eps"):
        model[0].parameters()[0].data[0, 0] = 0  # make sure some gradient entries are exactly 0
        for _ in range(3):
            model.train_step(np.vstack([x, -x]), np.zeros((2, 1)), losses.MSE(), opt)
        assert all(np.isfinite(p.data).all() for p in model.parameters())
    else:
        out = layer.forward(x)
        assert np.isfinite(out).all(), out


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Dropout(p=1.0),
        lambda: nn.Dropout2d(p=1.0),
        lambda: nn.Dropout(p=1.5),
        lambda: nn.Dropout(-1e-9),
        lambda: nn.Dense(-1, 3),
        lambda: nn.Dense(3, -1),
        lambda: nn.Dense(0, 0),
        lambda: nn.Conv2d(-2, 1, 3),
        lambda: nn.Conv2d(1, 1, (3, -3)),
        lambda: nn.Conv2d(1, 1, 3, stride=0),
        lambda: nn.Conv2d(1, 1, 3, stride=-1),
        lambda: nn.MaxPool2d(0),
        lambda: nn.MaxPool2d(2, stride=0),
        lambda: nn.MaxPool2d(3, padding=2),
        lambda: nn.AvgPool2d(2, padding=-1),
        lambda: nn.BatchNorm2d(0),
        lambda: nn.BatchNorm1d(3, eps=-1e-5),
        lambda: nn.BatchNorm1d(3, momentum=-0.1),
        lambda: nn.BatchNorm1d(3, eps=float("nan")),
        lambda: nn.LeakyReLU(float("inf")),
        lambda: nn.Softplus(threshold=-1),
        lambda: nn.Dense(3, 2, init="bogus"),
        lambda: nn.Conv2d(1, 1, 2, init="nope"),
    ],
)
def test_out_of_range_hyperparameters_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Dense(3.0, 2),
        lambda: nn.Dense("3", 2),
        lambda: nn.Dense(True, 2),
        lambda: nn.Dense(None, 2),
        lambda: nn.Conv2d(1, 1, 2.5),
        lambda: nn.MaxPool2d("2"),
        lambda: nn.Dropout("0.5"),
        lambda: nn.Dropout(None),
        lambda: nn.Dense(3, 2, dtype=np.float16),
        lambda: nn.Dense(3, 2, dtype=np.int64),
        lambda: nn.Dense(3, 2, dtype=np.complex128),
    ],
)
def test_wrongly_typed_hyperparameters_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda: nn.Conv2d(1, 1, 5), (1, 1, 4, 4)),
        (lambda: nn.Conv2d(1, 1, (2, 6), padding=1), (1, 1, 4, 3)),
        (lambda: nn.MaxPool2d(5), (2, 3, 4, 6)),
        (lambda: nn.AvgPool2d(4, padding=1), (1, 1, 1, 5)),
        (lambda: nn.Conv2d(3, 1, 1), (1, 2, 4, 4)),  # channel mismatch
        (lambda: nn.BatchNorm2d(3), (2, 2, 4, 4)),
        (lambda: nn.BatchNorm1d(3), (2, 3, 4, 1)),  # 4-D into BatchNorm1d
        (lambda: nn.Dropout2d(0.5), (2, 3)),
        (lambda: nn.GlobalAvgPool2d(), (2, 3, 4)),
    ],
)
def test_kernel_larger_than_input_and_shape_mismatches(layer, shape):
    with pytest.raises(ValueError):
        layer().forward(np.ones(shape), training=True)


def test_batchnorm_single_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than one value"):
        nn.BatchNorm1d(3).forward(np.ones((1, 3)), training=True)
    model = nn.Sequential([nn.Dense(3, 2), nn.BatchNorm1d(2)], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="drop_last"):
        model.fit(np.ones((5, 3)), np.zeros((5, 2)), loss=losses.MSE(), optimizer=opt, batch_size=2, shuffle=False)
    # drop_last avoids the one-sample batch
    model.fit(np.ones((5, 3)), np.zeros((5, 2)), loss=losses.MSE(), optimizer=opt, batch_size=2, drop_last=True)


@fuzz(40)
@given(
    layers=st.lists(
        st.sampled_from(["dense", "dense64", "relu", "none", "int", "same", "str"]), min_size=0, max_size=4
    ),
    seed=st.sampled_from([None, 0, 5, -1, 2**64 - 1, 2**64, 1.5, "1", True, np.uint64(3)]),
)
def test_sequential_constructor(layers, seed):
    shared = nn.ReLU()
    items = [
        {
            "dense": lambda: nn.Dense(2, 2),
            "dense64": lambda: nn.Dense(2, 2, dtype=np.float64),
            "relu": nn.ReLU,
            "none": lambda: None,
            "int": lambda: 3,
            "same": lambda: shared,
            "str": lambda: "Dense",
        }[k]()
        for k in layers
    ]
    res = outcome(nn.Sequential, items, seed=seed)
    valid_items = (
        items
        and all(isinstance(l, nn.Layer) for l in items)
        and len({np.dtype(l.dtype) for l in items}) == 1
        and layers.count("same") <= 1
    )
    valid_seed = seed is None or (
        isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and 0 <= int(seed) < 2**64
    )
    assert (res[0] == "ok") == bool(valid_items and valid_seed), (layers, seed, res)


@pytest.mark.parametrize("make", [lambda: nn.Dense(2**62, 4), lambda: nn.Conv2d(2**32, 4, (2**30, 4))])
def test_sizes_whose_product_overflows_are_rejected(make):
    """Regression: the element count used to wrap to 0 in Shape::numel, giving an empty weight."""
    with pytest.raises(ValueError):
        make()


# ------------------------------------------------------------------------------------------------
# 5. Losses
# ------------------------------------------------------------------------------------------------


def loss_ref(name, p, t):
    p = p.astype(np.float64)
    if name == "MSE":
        return np.mean((p - t) ** 2)
    if name == "L1":
        return np.mean(np.abs(p - t))
    if name == "BCEWithLogits":
        return np.mean(np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p))))
    z = p - p.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(t)), t.astype(int)])


LOSSES = {
    "MSE": losses.MSE,
    "L1": losses.L1,
    "BCEWithLogits": losses.BCEWithLogits,
    "CrossEntropy": losses.CrossEntropy,
}


@fuzz(200)
@given(
    name=st.sampled_from(sorted(LOSSES)),
    pred_dtype=st.sampled_from(GOOD_X_DTYPES + ["complex", "object", "str"]),
    target_dtype=st.sampled_from(GOOD_X_DTYPES + ["complex", "object", "str"]),
    pred_shape=st.lists(st.integers(0, 4), min_size=0, max_size=5),
    target_mode=st.sampled_from(["match", "random", "labels", "labels_bad", "nan"]),
    layout=st.sampled_from(LAYOUTS),
    data=st.data(),
)
def test_losses_call(name, pred_dtype, target_dtype, pred_shape, target_mode, layout, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    loss = LOSSES[name]()
    pshape = tuple(pred_shape)
    pvals = rng.standard_normal(pshape)
    if target_mode == "match":
        tvals = rng.uniform(0, 1, pshape)
    elif target_mode == "random":
        tvals = rng.uniform(0, 1, tuple(data.draw(st.lists(st.integers(0, 4), max_size=5), label="tshape")))
    elif target_mode in ("labels", "labels_bad"):
        n = pshape[0] if pshape else 1
        c = pshape[1] if len(pshape) > 1 else 1
        tvals = rng.integers(0, max(c, 1), size=n).astype(np.float64)
        if target_mode == "labels_bad" and n:
            tvals[rng.integers(n)] = data.draw(st.sampled_from([-1, c, c + 7, 0.5, np.nan]), label="bad")
    else:
        tvals = rng.uniform(0, 1, pshape)
        if tvals.size:
            tvals.flat[0] = np.nan

    def conv(v, dt):
        if dt == "complex":
            return v.astype(complex)
        if dt == "object":
            return v.astype(object)
        if dt == "str":
            return v.astype(str)
        dt = np.dtype(dt)
        if dt.kind in "biu":  # only when every value is exactly representable in that dtype
            with np.errstate(all="ignore"):
                cast = v.astype(dt)
            if not (np.isfinite(v).all() and np.array_equal(cast.astype(np.float64), v)):
                return v
            return with_layout(cast, layout)
        return with_layout(v.astype(dt), layout)

    pred, target = conv(pvals, pred_dtype), conv(tvals, target_dtype)
    res = outcome(loss, pred, target)
    if res[0] == "err":
        return
    value = res[1]
    assert isinstance(value, float) and np.isfinite(value)
    # Only a valid call may succeed.
    assert pred_dtype not in ("complex", "object", "str") and target_dtype not in ("complex", "object", "str")
    p = np.asarray(pred)
    mdt = np.float64 if p.dtype == np.float64 else np.float32
    p = p.astype(mdt)
    t = np.asarray(target).astype(mdt).astype(np.float64)
    assert p.size > 0 and np.isfinite(p).all() and np.isfinite(t).all()
    if name == "CrossEntropy":
        assert p.ndim == 2 and t.reshape(-1).shape == (p.shape[0],)
        t = t.reshape(-1)
        assert ((t >= 0) & (t < p.shape[1]) & (t == np.round(t))).all()
    else:
        assert t.shape == p.shape
        if name == "BCEWithLogits":
            assert ((t >= 0) & (t <= 1)).all()
    tol = 1e-5 if mdt == np.float32 else 1e-12
    np.testing.assert_allclose(value, loss_ref(name, p, t), rtol=tol, atol=tol)
    g = loss.backward()
    assert g.shape == p.shape and np.isfinite(g).all()


def test_loss_backward_after_a_rejected_call_raises():
    """A failed loss call must not leave backward() returning stale or uninitialised memory."""
    loss = losses.MSE()
    with pytest.raises(ValueError):
        loss(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises((RuntimeError, ValueError)):
        loss.backward()
    ce = losses.CrossEntropy()
    ce(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError):
        ce(np.ones((3, 2)), np.array([0, 1, 5]))  # fails at the last row, after filling the others
    with pytest.raises((RuntimeError, ValueError)):
        ce.backward()


@pytest.mark.parametrize(
    "make",
    [
        lambda: losses.CrossEntropy(label_smoothing=1.0),
        lambda: losses.CrossEntropy(label_smoothing=-0.1),
        lambda: losses.CrossEntropy(label_smoothing=float("nan")),
    ],
)
def test_loss_constructor_rejects_out_of_range(make):
    with pytest.raises(ValueError):
        make()


def test_loss_type_checks():
    with pytest.raises(TypeError):
        losses.CrossEntropy(label_smoothing="0.1")
    model = make_mlp()
    with pytest.raises(TypeError):
        model.evaluate(np.ones((2, 6)), [0, 1], loss=lambda p, t: 0.0)
    with pytest.raises(TypeError):
        model.fit(np.ones((2, 6)), [0, 1], loss="mse", optimizer=optim.SGD(model.parameters()))


# ------------------------------------------------------------------------------------------------
# 6. Optimizers
# ------------------------------------------------------------------------------------------------

OPTIMIZERS = {"SGD": optim.SGD, "Adam": optim.Adam, "AdamW": optim.AdamW, "RMSprop": optim.RMSprop}
OPT_KEYS = {
    "SGD": ["lr", "momentum", "dampening", "nesterov", "weight_decay"],
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
}
OPT_VALUES = st.one_of(
    st.floats(-1, 2, allow_nan=False),
    st.sampled_from(
        [
            0.0,
            0.5,
            0.9,
            0.999,
            1.0,
            -0.5,
            float("nan"),
            float("inf"),
            1e300,
            "0.1",
            None,
            True,
            False,
            (0.9, 0.999),
            (0.9,),
            (1.0, 0.5),
            (0.5, -0.1),
            (float("nan"), 0.9),
            [0.8, 0.9],
            1 + 0j,
        ]
    ),
)


def _valid_opt_value(key, v, dtype=np.float64):
    if key in ("nesterov", "amsgrad", "centered"):
        return isinstance(v, (bool, np.bool_))  # flags must be bools (a clear TypeError otherwise)
    if key in ("lr", "weight_decay", "eps") and isinstance(v, (int, float)) and not isinstance(v, bool):
        with np.errstate(all="ignore"):
            in_dtype = dtype(v)
        # The update runs in the parameters' dtype: lr / weight_decay must not overflow there, eps must not
        # round to 0 (an eps that overflows to inf only stops the updates, and is accepted).
        if (key != "eps" and not np.isfinite(in_dtype)) or (key == "eps" and not in_dtype > 0):
            return False
    if key == "betas":
        return isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(b, float) and 0 <= b < 1 for b in v)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        return False
    if key in ("lr", "weight_decay"):
        return v >= 0
    if key == "momentum":
        return 0 <= v < 1
    if key in ("dampening", "alpha"):
        return 0 <= v <= 1
    if key == "eps":
        return v > 0
    raise AssertionError(key)


@fuzz(250)
@given(name=st.sampled_from(sorted(OPTIMIZERS)), dtype=st.sampled_from([np.float32, np.float64]), data=st.data())
def test_optimizer_constructor_hyperparameters(name, dtype, data):
    keys = data.draw(st.lists(st.sampled_from(OPT_KEYS[name]), unique=True, max_size=3), label="keys")
    kwargs = {k: data.draw(OPT_VALUES, label=k) for k in keys}
    model = nn.Sequential([nn.Dense(3, 2, dtype=dtype), nn.BatchNorm1d(2, dtype=dtype)], seed=0)
    res = outcome(OPTIMIZERS[name], model.parameters(), **kwargs)
    defaults = {k: p.default for k, p in inspect.signature(OPTIMIZERS[name]).parameters.items() if k != "params"}
    full = dict(defaults, **kwargs)
    expect_ok = all(_valid_opt_value(k, v, dtype) for k, v in kwargs.items())
    if expect_ok and name == "SGD" and bool(full["nesterov"]):
        expect_ok = full["momentum"] > 0 and full["dampening"] == 0
    assert (res[0] == "ok") == expect_ok, (kwargs, res)
    if res[0] == "ok":
        opt = res[1]
        x = np.random.default_rng(0).standard_normal((4, 3))
        for _ in range(2):
            model.train_step(x, np.zeros((4, 2)), losses.MSE(), opt)
        moderate = all(not isinstance(v, (int, float)) or isinstance(v, bool) or abs(v) <= 2 for v in kwargs.values())
        alpha = dtype(full.get("alpha", 0.5))  # as the update sees it
        if name == "RMSprop" and ((bool(full["centered"]) and dtype(1) - alpha == 1) or alpha == 1):
            # Degenerate settings, as in torch.optim.RMSprop: with alpha ~ 0 and centered, sqrt(E[g^2] - E[g]^2)
            # of a single gradient is sqrt of rounding noise (NaN half the time); with alpha=1 the square
            # average stays 0 and every step divides the gradient by eps (inf for a tiny eps).
            moderate = False
        if moderate:
            for p in model.parameters():
                assert np.isfinite(p.data).all(), kwargs


@pytest.mark.parametrize(
    "params, exc",
    [
        (lambda m: [], ValueError),
        (lambda m: m.parameters()[0], TypeError),  # a single Parameter
        (lambda m: 3, TypeError),
        (lambda m: None, TypeError),
        (lambda m: [1, 2], TypeError),
        (lambda m: [np.zeros(3)], TypeError),
        (lambda m: [{"lr": 0.1}], ValueError),  # group without params
        (lambda m: [{"params": []}], ValueError),
        (lambda m: [{"params": m.parameters(), "bogus": 1}], ValueError),
        (lambda m: [{"params": m.parameters(), "lr": -1}], ValueError),
        (lambda m: [{"params": m.parameters()}, {"params": m.parameters()}], ValueError),  # same param twice
        (lambda m: [m.parameters()[0], {"params": m.parameters()[1:]}], TypeError),  # mixed
        (lambda m: m.parameters() + nn.Dense(2, 2, dtype=np.float64).parameters(), TypeError),  # mixed dtypes
    ],
)
def test_optimizer_params_argument(params, exc):
    model = nn.Sequential([nn.Dense(3, 2)], seed=0)
    with pytest.raises(exc):
        optim.SGD(params(model), lr=0.1)


def test_optimizer_unknown_keyword_and_wrong_dtype():
    model = nn.Sequential([nn.Dense(3, 2)], seed=0)
    with pytest.raises(TypeError):
        optim.SGD(model.parameters(), betas=(0.9, 0.99))
    opt64 = optim.SGD(nn.Dense(3, 2, dtype=np.float64).parameters())
    with pytest.raises(TypeError):
        model.train_step(np.ones((2, 3)), [0, 1], losses.CrossEntropy(), opt64)
    with pytest.raises(TypeError):
        model.train_step(np.ones((2, 3)), [0, 1], losses.CrossEntropy(), "sgd")
    with pytest.raises(TypeError):
        optim.StepLR("opt", 1)
    opt = optim.SGD(model.parameters())
    for bad in (
        lambda: optim.StepLR(opt, 0),
        lambda: optim.StepLR(opt, 1, gamma=0),
        lambda: optim.ExponentialLR(opt, gamma=-1),
        lambda: optim.ExponentialLR(opt, float("inf")),
    ):
        with pytest.raises(ValueError):
            bad()
    other = optim.SGD(model.parameters())
    with pytest.raises(ValueError):  # scheduler built on another optimizer
        model.fit(np.ones((2, 3)), [0, 1], loss=losses.CrossEntropy(), optimizer=opt, scheduler=optim.StepLR(other, 1))


def test_param_group_setter_validates_like_the_constructor():
    model = nn.Sequential([nn.Dense(3, 2)], seed=0)
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    rms = optim.RMSprop(model.parameters())
    adam = optim.Adam(model.parameters())
    for opt, key, value in [
        (sgd, "momentum", 1.5),
        (sgd, "dampening", 2.0),
        (rms, "alpha", 3.0),
        (adam, "eps", 0.0),
        (adam, "eps", 1e-320),
        (sgd, "lr", -1.0),
        (sgd, "lr", 1e300),
        (adam, "betas", (1.0, 0.9)),
        (sgd, "lr", float("nan")),
    ]:
        before = opt.param_groups[0][key]
        with pytest.raises(ValueError):
            opt.param_groups[0][key] = value
        assert opt.param_groups[0][key] == before  # a rejected value is not kept
    with pytest.raises(TypeError):
        sgd.param_groups[0]["lr"] = "0.1"
    with pytest.raises(KeyError):
        sgd.param_groups[0]["betas"] = (0.9, 0.99)  # not an SGD option
    sgd.param_groups[0]["lr"] = 0.25
    assert sgd.param_groups[0]["lr"] == 0.25


# ------------------------------------------------------------------------------------------------
# 7. load_state_dict
# ------------------------------------------------------------------------------------------------


@fuzz(150)
@given(
    arch=st.sampled_from(sorted(ARCHS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    mutation=st.sampled_from(
        [
            "drop",
            "extra",
            "reshape",
            "transpose_2d",
            "scalar",
            "complex",
            "object",
            "str",
            "nan",
            "inf",
            "int",
            "noncontiguous",
            "float16",
            "list",
            "bool",
            "none",
            "strict_false_partial",
            "empty",
        ]
    ),
    strict=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_load_state_dict(arch, dtype, mutation, strict, seed):
    make, _ = ARCHS[arch]
    rng = np.random.default_rng(seed)
    model = make(dtype, seed=1)
    before = snapshot(model)
    donor = make(dtype, seed=2)
    state = donor.state_dict()
    keys = list(state)
    key = keys[rng.integers(len(keys))]
    expect = "ok"
    if mutation == "drop":
        del state[key]
        expect = "err" if strict else "ok"
    elif mutation == "extra":
        state["99.weight"] = np.zeros(3)
        expect = "err" if strict else "ok"
    elif mutation == "reshape":
        state[key] = np.zeros(state[key].size + 1)
        expect = "err"
    elif mutation == "transpose_2d":
        v = state[key]
        if v.ndim == 2 and v.shape[0] != v.shape[1]:
            state[key], expect = v.T.copy(), "err"
        else:
            state[key] = v.reshape(v.shape + (1,))
            expect = "err"
    elif mutation == "scalar":
        state[key] = 1.0  # every entry has at least one dimension
        expect = "err"
    elif mutation == "complex":
        state[key] = state[key].astype(complex)
        expect = "err"
    elif mutation == "object":
        state[key] = state[key].astype(object)
        expect = "err"
    elif mutation == "str":
        state[key] = state[key].astype(str)
        expect = "err"
    elif mutation in ("nan", "inf"):
        v = state[key].astype(np.float64)
        v.flat[rng.integers(v.size)] = np.nan if mutation == "nan" else -np.inf
        state[key] = v
        expect = "err"
    elif mutation == "int":
        state[key] = np.round(state[key] * 4).astype(np.int16)
    elif mutation == "noncontiguous":
        state[key] = with_layout(state[key], rng.choice(["transposed", "strided", "negative", "fortran"]))
    elif mutation == "float16":
        state[key] = state[key].astype(np.float16)
    elif mutation == "list":
        state[key] = state[key].tolist()
    elif mutation == "bool":
        state[key] = state[key] > 0
    elif mutation == "none":
        state[key] = None
        expect = "err"
    elif mutation == "strict_false_partial":
        state = {key: state[key]}
        expect = "err" if strict else "ok"
    elif mutation == "empty":
        state = {}
        expect = "err" if strict else "ok"
    res = outcome(model.load_state_dict, state, strict=strict)
    assert res[0] == expect, (mutation, key, res)
    if res[0] == "err":
        assert_state_equal(model, before)  # all-or-nothing
        return
    now = model.state_dict()
    for k in now:
        if k in state:
            np.testing.assert_array_equal(now[k], np.asarray(state[k]).astype(dtype), err_msg=k)
        else:
            np.testing.assert_array_equal(now[k], before[k], err_msg=k)


# ------------------------------------------------------------------------------------------------
# 8. Module-level functions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, exc",
    [(0, ValueError), (-1, ValueError), (2.0, TypeError), ("2", TypeError), (None, TypeError), (True, TypeError)],
)
def test_set_num_threads_rejects(value, exc):
    before = bionn.get_num_threads()
    with pytest.raises(exc):
        bionn.set_num_threads(value)
    assert bionn.get_num_threads() == before


@pytest.mark.parametrize(
    "value, exc",
    [
        (-1, ValueError),
        (1.5, TypeError),
        ("3", TypeError),
        (None, TypeError),
        (2**64, (TypeError, ValueError, OverflowError)),
    ],
)
def test_manual_seed_rejects(value, exc):
    with pytest.raises(exc):
        bionn.manual_seed(value)


# ------------------------------------------------------------------------------------------------
# 9. Sequential.forward / backward, and optimizer options switched on after construction
#    (both used to crash the interpreter: GIL-less result allocation and a dangling forward input;
#    state slots sized at construction)
# ------------------------------------------------------------------------------------------------


def _drop_first(dtype=np.float32, seed=0):
    return nn.Sequential([nn.Dropout(0.5, dtype=dtype), nn.Dense(6, 3, dtype=dtype)], seed=seed)


FB_ARCHS = {"mlp": (make_mlp, (6,)), "cnn": (make_cnn, (2, 4, 4)), "dropout_first": (_drop_first, (6,))}


@fuzz(60)
@given(
    arch=st.sampled_from(sorted(FB_ARCHS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    n=st.integers(1, 5),
    layout=st.sampled_from(LAYOUTS),
    seed=st.integers(0, 2**32 - 1),
)
def test_sequential_forward_then_backward(arch, dtype, n, layout, seed):
    make, sample = FB_ARCHS[arch]
    rng = np.random.default_rng(seed)
    model = make(dtype, seed=1)
    x = rng.standard_normal((n,) + sample)
    out = model.forward(with_layout(x, layout), training=False)
    assert out.shape == (n, 3) and out.dtype == dtype
    np.testing.assert_array_equal(out, model.predict(x))
    junk = [np.full((n,) + sample, 7.0) for _ in range(20)]  # noqa: F841 - unrelated allocations in between
    g = rng.standard_normal(out.shape)
    model.zero_grad()
    dx = model.backward(with_layout(g, layout if layout != "list" else "contiguous"))
    assert dx.shape == x.shape and dx.dtype == dtype
    grads = [p.grad.copy() for p in model.parameters()]
    # MSE with y = out - g * size / 2 has dLoss/dout = g: input_gradient must agree.
    y = out.astype(np.float64) - g * out.size / 2
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dx, model.input_gradient(x, y, losses.MSE()), **tol)
    # and the parameter gradients are those of the layer-by-layer chain
    h = np.asarray(x, dtype)
    for layer in model:
        h = layer.forward(h, training=False)
        layer.zero_grad()
    gg = g
    for layer in reversed(list(model)):
        gg = layer.backward(gg)
    np.testing.assert_allclose(dx, gg, **tol)
    for a, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(a, p.grad, **tol)


@pytest.mark.parametrize(
    "make, key, value",
    [
        (lambda ps: optim.SGD(ps, lr=0.1), "momentum", 0.9),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "momentum", 0.0),
        (lambda ps: optim.Adam(ps), "amsgrad", True),
        (lambda ps: optim.RMSprop(ps, momentum=0.5), "momentum", 0.0),
        (lambda ps: optim.RMSprop(ps), "momentum", 0.5),
        (lambda ps: optim.RMSprop(ps), "centered", True),
    ],
)
def test_optimizer_option_switched_after_construction(make, key, value):
    """Either rejected, or the optimizer behaves exactly as if built with that option."""
    x, y = np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 1, 0, 1])
    a = nn.Sequential([nn.Dense(3, 2)], seed=0)
    b = nn.Sequential([nn.Dense(3, 2)], seed=0)
    oa = make(a.parameters())
    try:
        oa.param_groups[0][key] = value
    except OK:
        return
    ob = make(b.parameters())
    ob.param_groups[0][key] = value  # same options, but switched before the first step
    ref_cls = type(ob)
    kwargs = {k: ob.param_groups[0][k] for k in ob.param_groups[0] if k != "params"}
    c = nn.Sequential([nn.Dense(3, 2)], seed=0)
    oc = ref_cls(c.parameters(), **kwargs)  # built with the option from the start
    for _ in range(3):
        for m, o in ((a, oa), (c, oc)):
            m.train_step(x, y, losses.CrossEntropy(), o)
    assert all(np.isfinite(p.data).all() for p in a.parameters())
    for pa, pc in zip(a.parameters(), c.parameters()):
        np.testing.assert_array_equal(pa.data, pc.data)


def test_sequential_backward_bad_gradients_in_process():
    """Bad gradients are rejected before the C++ code touches the forward input."""
    model = make_mlp()
    model.forward(np.ones((3, 6)), training=False)
    for g in [
        np.ones((3, 4)),
        np.ones((2, 3)),
        np.ones((3,)),
        np.ones((3, 3, 1)),
        np.full((3, 3), np.nan),
        np.ones((3, 3), complex),
        None,
        "g",
        np.ones((3, 3, 1, 1, 1)),
        np.ones((0, 3)),
    ]:
        with pytest.raises(OK):
            model.backward(g)
    assert model.backward(np.ones((3, 3))).shape == (3, 6)


# ------------------------------------------------------------------------------------------------
# 10. Element-wise layers are position independent
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "Tanh", "Softplus", "Sigmoid"])
def test_elementwise_layers_are_position_independent(name, dtype):
    """An element's output (and input gradient) depends on its value only, not on where it sits:
    a constant input gives a constant output, and rotating the input rotates the output."""
    make = _act(name)[0]
    for v in np.linspace(-5, 5, 81):
        x = np.full((67, 3), v, dtype)  # 201 elements: never a whole number of SIMD packets
        layer = make(dtype)
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
        assert len(np.unique(out)) == 1, (v, np.unique(out))
        assert len(np.unique(dx)) == 1, (v, np.unique(dx))
    rng = np.random.default_rng(0)
    for _ in range(10):
        x = (rng.standard_normal(201) * 4).astype(dtype)
        layer = make(dtype)
        out = layer.forward(x.reshape(67, 3)).ravel()
        dx = layer.backward(np.ones((67, 3))).ravel()
        for shift in (1, 5, 9, 16, 100):
            out_s = np.roll(layer.forward(np.roll(x, shift).reshape(67, 3)).ravel(), -shift)
            dx_s = np.roll(layer.backward(np.ones((67, 3))).ravel(), -shift)
            np.testing.assert_array_equal(out, out_s)
            np.testing.assert_array_equal(dx, dx_s)
