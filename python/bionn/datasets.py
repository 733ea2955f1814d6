"""Deprecated alias of :mod:`bionn.data` (kept for one release).

``from bionn import datasets`` and ``import bionn.datasets`` still work and give every public
name of :mod:`bionn.data`, with a :class:`DeprecationWarning`: use ``from bionn import data``.
"""

from __future__ import annotations

import sys
import warnings

from . import data as _data

__all__ = list(_data.__all__)
globals().update({_name: getattr(_data, _name) for _name in __all__})  # the public API


def _caller_stacklevel() -> int:
    """``stacklevel`` pointing the warning at the user's import statement: past bionn's package
    ``__getattr__`` and :func:`importlib.import_module` (:func:`warnings.warn` itself skips the
    frames of the import machinery, ``importlib._bootstrap``, without counting them)."""
    level, frame = 1, sys._getframe(2)  # level 1 is this module's body
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if not ("importlib" in name and "_bootstrap" in name):
            level += 1
            if not name.endswith(("bionn/__init__.py", "importlib/__init__.py")):
                return level
        frame = frame.f_back
    return 1


warnings.warn(
    "bionn.datasets is deprecated and will be removed in the next release; use "
    "bionn.data (same names: from bionn import data; data.load_mnist(...))",
    DeprecationWarning,
    stacklevel=_caller_stacklevel(),
)


def __getattr__(name: str):
    return getattr(_data, name)
