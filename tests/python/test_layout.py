"""The package layout: no import cycle, no oversized module, and every public name the README's
tour uses still resolves."""

from __future__ import annotations

import ast
import re
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import bionn

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "bionn"
sys.path.insert(0, str(ROOT / "tests"))
import import_graph  # noqa: E402

MAX_LINES = 800


def test_no_import_cycle_in_the_package():
    found = import_graph.cycles(import_graph.edges())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_finds_cycles(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a, sub\n")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g  # a lazy import still counts\n")
    (pkg / "c.py").write_text("import pkg.sub.b\n")
    found = import_graph.cycles(import_graph.edges(pkg))
    assert found == [["pkg.a", "pkg.sub.b"]]


def test_the_graph_sees_every_layer_of_the_package():
    graph = import_graph.edges()
    assert "bionn.nn.base" in graph["bionn.nn.focus"]
    assert "bionn.experiments" in graph["bionn.papers.focusing"] or any(
        t.startswith("bionn.experiments") for t in graph["bionn.papers.focusing"]
    )
    assert not any(
        t.startswith("bionn.papers")
        for m, ts in graph.items()
        if not m.startswith("bionn.papers")
        for t in ts
        if m != "bionn"
    ), "only bionn/__init__ may import bionn.papers"


def test_no_module_is_over_800_lines():
    sizes = {
        p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    big = {k: v for k, v in sizes.items() if v > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


# ------------------------------------------------------------------------------------------------
# The README's tour
# ------------------------------------------------------------------------------------------------
README = (ROOT / "README.md").read_text(encoding="utf-8")
TOUR = README[README.index("## A tour of the API") : README.index("## What is reproduced")]
MODULES = {
    "nn": bionn.nn,
    "optim": bionn.optim,
    "losses": bionn.losses,
    "data": bionn.data,
    "callbacks": bionn.callbacks,
    "plot": bionn.plot,
    "attacks": bionn.attacks,
    "corruptions": bionn.corruptions,
    "experiments": bionn.experiments,
    "selforg": bionn.selforg,
    "metrics": bionn.metrics,
    "papers": bionn.papers,
    "bionn": bionn,
}


def _tour_names():
    """Dotted names the tour mentions (``nn.FocusDense``, ``bionn.data.locate``, ...)."""
    names = set()
    blocks = re.findall(r"```python\n(.*?)```", TOUR, re.S)
    prose = re.sub(r"```.*?```", "", TOUR, flags=re.S)
    pattern = re.compile(r"(?<![\w.])((?:{})(?:\.[A-Za-z_]\w*)+)".format("|".join(MODULES)))
    for code in re.findall(r"`([^`]+)`", prose) + blocks:
        names.update(m.group(1) for m in pattern.finditer(code))
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bionn"):
                names.update(f"{node.module}.{a.name}" for a in node.names)
    return sorted(names)


DEPRECATED = {"bionn.datasets"}  # named by the README as the deprecated alias it is
TOUR_NAMES = [n for n in _tour_names() if n not in DEPRECATED]


def test_the_tour_mentions_the_api():
    assert len(TOUR_NAMES) > 40 and "nn.FocusDense" in TOUR_NAMES and "bionn.data.locate" in TOUR_NAMES


@pytest.mark.parametrize("name", TOUR_NAMES)
def test_every_name_in_the_readme_tour_resolves(name):
    parts = name.split(".")
    obj = MODULES[parts[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the tour must not teach deprecated names
        for attr in parts[1:]:
            obj = getattr(obj, attr)


def test_the_tour_imports_run():
    for block in re.findall(r"```python\n(.*?)```", TOUR, re.S):
        imports = [line for line in block.splitlines() if re.match(r"(from bionn|import bionn)", line)]
        exec(textwrap.dedent("\n".join(imports)), {})


def test_old_import_paths_keep_working():
    from bionn.focus import FocusDense  # noqa: F401 - the pre-package paths, kept for one release
    from bionn.neglu import MixLU  # noqa: F401

    assert bionn.amplifying.SecondaryActivation is bionn.nn.SecondaryActivation
    with warnings.catch_warnings():  # the warnings themselves: tests/python/data, tests/python/selforg
        warnings.simplefilter("ignore", DeprecationWarning)
        assert bionn.datasets.load_fashion_mnist is bionn.data.load_fashion_mnist
        assert bionn.selforg.load_mnist is bionn.papers.selforg.load_mnist
