"""Input validation shared by the Python API.

Every public entry point converts its arrays exactly once, here, to a C-contiguous array of the
model's dtype, and rejects what the C++ core must never see (wrong dtype kinds, NaN/Inf, empty or
oversized arrays) with an exception that names the argument.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np

_REAL_KINDS = "biuf"  # bool, signed/unsigned integer, floating


def as_array(
    value: Any,
    name: str,
    dtype: np.dtype,
    *,
    min_ndim: int = 1,
    max_ndim: int = 4,
    allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Convert `value` to a C-contiguous array of `dtype`, validating it on the way."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}")
    if not (min_ndim <= arr.ndim <= max_ndim):
        raise ValueError(f"{name} must have {min_ndim} to {max_ndim} dimensions, got {arr.ndim} (shape {arr.shape})")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    with np.errstate(over="ignore"):  # values too large for dtype become inf and are reported below
        out = np.ascontiguousarray(arr, dtype=dtype)
    if finite and out.size:
        bad = _count_nonfinite(out)
        if bad:
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s) (as {np.dtype(dtype).name})")
    return out


_FINITE_CHUNK = 1 << 18  # elements per isfinite pass: a 256 KiB mask instead of one the size of the data


def _count_nonfinite(arr: np.ndarray) -> int:
    """How many elements of ``arr`` (C-contiguous) are NaN or infinite, checked chunk by chunk so the
    temporary mask stays small (a 60,000-image training set would otherwise need a mask of ~47 MB)."""
    if arr.dtype.kind not in "fc":
        return 0
    flat = arr.reshape(-1)
    bad = 0
    for start in range(0, flat.size, _FINITE_CHUNK):
        ok = np.isfinite(flat[start : start + _FINITE_CHUNK])
        if not ok.all():
            bad += int(ok.size - np.count_nonzero(ok))
    return bad


def as_labels(value: Any, name: str, n: int, dtype: np.dtype, x_name: str = "X") -> np.ndarray:
    """Integer class labels of shape (n,), stored in the model's float dtype for the core
    (``x_name`` names the inputs they must match)."""
    arr = as_ndarray(value, name)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} labels but {x_name} has {n} samples")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole-number class labels")
    if arr.size and float(arr.min()) < 0:
        raise ValueError(f"{name} has a negative label ({arr.min()})")
    if arr.size and float(arr.max()) >= 2**24:
        raise ValueError(f"{name} has a label >= 2**24, which the core cannot represent exactly")
    return np.ascontiguousarray(arr, dtype=dtype)


INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
PTRDIFF_MAX = INT64_MAX  # the largest object the C++ core (64-bit) can index


def check_int(value: Any, name: str, *, minimum: Optional[int] = None, maximum: Optional[int] = INT64_MAX) -> int:
    """``value`` as a Python int, rejected (naming ``name``) outside ``[minimum, maximum]``.

    ``maximum`` defaults to the C++ ``int64_t`` range every size and count is passed as, so a
    value the core cannot hold is a ValueError here rather than a pybind11 signature dump; pass
    :data:`INT32_MAX` for a C++ ``int`` and :data:`UINT64_MAX` for a ``uint64_t`` seed, or ``None``
    for a value that never reaches C++.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if minimum is None and maximum is not None and value < INT64_MIN:
        raise ValueError(f"{name} must be >= {INT64_MIN}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed for the C++ core: an integer in ``[0, 2**64)``."""
    return check_int(value, name, minimum=0, maximum=UINT64_MAX)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        raise ValueError(f"{name} must be finite, got an integer too large for a float") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (not min_inclusive and value == minimum)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (not max_inclusive and value == maximum)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` lower-cased, which must be one of ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str (one of {', '.join(map(repr, choices))}), got {type(value).__name__}")
    low = value.lower()
    if low not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return low


def pair(value: Any, name: str, minimum: Optional[int] = None, *, scalar: bool = True) -> Tuple[int, int]:
    """Two integers ``(a, b)`` from a length-2 sequence, or from one int ``v`` as ``(v, v)`` when
    ``scalar`` is true (kernel sizes, crop sizes, paddings, grid positions).

    Each element is checked with :func:`check_int` (errors name ``name[0]`` / ``name[1]``).
    Raises TypeError for anything that is neither, ValueError for a sequence whose length is not
    2 or a value below ``minimum``.
    """
    what = "an int or a pair of ints" if scalar else "a pair of ints"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    try:
        length = None if isinstance(value, (str, bytes, dict, set, frozenset)) else len(value)
    except TypeError:  # no len(): a scalar (or a 0-d array)
        if scalar:
            v = check_int(value, name, minimum=minimum)
            return v, v
        length = None
    if length is None:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    if length != 2:
        raise ValueError(f"{name} must be {what}, got {length} values {value!r}")
    return (check_int(value[0], f"{name}[0]", minimum=minimum), check_int(value[1], f"{name}[1]", minimum=minimum))


def as_ndarray(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array, dtype kept and an ndarray returned as is (no copy, no check of
    the values; see :func:`check_numeric`, :func:`check_finite`)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a NumPy array, got {type(value).__name__}")
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like: {exc}") from None


def check_numeric(arr: np.ndarray, name: str) -> np.ndarray:
    """Reject arrays whose dtype is not integer or real floating (bool, complex, object, str)."""
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must have an integer or real floating dtype, got {arr.dtype}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Reject floating arrays holding NaN or infinities."""
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_integer_labels(value: Any, name: str, n: Optional[int] = None, x_name: str = "X") -> np.ndarray:
    """1-D array of integer class labels, dtype kept (unlike :func:`as_labels`, which converts to
    the model's float dtype); ``n`` is the number of samples they must match."""
    arr = as_ndarray(value, name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} labels but {x_name} has {n} samples")
    return arr


def as_generator(rng: Any, name: str) -> np.random.Generator:
    """A NumPy Generator from a Generator (returned as is), a SeedSequence or a non-negative int."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative seed, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an int seed, got "
        f"{type(rng).__name__} (e.g. pass {name}=np.random.default_rng(0))"
    )


@contextlib.contextmanager
def core_errors(inputs: str, labels: Optional[str] = None, model: str = "the model") -> Iterator[None]:
    """Names the argument behind a ValueError from the core.

    The core checks an input against the first layer ("Dense: input has 5 features, expected 6")
    and labels against the outputs ("CrossEntropy: label 3 ... is not an integer in [0, 3)"); the
    error is re-raised naming ``inputs`` or ``labels``, the arguments the arrays came from."""
    try:
        yield
    except ValueError as exc:
        msg = str(exc)
        if labels is not None and "label" in msg and not msg.startswith(labels):
            raise ValueError(f"{labels} does not fit {model}: {msg}") from None
        if "input" in msg and not msg.startswith(inputs):
            raise ValueError(f"{inputs} does not fit {model}: {msg}") from None
        raise


def as_list(value: Any, name: str, what: str = "a sequence") -> list:
    """``list(value)`` for a list, tuple, range, set or 1-D array; TypeError naming ``name`` for
    anything else (a str is not taken as a sequence of characters, nor a number as nothing)."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if not isinstance(value, (list, tuple, range, set, frozenset)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}"[:300])
    return list(value)


def check_path(value: Any, name: str = "path") -> str:
    """A file-system path (str or os.PathLike) as a str, rejected naming ``name`` otherwise."""
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(value).__name__}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a str or os.PathLike of str, got {type(path).__name__}")
    if "\0" in path:
        raise ValueError(f"{name} contains a NUL character: {path!r}")
    if not path:
        raise ValueError(f"{name} is empty")
    return path


def check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except Exception:  # numpy's own message ("Cannot interpret 3 as a data type") names no argument
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def suffix(dtype: np.dtype) -> str:
    return "_f32" if np.dtype(dtype) == np.float32 else "_f64"


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX: only the 64-bit bound applies
        return PTRDIFF_MAX


MAX_BYTES_ENV = "BIONN_MAX_BYTES"


def memory_limit() -> int:
    """The most bytes one tensor may take: this machine's physical memory, lowered by the
    environment variable ``BIONN_MAX_BYTES`` when it is set to a positive integer (the C++ core
    reads the same variable, so both sides refuse the same sizes)."""
    limit = min(_physical_memory(), PTRDIFF_MAX)
    cap = os.environ.get(MAX_BYTES_ENV, "").strip()
    if cap:
        try:
            value = int(cap)
        except ValueError:
            raise ValueError(f"${MAX_BYTES_ENV} must be a positive integer (bytes), got {cap!r}") from None
        if value > 0:
            limit = min(limit, value)
    return limit


def check_size(what: str, count: int, itemsize: int) -> None:
    """Refuses, before anything is allocated, a tensor of ``count`` elements of ``itemsize`` bytes
    whose size overflows the C++ index type (``PTRDIFF_MAX`` bytes) or exceeds :func:`memory_limit`.

    ``count`` is a Python int (exact, so the product cannot wrap); ``what`` names the arguments it
    came from, e.g. ``"in_features * out_features"``. Raises ValueError naming them, the element
    count and the bytes needed.
    """
    count = int(count)
    nbytes = count * int(itemsize)
    if nbytes > PTRDIFF_MAX:
        raise ValueError(
            f"{what} = {count} elements need {nbytes} bytes, more than a 64-bit program can address "
            f"({PTRDIFF_MAX} bytes)"
        )
    limit = memory_limit()
    if nbytes > limit:
        raise ValueError(
            f"{what} = {count} elements need {nbytes} bytes ({nbytes / 2**30:.3g} GiB), more than the "
            f"{limit} bytes ({limit / 2**30:.3g} GiB) this machine allows (physical memory, or ${MAX_BYTES_ENV})"
        )
