"""Flexible layer (bionn.flexible): float64 gradient checks in every threshold mode, PyTorch parity
against a reference built from conv2d + max_pool2d + Eq. 1, random-threshold seeding, argument
validation, save/load, and the threshold's optimizer group (no weight decay, as in the paper)."""

from __future__ import annotations

import numpy as np
import pytest

import bionn
from bionn import losses, nn, optim
from bionn.nn.flexible import THRESHOLD_MODES, FlexibleConv2d
from gradcheck import check_layer, rng

F64 = np.float64


def distinct(shape, seed, gap=0.013):
    """Pairwise distinct values (no ties inside a pooling window: a stable argmax under a finite step)."""
    n = int(np.prod(shape))
    return ((rng(seed).permutation(n) - n / 2) * gap).reshape(shape)


def test_reexported_from_nn():
    assert nn.FlexibleConv2d is FlexibleConv2d
    assert "FlexibleConv2d" in bionn.nn.flexible.__all__


# ------------------------------------------------------------------------------------------------
# Gradient checks (float64)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", THRESHOLD_MODES)
@pytest.mark.parametrize("cin", [1, 3])
def test_gradcheck_every_mode(mode, cin):
    bionn.manual_seed(1)
    layer = FlexibleConv2d(cin, 3, 3, input_size=(5, 6), threshold_mode=mode, threshold=0.2, scale=4.0, dtype=F64)
    if mode in ("learned", "reverse"):
        layer.threshold[...] = rng(2).uniform(-0.4, 0.6, layer.threshold.shape)
    # Random mode: reseeding before every forward fixes the drawn thresholds.
    check_layer(layer, distinct((2, cin, 5, 6), 3), before_forward=lambda: bionn.manual_seed(7))


def test_gradcheck_paper_scale_with_padding_and_stride():
    bionn.manual_seed(2)
    layer = FlexibleConv2d(
        2, 2, 3, input_size=(7, 7), stride=2, padding=1, pool_stride=2, threshold=0.0, dtype=F64
    )  # s = 50 as in the paper
    assert layer.output_shape == (2, 4, 4)
    layer.threshold[...] = rng(4).uniform(-0.1, 0.1, layer.threshold.shape)
    check_layer(layer, distinct((2, 2, 7, 7), 5, gap=0.009), eps=1e-7, rtol=1e-5)


# ------------------------------------------------------------------------------------------------
# PyTorch parity: conv2d + max_pool2d + Eq. 1 written out, autograd for the gradients.
# ------------------------------------------------------------------------------------------------


def torch_flexible(
    torch, x, weight, bias, threshold, mode, scale, stride=1, padding=0, pool_kernel=3, pool_stride=1, pool_padding=0
):
    F = torch.nn.functional
    f_conv = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    if mode == "baseline":
        return f_conv
    f_max = F.max_pool2d(x, pool_kernel, pool_stride, pool_padding)  # (N, 1 or C, H, W), broadcasts
    diff = threshold - f_max if mode != "reverse" else f_max - threshold
    return torch.sigmoid(diff * scale) * f_max + torch.sigmoid(-diff * scale) * f_conv  # Eq. 1


@pytest.mark.parametrize("mode", ["learned", "uniform", "reverse", "baseline"])
@pytest.mark.parametrize("cin,cout,k,size", [(1, 12, 5, 12), (4, 4, 3, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_torch_parity(mode, cin, cout, k, size, dtype):
    torch = pytest.importorskip("torch")
    bionn.manual_seed(3)
    layer = FlexibleConv2d(cin, cout, k, input_size=(size, size), threshold_mode=mode, threshold=0.4, dtype=dtype)
    x = rng(5).uniform(0, 1, (3, cin, size, size)).astype(dtype)
    if mode in ("learned", "reverse"):
        layer.threshold[...] = rng(6).uniform(0.2, 0.8, layer.threshold.shape)
    g = rng(7).standard_normal((3,) + layer.output_shape).astype(dtype)
    out = layer.forward(x, training=True)
    layer.zero_grad()
    dx = layer.backward(g)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    params = {p.name: p for p in layer.parameters()}
    tw = torch.tensor(params["weight"].data.copy(), requires_grad=True)
    tb = torch.tensor(params["bias"].data.copy(), requires_grad=True)
    tt = torch.tensor(np.asarray(layer.threshold, dtype=dtype).copy(), requires_grad=mode in ("learned", "reverse"))
    tx = torch.tensor(x, requires_grad=True)
    ref = torch_flexible(torch, tx, tw, tb, tt, mode, 50.0, pool_kernel=k)
    (ref * torch.tensor(g, dtype=tdtype)).sum().backward()
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out, ref.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(params["weight"].grad, tw.grad.numpy(), **tol)
    np.testing.assert_allclose(params["bias"].grad, tb.grad.numpy(), **tol)
    if mode in ("learned", "reverse"):
        np.testing.assert_allclose(params["threshold"].grad, tt.grad.numpy(), **tol)


def test_random_mode_matches_torch_given_the_drawn_thresholds():
    torch = pytest.importorskip("torch")
    bionn.manual_seed(4)
    layer = FlexibleConv2d(1, 2, 3, input_size=(6, 6), threshold_mode="random", dtype=F64)
    x = rng(8).uniform(0, 1, (4, 1, 6, 6))
    out = layer.forward(x)
    m = layer.mask()
    f_max = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 1).numpy()
    # Recover each unit's T in {0, 1} from the mask, then Eq. 1 must give the output.
    t = np.where(np.abs(m - 1 / (1 + np.exp(-(1 - f_max) * 50))) < np.abs(m - 1 / (1 + np.exp(f_max * 50))), 1.0, 0.0)
    np.testing.assert_allclose(m, 1 / (1 + np.exp(-(t - f_max) * 50)), rtol=1e-12)
    conv = layer.conv_output()
    np.testing.assert_allclose(out, m * f_max + (1 - m) * conv, rtol=1e-12)
    assert 0.3 < t.mean() < 0.7


# ------------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------------


def small_net(mode, seed=0, **kw):
    return nn.Sequential(
        [
            FlexibleConv2d(1, 4, 3, input_size=(8, 8), threshold_mode=mode, **kw),
            nn.Sigmoid(),
            nn.Flatten(),
            nn.Dense(4 * 36, 3),
        ],
        seed=seed,
    )


def test_random_thresholds_are_seeded_and_redrawn_in_inference():
    x = rng(9).uniform(0, 1, (5, 1, 8, 8))
    a, b = small_net("random", seed=3), small_net("random", seed=3)
    ya, yb = a.forward(x, training=False), b.forward(x, training=False)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, a.forward(x, training=False))  # a new draw at every pass
    uniform = small_net("uniform", seed=3)
    np.testing.assert_array_equal(uniform.forward(x, training=False), uniform.forward(x, training=False))


def test_baseline_equals_plain_convolution():
    bionn.manual_seed(5)
    flex = FlexibleConv2d(1, 3, 3, input_size=(6, 6), threshold_mode="baseline", dtype=F64)
    conv = nn.Conv2d(1, 3, 3, dtype=F64)
    for p, q in zip(conv.parameters(), flex.parameters()):
        p.data[...] = q.data
    x = rng(10).uniform(0, 1, (2, 1, 6, 6))
    np.testing.assert_array_equal(flex.forward(x), conv.forward(x))
    assert not flex.mask().any()
    with pytest.raises(ValueError, match="random"):
        _ = FlexibleConv2d(1, 3, 3, input_size=(6, 6), threshold_mode="random").threshold


def test_uniform_threshold_can_be_changed_and_is_saved(tmp_path):
    model = small_net("uniform", threshold=0.1)
    x = rng(11).uniform(0, 1, (3, 1, 8, 8)).astype(np.float32)
    before = model.forward(x, training=False)
    model[0].set_threshold(0.6)
    assert np.all(model[0].threshold == np.float32(0.6))
    after = model.forward(x, training=False)
    assert not np.allclose(before, after)
    model.save(tmp_path / "m.npz")
    loaded = bionn.nn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.forward(x, training=False), after)
    with pytest.raises(ValueError, match="uniform"):
        small_net("learned")[0].set_threshold(0.3)


def test_learned_threshold_trains_without_weight_decay_and_round_trips(tmp_path):
    model = small_net("learned", threshold=0.5)
    thr = model.parameters(tags=["threshold"])
    assert len(thr) == 1 and thr[0].shape == (4, 6, 6)
    groups = optim.groups_by_tag(model.parameters(), {"threshold": {"weight_decay": 0.0}})
    opt = optim.SGD(groups, lr=0.05, momentum=0.9, weight_decay=0.006)
    assert [g["weight_decay"] for g in opt.param_groups if any(p.tag == "threshold" for p in g["params"])] == [0.0]
    x = rng(12).uniform(0, 1, (64, 1, 8, 8))
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(int)
    model.fit(x, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=3, batch_size=16)
    assert not np.allclose(model[0].threshold, 0.5)
    model.save(tmp_path / "f.npz")
    loaded = bionn.nn.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded[0].threshold, model[0].threshold)
    assert loaded[0].config() == model[0].config()


def test_mask_selects_max_pooling_below_the_threshold():
    layer = FlexibleConv2d(1, 1, 3, input_size=(5, 5), threshold_mode="uniform", threshold=0.5, dtype=F64)
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 0, 0] = 1.0  # strong input: local max 1 > T -> convolution; elsewhere 0 < T -> max-pooling
    layer.forward(x)
    m = layer.mask()[0, 0]
    assert m[0, 0] < 1e-6 and m[2, 2] > 1 - 1e-6
    rev = FlexibleConv2d(1, 1, 3, input_size=(5, 5), threshold_mode="reverse", threshold=0.5, dtype=F64)
    rev.forward(x)
    assert rev.mask()[0, 0, 0, 0] > 1 - 1e-6 and rev.mask()[0, 0, 2, 2] < 1e-6


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(in_channels=2, out_channels=3), ValueError, "in_channels"),
        (dict(threshold_mode="sometimes"), ValueError, "threshold_mode"),
        (dict(threshold_mode=1), ValueError, "threshold_mode"),
        (dict(pool_kernel=2), ValueError, "same output size"),
        (dict(input_size=(2, 2)), ValueError, "is larger than input_size"),
        (dict(input_size=8), TypeError, "input_size"),
        (dict(input_size=(8, 0)), ValueError, "input_size"),
        (dict(threshold=float("nan")), ValueError, "threshold"),
        (dict(scale=0.0), ValueError, "scale"),
        (dict(scale=-1), ValueError, "scale"),
        (dict(pool_padding=3), ValueError, "pool_padding"),
        (dict(init="magic"), ValueError, "init"),
        (dict(kernel_size=(3, 2)), ValueError, "pool_kernel"),
        (dict(stride=0), ValueError, "stride"),
        (dict(threshold="0.5"), TypeError, "threshold"),
    ],
)
def test_invalid_arguments(kwargs, exc, match):
    args = dict(in_channels=1, out_channels=2, kernel_size=3, input_size=(8, 8))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        FlexibleConv2d(**args)


def test_invalid_inputs():
    layer = FlexibleConv2d(1, 2, 3, input_size=(8, 8))
    with pytest.raises(ValueError, match="mask"):
        layer.mask()
    with pytest.raises(ValueError, match="input_size"):
        layer.forward(np.zeros((1, 1, 9, 8)))
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(np.full((1, 1, 8, 8), np.nan))
    with pytest.raises(ValueError):
        layer.forward(np.zeros((1, 8, 8)))
    with pytest.raises(TypeError, match="value"):
        FlexibleConv2d(1, 2, 3, input_size=(8, 8), threshold_mode="uniform").set_threshold("x")
    layer.forward(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.zeros((2, 2, 5, 5)))
