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

from .bandpass import bandpass_filter, bandpass_response, evaluate_bandpass
from .evaluate import corrupt, corrupt_all, evaluate_corruptions
from .families import (
    CORRUPTIONS,
    SEVERITY_TABLES,
    brightness,
    contrast,
    defocus_blur,
    gaussian_blur,
    gaussian_noise,
    impulse_noise,
    jpeg_compression,
    motion_blur,
    pixelate,
    shot_noise,
    speckle_noise,
)

__all__ = [
    "CORRUPTIONS",
    "SEVERITY_TABLES",
    "corrupt",
    "corrupt_all",
    "evaluate_corruptions",
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "speckle_noise",
    "gaussian_blur",
    "defocus_blur",
    "motion_blur",
    "contrast",
    "brightness",
    "pixelate",
    "jpeg_compression",
    "bandpass_filter",
    "bandpass_response",
    "evaluate_bandpass",
]
