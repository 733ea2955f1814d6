"""bionn: bio-inspired neural-network mechanisms with a fast C++ core.

Subpackages and modules, bottom to top: :mod:`bionn.io` (the one file format),
:mod:`bionn.data` (data sets, the data-file lookup, transforms, the papers' generators),
:mod:`bionn.nn` (layers, Sequential), :mod:`bionn.losses`, :mod:`bionn.optim`,
:mod:`bionn.callbacks`, :mod:`bionn.metrics`, :mod:`bionn.attacks`, :mod:`bionn.corruptions`,
:mod:`bionn.selforg` (the self-organizing network), :mod:`bionn.experiments` (seed sweeps,
statistics, the claim registry), :mod:`bionn.plot` (matplotlib), :mod:`bionn.papers` (each paper's
protocols and claims, registered on import).
"""

from __future__ import annotations

__version__ = "0.1.0"

import sys as _sys
from typing import Any

from . import _isa

# The best build of the C++ core this CPU runs (x86-64-v2/-v3/-v4; BIONN_ISA caps it), loaded as
# bionn._core before any module imports it.
_core = _isa.load()
from ._blas import get_blas, set_blas  # noqa: E402
from ._blas import init_from_env as _init_blas  # noqa: E402

_init_blas()  # BIONN_BLAS, default "auto": OpenBLAS when scipy-openblas32 is installed, else Eigen
from ._sysinfo import OversubscriptionWarning, show_config  # noqa: E402
from ._validation import check_int as _check_int  # noqa: E402

MAX_THREADS = 4096  # more than any machine bionn runs on has cores; a C++ int, checked before OpenMP sees it


def set_num_threads(n: int) -> None:
    """Threads used by the C++ kernels and GEMM (OpenMP). Results are reproducible per thread count.

    More threads than the process can get CPU time for (a busy machine, a CPU quota) make training
    slower, not faster: ``Sequential.fit`` then warns (:class:`OversubscriptionWarning`), and
    :func:`show_config` shows the CPU budget."""
    _core.set_num_threads(_check_int(n, "n", minimum=1, maximum=MAX_THREADS))


def get_num_threads() -> int:
    """Threads the C++ kernels use."""
    return int(_core.get_num_threads())


def manual_seed(seed: int) -> None:
    """Seeds the global generator that initialises layers built outside ``Sequential(seed=...)``
    and draws the seeds of models built without one."""
    _core.manual_seed(_check_int(seed, "seed", minimum=0, maximum=2**64 - 1))


# Last: each paper module imports bionn.experiments and registers its claims (papers -> experiments,
# never back), so `import bionn` makes every paper's claims visible to bionn.experiments.claims().
from . import (  # noqa: E402
    attacks,
    callbacks,
    corruptions,
    data,
    experiments,
    losses,
    metrics,
    nn,
    optim,
    papers,  # noqa: E402
    plot,
    selforg,
)

__all__ = [
    "nn",
    "optim",
    "losses",
    "callbacks",
    "data",
    "experiments",
    "metrics",
    "plot",
    "attacks",
    "corruptions",
    "selforg",
    "papers",
    "set_num_threads",
    "get_num_threads",
    "set_blas",
    "get_blas",
    "manual_seed",
    "show_config",
    "OversubscriptionWarning",
    "__version__",
]

# Old paths, kept for one release: the mechanism modules lived at the top level before bionn.nn was
# a package (``bionn.focus``, ``from bionn.neglu import MixLU``), and ``bionn.datasets`` is the
# deprecated alias of ``bionn.data`` (imported, and warning, only on use).
_MOVED_TO_NN = ("focus", "amplifying", "flexible", "neglu")
for _name in _MOVED_TO_NN:
    _sys.modules[f"{__name__}.{_name}"] = getattr(nn, _name)
del _name


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_NN:
        return getattr(nn, name)
    if name == "datasets":
        import importlib

        return importlib.import_module(".datasets", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
