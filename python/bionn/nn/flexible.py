"""Flexible layer (Evanson et al., "Biomimetic computations improve neural network robustness";
``../shared/papers/flexible-layer-robustness.md``, issue 6): a convolution and a max-pooling
computed in parallel, combined unit by unit through a soft threshold mask (Eq. 1)::

    f_flex = σ((T − f_max)·s)·f_max + σ(−(T − f_max)·s)·f_conv,      s = 50

A unit outputs its max-pooled input where that is below the threshold ``T`` and the convolution
elsewhere. The paper's layer is followed by a Sigmoid (add :class:`bionn.nn.Sigmoid` after it).

Example: the paper's small Fashion-MNIST network (Fig. 2B)::

    from bionn import nn
    model = nn.Sequential([
        nn.FlexibleConv2d(1, 12, 5, pool_kernel=5, input_size=(28, 28), threshold_mode="learned"),
        nn.Sigmoid(), nn.Flatten(), nn.Dense(6912, 120), nn.Dense(120, 60), nn.Dense(60, 10)], seed=0)

Give the threshold its own optimizer group without weight decay, as the paper does::

    groups = optim.groups_by_tag(model.parameters(), {"threshold": {"weight_decay": 0.0}})
    opt = optim.SGD(groups, lr=0.001, momentum=0.9, weight_decay=0.006)
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from .._validation import INT32_MAX, check_bool, check_float, check_int, pair
from .base import Layer, register_layer

__all__ = ["FlexibleConv2d", "THRESHOLD_MODES"]

THRESHOLD_MODES = ("learned", "uniform", "random", "reverse", "baseline")
_INITS = (
    "torch",
    "default",
    "glorot_uniform",
    "xavier_uniform",
    "glorot_normal",
    "xavier_normal",
    "he_uniform",
    "kaiming_uniform",
    "he_normal",
    "kaiming_normal",
    "zeros",
)


@register_layer
class FlexibleConv2d(Layer):
    """Convolution ‖ max-pooling with a per-unit threshold choosing between them (Eq. 1).

    Parameters
    ----------
    in_channels, out_channels : int
        The pooled map has ``in_channels`` channels: with 1 it is broadcast over every output
        channel (the paper's Conv2d(1, 12, 5) ‖ MaxPool2d(5, 1)); otherwise ``in_channels`` must
        equal ``out_channels`` (VGG block 1: Conv2d(64, 64, 3) ‖ MaxPool2d(3, 1)).
    kernel_size : int or (int, int)
        Convolution kernel.
    input_size : (int, int)
        Spatial size (H, W) of the inputs. It fixes the shape of the threshold tensor, one
        threshold per output unit: (out_channels, H_out, W_out).
    stride, padding : int
        Convolution stride and zero padding.
    pool_kernel, pool_stride, pool_padding : int, optional
        Max-pooling window; defaults: the convolution's kernel (it must be square then), stride 1
        and the convolution's padding, which give both branches the same output size. A geometry
        that gives different sizes is an error.
    threshold_mode : {"learned", "uniform", "random", "reverse", "baseline"}
        ``learned``: trainable ``T`` (parameter ``threshold``, tag ``"threshold"``), the paper's
        "standard" layer; ``uniform``: ``T = threshold`` everywhere, fixed; ``random``: every
        element of ``T`` is 0 or 1 with probability 1/2, drawn afresh at every forward pass in
        training *and* inference from the model's seeded engine (one draw per sample and unit);
        ``reverse``: learned ``T`` with max-pooling *above* the threshold; ``baseline``: the
        convolution everywhere (``T = −∞``), the paper's baseline network.
    threshold : float
        The uniform value, or the initial value of a learned threshold.
    scale : float
        ``s`` in Eq. 1 (50 in the paper): how hard the sigmoid mask switches.
    bias : bool
    init : str
        Convolution initialiser, as for :class:`bionn.nn.Conv2d`.
    dtype : float32 or float64
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Union[int, Sequence[int]],
        *,
        input_size: Sequence[int],
        stride: int = 1,
        padding: int = 0,
        pool_kernel: Optional[int] = None,
        pool_stride: int = 1,
        pool_padding: Optional[int] = None,
        threshold_mode: str = "learned",
        threshold: float = 0.5,
        scale: float = 50.0,
        bias: bool = True,
        init: str = "torch",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__(dtype)
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        out_channels = check_int(out_channels, "out_channels", minimum=1)
        if in_channels != 1 and in_channels != out_channels:
            raise ValueError(
                f"in_channels must be 1 (pooled map broadcast) or equal out_channels, got "
                f"in_channels={in_channels}, out_channels={out_channels}"
            )
        kh, kw = pair(kernel_size, "kernel_size", minimum=1)
        if (
            isinstance(input_size, (str, bytes))
            or not isinstance(input_size, (tuple, list, np.ndarray))
            or len(input_size) != 2
        ):
            raise TypeError(f"input_size must be a pair (H, W), got {input_size!r}")
        ih = check_int(input_size[0], "input_size[0]", minimum=1)
        iw = check_int(input_size[1], "input_size[1]", minimum=1)
        stride = check_int(stride, "stride", minimum=1)
        padding = check_int(padding, "padding", minimum=0, maximum=INT32_MAX)
        if pool_kernel is None:
            if kh != kw:
                raise ValueError("pool_kernel must be given when kernel_size is not square")
            pool_kernel = kh
        pool_kernel = check_int(pool_kernel, "pool_kernel", minimum=1)
        pool_stride = check_int(pool_stride, "pool_stride", minimum=1)
        pool_padding = padding if pool_padding is None else pool_padding
        pool_padding = check_int(pool_padding, "pool_padding", minimum=0, maximum=INT32_MAX)
        if 2 * pool_padding > pool_kernel:
            raise ValueError(f"pool_padding must be <= pool_kernel / 2, got {pool_padding} for kernel {pool_kernel}")
        if not isinstance(threshold_mode, str) or threshold_mode not in THRESHOLD_MODES:
            raise ValueError(f"threshold_mode must be one of {list(THRESHOLD_MODES)}, got {threshold_mode!r}")
        threshold = check_float(threshold, "threshold")
        scale = check_float(scale, "scale", minimum=0.0, min_inclusive=False)
        if not isinstance(init, str) or init not in _INITS:
            raise ValueError(f"init must be one of {list(_INITS)}, got {init!r}")
        conv_hw = ((ih + 2 * padding - kh) // stride + 1, (iw + 2 * padding - kw) // stride + 1)
        pool_hw = (
            (ih + 2 * pool_padding - pool_kernel) // pool_stride + 1,
            (iw + 2 * pool_padding - pool_kernel) // pool_stride + 1,
        )
        self._check_size("out_channels * kernel_size", 2 * out_channels * in_channels * kh * kw)
        self._check_size("out_channels * input_size", 2 * out_channels * ih * iw)  # the threshold map
        if ih + 2 * padding < kh or iw + 2 * padding < kw:
            raise ValueError(
                f"kernel_size {(kh, kw)} is larger than input_size {(ih, iw)} after padding={padding} on each side"
            )
        if conv_hw != pool_hw:
            raise ValueError(
                f"convolution and max-pooling must give the same output size; got {conv_hw} and "
                f"{pool_hw} (choose pool_kernel/pool_stride/pool_padding to match)"
            )
        self._config = dict(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=[kh, kw],
            input_size=[ih, iw],
            stride=stride,
            padding=padding,
            pool_kernel=pool_kernel,
            pool_stride=pool_stride,
            pool_padding=pool_padding,
            threshold_mode=threshold_mode,
            threshold=threshold,
            scale=scale,
            bias=check_bool(bias, "bias"),
            init=init,
        )
        self._impl = self._core("FlexibleConv2d")(
            in_channels,
            out_channels,
            kh,
            kw,
            stride,
            padding,
            pool_kernel,
            pool_stride,
            pool_padding,
            ih,
            iw,
            threshold_mode,
            threshold,
            scale,
            check_bool(bias, "bias"),
            init,
        )

    # -- introspection -------------------------------------------------------------------------
    @property
    def threshold_mode(self) -> str:
        return str(self._config["threshold_mode"])

    @property
    def output_shape(self) -> Tuple[int, int, int]:
        """(out_channels, H_out, W_out) of one sample."""
        return (int(self._config["out_channels"]), int(self._impl.out_h), int(self._impl.out_w))

    @property
    def threshold(self) -> np.ndarray:
        """The threshold tensor T, shape (out_channels, H_out, W_out): a writable view of the
        parameter for learned/reverse modes, a filled copy for uniform mode (``-inf`` for
        baseline); random mode has no fixed T (ValueError)."""
        mode = self.threshold_mode
        if mode in ("learned", "reverse"):
            return next(p for p in self.parameters() if p.tag == "threshold").data
        if mode == "uniform":
            return np.full(self.output_shape, self._impl.uniform_threshold, dtype=self.dtype)
        if mode == "baseline":
            return np.full(self.output_shape, -np.inf, dtype=self.dtype)
        raise ValueError("threshold_mode='random' draws a new threshold at every forward pass; there is no fixed T")

    def set_threshold(self, value: float) -> None:
        """Sets the uniform threshold (uniform mode only), e.g. to validate a network at another
        threshold than it was trained with (Fig. 3). Recorded in the config, so saving keeps it."""
        if self.threshold_mode != "uniform":
            raise ValueError(f"set_threshold needs threshold_mode='uniform', this layer is {self.threshold_mode!r}")
        value = check_float(value, "value")
        self._impl.set_uniform_threshold(value)
        self._config["threshold"] = value

    def mask(self) -> np.ndarray:
        """The max-pooling share σ(±(T − f_max)·s) of every unit in the last forward pass of this
        layer (``layer.forward`` or ``model.forward``; ``model.predict`` runs on a per-call copy of
        the layers, for thread safety), shape (N, out_channels, H_out, W_out): 1 = max-pooling,
        0 = convolution."""
        return self._impl.last_mask()

    def conv_output(self) -> np.ndarray:
        """The convolution branch f_conv of the last forward pass (a copy; see :meth:`mask`)."""
        return self._impl.last_conv()
