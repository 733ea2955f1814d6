"""Runs fuzz cases against the public API in a child process and classifies every outcome.

``python api_fuzz_child.py OUT.jsonl PROGRESS --examples N [--seed S | --derandomize] --specs SPEC...``
(no ``--specs``: lists the spec names)

For each spec, hypothesis draws one or two of its arguments and a value for each (generic edge
values, the spec's own bad values, any integer, any float), calls it with the other arguments
valid, and records one of:

* ``ok``: a result (checked with the spec's ``check`` where it has one);
* ``clear``: ValueError/TypeError (or an OSError about a path) whose message names a fuzzed argument
  (or an alias, or the path it was given) and shows no C++ internals;
* ``unclear``: any other exception type, or a message that names none of the fuzzed arguments or
  leaks internals (pybind11 signature dumps, ``std::``, ``Dense_f32``, ...);
* ``violation``: a wrong result, or a rejected call that changed the model's state.

Before each call the case is written to PROGRESS, so the parent names the case when this process
dies (a crash) or is stopped by the per-case watchdog (``faulthandler``, a hang). One JSON line per
finished spec goes to OUT.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import math
import os
import sys
import time
import warnings
from typing import Any, Dict, List

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_fuzz_specs as specs_mod  # noqa: E402
from api_fuzz_specs import Fresh, Spec  # noqa: E402

CASE_TIMEOUT = float(os.environ.get("BIONN_FUZZ_CASE_TIMEOUT", "30"))

# Values tried for every argument: wrong types, boundaries of the C++ integer types, floats beyond
# float32/float64, non-finite numbers, odd containers and arrays.
GENERIC: List[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    7,
    2**31 - 1,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**31),
    -(2**63) - 1,
    10**18,
    10**400,
    -(10**400),
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.5,
    1e-300,
    3.5e38,
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    np.int64(3),
    np.uint64(2**64 - 1),
    np.float32(0.25),
    np.float64(np.nan),
    np.bool_(True),
    np.int8(-1),
    "",
    "abc",
    "0",
    b"x",
    [],
    [1],
    [1, 2],
    (1, 2, 3),
    [[1, 2], [3]],
    {},
    {"a": 1},
    object(),
    1 + 2j,
    np.zeros(0),
    np.zeros((2, 2)),
    np.ones((3, 6)),
    np.full((3, 6), np.nan),
    np.array([1 + 2j]),
    np.array(["a"]),
    np.array([None], dtype=object),
    np.zeros((1,) * 6),
    np.array(5),
    np.arange(6),
    lambda *a, **k: None,
    Ellipsis,
]

INTERNALS = (
    "incompatible function arguments",
    "incompatible constructor arguments",
    "Invoked with",
    "_f32",
    "_f64",
    "std::",
    "bad_alloc",
    "max_size",
    "Python int too large",
    "int too big",
    "object has no attribute",
    "is not iterable",
    "has no len()",
    "not supported between instances",
    "Cannot interpret",
    "not enough values to unpack",
    "index out of range",
    "pybind11",
)
CLEAR_TYPES = (ValueError, TypeError, KeyError)
PATH_TYPES = (OSError,)  # FileNotFoundError, IsADirectoryError, ENAMETOOLONG, ... naming the path


def short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array(shape={v.shape}, dtype={v.dtype})"
    if isinstance(v, (list, tuple)) and len(v) > 4:
        return f"{type(v).__name__}(len={len(v)})"
    if isinstance(v, Fresh):
        return f"Fresh({getattr(v.make, '__name__', '?')})"
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def resolve(v: Any) -> Any:
    return v.make() if isinstance(v, Fresh) else v


def cap_cost(spec: Spec, name: str, v: Any) -> Any:
    if name not in spec.cost or isinstance(v, (bool, np.bool_)):
        return v
    bound, limit = spec.cost[name]
    if (
        isinstance(v, (int, np.integer))
        and int(v) > bound
        and (limit is None and int(v) < 2**31 or limit is not None and int(v) <= limit)
    ):
        # a huge size is still fuzzed when it is past 2**31 (it must be refused, not allocated)
        return bound
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)) and float(v) > bound:
        return bound
    return v


def value_strategy(spec: Spec, name: str) -> st.SearchStrategy:
    options = [st.sampled_from(GENERIC), st.integers(), st.floats(allow_nan=True, allow_infinity=True)]
    if spec.bad.get(name):
        options.insert(0, st.sampled_from(list(spec.bad[name])))
    return st.one_of(*options)


def names_in(spec: Spec, fuzzed: Dict[str, Any]) -> List[str]:
    names = []
    for k, v in fuzzed.items():
        names.append(k)
        names.extend(spec.aliases.get(k, ()))
        if isinstance(v, (str, os.PathLike)):
            names.append(repr(os.fspath(v)))  # a message quoting the path (or name) it was given
            if len(os.fspath(v)) > 2:
                names.append(os.fspath(v))
            elif os.fspath(v):
                names.append(os.fspath(v) + ":")  # "0: bad IDX magic number ..."
    return names


def classify_error(spec: Spec, fuzzed: Dict[str, Any], exc: BaseException) -> str:
    msg = str(exc)
    if any(token in msg for token in INTERNALS) or type(exc).__name__ in ("OverflowError", "MemoryError"):
        return "unclear"
    if isinstance(exc, CLEAR_TYPES + PATH_TYPES):
        if isinstance(exc, PATH_TYPES) and getattr(exc, "filename", None):
            return "clear"  # names the file it could not open
        if any(n and n in msg for n in names_in(spec, fuzzed)):
            return "clear"
    return "unclear"


def same_state(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def run_spec(spec: Spec, examples: int, derandomize: bool, seed_value: int, progress: str) -> Dict[str, Any]:
    counts = dict(cases=0, ok=0, clear=0, unclear=0, violation=0)
    findings: List[Dict[str, Any]] = []
    names = spec.fuzzed

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(data=st.data())
    def case(data: Any) -> None:
        chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(2, len(names)), unique=True))
        fuzzed = {k: cap_cost(spec, k, data.draw(value_strategy(spec, k), label=k)) for k in chosen}
        fuzzed = {k: resolve(v) for k, v in fuzzed.items()}
        args = {k: resolve(v) for k, v in spec.valid.items()}
        args.update(fuzzed)
        desc = {k: short(v) for k, v in fuzzed.items()}
        with open(progress, "w") as fh:
            json.dump(dict(spec=spec.name, fuzzed=desc), fh)
        before = spec.state(args) if spec.state else None
        counts["cases"] += 1
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = spec.fn(**args)
        except specs_mod._ForwardRefused:
            counts["ok"] += 1
            return
        except AssertionError as exc:
            counts["violation"] += 1
            findings.append(dict(kind="violation", spec=spec.name, fuzzed=desc, error=f"AssertionError: {exc}"))
            return
        except Exception as exc:  # noqa: BLE001 - every exception is classified
            kind = classify_error(spec, fuzzed, exc)
            counts[kind] += 1
            if kind == "unclear":
                findings.append(
                    dict(kind=kind, spec=spec.name, fuzzed=desc, error=f"{type(exc).__name__}: {exc}"[:400])
                )
            if before is not None and not same_state(before, spec.state(args)):
                counts["violation"] += 1
                findings.append(
                    dict(kind="violation", spec=spec.name, fuzzed=desc, error="rejected call changed state")
                )
            return
        finally:
            faulthandler.cancel_dump_traceback_later()
        try:
            if spec.check is not None:
                spec.check(result, args)
            counts["ok"] += 1
        except AssertionError as exc:
            counts["violation"] += 1
            findings.append(dict(kind="violation", spec=spec.name, fuzzed=desc, error=f"wrong result: {exc}"))

    if not derandomize:
        case = seed(seed_value)(case)
    case()
    return dict(spec=spec.name, **counts, findings=findings)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("progress")
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--derandomize", action="store_true")
    ap.add_argument("--specs", nargs="*", default=[])
    a = ap.parse_args()
    faulthandler.enable()
    os.chdir(specs_mod._TMP)  # a relative path the cases write to ("0", "abc") lands in the temp folder
    all_specs = specs_mod.all_specs()
    if not a.specs:
        print("\n".join(all_specs))
        return
    for name in a.specs:
        t0 = time.process_time()
        res = run_spec(all_specs[name], a.examples, a.derandomize, a.seed, a.progress)
        res["cpu_s"] = round(time.process_time() - t0, 3)
        with open(a.out, "a") as fh:
            fh.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
