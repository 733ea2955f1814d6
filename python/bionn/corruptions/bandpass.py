"""Gaussian band-pass filtering in the Fourier domain and accuracy per centre frequency (Fig. 5)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Optional, Tuple

import numpy as np

from .._validation import check_bool, check_float, check_int, check_size, pair
from .evaluate import _check_labels, _check_model, _predict_labels, _table
from .families import _as_images

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _radial_frequency(h: int, w: int, units: str) -> np.ndarray:
    """Radial frequency of every rfft2 coefficient of an (h, w) image."""
    fy = np.fft.fftfreq(h)[:, None]  # cycles per pixel
    fx = np.fft.rfftfreq(w)[None, :]
    if units == "cycles":  # cycles per image (the DFT index distance from DC)
        fy, fx = fy * h, fx * w
    return np.sqrt(fy**2 + fx**2)


def _check_units(units: Any) -> str:
    if not isinstance(units, str) or units not in ("cycles", "normalized"):
        raise ValueError(f"units must be 'cycles' (cycles per image) or 'normalized' (cycles per pixel), got {units!r}")
    return units


def bandpass_response(shape: Tuple[int, int], center: float, bandwidth: float, *, units: str = "cycles") -> np.ndarray:
    """The band-pass gain ``exp(-(r - center)^2 / (2 sigma^2))`` with
    ``sigma = bandwidth / (2 sqrt(2 ln 2))``, on the ``numpy.fft.rfft2`` grid of an image of
    ``shape = (H, W)`` (``r`` = radial frequency). Values lie in (0, 1]; 1 on the ring r = center.
    """
    h, w = pair(shape, "shape", minimum=1, scalar=False)
    check_size("shape[0] * (shape[1] // 2 + 1)", h * (w // 2 + 1), 8)  # the float64 grid
    center, bandwidth, units = _check_band(center, bandwidth, units)
    sigma = bandwidth / _FWHM_PER_SIGMA
    r = _radial_frequency(h, w, units)
    z = (r - center) / sigma  # divided first: sigma * sigma underflows to 0 for a tiny bandwidth
    with np.errstate(over="ignore"):  # z * z = inf far from the ring: exp(-inf) = 0
        return np.exp(-0.5 * z * z)


def _check_band(center: Any, bandwidth: Any, units: Any) -> Tuple[float, float, str]:
    units = _check_units(units)
    center = check_float(center, "center", minimum=0.0)
    bandwidth = check_float(bandwidth, "bandwidth", minimum=0.0, min_inclusive=False)
    return center, bandwidth, units


def bandpass_filter(
    images: Any, center: float, bandwidth: float, *, units: str = "cycles", clip: bool = False
) -> np.ndarray:
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
    clip = check_bool(clip, "clip")
    x, shape = _as_images(images, check_range=False)
    h, w = x.shape[2:]
    gain = bandpass_response((h, w), center, bandwidth, units=units)
    spectrum = np.fft.rfft2(x.astype(np.float64), axes=(2, 3))
    out = np.fft.irfft2(spectrum * gain, s=(h, w), axes=(2, 3))
    if clip:
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32).reshape(shape)


def evaluate_bandpass(
    model: Any,
    images: Any,
    labels: Any,
    centers: Iterable[float],
    bandwidth: float,
    *,
    units: str = "cycles",
    clip: bool = False,
    batch_size: int = 1024,
    as_frame: Optional[bool] = None,
) -> Any:
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
        rows.append(dict(center=center, bandwidth=float(bandwidth), units=units, accuracy=accuracy, n=int(x.shape[0])))
    return _table(rows, as_frame)
