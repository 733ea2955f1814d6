"""Amplifying/attenuating neurons (bionn.amplifying): float64 gradient checks (incl. large |x| and b
edge cases), PyTorch parity (forward and backward), neuron placement, argument validation,
save/load, and batch-size-1 training in the C++ loop."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import losses, nn, optim
from bionn.nn.amplifying import ParametricSoftplus, SecondaryActivation, amplifying_dense, amplifying_mlp
from gradcheck import check_layer, rng

F64 = np.float64


def psoftplus(x, a=0.3):
    return a * x + (1 - a) * np.logaddexp(0.0, x)


def test_reexported_from_nn():
    assert nn.ParametricSoftplus is ParametricSoftplus and nn.SecondaryActivation is SecondaryActivation
    assert nn.amplifying_dense is amplifying_dense and nn.amplifying_mlp is amplifying_mlp


# ------------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.3, 0.0, 1.0, 0.7])
def test_parametric_softplus_matches_eq5(a):
    x = np.array([[-50.0, -3.0, -0.2, 0.0, 0.4, 5.0, 50.0]])
    np.testing.assert_allclose(ParametricSoftplus(a, dtype=F64)(x), psoftplus(x, a), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parametric_softplus_is_finite_for_huge_inputs(dtype):
    big = 1e30 if dtype == np.float32 else 1e300
    layer = ParametricSoftplus(dtype=dtype)
    x = np.array([[-big, -500.0, 500.0, big]], dtype=dtype)
    y = layer.forward(x, training=True)
    g = layer.backward(np.ones_like(x))
    assert np.isfinite(y).all() and np.isfinite(g).all()
    np.testing.assert_allclose(y, [[0.3 * -big, -150.0, 500.0, big]], rtol=1e-6)
    np.testing.assert_allclose(g, [[0.3, 0.3, 1.0, 1.0]], rtol=1e-6)


def test_secondary_activation_values_per_neuron():
    b = 2.0
    layer = SecondaryActivation(5, amplifying=[0, 3], attenuating=[4], b=b, dtype=F64)
    x = rng(1).standard_normal((6, 5))
    h = psoftplus(x)
    want = h.copy()
    want[:, [0, 3]] = h[:, [0, 3]] ** 2  # Eq. 3
    want[:, 4] = h[:, 4] / (h[:, 4] ** 2 + b)  # Eq. 4
    np.testing.assert_allclose(layer(x), want, rtol=1e-13)


def test_counts_take_the_last_neurons_like_the_authors_code():
    layer = SecondaryActivation(10, amplifying=4, attenuating=1)
    assert layer.amplifying == (6, 7, 8, 9) and layer.attenuating == (5,)
    np.testing.assert_array_equal(layer.kinds(), [0, 0, 0, 0, 0, 2, 1, 1, 1, 1])
    mixed = SecondaryActivation(6, amplifying=[5], attenuating=2)  # a count fills around explicit indices
    assert mixed.amplifying == (5,) and mixed.attenuating == (3, 4)
    assert SecondaryActivation(3).kinds().tolist() == [0, 0, 0]


def test_attenuating_output_is_bounded_and_finite_for_any_input():
    for b in (1.0, 1e-8, 1e8):
        layer = SecondaryActivation(4, attenuating=4, activation="identity", b=b, dtype=F64)
        x = np.array([[0.0, 1e200, -1e300, np.finfo(F64).max]])
        y = layer.forward(x, training=True)
        g = layer.backward(np.ones_like(x))
        assert np.isfinite(y).all() and np.isfinite(g).all()
        assert np.abs(y).max() <= 0.5 / np.sqrt(b) * (1 + 1e-12)
        assert g[0, 0] == pytest.approx(1.0 / b)


# ------------------------------------------------------------------------------------------------
# gradient checks (float64)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.3, 0.0, 0.9])
def test_parametric_softplus_gradcheck(a):
    layer = ParametricSoftplus(a, dtype=F64)
    check_layer(layer, rng(2).uniform(-6, 6, (5, 4)))
    check_layer(layer, np.array([[-60.0, -35.0, 35.0, 60.0]]))  # large |x|


@pytest.mark.parametrize("activation", ["parametric_softplus", "identity", "softplus", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("b", [1.0, 0.05, 20.0])
def test_secondary_activation_gradcheck(activation, b):
    layer = SecondaryActivation(6, amplifying=[0, 5], attenuating=[2, 3], activation=activation, b=b, dtype=F64)
    x = rng(3).uniform(0.05, 4.0, (7, 6)) * rng(4).choice([-1.0, 1.0], (7, 6))  # away from ReLU's kink
    check_layer(layer, x)


def test_secondary_activation_gradcheck_large_inputs_and_extreme_b():
    att = SecondaryActivation(4, attenuating=[0, 1, 2, 3], activation="identity", dtype=F64)
    check_layer(att, np.array([[1e3, 3.0, -50.0, 0.2], [-1e3, -3.0, 50.0, -0.7]]), eps=1e-4, rtol=1e-5, atol=1e-14)
    check_layer(att, np.array([[1e6, -1e6, 2e5, -4e5]]), eps=1.0, rtol=1e-5, atol=1e-20)
    amp = SecondaryActivation(1, amplifying=1, activation="identity", dtype=F64)
    check_layer(amp, np.array([[1e3]]), eps=1e-2, rtol=1e-6)
    check_layer(amp, np.array([[-1e6]]), eps=1.0, rtol=1e-6)
    sat = SecondaryActivation(3, amplifying=[0], attenuating=[1], dtype=F64)  # softplus saturated
    check_layer(sat, np.array([[40.0, 40.0, -40.0], [-40.0, -40.0, 40.0]]))
    for b in (1e-6, 1e6):
        s = np.sqrt(b)
        layer = SecondaryActivation(3, attenuating=3, activation="identity", b=b, dtype=F64)
        check_layer(layer, np.array([[0.3 * s, -2.0 * s, 7.0 * s]]), eps=1e-4 * s, rtol=1e-5, atol=1e-10 / b)


def test_network5_gradcheck_through_dense_layers():
    model = amplifying_mlp(1, 1, width=10, depth=5, amplifying=4, attenuating=1, seed=3, dtype=F64)
    x = rng(5).uniform(0, 2 * np.pi, (4, 1))
    w = rng(6).standard_normal((4, 1))

    def loss():
        return float((model.forward(x, training=True) * w).sum())

    model.zero_grad()
    model.forward(x, training=True)
    gx = model.backward(w)
    from gradcheck import assert_close, numerical_gradient

    xs = x.copy()
    num = numerical_gradient(lambda: float((model.forward(xs, training=True) * w).sum()), xs)
    assert_close(gx, num, "Network 5 d/dx")
    p = model.parameters()[0]
    assert_close(p.grad.copy(), numerical_gradient(loss, p.data), "Network 5 d/dW1")


# ------------------------------------------------------------------------------------------------
# PyTorch parity
# ------------------------------------------------------------------------------------------------


def torch_secondary(torch, x, amp, att, a=0.3, b=1.0):
    h = a * x + (1 - a) * torch.nn.functional.softplus(x, beta=1.0, threshold=50.0)
    cols = []
    for j in range(x.shape[1]):
        c = h[:, j]
        if j in amp:
            c = c * c
        elif j in att:
            c = c / (c * c + b)
        cols.append(c)
    return torch.stack(cols, dim=1)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_torch_parity_secondary_activation(dtype, tol):
    torch = pytest.importorskip("torch")
    amp, att = [6, 7, 8, 9], [5]
    layer = SecondaryActivation(10, amplifying=amp, attenuating=att, b=1.5, dtype=dtype)
    x = (rng(7).standard_normal((16, 10)) * 3).astype(dtype)
    g = rng(8).standard_normal((16, 10)).astype(dtype)
    y = layer.forward(x, training=True)
    gx = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_secondary(torch, tx, amp, att, b=1.5)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)


def test_torch_parity_parametric_softplus_and_network5_step():
    torch = pytest.importorskip("torch")
    x = rng(9).uniform(0, 2 * np.pi, (8, 1))
    y = np.sin(3 * x)
    model = amplifying_mlp(1, 1, width=10, depth=5, amplifying=4, attenuating=1, seed=1, dtype=F64)
    dense = [l for l in model.layers if isinstance(l, nn.Dense)]
    tw = [
        (
            torch.tensor(d.parameters()[0].data.copy(), requires_grad=True),
            torch.tensor(d.parameters()[1].data.copy(), requires_grad=True),
        )
        for d in dense
    ]
    h = torch.tensor(x)
    for i, (w, b) in enumerate(tw):
        h = h @ w.T + b
        if i < len(tw) - 1:
            h = torch_secondary(torch, h, [6, 7, 8, 9], [5])
    loss_t = ((h - torch.tensor(y)) ** 2).mean()
    loss_t.backward()
    loss = losses.MSE()
    model.zero_grad()
    out = model.forward(x, training=True)
    value = loss(out, y)
    model.backward(loss.backward())
    assert value == pytest.approx(float(loss_t.detach()), rel=1e-12)
    for d, (w, b) in zip(dense, tw):
        np.testing.assert_allclose(d.parameters()[0].grad, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(d.parameters()[1].grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    # ParametricSoftplus on its own against torch autograd.
    xs = rng(10).uniform(-30, 30, (5, 7))
    layer = ParametricSoftplus(0.3, dtype=F64)
    tx = torch.tensor(xs, requires_grad=True)
    ty = 0.3 * tx + 0.7 * torch.nn.functional.softplus(tx, threshold=50.0)
    ty.sum().backward()
    np.testing.assert_allclose(layer.forward(xs, training=True), ty.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(layer.backward(np.ones_like(xs)), tx.grad.numpy(), rtol=1e-13)


# ------------------------------------------------------------------------------------------------
# bad arguments
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(features=10, amplifying=8, attenuating=3), ValueError, "exceed the layer width"),
        (dict(features=4, amplifying=5), ValueError, "exceed the layer width"),
        (dict(features=4, amplifying=-1), ValueError, "amplifying must be >= 0"),
        (dict(features=4, amplifying=[4]), ValueError, r"amplifying index 4 is outside \[0, 4\)"),
        (dict(features=4, attenuating=[-1]), ValueError, "attenuating index -1"),
        (dict(features=4, amplifying=[1, 1]), ValueError, "lists a neuron twice"),
        (dict(features=4, amplifying=[1], attenuating=[1]), ValueError, "both amplifying and attenuating"),
        (dict(features=4, amplifying=[0.5]), TypeError, "integers"),
        (dict(features=4, amplifying="2"), TypeError, "count"),
        (dict(features=4, amplifying=True), TypeError, "count"),
        (dict(features=4, attenuating=1, b=0.0), ValueError, "b must be > 0"),
        (dict(features=4, attenuating=1, b=-1.0), ValueError, "b must be > 0"),
        (dict(features=4, attenuating=1, b=float("nan")), ValueError, "b must be finite"),
        (dict(features=4, attenuating=1, b=1e-60), ValueError, "representable in float32"),
        (dict(features=4, activation="swish"), ValueError, "activation must be one of"),
        (dict(features=4, a=float("inf")), ValueError, "a must be finite"),
        (dict(features=0), ValueError, "features must be >= 1"),
        (dict(features=2.5), TypeError, "features must be an integer"),
    ],
)
def test_secondary_activation_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SecondaryActivation(**kwargs)


def test_parametric_softplus_and_builders_reject_bad_arguments():
    with pytest.raises(ValueError, match="a must be finite"):
        ParametricSoftplus(float("nan"))
    with pytest.raises(TypeError, match="a must be a real number"):
        ParametricSoftplus("0.3")
    with pytest.raises(ValueError, match="exceed the layer width"):
        amplifying_dense(3, 10, amplifying=10, attenuating=1)
    with pytest.raises(ValueError, match="only depth=5 hidden layers"):
        amplifying_mlp(1, 1, depth=5, amplifying=1, special_layers=[6])
    with pytest.raises(ValueError, match="special_layers"):
        amplifying_mlp(1, 1, depth=5, amplifying=1, special_layers=[0])
    with pytest.raises(TypeError, match="special_layers"):
        amplifying_mlp(1, 1, special_layers="12")


def test_forward_rejects_bad_inputs():
    layer = SecondaryActivation(4, amplifying=1)
    with pytest.raises(ValueError, match="expected 4"):
        layer(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer(np.array([[0.0, np.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="empty"):
        layer(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="2 dimensions"):
        layer(np.zeros((3, 4, 1)))
    with pytest.raises(TypeError, match="real numbers"):
        layer(np.array([["a"] * 4]))
    # Any real dtype is accepted and converted once.
    assert layer(np.ones((2, 4), dtype=np.int64)).dtype == np.float32


# ------------------------------------------------------------------------------------------------
# models: builders, save/load, batch-size-1 training
# ------------------------------------------------------------------------------------------------


def test_builders_make_the_papers_networks():
    layers = amplifying_dense(10, 10, amplifying=4, attenuating=1)
    assert isinstance(layers[0], nn.Dense) and isinstance(layers[1], SecondaryActivation)
    net10 = amplifying_mlp(2, 1, depth=6, amplifying=3, attenuating=1, special_layers=range(2, 6), seed=0)
    acts = [l for l in net10.layers if isinstance(l, SecondaryActivation)]
    assert len(acts) == 6 and isinstance(net10.layers[-1], nn.Dense)
    assert [len(a.amplifying) for a in acts] == [0, 3, 3, 3, 3, 0]
    assert [len(a.attenuating) for a in acts] == [0, 1, 1, 1, 1, 0]
    assert net10.forward(np.zeros((3, 2))).shape == (3, 1)


def test_save_load_round_trip(tmp_path):
    model = nn.Sequential(
        [
            *amplifying_dense(2, 6, amplifying=[0, 2], attenuating=1, b=0.5, activation="tanh"),
            nn.Dense(6, 4),
            ParametricSoftplus(0.2),
            nn.Dense(4, 1),
        ],
        seed=4,
    )
    path = tmp_path / "amp.npz"
    model.save(path)
    loaded = nn.load(path)
    assert loaded.config() == model.config()
    assert loaded.layers[1].amplifying == (0, 2) and loaded.layers[1].attenuating == (5,)
    assert loaded.layers[1].b == 0.5 and loaded.layers[3].a == pytest.approx(0.2)
    x = rng(11).standard_normal((5, 2))
    np.testing.assert_array_equal(loaded.forward(x, training=False), model.forward(x, training=False))


def test_batch_size_one_training_is_reproducible_and_learns():
    x = np.linspace(0, 2 * np.pi, 64)[:, None]
    y = np.sin(x) + 0.3 * np.sin(3 * x)
    results = []
    for _ in range(2):
        model = amplifying_mlp(1, 1, width=10, depth=3, amplifying=4, attenuating=1, seed=7)
        before = model.evaluate(x, y, losses.MSE())["loss"]
        opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        hist = model.fit(x, y, loss=losses.MSE(), optimizer=opt, epochs=30, batch_size=1)
        results.append((before, hist["loss"][-1], model.predict(x)))
    assert results[0][1] < 0.2 * results[0][0]
    np.testing.assert_array_equal(results[0][2], results[1][2])  # one seed fixes init and shuffling


def test_linear_neurons_and_switching_the_special_neurons_on():
    act = SecondaryActivation(5, amplifying=2, attenuating=1, linear=[0], secondary_enabled=False, dtype=np.float64)
    assert act.linear == (0,) and act.amplifying == (3, 4) and act.attenuating == (2,)  # counts skip linear ones
    assert list(act.kinds()) == [3, 0, 2, 1, 1] and act.secondary_enabled is False
    x = np.array([[-1.5, 0.4, 2.0, -0.3, 1.1]])
    h = 0.3 * x + 0.7 * np.log1p(np.exp(x))
    off = act.forward(x)
    np.testing.assert_allclose(off[0, 1:], h[0, 1:], rtol=1e-12)
    assert off[0, 0] == -1.5  # the linear neuron passes its input through
    act.secondary_enabled = True
    on = act.forward(x)
    np.testing.assert_allclose(on[0, 3:], h[0, 3:] ** 2, rtol=1e-12)
    np.testing.assert_allclose(on[0, 2], h[0, 2] / (h[0, 2] ** 2 + 1), rtol=1e-12)
    assert act._config["secondary_enabled"] is True  # saved with the model
    with pytest.raises(ValueError, match="both amplifying and linear"):
        SecondaryActivation(4, amplifying=[0], linear=[0])
    with pytest.raises(ValueError, match="exceed"):
        SecondaryActivation(4, amplifying=3, attenuating=1, linear=[0])
    with pytest.raises(TypeError, match="secondary_enabled"):
        act.secondary_enabled = 1


def test_fit_samples_with_replacement_on_request():
    model = nn.Sequential([nn.Dense(1, 1, dtype=np.float64)], seed=0)
    X, y = np.linspace(0, 1, 8)[:, None], np.linspace(1, 2, 8)[:, None]
    runs = []
    for shuffle in ("replacement", "replacement", True):
        m = nn.Sequential([nn.Dense(1, 1, dtype=np.float64)], seed=0)
        m.fit(
            X,
            y,
            loss=losses.MSE(),
            optimizer=optim.SGD(m.parameters(), lr=0.1),
            epochs=2,
            batch_size=1,
            shuffle=shuffle,
        )
        runs.append(m.parameters()[0].data.copy())
    np.testing.assert_array_equal(runs[0], runs[1])  # the seed fixes the draws
    assert not np.array_equal(runs[0], runs[2])  # other samples than a permutation's
    with pytest.raises(ValueError, match="shuffle must be"):
        model.fit(X, y, loss=losses.MSE(), optimizer=optim.SGD(model.parameters(), lr=0.1), shuffle="bootstrap")
