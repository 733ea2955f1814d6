#!/usr/bin/env python
"""Smoke test of an installed bionn (a wheel in a fresh venv): import, show_config, the build of the
core that was loaded, every build this CPU runs, a tiny fit, save/load. Needs numpy only.

    python tools/wheel_smoke.py        # run from outside the source tree, e.g. in CI or cibuildwheel

Exits non-zero on the first failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    import bionn
    from bionn import _isa, losses, nn, optim

    where = Path(bionn.__file__).resolve().parent
    print(f"bionn {bionn.__version__} from {where}")
    bionn.show_config()
    state = _isa.state()
    info = bionn._core.build_info()
    assert info["isa"] == state["chosen"], (info, state)
    if state["built"] and state["built"][0] in _isa.LEVELS:
        # One module per level, the best this CPU supports loaded, every one it supports importable.
        expected = _isa.choose(state["built"], state["cpu"], _isa.parse_cap(os.environ.get(_isa.ENV)))
        assert info["isa"] == expected, (info["isa"], expected)
        cpu = _isa.LEVELS.index(state["cpu"])
        for level in state["built"]:
            if _isa.LEVELS.index(level) > cpu:
                print(f"  {level}: not run (the CPU supports {state['cpu']})")
                continue
            code = "import bionn; print(bionn._core.build_info()['isa'])"
            env = dict(os.environ, BIONN_ISA=level)
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            assert out.stdout.strip() == level, (level, out.stdout, out.stderr)
            print(f"  {level}: imports")

    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 1, 8, 8)).astype(np.float32)
    y = (X.reshape(256, -1)[:, :32].sum(axis=1) > 0).astype(np.int64)
    model = nn.Sequential(
        [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.FocusDense(144, 16), nn.ReLU(), nn.Dense(16, 2)], seed=0
    )
    opt = optim.Adam(model.parameters(), lr=1e-2)
    history = model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=5, batch_size=32, verbose=0)
    accuracy = model.evaluate(X, y, losses.CrossEntropy())["accuracy"]
    print(f"tiny fit: loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}, accuracy {accuracy:.3f}")
    assert history["loss"][-1] < history["loss"][0] and accuracy > 0.7
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        model.save(path)
        loaded = nn.load(path)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    print("save/load: identical predictions")
    print("wheel smoke test passed")


if __name__ == "__main__":
    main()
