"""Focusing-neuron cases (FocusDense against a PyTorch focusing layer written with autograd)."""

from __future__ import annotations

from typing import Iterable

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


class _FocusCase(Case):
    """A bionn focusing model (``bmodel``/``bopt``) timed against PyTorch and against a bionn
    Dense baseline (``dmodel``/``dopt``), on ``x``/``y`` with cross-entropy."""

    def _torch_io(self, tparams: Iterable[torch.Tensor]) -> None:
        """The torch side's loss and input tensors; checks both sides have the same size."""
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        nt = sum(p.numel() for p in tparams)
        if nt != self.bmodel.num_parameters():
            raise RuntimeError(f"{self.name}: bionn model has {self.bmodel.num_parameters()} parameters, torch {nt}")

    def run_bionn(self) -> float:
        return self.bmodel.train_step(self.x, self.y, self.bloss, self.bopt)

    def run_baseline(self) -> float:
        return self.dmodel.train_step(self.x, self.y, self.bloss, self.dopt)


@register
class FocusDenseStep(_FocusCase):
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
        self._torch_io(tp.values())

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


class _TorchFocus(torch.nn.Module):
    """A focusing layer in PyTorch (:func:`torch_focus_forward`) holding bionn's initial values."""

    def __init__(self, layer: bnn.FocusDense) -> None:
        super().__init__()
        p = {q.name: torch.nn.Parameter(torch.tensor(q.data.copy())) for q in layer.parameters()}
        self.weight, self.bias, self.mu, self.sigma = p["weight"], p["bias"], p["mu"], p["sigma"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch_focus_forward(x, self.weight, self.bias, self.mu, self.sigma)


@register
class FocusTable2Net(_FocusCase):
    name = "focus_table2_net"
    description = (
        "the focusing paper's Table 2 Focus-s network (authors' layout: Dropout(0.2), 2 x [FocusDense(800) "
        "-> BN -> ReLU -> Dropout(0.25)], Dense(10)) on 784 inputs; one train step (CE, SGD momentum 0.9, "
        "lr 0.1 / mu 0.01 / sigma 0.01, gradient values clipped to 1), batch 512 (bionn baseline: the "
        "Dense network of the same layout)"
    )
    default_repeats = 10
    baseline = "bionn Table 2 Dense network"

    def setup(self) -> None:
        from bionn.papers._focusing_nets import build_table2_net

        rng = np.random.default_rng(self.seed)
        n, d, c = 512, 784, 10
        self.x = rng.random((n, d), dtype=np.float32)
        self.y = rng.integers(0, c, size=n).astype(np.int64)
        self.bloss = bl.CrossEntropy()

        def sgd(model: bnn.Sequential) -> bopt.SGD:
            groups = [{"params": model.parameters(exclude_tags=["mu", "sigma"])}]
            focus = model.parameters(tags=["mu"]) + model.parameters(tags=["sigma"])
            if focus:
                groups += [
                    {"params": model.parameters(tags=["mu"]), "lr": 0.01},
                    {"params": model.parameters(tags=["sigma"]), "lr": 0.01},
                ]
            return bopt.SGD(groups, lr=0.1, momentum=0.9, clip_value=1.0)

        self.bmodel = build_table2_net("focus-s", d, c, seed=self.seed)
        self.bopt = sgd(self.bmodel)
        self.dmodel = build_table2_net("dense", d, c, seed=self.seed)
        self.dopt = sgd(self.dmodel)

        torch.manual_seed(self.seed)
        mods: list = []
        for layer in self.bmodel.layers:
            if isinstance(layer, bnn.FocusDense):
                mods.append(_TorchFocus(layer))
            elif isinstance(layer, bnn.BatchNorm1d):
                mods.append(torch.nn.BatchNorm1d(layer.config()["num_features"]))
            elif isinstance(layer, bnn.ReLU):
                mods.append(torch.nn.ReLU())
            elif isinstance(layer, bnn.Dropout):
                mods.append(torch.nn.Dropout(layer.config()["p"]))
            elif isinstance(layer, bnn.Dense):
                mods.append(torch.nn.Linear(layer.config()["in_features"], layer.config()["out_features"]))
            else:  # pragma: no cover - the builder's layers are the ones above
                raise RuntimeError(f"{self.name}: no torch counterpart for {type(layer).__name__}")
        self.tmodel = torch.nn.Sequential(*mods).train()
        named = dict(self.tmodel.named_parameters())
        mu = [p for k, p in named.items() if k.endswith(".mu")]
        sigma = [p for k, p in named.items() if k.endswith(".sigma")]
        rest = [p for k, p in named.items() if not k.endswith((".mu", ".sigma"))]
        self.tfocus = [m for m in mods if isinstance(m, _TorchFocus)]
        self.tparams = list(named.values())
        self.topt = torch.optim.SGD(
            [{"params": rest}, {"params": mu, "lr": 0.01}, {"params": sigma, "lr": 0.01}], lr=0.1, momentum=0.9
        )
        self._torch_io(self.tparams)

    def run_torch(self) -> float:
        self.topt.zero_grad()
        loss = self.tloss(self.tmodel(self.tx), self.ty)
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.tparams, 1.0)
        self.topt.step()
        with torch.no_grad():  # Algorithm 3's clip, as bionn's Parameter bounds do
            for m in self.tfocus:
                m.mu.clamp_(0.0, 1.0)
                m.sigma.clamp_(0.01, 1.0)
        return loss.item()
