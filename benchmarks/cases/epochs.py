"""Whole ``fit`` epochs: what a user's training run costs, data handling included.

Each case times one epoch over Fashion-MNIST's 60,000 training images followed by a validation
pass over its 10,000 test images: bionn's ``Sequential.fit(..., epochs=1, validation_data=...)``
against the plain PyTorch loop a user writes (:func:`torch_fit_epoch`: ``randperm``, gathered
batches, zero_grad/forward/loss/backward/step, the epoch's loss and accuracy, then an eval-mode,
``no_grad`` validation pass with loss and accuracy). Both sides get the same float32 arrays,
already shaped for the model (the bionn side pays its argument checks on every call, as users do).

Without the Fashion-MNIST files (``apt-get install dataset-fashion-mnist``), random images of the
same shapes stand in (the work per epoch is the same); the case's ``info.data`` says which.
``run.py --smoke`` shrinks both sets to 2,048 / 512 samples (a structural check, not a timing).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

# harness first: it imports bionn before torch (both ship libgomp.so.1; see harness.py)
import harness
from bionn import losses as bl
from bionn import nn as bnn
from bionn import optim as bopt
from harness import Case, _check_same_size, register

ORDER = 5  # right after the standard step cases: same networks, whole epochs

SMOKE_SIZES = (2048, 512)


def fashion_mnist_arrays(seed: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """(X_train, y_train, X_test, y_test, source): Fashion-MNIST as float32 (N, 1, 28, 28) in [0, 1] and
    int64 labels, or random stand-ins of the same shapes when the files are missing."""
    try:
        from bionn.data import load_fashion_mnist

        xtr, ytr = load_fashion_mnist(split="train")
        xte, yte = load_fashion_mnist(split="test")
        source = "fashion-mnist"
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.default_rng(seed)
        xtr = rng.random((60000, 1, 28, 28), dtype=np.float32)
        xte = rng.random((10000, 1, 28, 28), dtype=np.float32)
        ytr = rng.integers(0, 10, 60000).astype(np.int64)
        yte = rng.integers(0, 10, 10000).astype(np.int64)
        source = "synthetic"
    if harness.SMOKE:
        ntr, nte = SMOKE_SIZES
        xtr, ytr, xte, yte = xtr[:ntr], ytr[:ntr], xte[:nte], yte[:nte]
    cast = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return cast(xtr), ytr.astype(np.int64), cast(xte), yte.astype(np.int64), source


def torch_fit_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: torch.nn.Module,
    tx: torch.Tensor,
    ty: torch.Tensor,
    vx: torch.Tensor,
    vy: torch.Tensor,
    batch_size: int,
    eval_batch_size: int = 1024,
) -> dict:
    """One epoch as a PyTorch user writes it (the same bookkeeping as bionn's ``fit``): a fresh
    permutation, gathered batches, the epoch's mean loss and accuracy, then validation in eval mode."""
    model.train()
    n = tx.shape[0]
    perm = torch.randperm(n)
    loss_sum = 0.0
    correct = 0
    for start in range(0, n, batch_size):
        idx = perm[start : start + batch_size]
        xb, yb = tx[idx], ty[idx]
        optimizer.zero_grad()
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * idx.shape[0]
        correct += (out.argmax(1) == yb).sum().item()
    model.eval()
    val_loss = 0.0
    val_correct = 0
    with torch.no_grad():
        for start in range(0, vx.shape[0], eval_batch_size):
            xb, yb = vx[start : start + eval_batch_size], vy[start : start + eval_batch_size]
            out = model(xb)
            val_loss += loss_fn(out, yb).item() * xb.shape[0]
            val_correct += (out.argmax(1) == yb).sum().item()
    return {
        "loss": loss_sum / n,
        "accuracy": correct / n,
        "val_loss": val_loss / vx.shape[0],
        "val_accuracy": val_correct / vx.shape[0],
    }


class _FitEpochCase(Case):
    """One ``fit`` epoch with validation: ``setup`` builds ``bmodel``/``bopt``, ``tmodel``/``topt``
    and calls :meth:`_data` with the input shape the model takes."""

    default_repeats = 5
    warmup = 1
    batch_size = 128

    def _data(self, sample_shape: Tuple[int, ...]) -> None:
        xtr, ytr, xte, yte, source = fashion_mnist_arrays(self.seed)
        self.x = xtr.reshape((len(xtr),) + sample_shape)
        self.vx = xte.reshape((len(xte),) + sample_shape)
        self.y, self.vy = ytr, yte
        self.tx, self.ty = torch.from_numpy(self.x), torch.from_numpy(self.y)
        self.tvx, self.tvy = torch.from_numpy(self.vx), torch.from_numpy(self.vy)
        self.bloss = bl.CrossEntropy()
        self.tloss = torch.nn.CrossEntropyLoss()
        self.info = {"data": source, "train_samples": len(self.x), "val_samples": len(self.vx)}

    def run_bionn(self) -> object:
        return self.bmodel.fit(
            self.x,
            self.y,
            loss=self.bloss,
            optimizer=self.bopt,
            epochs=1,
            batch_size=self.batch_size,
            validation_data=(self.vx, self.vy),
        )

    def run_torch(self) -> dict:
        return torch_fit_epoch(
            self.tmodel, self.topt, self.tloss, self.tx, self.ty, self.tvx, self.tvy, self.batch_size
        )


@register
class FitMlpEpoch(_FitEpochCase):
    name = "fit_mlp_epoch"
    description = (
        "fit epoch: MLP 784-256-256-10 (ReLU) on Fashion-MNIST, 60k images at batch 128 + validation on "
        "10k (CE, SGD lr 0.05 momentum 0.9)"
    )

    def setup(self) -> None:
        self._data((784,))
        h = 256
        self.bmodel = bnn.Sequential(
            [bnn.Dense(784, h), bnn.ReLU(), bnn.Dense(h, h), bnn.ReLU(), bnn.Dense(h, 10)], seed=self.seed
        )
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.05, momentum=0.9)
        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Linear(784, h),
            torch.nn.ReLU(),
            torch.nn.Linear(h, h),
            torch.nn.ReLU(),
            torch.nn.Linear(h, 10),
        )
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.05, momentum=0.9)
        _check_same_size(self.bmodel, self.tmodel, self.name)


@register
class FitCnnEpoch(_FitEpochCase):
    name = "fit_cnn_epoch"
    description = (
        "fit epoch: the small CNN (Conv2d(1,12,5)-Sigmoid-Linear(6912,120)-Linear(120,60)-Linear(60,10)) on "
        "Fashion-MNIST, 60k images at batch 100 + validation on 10k (CE, SGD lr 0.01)"
    )
    batch_size = 100
    default_repeats = 3

    def setup(self) -> None:
        self._data((1, 28, 28))
        self.bmodel = bnn.Sequential(
            [
                bnn.Conv2d(1, 12, 5),
                bnn.Sigmoid(),
                bnn.Flatten(),
                bnn.Dense(6912, 120),
                bnn.Dense(120, 60),
                bnn.Dense(60, 10),
            ],
            seed=self.seed,
        )
        self.bopt = bopt.SGD(self.bmodel.parameters(), lr=0.01)
        torch.manual_seed(self.seed)
        self.tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, 12, 5),
            torch.nn.Sigmoid(),
            torch.nn.Flatten(),
            torch.nn.Linear(6912, 120),
            torch.nn.Linear(120, 60),
            torch.nn.Linear(60, 10),
        )
        self.topt = torch.optim.SGD(self.tmodel.parameters(), lr=0.01)
        _check_same_size(self.bmodel, self.tmodel, self.name)
