"""The registry of paper claims: :class:`Claim`, :func:`register_claim`, :func:`run_claims`.

A :class:`Claim` is one checkable statement of a paper ("MLP beats a linear model, p < 0.05";
"test accuracy >= 0.98"). Its ``compute(mode)`` function really trains the models and returns bionn's
value; :func:`run_claims` computes a paper's claims and compares each with the paper's value.

The registry knows no paper: the modules of :mod:`bionn.papers` import this one and call
:func:`register_claim` when they are imported, and ``import bionn`` imports :mod:`bionn.papers`
(after :mod:`bionn.experiments`), so :func:`claims` lists every paper's claims. The dependency
points one way only: papers -> experiments.

"""

from __future__ import annotations

import inspect
import math
import numbers
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union, overload

import numpy as np

from .sweep import BACKENDS

__all__ = [
    "Claim",
    "ClaimSkipped",
    "register_claim",
    "unregister_claim",
    "claims",
    "get_claim",
    "papers",
    "evaluate_claim",
    "run_claims",
    "MODES",
    "COMPARISONS",
]

MODES = ("quick", "full")
COMPARISONS = (">=", "<=", "within", "significant")


class ClaimSkipped(Exception):
    """Raised by a claim's ``compute`` when it cannot run here for a reason outside bionn (e.g. the
    CIFAR-10 files are absent); the message says why and how to enable it. The claim is reported as
    skipped, neither passed nor failed."""


@dataclass
class Claim:
    """One checkable statement of a paper, and the code that checks it with bionn.

    Parameters
    ----------
    id : str
        Unique over all papers, e.g. ``"demo.mlp_beats_linear"``.
    paper : str
        Paper key (``bionn reproduce <paper>``), e.g. ``"demo"``.
    where : str
        Where the paper states it, e.g. ``"Table 2"`` or ``"Fig. 3b"``.
    description : str
        The claim in one line.
    paper_value : float or str
        The paper's number for ``">="``, ``"<="`` and ``"within"``; for ``"significant"`` any
        JSON-serialisable description (e.g. ``"p < 0.05"``).
    compare : {">=", "<=", "within", "significant"}
        ``">="``: passes when ``bionn_value >= paper_value - slack``; ``"<="``: when
        ``bionn_value <= paper_value + slack``; ``"within"``: when
        ``|bionn_value - paper_value| <= slack``; ``"significant"``: ``bionn_value`` is a p-value and
        the claim passes when it is below ``alpha``. ``slack`` is ``tolerance`` (0 if unset), times
        ``|paper_value|`` when ``relative``.
    compute : callable
        ``compute(mode)`` with mode ``"quick"`` or ``"full"``; it may also accept any of the keyword
        arguments ``backend``, ``address``, ``n_workers`` (passed on from :func:`run_claims` when it
        does). Returns the bionn value, or ``(value, info)`` with ``info`` a JSON-serialisable dict
        (e.g. the means behind a p-value). It must really train: no stored results.
    tolerance : float, optional
        Required for ``"within"``.
    relative : bool
        ``tolerance`` is a fraction of ``|paper_value|``.
    alpha : float
        Significance level for ``"significant"``.
    quick_note : str
        What quick mode cuts (seeds, epochs, data), shown by ``bionn reproduce --list``.
    """

    id: str
    paper: str
    where: str
    description: str
    paper_value: Any
    compare: str
    compute: Callable[..., Any]
    tolerance: Optional[float] = None
    relative: bool = False
    alpha: float = 0.05
    quick_note: str = ""

    def __post_init__(self) -> None:
        for name in ("id", "paper", "where", "description"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Claim.{name} must be a non-empty string, got {value!r}")
        if self.paper == "all":
            raise ValueError("'all' is reserved (bionn reproduce all); choose another paper key")
        if self.compare not in COMPARISONS:
            raise ValueError(f"Claim {self.id!r}: compare must be one of {COMPARISONS}, got {self.compare!r}")
        if not callable(self.compute):
            raise TypeError(f"Claim {self.id!r}: compute must be callable")
        if self.compare != "significant":
            if (
                isinstance(self.paper_value, bool)
                or not isinstance(self.paper_value, numbers.Real)
                or not math.isfinite(self.paper_value)
            ):
                raise TypeError(
                    f"Claim {self.id!r}: compare={self.compare!r} needs a finite numeric paper_value, "
                    f"got {self.paper_value!r}"
                )
        if self.compare == "within" and self.tolerance is None:
            raise ValueError(f"Claim {self.id!r}: compare='within' needs a tolerance")
        if self.tolerance is not None:
            if (
                isinstance(self.tolerance, bool)
                or not isinstance(self.tolerance, numbers.Real)
                or not (self.tolerance >= 0)
                or not math.isfinite(self.tolerance)
            ):
                raise ValueError(f"Claim {self.id!r}: tolerance must be a finite number >= 0, got {self.tolerance!r}")
        if not (isinstance(self.alpha, numbers.Real) and 0 < self.alpha < 1):
            raise ValueError(f"Claim {self.id!r}: alpha must be in (0, 1), got {self.alpha!r}")

    def slack(self) -> float:
        """The allowed deviation from ``paper_value`` (absolute)."""
        tol = float(self.tolerance or 0.0)
        return tol * abs(float(self.paper_value)) if self.relative else tol

    def check(self, value: Any) -> bool:
        """Whether bionn's ``value`` supports the claim (False for a missing or non-finite value)."""
        if value is None or isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        if self.compare == "significant":
            return v < self.alpha
        p = float(self.paper_value)
        s = self.slack()
        if self.compare == ">=":
            return v >= p - s
        if self.compare == "<=":
            return v <= p + s
        return abs(v - p) <= s

    def criterion(self) -> str:
        """The pass criterion in words, e.g. ``">= 0.95"`` or ``"p < 0.05"``."""
        if self.compare == "significant":
            return f"p < {self.alpha:g}"
        s = self.slack()
        if self.compare == "within":
            return f"{self.paper_value:g} ± {s:g}"
        if s:
            return f"{self.compare} {self.paper_value:g} (slack {s:g})"
        return f"{self.compare} {self.paper_value:g}"

    def run(self, mode: str = "quick", **runtime: Any) -> Tuple[Any, Dict[str, Any]]:
        """Calls ``compute``; returns ``(value, info)``. ``runtime`` keywords the function does not
        accept are dropped."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        try:
            params = inspect.signature(self.compute).parameters
        except (TypeError, ValueError):  # builtins without a signature
            params = {}
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in runtime.items() if takes_kwargs or k in params}
        out = self.compute(mode, **kwargs)
        if isinstance(out, tuple):
            if len(out) != 2 or not isinstance(out[1], Mapping):
                raise TypeError(f"claim {self.id!r}: compute must return a value or (value, info dict)")
            return out[0], dict(out[1])
        return out, {}


_REGISTRY: Dict[str, Claim] = {}


@overload
def register_claim(claim: Claim, *, replace: bool = False) -> Claim: ...


@overload
def register_claim(
    claim: None = None, *, replace: bool = False, **fields: Any
) -> Callable[[Callable[..., Any]], Claim]: ...


def register_claim(
    claim: Optional[Union[Claim, Callable[..., Any]]] = None, *, replace: bool = False, **fields: Any
) -> Any:
    """Adds a claim to the registry; works as a function or as a decorator of the compute function.

    Parameters
    ----------
    claim : Claim or callable, optional
        A :class:`Claim`; or the compute function, with the other fields as keywords; or nothing,
        to get a decorator.
    replace : bool
        Allow replacing a registered claim with the same id (otherwise that is an error).
    **fields
        :class:`Claim` fields other than ``compute``.

    Returns
    -------
    Claim, or a decorator returning the Claim

    Examples
    --------
    >>> @register_claim(id="demo.example", paper="demo", where="Table 1",   # doctest: +SKIP
    ...                 description="accuracy >= 0.9", paper_value=0.9, compare=">=")
    ... def example(mode):
    ...     return train_and_measure(epochs=5 if mode == "quick" else 50)
    """
    if isinstance(claim, Claim):
        if fields:
            raise TypeError("register_claim(Claim) takes no other fields")
        return _add(claim, replace)
    if claim is not None:
        if not callable(claim):
            raise TypeError(f"register_claim expects a Claim or a compute function, got {type(claim).__name__}")
        return _add(Claim(compute=claim, **fields), replace)

    def decorator(fn: Callable[..., Any]) -> Claim:
        return _add(Claim(compute=fn, **fields), replace)

    return decorator


def _add(claim: Claim, replace: bool) -> Claim:
    if claim.id in _REGISTRY and not replace:
        raise ValueError(
            f"a claim with id {claim.id!r} is already registered (paper "
            f"{_REGISTRY[claim.id].paper!r}); use a unique id or replace=True"
        )
    _REGISTRY[claim.id] = claim
    return claim


def unregister_claim(claim_id: str) -> Claim:
    """Removes a claim from the registry and returns it (KeyError if unknown)."""
    try:
        return _REGISTRY.pop(claim_id)
    except KeyError:
        raise KeyError(f"no claim with id {claim_id!r}") from None


def claims(paper: Optional[str] = None) -> List[Claim]:
    """Registered claims, in registration order; only ``paper``'s when given (``"all"`` = every paper).

    The papers' claims are there once :mod:`bionn.papers` is imported, which ``import bionn`` does.
    An unknown paper gives an empty list (see :func:`papers`).
    """
    if paper is None or paper == "all":
        return list(_REGISTRY.values())
    return [c for c in _REGISTRY.values() if c.paper == paper]


def get_claim(claim_id: str) -> Claim:
    """The registered claim with this id (KeyError if none)."""
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"no claim with id {claim_id!r}") from None


def papers() -> List[str]:
    """Keys of the papers with registered claims, sorted."""
    return sorted({c.paper for c in _REGISTRY.values()})


def _jsonable(value: Any) -> Any:
    """numpy scalars -> Python numbers, non-finite floats -> None, containers recursively."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, numbers.Integral)):
        return int(value)
    if isinstance(value, (np.floating, numbers.Real)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if value is None or isinstance(value, str):
        return value
    return str(value)


def evaluate_claim(claim: Claim, mode: str = "quick", **runtime: Any) -> Dict[str, Any]:
    """Computes one claim and compares it with the paper.

    Returns
    -------
    dict
        ``{"id", "description", "paper_value", "bionn_value", "passed", "skipped", "info"}``.
        ``info`` holds what ``compute`` returned besides the value, plus ``seconds`` (wall time),
        ``where``, ``criterion`` and, when ``compute`` raised, ``error`` (the claim then fails with
        ``bionn_value`` None) or, for :class:`ClaimSkipped`, ``skipped`` (the reason; ``passed`` is
        False and ``skipped`` True). Values are JSON-serialisable (non-finite numbers become None).
    """
    start = time.perf_counter()
    info: Dict[str, Any] = {}
    skipped = False
    try:
        value, info = claim.run(mode, **runtime)
        passed = claim.check(value)
    except ClaimSkipped as exc:
        value, passed, skipped = None, False, True
        info = {"skipped": str(exc)}
    except Exception as exc:
        value, passed = None, False
        info = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    info = dict(info, seconds=round(time.perf_counter() - start, 3), where=claim.where, criterion=claim.criterion())
    return {
        "id": claim.id,
        "description": claim.description,
        "paper_value": _jsonable(claim.paper_value),
        "bionn_value": _jsonable(value),
        "passed": bool(passed),
        "skipped": skipped,
        "info": _jsonable(info),
    }


def run_claims(
    paper: Optional[str] = "all",
    mode: str = "quick",
    backend: str = "serial",
    address: Optional[str] = None,
    n_workers: Optional[int] = None,
    on_result: Optional[Callable[[Dict[str, Any]], None]] = None,
    on_start: Optional[Callable[[Claim], None]] = None,
) -> List[Dict[str, Any]]:
    """Computes every claim of ``paper`` (``"all"`` or None: of every paper) and checks it.

    Parameters
    ----------
    paper : str, optional
        A key from :func:`papers`, or ``"all"``.
    mode : {"quick", "full"}
        Quick mode uses fewer seeds, epochs and data (each claim's ``quick_note`` says what).
    backend, address, n_workers
        Passed to claims whose ``compute`` accepts them (and from there to :func:`repeat`).
    on_start, on_result : callable, optional
        Called before each claim with the :class:`Claim` and after it with its result dict
        (progress reporting).

    Returns
    -------
    list of dict
        One per claim, in registration order: ``{"id", "description", "paper_value", "bionn_value",
        "passed", "skipped", "info"}`` (see :func:`evaluate_claim`). A claim whose computation raises
        fails (unless it raises :class:`ClaimSkipped`); it does not stop the others.

    Raises
    ------
    ValueError
        Unknown paper (the message lists the known ones), mode or backend.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    selected = claims(paper)
    if not selected:
        known = papers()
        raise ValueError(f"unknown paper {paper!r}; known papers: {', '.join(known) if known else '(none)'}")
    runtime = {"backend": backend, "address": address, "n_workers": n_workers}
    results = []
    for claim in selected:
        if on_start is not None:
            on_start(claim)
        result = evaluate_claim(claim, mode, **runtime)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
