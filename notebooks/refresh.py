"""Re-render the notebook cells that read run records, without re-running the notebook.

Usage (from the repository root, after new records are committed in ``results/``)::

    python notebooks/refresh.py                       # every notebook in notebooks/
    python notebooks/refresh.py notebooks/01_focusing_neuron.ipynb

Cells tagged ``ledger`` (the paper's claims ledger) and ``records`` (tables and figures of the full
protocol, read from the committed records) are executed in a fresh ``python3`` kernel with
``QUICK = False``, after the cells tagged ``parameters``, ``injected-parameters`` and ``setup``
(imports); no other cell runs, so nothing is trained when the records are complete. Their new
outputs replace the old ones in place (the notebook file is replaced atomically). The test suite
checks that every ``ledger`` cell's stored output is what the committed records say now.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_TAGS = ("parameters", "injected-parameters", "setup", "ledger", "records")
RENDER_TAGS = ("ledger", "records")


def _tags(cell: dict) -> list:
    return cell.get("metadata", {}).get("tags", [])


def refresh(path: Path) -> int:
    """Re-executes ``path``'s record-reading cells; returns how many were refreshed."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    targets = [c for c in nb.cells if c.cell_type == "code" and any(t in _tags(c) for t in RENDER_TAGS)]
    if not targets:
        return 0
    sub = copy.deepcopy(nb)
    sub.cells = [c for c in sub.cells if c.cell_type == "code" and any(t in _tags(c) for t in RUN_TAGS)]
    for c in sub.cells:  # the full protocol: its records are the committed ones
        if "injected-parameters" in _tags(c) or (
            "parameters" in _tags(c) and not any("injected-parameters" in _tags(x) for x in sub.cells)
        ):
            c.source = "# Parameters\nQUICK = False\n"
    client = NotebookClient(
        sub, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}, coalesce_streams=True
    )
    client.execute()
    by_id = {c.id: c for c in sub.cells}
    top = max((c.get("execution_count") or 0 for c in nb.cells if c.cell_type == "code"), default=0)
    for cell in targets:
        new = by_id[cell.id]
        cell.outputs = new.outputs
        if not cell.get("execution_count"):
            top += 1
            cell.execution_count = top
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".ipynb")
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return len(targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(p for p in HERE.glob("*.ipynb") if not p.name.startswith("."))
    for path in paths:
        start = time.perf_counter()
        n = refresh(path)
        print(f"{path}: {n} cell(s) re-rendered from the records in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
