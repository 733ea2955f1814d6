"""Flexible-layer cases: a training step of the small network, and PGD-20 (opt-in) (issue 6)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import Case, _check_same_size, _TrainStepCase, register

ORDER = 30  # place in the run: modules by ORDER, then name (standard = 0 runs first)


def torch_flexible(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    threshold: torch.Tensor,
    pool_kernel: int,
    scale: float = 50.0,
) -> torch.Tensor:
    """PyTorch flexible layer (the reference of tests/python/test_flexible.py): conv2d and max_pool2d
    in parallel, combined by Eq. 1 (max-pooling below the threshold)."""
    f_conv = F.conv2d(x, weight, bias)
    f_max = F.max_pool2d(x, pool_kernel, 1)
    d = threshold - f_max
    return torch.sigmoid(d * scale) * f_max + torch.sigmoid(-d * scale) * f_conv


class _TorchSmallFlexible(torch.nn.Module):
    """The paper's small network (Fig. 2B) in PyTorch with bionn's initial weights."""

    def __init__(self, bmodel: bnn.Sequential) -> None:
        super().__init__()
        p = {
            f"{i}.{q.name}": torch.nn.Parameter(torch.tensor(q.data.copy()))
            for i, layer in enumerate(bmodel.layers)
            for q in layer.parameters()
        }
        self.params = torch.nn.ParameterDict({k.replace(".", "_"): v for k, v in p.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.params
        h = torch.sigmoid(torch_flexible(x, p["0_weight"], p["0_bias"], p["0_threshold"], 5)).flatten(1)
        h = F.linear(h, p["3_weight"], p["3_bias"])
        h = F.linear(h, p["4_weight"], p["4_bias"])
        return F.linear(h, p["5_weight"], p["5_bias"])


def _small_flexible_bionn(seed: int) -> bnn.Sequential:
    return bnn.Sequential(
        [
            bnn.FlexibleConv2d(1, 12, 5, input_size=(28, 28), pool_kernel=5, threshold_mode="learned", threshold=0.5),
            bnn.Sigmoid(),
            bnn.Flatten(),
            bnn.Dense(6912, 120),
            bnn.Dense(120, 60),
            bnn.Dense(60, 10),
        ],
        seed=seed,
    )


@register
class FlexibleSmallStep(_TrainStepCase):
    name = "flexible_small"
    description = (
        "Flexible[Conv2d(1,12,5) || MaxPool2d(5,1)]->Sigmoid->Linear(6912,120)->Linear(120,60)->"
        "Linear(60,10) on 1x28x28 (learned thresholds); one train step (CE, SGD lr 0.001 momentum 0.9, "
        "weight decay 0.006 except thresholds), batch 100"
    )
    default_repeats = 20

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = 100
        self.x = rng.random((n, 1, 28, 28), dtype=np.float32)
        self.y = rng.integers(0, 10, size=n).astype(np.int64)
        self.bmodel = _small_flexible_bionn(self.seed)
        self.bloss = bl.CrossEntropy()
        groups = bopt.groups_by_tag(self.bmodel.parameters(), {"threshold": {"weight_decay": 0.0}})
        self.bopt = bopt.SGD(groups, lr=0.001, momentum=0.9, weight_decay=0.006)
        self.tmodel = _TorchSmallFlexible(self.bmodel).train()
        p = self.tmodel.params
        self.topt = torch.optim.SGD(
            [
                {"params": [v for k, v in p.items() if k != "0_threshold"]},
                {"params": [p["0_threshold"]], "weight_decay": 0.0},
            ],
            lr=0.001,
            momentum=0.9,
            weight_decay=0.006,
        )
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)


@register
class FlexiblePgd20(Case):
    name = "flexible_pgd20"
    description = (
        "PGD-20 (eps 0.031, step 0.003, random start) on 1,000 1x28x28 images against the small "
        "flexible network, batch 1000: bionn.attacks.pgd vs a direct PyTorch PGD on the same weights"
    )
    default_repeats = 3
    warmup = 1
    in_default_run = False

    def setup(self) -> None:
        from bionn import attacks as battacks

        rng = np.random.default_rng(self.seed)
        n = 1000
        self.attacks = battacks
        self.x = rng.random((n, 1, 28, 28), dtype=np.float32)
        self.y = rng.integers(0, 10, size=n).astype(np.int64)
        self.bmodel = _small_flexible_bionn(self.seed)
        self.tmodel = _TorchSmallFlexible(self.bmodel).eval()
        for p in self.tmodel.parameters():
            p.requires_grad_(False)
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        self.eps, self.alpha, self.steps = 0.031, 0.003, 20

    def run_bionn(self) -> object:
        return self.attacks.pgd(self.bmodel, self.x, self.y, self.eps, self.alpha, self.steps, seed=self.seed)

    def run_torch(self) -> object:
        x, eps = self.tx, self.eps
        adv = torch.clamp(x + torch.empty_like(x).uniform_(-eps, eps), 0, 1)
        for _ in range(self.steps):
            adv.requires_grad_(True)
            loss = F.cross_entropy(self.tmodel(adv), self.ty)
            (grad,) = torch.autograd.grad(loss, adv)
            adv = adv.detach() + self.alpha * grad.sign()
            adv = torch.clamp(torch.min(torch.max(adv, x - eps), x + eps), 0, 1)
        return adv
