"""bionn.data.transforms: splitting, standardising, one-hot, subsampling and augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import data as ds

# ---------------------------------------------------------------------------------------------
# utilities
# ---------------------------------------------------------------------------------------------


def _labelled(counts):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(y.size, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return X, y


def test_train_val_split_sizes_and_stratification():
    X, y = _labelled([700, 200, 100])
    (Xtr, ytr), (Xva, yva) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    assert len(Xva) == 100 and len(Xtr) == 900
    np.testing.assert_array_equal(np.bincount(yva), [70, 20, 10])
    ids = np.concatenate([Xtr[:, 0], Xva[:, 0]]).astype(int)
    np.testing.assert_array_equal(np.sort(ids), np.arange(1000))  # a partition
    np.testing.assert_array_equal(y[Xtr[:, 0].astype(int)], ytr)  # rows stay paired
    (Xtr2, _), (Xva2, _) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    np.testing.assert_array_equal(Xva, Xva2)
    (_, _), (Xva3, _) = ds.train_val_split(X, y, val_fraction=0.1, seed=1)
    assert not np.array_equal(Xva, Xva3)


def test_train_val_split_rounding_and_unstratified():
    X, y = _labelled([5, 5, 5])
    _, (_, yva) = ds.train_val_split(X, y, val_fraction=0.1, seed=0)
    assert len(yva) == 2 and np.bincount(yva, minlength=3).max() == 1  # 1.5 -> 2, spread out
    X, y = _labelled([90, 10])
    (Xtr, _), (Xva, yva) = ds.train_val_split(X, y, val_fraction=0.25, seed=0, stratify=False)
    assert len(Xva) == 25 and len(Xtr) == 75
    _, (_, yva) = ds.train_val_split(X, y, val_fraction=0.3, seed=np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(yva), [27, 3])


def test_train_val_split_validation():
    X, y = _labelled([5, 5])
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="val_fraction"):
            ds.train_val_split(X, y, val_fraction=bad)
    with pytest.raises(ValueError, match="y has 9 labels"):
        ds.train_val_split(X, y[:-1])
    with pytest.raises(TypeError, match="y must hold integer"):
        ds.train_val_split(X, y.astype(float))
    with pytest.raises(TypeError, match="seed"):
        ds.train_val_split(X, y, seed="abc")


def test_standardize_uses_train_statistics():
    rng = np.random.default_rng(0)
    Xtr = (rng.normal(size=(200, 3, 4, 4)) * [[[2.0]], [[5.0]], [[0.5]]] + [[[1.0]], [[-3.0]], [[10.0]]]).astype(
        np.float32
    )
    Xte = rng.normal(size=(50, 3, 4, 4)).astype(np.float32)
    Ztr, Zte, (mean, std) = ds.standardize(Xtr, Xte)
    assert Ztr.dtype == np.float32 and mean.shape == (1, 3, 1, 1) and std.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(Ztr.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Ztr.std(axis=(0, 2, 3)), 1, atol=1e-5)
    np.testing.assert_allclose(mean.ravel(), Xtr.mean(axis=(0, 2, 3), dtype=np.float64), rtol=1e-6)
    np.testing.assert_allclose(Zte, (Xte - mean) / std, rtol=1e-6)  # train stats, not test
    assert abs(Zte.mean()) > 0.1
    # global statistics, per-feature on 2-D input, constant features
    Z, (m, s) = ds.standardize(Xtr, axis=None)
    assert m.shape == (1, 1, 1, 1) and abs(Z.mean()) < 1e-5
    F = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    Zf, (mf, sf) = ds.standardize(F)
    assert mf.shape == (1, 2) and sf[0, 1] == 1.0 and np.all(Zf[:, 1] == 0)
    assert Zf.dtype == np.float64


def test_standardize_validation():
    X = np.zeros((4, 2, 3, 3), np.float32)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="X_train contains NaN"):
        ds.standardize(bad)
    with pytest.raises(ValueError, match=r"others\[0\]"):
        ds.standardize(X, np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="axis"):
        ds.standardize(X, axis="per-pixel")
    with pytest.raises(ValueError, match="axis"):
        ds.standardize(X, axis=4)
    with pytest.raises(TypeError, match="X_train"):
        ds.standardize(np.array(["a", "b"]))


def test_one_hot():
    out = ds.one_hot(np.array([2, 0, 1, 2]))
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])
    assert out.dtype == np.float32
    assert ds.one_hot(np.array([1]), num_classes=10).shape == (1, 10)
    with pytest.raises(ValueError, match="num_classes=3"):
        ds.one_hot(np.array([3]), num_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        ds.one_hot(np.array([-1, 0]))
    with pytest.raises(TypeError, match="y"):
        ds.one_hot(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        ds.one_hot(np.zeros((2, 2), int))


def test_subsample_exact_counts():
    X, y = _labelled([30, 12, 50])
    Xs, ys = ds.subsample(X, y, per_class=10, seed=0)
    np.testing.assert_array_equal(np.bincount(ys), [10, 10, 10])
    ids = Xs[:, 0].astype(int)
    assert len(set(ids)) == 30 and np.array_equal(y[ids], ys)  # no repeats, paired
    Xs2, _ = ds.subsample(X, y, per_class=10, seed=0)
    np.testing.assert_array_equal(Xs, Xs2)
    with pytest.raises(ValueError, match="class 1 has 12"):
        ds.subsample(X, y, per_class=13)
    with pytest.raises(ValueError, match="class 5 has 0"):
        ds.subsample(X, y, per_class=5, classes=[0, 5])
    with pytest.raises(ValueError, match="per_class"):
        ds.subsample(X, y, per_class=0)


def _images(n=6, c=2, h=5, w=7, seed=0):
    # strictly positive, distinct values so zero padding and windows are unambiguous
    return np.random.default_rng(seed).uniform(1, 2, size=(n, c, h, w)).astype(np.float32)


def test_random_horizontal_flip():
    X = _images(n=64)
    X0 = X.copy()
    np.testing.assert_array_equal(ds.random_horizontal_flip(X, p=1.0, rng=0), X[..., ::-1])
    np.testing.assert_array_equal(ds.random_horizontal_flip(X, p=0.0, rng=0), X)
    out = ds.random_horizontal_flip(X, rng=np.random.default_rng(5))
    flipped = np.array([np.array_equal(o, x[..., ::-1]) for o, x in zip(out, X)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, X)])
    assert np.all(flipped ^ kept) and 10 < flipped.sum() < 54
    np.testing.assert_array_equal(out, ds.random_horizontal_flip(X, rng=np.random.default_rng(5)))
    np.testing.assert_array_equal(X, X0)  # input untouched


def test_random_crop_is_window_of_zero_padded_image():
    X = _images(n=40, h=6, w=5)
    pad, size = 2, (6, 5)
    out = ds.random_crop(X, size, pad, rng=7)
    assert out.shape == (40, 2, 6, 5) and out.dtype == X.dtype
    Xp = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    seen = set()
    for n in range(len(X)):
        hits = [
            (i, j)
            for i in range(2 * pad + 1)
            for j in range(2 * pad + 1)
            if np.array_equal(out[n], Xp[n, :, i : i + 6, j : j + 5])
        ]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 10  # offsets vary
    np.testing.assert_array_equal(out, ds.random_crop(X, size, pad, rng=7))
    assert not np.array_equal(out, ds.random_crop(X, size, pad, rng=8))
    small = ds.random_crop(X, 3, rng=0)  # no padding
    assert small.shape == (40, 2, 3, 3)
    np.testing.assert_array_equal(ds.random_crop(X, (6, 5), 0, rng=0), X)


def test_random_translate_shifts_with_zero_fill():
    X = _images(n=30, h=5, w=5)
    m = 2
    out = ds.random_translate(X, m, rng=np.random.default_rng(3))
    assert out.shape == X.shape
    for n in range(len(X)):
        ok = False
        for dy in range(-m, m + 1):
            for dx in range(-m, m + 1):
                ref = np.zeros_like(X[n])
                ys, yd = slice(max(0, -dy), 5 - max(0, dy)), slice(max(0, dy), 5 - max(0, -dy))
                xs, xd = slice(max(0, -dx), 5 - max(0, dx)), slice(max(0, dx), 5 - max(0, -dx))
                ref[:, yd, xd] = X[n][:, ys, xs]
                ok |= np.array_equal(out[n], ref)
        assert ok, n
    np.testing.assert_array_equal(ds.random_translate(X, 0, rng=1), X)
    np.testing.assert_array_equal(out, ds.random_translate(X, m, rng=np.random.default_rng(3)))


def test_augmentation_validation():
    X = _images()
    with pytest.raises(ValueError, match=r"X must have shape \(N, C, H, W\)"):
        ds.random_horizontal_flip(X[0], rng=0)
    bad = X.copy()
    bad[1, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        ds.random_crop(bad, 3, rng=0)
    with pytest.raises(TypeError, match="rng"):
        ds.random_translate(X, 1, rng=None)
    with pytest.raises(TypeError, match="X"):
        ds.random_horizontal_flip(np.full((1, 1, 2, 2), "a"), rng=0)
    with pytest.raises(ValueError, match="p must be"):
        ds.random_horizontal_flip(X, p=1.5, rng=0)
    with pytest.raises(ValueError, match="size"):
        ds.random_crop(X, 20, 2, rng=0)
    with pytest.raises(ValueError, match="padding"):
        ds.random_crop(X, 3, -1, rng=0)
    with pytest.raises(ValueError, match="max_shift"):
        ds.random_translate(X, -1, rng=0)
    with pytest.raises(TypeError, match="size"):
        ds.random_crop(X, 2.5, rng=0)
