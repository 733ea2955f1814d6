"""Statistics over repeated runs: :func:`summarize` (pandas) and the tests :func:`ttest`,
:func:`paired_ttest`, :func:`wilcoxon`, :func:`mannwhitney`, :func:`pearson` and :func:`spearman`
(scipy), each returning a :class:`TestResult`. pandas and scipy are imported lazily, inside the
functions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterator, Optional, Sequence, Union

import numpy as np

__all__ = ["summarize", "TestResult", "ttest", "paired_ttest", "wilcoxon", "mannwhitney", "pearson", "spearman"]


def summarize(df: Any, metric: str, by: Optional[Union[str, Sequence[str]]] = None) -> Any:
    """Mean, standard deviation (ddof=1), min, max and count of ``metric`` per group.

    Parameters
    ----------
    df : pandas.DataFrame
        Typically the output of :func:`repeat`.
    metric : str
        Column to summarise.
    by : str or sequence of str, optional
        Grouping columns (e.g. config keys); none gives one row over all runs.

    Returns
    -------
    pandas.DataFrame
        Columns: the ``by`` columns, then ``mean``, ``std``, ``min``, ``max``, ``n`` (number of
        non-missing values; ``std`` is NaN when ``n < 2``). Groups appear in sorted order.
    """
    import pandas as pd

    by_list = [] if by is None else [by] if isinstance(by, str) else list(by)
    missing = [c for c in [metric] + by_list if c not in df.columns]
    if missing:
        raise KeyError(f"summarize: no column(s) {missing} in the DataFrame (columns: {list(df.columns)})")
    values = pd.to_numeric(df[metric], errors="raise")
    stats = ["mean", "std", "min", "max", "count"]
    if by_list:
        out = values.groupby([df[c] for c in by_list], dropna=False, sort=True).agg(stats).reset_index()
    else:
        out = values.agg(stats).to_frame().T.reset_index(drop=True)
    out = out.rename(columns={"count": "n"})
    out["n"] = out["n"].astype(int)
    return out


@dataclass(frozen=True)
class TestResult:
    """Result of a statistical test.

    Attributes
    ----------
    test : str
        Which test (``"welch_t"``, ``"student_t"``, ``"wilcoxon"``, ``"pearson"``).
    statistic : float
    pvalue : float
    alternative : str
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    n : int
        Number of observations (per sample for t-tests: the smaller sample; pairs otherwise).

    Unpacks like scipy's results: ``stat, p = ttest(a, b)``.
    """

    __test__ = False  # not a pytest test class

    test: str
    statistic: float
    pvalue: float
    alternative: str = "two-sided"
    n: int = 0

    def __iter__(self) -> Iterator[float]:
        return iter((self.statistic, self.pvalue))

    def significant(self, alpha: float = 0.05) -> bool:
        """``pvalue < alpha`` (False for a NaN p-value)."""
        return bool(self.pvalue < alpha)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


_ALTERNATIVES = ("two-sided", "greater", "less")


def _sample(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_alternative(alternative: str) -> str:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    return alternative


def ttest(a: Any, b: Any, welch: bool = True, alternative: str = "two-sided") -> TestResult:
    """Two-sample t-test of the means of ``a`` and ``b`` (``scipy.stats.ttest_ind``).

    Parameters
    ----------
    a, b : array-like
        Independent samples (e.g. a metric over seeds for two configs), at least 2 values each.
    welch : bool
        Welch's test (unequal variances, the default); ``False`` gives Student's pooled-variance test.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests mean(a) > mean(b).

    Returns
    -------
    TestResult
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size < 2 or b.size < 2:
        raise ValueError(f"ttest needs at least 2 values per sample, got {a.size} and {b.size}")
    res = stats.ttest_ind(a, b, equal_var=not welch, alternative=_check_alternative(alternative))
    return TestResult(
        "welch_t" if welch else "student_t",
        float(res.statistic),
        float(res.pvalue),
        alternative,
        int(min(a.size, b.size)),
    )


def wilcoxon(a: Any, b: Any, alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test on the paired differences ``a - b`` (``scipy.stats.wilcoxon``).

    Parameters
    ----------
    a, b : array-like
        Paired samples of equal length (e.g. two methods run with the same seeds).
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests that ``a - b`` is shifted above 0.

    Returns
    -------
    TestResult
        When every difference is zero the test is undefined; the result has statistic 0 and
        p-value 1 (no evidence of a difference).

    Notes
    -----
    With n pairs the smallest attainable one-sided p-value is ``2**-n`` (0.125 for 3 pairs), so
    use at least 5 pairs for a test at alpha = 0.05.
    """
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size != b.size:
        raise ValueError(f"wilcoxon needs paired samples of equal length, got {a.size} and {b.size}")
    _check_alternative(alternative)
    if np.all(a == b):
        return TestResult("wilcoxon", 0.0, 1.0, alternative, int(a.size))
    res = stats.wilcoxon(a, b, alternative=alternative)
    return TestResult("wilcoxon", float(res.statistic), float(res.pvalue), alternative, int(a.size))


def pearson(x: Any, y: Any, alternative: str = "two-sided") -> TestResult:
    """Pearson correlation coefficient and its p-value (``scipy.stats.pearsonr``).

    Parameters
    ----------
    x, y : array-like
        Paired samples of equal length (at least 2).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
        ``statistic`` is r.
    """
    from scipy import stats

    x, y = _sample(x, "x"), _sample(y, "y")
    if x.size != y.size:
        raise ValueError(f"pearson needs samples of equal length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError("pearson needs at least 2 pairs")
    res = stats.pearsonr(x, y, alternative=_check_alternative(alternative))
    return TestResult("pearson", float(res.statistic), float(res.pvalue), alternative, int(x.size))


def paired_ttest(a: Any, b: Any, alternative: str = "two-sided") -> TestResult:
    """Paired t-test on ``a - b`` (``scipy.stats.ttest_rel``); ``a`` and ``b`` paired by position
    (e.g. by seed), at least 2 pairs. When every difference is equal the test is undefined: a
    zero difference gives statistic 0 and p-value 1; a constant non-zero one raises ValueError."""
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size != b.size:
        raise ValueError(f"paired_ttest needs paired samples of equal length, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError("paired_ttest needs at least 2 pairs")
    _check_alternative(alternative)
    d = a - b
    if np.all(d == d[0]):
        if d[0] == 0:
            return TestResult("paired_t", 0.0, 1.0, alternative, int(a.size))
        raise ValueError("every paired difference is the same non-zero value: the t statistic is undefined")
    res = stats.ttest_rel(a, b, alternative=alternative)
    return TestResult("paired_t", float(res.statistic), float(res.pvalue), alternative, int(a.size))


def mannwhitney(a: Any, b: Any, alternative: str = "two-sided") -> TestResult:
    """Mann-Whitney U test of ``a`` against ``b`` (``scipy.stats.mannwhitneyu``, exact for small
    samples without ties); ``"greater"`` tests that ``a`` is stochastically larger.

    Notes
    -----
    With n and m values the smallest attainable one-sided p-value is ``1 / C(n + m, n)``
    (0.05 for 3 vs 3, 0.0079 for 5 vs 5)."""
    from scipy import stats

    a, b = _sample(a, "a"), _sample(b, "b")
    res = stats.mannwhitneyu(a, b, alternative=_check_alternative(alternative))
    return TestResult("mannwhitney_u", float(res.statistic), float(res.pvalue), alternative, int(min(a.size, b.size)))


def spearman(x: Any, y: Any, alternative: str = "two-sided") -> TestResult:
    """Spearman rank correlation and its p-value (``scipy.stats.spearmanr``); ``statistic`` is rho
    (NaN when one sample is constant, with p-value NaN)."""
    from scipy import stats

    x, y = _sample(x, "x"), _sample(y, "y")
    if x.size != y.size:
        raise ValueError(f"spearman needs samples of equal length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError("spearman needs at least 3 pairs")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return TestResult("spearman", float("nan"), float("nan"), _check_alternative(alternative), int(x.size))
    res = stats.spearmanr(x, y, alternative=_check_alternative(alternative))
    return TestResult("spearman", float(res.statistic), float(res.pvalue), alternative, int(x.size))
