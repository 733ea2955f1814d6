"""The API reference covers every public name (issue 16). The Sphinx build itself runs in CI
(`.ci/run`: warnings are errors, and the build fails when the built inventory misses a name of
:func:`expected_objects`); these tests check, without Sphinx, that the generator behind it sees
every public module and writes an entry for every public name."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import bionn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def docs():
    spec = importlib.util.spec_from_file_location("bionn_docs", ROOT / "docs" / "_ext" / "bionn_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _public_modules():
    """Every importable bionn module whose dotted path has no private part."""
    out = ["bionn"]
    for info in pkgutil.walk_packages(bionn.__path__, "bionn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            out.append(info.name)
    return out


def test_every_public_name_of_every_public_module_is_expected(docs):
    """Every public module has a page or sits in a package page's "Modules" section, and every name
    in its ``__all__`` is expected in the reference, under the module or as re-exported by its
    package (the same object)."""
    expected = docs.expected_objects()
    documented = {}
    for qual in expected:
        module, _, name = qual.rpartition(".")
        if qual not in docs.PUBLIC_MODULES and module and name:
            obj = getattr(importlib.import_module(module), name, None)
            documented.setdefault(id(obj), qual)
    for name in _public_modules():
        if name in docs.NOT_DOCUMENTED:
            continue
        assert name in expected, f"{name}: a public module missing from the reference"
        mod = importlib.import_module(name)
        for n in getattr(mod, "__all__", []):
            obj = getattr(mod, n)
            if isinstance(obj, type(bionn)):
                continue
            assert f"{name}.{n}" in expected or id(obj) in documented, f"{name}.{n} is not in the reference"


def test_generated_pages_have_an_entry_for_every_public_name(docs, tmp_path):
    docs._FIRST.clear()
    pages = docs.write_api_pages(str(tmp_path))
    assert set(pages) == set(docs.PUBLIC_MODULES)
    expected = docs.expected_objects()
    for module in docs.PUBLIC_MODULES:
        assert f".. automodule:: {module}" in (tmp_path / f"{module}.rst").read_text(encoding="utf-8")
    for qual, kind in expected.items():
        module, _, name = qual.rpartition(".")
        if kind == "module":
            if qual not in docs.PUBLIC_MODULES:  # a submodule: a target on its package's page
                text = (tmp_path / f"{module}.rst").read_text(encoding="utf-8")
                assert f".. py:module:: {qual}\n" in text, qual
            continue
        page = module if module in docs.PUBLIC_MODULES else module.rpartition(".")[0]
        text = (tmp_path / f"{page}.rst").read_text(encoding="utf-8")
        pattern = rf"^\.\. (auto(class|function):: {re.escape(qual)}|py:(data|class|function):: {re.escape(name)})$"
        assert re.search(pattern, text, re.M), f"no entry for {qual} in {page}.rst"
    # spot checks: names from several kinds and modules are expected
    for q in (
        "bionn.nn.FocusDense2D",
        "bionn.attacks.DEFAULTS",
        "bionn.callbacks.StepDecay",
        "bionn.show_config",
        "bionn.data.catalog.VerifyResult",
        "bionn.experiments.report.render_paper",
    ):
        assert q in expected


def test_coverage_check_reports_a_missing_name(docs):
    expected = docs.expected_objects()
    assert docs.check_coverage(expected) == []
    partial = dict(expected)
    del partial["bionn.callbacks.StepDecay"]
    assert docs.check_coverage(partial) == ["bionn.callbacks.StepDecay"]
