"""Optimizer and scheduler tests: update rules against torch.optim, parameter groups, live group
options, clamps, schedulers and hyper-parameter validation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bionn import nn, optim

F32 = np.float32
F64 = np.float64

# Scales the random gradient of each step, so second-moment estimates rise and fall (amsgrad matters).
GRAD_SCALES = [1.0, 3.0, 0.1, 1.5, 0.01, 2.0, 0.5]


def _torch():
    return pytest.importorskip("torch")


def make_params(dtype=F32, seed=0):
    """bionn parameters of several shapes and tags, with random values."""
    layers = [nn.Dense(4, 3, dtype=dtype), nn.BatchNorm1d(3, dtype=dtype), nn.Conv2d(2, 2, (3, 2), dtype=dtype)]
    r = np.random.default_rng(seed)
    params = [p for l in layers for p in l.parameters()]
    for p in params:
        p.data[...] = r.standard_normal(p.shape)
    return layers, params


def torch_clone(params):
    torch = _torch()
    return [torch.nn.Parameter(torch.from_numpy(p.data.copy())) for p in params]


def set_grads(params, tparams, step, seed=100):
    torch = _torch()
    r = np.random.default_rng(seed + step)
    scale = GRAD_SCALES[step % len(GRAD_SCALES)]
    for p, tp in zip(params, tparams):
        g = (r.standard_normal(p.shape) * scale).astype(p.dtype)
        p.grad[...] = g
        tp.grad = torch.from_numpy(g.copy())


def assert_params_match(params, tparams, dtype, what="", atol=None):
    rtol = 1e-5 if dtype == F32 else 1e-10
    for p, tp in zip(params, tparams):
        ref = tp.detach().numpy()
        if atol is None:
            atol = rtol * max(float(np.abs(ref).max()), 1.0) * 0.1
        np.testing.assert_allclose(p.data, ref, rtol=rtol, atol=atol, err_msg=f"{what} {p.name}")


def run_both(make_bionn, make_torch, steps, dtype, seed=0, groups=None):
    """Runs ``steps`` optimizer steps of bionn and torch on identical parameters and gradients."""
    _, params = make_params(dtype, seed)
    tparams = torch_clone(params)
    if groups is None:
        opt, topt = make_bionn(params), make_torch(tparams)
    else:
        opt, topt = make_bionn(groups(params)), make_torch(groups(tparams))
    for step in range(steps):
        set_grads(params, tparams, step, seed=100 + seed)
        opt.step()
        topt.step()
    return params, tparams, opt, topt


def _cases():
    torch = pytest.importorskip("torch")
    to = torch.optim
    return {
        "sgd": (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: to.SGD(ps, lr=0.1)),
        "sgd_momentum": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: to.SGD(ps, lr=0.1, momentum=0.9)),
        "sgd_nesterov": (
            lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
            lambda ps: to.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
        ),
        "sgd_dampening": (
            lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5),
            lambda ps: to.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5),
        ),
        "sgd_weight_decay": (
            lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.05),
            lambda ps: to.SGD(ps, lr=0.1, weight_decay=0.05),
        ),
        "sgd_all": (
            lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1),
            lambda ps: to.SGD(ps, lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.1),
        ),
        "adam": (lambda ps: optim.Adam(ps, lr=0.01), lambda ps: to.Adam(ps, lr=0.01)),
        "adam_betas_eps": (
            lambda ps: optim.Adam(ps, lr=0.05, betas=(0.5, 0.9), eps=1e-3),
            lambda ps: to.Adam(ps, lr=0.05, betas=(0.5, 0.9), eps=1e-3),
        ),
        "adam_weight_decay": (
            lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
            lambda ps: to.Adam(ps, lr=0.01, weight_decay=0.1),
        ),
        "adam_amsgrad": (
            lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
            lambda ps: to.Adam(ps, lr=0.01, amsgrad=True),
        ),
        "adam_amsgrad_wd": (
            lambda ps: optim.Adam(ps, lr=0.02, weight_decay=0.05, amsgrad=True),
            lambda ps: to.Adam(ps, lr=0.02, weight_decay=0.05, amsgrad=True),
        ),
        "adamw": (lambda ps: optim.AdamW(ps, lr=0.01), lambda ps: to.AdamW(ps, lr=0.01)),
        "adamw_wd_amsgrad": (
            lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.3, amsgrad=True),
            lambda ps: to.AdamW(ps, lr=0.05, weight_decay=0.3, amsgrad=True),
        ),
        "rmsprop": (lambda ps: optim.RMSprop(ps, lr=0.01), lambda ps: to.RMSprop(ps, lr=0.01)),
        "rmsprop_alpha_eps": (
            lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.8, eps=1e-4),
            lambda ps: to.RMSprop(ps, lr=0.01, alpha=0.8, eps=1e-4),
        ),
        "rmsprop_momentum": (
            lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9),
            lambda ps: to.RMSprop(ps, lr=0.01, momentum=0.9),
        ),
        "rmsprop_centered": (
            lambda ps: optim.RMSprop(ps, lr=0.01, centered=True),
            lambda ps: to.RMSprop(ps, lr=0.01, centered=True),
        ),
        "rmsprop_all": (
            lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
            lambda ps: to.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
        ),
    }


CASE_NAMES = [
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "sgd_dampening",
    "sgd_weight_decay",
    "sgd_all",
    "adam",
    "adam_betas_eps",
    "adam_weight_decay",
    "adam_amsgrad",
    "adam_amsgrad_wd",
    "adamw",
    "adamw_wd_amsgrad",
    "rmsprop",
    "rmsprop_alpha_eps",
    "rmsprop_momentum",
    "rmsprop_centered",
    "rmsprop_all",
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("case", CASE_NAMES)
def test_matches_torch(case, steps, dtype):
    make_bionn, make_torch = _cases()[case]
    params, tparams, opt, _ = run_both(make_bionn, make_torch, steps, dtype)
    assert opt.steps_taken == steps
    assert_params_match(params, tparams, dtype, f"{case} after {steps} step(s)")


def test_parameters_actually_move():
    # Guards the comparison above against a vacuous pass (e.g. neither side updating).
    _, params = make_params(F32)
    before = [p.data.copy() for p in params]
    opt = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad[...] = 1.0
    opt.step()
    for p, b in zip(params, before):
        np.testing.assert_allclose(p.data, b - 0.1, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_adam_float32_first_step_has_magnitude_lr(cls):
    # With |g| >> eps the first Adam step is exactly lr * sign(g): m_hat = g, v_hat = g^2.
    torch = _torch()
    _, params = make_params(F32)
    tparams = torch_clone(params)
    opt = getattr(optim, cls)(params, lr=1.0, weight_decay=0.0)
    topt = getattr(torch.optim, cls)(tparams, lr=1.0, weight_decay=0.0)
    before = [p.data.copy() for p in params]
    set_grads(params, tparams, 0)
    opt.step()
    topt.step()
    for p, tp, b in zip(params, tparams, before):
        expected = -np.sign(p.grad.astype(F64))
        np.testing.assert_allclose(tp.detach().numpy() - b, expected, rtol=1e-6, atol=0)  # torch does this
        np.testing.assert_allclose(p.data - b, expected, rtol=1e-6, atol=0)


def test_plain_sgd_rule_by_hand():
    _, params = make_params(F64)
    before = [p.data.copy() for p in params]
    grads = [np.full(p.shape, 0.5) for p in params]
    opt = optim.SGD(params, lr=0.2, weight_decay=0.1)
    for p, g in zip(params, grads):
        p.grad[...] = g
    opt.step()
    for p, b, g in zip(params, before, grads):
        np.testing.assert_allclose(p.data, b - 0.2 * (g + 0.1 * b), rtol=1e-14)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps, c: optim.SGD(ps, lr=0.1, momentum=0.9, clip_value=c),
        lambda ps, c: optim.Adam(ps, lr=0.01, clip_value=c),
        lambda ps, c: optim.RMSprop(ps, lr=0.01, clip_value=c),
    ],
    ids=["sgd", "adam", "rmsprop"],
)
def test_clip_value_matches_torch_clip_grad_value(make):
    torch = _torch()
    _, params = make_params(F64)
    rng = np.random.default_rng(3)
    grads = [rng.normal(scale=2.0, size=p.shape) for p in params]  # many elements beyond +-1
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    opt = make(params, 1.0)
    topt = {
        "SGD": lambda: torch.optim.SGD(tparams, lr=0.1, momentum=0.9),
        "Adam": lambda: torch.optim.Adam(tparams, lr=0.01),
        "RMSprop": lambda: torch.optim.RMSprop(tparams, lr=0.01),
    }[type(opt).__name__]()
    for _ in range(3):
        for p, tp, g in zip(params, tparams, grads):
            p.grad[...] = g
            tp.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_value_(tparams, 1.0)
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert opt.param_groups[0]["clip_value"] == 1.0


def test_clip_value_zero_is_off_and_negative_is_rejected():
    _, params = make_params(F64)
    before = [p.data.copy() for p in params]
    opt = optim.SGD(params, lr=0.1, clip_value=0.0)
    for p in params:
        p.grad[...] = 5.0
    opt.step()
    for p, b in zip(params, before):
        np.testing.assert_allclose(p.data, b - 0.5)
    with pytest.raises(ValueError, match="clip_value"):
        optim.SGD(params, lr=0.1, clip_value=-1.0)
    with pytest.raises(ValueError, match="clip_value"):
        optim.SGD(params, lr=0.1, clip_value=float("nan"))


def test_step_does_not_zero_gradients_and_zero_grad_does():
    _, params = make_params(F32)
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad[...] = 2.0
    opt.step()
    assert all((p.grad == 2.0).all() for p in params)
    opt.zero_grad()
    assert all(not p.grad.any() for p in params)


def test_untrainable_parameter_is_not_updated():
    _, params = make_params(F32)
    params[0].trainable = False
    frozen = params[0].data.copy()
    moving = params[1].data.copy()
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad[...] = 1.0
    opt.step()
    np.testing.assert_array_equal(params[0].data, frozen)
    np.testing.assert_allclose(params[1].data, moving - 0.1, rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# Parameter groups
# ------------------------------------------------------------------------------------------------


def _model(dtype=F32):
    model = nn.Sequential(
        [
            nn.Dense(4, 5, dtype=dtype),
            nn.BatchNorm1d(5, dtype=dtype),
            nn.ReLU(dtype=dtype),
            nn.Dense(5, 2, dtype=dtype),
        ],
        seed=0,
    )
    r = np.random.default_rng(7)
    for p in model.parameters():
        p.data[...] = r.standard_normal(p.shape)
    return model


def _step_model_and_torch(opt, topt, params, tparams, steps, seed=300):
    for step in range(steps):
        set_grads(params, tparams, step, seed=seed)
        opt.step()
        topt.step()


def _tp(model, tparams, selected):
    ids = [id(p) for p in model.parameters()]
    return [tparams[ids.index(id(p))] for p in selected]


def test_param_groups_by_tag_with_different_lrs():
    torch = _torch()
    model = _model()
    params = model.parameters()
    tparams = torch_clone(params)
    bn = model.parameters(tags=["bn_weight", "bn_bias"])
    rest = model.parameters(exclude_tags=["bn_weight", "bn_bias"])
    assert len(bn) == 2 and len(rest) == 4
    assert {p.tag for p in bn} == {"bn_weight", "bn_bias"} and not {p.tag for p in rest} & {"bn_weight", "bn_bias"}
    opt = optim.SGD([{"params": bn, "lr": 0.5}, {"params": rest}], lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(
        [{"params": _tp(model, tparams, bn), "lr": 0.5}, {"params": _tp(model, tparams, rest)}], lr=0.01, momentum=0.9
    )
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.9
    _step_model_and_torch(opt, topt, params, tparams, 4)
    assert_params_match(params, tparams, F32, "tag groups")


def test_groups_by_tag_helper_and_per_group_options():
    torch = _torch()
    model = _model()
    params = model.parameters()
    tparams = torch_clone(params)
    groups = optim.groups_by_tag(
        params,
        {
            "bias": {"lr": 0.001, "weight_decay": 0.0},
            "bn_weight": {"lr": 0.1, "betas": (0.5, 0.6)},
            "not_a_tag": {"lr": 9.0},
        },
    )
    assert len(groups) == 3  # the empty "not_a_tag" group is dropped; one group for the rest
    assert [len(g["params"]) for g in groups] == [2, 1, 3]
    assert all(p.tag == "bias" for p in groups[0]["params"])
    opt = optim.Adam(groups, lr=0.01, weight_decay=0.1)
    tgroups = [dict(g, params=_tp(model, tparams, g["params"])) for g in groups]
    topt = torch.optim.Adam(tgroups, lr=0.01, weight_decay=0.1)
    assert opt.param_groups[1]["betas"] == (0.5, 0.6)
    assert opt.param_groups[2]["weight_decay"] == 0.1
    _step_model_and_torch(opt, topt, params, tparams, 5)
    assert_params_match(params, tparams, F32, "groups_by_tag")


def test_model_parameters_selection_by_layer():
    model = _model()
    assert len(model.parameters(layers=[0])) == 2
    assert len(model.parameters(layers=[nn.Dense])) == 4
    assert [p.tag for p in model.parameters(layers=[nn.BatchNorm1d])] == ["bn_weight", "bn_bias"]
    assert [p.tag for p in model.parameters(tags="weight")] == ["weight", "weight"]


def test_setting_group_lr_takes_effect():
    torch = _torch()
    model = _model()
    params = model.parameters()
    tparams = torch_clone(params)
    opt = optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.2}], lr=0.1, momentum=0.5)
    topt = torch.optim.SGD([{"params": tparams[:2]}, {"params": tparams[2:], "lr": 0.2}], lr=0.1, momentum=0.5)
    _step_model_and_torch(opt, topt, params, tparams, 2)
    opt.param_groups[0]["lr"] = 0.03
    topt.param_groups[0]["lr"] = 0.03
    opt.param_groups[1]["lr"] = 0.0
    topt.param_groups[1]["lr"] = 0.0
    assert opt.param_groups[0]["lr"] == 0.03
    assert opt.param_groups[0]["initial_lr"] == 0.1  # construction-time value, what schedulers scale
    frozen = [p.data.copy() for p in params[2:]]
    _step_model_and_torch(opt, topt, params, tparams, 3, seed=400)
    assert_params_match(params, tparams, F32, "after lr change")
    for p, f in zip(params[2:], frozen):
        np.testing.assert_array_equal(p.data, f)  # lr 0 freezes the group


def test_setting_other_group_options_takes_effect():
    torch = _torch()
    _, params = make_params(F32)
    tparams = torch_clone(params)
    opt = optim.Adam(params, lr=0.01)
    topt = torch.optim.Adam(tparams, lr=0.01)
    _step_model_and_torch(opt, topt, params, tparams, 2)
    for o in (opt, topt):
        o.param_groups[0]["betas"] = (0.8, 0.99)
        o.param_groups[0]["weight_decay"] = 0.2
        o.param_groups[0]["eps"] = 1e-4
    _step_model_and_torch(opt, topt, params, tparams, 3, seed=500)
    assert_params_match(params, tparams, F32, "after option change")


def test_group_view_mapping_interface():
    _, params = make_params(F32)
    opt = optim.RMSprop(params, lr=0.02, centered=True)
    g = opt.param_groups[0]
    assert set(g) == {"params", "lr", "alpha", "eps", "weight_decay", "momentum", "centered", "clip_value"}
    assert len(g) == 8
    assert g["params"] == params
    assert g["centered"] is True and g["alpha"] == pytest.approx(0.99)
    with pytest.raises(KeyError):
        g["betas"]
    with pytest.raises(KeyError):
        g["betas"] = (0.9, 0.99)
    with pytest.raises(TypeError):
        del g["lr"]
    with pytest.raises(ValueError):
        g["lr"] = -0.1
    assert g["lr"] == pytest.approx(0.02)
    sd = opt.state_dict()
    assert sd["steps"] == 0 and sd["param_groups"][0]["lr"] == pytest.approx(0.02)


@pytest.mark.parametrize(
    "make,key,value",
    [
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5), "momentum", 1.5),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5), "dampening", 2.0),
        (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5, nesterov=True), "momentum", 0.0),
        (lambda ps: optim.RMSprop(ps), "alpha", 3.0),
        (lambda ps: optim.Adam(ps), "eps", 0.0),
    ],
    ids=["sgd-momentum-1.5", "sgd-dampening-2", "sgd-nesterov-momentum-0", "rmsprop-alpha-3", "adam-eps-0"],
)
def test_setting_bad_group_option_raises(make, key, value):
    # Rejecting the value on assignment or on the next step() are both fine; using it is not.
    _, params = make_params(F32)
    opt = make(params)
    for p in params:
        p.grad[...] = 1.0
    before = [p.data.copy() for p in params]
    try:
        opt.param_groups[0][key] = value
    except ValueError:
        return
    with pytest.raises(ValueError):
        opt.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)  # a rejected step leaves the parameters alone


_ENABLE_LATER = """
import numpy as np
from bionn import nn, optim
layer = nn.Dense(200, 200, dtype=np.float64)
params = layer.parameters()
opt = optim.{make}
try:
    opt.param_groups[0]["{key}"] = {value}
except (ValueError, TypeError):
    raise SystemExit(0)   # refusing the change is acceptable
for p in params:
    p.data[...] = 0.0
    p.grad[...] = 1.0
for _ in range(3):
    opt.step()
{check}
"""
# SGD, lr 0.1, momentum 0.9 from the first step on, gradient 1: buffers 1, 1.9, 2.71 -> p = -0.561 (as torch).
_SGD_CHECK = "assert all(np.allclose(p.data, -0.561, rtol=1e-12) for p in params), params[0].data.ravel()[:3]"
# Adam, lr 1e-3, constant gradient 1: each step moves by lr (m_hat = v_hat = 1), amsgrad or not.
_ADAM_CHECK = "assert all(np.allclose(p.data, -3e-3, rtol=1e-6) for p in params), params[0].data.ravel()[:3]"


@pytest.mark.parametrize(
    "make,key,value,check",
    [
        ("SGD(params, lr=0.1)", "momentum", 0.9, _SGD_CHECK),
        ("Adam(params, lr=1e-3, amsgrad=False)", "amsgrad", True, _ADAM_CHECK),
    ],
    ids=["sgd-momentum", "adam-amsgrad"],
)
def test_enabling_stateful_option_later_does_not_crash(make, key, value, check):
    code = _ENABLE_LATER.format(make=make, key=key, value=value, check=check)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"child exited with {proc.returncode}: {proc.stderr[-400:]}"


# ------------------------------------------------------------------------------------------------
# Clamps
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.5, momentum=0.9),
        lambda ps: optim.Adam(ps, lr=0.3),
        lambda ps: optim.RMSprop(ps, lr=0.3, centered=True),
    ],
)
def test_clamp_applied_after_every_step(make):
    torch = _torch()
    _, params = make_params(F32)
    for p in params:
        p.data[...] = np.clip(p.data, -0.2, 0.3)
    tparams = torch_clone(params)
    params[0].set_clamp(-0.2, 0.3)
    params[2].set_clamp(min=0.05)
    params[3].set_clamp(max=-0.1)  # clamps the current values right away
    assert (params[3].data <= -0.1).all()
    assert params[0].clamp == (-0.2, 0.3) and params[2].clamp == (0.05, np.inf)
    assert params[1].clamp == (-np.inf, np.inf)
    with torch.no_grad():
        tparams[3].clamp_(max=-0.1)
        tparams[2].clamp_(min=0.05)
    opt = make(params)
    name = type(opt).__name__
    kwargs = {"SGD": dict(lr=0.5, momentum=0.9), "Adam": dict(lr=0.3), "RMSprop": dict(lr=0.3, centered=True)}[name]
    topt = getattr(torch.optim, name)(tparams, **kwargs)
    hit = False
    for step in range(5):
        set_grads(params, tparams, step, seed=600)
        opt.step()
        topt.step()
        with torch.no_grad():
            tparams[0].clamp_(-0.2, 0.3)
            tparams[2].clamp_(min=0.05)
            tparams[3].clamp_(max=-0.1)
        assert params[0].data.min() >= np.float32(-0.2) and params[0].data.max() <= np.float32(0.3)
        assert params[2].data.min() >= np.float32(0.05)
        assert params[3].data.max() <= np.float32(-0.1)
        hit |= bool(np.isin(params[0].data, [np.float32(-0.2), np.float32(0.3)]).any())
        # Steps of ~0.3 cancel the values to ~0 here, so compare absolutely at 1e-5 of a few steps.
        assert_params_match(params, tparams, F32, f"clamped step {step}", atol=2e-5)
    assert hit, "the bounds were never reached; the test would not see a missing clamp"


def test_bad_clamps_raise():
    _, params = make_params(F32)
    with pytest.raises(ValueError):
        params[0].set_clamp(1.0, -1.0)
    with pytest.raises(ValueError):
        params[0].set_clamp(float("nan"), 1.0)


# ------------------------------------------------------------------------------------------------
# Schedulers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["step", "step1", "exp"])
def test_scheduler_lr_sequence_matches_torch(kind):
    torch = _torch()
    model = _model()
    params = model.parameters()
    tparams = torch_clone(params)
    opt = optim.SGD([{"params": params[:3], "lr": 0.3}, {"params": params[3:]}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": tparams[:3], "lr": 0.3}, {"params": tparams[3:]}], lr=0.1, momentum=0.9)
    if kind == "step":
        sched, tsched = optim.StepLR(opt, step_size=3, gamma=0.5), torch.optim.lr_scheduler.StepLR(topt, 3, 0.5)
    elif kind == "step1":
        sched, tsched = optim.StepLR(opt, 1, gamma=0.9), torch.optim.lr_scheduler.StepLR(topt, 1, gamma=0.9)
    else:
        sched, tsched = optim.ExponentialLR(opt, gamma=0.8), torch.optim.lr_scheduler.ExponentialLR(topt, 0.8)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
    seen = []
    for epoch in range(10):
        set_grads(params, tparams, epoch, seed=700)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert sched.last_epoch == tsched.last_epoch == epoch + 1
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        np.testing.assert_allclose(
            [g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups], rtol=1e-12
        )
        seen.append(sched.get_last_lr()[1])
    assert len(set(np.round(seen, 12))) > 1  # the lr really changed
    assert_params_match(params, tparams, F32, f"{kind} scheduled SGD")


def test_step_lr_closed_form():
    _, params = make_params(F32)
    opt = optim.Adam(params, lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(6):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [1.0, 0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-12)


def test_bad_scheduler_arguments():
    _, params = make_params(F32)
    opt = optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError):
        optim.StepLR(opt, step_size=2, gamma=0.0)
    with pytest.raises(ValueError):
        optim.ExponentialLR(opt, gamma=-0.5)
    with pytest.raises(TypeError):
        optim.StepLR(opt, step_size=2.5)
    with pytest.raises(TypeError):
        optim.ExponentialLR(object(), gamma=0.9)


# ------------------------------------------------------------------------------------------------
# Validation of hyper-parameters and parameter lists
# ------------------------------------------------------------------------------------------------

BAD_VALUE = [
    ("neg lr sgd", lambda ps: optim.SGD(ps, lr=-0.1)),
    ("neg lr adam", lambda ps: optim.Adam(ps, lr=-1e-3)),
    ("neg lr rmsprop", lambda ps: optim.RMSprop(ps, lr=-1e-3)),
    ("nan lr", lambda ps: optim.SGD(ps, lr=float("nan"))),
    ("inf lr", lambda ps: optim.SGD(ps, lr=float("inf"))),
    ("momentum 1", lambda ps: optim.SGD(ps, lr=0.1, momentum=1.0)),
    ("momentum 2", lambda ps: optim.SGD(ps, lr=0.1, momentum=2.0)),
    ("neg momentum", lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.1)),
    ("rmsprop momentum 1", lambda ps: optim.RMSprop(ps, momentum=1.0)),
    ("dampening > 1", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5, dampening=1.5)),
    ("nesterov no momentum", lambda ps: optim.SGD(ps, lr=0.1, nesterov=True)),
    ("nesterov dampening", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("neg weight decay", lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-0.01)),
    ("adamw neg weight decay", lambda ps: optim.AdamW(ps, weight_decay=-0.01)),
    ("beta1 = 1", lambda ps: optim.Adam(ps, betas=(1.0, 0.999))),
    ("beta2 = 1", lambda ps: optim.Adam(ps, betas=(0.9, 1.0))),
    ("neg beta", lambda ps: optim.Adam(ps, betas=(-0.1, 0.999))),
    ("beta > 1", lambda ps: optim.AdamW(ps, betas=(0.9, 1.5))),
    ("one beta", lambda ps: optim.Adam(ps, betas=(0.9,))),
    ("three betas", lambda ps: optim.Adam(ps, betas=(0.9, 0.99, 0.999))),
    ("eps 0", lambda ps: optim.Adam(ps, eps=0.0)),
    ("neg eps", lambda ps: optim.RMSprop(ps, eps=-1e-8)),
    ("alpha > 1", lambda ps: optim.RMSprop(ps, alpha=1.5)),
    ("neg alpha", lambda ps: optim.RMSprop(ps, alpha=-0.5)),
    ("unknown group option", lambda ps: optim.SGD([{"params": ps, "betas": (0.9, 0.9)}], lr=0.1)),
    (
        "bad option in second group",
        lambda ps: optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "momentum": 1.0}], lr=0.1),
    ),
    ("bad lr in a group", lambda ps: optim.Adam([{"params": ps, "lr": -1.0}])),
    ("group without params", lambda ps: optim.SGD([{"lr": 0.1}], lr=0.1)),
    ("empty list", lambda ps: optim.SGD([], lr=0.1)),
    ("empty group", lambda ps: optim.SGD([{"params": []}], lr=0.1)),
    ("duplicate across groups", lambda ps: optim.SGD([{"params": ps[:3]}, {"params": ps[2:]}], lr=0.1)),
    ("duplicate in a group", lambda ps: optim.Adam([ps[0], ps[1], ps[0]])),
]


@pytest.mark.parametrize("name,make", BAD_VALUE, ids=[b[0] for b in BAD_VALUE])
def test_bad_hyper_parameters_raise_value_error(name, make):
    _, params = make_params(F32)
    with pytest.raises(ValueError):
        make(params)


BAD_TYPE = [
    ("unknown keyword", lambda ps: optim.SGD(ps, lr=0.1, betas=(0.9, 0.99))),
    ("unknown keyword adam", lambda ps: optim.Adam(ps, momentum=0.9)),
    ("string lr", lambda ps: optim.SGD(ps, lr="0.1")),
    ("bool lr", lambda ps: optim.SGD(ps, lr=True)),
    ("single parameter", lambda ps: optim.SGD(ps[0], lr=0.1)),
    ("not iterable", lambda ps: optim.SGD(42, lr=0.1)),
    ("arrays not parameters", lambda ps: optim.SGD([p.data for p in ps], lr=0.1)),
    ("mixed groups and params", lambda ps: optim.SGD([{"params": ps[:1]}, ps[1]], lr=0.1)),
]


@pytest.mark.parametrize("name,make", BAD_TYPE, ids=[b[0] for b in BAD_TYPE])
def test_bad_arguments_raise_type_error(name, make):
    _, params = make_params(F32)
    with pytest.raises(TypeError):
        make(params)


def test_mixed_dtypes_raise_type_error():
    _, p32 = make_params(F32)
    _, p64 = make_params(F64)
    with pytest.raises(TypeError):
        optim.SGD(p32[:1] + p64[:1], lr=0.1)


def test_defaults_match_torch():
    torch = _torch()
    _, params = make_params(F32)
    tparams = torch_clone(params)
    for mine, theirs, keys in [
        (
            optim.SGD(params),
            torch.optim.SGD(tparams, lr=0.01),
            ["lr", "momentum", "dampening", "nesterov", "weight_decay"],
        ),
        (optim.Adam(params), torch.optim.Adam(tparams), ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
        (optim.AdamW(params), torch.optim.AdamW(tparams), ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
        (
            optim.RMSprop(params),
            torch.optim.RMSprop(tparams),
            ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
        ),
    ]:
        for k in keys:
            assert mine.param_groups[0][k] == pytest.approx(theirs.param_groups[0][k]), (type(mine).__name__, k)


def test_adam_variants_by_hand_and_reset_state():
    """bias_correction=False, eps_inside_sqrt=True and decay_after_step=True (the amplifying-neuron
    authors' Adam) against the rule written out; reset_state makes the next step a first step."""
    from bionn import nn

    p = nn.Dense(3, 1, bias=False, dtype=np.float64).parameters()[0]
    p.data[...] = [[0.5, -1.0, 2.0]]
    opt = optim.AdamW(
        [p],
        lr=0.05,
        betas=(0.8, 0.9),
        eps=1e-3,
        weight_decay=0.1,
        bias_correction=False,
        eps_inside_sqrt=True,
        decay_after_step=True,
    )
    w, m, v = p.data[0].copy(), np.zeros(3), np.zeros(3)
    for g in ([0.2, -0.1, 0.0], [0.05, 0.3, -0.2]):
        g = np.array(g)
        p.grad[...] = g
        opt.step()
        m, v = 0.8 * m + 0.2 * g, 0.9 * v + 0.1 * g * g
        w = w - 0.05 * m / np.sqrt(v + 1e-3)
        w = w - 0.05 * 0.1 * w
        np.testing.assert_allclose(p.data[0], w, rtol=1e-13)
    assert opt.param_groups[0]["bias_correction"] is False and opt.param_groups[0]["decay_after_step"] is True
    opt.reset_state()
    assert all(not a.any() for a in opt.state_dict()["state"])
    with pytest.raises(TypeError, match="bias_correction must be a bool"):
        optim.Adam([p], bias_correction=1)
    with pytest.raises(TypeError, match="decay_after_step"):
        optim.Adam([p], decay_after_step=True)
