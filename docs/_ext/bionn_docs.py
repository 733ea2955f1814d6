"""Build-time pages of the bionn docs: the API reference is generated from ``__all__`` (so it
cannot miss a public name), and :func:`check_coverage` verifies the built inventory against it.

Used by ``docs/conf.py`` (``builder-inited``) and by ``tests/python/test_docs.py``; imports nothing
from Sphinx at module level so the test can use it without Sphinx installed.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import types
from typing import Dict, List, Tuple

#: The public modules, each with its own API page; a public name is one in a module's ``__all__``.
#: Subpackage names in ``__all__`` (``bionn.nn`` in ``bionn.__all__``) must be here themselves.
PUBLIC_MODULES: Tuple[str, ...] = (
    "bionn",
    "bionn.nn",
    "bionn.losses",
    "bionn.optim",
    "bionn.callbacks",
    "bionn.metrics",
    "bionn.attacks",
    "bionn.corruptions",
    "bionn.data",
    "bionn.io",
    "bionn.selforg",
    "bionn.experiments",
    "bionn.plot",
    "bionn.cli",
    "bionn.papers",
    "bionn.papers.demo",
    "bionn.papers.focusing",
    "bionn.papers.amplifying",
    "bionn.papers.flexible",
    "bionn.papers.neglu",
    "bionn.papers.selforg",
)

#: Modules that are deliberately not documented: deprecated aliases (same objects as a documented module).
NOT_DOCUMENTED = {"bionn.datasets": "deprecated alias of bionn.data"}


def public_names(module: str) -> List[str]:
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    if names is None:
        raise RuntimeError(f"{module} has no __all__; the API reference is generated from it")
    return list(names)


def _kind(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, "__wrapped__")):
        return "function"
    return "data"


def api_entries(module: str) -> Dict[str, str]:
    """``{qualified name: kind}`` for every public name of ``module`` (``kind``: class, function,
    data, or module for a subpackage with its own page)."""
    mod = importlib.import_module(module)
    out = {}
    for name in public_names(module):
        obj = getattr(mod, name)
        kind = _kind(obj)
        if kind == "module":
            if obj.__name__ not in PUBLIC_MODULES:
                raise RuntimeError(f"{module}.{name} is a module missing from PUBLIC_MODULES (docs/_ext/bionn_docs.py)")
            out[obj.__name__] = "module"
        else:
            out[f"{module}.{name}"] = kind
    return out


#: ``id(object) -> qualified name`` of the first page that documents a class or function; a later
#: public name for the same object (``DataUnavailable`` in two paper modules) is an alias entry.
_FIRST: Dict[int, str] = {}


def _entry(mod: types.ModuleType, module: str, qual: str, kind: str) -> List[str]:
    """The directive documenting ``qual`` (a class, function or data of ``module``)."""
    lines: List[str] = []
    name = qual.rsplit(".", 1)[1]
    obj = getattr(mod, name)
    if kind in ("class", "function") and _FIRST.setdefault(id(obj), qual) != qual:
        role = "class" if kind == "class" else "func"
        lines += [f".. py:{'class' if kind == 'class' else 'function'}:: {name}", ""]
        lines += [f"   The same {kind} as :{role}:`{_FIRST[id(obj)]}`.", ""]
    elif kind == "class":
        # Members inherited from private bases (``_FocusBase.prune``) belong to this class's page;
        # those of public bases are on the base's page.
        private = [b for b in obj.__mro__[1:] if b.__name__.startswith("_") and b.__module__.startswith("bionn")]
        lines += [f".. autoclass:: {qual}", "   :members:"]
        if private:
            stop = sorted({b.__name__ for b in obj.__mro__[1:] if b not in private})
            lines += [f"   :inherited-members: {', '.join(stop)}"]
        lines += [""]
    elif kind == "function":
        lines += [f".. autofunction:: {qual}", ""]
    else:
        lines += [f".. py:data:: {name}", ""]
        doc = _data_doc(module, name)
        lines += [f"   {doc}" if doc else f"   Value: ``{_short_repr(obj)}``", ""]
    return lines


def submodule_extras(sub: str) -> Dict[str, str]:
    """Public names of submodule ``sub`` that its package does not re-export (``{qual: kind}``):
    they are documented in the package page's "Modules" section, under ``sub``."""
    parent = importlib.import_module(sub.rsplit(".", 1)[0])
    exported = {id(getattr(parent, n)) for n in getattr(parent, "__all__", [])}
    mod = importlib.import_module(sub)
    out = {}
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if id(obj) not in exported and _kind(obj) != "module":
            out[f"{sub}.{name}"] = _kind(obj)
    return out


def _page(module: str) -> str:
    mod = importlib.import_module(module)
    title = f"``{module}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module}", ""]
    entries = api_entries(module)
    subs = [q for q, k in entries.items() if k == "module"]
    if subs:
        lines += ["Subpackages and modules: " + ", ".join(f":mod:`{s}`" for s in subs) + ".", ""]
    for qual, kind in entries.items():
        if kind != "module":
            lines += _entry(mod, module, qual, kind)
    subs_files = _submodules(mod)
    if subs_files:
        lines += ["Modules", "-------", ""]
        lines += [f"Where the names above are defined, with the public names ``{module}`` does not re-export.", ""]
        for sub in subs_files:
            lines += [f".. py:module:: {sub}", ""]
            first = (importlib.import_module(sub).__doc__ or "").strip().split("\n\n")[0]
            first = re.sub(r":\w+:`~?([^`]+)`", r"``\1``", " ".join(first.split()))  # no refs: context is sub
            first = first[:-1] if first.endswith("::") else first  # no literal block follows
            lines += [f"``{sub}``: {first}", ""] if first else []
            submod = importlib.import_module(sub)
            for qual, kind in submodule_extras(sub).items():
                lines += _entry(submod, sub, qual, kind)
    return "\n".join(lines)


def _submodules(mod: types.ModuleType) -> List[str]:
    """Public modules inside package ``mod`` that have no page of their own."""
    if not hasattr(mod, "__path__"):
        return []
    import pkgutil

    out = []
    for info in pkgutil.iter_modules(mod.__path__):
        full = f"{mod.__name__}.{info.name}"
        if not info.name.startswith("_") and full not in PUBLIC_MODULES and full not in NOT_DOCUMENTED:
            out.append(full)
    return sorted(out)


def _short_repr(obj: object) -> str:
    r = repr(obj).replace("`", "'").replace("\n", " ")
    return r if len(r) <= 100 else r[:97] + "..."


def _data_doc(module: str, name: str) -> str:
    """The ``#:`` comment above ``name = ...`` in the module that defines it, if any."""
    mod = importlib.import_module(module)
    try:
        src = inspect.getsource(mod)
    except (OSError, TypeError):
        return ""
    lines = src.splitlines()
    for i, line in enumerate(lines):
        if line.startswith((f"{name} =", f"{name}:")):
            doc = []
            j = i - 1
            while j >= 0 and lines[j].startswith("#:"):
                doc.insert(0, lines[j][2:].strip())
                j -= 1
            return " ".join(doc)
    return ""


def write_api_pages(outdir: str) -> List[str]:
    """Writes ``<outdir>/<module>.rst`` for every public module and ``index.rst``; returns the pages."""
    os.makedirs(outdir, exist_ok=True)
    pages = []
    for module in PUBLIC_MODULES:
        text = _page(module)
        path = os.path.join(outdir, f"{module}.rst")
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:  # unchanged pages keep their mtime (incremental builds)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        pages.append(module)
    index = [
        "API reference",
        "=============",
        "",
        "Generated from each public module's ``__all__`` at build time; the build fails if a",
        "public name is missing from the built inventory (``docs/_ext/bionn_docs.py``).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ] + [f"   {m}" for m in pages]
    with open(os.path.join(outdir, "index.rst"), "w", encoding="utf-8") as f:
        f.write("\n".join(index) + "\n")
    return pages


def expected_objects() -> Dict[str, str]:
    """Every public name that the reference must define: ``{qualified name: kind}``."""
    out: Dict[str, str] = {}
    for module in PUBLIC_MODULES:
        out[module] = "module"
        out.update({q: k for q, k in api_entries(module).items() if k != "module"})
        for sub in _submodules(importlib.import_module(module)):
            out[sub] = "module"
            out.update(submodule_extras(sub))
    return out


def check_coverage(inventory: Dict[str, str]) -> List[str]:
    """Public names missing from ``inventory`` (``{name: py role}`` of the built docs)."""
    return sorted(name for name in expected_objects() if name not in inventory)


def _on_build_finished(app, exception) -> None:  # pragma: no cover - runs inside Sphinx
    if exception is not None or app.builder.format != "html":
        return
    domain = app.env.domains["py"]
    inventory = {name: typ for name, _disp, typ, _doc, _anchor, _prio in domain.get_objects()}
    missing = check_coverage(inventory)
    if missing:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "API reference misses %d public name(s): %s", len(missing), ", ".join(missing[:20])
        )


def _on_builder_inited(app) -> None:  # pragma: no cover - runs inside Sphinx
    _FIRST.clear()
    root = os.path.dirname(os.path.abspath(app.srcdir))
    write_api_pages(os.path.join(app.srcdir, "api"))
    write_ledger_pages(root, os.path.join(app.srcdir, "ledger"))
    write_notebook_figures(root, os.path.join(app.srcdir, "_generated"))


def _on_missing_reference(app, env, node, contnode):  # pragma: no cover - runs inside Sphinx
    """A relative Python reference (``:class:`DataUnavailable``` or ``:meth:`RunStore.save_probe```
    in a module that does not re-export the name) resolves to the one documented object whose name
    ends with it, if there is exactly one (aliases aside)."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target or target.startswith(("bionn.", "_")):
        return None
    domain = env.domains["py"]
    hits = sorted({name for name, *_ in domain.get_objects() if name.endswith("." + target)})
    firsts = [h for h in hits if h in _FIRST.values()] or hits
    if len(firsts) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    obj = domain.objects[firsts[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, firsts[0])


def setup(app):  # pragma: no cover - runs inside Sphinx
    app.connect("builder-inited", _on_builder_inited)
    app.connect("build-finished", _on_build_finished)
    app.connect("missing-reference", _on_missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# -- pages rendered from committed records and notebooks ---------------------------------------


def _write_if_changed(path: str, text) -> None:
    mode = "wb" if isinstance(text, bytes) else "w"
    if os.path.exists(path):
        with open(path, "rb" if mode == "wb" else "r", **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            if f.read() == text:
                return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
        f.write(text)


def write_ledger_pages(root: str, outdir: str) -> List[str]:
    """``<outdir>/index.md``: every claim's verdict, computed now from the records in
    ``<root>/results`` (:func:`bionn.experiments.assess`, no training), and one page per paper that
    includes its committed report ``results/<paper>.md`` (rendered by ``bionn report``)."""
    from bionn import experiments as ex
    from bionn.experiments import report
    from bionn.experiments.records import RunStore

    results = ex.assess(ex.claims(), "full", RunStore(os.path.join(root, "results")))
    table = report.ledger_table(results, markdown=True)
    papers = [p for p in ex.papers() if os.path.exists(os.path.join(root, "results", f"{p}.md"))]
    text = [
        "# Reproduction ledger",
        "",
        "Every claim of every paper, with the paper's value, bionn's and the verdict. This page is",
        "computed while the docs are built, from the run records committed under `results/`",
        "(`bionn.experiments.assess`; nothing is trained and no number is typed); the per-paper pages",
        "include the reports `bionn report` rendered from the same records.",
        "",
        f"{report.counts(results)}.",
        "",
        table,
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
        *papers,
        "```",
        "",
    ]
    _write_if_changed(os.path.join(outdir, "index.md"), "\n".join(text))
    rel = os.path.relpath(os.path.join(root, "results"), outdir)
    for p in papers:
        page = f"```{{include}} {rel}/{p}.md\n:relative-images:\n:relative-docs: ../\n:heading-offset: 0\n```\n"
        _write_if_changed(os.path.join(outdir, f"{p}.md"), page)
    return papers


#: Figures taken from the committed outputs of the notebooks (the papers' walk-throughs), by
#: ``(notebook, code cell index, image index)``; the mechanism pages show them.
NOTEBOOK_FIGURES = {
    "amplifying_activation.png": ("02_amplifying_attenuating.ipynb", 6, 0),
    "flexible_threshold_maps.png": ("03_flexible_layer_robustness.ipynb", 6, 0),
    "neglu_activations.png": ("04_neglu_mixlu.ipynb", 6, 0),
}


def write_notebook_figures(root: str, outdir: str) -> None:
    """Copies the images listed in :data:`NOTEBOOK_FIGURES` out of the committed notebooks."""
    import base64
    import json

    for name, (nb, cell, k) in NOTEBOOK_FIGURES.items():
        with open(os.path.join(root, "notebooks", nb), encoding="utf-8") as f:
            cells = json.load(f)["cells"]
        images = [o["data"]["image/png"] for o in cells[cell].get("outputs", []) if "image/png" in o.get("data", {})]
        if len(images) <= k:
            raise RuntimeError(f"notebooks/{nb} cell {cell} has no image {k} (re-run it or fix NOTEBOOK_FIGURES)")
        data = "".join(images[k]) if isinstance(images[k], list) else images[k]
        _write_if_changed(os.path.join(outdir, name), base64.b64decode(data))
