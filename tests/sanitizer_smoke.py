"""A short tour of the compiled core for the sanitizer build (``.ci/run``, issue 15).

Run with the ASan + UBSan extension first on ``PYTHONPATH`` and the ASan runtime preloaded::

    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \\
        PYTHONPATH=build/ci-asan/python python tests/sanitizer_smoke.py

Every mechanism builds, trains a few steps, predicts, computes input gradients and round-trips
through a file; the attacks, corruptions and the self-organizing network run once; then a few
derandomised API fuzz cases per entry point run in a child process (under the same runtime, as it
inherits the environment). Any sanitizer report aborts the process (``-fno-sanitize-recover``),
so a zero exit status is the pass.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import bionn
from bionn import attacks, corruptions, losses, nn, optim, selforg

HERE = os.path.dirname(os.path.abspath(__file__))


def tour(tmp: str) -> None:
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        X = rng.random((24, 2, 6, 6)).astype(dtype)
        y = np.arange(24) % 3
        model = nn.Sequential(
            [
                nn.FlexibleConv2d(2, 2, 3, input_size=(6, 6), padding=1, dtype=dtype),
                nn.BatchNorm2d(2, dtype=dtype),
                nn.MaxPool2d(2, dtype=dtype),
                nn.Flatten(dtype=dtype),
                nn.FocusDense(18, 12, dtype=dtype),
                nn.MixLU(12, fraction=0.5, seed=0, dtype=dtype),
                nn.Dropout(0.2, dtype=dtype),
                nn.Dense(12, 8, dtype=dtype),
                nn.SecondaryActivation(8, amplifying=[1], attenuating=[2], dtype=dtype),
                nn.Dense(8, 3, dtype=dtype),
            ],
            seed=1,
        )
        opt = optim.Adam(model.parameters(), lr=1e-2)
        model.fit(X, y, loss=losses.CrossEntropy(), optimizer=opt, epochs=2, batch_size=5, validation_data=(X, y))
        assert np.isfinite(model.predict(X)).all()
        assert np.isfinite(model.input_gradient(X[:4], y[:4], losses.CrossEntropy())).all()
        path = os.path.join(tmp, f"model-{np.dtype(dtype).name}.bionn")
        model.save(path)
        np.testing.assert_array_equal(nn.load(path).predict(X), model.predict(X))
        adv = attacks.pgd(model, X[:6], y[:6], eps=0.1, alpha=0.03, steps=3)
        assert adv.shape == X[:6].shape
        attacks.fgsm(model, X[:6], y[:6], eps=0.1)
    focus2d = nn.Sequential([nn.FocusDense2D(4, 4, 3, anisotropic=True), nn.NegLU(), nn.Dense(3, 2)], seed=0)
    focus2d.fit(
        rng.random((8, 16)), np.arange(8) % 2, loss=losses.CrossEntropy(), optimizer=optim.SGD(focus2d.parameters())
    )
    images = rng.random((2, 3, 16, 16)).astype(np.float32)
    for name in corruptions.CORRUPTIONS:
        corruptions.corrupt(images, name, 3, seed=0)
    net = selforg.SelfOrganizingNetwork(selforg.Topology.random(0), seed=0, batch_size=8, entropy_samples=16)
    net.fit(rng.random((16, 20, 20)).astype(np.float32), epochs=1)
    selforg.MetaLearner(seed=0).run(net, rng.random((8, 20, 20)).astype(np.float32), 1)
    net.save(os.path.join(tmp, "son.bionn"))
    selforg.load(os.path.join(tmp, "son.bionn")).transform(rng.random((4, 20, 20)).astype(np.float32))
    bionn.set_num_threads(2)
    model.predict(X)  # the OpenMP kernels with two threads
    bionn.set_num_threads(1)


def fuzz_cases(tmp: str, examples: int) -> None:
    sys.path.insert(0, os.path.join(HERE, "python"))
    import test_api_fuzz

    report = test_api_fuzz.campaign(test_api_fuzz.SPECS, examples, seed=None, workdir=tmp)
    print("api fuzz under the sanitizers:", report["totals"])
    test_api_fuzz.assert_clean(report)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        tour(tmp)
        print("sanitizer smoke: the tour ran clean")
        fuzz_cases(tmp, int(os.environ.get("BIONN_SANITIZER_FUZZ_EXAMPLES", "2")))
