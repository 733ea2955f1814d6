"""Fixtures shared by the whole Python suite.

Helper modules beside this file (``gradcheck``, ``interrupt_child``) are importable from every test
directory: pytest puts the directory of a rootdir ``conftest.py`` on ``sys.path``.

Data sets are named once here. A test that needs one takes the fixture and is skipped, with the
reason and the fix, when the files are absent; a skip is never a pass of a reproduction claim
(those are checked by ``bionn reproduce``, which reports SKIP separately).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
import pytest

from bionn import data


def pytest_collection_modifyitems(config, items):
    """The long fuzz campaign (``@pytest.mark.fuzz``) runs only when a ``-m`` expression names it
    (``pytest -m fuzz``); ``pytest -q`` and ``pytest -m "not repro"`` skip it, and run the derandomised
    CI subset of the same fuzz tests (unmarked) as usual."""
    if "fuzz" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="the long fuzz campaign; run it with pytest -m fuzz")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)


FASHION_HINT = "apt-get install dataset-fashion-mnist, or set BIONN_DATA to a folder holding the IDX files"
SAMPLE_HINT = "the project's shared data (../shared/data/mnist-sample-10k) or BIONN_DATA"


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator seeded with 0 (a fresh one per test)."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def torch():
    """PyTorch for parity checks; the test is skipped where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def fashion_mnist() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The official Fashion-MNIST split as ``(X_train, y_train, X_test, y_test)``, 60k + 10k images
    of shape (1, 28, 28) in [0, 1]."""
    try:
        X_train, y_train = data.load_fashion_mnist(split="train")
        X_test, y_test = data.load_fashion_mnist(split="test")
    except FileNotFoundError as exc:
        pytest.skip(f"Fashion-MNIST not available ({FASHION_HINT}): {str(exc).splitlines()[0]}")
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="session")
def mnist_sample() -> Tuple[np.ndarray, np.ndarray]:
    """The project's 10,000-digit MNIST sample ``(X, y)``, sorted by label."""
    try:
        return data.load_mnist_sample()
    except FileNotFoundError as exc:
        pytest.skip(f"MNIST sample not available ({SAMPLE_HINT}): {str(exc).splitlines()[0]}")
