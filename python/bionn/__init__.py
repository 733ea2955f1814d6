"""bionn: bio-inspired neural-network mechanisms with a fast C++ core.

Submodules: :mod:`bionn.nn` (layers, Sequential), :mod:`bionn.losses`, :mod:`bionn.optim`,
:mod:`bionn.callbacks`, :mod:`bionn.data` (data sets, data-file lookup, transforms), :mod:`bionn.metrics`,
:mod:`bionn.experiments` (seed sweeps, statistics, paper claims), :mod:`bionn.plot` (matplotlib).
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import _core
from ._validation import check_int as _check_int


def set_num_threads(n: int) -> None:
    """Threads used by the C++ kernels and GEMM (OpenMP). Results are reproducible per thread count."""
    _core.set_num_threads(_check_int(n, "n", minimum=1))


def get_num_threads() -> int:
    return int(_core.get_num_threads())


def manual_seed(seed: int) -> None:
    """Seeds the global generator that initialises layers built outside ``Sequential(seed=...)``
    and draws the seeds of models built without one."""
    _core.manual_seed(_check_int(seed, "seed", minimum=0))


from . import attacks, callbacks, corruptions, data, experiments, losses, metrics, nn, optim, plot, selforg  # noqa: E402

__all__ = ["nn", "optim", "losses", "callbacks", "data", "experiments", "metrics", "plot", "attacks", "corruptions", "selforg", "set_num_threads", "get_num_threads", "manual_seed",
           "__version__"]


def __getattr__(name: str):
    # bionn.datasets is the deprecated alias of bionn.data: imported (and warning) only on use.
    if name == "datasets":
        import importlib

        return importlib.import_module(".datasets", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
