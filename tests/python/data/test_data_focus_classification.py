"""bionn.data.make_focus_classification: the focusing-neuron authors' Fig. 3 data (scikit-learn's
make_classification + uniform noise columns + 70/30 split + StandardScaler)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bionn import data as ds

pytest.importorskip("sklearn")


def test_shapes_split_and_dtype():
    Xtr, ytr, Xte, yte, info = ds.make_focus_classification(
        1000, 40, n_classes=4, n_clusters_per_class=2, noise_ratio=0.5, noise="left", return_info=True
    )
    assert info["n_generated"] == int(1000 / 0.7) == len(Xtr) + len(Xte)
    assert len(Xte) == int(np.ceil(0.3 * info["n_generated"])) and len(Xtr) == 999
    assert Xtr.shape[1] == Xte.shape[1] == 40 + 20 and Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert set(np.unique(ytr)) == {0, 1, 2, 3} and len(ytr) == len(Xtr) and len(yte) == len(Xte)
    assert list(info["noise_columns"]) == list(range(20)) and list(info["informative"]) == list(range(20, 60))
    # StandardScaler fitted on the training part: training columns have mean 0 and sd 1
    np.testing.assert_allclose(Xtr.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xtr.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(Xte.mean(axis=0)).max() > 1e-4  # the test part is transformed, not refitted


def test_sides_puts_an_independent_block_on_each_side():
    Xtr, ytr, _, _, info = ds.make_focus_classification(
        2000, 8, noise_ratio=1.0, noise="sides", scale=False, return_info=True, seed=3
    )
    assert Xtr.shape[1] == 8 + 2 * 8 and info["n_noise"] == 8
    assert list(info["noise_columns"]) == list(range(8)) + list(range(16, 24))
    assert list(info["informative"]) == list(range(8, 16))
    left, right = Xtr[:, :8], Xtr[:, 16:]
    assert not np.allclose(left, right)  # independent blocks, not one block copied
    _check_uniform_noise(Xtr[:, info["noise_columns"]], ytr)
    inf = Xtr[:, info["informative"]]
    assert inf.min() < -0.5 and inf.max() > 1.5  # make_classification's clusters, not [0, 1) noise


def test_left_noise_is_uniform_and_uninformative():
    Xtr, ytr, Xte, yte, info = ds.make_focus_classification(
        2000, 10, noise_ratio=1.0, noise="left", scale=False, return_info=True, seed=5
    )
    assert Xtr.shape[1] == 20
    _check_uniform_noise(Xtr[:, :10], ytr)
    assert (Xte[:, :10] >= 0).all() and (Xte[:, :10] < 1).all()


def _check_uniform_noise(noise: np.ndarray, y: np.ndarray) -> None:
    assert (noise >= 0).all() and (noise < 1).all()
    np.testing.assert_allclose(noise.mean(axis=0), 0.5, atol=0.04)
    np.testing.assert_allclose(noise.var(axis=0), 1 / 12, atol=0.01)
    # the class means of a noise column do not differ (it carries no label information)
    for c in np.unique(y):
        np.testing.assert_allclose(noise[y == c].mean(axis=0), 0.5, atol=0.06)


def test_noise_scale_and_no_noise():
    Xtr, *_ = ds.make_focus_classification(300, 4, noise_ratio=0.5, noise_scale=3.0, scale=False, seed=1)
    assert Xtr.shape[1] == 6 and Xtr[:, :2].max() > 1.5 and Xtr[:, :2].min() >= 0
    clean, _, _, _, info = ds.make_focus_classification(300, 4, noise_ratio=0.0, noise="sides", return_info=True)
    assert clean.shape[1] == 4 and info["noise_columns"].size == 0


def test_informative_features_separate_the_classes():
    Xtr, ytr, Xte, yte = ds.make_focus_classification(2000, 4, n_classes=2, seed=2)
    cent = np.stack([Xtr[ytr == c].mean(axis=0) for c in (0, 1)])
    pred = ((Xte[:, None, :] - cent[None]) ** 2).sum(-1).argmin(1)
    assert (pred == yte).mean() > 0.6


def test_determinism_by_seed():
    a = ds.make_focus_classification(500, 10, noise_ratio=1.0, noise="sides", seed=7)
    b = ds.make_focus_classification(500, 10, noise_ratio=1.0, noise="sides", seed=7)
    c = ds.make_focus_classification(500, 10, noise_ratio=1.0, noise="sides", seed=8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    g = ds.make_focus_classification(500, 10, noise_ratio=1.0, noise="sides", seed=np.random.SeedSequence(7))
    assert g[0].shape == a[0].shape
    f64 = ds.make_focus_classification(500, 10, seed=7, dtype=np.float64)
    assert f64[0].dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(n_samples=1), ValueError, "n_samples"),
        (dict(n_samples=2.5), TypeError, "n_samples"),
        (dict(n_features=0), ValueError, "n_features"),
        (dict(n_classes=1), ValueError, "n_classes"),
        (dict(n_clusters_per_class=0), ValueError, "n_clusters_per_class"),
        (dict(n_features=2, n_classes=4, n_clusters_per_class=2), ValueError, "n_features"),
        (dict(noise_ratio=-0.5), ValueError, "noise_ratio"),
        (dict(noise_ratio="half"), TypeError, "noise_ratio"),
        (dict(noise="right"), ValueError, "noise"),
        (dict(noise_scale=0.0), ValueError, "noise_scale"),
        (dict(test_size=1.0), ValueError, "test_size"),
        (dict(test_size=0.0), ValueError, "test_size"),
        (dict(split_seed=-1), ValueError, "split_seed"),
        (dict(scale="yes"), TypeError, "scale"),
        (dict(dtype=np.int32), TypeError, "dtype"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed="x"), TypeError, "seed"),
    ],
)
def test_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ds.make_focus_classification(**kwargs)


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="scikit-learn"):
        ds.make_focus_classification(100, 4)
