"""Focusing layers (bionn.focus): float64 gradient checks, PyTorch parity against a reference
written here (autograd through Eq. 6-7), argument validation, save/load, to_dense, pruning and a
training sanity check (foci move towards the informative inputs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bionn
from bionn import losses, nn, optim
from bionn.nn.focus import FocusDense, FocusDense2D
from gradcheck import check_layer, rng

F64 = np.float64
F32 = np.float32


def test_reexported_from_nn():
    assert nn.FocusDense is FocusDense and nn.FocusDense2D is FocusDense2D


# ------------------------------------------------------------------------------------------------
# Gradient checks (float64)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalization", ["l2", "sum", "none"])
@pytest.mark.parametrize("mu_init", ["spread", "center", "array"])
@pytest.mark.parametrize("init", ["focus", "he_uniform"])
def test_focus_dense_gradcheck(normalization, mu_init, init):
    bionn.manual_seed(1)
    mu = [0.1, 0.5, 0.95] if mu_init == "array" else mu_init
    layer = FocusDense(7, 3, init=init, normalization=normalization, mu_init=mu, sigma_init=0.2, dtype=F64)
    layer.sigma[...] = [0.15, 0.25, 0.4]
    check_layer(layer, rng(2).standard_normal((5, 7)))


@pytest.mark.parametrize("normalization", ["l2", "sum"])
@pytest.mark.parametrize("anisotropic", [False, True])
def test_focus_dense_2d_gradcheck(normalization, anisotropic):
    bionn.manual_seed(2)
    layer = FocusDense2D(
        3,
        4,
        3,
        normalization=normalization,
        anisotropic=anisotropic,
        sigma_init=0.3,
        mu_init=[[0.2, 0.7], [0.8, 0.3], [0.5, 0.5]],
        dtype=F64,
    )
    check_layer(layer, rng(3).standard_normal((4, 12)))
    check_layer(layer, rng(4).standard_normal((2, 1, 3, 4)))


def test_gradcheck_without_bias_and_pruned():
    bionn.manual_seed(3)
    layer = FocusDense(9, 3, bias=False, sigma_init=0.15, dtype=F64)
    assert 0 < layer.prune(0.05) < 1
    check_layer(layer, rng(5).standard_normal((4, 9)))


def test_fixed_focus_computes_no_focus_gradients():
    layer = FocusDense(6, 2, trainable_focus=False, dtype=F64)
    mu, sigma = layer.parameters()[2:]
    assert not mu.trainable and not sigma.trainable
    layer.forward(rng(6).standard_normal((3, 6)), training=True)
    layer.backward(np.ones((3, 2)))
    assert not mu.grad.any() and not sigma.grad.any()


def test_sigma_penalty_gradient():
    kw = dict(sigma_init=0.2, dtype=F64)
    bionn.manual_seed(4)
    plain = FocusDense(6, 3, **kw)
    bionn.manual_seed(4)
    pen = FocusDense(6, 3, sigma_l1=0.3, sigma_l2=0.5, **kw)
    x, g = rng(7).standard_normal((4, 6)), rng(8).standard_normal((4, 3))
    for layer in (plain, pen):
        layer.forward(x, training=True)
        layer.backward(g)
    np.testing.assert_allclose(pen.parameters()[3].grad - plain.parameters()[3].grad, 0.3 + 2 * 0.5 * 0.2, rtol=1e-12)
    assert pen.penalty() == pytest.approx(3 * (0.3 * 0.2 + 0.5 * 0.04))
    assert plain.penalty() == 0.0


# ------------------------------------------------------------------------------------------------
# PyTorch parity (float32): a reference written from the paper, autograd for the gradients.
# ------------------------------------------------------------------------------------------------


def torch_focus_2d_positions(torch, h, w, dtype):
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h, dtype=dtype), torch.linspace(0, 1, w, dtype=dtype), indexing="ij")
    return xs.reshape(-1), ys.reshape(-1)


def torch_focus_forward(torch, x, weight, bias, mu, sigma, normalization="l2", positions=None):
    """y = x (Phi ∘ W)^T + b with Phi from Eq. 6 and the normaliser of Eq. 7 / Algorithm 2.

    1-D: mu, sigma are (n,) tensors. 2-D: positions = (px, py), mu = (mu_x, mu_y) and sigma =
    (sigma_x, sigma_y) tuples of (n,) tensors."""
    m = weight.shape[1]
    if positions is None:
        tau = torch.linspace(0, 1, m, dtype=weight.dtype)
        z = (tau[None, :] - mu[:, None]) ** 2 / (2 * sigma[:, None] ** 2)
    else:
        px, py = positions
        z = (px[None, :] - mu[0][:, None]) ** 2 / (2 * sigma[0][:, None] ** 2) + (py[None, :] - mu[1][:, None]) ** 2 / (
            2 * sigma[1][:, None] ** 2
        )
    e = torch.exp(-z)
    if normalization == "l2":
        phi = e * math.sqrt(m) / torch.linalg.vector_norm(e, dim=1, keepdim=True)
    elif normalization == "sum":
        phi = e * math.sqrt(m) / e.sum(dim=1, keepdim=True)
    else:
        phi = e
    out = x @ (phi * weight).T
    return out + bias if bias is not None else out


def _compare(name, ours, ref, tol=1e-5):
    ref = ref.detach().numpy().astype(np.float64)
    ours = np.asarray(ours, dtype=np.float64)
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * scale, err_msg=name)


def _check_parity_1d(torch, layer, x, g, normalization):
    """Forward and backward of a FocusDense against torch_focus_forward with autograd."""
    out = layer.forward(x, training=True)
    layer.zero_grad()
    dx = layer.backward(g)
    tp = {p.name: torch.tensor(p.data.copy(), requires_grad=True) for p in layer.parameters()}
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_focus_forward(torch, tx, tp["weight"], tp["bias"], tp["mu"], tp["sigma"], normalization)
    ty.backward(torch.tensor(g))
    _compare("output", out, ty)
    _compare("d/dx", dx, tx.grad)
    for p in layer.parameters():
        _compare(f"d/d{p.name}", p.grad, tp[p.name].grad)


def _check_parity_2d(torch, layer, x, g, anisotropic):
    """Forward and backward of a FocusDense2D ((N, 1, H, W) input) against torch_focus_forward."""
    n, _, h, w = x.shape
    out = layer.forward(x, training=True)
    layer.zero_grad()
    dx = layer.backward(g)
    tp = {p.name: torch.tensor(p.data.copy(), requires_grad=True) for p in layer.parameters()}
    tx = torch.tensor(x.reshape(n, h * w), requires_grad=True)
    sig = (tp["sigma_x"], tp["sigma_y"]) if anisotropic else (tp["sigma"], tp["sigma"])
    ty = torch_focus_forward(
        torch,
        tx,
        tp["weight"],
        tp["bias"],
        (tp["mu_x"], tp["mu_y"]),
        sig,
        "l2",
        positions=torch_focus_2d_positions(torch, h, w, torch.float32),
    )
    ty.backward(torch.tensor(g))
    _compare("output", out, ty)
    assert dx.shape == x.shape
    _compare("d/dx", dx.reshape(n, h * w), tx.grad)
    for p in layer.parameters():
        _compare(f"d/d{p.name}", p.grad, tp[p.name].grad)


@pytest.mark.parametrize("normalization", ["l2", "sum"])
@pytest.mark.parametrize("m, n, batch, sigma_range", [(64, 16, 8, (0.03, 0.3)), (784, 96, 32, (0.01, 0.1))])
def test_torch_parity_1d(normalization, m, n, batch, sigma_range):
    # The second size runs the multi-threaded path with narrow foci (most coefficients underflow).
    torch = pytest.importorskip("torch")
    bionn.manual_seed(5)
    layer = FocusDense(m, n, normalization=normalization, sigma_init=0.08, mu_init="center", dtype=F32)
    r = rng(9)
    layer.parameters()[2].data[...] = r.uniform(0.0, 1.0, n)
    layer.parameters()[3].data[...] = r.uniform(*sigma_range, n)
    _check_parity_1d(
        torch,
        layer,
        r.standard_normal((batch, m)).astype(F32),
        r.standard_normal((batch, n)).astype(F32),
        normalization,
    )


@pytest.mark.parametrize("normalization", ["l2", "sum", "none"])
def test_torch_parity_windowed_blocks(normalization):
    # Sorted, narrow foci (the paper's spread init, sigma 0.01-0.03) over 784 inputs and 300 neurons:
    # the products run block by block over the foci's windows, multi-threaded at batch 128.
    torch = pytest.importorskip("torch")
    bionn.manual_seed(7)
    layer = FocusDense(784, 300, normalization=normalization, sigma_init=0.025, dtype=F32)
    r = rng(11)
    layer.parameters()[3].data[...] = r.uniform(0.01, 0.03, 300)
    _check_parity_1d(
        torch,
        layer,
        r.standard_normal((128, 784)).astype(F32),
        r.standard_normal((128, 300)).astype(F32),
        normalization,
    )


def test_torch_parity_2d_narrow_grid():
    # 28 x 28 grid, 100 neurons on a spread grid of centres with narrow apertures: each focus
    # covers a few grid rows (its window), the columns outside its x range are exactly zero.
    torch = pytest.importorskip("torch")
    bionn.manual_seed(8)
    layer = FocusDense2D(28, 28, 100, sigma_init=0.03, anisotropic=True, dtype=F32)
    r = rng(12)
    for p in layer.parameters():
        if p.tag == "sigma":
            p.data[...] = r.uniform(0.02, 0.06, 100)
    _check_parity_2d(
        torch,
        layer,
        r.standard_normal((64, 1, 28, 28)).astype(F32),
        r.standard_normal((64, 100)).astype(F32),
        anisotropic=True,
    )
    assert (layer.focus() == 0).mean() > 0.5  # the windows really cut most of the grid


@pytest.mark.parametrize("anisotropic", [False, True])
def test_torch_parity_2d(anisotropic):
    torch = pytest.importorskip("torch")
    bionn.manual_seed(6)
    layer = FocusDense2D(6, 5, 7, sigma_init=0.15, anisotropic=anisotropic, dtype=F32)
    r = rng(10)
    for p in layer.parameters():
        if p.tag == "mu":
            p.data[...] = r.uniform(0.1, 0.9, 7)
        elif p.tag == "sigma":
            p.data[...] = r.uniform(0.1, 0.4, 7)
    _check_parity_2d(
        torch, layer, r.standard_normal((4, 1, 6, 5)).astype(F32), r.standard_normal((4, 7)).astype(F32), anisotropic
    )


# ------------------------------------------------------------------------------------------------
# Focus values and initialisation
# ------------------------------------------------------------------------------------------------


def test_focus_norms_and_init():
    layer = FocusDense(50, 6, sigma_init=0.05, dtype=F64)
    phi = layer.focus()
    assert phi.shape == (6, 50)
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), math.sqrt(50), rtol=1e-12)
    np.testing.assert_allclose(layer.mu, np.linspace(0.2, 0.8, 6))
    np.testing.assert_allclose(layer.sigma, 0.05)
    # Eq. 10: |w| <= sqrt(6) / ||phi_j|| = sqrt(6 / m) under Eq. 7; zero bias.
    assert np.abs(layer.parameters()[0].data).max() <= math.sqrt(6 / 50)
    assert not layer.parameters()[1].data.any()
    s = FocusDense(50, 6, normalization="sum", dtype=F64)
    np.testing.assert_allclose(s.focus().sum(axis=1), math.sqrt(50), rtol=1e-12)
    c = FocusDense(10, 30, mu_init="center")
    assert np.all(np.abs(c.mu - 0.5) <= 0.025 + 1e-7)
    assert c.parameters()[2].clamp == (0.0, 1.0) and c.parameters()[3].clamp == pytest.approx((0.01, 1.0))
    b = FocusDense(10, 3, mu_bounds=(0.1, 0.9), sigma_bounds=(0.05, 0.5), sigma_init=0.1)
    assert b.parameters()[2].clamp == pytest.approx((0.1, 0.9))
    assert b.parameters()[3].clamp == pytest.approx((0.05, 0.5))
    two = FocusDense2D(4, 5, 6)
    assert two.focus().shape == (6, 4, 5)
    assert two.mu.shape == (6, 2)


@pytest.mark.parametrize("cls, shape", [(FocusDense, (400,)), (FocusDense2D, (20, 20))])
def test_focus_glorot_init_bounds_and_spread(cls, shape):
    """``init="focus_glorot"`` (the authors' code): W_ji ~ U(+-sqrt(6 / (fan_in_j + fan_out_i))) with
    the fans summed over the squared initial focus; Eq. 10 differs (one bound per neuron)."""
    out = 300
    bionn.manual_seed(3)
    layer = cls(*shape, out, init="focus_glorot", sigma_init=0.05, dtype=F64)
    phi = layer.focus().reshape(out, -1)
    m = phi.shape[1]
    fan_in = (phi**2).sum(axis=1)  # = m under Eq. 7
    fan_out = (phi**2).sum(axis=0)
    np.testing.assert_allclose(fan_in, m, rtol=1e-12)
    bound = np.sqrt(6.0 / (fan_in[:, None] + fan_out[None, :]))
    w = layer.parameters()[0].data.reshape(out, m)
    u = w / bound  # U(-1, 1) element-wise if the bounds are the formula's
    assert np.abs(u).max() <= 1.0
    assert np.abs(u).max() > 0.99
    assert abs(u.mean()) < 0.01 and abs(u.var() - 1 / 3) < 0.01
    # the bounds really vary with the input position: inputs covered by many foci get smaller weights
    covered, edge = fan_out.argmax(), fan_out.argmin()
    expected = bound[0, covered] / bound[0, edge]
    assert expected < 0.8
    assert np.abs(w[:, covered]).max() / np.abs(w[:, edge]).max() == pytest.approx(expected, rel=0.03)
    assert not layer.parameters()[1].data.any()
    # seeded: the same seed gives the same weights, and Eq. 10 gives different ones
    bionn.manual_seed(3)
    again = cls(*shape, out, init="focus_glorot", sigma_init=0.05, dtype=F64)
    np.testing.assert_array_equal(again.parameters()[0].data, layer.parameters()[0].data)
    bionn.manual_seed(3)
    eq10 = cls(*shape, out, sigma_init=0.05, dtype=F64)
    assert not np.allclose(eq10.parameters()[0].data, layer.parameters()[0].data)


def test_explicit_mu_survives_reset():
    layer = FocusDense(8, 3, mu_init=np.array([0.1, 0.2, 0.3]))
    layer.reset_parameters()
    np.testing.assert_allclose(layer.mu, [0.1, 0.2, 0.3], rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(sigma_init=0.0), ValueError),
        (dict(sigma_init=-0.1), ValueError),
        (dict(sigma_init=5.0), ValueError),
        (dict(mu_init=[0.1, 0.5, 1.2]), ValueError),
        (dict(mu_init=[-0.1, 0.5, 0.2]), ValueError),
        (dict(mu_init=[0.1, 0.5]), ValueError),
        (dict(mu_init="middle"), ValueError),
        (dict(mu_init=["a", "b", "c"]), TypeError),
        (dict(normalization="max"), ValueError),
        (dict(normalization=2), ValueError),
        (dict(init="bogus"), ValueError),
        (dict(spread=(-0.1, 0.5)), ValueError),
        (dict(spread=(0.7, 0.2)), ValueError),
        (dict(spread=0.5), TypeError),
        (dict(sigma_bounds=(0.0, 1.0)), ValueError),
        (dict(mu_bounds=(1.0, 0.0)), ValueError),
        (dict(sigma_l1=-1.0), ValueError),
        (dict(prune_threshold=-1.0), ValueError),
    ],
)
def test_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        FocusDense(5, 3, **kwargs)


def test_bad_sizes_and_shapes():
    with pytest.raises(ValueError):
        FocusDense(0, 3)
    with pytest.raises(TypeError):
        FocusDense(5.5, 3)
    with pytest.raises(ValueError):
        FocusDense2D(3, 0, 2)
    with pytest.raises(ValueError):
        FocusDense2D(2, 2, 2, mu_init=[0.5, 0.5])
    layer = FocusDense(5, 3)
    with pytest.raises(ValueError):
        layer.forward(np.zeros((2, 4), F32))
    two = FocusDense2D(2, 3, 2)
    with pytest.raises(ValueError):
        two.forward(np.zeros((2, 2, 2, 3), F32))  # two channels
    with pytest.raises(ValueError):
        two.forward(np.zeros((2, 5), F32))
    layer.forward(np.zeros((2, 5), F32))
    with pytest.raises(ValueError):
        layer.backward(np.zeros((2, 4), F32))
    with pytest.raises(ValueError):
        layer.prune(-0.5)


# ------------------------------------------------------------------------------------------------
# Save/load, to_dense, pruning
# ------------------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    model = nn.Sequential(
        [
            FocusDense(12, 6, mu_init=np.linspace(0.1, 0.9, 6), normalization="sum", sigma_l2=0.1),
            nn.ReLU(),
            FocusDense2D(2, 3, 4, anisotropic=True, trainable_focus=False),
            nn.Dense(4, 2),
        ],
        seed=3,
    )
    model.layers[0].prune(1e-4)
    x = rng(11).standard_normal((5, 12)).astype(F32)
    path = tmp_path / "focus.npz"
    model.save(path)
    loaded = nn.load(path)
    assert type(loaded.layers[0]) is FocusDense and type(loaded.layers[2]) is FocusDense2D
    assert loaded.config() == model.config()
    assert loaded.layers[0].prune_threshold == pytest.approx(1e-4)
    assert not loaded.layers[2].parameters()[2].trainable
    np.testing.assert_array_equal(loaded.forward(x, training=False), model.forward(x, training=False))


@pytest.mark.parametrize("cls, args", [(FocusDense, (20, 7)), (FocusDense2D, (4, 5, 7))])
def test_to_dense_matches(cls, args):
    layer = cls(*args, sigma_init=0.1, dtype=F64)
    x = rng(12).standard_normal((6, 20))
    for threshold in (0.0, 1e-2):
        layer.prune(threshold)
        dense = layer.to_dense()
        assert isinstance(dense, nn.Dense)
        np.testing.assert_allclose(dense.forward(x), layer.forward(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(dense.parameters()[0].data, layer.effective_weight())


def _left_noise_data(n, m=40, seed=0):
    """Inputs whose right half is informative and left half pure noise."""
    r = rng(seed)
    X = r.standard_normal((n, m)).astype(F32)
    y = (X[:, m // 2 + 4 : m - 4].sum(axis=1) > 0).astype(np.int64)
    return X, y


def _focus_model(seed, mu_init="center", sigma_init=0.08):
    return nn.Sequential(
        [FocusDense(40, 8, mu_init=mu_init, sigma_init=sigma_init), nn.ReLU(), nn.Dense(8, 2)], seed=seed
    )


def _focus_optimizer(model):
    groups = optim.groups_by_tag(model.parameters(), {"mu": {"lr": 0.01}, "sigma": {"lr": 0.01}})
    return optim.SGD(groups, lr=0.1, momentum=0.9)


def test_prune_monotone_and_accuracy_preserving():
    X, y = _left_noise_data(600, seed=1)
    model = _focus_model(0, mu_init="spread", sigma_init=0.05)
    model.fit(X, y, loss=losses.CrossEntropy(), optimizer=_focus_optimizer(model), epochs=5, batch_size=32)
    layer = model.layers[0]
    before = model.predict(X)
    acc = float((before.argmax(1) == y).mean())
    assert acc > 0.7
    sparsities = [layer.prune(t) for t in (0.0, 1e-7, 1e-4, 1e-2, 0.5, 2.0)]
    assert sparsities == sorted(sparsities) and sparsities[0] == 0.0 and sparsities[-1] > sparsities[1]
    assert sparsities[1] > 0.05  # narrow foci: some effective weights are negligible
    layer.prune(1e-7)
    after = model.predict(X)
    np.testing.assert_allclose(after, before, atol=1e-4)
    assert float((after.argmax(1) == y).mean()) == acc


def test_foci_move_towards_informative_inputs():
    # The paper's left-noise experiment, scaled down: foci start at the centre (Focus-c) and the
    # label depends only on the right half. One focusing layer gives the logits, so every neuron
    # must find the signal. (With a hidden layer, neurons the output ignores drift at random.)
    r = rng(2)
    X = r.standard_normal((2000, 40)).astype(F32)
    y = (X[:, 20:].sum(axis=1) > 0).astype(np.int64)
    model = nn.Sequential([FocusDense(40, 2, mu_init="center", sigma_init=0.08)], seed=0)
    layer = model.layers[0]
    mu0 = layer.mu.copy()
    assert np.all(np.abs(mu0 - 0.5) <= 0.025 + 1e-7)
    hist = model.fit(X, y, loss=losses.CrossEntropy(), optimizer=_focus_optimizer(model), epochs=10, batch_size=32)
    assert hist["accuracy"][-1] > 0.9
    mu1 = layer.mu
    assert mu1.mean() > mu0.mean() + 0.1, (mu0, mu1)
    assert np.all(mu1 >= 0) and np.all(mu1 <= 1) and np.all(layer.sigma >= 0.01) and np.all(layer.sigma <= 1)


def test_fixed_s_training_keeps_foci():
    X, y = _left_noise_data(200, seed=3)
    model = nn.Sequential([FocusDense(40, 8, trainable_focus=False, sigma_init=0.1), nn.ReLU(), nn.Dense(8, 2)], seed=2)
    mu0, s0 = model.layers[0].mu.copy(), model.layers[0].sigma.copy()
    w0 = model.layers[0].parameters()[0].data.copy()
    model.fit(X, y, loss=losses.CrossEntropy(), optimizer=_focus_optimizer(model), epochs=2, batch_size=32)
    np.testing.assert_array_equal(model.layers[0].mu, mu0)
    np.testing.assert_array_equal(model.layers[0].sigma, s0)
    assert not np.array_equal(model.layers[0].parameters()[0].data, w0)
