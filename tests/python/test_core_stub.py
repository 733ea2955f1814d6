"""The checked-in type stub python/bionn/_core.pyi matches the built extension bionn._core: the same
public names, the same classes with the same bases, and per class the same methods and properties.
Regenerate the stub with tools/stubgen.sh after changing a binding."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Dict, Set, Tuple

import pytest

from bionn import _core

STUB = Path(__file__).resolve().parents[2] / "python" / "bionn" / "_core.pyi"
HINT = "the stub is out of date: regenerate it with tools/stubgen.sh"

# Member kinds: "method" (a def), "property" (@property or an annotated attribute).
Members = Dict[str, str]


def _public(name: str) -> bool:
    return not name.startswith("_")


def _is_property(node: ast.FunctionDef) -> bool:
    for d in node.decorator_list:
        if isinstance(d, ast.Name) and d.id == "property":
            return True
        if isinstance(d, ast.Attribute) and d.attr in ("setter", "deleter"):
            return True
    return False


def _stub() -> Tuple[Dict[str, Tuple[Tuple[str, ...], Members]], Set[str], Set[str], list]:
    """(classes: name -> (bases, members), functions, attributes, __all__) of the stub."""
    tree = ast.parse(STUB.read_text(), filename=str(STUB))
    classes: Dict[str, Tuple[Tuple[str, ...], Members]] = {}
    functions: Set[str] = set()
    attributes: Set[str] = set()
    all_names: list = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: Members = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and _public(item.name):
                    members[item.name] = "property" if _is_property(item) else "method"
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and _public(item.target.id):
                    members[item.target.id] = "property"
            bases = tuple(ast.unparse(b) for b in node.bases)
            classes[node.name] = (bases, members)
        elif isinstance(node, ast.FunctionDef):
            functions.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == "__all__":
                all_names = ast.literal_eval(node.value)
            else:
                attributes.add(node.target.id)
    return classes, functions, attributes, all_names


def _module_members(cls: type) -> Members:
    out: Members = {}
    for name, value in vars(cls).items():
        if _public(name):
            out[name] = "property" if isinstance(value, property) else "method"
    return out


STUB_CLASSES, STUB_FUNCTIONS, STUB_ATTRIBUTES, STUB_ALL = _stub()
MODULE_NAMES = sorted(n for n in dir(_core) if _public(n))
MODULE_CLASSES = [n for n in MODULE_NAMES if inspect.isclass(getattr(_core, n))]


def test_stub_has_every_public_name_and_no_other():
    stub_names = set(STUB_CLASSES) | STUB_FUNCTIONS | STUB_ATTRIBUTES
    assert sorted(set(MODULE_NAMES) - stub_names) == [], "missing from the stub; " + HINT
    assert sorted(stub_names - set(MODULE_NAMES)) == [], "in the stub but not in bionn._core; " + HINT
    assert sorted(STUB_ALL) == MODULE_NAMES, HINT


def test_stub_kinds_match():
    for name in MODULE_NAMES:
        obj = getattr(_core, name)
        if inspect.isclass(obj):
            assert name in STUB_CLASSES, f"{name} is a class; " + HINT
        elif callable(obj):
            assert name in STUB_FUNCTIONS, f"{name} is a function; " + HINT
        else:
            assert name in STUB_ATTRIBUTES, f"{name} is an attribute; " + HINT


@pytest.mark.parametrize("name", MODULE_CLASSES)
def test_stub_class_matches(name):
    cls = getattr(_core, name)
    bases, members = STUB_CLASSES[name]
    module_bases = tuple(b.__name__ for b in cls.__bases__ if b.__module__ == _core.__name__)
    assert bases == module_bases, f"{name}'s bases; " + HINT
    assert members == _module_members(cls), f"{name}'s methods and properties; " + HINT
