"""Common corruptions (Hendrycks & Dietterich, ICLR 2019) and Fourier band-pass filtering: what
the flexible-layer paper measures at severities 1-5 and per centre frequency (its Fig. 5), for
small images:

* the corruption families that make sense on 28x28 grayscale and 32x32 colour images --
  :data:`CORRUPTIONS` -- as one function each plus :func:`corrupt` / :func:`corrupt_all`;
* :func:`evaluate_corruptions`: a tidy table of accuracy per family and severity;
* :func:`bandpass_filter` and :func:`evaluate_bandpass`: Gaussian band-pass filtering of images
  in the Fourier domain and the accuracy per centre frequency.

Severity tables
---------------
Every family takes its five parameter values from Hendrycks & Dietterich's reference code. Two
tables exist there and both are available through ``table=``:

``"cifar"`` (default)
    ``make_cifar_c.py`` (CIFAR-10-C, 32x32 images). Chosen by default because 32x32 is the
    closest of their image sizes to 28x28 Fashion-MNIST. Spatial parameters (blur sigmas, disk
    radii, motion-blur radii) are used unchanged, in pixels, on 28x28 images (12.5% smaller
    than 32x32: a blur covers a slightly larger fraction of the image); ``pixelate`` is a
    relative factor and scales with the image size by construction.
``"imagenet"``
    ``imagenet_c/corruptions.py`` (ImageNet-C, 224x224 images). Used verbatim as well; its
    spatial parameters are meant for 224-pixel images, so on 28x28 images the blurs are far
    stronger than on ImageNet. Provided for larger images and for comparison.

Families not included and why: glass blur and elastic transform (pixel-shuffling loops tuned to
the image size), zoom blur, and the weather (snow, frost, fog, spatter) and saturate families
(they need ImageMagick, texture files or a colour image).

Implementation: scipy.ndimage filters where the reference code uses scikit-image, OpenCV and
ImageMagick (same kernels and border rules, stated per function); Pillow does JPEG and pixelate.
Both are optional (``pip install bionn[corruptions]``), imported only when a corruption needs them.

Input convention: images are float arrays in [0, 1] of shape (N, C, H, W) with C = 1 (grayscale)
or C = 3 (RGB), or (N, H, W) for grayscale; any real dtype is accepted and converted once.
Values outside [0, 1] by more than 1e-6 are rejected (a ValueError) -- rescale first -- and
values within that tolerance are clipped. Every corruption returns a new float32 array of the
input's shape, clipped to [0, 1], as the reference code clips its outputs.

Randomness: ``seed`` (an int >= 0) makes a call reproducible; ``seed=None`` draws fresh entropy.
The same seed at different severities reuses the same underlying random draws (common random
numbers), so severity curves are not confounded by different noise realisations.

Example
-------
>>> from bionn import corruptions
>>> X_noisy = corruptions.corrupt(X_test, "gaussian_noise", severity=3, seed=0)  # doctest: +SKIP
>>> table = corruptions.evaluate_corruptions(model, X_test, y_test, seed=0)     # doctest: +SKIP
"""
from __future__ import annotations

import io
import math
import numbers
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from ._validation import as_array, check_float, check_int

__all__ = [
    "CORRUPTIONS", "SEVERITY_TABLES", "corrupt", "corrupt_all", "evaluate_corruptions",
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur", "defocus_blur",
    "motion_blur", "contrast", "brightness", "pixelate", "jpeg_compression",
    "bandpass_filter", "bandpass_response", "evaluate_bandpass",
]

#: Names of the corruption families, in the order of Hendrycks & Dietterich's Table 1 categories
#: (noise, blur, digital) as adapted to small images.
CORRUPTIONS: Tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",
    "gaussian_blur", "defocus_blur", "motion_blur",
    "contrast", "brightness", "pixelate", "jpeg_compression",
)

#: Severity 1..5 parameters of every family, copied from Hendrycks & Dietterich's code:
#: ``"cifar"`` from ``make_cifar_c.py`` (CIFAR-10-C), ``"imagenet"`` from
#: ``imagenet_c/corruptions.py`` (ImageNet-C). Meaning of the entries per family:
#: gaussian_noise: noise std; shot_noise: photons per unit intensity (Poisson rate scale);
#: impulse_noise: fraction of corrupted values; speckle_noise: multiplicative noise std;
#: gaussian_blur: sigma (pixels); defocus_blur: (disk radius, anti-alias sigma) in pixels;
#: motion_blur: (kernel radius, sigma) in pixels; contrast: factor towards the mean;
#: brightness: value added to the HSV value channel; pixelate: relative down-sampled size;
#: jpeg_compression: JPEG quality.
SEVERITY_TABLES: Dict[str, Dict[str, Tuple[Any, ...]]] = {
    "cifar": {
        "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
        "shot_noise": (500, 250, 100, 75, 50),
        "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
        "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
        "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
        "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
        "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
        "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
        "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
        "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
        "jpeg_compression": (80, 65, 58, 50, 40),
    },
    "imagenet": {
        "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
        "shot_noise": (60, 25, 12, 5, 3),
        "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
        "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
        "gaussian_blur": (1, 2, 3, 4, 6),
        "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
        "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
        "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
        "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
        "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
        "jpeg_compression": (25, 18, 15, 10, 7),
    },
}

_RANGE_TOLERANCE = 1e-6
_EXTRA_HINT = "install the optional dependencies with `pip install bionn[corruptions]`"


# ---------------------------------------------------------------------------------------------
# optional dependencies, validation
# ---------------------------------------------------------------------------------------------
def _ndimage() -> Any:
    try:
        from scipy import ndimage
    except ImportError as exc:
        raise ImportError(f"this corruption needs scipy (scipy.ndimage); {_EXTRA_HINT} "
                          "(or `pip install scipy`)") from exc
    return ndimage


def _pil_image() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"this corruption needs Pillow; {_EXTRA_HINT} (or `pip install pillow`)") from exc
    return Image


def _as_images(images: Any, name: str = "images", *, check_range: bool = True
               ) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """(float32 array of shape (N, C, H, W), original shape); C must be 1 or 3."""
    arr = as_array(images, name, np.float32, min_ndim=3, max_ndim=4)
    shape = arr.shape
    if arr.ndim == 3:
        arr = arr[:, None]
    n, c, h, w = arr.shape
    if c not in (1, 3):
        raise ValueError(f"{name} must have shape (N, H, W), (N, 1, H, W) or (N, 3, H, W) "
                         f"(channels first); got shape {shape} with {c} channels")
    if h < 2 or w < 2:
        raise ValueError(f"{name} must be at least 2x2 pixels, got shape {shape}")
    if check_range:
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -_RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE:
            raise ValueError(f"{name} must hold values in [0, 1], got values in [{lo:.6g}, {hi:.6g}]; "
                             "rescale the images first (e.g. divide uint8 images by 255)")
        if lo < 0 or hi > 1:
            arr = np.clip(arr, 0.0, 1.0)
    return arr, shape


def _check_severity(severity: Any) -> int:
    if isinstance(severity, (bool, np.bool_)) or not isinstance(severity, (numbers.Integral, np.integer)):
        raise TypeError(f"severity must be an integer from 1 to 5, got {type(severity).__name__}")
    severity = int(severity)
    if not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity}")
    return severity


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a corruption name (str), got {type(name).__name__}")
    if name not in _FUNCTIONS:
        raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTIONS)}")
    return name


def _check_table(table: Any) -> str:
    if not isinstance(table, str) or table not in SEVERITY_TABLES:
        raise ValueError(f"table must be one of {sorted(SEVERITY_TABLES)}, got {table!r}")
    return table


def _rng(seed: Any) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int(seed, "seed", minimum=0))


def _parameter(family: str, severity: Any, table: str) -> Any:
    return SEVERITY_TABLES[_check_table(table)][family][_check_severity(severity) - 1]


def _finish(out: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Clip to [0, 1] (as every reference corruption does), float32, the input's shape."""
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32).reshape(shape)


# ---------------------------------------------------------------------------------------------
# noise
# ---------------------------------------------------------------------------------------------
def gaussian_noise(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                   table: str = "cifar") -> np.ndarray:
    """Additive Gaussian noise: ``x + N(0, c^2)``, independent per pixel and channel.

    Parameters
    ----------
    images : array-like, shape (N, H, W), (N, 1, H, W) or (N, 3, H, W), values in [0, 1]
    severity : int, 1..5
        Selects ``c`` from :data:`SEVERITY_TABLES` (cifar: 0.04..0.10, imagenet: 0.08..0.38).
    seed : int, optional
        Seeds the noise; None draws fresh entropy.
    table : {"cifar", "imagenet"}
        Which of Hendrycks & Dietterich's parameter tables to use.

    Returns
    -------
    numpy.ndarray
        float32, the input's shape, clipped to [0, 1].
    """
    c = _parameter("gaussian_noise", severity, table)
    x, shape = _as_images(images)
    noise = _rng(seed).standard_normal(x.shape, dtype=np.float32)
    return _finish(x + np.float32(c) * noise, shape)


def shot_noise(images: Any, severity: int = 1, *, seed: Optional[int] = None,
               table: str = "cifar") -> np.ndarray:
    """Poisson (photon) noise: ``Poisson(c x) / c``; fewer photons ``c`` is more severe.

    Parameters and returns as :func:`gaussian_noise` (cifar c: 500..50, imagenet c: 60..3).
    """
    c = _parameter("shot_noise", severity, table)
    x, shape = _as_images(images)
    counts = _rng(seed).poisson(x.astype(np.float64) * c)
    return _finish(counts / c, shape)


def impulse_noise(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                  table: str = "cifar") -> np.ndarray:
    """Salt-and-pepper noise: a fraction ``c`` of the values (per pixel and channel) is set to 0
    or 1 with equal probability, as ``skimage.util.random_noise(mode="s&p", amount=c)`` does in
    the reference code.

    Parameters and returns as :func:`gaussian_noise` (cifar c: 0.01..0.07, imagenet: 0.03..0.27).
    """
    c = _parameter("impulse_noise", severity, table)
    x, shape = _as_images(images)
    rng = _rng(seed)
    # Uniform draws compared with c (rather than a Bernoulli draw per severity) keep the corrupted
    # set of one severity a subset of the next one's for the same seed.
    flipped = rng.random(x.shape, dtype=np.float32) < c
    salt = rng.random(x.shape, dtype=np.float32) < 0.5
    out = x.copy()
    out[flipped & salt] = 1.0
    out[flipped & ~salt] = 0.0
    return _finish(out, shape)


def speckle_noise(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                  table: str = "cifar") -> np.ndarray:
    """Multiplicative Gaussian noise: ``x + x N(0, c^2)``.

    Parameters and returns as :func:`gaussian_noise` (cifar c: 0.06..0.2, imagenet: 0.15..0.6).
    """
    c = _parameter("speckle_noise", severity, table)
    x, shape = _as_images(images)
    noise = _rng(seed).standard_normal(x.shape, dtype=np.float32)
    return _finish(x + x * (np.float32(c) * noise), shape)


# ---------------------------------------------------------------------------------------------
# blur
# ---------------------------------------------------------------------------------------------
def gaussian_blur(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                  table: str = "cifar") -> np.ndarray:
    """Gaussian blur of standard deviation ``c`` pixels on each channel.

    Same filter as the reference's ``skimage.filters.gaussian(sigma=c)``:
    ``scipy.ndimage.gaussian_filter`` with edge-replicating borders (``mode="nearest"``) and the
    kernel truncated at 4 sigma. Deterministic; ``seed`` is accepted for a uniform signature.

    Parameters and returns as :func:`gaussian_noise` (cifar c: 0.4..1, imagenet c: 1..6).
    """
    c = _parameter("gaussian_blur", severity, table)
    x, shape = _as_images(images)
    out = _ndimage().gaussian_filter(x, sigma=(0, 0, c, c), mode="nearest", truncate=4.0)
    return _finish(out, shape)


def _gaussian_taps(sigma: float, half: int) -> np.ndarray:
    taps = np.exp(-np.arange(-half, half + 1, dtype=np.float64) ** 2 / (2.0 * sigma * sigma))
    return taps / taps.sum()


def _disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The reference's ``disk``: an aliased disk of ``radius`` normalised to sum 1, on a grid of
    half-width max(8, radius), anti-aliased by a 3x3 (5x5 when radius > 8) Gaussian of sigma
    ``alias_blur`` (``cv2.GaussianBlur``, whose default border reflects without repeating the
    edge: ``mode="mirror"``); zero borders are trimmed, which changes no output value. Where
    the disk touches the grid edge (radius 8 and 10 of the ImageNet table) that border reflects
    some mass back in and the kernel sums to about 1.01, exactly as in the reference."""
    ndimage = _ndimage()
    half = 8 if radius <= 8 else int(math.ceil(radius))
    grid = np.arange(-half, half + 1, dtype=np.float64)
    X, Y = np.meshgrid(grid, grid)
    disk = (X ** 2 + Y ** 2 <= radius ** 2).astype(np.float64)
    disk /= disk.sum()
    taps = _gaussian_taps(alias_blur, 1 if radius <= 8 else 2)
    kernel = ndimage.correlate(disk, np.outer(taps, taps), mode="mirror")
    nonzero = np.nonzero(np.abs(kernel).max(axis=0) > 0)[0]
    keep = max(half - int(nonzero.min()), int(nonzero.max()) - half)
    return kernel[half - keep:half + keep + 1, half - keep:half + keep + 1]


def defocus_blur(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                 table: str = "cifar") -> np.ndarray:
    """Defocus blur: correlation with an anti-aliased disk (see the reference's ``disk``).

    ``c = (radius, alias_sigma)`` in pixels; the image border reflects without repeating the edge
    pixel (``cv2.filter2D``'s default, ``mode="mirror"`` in scipy). Deterministic.

    Parameters and returns as :func:`gaussian_noise` (cifar radius: 0.3..1.5, imagenet: 3..10).
    """
    radius, alias_blur = _parameter("defocus_blur", severity, table)
    x, shape = _as_images(images)
    kernel = _disk_kernel(radius, alias_blur).astype(np.float32)
    out = _ndimage().correlate(x, kernel[None, None], mode="mirror")
    return _finish(out, shape)


def _motion_taps(radius: int, sigma: float, angles_degrees: np.ndarray
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ImageMagick's ``MotionBlurImage`` kernel, which the reference calls through Wand:
    ``2 radius + 1`` taps with one-sided Gaussian weights exp(-i^2 / 2 sigma^2) (normalised to
    sum 1) at the rounded points ``(ceil(i sin a - 1/2), ceil(i cos a - 1/2))``, i = 0..2 radius,
    along the direction ``a``. Returns (weights (T,), row offsets (N, T), column offsets (N, T))."""
    width = 2 * int(radius) + 1
    i = np.arange(width, dtype=np.float64)
    weights = np.exp(-i ** 2 / (2.0 * sigma * sigma))
    weights /= weights.sum()
    a = np.radians(np.asarray(angles_degrees, dtype=np.float64))[:, None]
    dy = np.ceil(i * np.sin(a) - 0.5).astype(np.intp)
    dx = np.ceil(i * np.cos(a) - 0.5).astype(np.intp)
    return weights, dy, dx


def motion_blur(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                table: str = "cifar") -> np.ndarray:
    """Motion blur along a random direction drawn uniformly in [-45, 45) degrees per image.

    ``c = (radius, sigma)`` in pixels. The kernel is ImageMagick's one-sided motion-blur kernel
    (see ``_motion_taps``): output(p) = sum_i w_i x(p + offset_i), with edge-replicating borders
    (ImageMagick's default virtual-pixel method). Because every image has its own direction and
    the kernel is a sparse line of ``2 radius + 1`` taps, it is applied as a weighted sum of
    edge-clamped shifted copies, vectorised over the batch (the same result as
    ``scipy.ndimage.correlate(image, kernel_2d, mode="nearest")`` per image, about 15x faster).

    Parameters and returns as :func:`gaussian_noise` (cifar radius 6..9, sigma 1..2.5).

    Note: in the CIFAR table severities 3 and 4 are ``(6, 2)`` and ``(8, 2)``; the extra taps of
    radius 8 have weights below 1e-8 at sigma 2, so these two severities are the same corruption
    to float precision. This is a property of the reference parameters, kept verbatim.
    """
    radius, sigma = _parameter("motion_blur", severity, table)
    x, shape = _as_images(images)
    n, _, h, w = x.shape
    angles = _rng(seed).uniform(-45.0, 45.0, size=n)
    weights, dy, dx = _motion_taps(radius, sigma, angles)
    batch = np.arange(n)[:, None, None]
    rows = np.arange(h)[None, :, None]
    cols = np.arange(w)[None, None, :]
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1))   # (N, H, W, C) for the gather
    out = np.zeros_like(channels_last)
    for t, weight in enumerate(weights):
        r = np.clip(rows + dy[:, t, None, None], 0, h - 1)
        c = np.clip(cols + dx[:, t, None, None], 0, w - 1)
        out += np.float32(weight) * channels_last[batch, r, c]
    return _finish(out.transpose(0, 3, 1, 2), shape)


# ---------------------------------------------------------------------------------------------
# digital
# ---------------------------------------------------------------------------------------------
def contrast(images: Any, severity: int = 1, *, seed: Optional[int] = None,
             table: str = "cifar") -> np.ndarray:
    """Contrast reduction towards each image's per-channel mean: ``(x - m) c + m``.
    Deterministic. Parameters and returns as :func:`gaussian_noise` (cifar c: 0.75..0.15)."""
    c = _parameter("contrast", severity, table)
    x, shape = _as_images(images)
    means = x.mean(axis=(2, 3), keepdims=True)
    return _finish((x - means) * np.float32(c) + means, shape)


def brightness(images: Any, severity: int = 1, *, seed: Optional[int] = None,
               table: str = "cifar") -> np.ndarray:
    """Brightness increase: ``c`` is added to the value channel of HSV, clipped at 1.

    For RGB this is exactly the reference's rgb2hsv -> V + c -> hsv2rgb: hue and saturation are
    unchanged, so every channel is scaled by ``min(V + c, 1) / V`` with ``V = max(r, g, b)`` (a
    black pixel becomes the gray ``min(c, 1)``). For grayscale ``V = x``, i.e. ``min(x + c, 1)``.
    Deterministic. Parameters and returns as :func:`gaussian_noise` (cifar c: 0.05..0.3).
    """
    c = np.float32(_parameter("brightness", severity, table))
    x, shape = _as_images(images)
    value = x.max(axis=1, keepdims=True)
    new_value = np.minimum(value + c, np.float32(1.0))
    scale = np.divide(new_value, value, out=np.zeros_like(value), where=value > 0)
    out = np.where(value > 0, x * scale, new_value)
    return _finish(out, shape)


def pixelate(images: Any, severity: int = 1, *, seed: Optional[int] = None,
             table: str = "cifar") -> np.ndarray:
    """Pixelation: down-sample to ``int(c W) x int(c H)`` and back with Pillow's box filter, as
    the reference does (``Image.resize(..., BOX)`` twice). Runs on 32-bit float images (Pillow
    mode "F") per channel, so no 8-bit rounding is added. Deterministic.
    Parameters and returns as :func:`gaussian_noise` (cifar c: 0.95..0.65, relative size).

    Note: on 28x28 images the ImageNet factors give 16, 14, 11, 8 and 7 pixels; 14 and 7 divide
    28, so box averaging there loses less than at 16 and 8 and the error against the clean image
    is not ordered between severities 1-2 and 4-5. The CIFAR factors (26, 25, 23, 21, 18 pixels)
    are ordered."""
    c = _parameter("pixelate", severity, table)
    x, shape = _as_images(images)
    Image = _pil_image()
    n, channels, h, w = x.shape
    small = (max(1, int(w * c)), max(1, int(h * c)))
    box = Image.Resampling.BOX if hasattr(Image, "Resampling") else Image.BOX
    out = np.empty_like(x)
    for k in range(n):
        for ch in range(channels):
            img = Image.fromarray(x[k, ch])  # a float32 2-D array becomes a mode "F" image
            out[k, ch] = np.asarray(img.resize(small, box).resize((w, h), box), dtype=np.float32)
    return _finish(out, shape)


def jpeg_compression(images: Any, severity: int = 1, *, seed: Optional[int] = None,
                     table: str = "cifar") -> np.ndarray:
    """JPEG compression at quality ``c`` with Pillow (the reference's ``save('JPEG', quality=c)``).

    Images are rounded to 8 bits (JPEG stores 8-bit samples), encoded as grayscale ("L") or RGB
    and decoded back to [0, 1]. Deterministic. Parameters and returns as :func:`gaussian_noise`
    (cifar quality: 80..40, imagenet: 25..7).
    """
    quality = int(_parameter("jpeg_compression", severity, table))
    x, shape = _as_images(images)
    Image = _pil_image()
    n, channels = x.shape[:2]
    as_bytes = np.round(x * 255.0).astype(np.uint8)
    out = np.empty_like(x)
    for k in range(n):
        img = Image.fromarray(as_bytes[k, 0]) if channels == 1 else Image.fromarray(
            np.ascontiguousarray(as_bytes[k].transpose(1, 2, 0)))
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        decoded = np.asarray(Image.open(buffer), dtype=np.float32) / 255.0
        out[k] = decoded[None] if channels == 1 else decoded.transpose(2, 0, 1)
    return _finish(out, shape)


_FUNCTIONS: Dict[str, Callable[..., np.ndarray]] = {
    "gaussian_noise": gaussian_noise, "shot_noise": shot_noise, "impulse_noise": impulse_noise,
    "speckle_noise": speckle_noise, "gaussian_blur": gaussian_blur, "defocus_blur": defocus_blur,
    "motion_blur": motion_blur, "contrast": contrast, "brightness": brightness, "pixelate": pixelate,
    "jpeg_compression": jpeg_compression,
}


# ---------------------------------------------------------------------------------------------
# dispatch and evaluation
# ---------------------------------------------------------------------------------------------
def corrupt(images: Any, name: str, severity: int, seed: Optional[int] = None, *,
            table: str = "cifar") -> np.ndarray:
    """Apply the corruption ``name`` at ``severity`` to a batch of images.

    Parameters
    ----------
    images : array-like, shape (N, H, W), (N, 1, H, W) or (N, 3, H, W)
        Values in [0, 1] (see the module docstring for the tolerance rule); any real dtype.
    name : str
        One of :data:`CORRUPTIONS`.
    severity : int
        1 (mildest) to 5.
    seed : int, optional
        Makes the random families reproducible; None draws fresh entropy.
    table : {"cifar", "imagenet"}
        Hendrycks & Dietterich's CIFAR-10-C (default) or ImageNet-C parameter table.

    Returns
    -------
    numpy.ndarray
        float32 array of the input's shape, clipped to [0, 1].
    """
    return _FUNCTIONS[_check_name(name)](images, _check_severity(severity), seed=seed, table=table)


def _check_names(names: Optional[Iterable[str]]) -> List[str]:
    if names is None:
        return list(CORRUPTIONS)
    if isinstance(names, str):
        names = [names]
    out = [_check_name(n) for n in names]
    if not out:
        raise ValueError("names must contain at least one corruption name")
    if len(set(out)) != len(out):
        raise ValueError(f"names contains duplicates: {out}")
    return out


def _check_severities(severities: Iterable[int]) -> List[int]:
    if isinstance(severities, (numbers.Integral, np.integer)) and not isinstance(severities, (bool, np.bool_)):
        severities = [severities]
    try:
        out = [_check_severity(s) for s in severities]
    except TypeError as exc:
        if "severity" in str(exc):
            raise
        raise TypeError(f"severities must be an iterable of integers 1..5, got {type(severities).__name__}") from None
    if not out:
        raise ValueError("severities must contain at least one severity")
    if len(set(out)) != len(out):
        raise ValueError(f"severities contains duplicates: {out}")
    return out


def corrupt_all(images: Any, severities: Iterable[int] = range(1, 6), names: Optional[Iterable[str]] = None,
                seed: Optional[int] = 0, *, table: str = "cifar"
                ) -> Iterator[Tuple[str, int, np.ndarray]]:
    """Yield ``(name, severity, corrupted_images)`` for every family and severity, lazily (one
    corrupted copy of the data in memory at a time).

    Every pair uses the same ``seed``, so ``corrupted_images`` equals
    ``corrupt(images, name, severity, seed=seed)``. Wrap in ``dict(((n, s), x) for n, s, x in
    corrupt_all(...))`` to keep them all.

    Parameters
    ----------
    images : array-like
        As for :func:`corrupt`; validated once before the first item is produced.
    severities : iterable of int
        Default 1..5.
    names : iterable of str, optional
        Default :data:`CORRUPTIONS`.
    seed : int or None
        Default 0 (reproducible).
    table : {"cifar", "imagenet"}
    """
    names = _check_names(names)
    severities = _check_severities(severities)
    _check_table(table)
    if seed is not None:
        check_int(seed, "seed", minimum=0)
    x, shape = _as_images(images)
    x = x.reshape(shape)

    def generate() -> Iterator[Tuple[str, int, np.ndarray]]:
        for name in names:
            for severity in severities:
                yield name, severity, corrupt(x, name, severity, seed=seed, table=table)

    return generate()


def _check_model(model: Any) -> None:
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"model must have a predict(X) method returning logits, got {type(model).__name__}")


def _predict_labels(model: Any, X: np.ndarray, batch_size: int) -> np.ndarray:
    out = []
    for start in range(0, X.shape[0], batch_size):
        chunk = X[start:start + batch_size]
        logits = np.asarray(model.predict(chunk))
        if logits.ndim != 2 or logits.shape[0] != chunk.shape[0] or logits.shape[1] < 2:
            raise ValueError("model.predict must return logits of shape (batch, n_classes >= 2), "
                             f"got shape {logits.shape} for a batch of {chunk.shape[0]}")
        out.append(np.argmax(logits, axis=1))
    return np.concatenate(out)


def _check_labels(labels: Any, n: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"labels must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) to match images, got shape {arr.shape}")
    if arr.dtype.kind == "f" and (not np.isfinite(arr).all() or not np.all(arr == np.round(arr))):
        raise ValueError("labels must hold whole-number class labels")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels has a negative label ({arr.min()})")
    return arr.astype(np.int64)


def _table(rows: List[Dict[str, Any]], as_frame: Optional[bool]) -> Any:
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise ImportError("as_frame=True needs pandas (`pip install pandas`)") from None
        return rows
    return pd.DataFrame(rows)


def evaluate_corruptions(model: Any, images: Any, labels: Any, names: Optional[Iterable[str]] = None,
                         severities: Iterable[int] = (1, 2, 3, 4, 5), seed: Optional[int] = 0,
                         batch_size: int = 1024, *, table: str = "cifar", include_clean: bool = True,
                         as_frame: Optional[bool] = None) -> Any:
    """Accuracy of ``model`` on corrupted copies of ``(images, labels)`` per family and severity.

    Parameters
    ----------
    model : object with ``predict(X) -> logits``
        A :class:`bionn.nn.Sequential` or any object whose ``predict`` takes a batch shaped like
        ``images`` and returns logits of shape (batch, n_classes); the predicted class is the
        arg-max.
    images, labels : array-like
        Clean images as for :func:`corrupt` and their integer labels (N,).
    names : iterable of str, optional
        Families to evaluate (default :data:`CORRUPTIONS`).
    severities : iterable of int
        Default 1..5.
    seed : int or None
        The seed of every corruption (default 0, reproducible; see :func:`corrupt_all`).
    batch_size : int
        Images passed to ``model.predict`` at a time.
    table : {"cifar", "imagenet"}
    include_clean : bool
        Also report the clean accuracy as severity 0 of every family (as the paper's Fig. 5A
        does), computed once.
    as_frame : bool, optional
        True: a pandas DataFrame; False: a list of dicts; None (default): a DataFrame when pandas
        is installed.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per (family, severity) with columns ``corruption``, ``severity``, ``accuracy``
        (fraction correct, 0..1) and ``n`` (number of images).
    """
    _check_model(model)
    names = _check_names(names)
    severities = _check_severities(severities)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    _check_table(table)
    x, shape = _as_images(images)
    y = _check_labels(labels, x.shape[0])
    n = int(x.shape[0])
    rows: List[Dict[str, Any]] = []
    clean_accuracy = None
    if include_clean:
        clean_accuracy = float(np.mean(_predict_labels(model, x.reshape(shape), batch_size) == y))
    for name, severity, corrupted in corrupt_all(x.reshape(shape), severities, names, seed, table=table):
        if include_clean and severity == severities[0]:
            rows.append(dict(corruption=name, severity=0, accuracy=clean_accuracy, n=n))
        accuracy = float(np.mean(_predict_labels(model, corrupted, batch_size) == y))
        rows.append(dict(corruption=name, severity=severity, accuracy=accuracy, n=n))
    return _table(rows, as_frame)


# ---------------------------------------------------------------------------------------------
# spectral analysis
# ---------------------------------------------------------------------------------------------
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _radial_frequency(h: int, w: int, units: str) -> np.ndarray:
    """Radial frequency of every rfft2 coefficient of an (h, w) image."""
    fy = np.fft.fftfreq(h)[:, None]   # cycles per pixel
    fx = np.fft.rfftfreq(w)[None, :]
    if units == "cycles":             # cycles per image (the DFT index distance from DC)
        fy, fx = fy * h, fx * w
    return np.sqrt(fy ** 2 + fx ** 2)


def _check_units(units: Any) -> str:
    if units not in ("cycles", "normalized"):
        raise ValueError(f"units must be 'cycles' (cycles per image) or 'normalized' (cycles per pixel), got {units!r}")
    return units


def bandpass_response(shape: Tuple[int, int], center: float, bandwidth: float, *,
                      units: str = "cycles") -> np.ndarray:
    """The band-pass gain ``exp(-(r - center)^2 / (2 sigma^2))`` with
    ``sigma = bandwidth / (2 sqrt(2 ln 2))``, on the ``numpy.fft.rfft2`` grid of an image of
    ``shape = (H, W)`` (``r`` = radial frequency). Values lie in (0, 1]; 1 on the ring r = center.
    """
    h, w = (check_int(v, "shape", minimum=1) for v in shape)
    center, bandwidth, units = _check_band(center, bandwidth, units)
    sigma = bandwidth / _FWHM_PER_SIGMA
    r = _radial_frequency(h, w, units)
    return np.exp(-((r - center) ** 2) / (2.0 * sigma * sigma))


def _check_band(center: Any, bandwidth: Any, units: Any) -> Tuple[float, float, str]:
    units = _check_units(units)
    center = check_float(center, "center", minimum=0.0)
    bandwidth = check_float(bandwidth, "bandwidth", minimum=0.0, min_inclusive=False)
    return center, bandwidth, units


def bandpass_filter(images: Any, center: float, bandwidth: float, *, units: str = "cycles",
                    clip: bool = False) -> np.ndarray:
    """Gaussian band-pass filtering of every image channel in the Fourier domain (paper, Fig. 5C).

    Each channel is transformed with ``numpy.fft.rfft2``, multiplied by a radially symmetric
    Gaussian ring ``G(r) = exp(-(r - center)^2 / (2 sigma^2))`` centred on the radial frequency
    ``center``, and transformed back. ``bandwidth`` is the ring's full width at half maximum
    (``sigma = bandwidth / 2.3548``). The paper filters 224x224 images "in bands of 5 Hz between
    1 and 160 Hz, as 160 Hz is roughly the maximum Euclidean distance in Fourier space for
    224x224 images": its "Hz" are cycles per image (distance from DC in the DFT index grid; the
    corner of a 224x224 spectrum is at 112 sqrt(2) = 158). The default ``units="cycles"`` follows
    that; for 28x28 images the corner is at 14 sqrt(2) = 19.8 cycles per image. The paper does
    not say whether its 5 Hz bandwidth is a standard deviation or a full width; it measures
    bandwidth as a full width at half maximum elsewhere (Fig. 5B), so FWHM is used here. Its
    grid (centres 1..160 in steps of 5, FWHM 5 on 224 px) scaled to 28 px would be a FWHM of
    0.6 cycles per image, narrower than the DFT grid spacing near DC; for 28x28 images centres
    ``0, 1, ..., 20`` with a FWHM of 1-2 cycles per image are a practical equivalent.

    Parameters
    ----------
    images : array-like, shape (N, H, W) or (N, C, H, W)
        Finite real values; C must be 1 or 3. Values need not lie in [0, 1] (the filter is linear).
    center : float >= 0
        Centre radial frequency, in ``units``.
    bandwidth : float > 0
        Full width at half maximum of the Gaussian ring, in ``units``.
    units : {"cycles", "normalized"}
        "cycles": cycles per image along each axis (DFT index), as in the paper; "normalized":
        cycles per pixel (Nyquist = 0.5 per axis; a square image's corner is at 0.707).
    clip : bool
        Clip the result to [0, 1]. Off by default: band-passed images are zero-mean oscillations
        (plus whatever DC the ring keeps near ``center = 0``), and clipping would discard their
        negative half.

    Returns
    -------
    numpy.ndarray
        float32 array of the input's shape. Because ``0 < G <= 1`` the filter never adds energy:
        ``sum(out^2) <= sum(images^2)`` per image (Parseval).
    """
    center, bandwidth, units = _check_band(center, bandwidth, units)
    x, shape = _as_images(images, check_range=False)
    h, w = x.shape[2:]
    gain = bandpass_response((h, w), center, bandwidth, units=units)
    spectrum = np.fft.rfft2(x.astype(np.float64), axes=(2, 3))
    out = np.fft.irfft2(spectrum * gain, s=(h, w), axes=(2, 3))
    if clip:
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32).reshape(shape)


def evaluate_bandpass(model: Any, images: Any, labels: Any, centers: Iterable[float], bandwidth: float, *,
                      units: str = "cycles", clip: bool = False, batch_size: int = 1024,
                      as_frame: Optional[bool] = None) -> Any:
    """Accuracy of ``model`` on band-passed images for every centre frequency (paper, Fig. 5C).

    Parameters
    ----------
    model : object with ``predict(X) -> logits``
        As for :func:`evaluate_corruptions`.
    images, labels : array-like
        Images as for :func:`bandpass_filter` and integer labels (N,).
    centers : iterable of float >= 0
        Centre radial frequencies (e.g. ``numpy.arange(0, 20.5, 1)`` for 28x28 images).
    bandwidth : float > 0
        Full width at half maximum of the Gaussian ring (the paper: 5 cycles per image on 224x224).
    units, clip : see :func:`bandpass_filter`.
    batch_size : int
        Images per ``model.predict`` call.
    as_frame : bool, optional
        As for :func:`evaluate_corruptions`.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per centre with columns ``center``, ``bandwidth``, ``units``, ``accuracy``, ``n``.
    """
    _check_model(model)
    _check_units(units)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if isinstance(centers, (numbers.Real, np.floating, np.integer)) and not isinstance(centers, bool):
        centers = [centers]
    centers = [check_float(c, "centers", minimum=0.0) for c in np.asarray(list(centers), dtype=object).ravel()]
    if not centers:
        raise ValueError("centers must contain at least one centre frequency")
    _check_band(centers[0], bandwidth, units)
    x, shape = _as_images(images, check_range=False)
    y = _check_labels(labels, x.shape[0])
    rows = []
    for center in centers:
        filtered = bandpass_filter(x.reshape(shape), center, bandwidth, units=units, clip=clip)
        accuracy = float(np.mean(_predict_labels(model, filtered, batch_size) == y))
        rows.append(dict(center=center, bandwidth=float(bandwidth), units=units, accuracy=accuracy,
                         n=int(x.shape[0])))
    return _table(rows, as_frame)
