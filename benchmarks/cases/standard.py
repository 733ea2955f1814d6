"""Standard-layer cases: the engine (Dense, BatchNorm, Dropout, Conv2d, Softplus) against PyTorch."""

from __future__ import annotations

from typing import List

import numpy as np
import torch

from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import _check_same_size, _PerSampleEpochCase, _TrainStepCase, register

ORDER = 0  # place in the run: modules by ORDER, then name (standard = 0 runs first)


@register
class MlpBnDropout(_TrainStepCase):
    name = "mlp_bn_dropout"
    description = (
        "MLP 784-800-800-10, Dense->BN->ReLU->Dropout(0.2) per hidden layer; one train step "
        "(CE, SGD lr 0.1 momentum 0.9), batch 128"
    )
    default_repeats = 20

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, d, h, c = 128, 784, 800, 10
        self.x = rng.standard_normal((n, d)).astype(np.float32)
        self.y = rng.integers(0, c, size=n).astype(np.int64)

        self.bmodel = bnn.Sequential(
            [
                bnn.Dense(d, h),
                bnn.BatchNorm1d(h),
                bnn.ReLU(),
                bnn.Dropout(0.2),
                bnn.Dense(h, h),
                bnn.BatchNorm1d(h),
                bnn.ReLU(),
                bnn.Dropout(0.2),
                bnn.Dense(h, c),
            ],
            seed=self.seed,
        )
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.1, momentum=0.9)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Linear(d, h),
            torch.nn.BatchNorm1d(h),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.2),
            torch.nn.Linear(h, h),
            torch.nn.BatchNorm1d(h),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.2),
            torch.nn.Linear(h, c),
        ).train()
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.1, momentum=0.9)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)


@register
class SmallCnn(_TrainStepCase):
    name = "small_cnn"
    description = (
        "Conv2d(1,12,5)->Sigmoid->Flatten->Linear(6912,120)->Linear(120,60)->Linear(60,10) on "
        "1x28x28; one train step (CE, SGD lr 0.01), batch 100"
    )
    default_repeats = 20

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, c = 100, 10
        self.x = rng.random((n, 1, 28, 28), dtype=np.float32)
        self.y = rng.integers(0, c, size=n).astype(np.int64)

        self.bmodel = bnn.Sequential(
            [
                bnn.Conv2d(1, 12, 5),
                bnn.Sigmoid(),
                bnn.Flatten(),
                bnn.Dense(6912, 120),
                bnn.Dense(120, 60),
                bnn.Dense(60, c),
            ],
            seed=self.seed,
        )
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.01)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, 12, 5),
            torch.nn.Sigmoid(),
            torch.nn.Flatten(),
            torch.nn.Linear(6912, 120),
            torch.nn.Linear(120, 60),
            torch.nn.Linear(60, c),
        ).train()
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.01)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)


@register
class MlpSoftplusBs1(_PerSampleEpochCase):
    name = "mlp_softplus_bs1"
    description = (
        "MLP 1-10-10-10-10-10-1 with Softplus; one epoch of 194 samples at batch size 1 (MSE, Adam lr 1e-3, shuffled)"
    )
    default_repeats = 10
    warmup = 2

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = 194
        self.x = rng.uniform(-3.0, 3.0, size=(n, 1)).astype(np.float32)
        self.y = (np.sin(self.x) + 0.1 * rng.standard_normal((n, 1))).astype(np.float32)
        widths = [1, 10, 10, 10, 10, 10, 1]

        layers: List[bnn.Layer] = []
        tlayers: List[torch.nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(bnn.Dense(widths[i], widths[i + 1]))
            tlayers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(bnn.Softplus())
                tlayers.append(torch.nn.Softplus())
        self.bmodel = bnn.Sequential(layers, seed=self.seed)
        self.bloss = bl.MSE()
        self.bopt = bopt.Adam(self.bmodel.parameters(), lr=1e-3)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(*tlayers).train()
        self.topt = torch.optim.Adam(self.tmodel.parameters(), lr=1e-3)
        self.tloss = torch.nn.MSELoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)
