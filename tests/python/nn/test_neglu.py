"""NegLU family (bionn.neglu): float64 gradient checks of every activation (incl. the learned slopes
and Min-Maxout ties), PyTorch parity, unit assignment and its reproducibility, argument errors,
save/load (the NegLU/min unit assignment is saved) and a small training run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bionn
from bionn import losses, nn, optim
from bionn.nn.neglu import LearnedActivation, MinMaxout, MixLU, NegLU, SmoothNegLU
from gradcheck import check_layer, rng

F64 = np.float64


def away_from_zero(shape, seed=0, lo=0.05, hi=2.0):
    r = rng(seed)
    return r.uniform(lo, hi, shape) * r.choice([-1.0, 1.0], shape)


def distinct(shape, seed=0, gap=0.05):
    n = int(np.prod(shape))
    return (rng(seed).permutation(n) * gap - gap * n / 2).reshape(shape)


def test_reexported_from_nn():
    for cls in (NegLU, SmoothNegLU, MixLU, MinMaxout, LearnedActivation):
        assert getattr(nn, cls.__name__) is cls


# ------------------------------------------------------------------------------------------------
# Gradient checks (float64)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 2, 2)])
def test_neglu_gradcheck(shape):
    check_layer(NegLU(dtype=F64), away_from_zero(shape, 1))


def test_smooth_neglu_gradcheck():
    check_layer(SmoothNegLU(dtype=F64), rng(2).uniform(-8, 8, (5, 6)))


@pytest.mark.parametrize("num_units,shape", [(6, (4, 6)), (3, (2, 3, 2, 2)), ((3, 2, 2), (2, 3, 2, 2)), (4, (2, 4, 5))])
def test_mixlu_gradcheck_fixed(num_units, shape):
    layer = MixLU(num_units, fraction=0.5, seed=3, dtype=F64)
    assert 0 < layer.negative_units.size < np.prod(num_units)
    check_layer(layer, away_from_zero(shape, 4))


def test_mixlu_gradcheck_random_mode_with_fixed_generator():
    layer = MixLU(5, fraction=0.4, mode="random", dtype=F64)
    check_layer(layer, away_from_zero((6, 5), 5), before_forward=lambda: bionn.manual_seed(7))


@pytest.mark.parametrize("shape", [(5, 6), (2, 6, 3, 2)])
def test_minmaxout_gradcheck(shape):
    layer = MinMaxout(3, pieces=2, min_units=[0, 2], dtype=F64)
    check_layer(layer, distinct(shape, 6))


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3, 2)])
def test_learned_activation_gradcheck(shape):
    layer = LearnedActivation(3, init=(0.8, -0.3), dtype=F64)
    layer.positive_slope[...] = [0.8, 0.1, -0.4]
    layer.negative_slope[...] = [-0.3, 1.2, 0.5]
    res = check_layer(layer, away_from_zero(shape, 8))
    assert set(res["params"]) == {"positive_slope", "negative_slope"}
    assert {p.tag for p in layer.parameters()} == {"slope"}


def test_minmaxout_ties_follow_the_first_piece_rule():
    """Documented tie rule: the first piece attaining the extreme takes all the gradient."""
    layer = MinMaxout(2, pieces=3, min_units=[1], dtype=F64)
    x = np.array([[2.0, 2.0, 2.0, -1.0, 5.0, -1.0]])
    y = layer.forward(x)
    np.testing.assert_array_equal(y, [[2.0, -1.0]])
    dx = layer.backward(np.array([[3.0, 4.0]]))
    np.testing.assert_array_equal(dx, [[3.0, 0.0, 0.0, 4.0, 0.0, 0.0]])


# ------------------------------------------------------------------------------------------------
# PyTorch parity
# ------------------------------------------------------------------------------------------------


def _torch_pair(torch, x, g, fn, dtype):
    tx = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = fn(tx)
    ty.backward(torch.tensor(g, dtype=dtype))
    return ty.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_neglu_and_smooth_neglu_match_torch(dtype):
    torch = pytest.importorskip("torch")
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    x = np.concatenate([rng(1).normal(0, 3, (64, 7)).ravel(), [-90.0, -20.0, 0.0, 20.0, 90.0]]).reshape(-1, 1)
    g = rng(2).normal(size=x.shape)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for layer, ref in (
        (NegLU(dtype=dtype), lambda t: -torch.relu(-t)),
        (SmoothNegLU(dtype=dtype), lambda t: -torch.nn.functional.softplus(-t)),
    ):
        y = layer.forward(x)
        dx = layer.backward(g)
        ty, tdx = _torch_pair(torch, x, g, ref, tdt)
        np.testing.assert_allclose(y, ty, **tol)
        np.testing.assert_allclose(dx, tdx, **tol)


@pytest.mark.parametrize("num_units,shape", [(50, (8, 50)), (6, (4, 6, 5, 5)), ((6, 5, 5), (4, 6, 5, 5))])
def test_mixlu_matches_torch_reference(num_units, shape):
    """Reference: torch.where(mask, min(0, x), relu(x)) with the layer's reported NegLU units."""
    torch = pytest.importorskip("torch")
    layer = MixLU(num_units, fraction=0.3, seed=1)
    x = rng(3).normal(size=shape).astype(np.float32)
    g = rng(4).normal(size=shape).astype(np.float32)
    mask = layer.neglu_mask
    bshape = (1,) + mask.shape + (1,) * (len(shape) - 1 - mask.ndim)
    tmask = torch.tensor(mask.reshape(bshape))
    ty, tdx = _torch_pair(torch, x, g, lambda t: torch.where(tmask, -torch.relu(-t), torch.relu(t)), torch.float32)
    np.testing.assert_allclose(layer.forward(x), ty, rtol=0, atol=0)
    np.testing.assert_allclose(layer.backward(g), tdx, rtol=0, atol=0)


def test_minmaxout_matches_torch_max_min():
    torch = pytest.importorskip("torch")
    layer = MinMaxout(4, pieces=3, min_units=[1, 2])
    x = np.round(rng(5).normal(size=(6, 12, 3, 3)), 1).astype(np.float32)  # rounding makes ties
    g = rng(6).normal(size=(6, 4, 3, 3)).astype(np.float32)

    def ref(t):
        v = t.view(6, 4, 3, 3, 3)
        mx = v.max(dim=2).values
        mn = v.min(dim=2).values
        sel = torch.tensor([False, True, True, False]).view(1, 4, 1, 1)
        return torch.where(sel, mn, mx)

    ty, tdx = _torch_pair(torch, x, g, ref, torch.float32)
    np.testing.assert_array_equal(layer.forward(x), ty)
    np.testing.assert_array_equal(layer.backward(g), tdx)


def test_learned_activation_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    layer = LearnedActivation(5, init=(0.9, 0.2), dtype=F64)
    layer.positive_slope[...] = rng(7).normal(size=5)
    layer.negative_slope[...] = rng(8).normal(size=5)
    x = rng(9).normal(size=(3, 5, 4, 4))
    g = rng(10).normal(size=x.shape)
    tx = torch.tensor(x, requires_grad=True)
    ap = torch.tensor(layer.positive_slope.copy(), requires_grad=True)
    an = torch.tensor(layer.negative_slope.copy(), requires_grad=True)
    ty = ap.view(1, 5, 1, 1) * torch.relu(tx) - an.view(1, 5, 1, 1) * torch.relu(-tx)
    ty.backward(torch.tensor(g))
    layer.zero_grad()
    np.testing.assert_allclose(layer.forward(x), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.parameters()[0].grad, ap.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.parameters()[1].grad, an.grad.numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------------------------
# Unit assignment
# ------------------------------------------------------------------------------------------------


def test_mixlu_reports_its_units_and_rounds_the_fraction():
    layer = MixLU(500, fraction=0.07, seed=0)
    assert layer.negative_units.size == 35
    assert np.array_equal(np.sort(np.concatenate([layer.negative_units, layer.positive_units])), np.arange(500))
    assert layer.negative_fraction == pytest.approx(0.07)
    explicit = MixLU(6, negative_units=[4, 1])
    assert explicit.negative_units.tolist() == [1, 4]
    assert MixLU(4, negative_units=np.array([True, False, False, True])).negative_units.tolist() == [0, 3]
    assert MixLU(10, fraction=0.0).negative_units.size == 0
    assert MixLU(10, fraction=1.0).positive_units.size == 0
    grid = MixLU((2, 3, 3), fraction=0.5, seed=1)
    assert grid.neglu_mask.shape == (2, 3, 3) and grid.neglu_mask.sum() == 9


def test_model_seed_fixes_the_mask_and_layer_seed_overrides_it():
    def masks(seed, layer_seed=None):
        net = nn.Sequential([nn.Dense(4, 100), MixLU(100, fraction=0.2, seed=layer_seed)], seed=seed)
        return net[1].negative_units

    assert np.array_equal(masks(1), masks(1))
    assert not np.array_equal(masks(1), masks(2))
    assert np.array_equal(masks(1, layer_seed=5), masks(2, layer_seed=5))


def test_random_mode_is_reproducible_from_the_model_seed():
    X = rng(0).normal(size=(16, 8)).astype(np.float32)

    def out(seed):
        net = nn.Sequential([MixLU(8, fraction=0.5, mode="random")], seed=seed)
        return net.forward(X, training=True), net.forward(X, training=True)

    a1, a2 = out(3)
    b1, _ = out(3)
    assert np.array_equal(a1, b1)
    assert not np.array_equal(a1, a2)  # a new mask at every forward
    assert np.count_nonzero(a1 < 0) <= 64
    assert MixLU(8, fraction=0.5, mode="random").negative_units.size == 0


def test_relu_mask_gradient_option_reproduces_the_reference_code():
    layer = MixLU(2, negative_units=[1], neglu_grad="relu_mask", dtype=F64)
    layer.forward(np.array([[-1.0, -1.0], [2.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((2, 2))), [[0, 0], [1, 1]])
    exact = MixLU(2, negative_units=[1], dtype=F64)
    exact.forward(np.array([[-1.0, -1.0], [2.0, 2.0]]))
    np.testing.assert_array_equal(exact.backward(np.ones((2, 2))), [[0, 1], [1, 0]])


def test_minmaxout_reports_min_and_max_units():
    layer = MinMaxout(10, pieces=2, min_fraction=0.3, seed=2)
    assert layer.min_units.size == 3 and layer.max_units.size == 7
    assert MinMaxout(4, pieces=2, min_units=[]).min_units.size == 0
    assert np.array_equal(MinMaxout(3, pieces=1, min_fraction=1.0).forward(np.eye(3)), np.eye(3))


def test_learned_activation_presets():
    x = np.array([[-2.0, 3.0]])
    for init, want in (("relu", [0, 3]), ("neglu", [-2, 0]), ("linear", [-2, 3]), ("abs", [2, 3])):
        np.testing.assert_array_equal(LearnedActivation(2, init=init, dtype=F64).forward(x), [want])


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(num_units=4, fraction=1.5), ValueError, "fraction must be <= 1"),
        (dict(num_units=4, fraction=-0.1), ValueError, "fraction must be >= 0"),
        (dict(num_units=4, fraction=float("nan")), ValueError, "fraction must be finite"),
        (dict(num_units=4, fraction="half"), TypeError, "fraction must be a real number"),
        (dict(num_units=0, fraction=0.1), ValueError, "num_units must be >= 1"),
        (dict(num_units=(2, 2, 2, 2), fraction=0.1), ValueError, "num_units must be an int or a shape"),
        (dict(num_units=4, negative_units=[4]), ValueError, r"negative_units must lie in \[0, 4\)"),
        (dict(num_units=4, negative_units=[1, 1]), ValueError, "more than once"),
        (dict(num_units=4, negative_units=[0.5]), TypeError, "integer unit indices"),
        (dict(num_units=4, negative_units=[True, False]), ValueError, "boolean mask must have 4"),
        (dict(num_units=4, fraction=0.5, negative_units=[1]), ValueError, "not both"),
        (dict(num_units=4, fraction=0.5, mode="sometimes"), ValueError, "mode must be"),
        (dict(num_units=4, negative_units=[1], mode="random"), ValueError, "mode='random'"),
        (dict(num_units=4, fraction=0.5, neglu_grad="approx"), ValueError, "neglu_grad must be"),
        (dict(num_units=4, fraction=0.5, seed=-1), ValueError, "seed must be >= 0"),
    ],
)
def test_mixlu_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MixLU(**kwargs)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(num_units=3, pieces=0), ValueError, "pieces must be >= 1"),
        (dict(num_units=3, pieces=2.5), TypeError, "pieces must be an integer"),
        (dict(num_units=0, pieces=2), ValueError, "num_units must be >= 1"),
        (dict(num_units=3, pieces=2, min_fraction=2.0), ValueError, "min_fraction must be <= 1"),
        (dict(num_units=3, pieces=2, min_units=[3]), ValueError, "min_units must lie"),
    ],
)
def test_minmaxout_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        MinMaxout(**kwargs)


@pytest.mark.parametrize(
    "init,exc,match",
    [
        ("sigmoid", ValueError, "init must be one of"),
        ((1.0,), TypeError, "pair"),
        ((1.0, float("inf")), ValueError, r"init\[1\] must be finite"),
    ],
)
def test_learned_activation_argument_errors(init, exc, match):
    with pytest.raises(exc, match=match):
        LearnedActivation(3, init=init)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="NaN or infinite"):
        MixLU(3, fraction=0.5).forward(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match="3 channels/features, the layer 4 units"):
        MixLU(4, fraction=0.5).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="differs from num_units"):
        MixLU((2, 3, 3), fraction=0.5).forward(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="num_units \\* pieces = 6"):
        MinMaxout(3, pieces=2).forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="channels/features"):
        LearnedActivation(3).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        MixLU(3, fraction=0.5).forward(np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        NegLU().forward(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="grad_output has shape"):
        layer = MinMaxout(3, pieces=2)
        layer.forward(np.zeros((2, 6)))
        layer.backward(np.zeros((2, 6)))


def test_tiny_fraction_of_few_channels_warns():
    with pytest.warns(UserWarning, match="rounds to no NegLU"):
        MixLU(32, fraction=0.0025)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MixLU((32, 4, 4), fraction=0.0025)


def test_accepts_integer_and_float_inputs():
    layer = MixLU(3, negative_units=[0], dtype=F64)
    np.testing.assert_array_equal(layer.forward(np.array([[-1, 2, -3]])), [[-1, 2, 0]])
    np.testing.assert_array_equal(layer.forward(np.array([[-1, 2, -3]], dtype=np.float32)), [[-1, 2, 0]])


# ------------------------------------------------------------------------------------------------
# Save / load and training
# ------------------------------------------------------------------------------------------------


def test_save_load_round_trip_keeps_the_unit_assignment(tmp_path):
    net = nn.Sequential(
        [
            nn.Conv2d(1, 4, 3),
            MixLU(4, fraction=0.5),
            nn.Flatten(),
            nn.Dense(4 * 4 * 4, 12),
            MinMaxout(6, pieces=2, min_fraction=0.5),
            LearnedActivation(6, init="neglu"),
            MixLU(6, fraction=0.5, mode="random"),
            SmoothNegLU(),
            NegLU(),
            nn.Dense(6, 3),
        ],
        seed=4,
    )
    net[5].positive_slope[...] = np.linspace(0.1, 0.6, 6)
    X = rng(1).normal(size=(5, 1, 6, 6)).astype(np.float32)
    path = tmp_path / "mixlu.npz"
    net.save(path)
    bionn.manual_seed(999)  # the loaded layers are constructed with other draws first
    loaded = nn.load(path)
    assert np.array_equal(loaded[1].negative_units, net[1].negative_units)
    assert np.array_equal(loaded[4].min_units, net[4].min_units)
    np.testing.assert_array_equal(loaded[5].positive_slope, net[5].positive_slope)
    assert loaded[6].mode == "random"
    # Every layer except the random-mode MixLU is deterministic: compare outputs without it.
    det = nn.Sequential(
        [
            nn.Conv2d(1, 4, 3),
            MixLU(4, fraction=0.5),
            nn.Flatten(),
            nn.Dense(64, 12),
            MinMaxout(6, pieces=2),
            LearnedActivation(6),
            nn.Dense(6, 3),
        ],
        seed=5,
    )
    det.save(path)
    bionn.manual_seed(123)
    again = nn.load(path)
    assert np.array_equal(again[1].negative_units, det[1].negative_units)
    np.testing.assert_array_equal(again.predict(X), det.predict(X))
    assert again[1].config() == det[1].config()


def test_mixlu_lenet_trains():
    bionn.set_num_threads(1)
    X = rng(0).normal(size=(200, 1, 12, 12)).astype(np.float32)
    y = (X[:, 0, :6].sum(axis=(1, 2)) > 0).astype(np.int64)
    net = nn.Sequential(
        [
            nn.Conv2d(1, 8, 5),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 40, 4),
            MixLU(40, fraction=0.1),
            nn.Conv2d(40, 2, 1),
            nn.Flatten(),
        ],
        seed=0,
    )
    loss = losses.CrossEntropy()
    before = net.evaluate(X, y, loss)["loss"]
    net.fit(X, y, loss=loss, optimizer=optim.SGD(net.parameters(), lr=0.05, momentum=0.9), epochs=5, batch_size=20)
    assert net.evaluate(X, y, loss)["loss"] < 0.7 * before
