"""Criteria: how a claim decides, from run records, whether a paper's statement holds.

A criterion is written when the claim is registered, before any run, and it is the paper's own test:
the comparison the paper makes, its statistical test and significance level, and — where the paper
gives a magnitude — a magnitude stated up front. It reads only the records (a
:class:`ClaimData`), so a verdict can be recomputed at any time without training.

* :class:`Compare` — two groups of runs (e.g. Focus-s vs Dense): direction, test (Welch or Student
  t, paired t, Wilcoxon signed-rank, Mann–Whitney U), alpha, and an optional magnitude
  (``min_difference`` or ``min_ratio`` in the claimed direction).
* :class:`NoDifference` — the paper's test finds no significant difference (p ≥ alpha).
* :class:`Level` — one group's mean (or median) against a number: ``>=``, ``<=``, or within a band
  (e.g. the paper's mean ± 2 sd).
* :class:`Correlation` — Spearman or Pearson between two columns (a config key or a metric), with a
  direction and a test.
* :class:`AllOf` — every one of several criteria (e.g. an ordering of three variants).
* :class:`Custom` — anything else, with its description and a function from the data to an
  :class:`Evidence`.

Groups of runs are :class:`Group` (an experiment and the config values that select its runs).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .stats import mannwhitney, paired_ttest, pearson, spearman, ttest, wilcoxon

__all__ = [
    "Evidence",
    "ClaimData",
    "Criterion",
    "Group",
    "Compare",
    "Level",
    "Correlation",
    "NoDifference",
    "AllOf",
    "Custom",
    "TESTS",
]

TESTS = ("welch", "student", "paired_t", "wilcoxon", "mannwhitney")
_TEST_NAMES = {
    "welch": "Welch t-test",
    "student": "Student t-test",
    "paired_t": "paired t-test",
    "wilcoxon": "Wilcoxon signed-rank test",
    "mannwhitney": "Mann-Whitney U test",
}


@dataclass
class Evidence:
    """What the records say about a claim.

    Attributes
    ----------
    holds : bool or None
        Whether the criterion is met; None when the records cannot decide (too few runs).
    value : str
        bionn's value in words, e.g. ``"Focus-s 97.89 ± 0.05 vs Dense 97.60 ± 0.07 (n = 5, 5)"``.
    reason : str
        Why it holds or not, e.g. ``"p = 0.003 < 0.05 and Focus-s > Dense"``.
    test, statistic, pvalue
        The statistical test behind the verdict, when there is one.
    details : dict
        The numbers (means, sds, n, effect), JSON-serialisable.
    """

    holds: Optional[bool]
    value: str
    reason: str = ""
    test: Optional[str] = None
    statistic: Optional[float] = None
    pvalue: Optional[float] = None
    details: Dict[str, Any] = field(default_factory=dict)


class ClaimData:
    """The recorded runs a criterion may read: per experiment, a DataFrame with the config keys,
    ``seed`` and the metrics (one row per recorded run of the planned protocol), and the records
    themselves (with ``curves``)."""

    def __init__(self, frames: Mapping[str, Any], records: Mapping[str, List[Dict[str, Any]]]) -> None:
        self._frames = dict(frames)
        self._records = dict(records)

    def frame(self, experiment: str) -> Any:
        """The DataFrame of ``experiment``'s recorded runs (KeyError for an experiment the claim
        did not declare)."""
        try:
            return self._frames[experiment]
        except KeyError:
            raise KeyError(f"experiment {experiment!r} is not one this criterion declared") from None

    def records(self, experiment: str) -> List[Dict[str, Any]]:
        """The run records of ``experiment`` (dicts with ``config``, ``seed``, ``metrics``, ``curves``)."""
        try:
            return self._records[experiment]
        except KeyError:
            raise KeyError(f"experiment {experiment!r} is not one this criterion declared") from None


class Criterion(abc.ABC):
    """Base class. Subclasses define :attr:`experiments`, :meth:`describe` and :meth:`evaluate`,
    and may define :meth:`plot`."""

    experiments: Tuple[str, ...] = ()

    @abc.abstractmethod
    def describe(self) -> str:
        """The criterion in words, fixed before any run."""

    @abc.abstractmethod
    def evaluate(self, data: ClaimData) -> Evidence:
        """What the records say (an :class:`Evidence`)."""

    def plot(self, data: ClaimData, ax: Any) -> bool:
        """Draws the evidence on a matplotlib ``ax``; returns False when there is no figure."""
        return False


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Group:
    """The runs of ``experiment`` whose config has every ``where`` value; ``label`` names them.

    Examples
    --------
    >>> Group("table2_fashion", {"model": "focus-s"}, "Focus-s")   # doctest: +SKIP
    """

    experiment: str
    where: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.experiment, str) or not self.experiment:
            raise ValueError(f"Group.experiment must be a non-empty string, got {self.experiment!r}")
        if not isinstance(self.where, Mapping):
            raise TypeError(f"Group.where must be a dict, got {type(self.where).__name__}")
        object.__setattr__(self, "where", dict(self.where))
        if not self.label:
            text = ", ".join(f"{k}={v}" for k, v in self.where.items())
            object.__setattr__(self, "label", text or self.experiment)

    def rows(self, data: ClaimData) -> Any:
        df = data.frame(self.experiment)
        mask = np.ones(len(df), dtype=bool)
        for k, v in self.where.items():
            if k not in df.columns:
                return df.iloc[0:0]
            mask &= (df[k] == v).to_numpy()
        return df[mask]

    def values(self, data: ClaimData, metric: str) -> Tuple[np.ndarray, np.ndarray]:
        """``(values, seeds)`` of ``metric`` over the group's recorded runs, ordered by seed; NaN
        (a diverged run) is kept: it is a result."""
        rows = self.rows(data)
        if len(rows) == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        if metric not in rows.columns:
            raise KeyError(f"the runs of {self.label!r} have no metric {metric!r} (columns: {list(rows.columns)})")
        rows = rows.sort_values("seed")
        return rows[metric].to_numpy(dtype=np.float64), rows["seed"].to_numpy(dtype=np.int64)


def _fmt(x: float, scale: float, digits: int) -> str:
    return "nan" if not math.isfinite(x) else f"{x * scale:.{digits}f}"


_CENTERS = ("mean", "median", "min", "max")


def _center_of(x: np.ndarray, center: str) -> float:
    """The group statistic: mean, median, or the best run (min / max, e.g. a paper's "best of ten")."""
    if center == "median":
        return float(np.median(x))
    if center == "min":
        return float(np.min(x))
    if center == "max":
        return float(np.max(x))
    return float(np.mean(x))


def _summary(x: np.ndarray, scale: float, digits: int, unit: str, center: str = "mean") -> str:
    if x.size == 0:
        return "no runs"
    c = _center_of(x, center)
    if x.size == 1:
        return f"{_fmt(c, scale, digits)}{unit}"
    if center in ("min", "max"):
        return (
            f"best ({center}) {_fmt(c, scale, digits)}{unit}, median {_fmt(float(np.median(x)), scale, digits)}{unit}"
        )
    if center == "median":
        return f"median {_fmt(c, scale, digits)}{unit}"
    return f"{_fmt(c, scale, digits)} ± {_fmt(float(np.std(x, ddof=1)), scale, digits)}{unit}"


def _finite(x: float) -> Optional[float]:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _strip(ax: Any, groups: Sequence[Tuple[str, np.ndarray]], scale: float, ylabel: str) -> None:
    for i, (_, x) in enumerate(groups):
        if x.size:
            jitter = np.linspace(-0.12, 0.12, x.size) if x.size > 1 else np.zeros(1)
            ax.plot(np.full(x.size, i) + jitter, x * scale, "o", alpha=0.7, color=f"C{i}")
            ax.hlines(np.mean(x) * scale, i - 0.25, i + 0.25, color="k", lw=1.5)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel(ylabel)


# ------------------------------------------------------------------------------------------------
class Compare(Criterion):
    """Group ``a`` differs from group ``b`` in ``direction`` on ``metric``, significantly by the
    paper's test, and (optionally) by at least a stated magnitude.

    Parameters
    ----------
    metric : str
        The metric column compared (e.g. ``"best_test_accuracy"``).
    a, b : Group
        The groups; the claim is "a is ``direction`` than b".
    direction : {"greater", "less"}
        ``"greater"``: a's values are larger (e.g. accuracy); ``"less"``: smaller (e.g. error).
    test : {"welch", "student", "paired_t", "wilcoxon", "mannwhitney"}
        The paper's test. Paired tests pair runs by seed (only seeds present in both groups).
    sided : {"two-sided", "one-sided"}
        A two-sided test at ``alpha`` also needs the difference in ``direction``; a one-sided test
        tests ``direction`` as its alternative.
    alpha : float
    min_difference : float, optional
        Magnitude: ``center(a) - center(b)`` (sign per ``direction``) must be at least this.
    min_ratio : float, optional
        Magnitude: ``center(a) / center(b)`` (``"greater"``) or ``center(b) / center(a)``
        (``"less"``) must be at least this.
    magnitude_note : str
        Where the magnitude comes from (e.g. "half the paper's 0.29 points").
    center : {"mean", "median", "min", "max"}
        The statistic of each group used for the direction, the magnitude and the report; ``"min"``
        / ``"max"`` is the best run (a paper's "best of N runs").
    scale, unit, digits
        Display only: values are multiplied by ``scale`` and printed with ``digits`` decimals.
    paper_centers : (float, float), optional
        The paper's values for a and b (unscaled), drawn in the figure.
    metric_b : str, optional
        ``b``'s metric when it differs from ``a``'s (e.g. a pruned network's accuracy against the
        unpruned baseline's); defaults to ``metric``.
    """

    def __init__(
        self,
        metric: str,
        a: Group,
        b: Group,
        direction: str = "greater",
        test: str = "welch",
        sided: str = "two-sided",
        alpha: float = 0.05,
        min_difference: Optional[float] = None,
        min_ratio: Optional[float] = None,
        magnitude_note: str = "",
        center: str = "mean",
        scale: float = 1.0,
        unit: str = "",
        digits: int = 3,
        paper_centers: Optional[Tuple[float, float]] = None,
        metric_b: Optional[str] = None,
    ) -> None:
        if direction not in ("greater", "less"):
            raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
        if test not in TESTS:
            raise ValueError(f"test must be one of {TESTS}, got {test!r}")
        if sided not in ("two-sided", "one-sided"):
            raise ValueError(f"sided must be 'two-sided' or 'one-sided', got {sided!r}")
        if not (0 < alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        if center not in _CENTERS:
            raise ValueError(f"center must be one of {_CENTERS}, got {center!r}")
        if not isinstance(a, Group) or not isinstance(b, Group):
            raise TypeError("a and b must be Group objects")
        for name, v in (("min_difference", min_difference), ("min_ratio", min_ratio)):
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        self.metric, self.a, self.b = metric, a, b
        self.metric_b = metric if metric_b is None else metric_b
        self.direction, self.test, self.sided, self.alpha = direction, test, sided, float(alpha)
        self.min_difference, self.min_ratio, self.magnitude_note = min_difference, min_ratio, magnitude_note
        self.center, self.scale, self.unit, self.digits = center, float(scale), unit, int(digits)
        self.paper_centers = paper_centers
        self.diff_unit = " points" if unit.strip() == "%" else unit  # a difference of percentages
        self.experiments = tuple(dict.fromkeys([a.experiment, b.experiment]))

    def _magnitude_text(self) -> str:
        parts = []
        center = f"best-run ({self.center})" if self.center in ("min", "max") else self.center
        if self.min_difference is not None:
            parts.append(f"{center} difference ≥ {_fmt(self.min_difference, self.scale, self.digits)}{self.diff_unit}")
        if self.min_ratio is not None:
            num, den = (self.a, self.b) if self.direction == "greater" else (self.b, self.a)
            parts.append(f"{center} ratio {num.label}/{den.label} ≥ {self.min_ratio:g}")
        if not parts:
            return ""
        note = f" ({self.magnitude_note})" if self.magnitude_note else ""
        return "; magnitude: " + " and ".join(parts) + note

    def describe(self) -> str:
        rel = ">" if self.direction == "greater" else "<"
        on = self.metric if self.metric_b == self.metric else f"{self.metric} (vs {self.b.label}'s {self.metric_b})"
        return (
            f"{self.a.label} {rel} {self.b.label} on {on}: {self.sided} {_TEST_NAMES[self.test]}, "
            f"p < {self.alpha:g}{self._magnitude_text()}"
        )

    def _center(self, x: np.ndarray) -> float:
        return _center_of(x, self.center)

    def evaluate(self, data: ClaimData) -> Evidence:
        xa, sa = self.a.values(data, self.metric)
        xb, sb = self.b.values(data, self.metric_b)
        value = (
            f"{self.a.label} {_summary(xa, self.scale, self.digits, self.unit, self.center)} vs "
            f"{self.b.label} {_summary(xb, self.scale, self.digits, self.unit, self.center)} "
            f"(n = {xa.size}, {xb.size})"
        )
        details: Dict[str, Any] = {"n_a": int(xa.size), "n_b": int(xb.size)}
        if xa.size:
            details["center_a"] = _finite(self._center(xa))
        if xb.size:
            details["center_b"] = _finite(self._center(xb))
        for arr, key in ((xa, "sd_a"), (xb, "sd_b")):
            if arr.size > 1:
                details[key] = _finite(float(np.std(arr, ddof=1)))
        if self.test in ("paired_t", "wilcoxon"):
            common = np.intersect1d(sa, sb)
            xa = xa[np.isin(sa, common)]
            xb = xb[np.isin(sb, common)]
            details["pairs"] = int(common.size)
        if not (np.isfinite(xa).all() and np.isfinite(xb).all()):
            return Evidence(False, value, "a run diverged (NaN/Inf metric)", details=details)
        need = 2 if self.test != "mannwhitney" else 1
        if xa.size < need or xb.size < need:
            return Evidence(None, value, f"too few runs for the {_TEST_NAMES[self.test]}", details=details)
        alternative = "two-sided" if self.sided == "two-sided" else self.direction
        try:
            if self.test in ("welch", "student"):
                res = ttest(xa, xb, welch=self.test == "welch", alternative=alternative)
            elif self.test == "paired_t":
                res = paired_ttest(xa, xb, alternative=alternative)
            elif self.test == "wilcoxon":
                res = wilcoxon(xa, xb, alternative=alternative)
            else:
                res = mannwhitney(xa, xb, alternative=alternative)
        except ValueError as exc:
            return Evidence(None, value, f"the test cannot be computed: {exc}", details=details)
        ca, cb = self._center(xa), self._center(xb)
        diff = (ca - cb) if self.direction == "greater" else (cb - ca)
        details["difference"] = _finite(diff)
        right_way = diff > 0
        p = res.pvalue
        significant = bool(p < self.alpha)
        reasons = [
            f"p = {p:.3g} {'<' if significant else '≥'} {self.alpha:g}",
            f"{self.a.label} {'>' if (ca > cb) else '≤'} {self.b.label}",
        ]
        holds = significant and right_way
        if self.min_difference is not None:
            ok = diff >= self.min_difference
            holds = holds and ok
            reasons.append(
                f"difference {_fmt(diff, self.scale, self.digits)}{self.diff_unit} {'≥' if ok else '<'} "
                f"{_fmt(self.min_difference, self.scale, self.digits)}{self.diff_unit}"
            )
        if self.min_ratio is not None:
            num, den = (ca, cb) if self.direction == "greater" else (cb, ca)
            ratio = num / den if den != 0 else math.inf
            details["ratio"] = _finite(ratio)
            ok = ratio >= self.min_ratio
            holds = holds and ok
            reasons.append(f"ratio {ratio:.3g} {'≥' if ok else '<'} {self.min_ratio:g}")
        return Evidence(bool(holds), value, "; ".join(reasons), res.test, res.statistic, p, details)

    def plot(self, data: ClaimData, ax: Any) -> bool:
        xa, _ = self.a.values(data, self.metric)
        xb, _ = self.b.values(data, self.metric_b)
        if not (xa.size or xb.size):
            return False
        _strip(
            ax, [(self.a.label, xa), (self.b.label, xb)], self.scale, f"{self.metric}{self.unit and ' ' + self.unit}"
        )
        if self.paper_centers is not None:
            for i, v in enumerate(self.paper_centers):
                ax.plot(
                    [i],
                    [v * self.scale],
                    marker="*",
                    ms=14,
                    color="crimson",
                    ls="none",
                    label="paper" if i == 0 else None,
                )
            ax.legend(loc="best", fontsize=8)
        return True


class NoDifference(Criterion):
    """The paper's test finds no significant difference between groups ``a`` and ``b`` on ``metric``
    (p ≥ ``alpha``): for statements like "the results were almost equal" backed by a
    non-significant test in the paper. It holds when the test is not significant — with few runs
    that is weak evidence of equality, and the report shows the means and p beside the paper's.

    Parameters
    ----------
    metric : str
    a, b : Group
    test : {"welch", "student", "paired_t", "wilcoxon", "mannwhitney"}
    alpha : float
    scale, unit, digits
        Display, as in :class:`Compare`.
    paper_centers : (float, float), optional
        The paper's values for a and b (unscaled), drawn in the figure.
    """

    def __init__(
        self,
        metric: str,
        a: Group,
        b: Group,
        test: str = "welch",
        alpha: float = 0.05,
        scale: float = 1.0,
        unit: str = "",
        digits: int = 3,
        paper_centers: Optional[Tuple[float, float]] = None,
    ) -> None:
        # A two-sided Compare does the bookkeeping (values, pairing, the test); only the decision differs.
        self._compare = Compare(
            metric,
            a,
            b,
            test=test,
            sided="two-sided",
            alpha=alpha,
            scale=scale,
            unit=unit,
            digits=digits,
            paper_centers=paper_centers,
        )
        self.metric, self.a, self.b, self.test, self.alpha = metric, a, b, test, float(alpha)
        self.experiments = self._compare.experiments

    def describe(self) -> str:
        return (
            f"no significant difference between {self.a.label} and {self.b.label} on {self.metric}: "
            f"two-sided {_TEST_NAMES[self.test]}, p ≥ {self.alpha:g}"
        )

    def evaluate(self, data: ClaimData) -> Evidence:
        ev = self._compare.evaluate(data)
        if ev.pvalue is None:
            return ev  # undecided (too few runs) or a diverged run (False)
        holds = ev.pvalue >= self.alpha
        reason = f"p = {ev.pvalue:.3g} {'≥' if holds else '<'} {self.alpha:g}"
        return Evidence(bool(holds), ev.value, reason, ev.test, ev.statistic, ev.pvalue, ev.details)

    def plot(self, data: ClaimData, ax: Any) -> bool:
        return self._compare.plot(data, ax)


class Level(Criterion):
    """The center (mean or median) of ``group``'s ``metric`` is ``>=`` / ``<=`` ``value``, or within
    ``value ± tolerance``.

    Parameters
    ----------
    metric : str
    group : Group
    op : {">=", "<=", "within"}
    value : float
    tolerance : float
        For ``"within"`` (e.g. 2 × the paper's sd).
    note : str
        Where the bound comes from (e.g. "the paper's mean ± 2 sd").
    center, scale, unit, digits
        As in :class:`Compare`.
    min_runs : int
        Fewer recorded runs than this cannot decide.
    """

    def __init__(
        self,
        metric: str,
        group: Group,
        op: str,
        value: float,
        tolerance: float = 0.0,
        note: str = "",
        center: str = "mean",
        scale: float = 1.0,
        unit: str = "",
        digits: int = 3,
        min_runs: int = 1,
    ) -> None:
        if op not in (">=", "<=", "within"):
            raise ValueError(f"op must be '>=', '<=' or 'within', got {op!r}")
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f"value must be a finite number, got {value!r}")
        if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
        if op == "within" and tolerance == 0:
            raise ValueError("op='within' needs a tolerance > 0")
        if center not in ("mean", "median"):
            raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
        if not isinstance(group, Group):
            raise TypeError("group must be a Group")
        self.metric, self.group, self.op, self.value, self.tolerance = metric, group, op, float(value), float(tolerance)
        self.note, self.center, self.scale, self.unit, self.digits = note, center, float(scale), unit, int(digits)
        self.min_runs = int(min_runs)
        self.experiments = (group.experiment,)

    def describe(self) -> str:
        v = f"{_fmt(self.value, self.scale, self.digits)}{self.unit}"
        if self.op == "within":
            bound = f"within {v} ± {_fmt(self.tolerance, self.scale, self.digits)}{self.unit}"
        else:
            bound = f"{'≥' if self.op == '>=' else '≤'} {v}"
        note = f" ({self.note})" if self.note else ""
        return f"{self.center} {self.metric} of {self.group.label} {bound}{note}"

    def evaluate(self, data: ClaimData) -> Evidence:
        x, _ = self.group.values(data, self.metric)
        value = f"{self.group.label} {_summary(x, self.scale, self.digits, self.unit, self.center)} (n = {x.size})"
        if x.size < max(1, self.min_runs):
            return Evidence(None, value, f"needs at least {max(1, self.min_runs)} run(s)", details={"n": int(x.size)})
        c = float(np.median(x)) if self.center == "median" else float(np.mean(x))
        details = {"n": int(x.size), "center": _finite(c)}
        if x.size > 1:
            details["sd"] = _finite(float(np.std(x, ddof=1)))
        if not math.isfinite(c):
            return Evidence(False, value, "a run diverged (NaN/Inf metric)", details=details)
        if self.op == ">=":
            holds = c >= self.value
        elif self.op == "<=":
            holds = c <= self.value
        else:
            holds = abs(c - self.value) <= self.tolerance
        bound = self.describe().split(" of ", 1)[1]
        verb = "meets" if holds else "misses"
        reason = f"{self.center} {_fmt(c, self.scale, self.digits)}{self.unit} {verb} {bound}"
        return Evidence(bool(holds), value, reason, details=details)

    def plot(self, data: ClaimData, ax: Any) -> bool:
        x, _ = self.group.values(data, self.metric)
        if not x.size:
            return False
        _strip(ax, [(self.group.label, x)], self.scale, f"{self.metric}{self.unit and ' ' + self.unit}")
        ax.axhline(self.value * self.scale, color="crimson", ls="--", lw=1, label="paper / bound")
        if self.op == "within":
            ax.axhspan(
                (self.value - self.tolerance) * self.scale,
                (self.value + self.tolerance) * self.scale,
                color="crimson",
                alpha=0.1,
            )
        ax.legend(loc="best", fontsize=8)
        return True


class Correlation(Criterion):
    """``x`` and ``y`` (config keys or metrics of the group's runs) correlate in ``direction``.

    Parameters
    ----------
    x, y : str
        Column names (a config key such as ``"neglu_percent"``, or a metric).
    group : Group
    method : {"spearman", "pearson"}
    direction : {"positive", "negative"}
    sided : {"two-sided", "one-sided"}
    alpha : float
    min_abs : float, optional
        Magnitude: ``|r|`` must be at least this.
    """

    def __init__(
        self,
        x: str,
        y: str,
        group: Group,
        method: str = "spearman",
        direction: str = "positive",
        sided: str = "two-sided",
        alpha: float = 0.05,
        min_abs: Optional[float] = None,
        magnitude_note: str = "",
    ) -> None:
        if method not in ("spearman", "pearson"):
            raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
        if direction not in ("positive", "negative"):
            raise ValueError(f"direction must be 'positive' or 'negative', got {direction!r}")
        if sided not in ("two-sided", "one-sided"):
            raise ValueError(f"sided must be 'two-sided' or 'one-sided', got {sided!r}")
        if not (0 < alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        if min_abs is not None and not (0 <= min_abs <= 1):
            raise ValueError(f"min_abs must be in [0, 1], got {min_abs!r}")
        if not isinstance(group, Group):
            raise TypeError("group must be a Group")
        self.x, self.y, self.group, self.method, self.direction = x, y, group, method, direction
        self.sided, self.alpha, self.min_abs, self.magnitude_note = sided, float(alpha), min_abs, magnitude_note
        self.experiments = (group.experiment,)

    def describe(self) -> str:
        mag = ""
        if self.min_abs is not None:
            mag = f"; magnitude: |r| ≥ {self.min_abs:g}" + (f" ({self.magnitude_note})" if self.magnitude_note else "")
        return (
            f"{self.direction} {self.method.capitalize()} correlation of {self.x} and {self.y} over "
            f"{self.group.label}: {self.sided} test, p < {self.alpha:g}{mag}"
        )

    def _xy(self, data: ClaimData) -> Tuple[np.ndarray, np.ndarray]:
        rows = self.group.rows(data)
        if len(rows) == 0:
            return np.zeros(0), np.zeros(0)
        for c in (self.x, self.y):
            if c not in rows.columns:
                raise KeyError(f"the runs of {self.group.label!r} have no column {c!r}")
        return rows[self.x].to_numpy(dtype=np.float64), rows[self.y].to_numpy(dtype=np.float64)

    def evaluate(self, data: ClaimData) -> Evidence:
        x, y = self._xy(data)
        if x.size < 3:
            return Evidence(None, f"n = {x.size}", "needs at least 3 runs", details={"n": int(x.size)})
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return Evidence(False, f"n = {x.size}", "a run diverged (NaN/Inf metric)", details={"n": int(x.size)})
        alternative = (
            "two-sided" if self.sided == "two-sided" else ("greater" if self.direction == "positive" else "less")
        )
        fn = spearman if self.method == "spearman" else pearson
        try:
            res = fn(x, y, alternative=alternative)
        except ValueError as exc:
            return Evidence(None, f"n = {x.size}", f"the test cannot be computed: {exc}", details={"n": int(x.size)})
        r, p = res.statistic, res.pvalue
        if not math.isfinite(r):
            return Evidence(
                False, f"r undefined (constant values), n = {x.size}", "no correlation", details={"n": int(x.size)}
            )
        right_way = (r > 0) if self.direction == "positive" else (r < 0)
        holds = bool(p < self.alpha) and right_way
        reasons = [f"r = {r:.3f}", f"p = {p:.3g} {'<' if p < self.alpha else '≥'} {self.alpha:g}"]
        if self.min_abs is not None:
            ok = abs(r) >= self.min_abs
            holds = holds and ok
            reasons.append(f"|r| {'≥' if ok else '<'} {self.min_abs:g}")
        name = "ρ" if self.method == "spearman" else "r"
        return Evidence(
            holds,
            f"{name} = {r:.3f}, p = {p:.3g} (n = {x.size})",
            "; ".join(reasons),
            res.test,
            r,
            p,
            {"n": int(x.size), "r": _finite(r)},
        )

    def plot(self, data: ClaimData, ax: Any) -> bool:
        x, y = self._xy(data)
        if not x.size:
            return False
        ax.plot(x, y, "o", alpha=0.7)
        ax.set_xlabel(self.x)
        ax.set_ylabel(self.y)
        return True


class AllOf(Criterion):
    """Every one of ``criteria`` holds (e.g. an ordering A > B and A > C). ``description`` says
    what they express together; the verdict is undecided when one is and none fails."""

    def __init__(self, criteria: Sequence[Criterion], description: str = "") -> None:
        criteria = list(criteria)
        if not criteria or not all(isinstance(c, Criterion) for c in criteria):
            raise TypeError("AllOf needs a non-empty list of criteria")
        self.criteria, self.description = criteria, description
        self.experiments = tuple(dict.fromkeys(e for c in criteria for e in c.experiments))

    def describe(self) -> str:
        parts = "; AND ".join(c.describe() for c in self.criteria)
        return f"{self.description}: {parts}" if self.description else parts

    def evaluate(self, data: ClaimData) -> Evidence:
        parts = [c.evaluate(data) for c in self.criteria]
        if any(p.holds is False for p in parts):
            holds: Optional[bool] = False
        elif any(p.holds is None for p in parts):
            holds = None
        else:
            holds = True
        return Evidence(
            holds,
            " | ".join(p.value for p in parts),
            " | ".join(p.reason for p in parts),
            details={"parts": [dict(p.details, holds=p.holds, pvalue=p.pvalue, test=p.test) for p in parts]},
        )

    def plot(self, data: ClaimData, ax: Any) -> bool:
        return self.criteria[0].plot(data, ax)


class Custom(Criterion):
    """A criterion the classes above do not express: ``description`` (written up front, as
    precise as the others) and ``evaluate(data) -> Evidence``; optional ``plot(data, ax) -> bool``."""

    def __init__(
        self,
        experiments: Sequence[str],
        description: str,
        evaluate: Callable[[ClaimData], Evidence],
        plot: Optional[Callable[[ClaimData, Any], bool]] = None,
    ) -> None:
        if isinstance(experiments, str) or not experiments:
            raise TypeError("experiments must be a non-empty list of experiment names")
        if not description.strip():
            raise ValueError("a Custom criterion needs its description")
        if not callable(evaluate):
            raise TypeError("evaluate must be callable")
        self.experiments = tuple(experiments)
        self._description, self._evaluate, self._plot = description, evaluate, plot

    def describe(self) -> str:
        return self._description

    def evaluate(self, data: ClaimData) -> Evidence:
        out = self._evaluate(data)
        if not isinstance(out, Evidence):
            raise TypeError(f"a Custom criterion's evaluate must return an Evidence, got {type(out).__name__}")
        return out

    def plot(self, data: ClaimData, ax: Any) -> bool:
        return bool(self._plot(data, ax)) if self._plot is not None else False
