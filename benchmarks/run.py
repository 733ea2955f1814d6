#!/usr/bin/env python
"""bionn vs PyTorch (CPU) training-speed benchmark.

Runs every registered case with bionn and with PyTorch in ONE process, at the same thread count,
with the same architecture, batch size, optimizer and dtype (float32), and reports the median
wall time of each side and the ratio ``torch_s / bionn_s`` (> 1 means bionn is faster).

    python benchmarks/run.py --threads 2 --json results.json --markdown results.md
    python benchmarks/run.py --only small_cnn --repeats 5 --json /tmp/cnn.json
    python benchmarks/run.py --list

Adding a case: subclass :class:`Case`, give it a ``name``, implement ``setup()`` (build models and
inputs, untimed), ``run_bionn()`` and ``run_torch()`` (one timed unit of work each), and decorate
it with ``@register``. See benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Type

import numpy as np

# bionn is imported before torch on purpose: both link an OpenMP runtime with the soname
# libgomp.so.1, so the loader maps only the first one and both libraries share one thread pool.
# Importing bionn first means bionn runs on the same runtime as in a bionn-only process.
import bionn  # noqa: E402
from bionn import losses as bl  # noqa: E402
from bionn import nn as bnn  # noqa: E402
from bionn import optim as bopt  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
except ImportError:  # pragma: no cover - the benchmark needs torch
    sys.exit("benchmarks/run.py needs PyTorch (pip install 'bionn[bench]', i.e. torch==2.13.0 CPU)")


# ---------------------------------------------------------------------------------------------
# Case registry
# ---------------------------------------------------------------------------------------------
class Case:
    """One benchmark: the same unit of training work done by bionn and by PyTorch.

    ``setup()`` builds the models, optimizers and (seeded) inputs; it is not timed and runs once,
    after the thread count is set. ``run_bionn()`` / ``run_torch()`` each do one timed unit of work
    (e.g. one training step, or one epoch) and may return anything (ignored).
    """

    name: str = ""
    description: str = ""
    default_repeats: int = 20
    warmup: int = 3
    seed: int = 0
    # False: run only when named with --only (keeps the default run's case list stable).
    in_default_run: bool = True
    # Optional third side, timed interleaved with the other two: a bionn baseline the bionn side is
    # compared with (``run_baseline``); the entry then also has ``baseline_s`` and
    # ``bionn_over_baseline`` (bionn_s / baseline_s, < 1 means the bionn side is cheaper).
    baseline: Optional[str] = None

    def setup(self) -> None:
        raise NotImplementedError

    def run_bionn(self) -> object:
        raise NotImplementedError

    def run_torch(self) -> object:
        raise NotImplementedError

    def teardown(self) -> None:
        """Drops references so the next case starts with free memory."""
        self.__dict__.clear()


CASES: Dict[str, Type[Case]] = {}
BUSY_WARN = 0.10  # warn when other processes keep the CPUs more than this busy around the run


def register(cls: Type[Case]) -> Type[Case]:
    """Class decorator adding a case to the registry (run in registration order)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in CASES:
        raise ValueError(f"duplicate benchmark case name {cls.name!r}")
    CASES[cls.name] = cls
    return cls


def _check_same_size(bionn_model: "bnn.Sequential", torch_model: "torch.nn.Module", case: str) -> None:
    nb = bionn_model.num_parameters()
    nt = sum(p.numel() for p in torch_model.parameters())
    if nb != nt:
        raise RuntimeError(f"{case}: bionn model has {nb} parameters, torch model has {nt}")


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
class _TrainStepCase(Case):
    """A case timing one training step: setup() builds bmodel/bloss/bopt and tmodel/tloss/topt."""

    def run_bionn(self) -> float:
        return self.bmodel.train_step(self.x, self.y, self.bloss, self.bopt)

    def run_torch(self) -> float:
        self.topt.zero_grad()
        loss = self.tloss(self.tmodel(self.tx), self.ty)
        loss.backward()
        self.topt.step()
        return loss.item()  # bionn's train_step returns the loss too


@register
class MlpBnDropout(_TrainStepCase):
    name = "mlp_bn_dropout"
    description = ("MLP 784-800-800-10, Dense->BN->ReLU->Dropout(0.2) per hidden layer; one train step "
                   "(CE, SGD lr 0.1 momentum 0.9), batch 128")
    default_repeats = 20

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, d, h, c = 128, 784, 800, 10
        self.x = rng.standard_normal((n, d)).astype(np.float32)
        self.y = rng.integers(0, c, size=n).astype(np.int64)

        self.bmodel = bnn.Sequential([
            bnn.Dense(d, h), bnn.BatchNorm1d(h), bnn.ReLU(), bnn.Dropout(0.2),
            bnn.Dense(h, h), bnn.BatchNorm1d(h), bnn.ReLU(), bnn.Dropout(0.2),
            bnn.Dense(h, c),
        ], seed=self.seed)
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.1, momentum=0.9)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Linear(d, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(), torch.nn.Dropout(0.2),
            torch.nn.Linear(h, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(), torch.nn.Dropout(0.2),
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
    description = ("Conv2d(1,12,5)->Sigmoid->Flatten->Linear(6912,120)->Linear(120,60)->Linear(60,10) on "
                   "1x28x28; one train step (CE, SGD lr 0.01), batch 100")
    default_repeats = 20

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, c = 100, 10
        self.x = rng.random((n, 1, 28, 28), dtype=np.float32)
        self.y = rng.integers(0, c, size=n).astype(np.int64)

        self.bmodel = bnn.Sequential([
            bnn.Conv2d(1, 12, 5), bnn.Sigmoid(), bnn.Flatten(),
            bnn.Dense(6912, 120), bnn.Dense(120, 60), bnn.Dense(60, c),
        ], seed=self.seed)
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.01)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, 12, 5), torch.nn.Sigmoid(), torch.nn.Flatten(),
            torch.nn.Linear(6912, 120), torch.nn.Linear(120, 60), torch.nn.Linear(60, c),
        ).train()
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.01)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)


def torch_per_sample_epoch(model: "torch.nn.Module", optimizer: Any, loss_fn: Any, tx: "torch.Tensor",
                           ty: "torch.Tensor") -> float:
    """One epoch at batch size 1 as a PyTorch user writes it: shuffle, slice a pre-made tensor per
    step, and track the epoch loss (bionn's fit reports it too)."""
    total = 0.0
    for i in torch.randperm(tx.shape[0]).tolist():
        xb, yb = tx[i:i + 1], ty[i:i + 1]
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / tx.shape[0]


class _PerSampleEpochCase(Case):
    """One epoch at batch size 1: bionn's C++ fit loop vs :func:`torch_per_sample_epoch`.
    ``setup`` builds ``bmodel``/``bloss``/``bopt``, ``tmodel``/``tloss``/``topt`` and the data."""

    def run_bionn(self) -> object:
        return self.bmodel.fit(self.x, self.y, loss=self.bloss, optimizer=self.bopt, epochs=1, batch_size=1,
                               shuffle=True)

    def run_torch(self) -> float:
        return torch_per_sample_epoch(self.tmodel, self.topt, self.tloss, self.tx, self.ty)


@register
class MlpSoftplusBs1(_PerSampleEpochCase):
    name = "mlp_softplus_bs1"
    description = ("MLP 1-10-10-10-10-10-1 with Softplus; one epoch of 194 samples at batch size 1 "
                   "(MSE, Adam lr 1e-3, shuffled)")
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


def torch_focus_forward(x: "torch.Tensor", weight: "torch.Tensor", bias: "torch.Tensor", mu: "torch.Tensor",
                        sigma: "torch.Tensor") -> "torch.Tensor":
    """PyTorch focusing layer (the reference of tests/python/test_focus.py): Eq. 6 over positions
    linspace(0, 1, m), Eq. 7 normaliser (||phi_j||_2 = sqrt(m)), y = x (Phi ∘ W)^T + b; autograd
    gives the gradients of W, b, mu and sigma."""
    m = weight.shape[1]
    tau = torch.linspace(0, 1, m, dtype=weight.dtype)
    e = torch.exp(-(tau[None, :] - mu[:, None]) ** 2 / (2 * sigma[:, None] ** 2))
    phi = e * (m ** 0.5) / torch.linalg.vector_norm(e, dim=1, keepdim=True)
    return x @ (phi * weight).T + bias


@register
class FocusDenseStep(Case):
    name = "focus_dense"
    description = ("FocusDense(784, 800) vs Dense(784, 800) (bionn baseline) vs a PyTorch focusing layer; "
                   "one train step (CE over 800 logits, SGD lr 0.1 momentum 0.9; mu, sigma lr 0.01), batch 128")
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
        self.topt = torch.optim.SGD([{"params": [tp["weight"], tp["bias"]]},
                                     {"params": [tp["mu"]], "lr": 0.01}, {"params": [tp["sigma"]], "lr": 0.01}],
                                    lr=0.1, momentum=0.9)
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
    description = ("as focus_dense with sigma_init 0.3: every focus covers all 784 inputs, so no product can "
                   "skip anything and the ratio to Dense is the focus's whole overhead")
    sigma_init = 0.3


# --- amplifying cases (issue 5) ---
class TorchSecondaryActivation(torch.nn.Module):
    """PyTorch reference of bionn.nn.SecondaryActivation with the parametric softplus (Eq. 3-5):
    h = a x + (1 - a) softplus(x); amplifying neurons h^2, attenuating h / (h^2 + b)."""

    def __init__(self, features: int, amplifying: List[int], attenuating: List[int], a: float = 0.3,
                 b: float = 1.0) -> None:
        super().__init__()
        amp = torch.zeros(features, dtype=torch.bool)
        att = torch.zeros(features, dtype=torch.bool)
        amp[amplifying] = True
        att[attenuating] = True
        self.register_buffer("amp", amp)
        self.register_buffer("att", att)
        self.a, self.b = a, b

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        h = self.a * x + (1 - self.a) * F.softplus(x)
        return torch.where(self.amp, h * h, torch.where(self.att, h / (h * h + self.b), h))


@register
class AmplifyingNet5Bs1(_PerSampleEpochCase):
    name = "amplifying_net5_bs1"
    description = ("the paper's Network 5 (1-10x5-1, per hidden layer 4 amplifying + 1 attenuating neurons, "
                   "parametric softplus); one epoch of the 194 Eq. 6 samples at batch size 1 "
                   "(MSE, AdamW lr 1e-2 weight decay 1e-4, shuffled)")
    default_repeats = 10
    warmup = 2

    def setup(self) -> None:
        from bionn.papers import amplifying as paper

        X, y, _ = paper.load_training_data("1d")
        self.x = X.astype(np.float32)
        self.y = y.astype(np.float32)
        self.bmodel = paper.build_network(5, seed=self.seed)
        self.bloss = bl.MSE()
        self.bopt = bopt.AdamW(self.bmodel.parameters(), lr=1e-2, weight_decay=1e-4)

        amp, att = list(self.bmodel.layers[1].amplifying), list(self.bmodel.layers[1].attenuating)
        tlayers: List[torch.nn.Module] = []
        for layer in self.bmodel.layers:
            if isinstance(layer, bnn.Dense):
                w, b = (p.data for p in layer.parameters())
                lin = torch.nn.Linear(w.shape[1], w.shape[0])
                with torch.no_grad():
                    lin.weight.copy_(torch.from_numpy(w.copy()))
                    lin.bias.copy_(torch.from_numpy(b.copy()))
                tlayers.append(lin)
            else:
                tlayers.append(TorchSecondaryActivation(layer.features, amp, att))
        self.tmodel = torch.nn.Sequential(*tlayers).train()
        self.topt = torch.optim.AdamW(self.tmodel.parameters(), lr=1e-2, weight_decay=1e-4)
        self.tloss = torch.nn.MSELoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)
# (end of amplifying cases)


# --- flexible cases (issue 6) ---
def torch_flexible(x: "torch.Tensor", weight: "torch.Tensor", bias: "torch.Tensor", threshold: "torch.Tensor",
                   pool_kernel: int, scale: float = 50.0) -> "torch.Tensor":
    """PyTorch flexible layer (the reference of tests/python/test_flexible.py): conv2d and max_pool2d
    in parallel, combined by Eq. 1 (max-pooling below the threshold)."""
    f_conv = F.conv2d(x, weight, bias)
    f_max = F.max_pool2d(x, pool_kernel, 1)
    d = threshold - f_max
    return torch.sigmoid(d * scale) * f_max + torch.sigmoid(-d * scale) * f_conv


class _TorchSmallFlexible(torch.nn.Module):
    """The paper's small network (Fig. 2B) in PyTorch with bionn's initial weights."""

    def __init__(self, bmodel: "bnn.Sequential") -> None:
        super().__init__()
        p = {f"{i}.{q.name}": torch.nn.Parameter(torch.tensor(q.data.copy()))
             for i, layer in enumerate(bmodel.layers) for q in layer.parameters()}
        self.params = torch.nn.ParameterDict({k.replace(".", "_"): v for k, v in p.items()})

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        p = self.params
        h = torch.sigmoid(torch_flexible(x, p["0_weight"], p["0_bias"], p["0_threshold"], 5)).flatten(1)
        h = F.linear(h, p["3_weight"], p["3_bias"])
        h = F.linear(h, p["4_weight"], p["4_bias"])
        return F.linear(h, p["5_weight"], p["5_bias"])


def _small_flexible_bionn(seed: int) -> "bnn.Sequential":
    return bnn.Sequential([
        bnn.FlexibleConv2d(1, 12, 5, input_size=(28, 28), pool_kernel=5, threshold_mode="learned", threshold=0.5),
        bnn.Sigmoid(), bnn.Flatten(), bnn.Dense(6912, 120), bnn.Dense(120, 60), bnn.Dense(60, 10)], seed=seed)


@register
class FlexibleSmallStep(_TrainStepCase):
    name = "flexible_small"
    description = ("Flexible[Conv2d(1,12,5) || MaxPool2d(5,1)]->Sigmoid->Linear(6912,120)->Linear(120,60)->"
                   "Linear(60,10) on 1x28x28 (learned thresholds); one train step (CE, SGD lr 0.001 momentum 0.9, "
                   "weight decay 0.006 except thresholds), batch 100")
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
        self.topt = torch.optim.SGD([{"params": [v for k, v in p.items() if k != "0_threshold"]},
                                     {"params": [p["0_threshold"]], "weight_decay": 0.0}],
                                    lr=0.001, momentum=0.9, weight_decay=0.006)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)


@register
class FlexiblePgd20(Case):
    name = "flexible_pgd20"
    description = ("PGD-20 (eps 0.031, step 0.003, random start) on 1,000 1x28x28 images against the small "
                   "flexible network, batch 1000: bionn.attacks.pgd vs a direct PyTorch PGD on the same weights")
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
            grad, = torch.autograd.grad(loss, adv)
            adv = adv.detach() + self.alpha * grad.sign()
            adv = torch.clamp(torch.min(torch.max(adv, x - eps), x + eps), 0, 1)
        return adv
# (end of flexible cases)


# --- neglu cases (issue 7) ---
class _TorchMixLU(torch.nn.Module):
    """PyTorch MixLU with a fixed unit mask: min(0, x) on the masked channels, max(0, x) elsewhere."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mask", torch.from_numpy(mask.reshape(1, -1, 1, 1)))

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return torch.where(self.mask, -torch.relu(-x), torch.relu(x))


@register
class MixLULeNetStep(_TrainStepCase):
    name = "mixlu_lenet"
    description = ("MatConvNet's MNIST LeNet (thesis §4.4.3) with MixLU(500, 5 % NegLU) vs PyTorch (torch.where "
                   "MixLU) vs bionn's ReLU LeNet (baseline); one train step (CE, SGD lr 0.001 momentum 0.9), "
                   "batch 100, 1x28x28")
    default_repeats = 20
    baseline = "bionn ReLU LeNet"

    def setup(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = 100
        self.x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
        self.y = rng.integers(0, 10, size=n).astype(np.int64)

        def lenet(act: "bnn.Layer") -> "bnn.Sequential":
            return bnn.Sequential([bnn.Conv2d(1, 20, 5), bnn.MaxPool2d(2), bnn.Conv2d(20, 50, 5), bnn.MaxPool2d(2),
                                   bnn.Conv2d(50, 500, 4), act, bnn.Conv2d(500, 10, 1), bnn.Flatten()],
                                  seed=self.seed)

        self.bmodel = lenet(bnn.MixLU(500, fraction=0.05))
        self.bloss = bl.CrossEntropy()
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.001, momentum=0.9)
        self.dmodel = lenet(bnn.ReLU())
        self.dopt = bopt.SGD(self.dmodel.parameters(), lr=0.001, momentum=0.9)

        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, 20, 5), torch.nn.MaxPool2d(2), torch.nn.Conv2d(20, 50, 5), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(50, 500, 4), _TorchMixLU(self.bmodel[5].neglu_mask), torch.nn.Conv2d(500, 10, 1),
            torch.nn.Flatten()).train()
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.001, momentum=0.9)
        self.tloss = torch.nn.CrossEntropyLoss()
        self.tx = torch.from_numpy(self.x)
        self.ty = torch.from_numpy(self.y)
        _check_same_size(self.bmodel, self.tmodel, self.name)

    def run_baseline(self) -> float:
        return self.dmodel.train_step(self.x, self.y, self.bloss, self.dopt)


# (end of neglu cases)


# --- selforg cases (issue 8) ---
@register
class SelfOrgEpoch(Case):
    """One epoch of Algorithm 1 for the A3 self-organizing network (K = 3 masked AE units, two
    10 x 10 windows, 100 hidden each, on a 20 x 40 feature map): per batch of 64, K x K settling
    passes without gradients, then per unit forward + backward + Adam and write-back onto the map;
    entropy (100-bin histogram) on 64 images at the end. PyTorch does the same with gathered field
    columns (index_select) and nn.Linear encoders/decoders."""

    name = "selforg_epoch"
    description = "A3 self-organizing network, one Algorithm-1 epoch on 1024 images (batch 64)"
    default_repeats = 5
    warmup = 1

    def setup(self) -> None:
        from bionn import selforg

        rng = np.random.default_rng(self.seed)
        self.X = rng.random((1024, 20, 20)).astype(np.float32)
        self.topo = selforg.Topology.handcrafted("A3")
        self.net = selforg.SelfOrganizingNetwork(self.topo, seed=self.seed, dropout=0.1, l2=1e-4, lr=1e-3,
                                                 batch_size=64)
        torch.manual_seed(self.seed)
        H = self.topo.n_hidden
        self.fields = [torch.from_numpy(np.flatnonzero(self.topo.mask(k).reshape(-1))) for k in range(3)]
        self.hidden_pos = []
        for (r, c) in self.topo.unit_locations:
            rows, cols = np.meshgrid(np.arange(r, r + 10), np.arange(c, c + 10), indexing="ij")
            self.hidden_pos.append(torch.from_numpy((rows * 40 + cols).reshape(-1)))
        self.enc = [torch.nn.Linear(len(f), H) for f in self.fields]
        self.dec = [torch.nn.Linear(H, len(f)) for f in self.fields]
        self.opts = [torch.optim.Adam(list(e.parameters()) + list(d.parameters()), lr=1e-3)
                     for e, d in zip(self.enc, self.dec)]
        self.tX = torch.from_numpy(self.X.reshape(1024, 400))

    def run_bionn(self) -> object:
        return self.net.fit(self.X, epochs=1, entropy_X=self.X[:64])

    def _code(self, k: int, maps: "torch.Tensor") -> "torch.Tensor":
        return torch.relu(self.enc[k](maps.index_select(1, self.fields[k])))

    def _maps(self, x: "torch.Tensor") -> "torch.Tensor":
        maps = torch.zeros(x.shape[0], 20, 40)
        maps[:, :, :20] = x.view(-1, 20, 20)
        maps = maps.view(-1, 800)
        with torch.no_grad():
            for _ in range(3):
                for k in range(3):
                    maps[:, self.hidden_pos[k]] = self._code(k, maps)
        return maps

    def run_torch(self) -> object:
        perm = torch.randperm(1024)
        for start in range(0, 1024, 64):
            maps = self._maps(self.tX[perm[start:start + 64]])
            for k in range(3):
                x = maps.index_select(1, self.fields[k])
                h = torch.relu(self.enc[k](x))
                xhat = self.dec[k](F.dropout(h, 0.1, training=True))
                l2 = 0.5e-4 * (self.enc[k].weight.pow(2).sum() + self.dec[k].weight.pow(2).sum())
                loss = F.mse_loss(xhat, x) + l2
                self.opts[k].zero_grad()
                loss.backward()
                self.opts[k].step()
                maps[:, self.hidden_pos[k]] = h.detach()
        with torch.no_grad():
            maps = self._maps(self.tX[:64])
            ent = []
            for k in range(3):
                h = self._code(k, maps).reshape(-1)
                p = torch.histc(h, bins=100, min=float(h.min()), max=float(h.max()))
                p = p[p > 0] / h.numel()
                ent.append(float(-(p * p.log()).sum()))
        return ent


# (end of selforg cases)


# ---------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------
def _time_once(fn: Callable[[], object]) -> float:
    # As timeit does, keep the cyclic GC out of the measured region (it is collected in between).
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


class _OtherLoad:
    """Share of the machine's CPU time used by *other* processes while a case ran (Linux).

    System-wide busy time from /proc/stat minus this process's own CPU time (all its threads,
    including OpenMP threads spinning at barriers), divided by wall time x CPUs. Anything well
    above 0 means the timings were disturbed.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> Optional[tuple]:
        try:
            with open("/proc/stat") as fh:
                v = [int(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(v) - v[3] - (v[4] if len(v) > 4 else 0)
        self_cpu = sum(os.times()[:2])
        return busy / os.sysconf("SC_CLK_TCK"), self_cpu, time.perf_counter()

    def share(self) -> Optional[float]:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[2] - self.start[2]
        if wall <= 0:
            return None
        other = (end[0] - self.start[0]) - (end[1] - self.start[1])
        return round(min(max(other / (wall * (os.cpu_count() or 1)), 0.0), 1.0), 3)


def run_case(case: Case, repeats: int, warmup: int) -> Dict[str, object]:
    case.setup()
    try:
        has_baseline = case.baseline is not None
        for _ in range(warmup):
            case.run_bionn()
            case.run_torch()
            if has_baseline:
                case.run_baseline()  # type: ignore[attr-defined]
        tb: List[float] = []
        tt: List[float] = []
        tbase: List[float] = []
        load = _OtherLoad()
        # Interleaved so both sides see the same machine conditions (load, frequency, caches). Every
        # side is timed right after a garbage collection, which also evicts much of the caches:
        # collecting only before the bionn side made it alone start cold (a FocusDense step looked
        # 4-5 % dearer next to the Dense baseline that followed torch).
        for _ in range(repeats):
            gc.collect()
            tb.append(_time_once(case.run_bionn))
            gc.collect()
            tt.append(_time_once(case.run_torch))
            if has_baseline:
                gc.collect()
                tbase.append(_time_once(case.run_baseline))  # type: ignore[attr-defined]
        other_load = load.share()
        baseline = case.baseline
    finally:
        case.teardown()
        gc.collect()
    bionn_s = statistics.median(tb)
    torch_s = statistics.median(tt)
    extra: Dict[str, object] = {}
    if tbase:
        baseline_s = statistics.median(tbase)
        extra = {"baseline": baseline, "baseline_s": baseline_s, "bionn_over_baseline": bionn_s / baseline_s,
                 "baseline_min_s": min(tbase), "baseline_times_s": tbase}
    return {
        "name": case.name,
        "bionn_s": bionn_s,
        "torch_s": torch_s,
        "ratio": torch_s / bionn_s,
        "description": type(case).description,
        "repeats": repeats,
        "warmup": warmup,
        # The minimum is the least disturbed sample: compare it with the median to judge noise.
        "bionn_min_s": min(tb),
        "torch_min_s": min(tt),
        "ratio_of_min": min(tt) / min(tb),
        "other_load": other_load,
        "bionn_times_s": tb,
        "torch_times_s": tt,
        **extra,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _openmp_runtime() -> Optional[str]:
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                if "libgomp" in line or "libiomp" in line or "libomp" in line:
                    return line.split()[-1]
    except OSError:
        pass
    return None


def _cpu_busy(window: float = 1.0) -> Optional[float]:
    """Fraction of all CPUs busy (any process) during ``window`` seconds while we sleep (Linux)."""
    def snap() -> Optional[List[int]]:
        try:
            with open("/proc/stat") as fh:
                return [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None

    a = snap()
    if a is None:
        return None
    time.sleep(window)
    b = snap()
    if b is None:
        return None
    d = [y - x for x, y in zip(a, b)]
    total = sum(d)
    idle = d[3] + (d[4] if len(d) > 4 else 0)  # idle + iowait
    return round(1.0 - idle / total, 3) if total > 0 else None


def _loadavg() -> Optional[List[float]]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _core_fingerprint() -> Optional[str]:
    """Short hash of the installed extension: tells apart runs on different builds of one commit."""
    import hashlib

    path = getattr(bionn._core, "__file__", None)
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return f"{os.path.basename(path)}:{hashlib.sha256(fh.read()).hexdigest()[:12]}"
    except OSError:
        return None


def _git_commit() -> Optional[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5)
        if out.returncode == 0:
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def machine_info(threads: int) -> Dict[str, object]:
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "bionn": bionn.__version__,
    }


def markdown_table(result: Dict[str, object]) -> str:
    m = result["machine"]
    lines = [
        f"bionn {m['bionn']} vs torch {m['torch']} on {m['cpu']} ({m['cores']} cores), "
        f"{m['threads']} thread(s), Python {m['python']}, NumPy {m['numpy']}.",
        "Median wall time per unit of work, warm-up excluded; ratio = torch / bionn (> 1: bionn faster).",
        "",
        "| case | bionn (ms) | torch (ms) | ratio (torch/bionn) | ratio of minima | repeats | other load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in result["cases"]:
        rmin = f"{c['ratio_of_min']:.2f}x" if "ratio_of_min" in c else ""
        other = c.get("other_load")
        other_s = "" if other is None else f"{100 * other:.0f}%"
        lines.append(f"| {c['name']} | {1e3 * c['bionn_s']:.3f} | {1e3 * c['torch_s']:.3f} | "
                     f"{c['ratio']:.2f}x | {rmin} | {c.get('repeats', '')} | {other_s} |")
    st = result.get("settings", {})
    busy = [b for b in (st.get("cpu_busy_before"), st.get("cpu_busy_after")) if b is not None]
    busy += [c["other_load"] for c in result["cases"] if c.get("other_load") is not None]
    if busy and max(busy) > BUSY_WARN:
        lines += ["", f"WARNING: other processes kept the CPUs up to {100 * max(busy):.0f}% busy during or around "
                      f"the run (see other_load / cpu_busy_* in the JSON): timings are inflated and noisy."]
    return "\n".join(lines) + "\n"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help=f"cases to run (default: all but the opt-in ones): {', '.join(CASES)}")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for both libraries (default: os.cpu_count())")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per case (default: each case's own, 10-20)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up runs per side (default: per case)")
    p.add_argument("--json", metavar="FILE", help="write the results here (required unless --list)")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown table here")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_args(argv)
    if args.list:
        return args
    if not args.json:
        p.error("--json FILE is required")
    if args.only:
        unknown = [n for n in args.only if n not in CASES]
        if unknown:
            p.error(f"unknown case(s) {unknown}; known: {list(CASES)}")
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.warmup is not None and args.warmup < 0:
        p.error("--warmup must be >= 0")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, cls in CASES.items():
            print(f"{name:20s} {cls.description}")
        return 0
    names = list(dict.fromkeys(args.only)) if args.only else [n for n, c in CASES.items() if c.in_default_run]

    torch.set_num_threads(args.threads)
    bionn.set_num_threads(args.threads)

    result: Dict[str, object] = {"machine": machine_info(args.threads), "cases": []}
    load_before = _loadavg()
    busy_before = _cpu_busy()
    if busy_before is not None and busy_before > BUSY_WARN:
        print(f"warning: the CPUs were {100 * busy_before:.0f}% busy before the run (load average "
              f"{load_before[0] if load_before else '?'}); other processes will disturb the timings",
              file=sys.stderr)
    t_start = time.perf_counter()
    for name in names:
        case = CASES[name]()
        repeats = args.repeats if args.repeats is not None else case.default_repeats
        warmup = args.warmup if args.warmup is not None else case.warmup
        entry = run_case(case, repeats, warmup)
        result["cases"].append(entry)
        other = entry["other_load"]
        print(f"{name:20s} bionn {1e3 * entry['bionn_s']:9.3f} ms  torch {1e3 * entry['torch_s']:9.3f} ms  "
              f"ratio {entry['ratio']:6.2f}x  other load {'?' if other is None else f'{100 * other:.0f}%'}",
              file=sys.stderr, flush=True)
        if "baseline_s" in entry:
            print(f"{'':20s} baseline ({entry['baseline']}) {1e3 * entry['baseline_s']:9.3f} ms  "
                  f"bionn/baseline {entry['bionn_over_baseline']:.2f}x", file=sys.stderr, flush=True)
    result["settings"] = {
        "repeats": args.repeats,
        "warmup": args.warmup,
        "openmp_runtime": _openmp_runtime(),
        "bionn_threads": bionn.get_num_threads(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "bionn_core": _core_fingerprint(),
        "platform": platform.platform(),
        "wall_s": time.perf_counter() - t_start,
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
        "cpu_busy_before": busy_before,
        "cpu_busy_after": _cpu_busy(),
    }

    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    table = markdown_table(result)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
