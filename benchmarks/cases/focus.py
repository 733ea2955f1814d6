"""Focusing-neuron cases (FocusDense against a PyTorch focusing layer written with autograd)."""

from __future__ import annotations

import numpy as np
import torch

from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import Case, register

ORDER = 10  # place in the run: modules by ORDER, then name (standard = 0 runs first)


def torch_focus_forward(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor
) -> torch.Tensor:
    """PyTorch focusing layer (the reference of tests/python/test_focus.py): Eq. 6 over positions
    linspace(0, 1, m), Eq. 7 normaliser (||phi_j||_2 = sqrt(m)), y = x (Phi ∘ W)^T + b; autograd
    gives the gradients of W, b, mu and sigma."""
    m = weight.shape[1]
    tau = torch.linspace(0, 1, m, dtype=weight.dtype)
    e = torch.exp(-((tau[None, :] - mu[:, None]) ** 2) / (2 * sigma[:, None] ** 2))
    phi = e * (m**0.5) / torch.linalg.vector_norm(e, dim=1, keepdim=True)
    return x @ (phi * weight).T + bias


@register
class FocusDenseStep(Case):
    name = "focus_dense"
    description = (
        "FocusDense(784, 800) vs Dense(784, 800) (bionn baseline) vs a PyTorch focusing layer; "
        "one train step (CE over 800 logits, SGD lr 0.1 momentum 0.9; mu, sigma lr 0.01), batch 128"
    )
    default_repeats = 20
    baseline = "bionn Dense(784, 800)"
    sigma_init = 0.025  # the paper's Focus-s value: each focus covers about a third of the inputs

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, d, h = 128, 784, 800
        self.x = rng.standard_normal((n, d)).astype(np.float32)
        self.y = rng.integers(0, h, size=n).astype(np.int64)
        overrides = {"mu": {"lr": 0.01}, "sigma": {"lr": 0.01}}

        self.bmodel = bnn.Sequential([bnn.FocusDense(d, h, sigma_init=self.sigma_init)], seed=self.seed)
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(bopt.groups_by_tag(self.bmodel.parameters(), overrides), lr=0.1, momentum=0.9)
        self.dmodel = bnn.Sequential([bnn.Dense(d, h)], seed=self.seed)
        self.dopt = bopt.SGD(self.dmodel.parameters(), lr=0.1, momentum=0.9)

        layer = self.bmodel.layers[0]
        self.tparams = {p.name: torch.tensor(p.data.copy(), requires_grad=True) for p in layer.parameters()}
        tp = self.tparams
        self.topt = torch.optim.SGD(
            [
                {"params": [tp["weight"], tp["bias"]]},
                {"params": [tp["mu"]], "lr": 0.01},
                {"params": [tp["sigma"]], "lr": 0.01},
            ],
            lr=0.1,
            momentum=0.9,
        )
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        nt = sum(p.numel() for p in tp.values())
        if nt != self.bmodel.num_parameters():
            raise RuntimeError(f"{self.name}: bionn model has {self.bmodel.num_parameters()} parameters, torch {nt}")

    def run_bionn(self) -> float:
        return self.bmodel.train_step(self.x, self.y, self.bloss, self.bopt)

    def run_baseline(self) -> float:
        return self.dmodel.train_step(self.x, self.y, self.bloss, self.dopt)

    def run_torch(self) -> float:
        tp = self.tparams
        self.topt.zero_grad()
        loss = self.tloss(torch_focus_forward(self.tx, tp["weight"], tp["bias"], tp["mu"], tp["sigma"]), self.ty)
        loss.backward()
        self.topt.step()
        with torch.no_grad():  # Algorithm 3's clip, as bionn's Parameter bounds do
            tp["mu"].clamp_(0.0, 1.0)
            tp["sigma"].clamp_(0.01, 1.0)
        return loss.item()


@register
class FocusDenseWideStep(FocusDenseStep):
    name = "focus_dense_wide"
    description = (
        "as focus_dense with sigma_init 0.3: every focus covers all 784 inputs, so no product can "
        "skip anything and the ratio to Dense is the focus's whole overhead"
    )
    sigma_init = 0.3
