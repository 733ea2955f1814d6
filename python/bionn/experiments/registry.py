"""The registry of the papers' experiments and claims: :class:`Experiment`, :class:`Claim`.

An :class:`Experiment` is a training protocol: a run function ``run(seed=..., **config)`` returning a
dict of metrics, the configs and seeds of the paper's protocol, what quick mode cuts, the protocol in
words and the **declared deviations** from the paper. Each run leaves one record in a
:class:`~bionn.experiments.RunStore`.

A :class:`Claim` is a statement of a paper, fixed before any run: where the paper makes it, the
paper's value as printed, and its :class:`~bionn.experiments.criteria.Criterion` (the paper's test,
alpha, repeats and magnitude). Claims compute their verdicts from the records only
(:mod:`bionn.experiments.ledger`).

The registry knows no paper: the modules of :mod:`bionn.papers` import this one and register their
experiments and claims when imported (``import bionn`` imports them after this package).
"""

from __future__ import annotations

import fnmatch
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .criteria import Criterion
from .records import _canonical

__all__ = [
    "Quick",
    "Experiment",
    "Claim",
    "Section",
    "ClaimSkipped",
    "register_experiment",
    "register_claim",
    "register_section",
    "sections",
    "unregister",
    "experiments",
    "get_experiment",
    "claims",
    "get_claim",
    "select_claims",
    "select",
    "section_experiments",
    "papers",
    "MODES",
]

MODES = ("quick", "full")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ClaimSkipped(Exception):
    """Raised (by an experiment's ``requires`` or run) when the data it needs is not on this machine;
    the message names the files and where to put them, ``dataset`` names the data set (e.g.
    ``"cifar10"``). The claim's verdict is SKIPPED, which is never a pass, and an ERROR with
    ``--require-data`` unless the data set is in ``--allow-missing``."""

    def __init__(self, message: str = "", dataset: Optional[str] = None) -> None:
        super().__init__(message)
        self.dataset = dataset

    def __reduce__(self) -> Any:  # keep ``dataset`` through pickling (worker processes, dask)
        return (type(self), (str(self), self.dataset))


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"{what} must be a name of letters, digits and _.+- , got {value!r}")
    return value


def _seeds(value: Any, what: str) -> Tuple[int, ...]:
    try:
        seeds = tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of ints, got {type(value).__name__}") from None
    if not seeds:
        raise ValueError(f"{what} is empty")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"{what} must hold ints >= 0, got {s!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{what} has duplicates")
    return tuple(int(s) for s in seeds)


def _configs(value: Any, what: str) -> Tuple[Dict[str, Any], ...]:
    if isinstance(value, Mapping) or isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of dicts")
    configs = tuple(dict(c) if isinstance(c, Mapping) else c for c in value)
    if not configs:
        raise ValueError(f"{what} is empty")
    seen = set()
    for i, c in enumerate(configs):
        if not isinstance(c, dict):
            raise TypeError(f"{what}[{i}] must be a dict, got {type(c).__name__}")
        _, text = _canonical(c)  # JSON types, finite: the record key
        if text in seen:
            raise ValueError(f"{what}[{i}] duplicates an earlier config: {c}")
        seen.add(text)
    return configs


@dataclass(frozen=True)
class Quick:
    """What quick mode (a smoke test of the same code path) changes.

    Parameters
    ----------
    seeds : sequence of int
        Quick mode's seeds.
    overrides : dict
        Merged into every config (e.g. ``{"epochs": 2, "n_train": 2000}``).
    configs : sequence of int, optional
        Indices of the full protocol's configs to keep (all by default).
    note : str
        What quick mode cuts, in words (printed in reports and by ``--list``).
    """

    seeds: Sequence[int]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    configs: Optional[Sequence[int]] = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", _seeds(self.seeds, "Quick.seeds"))
        if not isinstance(self.overrides, Mapping):
            raise TypeError("Quick.overrides must be a dict")
        object.__setattr__(self, "overrides", dict(self.overrides))
        if self.configs is not None:
            idx = tuple(self.configs)
            if not idx or not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in idx):
                raise ValueError("Quick.configs must be a non-empty sequence of config indices")
            object.__setattr__(self, "configs", tuple(int(i) for i in idx))


@dataclass(frozen=True)
class Experiment:
    """A training protocol whose runs are recorded.

    Parameters
    ----------
    paper, name : str
        The record identity is ``(paper, name, config, seed)``. Never derive ``name`` from a
        function name: renaming code must not orphan records.
    run : callable
        ``run(seed=seed, **config) -> dict`` of JSON metrics; a ``"curves"`` entry (dict of lists)
        goes to the record's curves. Module level (picklable) for the parallel backends.
    configs : sequence of dict
        The full protocol's configs (every setting the run depends on, so a record says how it
        was made).
    seeds : sequence of int
        The full protocol's seeds (the paper's number of repeats).
    quick : Quick
        What quick mode changes.
    protocol : dict of str
        The protocol in words: data, architecture, optimizer, schedule, epochs, batch, init,
        repeats — as the paper (or the authors' code) gives it.
    deviations : sequence of str
        Every way the full protocol departs from the paper's (data subset, epochs, repeats...).
    requires : callable, optional
        Called before any run; raises :class:`ClaimSkipped` (naming the files and where to put
        them) when the data is absent.
    description : str
    """

    paper: str
    name: str
    run: Callable[..., Mapping[str, Any]]
    configs: Sequence[Mapping[str, Any]]
    seeds: Sequence[int]
    quick: Quick
    protocol: Mapping[str, str] = field(default_factory=dict)
    deviations: Sequence[str] = ()
    requires: Optional[Callable[[], Any]] = None
    description: str = ""

    def __post_init__(self) -> None:
        _name(self.paper, "Experiment.paper")
        _name(self.name, "Experiment.name")
        if self.paper == "all":
            raise ValueError("'all' is reserved (bionn reproduce all)")
        if not callable(self.run):
            raise TypeError(f"Experiment {self.name!r}: run must be callable")
        if self.requires is not None and not callable(self.requires):
            raise TypeError(f"Experiment {self.name!r}: requires must be callable")
        if not isinstance(self.quick, Quick):
            raise TypeError(f"Experiment {self.name!r}: quick must be a Quick")
        object.__setattr__(self, "configs", _configs(self.configs, f"Experiment {self.name!r} configs"))
        object.__setattr__(self, "seeds", _seeds(self.seeds, f"Experiment {self.name!r} seeds"))
        if self.quick.configs is not None and not all(0 <= i < len(self.configs) for i in self.quick.configs):
            raise ValueError(f"Experiment {self.name!r}: Quick.configs indices out of range")
        _configs(self.plan("quick")[0], f"Experiment {self.name!r} quick configs")
        object.__setattr__(self, "protocol", {str(k): str(v) for k, v in dict(self.protocol).items()})
        if isinstance(self.deviations, str):
            raise TypeError(f"Experiment {self.name!r}: deviations must be a list of strings")
        object.__setattr__(self, "deviations", tuple(str(d) for d in self.deviations))

    def plan(self, mode: str = "full") -> Tuple[List[Dict[str, Any]], List[int]]:
        """``(configs, seeds)`` of ``mode``."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "full":
            return [dict(c) for c in self.configs], list(self.seeds)
        base = self.configs if self.quick.configs is None else [self.configs[i] for i in self.quick.configs]
        return [dict(c, **self.quick.overrides) for c in base], list(self.quick.seeds)

    def n_runs(self, mode: str = "full") -> int:
        configs, seeds = self.plan(mode)
        return len(configs) * len(seeds)


@dataclass(frozen=True)
class Claim:
    """A statement of a paper and the criterion that checks it, fixed before any run.

    Parameters
    ----------
    id : str
        Unique, ``"<paper>.<name>"`` (e.g. ``"focusing.table2_fashion_focus_s_vs_dense"``).
    paper : str
    where : str
        Where the paper states it (``"Table 2, §4.2.1"``).
    statement : str
        The paper's statement.
    paper_value : str
        The paper's numbers as printed, with their spread and repeats.
    criterion : Criterion
        The paper's test (see :mod:`bionn.experiments.criteria`); its experiments must be
        registered for this paper.
    reading : str
        How an ambiguous statement is read, with the page reference.
    deviations : sequence of str
        Deviations specific to this claim (the experiments' own are added in reports).
    quick_power : bool
        Whether the quick version has the power to show the claim (then, where the committed full
        records say REPRODUCED, quick mode must hold too; the test suite checks it).
    """

    id: str
    paper: str
    where: str
    statement: str
    paper_value: str
    criterion: Criterion
    reading: str = ""
    deviations: Sequence[str] = ()
    quick_power: bool = False

    def __post_init__(self) -> None:
        _name(self.id, "Claim.id")
        _name(self.paper, "Claim.paper")
        if not self.id.startswith(self.paper + "."):
            raise ValueError(f"Claim id {self.id!r} must start with its paper key {self.paper + '.'!r}")
        for name in ("where", "statement", "paper_value"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"Claim {self.id!r}: {name} must be a non-empty string")
        if not isinstance(self.criterion, Criterion):
            raise TypeError(f"Claim {self.id!r}: criterion must be a Criterion")
        if not self.criterion.experiments:
            raise ValueError(f"Claim {self.id!r}: the criterion reads no experiment")
        if isinstance(self.deviations, str):
            raise TypeError(f"Claim {self.id!r}: deviations must be a list of strings")
        object.__setattr__(self, "deviations", tuple(str(d) for d in self.deviations))

    @property
    def experiments(self) -> Tuple[str, ...]:
        return tuple(self.criterion.experiments)

    def describe_criterion(self) -> str:
        return self.criterion.describe()


@dataclass(frozen=True)
class Section:
    """A table or figure of a paper's report that is not one claim's evidence — e.g. a table of all
    configurations beside the paper's, or a scatter of every trial — rendered from run records.

    Parameters
    ----------
    paper, name : str
        ``name`` names the section's figure file (``figures/<paper>/section_<name>.png``).
    title : str
    experiments : sequence of str
        The experiments whose records it reads (full-protocol records in reports).
    table : callable, optional
        ``table(data) -> str``: markdown from a :class:`ClaimData` (every number computed there).
    plot : callable, optional
        ``plot(data, fig) -> bool`` draws on a matplotlib figure; False = nothing to draw.
    note : str
        Text printed under the title (what is shown, where the paper's numbers come from).
    """

    paper: str
    name: str
    title: str
    experiments: Sequence[str]
    table: Optional[Callable[[Any], str]] = None
    plot: Optional[Callable[[Any, Any], bool]] = None
    note: str = ""

    def __post_init__(self) -> None:
        _name(self.paper, "Section.paper")
        _name(self.name, "Section.name")
        if isinstance(self.experiments, str) or not self.experiments:
            raise TypeError(f"Section {self.name!r}: experiments must be a non-empty list of names")
        object.__setattr__(self, "experiments", tuple(self.experiments))
        if self.table is None and self.plot is None:
            raise ValueError(f"Section {self.name!r} needs a table or a plot")
        for attr in ("table", "plot"):
            if getattr(self, attr) is not None and not callable(getattr(self, attr)):
                raise TypeError(f"Section {self.name!r}: {attr} must be callable")


_EXPERIMENTS: Dict[Tuple[str, str], Experiment] = {}
_SECTIONS: Dict[Tuple[str, str], Section] = {}
_CLAIMS: Dict[str, Claim] = {}


def register_experiment(experiment: Experiment, *, replace: bool = False) -> Experiment:
    """Adds an experiment (ValueError if ``(paper, name)`` is taken, unless ``replace``)."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"expected an Experiment, got {type(experiment).__name__}")
    key = (experiment.paper, experiment.name)
    if key in _EXPERIMENTS and not replace:
        raise ValueError(f"experiment {experiment.paper}/{experiment.name} is already registered")
    _EXPERIMENTS[key] = experiment
    return experiment


def register_claim(claim: Claim, *, replace: bool = False) -> Claim:
    """Adds a claim; its criterion's experiments must be registered for its paper."""
    if not isinstance(claim, Claim):
        raise TypeError(f"expected a Claim, got {type(claim).__name__}")
    for name in claim.experiments:
        if (claim.paper, name) not in _EXPERIMENTS:
            raise ValueError(f"claim {claim.id!r} reads experiment {claim.paper}/{name}, which is not registered")
    if claim.id in _CLAIMS and not replace:
        raise ValueError(f"a claim with id {claim.id!r} is already registered")
    _CLAIMS[claim.id] = claim
    return claim


def register_section(section: Section, *, replace: bool = False) -> Section:
    """Adds a report section; its experiments must be registered. Returns it."""
    if not isinstance(section, Section):
        raise TypeError(f"register_section needs a Section, got {type(section).__name__}")
    for name in section.experiments:
        if (section.paper, name) not in _EXPERIMENTS:
            raise ValueError(f"Section {section.name!r} reads unknown experiment {section.paper}/{name}")
    key = (section.paper, section.name)
    if key in _SECTIONS and not replace:
        raise ValueError(f"section {section.paper}/{section.name} is already registered")
    _SECTIONS[key] = section
    return section


def sections(paper: Optional[str] = None) -> List[Section]:
    """Registered report sections (of ``paper``), in registration order."""
    return [s for (p, _), s in _SECTIONS.items() if paper in (None, "all") or p == paper]


def unregister(paper: str) -> None:
    """Removes a paper's claims, sections and experiments (tests register throw-away papers)."""
    for cid in [c.id for c in _CLAIMS.values() if c.paper == paper]:
        del _CLAIMS[cid]
    for key in [k for k in _SECTIONS if k[0] == paper]:
        del _SECTIONS[key]
    for key in [k for k in _EXPERIMENTS if k[0] == paper]:
        del _EXPERIMENTS[key]


def experiments(paper: Optional[str] = None) -> List[Experiment]:
    """Registered experiments (of ``paper``), in registration order."""
    return [e for (p, _), e in _EXPERIMENTS.items() if paper in (None, "all") or p == paper]


def get_experiment(paper: str, name: str) -> Experiment:
    try:
        return _EXPERIMENTS[(paper, name)]
    except KeyError:
        raise KeyError(f"no experiment {paper}/{name}") from None


def claims(paper: Optional[str] = None) -> List[Claim]:
    """Registered claims (of ``paper``; ``"all"`` or None for every paper), in registration order."""
    return [c for c in _CLAIMS.values() if paper in (None, "all") or c.paper == paper]


def get_claim(claim_id: str) -> Claim:
    try:
        return _CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"no claim with id {claim_id!r}") from None


def papers() -> List[str]:
    """Keys of the papers with registered claims, sorted."""
    return sorted({c.paper for c in _CLAIMS.values()})


def select_claims(patterns: Sequence[str]) -> List[Claim]:
    """The claims named by ``patterns``: ``"all"``, paper keys, claim ids, or globs of claim ids
    (``"focusing.table2_*"``). Registration order, no duplicates; ValueError naming a pattern that
    matches nothing."""
    if isinstance(patterns, str):
        patterns = [patterns]
    chosen: Dict[str, Claim] = {}
    for pat in patterns:
        if pat == "all":
            hits = claims()
        elif pat in papers():
            hits = claims(pat)
        else:
            hits = [c for c in _CLAIMS.values() if fnmatch.fnmatchcase(c.id, pat)]
        if not hits:
            raise ValueError(
                f"{pat!r} names no paper, claim or glob of claims; papers: {', '.join(papers()) or '(none)'} "
                "(bionn reproduce --list shows the claims)"
            )
        for c in hits:
            chosen.setdefault(c.id, c)
    order = list(_CLAIMS)
    return sorted(chosen.values(), key=lambda c: order.index(c.id))


def section_experiments(paper: Optional[str] = None) -> List[Experiment]:
    """The experiments that report sections of ``paper`` (every paper by default) read and no claim
    of that paper does — e.g. a comparison the paper proposes without a measurable statement. They
    have no verdict; ``bionn reproduce <paper>`` (or ``all``) runs them with the claims."""
    out: List[Experiment] = []
    for sec in sections(paper):
        used = {n for c in claims(sec.paper) for n in c.experiments}
        for name in sec.experiments:
            exp = get_experiment(sec.paper, name)
            if name not in used and not any(exp is e for e in out):
                out.append(exp)
    return out


def select(patterns: Sequence[str]) -> Tuple[List[Claim], List[Experiment]]:
    """``(claims, experiments)`` named by ``patterns``: as :func:`select_claims`, plus
    ``"<paper>/<experiment>"`` naming an experiment directly; ``"all"`` and paper keys also bring
    their papers' :func:`section_experiments`. ValueError naming a pattern that matches nothing."""
    if isinstance(patterns, str):
        patterns = [patterns]
    claim_patterns: List[str] = []
    extra: List[Experiment] = []

    def add(exps: Sequence[Experiment]) -> None:
        extra.extend(e for e in exps if not any(e is x for x in extra))

    for pat in patterns:
        if "/" in pat:
            paper, _, name = pat.partition("/")
            try:
                add([get_experiment(paper, name)])
            except KeyError:
                known = ", ".join(f"{e.paper}/{e.name}" for e in experiments()) or "(none)"
                raise ValueError(f"{pat!r} names no experiment; experiments: {known}") from None
            continue
        claim_patterns.append(pat)
        if pat == "all":
            add(section_experiments())
        elif pat in papers():
            add(section_experiments(pat))
    chosen = select_claims(claim_patterns) if claim_patterns else []
    return chosen, extra
