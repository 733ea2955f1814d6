"""bionn.corruptions: Hendrycks-Dietterich corruptions, Fourier band-pass filtering, evaluation
helpers and their plots (bionn.plot.corruption_curves / bandpass_curves)."""

import sys

import numpy as np
import pytest

import bionn
from bionn import corruptions as C
from bionn import losses, nn, optim
from bionn.corruptions import families

RANDOM_FAMILIES = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "motion_blur")


@pytest.fixture(scope="module")
def fashion(fashion_mnist):
    """Real Fashion-MNIST: 256 test images for the corruption checks, 3,000 training images for
    the tiny model."""
    X_train, y_train, X_test, y_test = fashion_mnist
    return X_train[:3000], y_train[:3000], X_test[:256], y_test[:256]


@pytest.fixture(scope="module")
def images(fashion):
    return fashion[2]


@pytest.fixture(scope="module")
def tiny_model(fashion):
    X_train, y_train = fashion[:2]
    bionn.set_num_threads(1)
    model = nn.Sequential([nn.Flatten(), nn.Dense(784, 10)], seed=0)
    model.fit(
        X_train,
        y_train,
        loss=losses.CrossEntropy(),
        optimizer=optim.Adam(model.parameters(), lr=0.01),
        epochs=3,
        batch_size=64,
    )
    return model


def gray(value=0.5, n=4, size=28):
    return np.full((n, 1, size, size), value, dtype=np.float32)


# ------------------------------------------------------------------------------------------
# catalogue, shapes, dtypes, determinism
# ------------------------------------------------------------------------------------------
def test_catalogue_lists_every_family_with_five_severities_in_both_tables():
    assert len(C.CORRUPTIONS) == 11 and len(set(C.CORRUPTIONS)) == 11
    for table in C.SEVERITY_TABLES.values():
        assert tuple(table) == C.CORRUPTIONS
        assert all(len(values) == 5 for values in table.values())
    for name in C.CORRUPTIONS:
        assert callable(getattr(C, name)) and name in C.__all__


@pytest.mark.parametrize("name", C.CORRUPTIONS)
@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 28, 28), (3, 3, 32, 32)])
def test_shape_dtype_and_range_are_kept(name, shape):
    x = np.random.default_rng(0).random(shape)  # float64 in, float32 out
    x_copy = x.copy()
    out = C.corrupt(x, name, 5, seed=1)
    assert out.shape == shape and out.dtype == np.float32 and out.flags.c_contiguous
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_array_equal(x, x_copy)  # input untouched
    assert not np.array_equal(out, x.astype(np.float32))  # something happened


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.float16, np.float64])
def test_any_real_dtype_in_range_is_accepted(dtype):
    x = (np.random.default_rng(0).random((2, 1, 8, 8)) > 0.5).astype(dtype)
    assert C.corrupt(x, "contrast", 2).dtype == np.float32


@pytest.mark.parametrize("name", C.CORRUPTIONS)
def test_seeded_calls_are_reproducible_and_agree_across_entry_points(name, images):
    x = images[:16]
    a = C.corrupt(x, name, 3, seed=7)
    np.testing.assert_array_equal(a, C.corrupt(x, name, 3, seed=7))
    np.testing.assert_array_equal(a, getattr(C, name)(x, 3, seed=7))
    from_all = {(n, s): out for n, s, out in C.corrupt_all(x, severities=[3], names=[name], seed=7)}
    np.testing.assert_array_equal(a, from_all[(name, 3)])
    other = C.corrupt(x, name, 3, seed=8)
    if name in RANDOM_FAMILIES:
        assert not np.array_equal(a, other)
    else:
        np.testing.assert_array_equal(a, other)  # deterministic families ignore the seed


def test_corrupt_all_is_lazy_and_covers_the_grid(images):
    gen = C.corrupt_all(images[:4], severities=(1, 5), names=["contrast", "brightness"], seed=0)
    assert iter(gen) is gen  # a generator: one copy at a time
    keys = [(n, s) for n, s, _ in gen]
    assert keys == [("contrast", 1), ("contrast", 5), ("brightness", 1), ("brightness", 5)]
    assert len(list(C.corrupt_all(images[:2]))) == 55


# ------------------------------------------------------------------------------------------
# severity monotonicity on real Fashion-MNIST images, both tables
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["cifar", "imagenet"])
@pytest.mark.parametrize("name", C.CORRUPTIONS)
def test_error_against_the_clean_image_grows_with_severity(name, table, images):
    mse = np.array([np.mean((C.corrupt(images, name, s, seed=0, table=table) - images) ** 2) for s in range(1, 6)])
    assert mse[0] > 0
    steps = np.diff(mse)
    if name == "motion_blur" and table == "cifar":
        # Reference severities 3 and 4 are (6, 2) and (8, 2): identical kernels to 1e-8.
        assert abs(steps[2]) <= 1e-6 * mse[2]
        steps = np.delete(steps, 2)
    if name == "pixelate" and table == "imagenet":
        # ImageNet factors on 28 px give 16, 14, 11, 8, 7 px: 14 and 7 divide 28 exactly, so box
        # averaging loses less there than at 16 and 8 (documented); the trend still holds.
        assert mse[4] > mse[2] > mse[0]
        return
    assert np.all(steps > 0), (name, table, mse)


# ------------------------------------------------------------------------------------------
# each family against its definition
# ------------------------------------------------------------------------------------------
def test_gaussian_and_speckle_noise_have_the_table_standard_deviation():
    x = gray(0.5, n=16)
    for severity, c in enumerate(C.SEVERITY_TABLES["cifar"]["gaussian_noise"], start=1):
        noise = C.gaussian_noise(x, severity, seed=0) - 0.5
        assert abs(noise.mean()) < 0.005 and abs(noise.std() / c - 1) < 0.05
    c = C.SEVERITY_TABLES["cifar"]["speckle_noise"][4]
    noise = C.speckle_noise(x, 5, seed=0) - 0.5
    assert abs(noise.std() / (0.5 * c) - 1) < 0.05  # x * N(0, c^2) with x = 0.5


def test_shot_noise_is_poisson_with_the_table_photon_count():
    x = gray(0.4, n=32)
    c = C.SEVERITY_TABLES["cifar"]["shot_noise"][4]  # 50 photons per unit
    out = C.shot_noise(x, 5, seed=0).astype(np.float64)
    assert abs(out.mean() - 0.4) < 0.005
    assert abs(out.var() / (0.4 / c) - 1) < 0.05  # Var[Poisson(cx)/c] = x/c
    np.testing.assert_allclose(out * c, np.round(out * c), atol=1e-4)  # whole photon counts


def test_impulse_noise_flips_the_table_fraction_to_salt_or_pepper():
    x = gray(0.5, n=32)
    c = C.SEVERITY_TABLES["cifar"]["impulse_noise"][4]
    out = C.impulse_noise(x, 5, seed=0)
    salt, pepper = np.mean(out == 1.0), np.mean(out == 0.0)
    assert abs((salt + pepper) / c - 1) < 0.05 and abs(salt / pepper - 1) < 0.15
    assert np.all((out == 0.5) | (out == 0.0) | (out == 1.0))
    # same seed: a higher severity corrupts a superset of the pixels
    assert np.all((C.impulse_noise(x, 2, seed=0) != 0.5) <= (C.impulse_noise(x, 4, seed=0) != 0.5))


def test_contrast_scales_deviations_from_the_per_channel_mean():
    rng = np.random.default_rng(0)
    x = 0.4 + 0.1 * rng.random((4, 3, 16, 16))
    c = C.SEVERITY_TABLES["cifar"]["contrast"][2]
    out = C.contrast(x, 3)
    mean = x.mean(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(out, (x - mean) * c + mean, atol=1e-6)


def test_brightness_matches_an_hsv_round_trip():
    colors = pytest.importorskip("matplotlib.colors")
    rng = np.random.default_rng(0)
    x = rng.random((3, 3, 12, 12))
    x[0, :, 0, 0] = 0.0  # a black pixel: V = 0
    for severity in (1, 5):
        c = C.SEVERITY_TABLES["cifar"]["brightness"][severity - 1]
        hsv = colors.rgb_to_hsv(x.transpose(0, 2, 3, 1))
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
        expected = colors.hsv_to_rgb(hsv).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(C.brightness(x, severity), expected, atol=1e-6)
    np.testing.assert_allclose(C.brightness(gray(0.9), 5), 1.0)  # grayscale: min(x + c, 1)
    np.testing.assert_allclose(C.brightness(gray(0.5), 1), 0.55, atol=1e-7)


def test_blurs_preserve_a_constant_image_and_smooth_an_impulse():
    for name in ("gaussian_blur", "defocus_blur", "motion_blur", "pixelate"):
        np.testing.assert_allclose(C.corrupt(gray(0.3), name, 5, seed=0), 0.3, atol=1e-6)
        impulse = np.zeros((1, 1, 28, 28), dtype=np.float32)
        impulse[0, 0, 14, 14] = 1.0
        out = C.corrupt(impulse, name, 5, seed=0)
        assert out.max() < 1.0 and np.count_nonzero(out > 1e-6) > 1, name


def test_defocus_kernel_is_a_normalised_symmetric_disk():
    for table in C.SEVERITY_TABLES.values():
        for radius, alias in table["defocus_blur"]:
            k = families._disk_kernel(radius, alias)
            assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
            # Like the reference (cv2.GaussianBlur, reflect-101 border), the anti-aliasing blur
            # reflects mass back in where the disk touches the grid edge (radius 8 and 10).
            assert abs(k.sum() - 1) < (1e-12 if radius < 8 else 0.02)
            np.testing.assert_allclose(k, k.T, atol=1e-15)
            np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)
            assert k.flat[k.size // 2] == pytest.approx(k.max())  # peak (or plateau) at the centre


def test_motion_blur_equals_a_scipy_correlation_with_the_imagemagick_kernel(images):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = images[:6]
    out = C.motion_blur(x, 5, seed=3)
    angles = np.random.default_rng(3).uniform(-45, 45, size=6)  # the family's first draw
    weights, dy, dx = families._motion_taps(9, 2.5, angles)
    assert len(weights) == 19 and abs(weights.sum() - 1) < 1e-12
    for k in range(6):
        half = int(max(np.abs(dy[k]).max(), np.abs(dx[k]).max()))
        kernel = np.zeros((2 * half + 1, 2 * half + 1))
        np.add.at(kernel, (half + dy[k], half + dx[k]), weights)
        expected = ndimage.correlate(x[k, 0].astype(np.float64), kernel, mode="nearest")
        np.testing.assert_allclose(out[k, 0], expected, atol=1e-6)


def test_jpeg_output_is_8_bit_and_close_at_high_quality(images):
    out = C.jpeg_compression(images[:8], 1)
    np.testing.assert_allclose(out * 255, np.round(out * 255), atol=1e-3)
    assert np.mean(np.abs(out - images[:8])) < 0.03
    rgb = np.repeat(images[:2], 3, axis=1)
    assert C.jpeg_compression(rgb, 5).shape == rgb.shape


def test_pixelate_makes_blocks_of_the_reduced_size():
    x = np.random.default_rng(0).random((1, 1, 28, 28)).astype(np.float32)
    c = C.SEVERITY_TABLES["imagenet"]["pixelate"][4]  # 0.25: 28 -> 7 -> 28, 4x4 blocks
    out = C.pixelate(x, 5, table="imagenet")[0, 0]
    assert int(28 * c) == 7
    blocks = out.reshape(7, 4, 7, 4)
    np.testing.assert_allclose(blocks, blocks[:, :1, :, :1] * np.ones_like(blocks), atol=1e-6)
    np.testing.assert_allclose(blocks[:, 0, :, 0], x[0, 0].reshape(7, 4, 7, 4).mean(axis=(1, 3)), atol=1e-6)


# ------------------------------------------------------------------------------------------
# band-pass filter
# ------------------------------------------------------------------------------------------
def sinusoid(fy, fx, size=28):
    """cos(2 pi (fy y + fx x) / size): a single radial frequency sqrt(fy^2 + fx^2) cycles/image."""
    y, x = np.mgrid[0:size, 0:size]
    return (0.5 + 0.4 * np.cos(2 * np.pi * (fy * y + fx * x) / size))[None, None].astype(np.float64)


@pytest.mark.parametrize("fy,fx", [(0, 5), (3, 4), (5, 0)])
def test_bandpass_passes_a_sinusoid_at_its_frequency_and_attenuates_it_elsewhere(fy, fx):
    image = sinusoid(fy, fx)
    ac = image - image.mean()  # the 5 cycles/image component
    at_centre = C.bandpass_filter(image, center=5, bandwidth=2)
    np.testing.assert_allclose(at_centre, ac, atol=1e-5)  # gain exactly 1 on the ring, DC removed
    sigma = 2 / (2 * np.sqrt(2 * np.log(2)))
    for centre in (9.0, 12.0, 15.0):
        out = C.bandpass_filter(image, center=centre, bandwidth=2)
        expected_gain = np.exp(-((5 - centre) ** 2) / (2 * sigma**2))
        assert np.abs(out).max() <= expected_gain * np.abs(ac).max() + 1e-5
        assert np.sum(out**2) < 1e-6 * np.sum(ac**2)


def test_bandpass_never_adds_energy_and_is_linear(images):
    x = images[:8].astype(np.float64)
    energy = np.sum(x**2, axis=(1, 2, 3))
    for centre in (0.0, 1.0, 4.5, 10.0, 19.8):
        out = C.bandpass_filter(x, centre, 3.0).astype(np.float64)
        assert np.all(np.sum(out**2, axis=(1, 2, 3)) <= energy * (1 + 1e-6))
    a, b = C.bandpass_filter(x[:4], 6, 2), C.bandpass_filter(x[4:], 6, 2)
    np.testing.assert_allclose(C.bandpass_filter(x[:4] + 2 * x[4:], 6, 2), a + 2 * b, atol=1e-5)
    np.testing.assert_allclose(C.bandpass_filter(x, 0, 1e4), x, atol=1e-5)  # an all-pass band


def test_bandpass_units_and_response():
    image = sinusoid(0, 6, size=32)
    in_cycles = C.bandpass_filter(image, 6, 2)
    normalised = C.bandpass_filter(image, 6 / 32, 2 / 32, units="normalized")
    np.testing.assert_allclose(in_cycles, normalised, atol=1e-6)
    gain = C.bandpass_response((28, 28), 5, 2)
    assert gain.shape == (28, 15) and gain.max() <= 1.0 and gain.min() > 0.0
    assert gain[0, 5] == pytest.approx(1.0)  # (fy, fx) = (0, 5) lies on the ring
    assert gain[0, 0] == pytest.approx(np.exp(-25 / (2 * (2 / 2.3548200450309493) ** 2)))
    assert C.bandpass_filter(sinusoid(0, 5)[0], 5, 2).shape == (1, 28, 28)  # (N, H, W)
    clipped = C.bandpass_filter(image, 6, 2, clip=True)
    assert clipped.min() >= 0 and clipped.max() <= 1


# ------------------------------------------------------------------------------------------
# evaluation helpers on a tiny trained bionn model
# ------------------------------------------------------------------------------------------
def accuracy(model, X, y):
    return float(np.mean(np.argmax(model.predict(X), axis=1) == y))


def test_evaluate_corruptions_on_a_trained_model(tiny_model, fashion):
    pd = pytest.importorskip("pandas")
    X, y = fashion[2][:128], fashion[3][:128]
    names = ["gaussian_noise", "contrast", "jpeg_compression"]
    table = C.evaluate_corruptions(tiny_model, X, y, names=names, severities=(1, 3, 5), seed=0, batch_size=50)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["corruption", "severity", "accuracy", "n"]
    assert len(table) == 3 * 4 and set(table.severity) == {0, 1, 3, 5}
    clean = accuracy(tiny_model, X, y)
    assert clean > 0.6  # the model learnt something
    assert np.allclose(table[table.severity == 0].accuracy, clean)
    for name in names:
        row = table[(table.corruption == name) & (table.severity == 5)].iloc[0]
        assert row.accuracy == pytest.approx(accuracy(tiny_model, C.corrupt(X, name, 5, seed=0), y))
        assert row.n == 128
    # severity 1 JPEG barely changes the images, so the accuracy barely changes
    jpeg1 = table[(table.corruption == "jpeg_compression") & (table.severity == 1)].accuracy.iloc[0]
    assert abs(jpeg1 - clean) <= 0.05


def test_evaluate_corruptions_works_with_any_object_with_predict(tiny_model, fashion):
    X, y = fashion[2][:64], fashion[3][:64]

    class Wrapped:
        def predict(self, batch):
            return tiny_model.predict(batch)

    class AlwaysClassZero:
        def predict(self, batch):
            logits = np.zeros((len(batch), 10))
            logits[:, 0] = 1
            return logits

    kwargs = dict(names=["speckle_noise", "defocus_blur"], severities=[2, 4], seed=3, as_frame=False)
    rows = C.evaluate_corruptions(Wrapped(), X, y, **kwargs)
    assert isinstance(rows, list) and rows == C.evaluate_corruptions(tiny_model, X, y, **kwargs)
    constant = C.evaluate_corruptions(AlwaysClassZero(), X, y, **kwargs)
    assert all(r["accuracy"] == pytest.approx(np.mean(y == 0)) for r in constant)
    no_clean = C.evaluate_corruptions(Wrapped(), X, y, include_clean=False, **kwargs)
    assert [r["severity"] for r in no_clean] == [2, 4, 2, 4]


def test_evaluate_bandpass_on_a_trained_model(tiny_model, fashion):
    X, y = fashion[2][:128], fashion[3][:128]
    table = C.evaluate_bandpass(tiny_model, X, y, centers=[0, 0.5, 5, 15], bandwidth=2, as_frame=False)
    assert [r["center"] for r in table] == [0, 0.5, 5, 15]
    assert all(0 <= r["accuracy"] <= 1 and r["n"] == 128 and r["units"] == "cycles" for r in table)
    X5 = C.bandpass_filter(X, 5, 2)
    assert table[2]["accuracy"] == pytest.approx(accuracy(tiny_model, X5, y))
    all_pass = C.evaluate_bandpass(tiny_model, X, y, centers=[0], bandwidth=1e4, as_frame=False)
    assert all_pass[0]["accuracy"] == pytest.approx(accuracy(tiny_model, X, y))


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,exc", [("fog", ValueError), ("Gaussian_Noise", ValueError), (3, TypeError), (None, TypeError)]
)
def test_bad_corruption_name(name, exc):
    with pytest.raises(exc, match="corruption"):
        C.corrupt(gray(), name, 1)


@pytest.mark.parametrize(
    "severity,exc",
    [(0, ValueError), (6, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError), ("3", TypeError)],
)
def test_bad_severity(severity, exc):
    with pytest.raises(exc, match="severity"):
        C.corrupt(gray(), "contrast", severity)
    with pytest.raises(exc, match="severity"):
        C.gaussian_noise(gray(), severity)


@pytest.mark.parametrize(
    "images,match",
    [
        (np.full((2, 1, 8, 8), np.nan), "NaN"),
        (np.full((2, 1, 8, 8), np.inf), "NaN"),
        (np.zeros((8, 8)), "dimensions"),
        (np.zeros((2, 1, 1, 8, 8)), "dimensions"),
        (np.zeros((2, 2, 8, 8)), "channels"),
        (np.zeros((2, 1, 1, 8)), "2x2"),
        (np.zeros((0, 1, 8, 8)), "empty"),
        (np.full((2, 1, 8, 8), 1.5), r"\[0, 1\]"),
        (np.full((2, 1, 8, 8), -0.1), r"\[0, 1\]"),
        (np.full((2, 1, 8, 8), 255, dtype=np.uint8), "divide uint8"),
    ],
)
def test_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        C.corrupt(images, "gaussian_noise", 1, seed=0)


def test_values_within_the_tolerance_are_clipped_not_rejected():
    x = np.full((1, 1, 4, 4), 1 + 5e-7)
    np.testing.assert_array_equal(C.contrast(x, 1), 1.0)
    with pytest.raises(TypeError, match="images"):
        C.corrupt(np.array([["a"]]), "contrast", 1)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(table="tiny"), ValueError, "table"),
    ],
)
def test_bad_seed_and_table(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        C.corrupt(gray(), "gaussian_noise", 1, **kwargs)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(center=5, bandwidth=0), ValueError, "bandwidth"),
        (dict(center=5, bandwidth=-1), ValueError, "bandwidth"),
        (dict(center=5, bandwidth=np.nan), ValueError, "bandwidth"),
        (dict(center=-1, bandwidth=2), ValueError, "center"),
        (dict(center="5", bandwidth=2), TypeError, "center"),
        (dict(center=5, bandwidth=2, units="hz"), ValueError, "units"),
    ],
)
def test_bad_bandpass_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        C.bandpass_filter(gray(), **kwargs)


def test_bandpass_accepts_values_outside_0_1_but_not_nan():
    assert C.bandpass_filter(gray(3.0), 0, 1).shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="NaN"):
        C.bandpass_filter(np.full((1, 1, 4, 4), np.nan), 0, 1)


def test_evaluation_argument_errors(images):
    X, y = images[:8], np.zeros(8, dtype=int)

    class Bad:
        def predict(self, batch):
            return np.zeros(len(batch))  # not logits

    class Model:
        def predict(self, batch):
            return np.zeros((len(batch), 10))

    with pytest.raises(TypeError, match="predict"):
        C.evaluate_corruptions(object(), X, y)
    with pytest.raises(ValueError, match="logits"):
        C.evaluate_corruptions(Bad(), X, y, names=["contrast"], severities=[1])
    with pytest.raises(ValueError, match="labels"):
        C.evaluate_corruptions(Model(), X, y[:5])
    with pytest.raises(ValueError, match="duplicates"):
        C.evaluate_corruptions(Model(), X, y, names=["contrast", "contrast"])
    with pytest.raises(ValueError, match="severity"):
        C.evaluate_corruptions(Model(), X, y, severities=[0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        C.evaluate_corruptions(Model(), X, y, batch_size=0)
    with pytest.raises(ValueError, match="bandwidth"):
        C.evaluate_bandpass(Model(), X, y, centers=[1, 2], bandwidth=0)
    with pytest.raises(ValueError, match="centers"):
        C.evaluate_bandpass(Model(), X, y, centers=[], bandwidth=1)
    with pytest.raises(ValueError, match="center"):
        C.evaluate_bandpass(Model(), X, y, centers=[1, -2], bandwidth=1)


def test_missing_optional_dependencies_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.ndimage", None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    for name in ("gaussian_blur", "defocus_blur", "pixelate", "jpeg_compression"):
        with pytest.raises(ImportError, match=r"bionn\[corruptions\]"):
            C.corrupt(gray(), name, 1)
    assert C.corrupt(gray(), "gaussian_noise", 1, seed=0).shape == (4, 1, 28, 28)  # numpy only


# ------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------
def fake_corruption_table(offset):
    return [
        dict(corruption=name, severity=s, accuracy=0.9 - 0.1 * s + offset, n=10)
        for name in ("gaussian_noise", "contrast", "pixelate")
        for s in range(0, 6)
    ]


def test_corruption_curves_one_panel_per_family_one_line_per_model():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from bionn import plot

    fig = plot.corruption_curves(
        {"baseline": fake_corruption_table(0.0), "flexible": fake_corruption_table(0.05)}, ncols=2
    )
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4  # 3 families + the mean panel
    assert all(len(ax.lines) == 2 for ax in visible)
    np.testing.assert_allclose(visible[0].lines[1].get_ydata(), [0.95 - 0.1 * s for s in range(6)])
    fig = plot.corruption_curves(fake_corruption_table(0.0), names=["contrast"], average=False)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    with pytest.raises(ValueError, match="no rows"):
        plot.corruption_curves(fake_corruption_table(0.0), names=["fog"])
    with pytest.raises(ValueError, match="columns?"):
        plot.corruption_curves([dict(a=1)])
    with pytest.raises(TypeError):
        plot.corruption_curves({"m": 3})
    matplotlib.pyplot.close("all")


def test_bandpass_curves_draws_each_model(tiny_model, fashion):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from bionn import plot

    X, y = fashion[2][:32], fashion[3][:32]
    table = C.evaluate_bandpass(tiny_model, X, y, centers=[0, 5, 10], bandwidth=2)
    fig = plot.bandpass_curves({"a": table, "b": table}, chance=0.1)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and "cycles per image" in ax.get_xlabel()
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 5, 10])
    with pytest.raises(ValueError, match="center"):
        plot.bandpass_curves([dict(accuracy=1.0)])
    matplotlib.pyplot.close("all")


def test_noise_drawn_slice_by_slice_equals_one_draw_over_the_batch():
    """The noise families draw slice by slice (so Ctrl-C is seen between slices); the numbers are
    those of one draw over the whole batch, as in the formulas of Hendrycks & Dietterich."""
    x = np.random.default_rng(3).uniform(0, 1, (2 * families._per_image(np.zeros((1, 3, 32, 32))) + 5, 3, 32, 32))
    x = x.astype(np.float32)
    table = C.SEVERITY_TABLES["cifar"]

    def ref(family):
        rng, c = np.random.default_rng(11), table[family][2]
        if family == "gaussian_noise":
            out = x + np.float32(c) * rng.standard_normal(x.shape, dtype=np.float32)
        elif family == "speckle_noise":
            out = x + x * (np.float32(c) * rng.standard_normal(x.shape, dtype=np.float32))
        elif family == "shot_noise":
            out = rng.poisson(x.astype(np.float64) * c) / c
        else:
            flipped = rng.random(x.shape, dtype=np.float32) < c
            salt = rng.random(x.shape, dtype=np.float32) < 0.5
            out = x.copy()
            out[flipped & salt], out[flipped & ~salt] = 1.0, 0.0
        return np.clip(out, 0, 1).astype(np.float32)

    for family in ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"):
        np.testing.assert_array_equal(C.corrupt(x, family, 3, seed=11), ref(family), err_msg=family)
