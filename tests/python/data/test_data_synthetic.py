"""Tests of the focusing-neuron paper's data sets in bionn.data.synthetic (§4.1 / Table 1 blobs,
MNIST-cluttered)."""

from __future__ import annotations

import numpy as np
import pytest

from bionn import data as ds


def _nearest_centroid_accuracy(Xtr, ytr, Xte, yte):
    classes = np.unique(ytr)
    cent = np.stack([Xtr[ytr == c].mean(axis=0) for c in classes])
    d = ((Xte[:, None, :] - cent[None]) ** 2).sum(-1)
    return float((classes[d.argmin(1)] == yte).mean())


# ------------------------------------------------------------------ make_focus_blobs


def test_blobs_paper_default_shapes_and_layout():
    Xtr, ytr, Xte, yte, info = ds.make_focus_blobs(return_info=True)
    # §4.1: 2 classes, 20 informative + 20 N(0,1) noise columns = 40 inputs.
    assert Xtr.shape == (2000, 40) and Xte.shape == (2000, 40)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64 and yte.dtype == np.int64
    assert set(np.unique(ytr)) == {0, 1}
    np.testing.assert_array_equal(info["informative"], np.arange(20, 40))  # noise on the left
    np.testing.assert_array_equal(info["noise"], np.arange(20))
    _, _, _, _, info = ds.make_focus_blobs(noise="both", return_info=True)
    np.testing.assert_array_equal(info["informative"], np.arange(10, 30))
    np.testing.assert_array_equal(info["noise"], np.r_[0:10, 30:40])
    _, _, _, _, info = ds.make_focus_blobs(noise="sides", n_noise=5, return_info=True)
    np.testing.assert_array_equal(info["noise"], [0, 1, 22, 23, 24])
    Xtr, _, _, _, info = ds.make_focus_blobs(noise="none", return_info=True)
    assert Xtr.shape[1] == 20 and info["noise"].size == 0
    Xtr, _, Xte, _ = ds.make_focus_blobs(100, 4, noise_ratio=0.5, n_test=7)
    assert Xtr.shape == (100, 6) and Xte.shape == (7, 6)


def test_blobs_classes_balanced():
    _, ytr, _, yte = ds.make_focus_blobs(200, 40, n_classes=8, n_clusters_per_class=4)
    assert np.bincount(ytr, minlength=8).min() >= 200 // 8
    assert np.bincount(yte, minlength=8).min() >= 200 // 8


def test_blobs_deterministic_and_seed_dependent():
    a = ds.make_focus_blobs(300, 40, seed=3)
    b = ds.make_focus_blobs(300, 40, seed=3)
    c = ds.make_focus_blobs(300, 40, seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    g = ds.make_focus_blobs(300, 40, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(g[0], a[0])


def test_blobs_standardised_with_training_statistics():
    Xtr, _, Xte, _, info = ds.make_focus_blobs(500, 40, noise="both", return_info=True)
    np.testing.assert_allclose(Xtr.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xtr.std(0), 1.0, atol=1e-4)
    assert np.abs(Xte.mean(0)).max() < 0.5  # test set: train statistics, not its own
    assert info["mean"].shape == (80,) and info["std"].shape == (80,)
    raw, _, _, _ = ds.make_focus_blobs(500, 40, normalize=False, noise_std=3.0, noise_mean=5.0)
    assert abs(raw[:, :40].mean() - 5.0) < 0.1 and abs(raw[:, :40].std() - 3.0) < 0.1


@pytest.mark.parametrize("dist", ["normal", "uniform"])
def test_noise_columns_uninformative_informative_separable(dist):
    Xtr, ytr, Xte, yte, info = ds.make_focus_blobs(
        2000, 40, n_classes=4, n_clusters_per_class=1, noise="both", noise_distribution=dist, seed=11, return_info=True
    )
    inf, noi = info["informative"], info["noise"]
    # Class-conditional means of noise columns agree (about 0), those of informative ones do not.
    cm_noise = np.stack([Xtr[ytr == c][:, noi].mean(0) for c in range(4)])
    cm_inf = np.stack([Xtr[ytr == c][:, inf].mean(0) for c in range(4)])
    assert np.abs(cm_noise).max() < 0.25  # ~ 4 sigma of the mean of 500 samples
    assert np.abs(cm_inf).max() > 0.5
    acc_inf = _nearest_centroid_accuracy(Xtr[:, inf], ytr, Xte[:, inf], yte)
    acc_noise = _nearest_centroid_accuracy(Xtr[:, noi], ytr, Xte[:, noi], yte)
    assert acc_inf > 0.9
    assert abs(acc_noise - 0.25) < 0.05
    if dist == "uniform":  # bounded noise columns
        raw, *_ = ds.make_focus_blobs(500, 40, noise="left", normalize=False, noise_distribution="uniform", seed=1)
        assert np.abs(raw[:, :40]).max() <= np.sqrt(3.0) + 1e-6


def test_blobs_small_input_more_centres_than_vertices():
    # nL=4 has 16 hypercube vertices; 8 classes x 4 clusters = 32 centres must still work.
    Xtr, ytr, _, _, info = ds.make_focus_blobs(200, 4, n_classes=8, n_clusters_per_class=4, return_info=True)
    assert info["centers"].shape == (32, 4)
    assert np.unique(info["centers"], axis=0).shape[0] == 32
    np.testing.assert_array_equal(info["center_class"], np.arange(32) % 8)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(n_samples=1), ValueError, "n_samples"),
        (dict(n_samples=2.5), TypeError, "n_samples"),
        (dict(n_informative=0), ValueError, "n_informative"),
        (dict(noise="right"), ValueError, "noise"),
        (dict(noise=1), TypeError, "noise"),
        (dict(noise="none", n_noise=3), ValueError, "n_noise"),
        (dict(noise_ratio=-0.5), ValueError, "noise_ratio"),
        (dict(noise_ratio="half"), TypeError, "noise_ratio"),
        (dict(noise_distribution="cauchy"), ValueError, "noise_distribution"),
        (dict(noise_std=0.0), ValueError, "noise_std"),
        (dict(n_classes=1), ValueError, "n_classes"),
        (dict(n_clusters_per_class=0), ValueError, "n_clusters_per_class"),
        (dict(cluster_std=-1.0), ValueError, "cluster_std"),
        (dict(class_sep=float("nan")), ValueError, "class_sep"),
        (dict(n_test=-1), ValueError, "n_test"),
        (dict(normalize="yes"), TypeError, "normalize"),
        (dict(dtype=np.int32), TypeError, "dtype"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed="x"), TypeError, "seed"),
    ],
)
def test_blobs_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ds.make_focus_blobs(**kwargs)


# ------------------------------------------------------------------ focus_blobs_grid


def test_grid_matches_table1_and_samples_inside_it():
    g = ds.FOCUS_BLOBS_GRID
    assert g["n_samples"] == (100, 200, 2000, 10000)
    assert g["n_informative"] == (4, 40, 400)
    assert g["noise_ratio"] == (0.0, 0.5, 1.0)
    assert set(g["noise"]) == {"both", "left"}
    assert g["n_clusters_per_class"] == (1, 2, 4) and g["n_classes"] == (2, 4, 8)
    assert g["n_hidden"] == (4, 40, 100) and g["batch_fraction"] == (0.1, 0.05)
    assert g["learning_rate"] == (0.01, 0.001) and set(g["l2_penalty"]) == {True, False}
    cfgs = list(ds.focus_blobs_grid(seed=5, n=300))
    assert len(cfgs) == 300
    seen = {k: set() for k in g}
    for cfg in cfgs:
        s, d, t = cfg["sampled"], cfg["data"], cfg["train"]
        for k, v in s.items():
            assert v in g[k]
            seen[k].add(v)
        assert d["n_samples"] == s["n_samples"] and d["n_informative"] == s["n_informative"]
        assert d["noise"] == ("none" if s["noise_ratio"] == 0 else s["noise"])
        assert t["batch_size"] == round(s["n_samples"] * s["batch_fraction"])
        assert t["n_hidden"] in g["n_hidden"] and t["learning_rate"] in g["learning_rate"]
    assert all(seen[k] == set(g[k]) for k in g)  # every value gets drawn
    again = list(ds.focus_blobs_grid(seed=5, n=300))
    assert again == cfgs
    assert list(ds.focus_blobs_grid(seed=6, n=300)) != cfgs


def test_grid_configs_build_data():
    small = {"n_samples": (100, 200), "n_informative": (4, 40)}
    for cfg in ds.focus_blobs_grid(seed=0, n=20, grid=small):
        Xtr, ytr, Xte, yte, info = ds.make_focus_blobs(**cfg["data"], return_info=True)
        d = cfg["data"]
        n_noise = int(round(d["noise_ratio"] * d["n_informative"]))
        assert Xtr.shape == (d["n_samples"], d["n_informative"] + n_noise)
        assert ytr.max() < d["n_classes"]


def test_grid_is_infinite_without_n_and_validates():
    it = ds.focus_blobs_grid(seed=1)
    assert len([next(it) for _ in range(5)]) == 5
    with pytest.raises(ValueError, match="grid"):
        next(ds.focus_blobs_grid(grid={"depth": (1, 2)}))
    with pytest.raises(TypeError, match="grid"):
        next(ds.focus_blobs_grid(grid=[1, 2]))
    with pytest.raises(ValueError, match="n"):
        next(ds.focus_blobs_grid(n=-1))


# ------------------------------------------------------------------ make_cluttered_mnist


def _fake_digits(n=50, seed=0):
    """Distinct 28x28 "digits": a bright random stroke pattern in the central 20x20."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 1, 28, 28), np.float32)
    X[:, 0, 4:24, 4:24] = (rng.random((n, 20, 20)) > 0.6) * rng.uniform(0.5, 1.0, (n, 20, 20))
    return X, rng.integers(0, 10, n)


def test_cluttered_shapes_range_and_labels():
    X, y = _fake_digits()
    F, L, info = ds.make_cluttered_mnist(X, y, 120, return_info=True)
    assert F.shape == (120, 1, 60, 60) and F.dtype == np.float32
    assert L.dtype == np.int64 and L.shape == (120,)
    assert F.min() >= 0.0 and F.max() <= 1.0
    np.testing.assert_array_equal(L, y[info["source"]])
    # Each source is used once before any is repeated.
    assert np.unique(info["source"][:50]).size == 50
    assert (info["position"] >= 0).all() and (info["position"] <= 32).all()
    assert (info["n_clutter"] == 6).all()
    # Fragments never come from the frame's own digit.
    assert (info["clutter_source"] != info["source"][:, None]).all()
    F2, _ = ds.make_cluttered_mnist(X[:, 0], y, 5, size=40, n_clutter=(4, 8), clutter_size=6)
    assert F2.shape == (5, 1, 40, 40)
    F3, _ = ds.make_cluttered_mnist((X * 255).astype(np.uint8), y, 3)
    assert F3.dtype == np.float32 and F3.max() <= 1.0


def test_cluttered_deterministic_and_seed_dependent():
    X, y = _fake_digits()
    a = ds.make_cluttered_mnist(X, y, 30, seed=7)
    b = ds.make_cluttered_mnist(X, y, 30, seed=7)
    c = ds.make_cluttered_mnist(X, y, 30, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_cluttered_frame_contains_digit_and_clutter_elsewhere():
    X, y = _fake_digits()
    F, _, info = ds.make_cluttered_mnist(X, y, 100, n_clutter=8, return_info=True, seed=2)
    corr_own, corr_other, outside = [], [], []
    for i in range(100):
        r, c = info["position"][i]
        box = F[i, 0, r : r + 28, c : c + 28]
        src = X[info["source"][i], 0]
        other = X[(info["source"][i] + 1) % 50, 0]
        corr_own.append(np.corrcoef(box.ravel(), src.ravel())[0, 1])
        corr_other.append(np.corrcoef(box.ravel(), other.ravel())[0, 1])
        # The digit is there (clutter only adds, then clipping at 1).
        assert (box >= np.minimum(src, 1.0) - 1e-6).all()
        mask = np.ones((60, 60), bool)
        mask[r : r + 28, c : c + 28] = False
        outside.append(F[i, 0][mask].sum())
    assert np.median(corr_own) > 0.8 and np.median(corr_other) < 0.3
    assert np.mean(np.array(outside) > 0) > 0.9  # clutter outside the digit's box
    # Without clutter the frame is exactly the translated digit.
    F0, _, info0 = ds.make_cluttered_mnist(X, y, 10, n_clutter=0, return_info=True)
    for i in range(10):
        r, c = info0["position"][i]
        expect = np.zeros((60, 60), np.float32)
        expect[r : r + 28, c : c + 28] = X[info0["source"][i], 0]
        np.testing.assert_array_equal(F0[i, 0], expect)


def test_cluttered_on_shared_mnist_sample(mnist_sample):
    X, y = mnist_sample
    F, L, info = ds.make_cluttered_mnist(X[:500], y[:500], 200, seed=0, return_info=True)
    assert F.shape == (200, 1, 60, 60) and 0.0 <= F.min() and F.max() <= 1.0
    np.testing.assert_array_equal(L, y[:500][info["source"]])
    ink = F.reshape(200, -1).sum(1)
    digit_ink = X[:500][info["source"]].reshape(200, -1).sum(1)
    assert (ink > digit_ink * 0.999).all() and (ink > digit_ink).mean() > 0.9


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(n=0), ValueError, "n"),
        (dict(n=2.0), TypeError, "n"),
        (dict(size=20), ValueError, "size"),
        (dict(n_clutter=-1), ValueError, "n_clutter"),
        (dict(n_clutter=(5, 3)), ValueError, "n_clutter"),
        (dict(n_clutter=(1, 2, 3)), ValueError, "n_clutter"),
        (dict(clutter_size=40), ValueError, "clutter_size"),
        (dict(clutter_size=0), ValueError, "clutter_size"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(return_info=1), TypeError, "return_info"),
    ],
)
def test_cluttered_bad_arguments(kwargs, exc, word):
    X, y = _fake_digits(5)
    args = dict(X=X, y=y, n=3)
    args.update(kwargs)
    with pytest.raises(exc, match=word):
        ds.make_cluttered_mnist(**args)


def test_cluttered_bad_inputs():
    X, y = _fake_digits(5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ds.make_cluttered_mnist(X * 2, y, 3)
    with pytest.raises(ValueError, match="X"):
        ds.make_cluttered_mnist(np.zeros((5, 3, 28, 28), np.float32), y, 3)
    with pytest.raises(ValueError, match="X"):
        ds.make_cluttered_mnist(np.zeros((5, 784), np.float32), y, 3)
    with pytest.raises(ValueError, match="y"):
        ds.make_cluttered_mnist(X, y[:3], 3)
    with pytest.raises(TypeError, match="y"):
        ds.make_cluttered_mnist(X, y.astype(float), 3)
    with pytest.raises(ValueError, match="2 digits"):
        ds.make_cluttered_mnist(X[:1], y[:1], 3)
    F, _ = ds.make_cluttered_mnist(X[:1], y[:1], 3, n_clutter=0)  # fine without clutter
    assert F.shape == (3, 1, 60, 60)
