"""The standard layers: dense, convolution, pooling, normalisation, dropout and activations."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from .._validation import INT32_MAX, check_bool, check_float, check_int, pair
from .base import Layer, _ArgumentFree, register_layer

__all__ = [
    "Dense",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Sigmoid",
    "Tanh",
    "Softplus",
]


@register_layer
class Dense(Layer):
    """Fully connected layer ``y = x W^T + b`` with ``W`` of shape (out_features, in_features).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    init : {"torch", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros"}
        Weight initialiser; "torch" reproduces ``torch.nn.Linear``'s default.
    dtype : float32 or float64
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, init: str = "torch", dtype: Any = np.float32
    ) -> None:
        super().__init__(dtype)
        in_features = check_int(in_features, "in_features", minimum=1)
        out_features = check_int(out_features, "out_features", minimum=1)
        self._check_size("in_features * out_features", in_features * out_features)
        self._config = dict(
            in_features=in_features, out_features=out_features, bias=check_bool(bias, "bias"), init=str(init)
        )
        self._impl = self._core("Dense")(in_features, out_features, check_bool(bias, "bias"), str(init))


@register_layer
class Conv2d(Layer):
    """2-D convolution over (N, C, H, W) inputs, PyTorch semantics (cross-correlation).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int
    padding : int
        Zero padding on each side.
    bias : bool
    init : str
        As for :class:`Dense`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Union[int, Sequence[int]],
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        init: str = "torch",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        out_channels = check_int(out_channels, "out_channels", minimum=1)
        kh, kw = pair(kernel_size, "kernel_size", minimum=1)
        self._check_size("in_channels * out_channels * kernel_size", in_channels * out_channels * kh * kw)
        stride = check_int(stride, "stride", minimum=1)
        padding = check_int(padding, "padding", minimum=0, maximum=INT32_MAX)  # the core's bound
        self._config = dict(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=[kh, kw],
            stride=stride,
            padding=padding,
            bias=check_bool(bias, "bias"),
            init=str(init),
        )
        self._impl = self._core("Conv2d")(
            in_channels, out_channels, kh, kw, stride, padding, check_bool(bias, "bias"), str(init)
        )


@register_layer
class MaxPool2d(Layer):
    """Max pooling; ``stride`` defaults to ``kernel_size``. Ties: the first maximum gets the gradient."""

    def __init__(
        self, kernel_size: int, stride: Optional[int] = None, padding: int = 0, dtype: Any = np.float32
    ) -> None:
        super().__init__(dtype)
        kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        stride = kernel_size if stride is None else check_int(stride, "stride", minimum=1)
        # PyTorch's bound: a window of padding only would have no maximum (-inf out)
        padding = check_int(padding, "padding", minimum=0, maximum=kernel_size // 2)
        self._config = dict(kernel_size=kernel_size, stride=stride, padding=padding)
        self._impl = self._core("MaxPool2d")(kernel_size, stride, padding)


@register_layer
class AvgPool2d(Layer):
    """Average pooling; padding counts as zeros in the average (``count_include_pad``, PyTorch's default)."""

    def __init__(
        self,
        kernel_size: int,
        stride: Optional[int] = None,
        padding: int = 0,
        count_include_pad: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        stride = kernel_size if stride is None else check_int(stride, "stride", minimum=1)
        # PyTorch's bound, as MaxPool2d's: padding beyond half the window would average padding only
        padding = check_int(padding, "padding", minimum=0, maximum=kernel_size // 2)
        self._config = dict(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            count_include_pad=check_bool(count_include_pad, "count_include_pad"),
        )
        self._impl = self._core("AvgPool2d")(
            kernel_size, stride, padding, check_bool(count_include_pad, "count_include_pad")
        )


@register_layer
class GlobalAvgPool2d(_ArgumentFree):
    """(N, C, H, W) -> (N, C): the mean over each feature map."""

    _core_name = "GlobalAvgPool2d"


class _BatchNorm(Layer):
    _spatial = False

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True, dtype: Any = np.float32
    ) -> None:
        super().__init__(dtype)
        num_features = check_int(num_features, "num_features", minimum=1)
        self._check_size("num_features", 4 * num_features)
        eps = check_float(eps, "eps", minimum=0.0, min_inclusive=False)
        momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self._config = dict(num_features=num_features, eps=eps, momentum=momentum, affine=check_bool(affine, "affine"))
        self._impl = self._core("BatchNorm")(num_features, self._spatial, eps, momentum, check_bool(affine, "affine"))

    def _check_buffer(self, name: str, value: np.ndarray, where: str) -> None:
        if name == "running_var" and (value < 0).any():
            raise ValueError(f"{where}: a running variance must be >= 0, got {value[value < 0].ravel()[:3].tolist()}")
        if name == "num_batches_tracked" and ((value < 0).any() or (value != np.floor(value)).any()):
            raise ValueError(f"{where}: num_batches_tracked must be a non-negative whole number, got {value.tolist()}")


@register_layer
class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L); running statistics as in PyTorch
    (``running = (1 - momentum) running + momentum batch``, unbiased running variance)."""


@register_layer
class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) over N, H, W per channel."""

    _spatial = True


@register_layer
class Dropout(Layer):
    """Zeroes each element with probability ``p`` in training and scales the rest by 1/(1-p)."""

    _channelwise = False

    def __init__(self, p: float = 0.5, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        p = check_float(p, "p", minimum=0.0, maximum=1.0, max_inclusive=False)
        self._config = dict(p=p)
        self._impl = self._core("Dropout")(p, self._channelwise)


@register_layer
class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) with probability ``p`` in training."""

    _channelwise = True


@register_layer
class Flatten(_ArgumentFree):
    """(N, C, H, W) -> (N, C*H*W)."""

    _core_name = "Flatten"


@register_layer
class ReLU(_ArgumentFree):
    """max(0, x)."""

    _core_name = "ReLU"


@register_layer
class LeakyReLU(Layer):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        negative_slope = check_float(negative_slope, "negative_slope")
        self._config = dict(negative_slope=negative_slope)
        self._impl = self._core("LeakyReLU")(negative_slope)


@register_layer
class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        alpha = check_float(alpha, "alpha", minimum=0.0)
        self._config = dict(alpha=alpha)
        self._impl = self._core("ELU")(alpha)


@register_layer
class Sigmoid(_ArgumentFree):
    """1 / (1 + exp(-x))."""

    _core_name = "Sigmoid"


@register_layer
class Tanh(_ArgumentFree):
    """tanh(x)."""

    _core_name = "Tanh"


@register_layer
class Softplus(Layer):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (PyTorch's convention)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0, dtype: Any = np.float32) -> None:
        super().__init__(dtype)
        beta = check_float(beta, "beta", minimum=0.0, min_inclusive=False)
        # Below the threshold the output is log1p(exp(beta x)) / beta: exp overflows past
        # log(max) of the dtype (88.7 in float32), so a larger threshold would give inf, not x.
        limit = float(np.log(np.finfo(self.dtype).max)) - 1.0
        threshold = check_float(threshold, "threshold", minimum=0.0, maximum=limit, min_inclusive=False)
        self._config = dict(beta=beta, threshold=threshold)
        self._impl = self._core("Softplus")(beta, threshold)
