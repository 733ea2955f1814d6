"""Adversarial attacks (bionn.attacks): FGSM/PGD parity with a direct PyTorch implementation on the
same weights (same start noise), projection and seeding, black-box via a surrogate, evaluate_robustness,
and clear errors for bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import attacks, losses, nn, optim
from gradcheck import rng

F64 = np.float64


def cnn(seed=0, dtype=F64, flexible=False):
    first = (
        nn.FlexibleConv2d(1, 3, 3, input_size=(8, 8), threshold_mode="learned", threshold=0.6, dtype=dtype)
        if flexible
        else nn.Conv2d(1, 3, 3, dtype=dtype)
    )
    return nn.Sequential(
        [
            first,
            nn.Sigmoid(dtype=dtype) if flexible else nn.ReLU(dtype=dtype),
            nn.Flatten(dtype=dtype),
            nn.Dense(3 * 36, 4, dtype=dtype),
        ],
        seed=seed,
    )


def data(n=60, seed=1):
    x = rng(seed).uniform(0, 1, (n, 1, 8, 8))
    # A learnable rule: the class is which quadrant is brightest.
    q = np.stack(
        [
            x[:, 0, :4, :4].mean((1, 2)),
            x[:, 0, :4, 4:].mean((1, 2)),
            x[:, 0, 4:, :4].mean((1, 2)),
            x[:, 0, 4:, 4:].mean((1, 2)),
        ],
        1,
    )
    return x, q.argmax(1)


def trained(flexible=False, seed=0, dtype=F64):
    model = cnn(seed, dtype, flexible)
    x, y = data(200, seed=5)
    model.fit(
        x,
        y,
        loss=losses.CrossEntropy(),
        optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        epochs=15,
        batch_size=20,
    )
    return model


def torch_model(torch, model, flexible=False):
    """The same network in PyTorch, sharing model's weights (float64)."""
    F = torch.nn.functional
    p = {
        f"{i}.{q.name}": torch.tensor(q.data.copy()) for i, layer in enumerate(model.layers) for q in layer.parameters()
    }

    def forward(x):
        if flexible:
            f_conv = F.conv2d(x, p["0.weight"], p["0.bias"])
            f_max = F.max_pool2d(x, 3, 1)
            d = p["0.threshold"] - f_max
            h = torch.sigmoid(torch.sigmoid(d * 50) * f_max + torch.sigmoid(-d * 50) * f_conv)  # Eq. 1, Sigmoid
        else:
            h = torch.relu(F.conv2d(x, p["0.weight"], p["0.bias"]))
        return F.linear(h.flatten(1), p["3.weight"], p["3.bias"])

    return forward


def torch_pgd(torch, forward, x, y, eps, alpha, steps, start):
    """PGD as in the TRADES scripts / torchattacks, with the start perturbation given."""
    x = torch.tensor(x)
    y = torch.tensor(y)
    adv = torch.clamp(x + torch.tensor(start).clamp(-eps, eps), 0, 1) if start is not None else x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(forward(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + alpha * grad.sign()
        adv = torch.clamp(torch.min(torch.max(adv, x - eps), x + eps), 0, 1)
    return adv.detach()


def torch_accuracy(torch, forward, x, y):
    with torch.no_grad():
        return float((forward(torch.as_tensor(x)).argmax(1).numpy() == y).mean())


# ------------------------------------------------------------------------------------------------
# Parity with PyTorch on the same weights
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flexible", [False, True])
def test_fgsm_matches_pytorch(flexible):
    torch = pytest.importorskip("torch")
    model = trained(flexible)
    x, y = data(100, seed=9)
    fwd = torch_model(torch, model, flexible)
    for eps in (0.03, 0.1):
        ours = attacks.fgsm(model, x, y, eps)
        ref = torch_pgd(torch, fwd, x, y, eps, eps, 1, None).numpy()
        assert np.mean(ours != ref) < 1e-3  # a gradient exactly at 0 may round either way
        np.testing.assert_allclose(ours, ref, atol=2 * eps)
        assert attacks.accuracy(model, ours, y) == torch_accuracy(torch, fwd, ref, y)
    # The attack works: accuracy drops.
    assert attacks.accuracy(model, attacks.fgsm(model, x, y, 0.1), y) < attacks.accuracy(model, x, y)


@pytest.mark.parametrize("flexible", [False, True])
def test_pgd_matches_pytorch_with_the_same_start(flexible):
    torch = pytest.importorskip("torch")
    model = trained(flexible)
    x, y = data(100, seed=10)
    eps, alpha, steps = 0.1, 0.02, 10
    start = rng(11).uniform(-eps, eps, x.shape)
    ours = attacks.pgd(model, x, y, eps, alpha, steps, start=start)
    ref = torch_pgd(torch, torch_model(torch, model, flexible), x, y, eps, alpha, steps, start).numpy()
    assert np.mean(np.abs(ours - ref) > 1e-9) < 1e-2
    assert attacks.accuracy(model, ours, y) == torch_accuracy(torch, torch_model(torch, model, flexible), ref, y)
    assert attacks.accuracy(model, ours, y) < attacks.accuracy(model, x, y)


# ------------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------------


def test_pgd_projection_seeding_and_batching():
    model = trained()
    x, y = data(50, seed=12)
    eps = 0.05
    a = attacks.pgd(model, x, y, eps, 0.01, 5, seed=3)
    assert np.all(np.abs(a - x) <= eps + 1e-12) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, attacks.pgd(model, x, y, eps, 0.01, 5, seed=3, batch_size=7))
    assert not np.array_equal(a, attacks.pgd(model, x, y, eps, 0.01, 5, seed=4))
    start_only = attacks.pgd(model, x, y, eps, 0.01, 0, seed=3)  # steps=0: the random start
    assert 0 < np.abs(start_only - x).max() <= eps
    np.testing.assert_array_equal(attacks.pgd(model, x, y, eps, 0.01, 0, random_start=False), x)


def test_attack_leaves_parameter_gradients_untouched():
    model = trained()
    x, y = data(20)
    for p in model.parameters():
        p.grad[...] = 0.25
    attacks.pgd(model, x, y, 0.05, 0.01, 3)
    assert all(np.all(p.grad == 0.25) for p in model.parameters())


def test_black_box_uses_the_surrogate_gradients():
    target, surrogate = trained(seed=0), trained(seed=1)
    x, y = data(40, seed=13)
    bb = attacks.pgd(target, x, y, 0.1, 0.02, 5, seed=2, surrogate=surrogate)
    np.testing.assert_array_equal(bb, attacks.pgd(surrogate, x, y, 0.1, 0.02, 5, seed=2))
    assert not np.array_equal(bb, attacks.pgd(target, x, y, 0.1, 0.02, 5, seed=2))
    np.testing.assert_array_equal(
        attacks.fgsm(target, x, y, 0.1, surrogate=surrogate), attacks.fgsm(surrogate, x, y, 0.1)
    )
    rob = attacks.evaluate_robustness(
        target, x, y, eps=[0.1], attack="pgd", alpha=0.02, steps=5, seed=2, surrogate=surrogate
    )
    assert rob[0.1] == attacks.accuracy(target, bb, y)


def test_attack_classes_follow_torchattacks_conventions():
    model = trained()
    x, y = data(30, seed=14)
    atk = attacks.PGD(model, eps=0.05, alpha=0.01, steps=4, seed=5)
    first, second = atk(x, y), atk(x, y)
    assert not np.array_equal(first, second)  # a new random start per call
    np.testing.assert_array_equal(first, attacks.pgd(model, x, y, 0.05, 0.01, 4, seed=5))
    np.testing.assert_array_equal(attacks.FGSM(model, eps=0.05)(x, y), attacks.fgsm(model, x, y, 0.05))
    assert "eps=0.05" in repr(atk)


def test_evaluate_robustness():
    model = trained()
    x, y = data(80, seed=15)
    rob = attacks.evaluate_robustness(model, x, y, eps=[0, 0.05, 0.2])
    assert list(rob) == [0.0, 0.05, 0.2]
    assert rob[0.0] == attacks.accuracy(model, x, y)
    assert rob[0.2] < rob[0.0]
    assert attacks.evaluate_robustness(model, x, y, eps=0.05)[0.05] == rob[0.05]
    assert set(attacks.evaluate_robustness(model, x, y, eps=[0.05], attack="pgd", steps=3, repeats=2)) == {0.05}


def test_random_threshold_model_can_be_attacked():
    model = nn.Sequential(
        [
            nn.FlexibleConv2d(1, 3, 3, input_size=(8, 8), threshold_mode="random"),
            nn.Sigmoid(),
            nn.Flatten(),
            nn.Dense(108, 4),
        ],
        seed=0,
    )
    x, y = data(20)
    adv = attacks.pgd(model, x, y, 0.05, 0.01, 3)
    assert adv.dtype == np.float32 and np.all(np.abs(adv - x.astype(np.float32)) <= 0.05 + 1e-6)


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(eps=-0.1), ValueError, "eps"),
        (dict(eps=float("nan")), ValueError, "eps"),
        (dict(eps="0.1"), TypeError, "eps"),
        (dict(steps=-1), ValueError, "steps"),
        (dict(steps=2.5), TypeError, "steps"),
        (dict(alpha=0.0), ValueError, "alpha"),
        (dict(alpha=-1.0), ValueError, "alpha"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(clip=(1, 0)), ValueError, "clip"),
        (dict(clip=0.5), TypeError, "clip"),
        (dict(start=np.zeros((3, 1, 8, 8))), ValueError, "start"),
        (dict(surrogate="model"), TypeError, "surrogate"),
    ],
)
def test_pgd_argument_errors(kwargs, exc, match):
    model = cnn()
    x, y = data(5)
    with pytest.raises(exc, match=match):
        attacks.pgd(model, x, y, **kwargs)


def test_input_and_model_errors():
    model = cnn()
    x, y = data(5)
    with pytest.raises(TypeError, match="input gradient"):
        attacks.fgsm(lambda v: v, x, y, 0.1)
    with pytest.raises(ValueError, match="valid range"):
        attacks.fgsm(model, x + 1.5, y, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        attacks.fgsm(model, np.full_like(x, np.nan), y, 0.1)
    with pytest.raises(ValueError, match="labels"):
        attacks.fgsm(model, x, y[:3], 0.1)
    with pytest.raises(ValueError):
        attacks.fgsm(model, x[:, :, :6, :6], y, 0.1)  # wrong image size for the model
    with pytest.raises(ValueError, match="logits"):
        attacks.fgsm(nn.Sequential([nn.Conv2d(1, 2, 3)]), x, y, 0.1)
    with pytest.raises(ValueError, match="attack"):
        attacks.evaluate_robustness(model, x, y, attack="cw")
    with pytest.raises(ValueError, match="empty"):
        attacks.evaluate_robustness(model, x, y, eps=[])
    with pytest.raises(TypeError, match="dtype|float"):
        attacks.fgsm(model, x, y, 0.1, surrogate=cnn(dtype=np.float32))
    with pytest.raises(ValueError, match="repeats"):
        attacks.evaluate_robustness(model, x, y, repeats=0)


def test_attack_defaults_are_one_set():
    """Issue 16: pgd, PGD, fgsm, FGSM and evaluate_robustness(attack="pgd") share attacks.DEFAULTS
    (evaluate_robustness used 20 steps while pgd used 10)."""
    import inspect

    d = attacks.DEFAULTS
    for fn in (attacks.pgd, attacks.PGD.__init__, attacks.fgsm, attacks.FGSM.__init__, attacks.evaluate_robustness):
        params = inspect.signature(fn).parameters
        for name in set(d) & set(params):
            if fn is attacks.evaluate_robustness and name == "eps":
                continue  # a grid of eps
            assert params[name].default == d[name], (fn.__qualname__, name, params[name].default, d[name])
    assert d["alpha"] is None  # eps / 4 for every eps: 2/255 at the default 8/255, as torchattacks
    model = cnn()
    x, y = data(6)
    np.testing.assert_array_equal(attacks.pgd(model, x, y, 0.1), attacks.pgd(model, x, y, 0.1, 0.025))
    np.testing.assert_array_equal(attacks.PGD(model, eps=0.1)(x, y), attacks.pgd(model, x, y, 0.1, 0.025))
    np.testing.assert_array_equal(attacks.pgd(model, x, y), attacks.pgd(model, x, y, 8 / 255, 2 / 255))
    eps = d["eps"]
    via_eval = attacks.evaluate_robustness(model, x, y, eps=[eps], attack="pgd")[eps]
    adv = attacks.pgd(model, x, y)
    assert via_eval == attacks.accuracy(model, adv, y)


@pytest.mark.parametrize("attack", ["fgsm", "pgd", "evaluate_robustness"])
def test_attacks_refuse_float_and_column_labels(attack):
    """Issue 16: float labels and (n, 1) labels were accepted silently."""
    model = cnn()
    x, y = data(5)
    run = {
        "fgsm": lambda lab: attacks.fgsm(model, x, lab, 0.1),
        "pgd": lambda lab: attacks.pgd(model, x, lab, 0.1, 0.02, 2),
        "evaluate_robustness": lambda lab: attacks.evaluate_robustness(model, x, lab, eps=[0.1]),
    }[attack]
    run(y)  # integer labels work
    with pytest.raises(TypeError, match="labels.*integer"):
        run(y.astype(np.float64))
    with pytest.raises(ValueError, match="labels.*1-D"):
        run(y.reshape(-1, 1))
