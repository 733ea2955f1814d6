"""Issue 16's rough edges of the focus layers and the schedules: constrained parameters checked on
every path that sets them, sigma in input units, documented axes; per-group learning-rate
schedules."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import callbacks, losses, nn, optim


def _net(layer):
    return nn.Sequential([layer, nn.Dense(layer.out_features, 2)], seed=0)


@pytest.mark.parametrize("bad", [0.0, -0.1, np.nan])
def test_sigma_write_through_data_is_caught_at_next_use(bad, rng):
    layer = nn.FocusDense(8, 3)
    net = _net(layer)
    X = rng.random((4, 8), dtype=np.float32)
    ok = net.predict(X)
    layer.sigma[1] = bad
    for call in (
        lambda: net.predict(X),
        lambda: net.forward(X),
        lambda: net.evaluate(X, [0, 1, 0, 1], loss=losses.CrossEntropy()),
        lambda: net.fit(X, [0, 1, 0, 1], loss=losses.CrossEntropy(), optimizer=optim.SGD(net.parameters())),
        lambda: layer.forward(X),
    ):
        with pytest.raises(ValueError, match=r"sigma.*must be finite and > 0"):
            call()
    layer.sigma[1] = 0.05  # repaired: usable again
    assert np.isfinite(net.predict(X)).all() and ok.shape == (4, 2)


def test_load_state_dict_rejects_bad_apertures_and_leaves_model_unchanged():
    net = _net(nn.FocusDense2D(5, 5, 4, anisotropic=True))
    state = net.state_dict()
    before = {k: v.copy() for k, v in state.items()}
    for key in ("0.sigma_x", "0.sigma_y"):
        for value in (0.0, -0.2):
            bad = dict(state)
            bad[key] = np.full_like(state[key], value)
            with pytest.raises(ValueError, match=rf"{key}.*sigma.*> 0"):
                net.load_state_dict(bad)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    net.load_state_dict(state)  # a valid state loads


def test_mu_must_be_finite(rng):
    layer = nn.FocusDense(6, 2)
    layer.mu[0] = np.inf
    with pytest.raises(ValueError, match="mu"):
        layer.forward(rng.random((1, 6), dtype=np.float32))


def test_sigma_in_input_units():
    a = nn.FocusDense(41, 3, sigma_init=2.0, sigma_units="inputs")
    np.testing.assert_allclose(a.sigma, 2.0 / 40, rtol=1e-6)
    assert a.sigma_units == "inputs" and a.config()["sigma_init"] == 2.0
    b = nn.FocusDense(41, 3, sigma_init=0.05)
    np.testing.assert_allclose(a.focus(), b.focus(), rtol=1e-5)  # the same layer, stated in two units
    assert "sigma_units" not in b.config()  # saved architectures of the default are unchanged
    c = nn.FocusDense2D(11, 11, 2, sigma_init=1.0, sigma_units="inputs")
    np.testing.assert_allclose(c._by_tag("sigma")[0].data, 0.1, rtol=1e-6)
    with pytest.raises(ValueError, match="square grid"):
        nn.FocusDense2D(10, 12, 2, sigma_init=1.0, sigma_units="inputs")
    with pytest.raises(ValueError, match="outside sigma_bounds.*normalised"):
        nn.FocusDense(785, 2, sigma_init=2.0, sigma_units="inputs")  # 2/784 < the default bound 0.01
    with pytest.raises(ValueError, match="sigma_units"):
        nn.FocusDense(8, 2, sigma_units="pixels")


def test_sigma_units_round_trip_through_save(tmp_path):
    net = _net(nn.FocusDense(21, 3, sigma_init=3.0, sigma_units="inputs"))
    net.save(tmp_path / "m.npz")
    back = nn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back[0].sigma, net[0].sigma)
    assert back[0].sigma_units == "inputs"


def test_focus2d_axes_x_is_columns_y_is_rows():
    layer = nn.FocusDense2D(9, 5, 1, mu_init=[[1.0, 0.0]], sigma_init=0.05)  # x = right edge, y = top
    phi = layer.focus()[0]
    assert np.unravel_index(np.argmax(phi), phi.shape) == (0, 4)  # row 0, last column
    mx, my = layer._by_tag("mu")
    assert (mx.name, my.name) == ("mu_x", "mu_y")


def _groups():
    net = _net(nn.FocusDense(8, 3))
    return optim.SGD(optim.groups_by_tag(net.parameters(), {"mu": {"lr": 0.01}, "sigma": {"lr": 0.02}}), lr=0.1)


def test_learning_rate_scheduler_per_group():
    opt = _groups()
    assert len(opt.param_groups) == 3  # mu, sigma, the rest
    tags = [{p.tag for p in g["params"]} for g in opt.param_groups]
    assert {"mu"} in tags and {"sigma"} in tags
    lrs = [g["lr"] for g in opt.param_groups]
    sched = callbacks.LearningRateScheduler(opt, [lambda e, lr: lr * 0.5, None, lambda e, lr: 0.001 * e])
    sched.on_epoch_end(0, {})
    sched.on_epoch_end(1, {})
    got = [g["lr"] for g in opt.param_groups]
    assert got == pytest.approx([lrs[0] * 0.25, lrs[1], 0.002])
    one = callbacks.LearningRateScheduler(opt, lambda e, lr: 0.3)  # one schedule for every group
    one.on_epoch_end(0, {})
    assert all(g["lr"] == pytest.approx(0.3) for g in opt.param_groups)


def test_learning_rate_scheduler_in_fit(rng):
    net = _net(nn.FocusDense(8, 3))
    opt = optim.SGD(optim.groups_by_tag(net.parameters(), {"mu": {"lr": 0.01}}), lr=0.1)
    seen = []

    class Spy(callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            seen.append([g["lr"] for g in opt.param_groups])

    sched = callbacks.LearningRateScheduler(opt, [lambda e, lr: lr / 10, None])
    X = rng.random((8, 8), dtype=np.float32)
    net.fit(X, np.arange(8) % 2, loss=losses.CrossEntropy(), optimizer=opt, epochs=2, callbacks=[sched, Spy()])
    assert seen == [pytest.approx([0.01 / 10, 0.1]), pytest.approx([0.01 / 100, 0.1])]


def test_learning_rate_scheduler_validation():
    opt = _groups()
    n = len(opt.param_groups)
    with pytest.raises(ValueError, match="entries"):
        callbacks.LearningRateScheduler(opt, [None] * (n + 1))
    with pytest.raises(TypeError, match=r"schedule\[0\]"):
        callbacks.LearningRateScheduler(opt, [1.0] + [None] * (n - 1))
    with pytest.raises(TypeError, match="optimizer"):
        callbacks.LearningRateScheduler(object(), lambda e, lr: lr)
    before = [g["lr"] for g in opt.param_groups]
    bad = callbacks.LearningRateScheduler(opt, [lambda e, lr: 0.5] + [lambda e, lr: float("nan")] * (n - 1))
    with pytest.raises(ValueError, match="parameter group 1"):
        bad.on_epoch_end(0, {})
    assert [g["lr"] for g in opt.param_groups] == before  # nothing half-applied


def test_trained_focus_model_saved_and_loaded_predicts_the_same_bits(tmp_path):
    # A pass's numbers depend on mu and sigma only, never on the windows of an earlier pass (the
    # block order used to come from the last pass, so a loaded model differed by ~1e-6).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 64)).astype(np.float32)
    y = (X[:, :32].sum(axis=1) > 0).astype(np.int64)
    model = nn.Sequential([nn.FocusDense(64, 16), nn.ReLU(), nn.Dense(16, 2)], seed=0)
    model.fit(
        X,
        y,
        loss=losses.CrossEntropy(),
        optimizer=optim.Adam(model.parameters(), lr=1e-2),
        epochs=5,
        batch_size=32,
        verbose=0,
    )
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(nn.load(tmp_path / "m.npz").predict(X), model.predict(X))
