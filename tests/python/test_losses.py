"""Loss tests: finite-difference gradient checks (float64), PyTorch parity, stability, bad labels."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import losses
from gradcheck import check_loss, rng

F64 = np.float64
F32 = np.float32


# ------------------------------------------------------------------------------------------------
# Gradient checks (float64)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("n,c", [(1, 3), (5, 4), (3, 10)])
def test_gradcheck_cross_entropy(n, c, smoothing):
    logits = rng(n * c).standard_normal((n, c)) * 2
    labels = rng(n + c).integers(0, c, size=n)
    check_loss(losses.CrossEntropy(label_smoothing=smoothing), logits, labels)


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 2, 2), (6,)])
def test_gradcheck_mse(shape):
    r = rng(len(shape))
    check_loss(losses.MSE(), r.standard_normal(shape), r.standard_normal(shape))


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 2, 2)])
def test_gradcheck_l1(shape):
    r = rng(10 + len(shape))
    target = r.standard_normal(shape)
    # Keep |pred - target| >= 0.05 so no difference crosses the kink at 0.
    diff = r.uniform(0.05, 1.0, size=shape) * r.choice([-1.0, 1.0], size=shape)
    check_loss(losses.L1(), target + diff, target)


@pytest.mark.parametrize("shape", [(1, 1), (5, 2), (2, 3, 4)])
def test_gradcheck_bce_with_logits(shape):
    r = rng(20 + len(shape))
    logits = r.standard_normal(shape) * 3
    targets = r.uniform(0, 1, size=shape)
    targets.reshape(-1)[0] = 0.0
    targets.reshape(-1)[-1] = 1.0
    check_loss(losses.BCEWithLogits(), logits, targets)


def test_gradcheck_detects_wrong_loss_gradient():
    class Wrong(losses.MSE):
        def backward(self):
            return super().backward() * 1.001

    with pytest.raises(AssertionError):
        check_loss(Wrong(), rng(0).standard_normal((3, 2)), rng(1).standard_normal((3, 2)))


# ------------------------------------------------------------------------------------------------
# Known values
# ------------------------------------------------------------------------------------------------


def test_cross_entropy_known_value():
    logits = np.array([[0.0, 0.0, 0.0, 0.0], [np.log(3.0), 0.0, 0.0, 0.0]])
    loss = losses.CrossEntropy()
    value = loss(logits, [2, 0])
    assert isinstance(value, float)
    np.testing.assert_allclose(value, (np.log(4.0) + np.log(2.0)) / 2, rtol=1e-12)
    g = loss.backward()
    np.testing.assert_allclose(g, np.array([[0.25, 0.25, -0.75, 0.25], [-0.5, 1 / 6, 1 / 6, 1 / 6]]) / 2, rtol=1e-12)


def test_mse_l1_known_values():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[1.0, 0.0], [4.0, 4.0]])
    mse, l1 = losses.MSE(), losses.L1()
    assert mse(pred, target) == pytest.approx(5.0 / 4)
    np.testing.assert_allclose(mse.backward(), 2 * (pred - target) / 4)
    assert l1(pred, target) == pytest.approx(3.0 / 4)
    np.testing.assert_allclose(l1.backward(), np.array([[0.0, 1.0], [-1.0, 0.0]]) / 4)  # sign(0) = 0


def test_backward_refers_to_the_last_call():
    loss = losses.MSE()
    with pytest.raises(RuntimeError):
        loss.backward()
    loss(np.ones((2, 2)), np.zeros((2, 2)))
    loss(np.zeros((1, 3)), np.ones((1, 3)))
    np.testing.assert_allclose(loss.backward(), np.full((1, 3), -2.0 / 3))


def test_loss_follows_prediction_dtype():
    loss = losses.CrossEntropy()
    loss(np.zeros((2, 3), dtype=F32), [0, 1])
    assert loss.backward().dtype == F32
    loss(np.zeros((2, 3), dtype=F64), [0, 1])
    assert loss.backward().dtype == F64


def test_labels_in_other_forms_are_accepted():
    logits = rng(3).standard_normal((4, 3))
    loss = losses.CrossEntropy()
    ref = loss(logits, np.array([0, 2, 1, 2]))
    assert loss(logits, np.array([[0], [2], [1], [2]])) == ref
    assert loss(logits, np.array([0.0, 2.0, 1.0, 2.0])) == ref
    assert loss(logits, [0, 2, 1, 2]) == ref
    assert loss(logits, np.array([0, 2, 1, 2], dtype=np.uint8)) == ref


def test_reprs_and_configs():
    assert repr(losses.CrossEntropy()) == "CrossEntropy(label_smoothing=0.0)"
    assert repr(losses.CrossEntropy(label_smoothing=0.2)) == "CrossEntropy(label_smoothing=0.2)"
    assert repr(losses.MSE()) == "MSE()"
    assert repr(losses.BCEWithLogits()) == "BCEWithLogits()"
    assert losses.CrossEntropy(0.3).config() == {"label_smoothing": 0.3}
    assert losses.CrossEntropy.is_classification and not losses.MSE.is_classification


# ------------------------------------------------------------------------------------------------
# PyTorch parity
# ------------------------------------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _torch_value_and_grad(tloss, pred, target):
    torch = _torch()
    tp = torch.from_numpy(np.array(pred)).requires_grad_(True)
    value = tloss(tp, target)
    value.backward()
    return float(value.detach()), tp.grad.numpy()


def _assert_parity(loss, tloss, pred, target, ttarget, dtype):
    rtol = 1e-5 if dtype == F32 else 1e-10
    pred = np.asarray(pred, dtype=dtype)
    value = loss(pred, target)
    grad = loss.backward()
    assert grad.dtype == dtype
    tvalue, tgrad = _torch_value_and_grad(tloss, pred, ttarget)
    np.testing.assert_allclose(value, tvalue, rtol=rtol, atol=rtol * 1e-3)
    atol = rtol * max(np.abs(tgrad).max(), 1e-6) * 1e-1
    np.testing.assert_allclose(grad, tgrad, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.45])
@pytest.mark.parametrize("n,c", [(1, 2), (8, 5), (32, 10)])
def test_torch_cross_entropy(n, c, smoothing, dtype):
    torch = _torch()
    logits = rng(n + c).standard_normal((n, c)) * 3
    labels = rng(c).integers(0, c, size=n)
    _assert_parity(
        losses.CrossEntropy(label_smoothing=smoothing),
        torch.nn.CrossEntropyLoss(label_smoothing=smoothing),
        logits,
        labels,
        torch.from_numpy(labels.astype(np.int64)),
        dtype,
    )


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (2, 3, 4, 4), (5,)])
def test_torch_mse(shape, dtype):
    torch = _torch()
    r = rng(len(shape) + 30)
    pred, target = r.standard_normal(shape), r.standard_normal(shape).astype(dtype)
    _assert_parity(losses.MSE(), torch.nn.MSELoss(), pred, target, torch.from_numpy(target), dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (2, 3, 4, 4)])
def test_torch_l1(shape, dtype):
    torch = _torch()
    r = rng(len(shape) + 40)
    pred, target = r.standard_normal(shape).astype(dtype), r.standard_normal(shape).astype(dtype)
    pred.reshape(-1)[0] = target.reshape(-1)[0]  # a zero difference: gradient 0 in both
    _assert_parity(losses.L1(), torch.nn.L1Loss(), pred, target, torch.from_numpy(target), dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(1, 1), (9, 2), (2, 3, 4)])
def test_torch_bce_with_logits(shape, dtype):
    torch = _torch()
    r = rng(len(shape) + 50)
    logits = r.standard_normal(shape) * 4
    targets = r.uniform(0, 1, size=shape).astype(dtype)
    targets.reshape(-1)[0] = 1.0
    _assert_parity(
        losses.BCEWithLogits(), torch.nn.BCEWithLogitsLoss(), logits, targets, torch.from_numpy(targets), dtype
    )


# ------------------------------------------------------------------------------------------------
# Numerical stability
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("scale", [1e3, 1e5, 1e30])
def test_cross_entropy_huge_logits(scale, dtype):
    logits = np.array([[1.0, -1.0, 0.5], [-2.0, 3.0, 0.0], [0.0, 0.0, 1.0]]) * scale
    labels = np.array([0, 0, 2])
    loss = losses.CrossEntropy()
    value = loss(logits.astype(dtype), labels)
    grad = loss.backward()
    assert np.isfinite(value) and np.isfinite(grad).all()
    # Row 0 is right with certainty (loss 0), row 1 is wrong by 5 * scale, row 2 right (loss 0).
    np.testing.assert_allclose(value, 5 * scale / 3, rtol=1e-6)
    np.testing.assert_allclose(grad, np.array([[0, 0, 0], [-1, 1, 0], [0, 0, 0]]) / 3, atol=1e-7)
    torch = pytest.importorskip("torch")
    if scale <= 1e5:
        tv, tg = _torch_value_and_grad(torch.nn.CrossEntropyLoss(), logits.astype(dtype), torch.from_numpy(labels))
        np.testing.assert_allclose(value, tv, rtol=1e-6)
        np.testing.assert_allclose(grad, tg, atol=1e-7)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_cross_entropy_huge_logits_with_smoothing(dtype):
    torch = _torch()
    logits = (np.array([[1.0, -1.0, 0.5], [-2.0, 3.0, 0.0]]) * 1e4).astype(dtype)
    labels = np.array([0, 2])
    loss = losses.CrossEntropy(label_smoothing=0.2)
    value = loss(logits, labels)
    grad = loss.backward()
    tv, tg = _torch_value_and_grad(torch.nn.CrossEntropyLoss(label_smoothing=0.2), logits, torch.from_numpy(labels))
    assert np.isfinite(value) and np.isfinite(grad).all()
    np.testing.assert_allclose(value, tv, rtol=1e-6)
    np.testing.assert_allclose(grad, tg, atol=1e-7)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_bce_with_logits_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 1e30, -1e30, 800.0, -800.0]], dtype=dtype)
    targets = np.array([[1.0, 0.0, 1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    loss = losses.BCEWithLogits()
    value = loss(logits, targets)
    grad = loss.backward()
    assert np.isfinite(value) and np.isfinite(grad).all()
    np.testing.assert_allclose(value, 1600.0 / 6, rtol=1e-6)
    np.testing.assert_allclose(grad, np.array([[0, 0, 0, 0, 1, -1]]) / 6, atol=1e-7)
    torch = pytest.importorskip("torch")
    tv, tg = _torch_value_and_grad(torch.nn.BCEWithLogitsLoss(), logits, torch.from_numpy(targets))
    np.testing.assert_allclose(value, tv, rtol=1e-6)
    np.testing.assert_allclose(grad, tg, atol=1e-7)


def test_mse_large_values_finite():
    loss = losses.MSE()
    value = loss(np.array([[1e150, -1e150]]), np.zeros((1, 2)))
    assert value == pytest.approx(1e300, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), [[1e150, -1e150]], rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize(
    "labels",
    [
        [0, -1, 1],  # negative
        [0, 3, 1],  # == C
        [0, 1, 7],  # > C
        [0, 1.5, 1],  # not an integer
        [0, np.nan, 1],  # NaN
        [0, np.inf, 1],  # infinite
    ],
)
def test_cross_entropy_bad_labels_raise(labels, dtype):
    loss = losses.CrossEntropy()
    with pytest.raises(ValueError):
        loss(np.zeros((3, 3), dtype=dtype), np.array(labels))


def test_cross_entropy_bad_shapes_raise():
    loss = losses.CrossEntropy()
    with pytest.raises(ValueError):
        loss(np.zeros((3, 3)), [0, 1])  # too few labels
    with pytest.raises(ValueError):
        loss(np.zeros((3, 3)), np.zeros((3, 2)))  # not a label vector
    with pytest.raises(ValueError):
        loss(np.zeros((3, 3, 2)), [0, 1, 2])  # logits not 2-D
    with pytest.raises(TypeError):
        loss(np.zeros((3, 3)), np.array(["a", "b", "c"]))


def test_cross_entropy_bad_label_smoothing():
    for bad in (-0.1, 1.0, 2.0, float("nan")):
        with pytest.raises(ValueError):
            losses.CrossEntropy(label_smoothing=bad)
    with pytest.raises(TypeError):
        losses.CrossEntropy(label_smoothing="0.1")


@pytest.mark.parametrize("cls", [losses.MSE, losses.L1, losses.BCEWithLogits])
def test_regression_losses_reject_shape_mismatch_and_nan(cls):
    loss = cls()
    with pytest.raises(ValueError):
        loss(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError):
        loss(np.zeros((3, 2)), np.full((3, 2), np.nan))
    with pytest.raises(ValueError):
        loss(np.full((3, 2), np.inf), np.zeros((3, 2)))


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_bce_targets_outside_unit_interval_raise(bad):
    with pytest.raises(ValueError):
        losses.BCEWithLogits()(np.zeros((2, 2)), np.array([[0.0, 1.0], [bad, 0.5]]))


def test_linear_square_matches_its_formula_and_gradient():
    pred = np.array([[0.5], [-1.0], [3.0], [2.0]])
    target = np.array([[0.0], [1.0], [3.0], [2.5]])
    loss = losses.LinearSquare()
    e = np.abs(pred - target)
    assert loss(pred, target) == pytest.approx(float(np.mean(e + 1 / (1 + e) - 1)), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), np.sign(pred - target) * (1 - 1 / (1 + e) ** 2) / 4, rtol=1e-12)
    assert repr(loss) == "LinearSquare()"
    check_loss(losses.LinearSquare(), rng(3).normal(size=(5, 2)), rng(4).normal(size=(5, 2)))
