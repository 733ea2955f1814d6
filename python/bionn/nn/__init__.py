"""Layers and the :class:`Sequential` model.

Modules, bottom to top: :mod:`~bionn.nn.base` (:class:`Parameter`, :class:`Layer`, the layer
registry), :mod:`~bionn.nn.layers` (the standard layers), :mod:`~bionn.nn.sequential` (the model,
its training loop and files), and one module per mechanism: :mod:`~bionn.nn.focus` (focusing
neuron), :mod:`~bionn.nn.amplifying` (amplifying / attenuating neurons), :mod:`~bionn.nn.flexible`
(flexible layer), :mod:`~bionn.nn.neglu` (NegLU / MixLU). Every public name is re-exported here.

Example
-------
>>> from bionn import nn, optim, losses
>>> model = nn.Sequential([nn.FocusDense(784, 800), nn.ReLU(), nn.Dense(800, 10)], seed=0)
>>> opt = optim.Adam(model.parameters(), lr=1e-3)
>>> history = model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=10)   # doctest: +SKIP
"""

from __future__ import annotations

from .amplifying import ParametricSoftplus, SecondaryActivation, amplifying_dense, amplifying_mlp
from .base import Layer, Parameter, layer_registry, register_layer
from .flexible import THRESHOLD_MODES, FlexibleConv2d
from .focus import FocusDense, FocusDense2D
from .layers import (
    ELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dense,
    Dropout,
    Dropout2d,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from .neglu import LearnedActivation, MinMaxout, MixLU, NegLU, SmoothNegLU
from .sequential import History, Sequential, load

__all__ = [
    "Parameter",
    "Layer",
    "register_layer",
    "layer_registry",
    "Sequential",
    "History",
    "load",
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
    "FocusDense",
    "FocusDense2D",
    "ParametricSoftplus",
    "SecondaryActivation",
    "amplifying_dense",
    "amplifying_mlp",
    "FlexibleConv2d",
    "THRESHOLD_MODES",
    "NegLU",
    "SmoothNegLU",
    "MixLU",
    "MinMaxout",
    "LearnedActivation",
]
