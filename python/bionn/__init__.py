"""bionn: bio-inspired neural-network mechanisms with a fast C++ core.

Submodules: :mod:`bionn.nn` (layers, Sequential), :mod:`bionn.losses`, :mod:`bionn.optim`,
:mod:`bionn.callbacks`, :mod:`bionn.datasets`, :mod:`bionn.metrics`,
:mod:`bionn.experiments` (seed sweeps, statistics, paper claims), :mod:`bionn.plot` (matplotlib),
:mod:`bionn.papers` (each paper's claims, registered on import).
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


from . import attacks, callbacks, corruptions, datasets, experiments, losses, metrics, nn, optim, plot, selforg  # noqa: E402

# The mechanism modules lived at the top level before bionn.nn was a package; the old paths
# (``bionn.focus``, ``from bionn.neglu import MixLU``) keep working for one release.
import sys as _sys  # noqa: E402

_MOVED_TO_NN = ("focus", "amplifying", "flexible", "neglu")
for _name in _MOVED_TO_NN:
    _sys.modules[f"{__name__}.{_name}"] = getattr(nn, _name)
del _name


def __getattr__(name: str) -> object:
    if name in _MOVED_TO_NN:
        return getattr(nn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Last: each paper module imports bionn.experiments and registers its claims (papers -> experiments,
# never back), so `import bionn` makes every paper's claims visible to bionn.experiments.claims().
from . import papers  # noqa: E402

__all__ = ["nn", "optim", "losses", "callbacks", "datasets", "experiments", "metrics", "plot", "attacks", "corruptions", "selforg", "papers", "set_num_threads", "get_num_threads", "manual_seed",
           "__version__"]
