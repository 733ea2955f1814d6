"""The GEMM behind every dense, convolutional and focusing layer: Eigen (built in, the portable
default) or a CBLAS library opened at run time, such as OpenBLAS from the ``scipy-openblas32``
wheel (``pip install bionn[blas]``).

Only the single-threaded products change hands: bionn still cuts each GEMM into one block per
OpenMP thread and asks the library to run each block on the calling thread, so results depend on
the sizes and :func:`bionn.set_num_threads` only, as with Eigen (but the bits differ between
backends). The choice is read from ``BIONN_BLAS`` at import (default ``"auto"``) and written back
there by :func:`set_blas`, so worker processes started afterwards (``repeat(...,
backend="processes")``) use the same one.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Optional

from . import _core

ENV = "BIONN_BLAS"
BACKENDS = ("auto", "eigen", "openblas")


def _openblas32() -> Optional[Any]:
    """The ``scipy_openblas32`` module when it is installed, else None."""
    try:
        import scipy_openblas32
    except ImportError:
        return None
    return scipy_openblas32


def _openblas32_path(module: Any) -> str:
    return os.path.join(module.get_lib_dir(), module.get_library(fullname=True))


def set_blas(backend: str = "auto") -> str:
    """Chooses the library that computes bionn's matrix products.

    Parameters
    ----------
    backend : str
        ``"eigen"``: Eigen's GEMM, compiled in (always available). ``"openblas"``: OpenBLAS from
        the ``scipy-openblas32`` package (``pip install bionn[blas]``); ImportError if it is not
        installed. ``"auto"`` (the default at import): ``"openblas"`` when that package is
        installed, else ``"eigen"``. Anything else is taken as the path of a shared library that
        exports ``cblas_sgemm`` and ``cblas_dgemm`` with 32-bit integers (LP64), e.g. a system
        OpenBLAS or BLIS; opening it runs its code, so pass only libraries you trust.

    Returns
    -------
    str
        The backend now in use, as :func:`get_blas` names it.

    Raises
    ------
    TypeError
        ``backend`` is not a str.
    ImportError
        ``"openblas"`` without the ``scipy-openblas32`` package.
    RuntimeError
        The library cannot be opened, lacks the symbols, or fails a test product; the backend in
        use is then unchanged.

    Notes
    -----
    Call it before training, not while another thread is in a bionn call. Products take the library
    above a small size (2**15 multiply-adds) and when their operands are dense views; the others
    stay with Eigen either way.
    """
    if not isinstance(backend, str):
        raise TypeError(
            f"backend must be a str ('auto', 'eigen', 'openblas' or a library path), got {type(backend).__name__}"
        )
    if backend == "" or "\0" in backend:
        raise ValueError(f"backend must be 'auto', 'eigen', 'openblas' or a library path, got {backend!r}")
    if backend == "auto":
        chosen = "openblas" if _openblas32() is not None else "eigen"
    else:
        chosen = backend
    if chosen == "eigen":
        _core.blas_unload()
    elif chosen == "openblas":
        module = _openblas32()
        if module is None:
            raise ImportError("set_blas('openblas') needs the scipy-openblas32 package: pip install bionn[blas]")
        _core.blas_load(_openblas32_path(module))
    else:
        if not os.path.isfile(chosen):
            raise RuntimeError(f"set_blas: {chosen!r} is not 'auto', 'eigen', 'openblas' or an existing library file")
        _core.blas_load(os.path.abspath(chosen))
    os.environ[ENV] = backend
    return get_blas()


def get_blas() -> str:
    """The GEMM backend in use: ``"eigen"``, ``"openblas"`` (the ``scipy-openblas32`` package) or
    the path of the library passed to :func:`set_blas`."""
    path = _core.blas_path()
    if not path:
        return "eigen"
    module = _openblas32()
    if module is not None and os.path.realpath(path) == os.path.realpath(_openblas32_path(module)):
        return "openblas"
    return str(path)


def blas_info() -> Dict[str, Any]:
    """The backend, its library file and version (for :func:`bionn.show_config` and run records)."""
    name = get_blas()
    info: Dict[str, Any] = {"backend": name, "library": _core.blas_path() or None, "version": None}
    if name == "openblas":
        module = _openblas32()
        try:
            info["version"] = str(module.get_openblas_config()).strip()  # type: ignore[union-attr]
        except Exception:  # pragma: no cover - an older scipy-openblas32
            info["version"] = getattr(module, "__version__", None)
    return info


def gemm_label() -> str:
    """A short name of the backend for run records: ``"eigen"``, ``"openblas <version>"`` or the
    library's file name."""
    info = blas_info()
    if info["backend"] == "eigen":
        return "eigen"
    if info["backend"] == "openblas":
        version = info["version"] or ""
        parts = version.split()
        return f"openblas {parts[1]}" if len(parts) > 1 and parts[0] == "OpenBLAS" else "openblas"
    return os.path.basename(str(info["library"]))


def init_from_env() -> None:
    """Applies ``BIONN_BLAS`` (default ``"auto"``) at import. A value that cannot be used warns
    and leaves Eigen in place rather than failing ``import bionn``."""
    backend = os.environ.get(ENV, "auto")
    try:
        set_blas(backend)
    except (ImportError, RuntimeError, ValueError) as exc:
        _core.blas_unload()
        warnings.warn(
            f"{ENV}={backend!r} cannot be used ({exc}); bionn uses Eigen's GEMM", RuntimeWarning, stacklevel=3
        )
