"""Amplifying/attenuating-neuron case: the paper's Network 5 at batch size 1 (issue 5)."""

from __future__ import annotations

from typing import List

import numpy as np
import torch
import torch.nn.functional as F

from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import _check_same_size, _PerSampleEpochCase, register

ORDER = 20  # place in the run: modules by ORDER, then name (standard = 0 runs first)


class TorchSecondaryActivation(torch.nn.Module):
    """PyTorch reference of bionn.nn.SecondaryActivation with the parametric softplus (Eq. 3-5):
    h = a x + (1 - a) softplus(x); amplifying neurons h^2, attenuating h / (h^2 + b)."""

    def __init__(
        self, features: int, amplifying: List[int], attenuating: List[int], a: float = 0.3, b: float = 1.0
    ) -> None:
        super().__init__()
        amp = torch.zeros(features, dtype=torch.bool)
        att = torch.zeros(features, dtype=torch.bool)
        amp[amplifying] = True
        att[attenuating] = True
        self.register_buffer("amp", amp)
        self.register_buffer("att", att)
        self.a, self.b = a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a * x + (1 - self.a) * F.softplus(x)
        return torch.where(self.amp, h * h, torch.where(self.att, h / (h * h + self.b), h))


@register
class AmplifyingNet5Bs1(_PerSampleEpochCase):
    name = "amplifying_net5_bs1"
    description = (
        "the paper's Network 5 (1-10x5-1, per hidden layer 4 amplifying + 1 attenuating neurons, "
        "parametric softplus); one epoch of the 194 Eq. 6 samples at batch size 1 "
        "(MSE, AdamW lr 1e-2 weight decay 1e-4, shuffled)"
    )
    default_repeats = 10
    warmup = 2

    def setup(self) -> None:
        from bionn.papers import amplifying as paper

        X, y, _ = paper.load_training_data("1d")
        self.x = X.astype(np.float32)
        self.y = y.astype(np.float32)
        # architecture="dense": ordinary bias vectors (the torch mirror's Linear layers); special neurons on
        self.bmodel, special = paper.build_network(5, seed=self.seed, architecture="dense", dtype=np.float32)
        for layer in special:
            layer.secondary_enabled = True
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
