"""bionn.metrics against hand-computed references (no scikit-learn)."""

import numpy as np
import pytest

from bionn import metrics

LOGITS = np.array(
    [
        [2.0, 1.0, 0.1],  # pred 0
        [0.2, 0.3, 3.0],  # pred 2
        [1.0, 2.0, 0.0],  # pred 1
        [0.5, 0.5, 0.4],  # tie 0/1 -> pred 0
    ]
)
Y = np.array([0, 2, 0, 1])


# -- accuracy ---------------------------------------------------------------------------------
def test_accuracy_from_logits_and_labels():
    assert metrics.accuracy(Y, LOGITS) == pytest.approx(2 / 4)
    assert metrics.accuracy(Y, [0, 2, 1, 0]) == pytest.approx(2 / 4)
    assert metrics.accuracy([1, 1, 1], [1, 1, 1]) == 1.0
    assert metrics.accuracy([1, 1, 1], [0, 0, 0]) == 0.0
    assert isinstance(metrics.accuracy(Y, LOGITS), float)


def test_accuracy_accepts_column_vectors_float_labels_and_probabilities():
    assert metrics.accuracy(Y.reshape(-1, 1), np.array([0, 2, 1, 0]).reshape(-1, 1)) == pytest.approx(0.5)
    assert metrics.accuracy(Y.astype(np.float32), LOGITS) == pytest.approx(0.5)
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    assert metrics.accuracy(Y, probs) == metrics.accuracy(Y, LOGITS)


def test_accuracy_ties_take_first_maximum_like_argmax():
    assert metrics.accuracy([0], [[1.0, 1.0]]) == 1.0
    assert metrics.accuracy([1], [[1.0, 1.0]]) == 0.0


def test_accuracy_random_matches_loop():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 7))
    y = rng.integers(0, 7, size=200)
    expected = sum(int(np.argmax(row) == t) for row, t in zip(logits, y)) / 200
    assert metrics.accuracy(y, logits) == pytest.approx(expected)


@pytest.mark.parametrize(
    "y_true, pred, match",
    [
        ([], [], "empty"),
        ([0, 1], [0], "2 samples"),
        ([0, -1], [0, 0], "negative"),
        ([0, 1.5], [0, 1], "whole-number"),
        ([0, np.nan], [0, 1], "NaN"),
        ([0, 1], [[0.1, np.inf], [1, 2]], "NaN or infinite"),
        (["a", "b"], [0, 1], "real numbers"),
        ("ab", [0, 1], "array of numbers"),
        (None, [0, 1], "array of numbers"),
        (np.zeros((2, 2), dtype=int), [0, 1], "1-D"),
        ([0, 1], np.zeros((2, 2, 2)), "1-D"),
        ([[0, 1], [1]], [0, 1], "could not be converted|1-D"),
    ],
)
def test_accuracy_validation(y_true, pred, match):
    with pytest.raises(ValueError, match=match):
        metrics.accuracy(y_true, pred)


# -- top-k --------------------------------------------------------------------------------------
def test_top_k_accuracy_hand_computed():
    # ranks of the true class: row0 -> 1st, row1 -> 1st, row2 -> 2nd, row3 -> 2nd (tie, index 1 > 0)
    assert metrics.top_k_accuracy(Y, LOGITS, k=1) == pytest.approx(2 / 4)
    assert metrics.top_k_accuracy(Y, LOGITS, k=2) == pytest.approx(4 / 4)
    assert metrics.top_k_accuracy(Y, LOGITS, k=3) == 1.0


def test_top_k_reference_and_k1_equals_accuracy():
    rng = np.random.default_rng(1)
    logits = rng.integers(0, 4, size=(300, 6)).astype(float)  # many ties
    y = rng.integers(0, 6, size=300)
    assert metrics.top_k_accuracy(y, logits, 1) == metrics.accuracy(y, logits)
    for k in range(1, 7):
        order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
        expected = np.mean([t in row for t, row in zip(y, order)])
        assert metrics.top_k_accuracy(y, logits, k) == pytest.approx(expected)


def test_top_k_validation():
    with pytest.raises(ValueError, match="between 1 and the number of classes"):
        metrics.top_k_accuracy(Y, LOGITS, k=4)
    with pytest.raises(ValueError, match="between 1"):
        metrics.top_k_accuracy(Y, LOGITS, k=0)
    with pytest.raises(TypeError, match="k must be an integer"):
        metrics.top_k_accuracy(Y, LOGITS, k=1.5)
    with pytest.raises(ValueError, match="2-D"):
        metrics.top_k_accuracy(Y, [0, 1, 2, 0], k=1)
    with pytest.raises(ValueError, match="only 3 classes"):
        metrics.top_k_accuracy([0, 5, 0, 0], LOGITS, k=1)
    with pytest.raises(ValueError, match="4 samples"):
        metrics.top_k_accuracy(Y, LOGITS[:3], k=1)


# -- confusion matrix ---------------------------------------------------------------------------
def test_confusion_matrix_counts():
    cm = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.dtype == np.int64
    cm = metrics.confusion_matrix(Y, LOGITS, num_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_confusion_matrix_num_classes_pads_and_default_infers():
    cm = metrics.confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[0, 1] == 1 and cm[1, 1] == 1
    assert metrics.confusion_matrix([0, 0], [0, 3]).shape == (4, 4)
    assert metrics.confusion_matrix([0, 0], np.eye(5)[[0, 1]]).shape == (5, 5)  # from scores


def test_confusion_matrix_matches_loop_and_accuracy():
    rng = np.random.default_rng(2)
    y, p = rng.integers(0, 5, 500), rng.integers(0, 5, 500)
    ref = np.zeros((5, 5), dtype=int)
    for t, q in zip(y, p):
        ref[t, q] += 1
    cm = metrics.confusion_matrix(y, p, 5)
    np.testing.assert_array_equal(cm, ref)
    assert np.trace(cm) / cm.sum() == pytest.approx(metrics.accuracy(y, p))


def test_confusion_matrix_normalize():
    y, p = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    counts = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]], dtype=float)
    np.testing.assert_allclose(metrics.confusion_matrix(y, p, normalize="true"), counts / counts.sum(1, keepdims=True))
    np.testing.assert_allclose(metrics.confusion_matrix(y, p, normalize="pred"), counts / counts.sum(0, keepdims=True))
    np.testing.assert_allclose(metrics.confusion_matrix(y, p, normalize="all"), counts / 6)
    # a class that never occurs gives a zero row, not NaN
    cm = metrics.confusion_matrix([0, 0], [0, 1], num_classes=3, normalize="true")
    np.testing.assert_allclose(cm, [[0.5, 0.5, 0], [0, 0, 0], [0, 0, 0]])


def test_confusion_matrix_validation():
    with pytest.raises(ValueError, match="y_true has label 3 but num_classes is 3"):
        metrics.confusion_matrix([0, 3], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="y_pred has label 5"):
        metrics.confusion_matrix([0, 1], [0, 5], num_classes=3)
    with pytest.raises(ValueError, match="normalize"):
        metrics.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        metrics.confusion_matrix([0, 1], [0, 1], num_classes=0)
    with pytest.raises(TypeError, match="num_classes must be an integer"):
        metrics.confusion_matrix([0, 1], [0, 1], num_classes=2.0)
    with pytest.raises(ValueError, match="scores for 3 classes but num_classes is 4"):
        metrics.confusion_matrix(Y, LOGITS, num_classes=4)
    with pytest.raises(ValueError, match="3 samples"):
        metrics.confusion_matrix([0, 1], [0, 1, 1])


# -- regression -------------------------------------------------------------------------------
def test_mae_mse_hand_computed():
    t, p = [1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 1.0, 5.0]
    assert metrics.mae(t, p) == pytest.approx((0.5 + 0 + 2 + 1) / 4)
    assert metrics.mse(t, p) == pytest.approx((0.25 + 0 + 4 + 1) / 4)
    assert metrics.mse([[1, 2], [3, 4]], [[1, 2], [3, 6]]) == pytest.approx(1.0)
    assert metrics.mae(np.zeros(3, np.float32), np.ones(3, np.float32)) == 1.0


def test_mae_mse_accept_vector_against_column():
    t = np.array([1.0, 2.0, 3.0])
    p = np.array([[2.0], [2.0], [2.0]])
    assert metrics.mae(t, p) == pytest.approx(2 / 3)
    assert metrics.mse(p, t) == pytest.approx(2 / 3)


@pytest.mark.parametrize("fn", [metrics.mae, metrics.mse])
def test_mae_mse_validation(fn):
    with pytest.raises(ValueError, match="shape"):
        fn([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        fn([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="real numbers"):
        fn(["x"], [1.0])
