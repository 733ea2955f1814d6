"""bionn._validation helpers added for bionn.data (and meant for the whole package): pair,
check_bool, check_choice, as_ndarray, check_numeric, check_finite, as_integer_labels,
as_generator. Every error names the argument."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import _validation as V


def test_pair_accepts_ints_and_pairs():
    assert V.pair(3, "size") == (3, 3)
    assert V.pair((2, 5), "size") == (2, 5)
    assert V.pair([0, 1], "padding", minimum=0) == (0, 1)
    assert V.pair(np.array([4, 6]), "size") == (4, 6)
    assert V.pair(np.int64(7), "size", minimum=1) == (7, 7)
    assert V.pair((1, 2), "pos", scalar=False) == (1, 2)
    assert all(type(v) is int for v in V.pair((np.int32(1), np.int64(2)), "size"))


@pytest.mark.parametrize(
    "value, exc, pattern",
    [
        ((1, 2, 3), ValueError, r"size must be an int or a pair of ints, got 3 values"),
        ((), ValueError, r"size must be an int or a pair"),
        ("ab", TypeError, r"size must be an int or a pair of ints, got str"),
        (2.5, TypeError, r"size must be an integer, got float"),
        (True, TypeError, r"size must be an integer, got bool"),
        (None, TypeError, r"size must be an integer"),
        ((1, 2.0), TypeError, r"size\[1\] must be an integer"),
        ((0, 3), ValueError, r"size\[0\] must be >= 1, got 0"),
        (0, ValueError, r"size must be >= 1, got 0"),
    ],
)
def test_pair_errors_name_the_argument(value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        V.pair(value, "size", minimum=1)


def test_pair_without_scalar():
    with pytest.raises(TypeError, match="pos must be a pair of ints, got int"):
        V.pair(3, "pos", scalar=False)
    with pytest.raises(ValueError, match="pos must be a pair of ints, got 1 values"):
        V.pair([3], "pos", scalar=False)


def test_check_bool_and_choice():
    assert V.check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match="flag must be a bool"):
        V.check_bool(1, "flag")
    assert V.check_choice("Left", "noise", ("left", "both")) == "left"
    with pytest.raises(ValueError, match="noise must be one of 'left', 'both', got 'up'"):
        V.check_choice("up", "noise", ("left", "both"))
    with pytest.raises(TypeError, match="noise must be a str"):
        V.check_choice(1, "noise", ("left",))


def test_array_checks_keep_dtype_and_name_the_argument():
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert V.as_ndarray(a, "X") is a  # no copy, dtype kept
    assert V.as_ndarray([1.5, 2], "X").dtype == np.float64
    with pytest.raises(TypeError, match="X must be a NumPy array, got str"):
        V.as_ndarray("abc", "X")
    with pytest.raises(TypeError, match="X must have an integer or real floating dtype"):
        V.check_numeric(np.array([True]), "X")
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        V.check_finite(np.array([1.0, np.inf]), "X")
    assert V.check_finite(a, "X") is a
    y = V.as_integer_labels(np.array([0, 2, 1], np.uint8), "y", n=3)
    assert y.dtype == np.uint8
    with pytest.raises(ValueError, match="y has 2 labels but X has 3 samples"):
        V.as_integer_labels([0, 1], "y", n=3)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        V.as_integer_labels([0.0, 1.0], "y")
    with pytest.raises(ValueError, match="y must be 1-D"):
        V.as_integer_labels(np.zeros((2, 2), int), "y")


def test_as_generator():
    g = np.random.default_rng(0)
    assert V.as_generator(g, "rng") is g
    assert V.as_generator(5, "rng").integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(V.as_generator(np.random.SeedSequence(1), "rng"), np.random.Generator)
    with pytest.raises(ValueError, match="seed must be a non-negative seed"):
        V.as_generator(-1, "seed")
    for bad in (None, 1.5, True, "0"):
        with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
            V.as_generator(bad, "rng")
