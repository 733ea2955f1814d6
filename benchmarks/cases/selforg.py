"""Self-organizing network case: one Algorithm-1 epoch of the A3 network (issue 8)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
from harness import Case, register

ORDER = 50  # place in the run: modules by ORDER, then name (standard = 0 runs first)


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
        self.net = selforg.SelfOrganizingNetwork(
            self.topo, seed=self.seed, dropout=0.1, l2=1e-4, lr=1e-3, batch_size=64
        )
        torch.manual_seed(self.seed)
        H = self.topo.n_hidden
        self.fields = [torch.from_numpy(np.flatnonzero(self.topo.mask(k).reshape(-1))) for k in range(3)]
        self.hidden_pos = []
        for r, c in self.topo.unit_locations:
            rows, cols = np.meshgrid(np.arange(r, r + 10), np.arange(c, c + 10), indexing="ij")
            self.hidden_pos.append(torch.from_numpy((rows * 40 + cols).reshape(-1)))
        self.enc = [torch.nn.Linear(len(f), H) for f in self.fields]
        self.dec = [torch.nn.Linear(H, len(f)) for f in self.fields]
        self.opts = [
            torch.optim.Adam(list(e.parameters()) + list(d.parameters()), lr=1e-3) for e, d in zip(self.enc, self.dec)
        ]
        self.tX = torch.from_numpy(self.X.reshape(1024, 400))

    def run_bionn(self) -> object:
        return self.net.fit(self.X, epochs=1, entropy_X=self.X[:64])

    def _code(self, k: int, maps: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.enc[k](maps.index_select(1, self.fields[k])))

    def _maps(self, x: torch.Tensor) -> torch.Tensor:
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
            maps = self._maps(self.tX[perm[start : start + 64]])
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
