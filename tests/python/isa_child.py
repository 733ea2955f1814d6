"""Child process of test_isa.py: trains a small Conv2d / FocusDense / Dense model with the build of
the core that ``BIONN_ISA`` selects (one build per process: they all load as ``bionn._core``) and
saves what it computed, so the test can compare the builds.

    BIONN_ISA=v3 python isa_child.py OUT.npz
"""

from __future__ import annotations

import sys

import numpy as np

import bionn
from bionn import losses, nn, optim


def outputs(dtype: type) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 1, 12, 12)).astype(dtype)
    y = rng.integers(0, 4, 96)
    model = nn.Sequential(
        [
            nn.Conv2d(1, 6, 3, dtype=dtype),
            nn.ReLU(dtype=dtype),
            nn.MaxPool2d(2, dtype=dtype),
            nn.Flatten(dtype=dtype),
            nn.FocusDense(150, 48, dtype=dtype),
            nn.Tanh(dtype=dtype),
            nn.Dense(48, 4, dtype=dtype),
        ],
        seed=0,
    )
    before = model.predict(X)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=2, batch_size=32, verbose=0)
    name = np.dtype(dtype).name
    return {f"{name}_before": before, f"{name}_after": model.predict(X)}


if __name__ == "__main__":
    bionn.set_num_threads(1)
    result = {**outputs(np.float64), **outputs(np.float32)}
    np.savez(sys.argv[1], isa=np.array(bionn._core.build_info()["isa"]), **result)
