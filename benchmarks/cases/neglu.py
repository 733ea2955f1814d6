"""NegLU/MixLU case: MatConvNet's LeNet with MixLU, and bionn's ReLU LeNet as baseline (issue 7)."""

from __future__ import annotations

import numpy as np
import torch

from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import _check_same_size, _TrainStepCase, register

ORDER = 40  # place in the run: modules by ORDER, then name (standard = 0 runs first)


class _TorchMixLU(torch.nn.Module):
    """PyTorch MixLU with a fixed unit mask: min(0, x) on the masked channels, max(0, x) elsewhere."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mask", torch.from_numpy(mask.reshape(1, -1, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self.mask, -torch.relu(-x), torch.relu(x))


@register
class MixLULeNetStep(_TrainStepCase):
    name = "mixlu_lenet"
    description = (
        "MatConvNet's MNIST LeNet (thesis §4.4.3) with MixLU(500, 5 % NegLU) vs PyTorch (torch.where "
        "MixLU) vs bionn's ReLU LeNet (baseline); one train step (CE, SGD lr 0.001 momentum 0.9), "
        "batch 100, 1x28x28"
    )
    default_repeats = 20
    baseline = "bionn ReLU LeNet"

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = 100
        self.x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
        self.y = rng.integers(0, 10, size=n).astype(np.int64)

        def lenet(act: bnn.Layer) -> bnn.Sequential:
            return bnn.Sequential(
                [
                    bnn.Conv2d(1, 20, 5),
                    bnn.MaxPool2d(2),
                    bnn.Conv2d(20, 50, 5),
                    bnn.MaxPool2d(2),
                    bnn.Conv2d(50, 500, 4),
                    act,
                    bnn.Conv2d(500, 10, 1),
                    bnn.Flatten(),
                ],
                seed=self.seed,
            )

        self.bmodel = lenet(bnn.MixLU(500, fraction=0.05))
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.001, momentum=0.9)
        self.dmodel = lenet(bnn.ReLU())
        self.dopt = bopt.SGD(self.dmodel.parameters(), lr=0.001, momentum=0.9)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, 20, 5),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(20, 50, 5),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(50, 500, 4),
            _TorchMixLU(self.bmodel[5].neglu_mask),
            torch.nn.Conv2d(500, 10, 1),
            torch.nn.Flatten(),
        ).train()
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.001, momentum=0.9)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)

    def run_baseline(self) -> float:
        return self.dmodel.train_step(self.x, self.y, self.bloss, self.dopt)
