"""Re-run the notebooks for real (``QUICK = False``) and store their outputs in place.

Usage (from the repository root, with ``pip install bionn[notebooks]``)::

    python notebooks/execute.py                       # every notebook in notebooks/
    python notebooks/execute.py notebooks/00_quickstart.ipynb
    python notebooks/execute.py --quick               # quick mode, into a temporary dir (a smoke test)

This is ``papermill NB NB -p QUICK False -k python3`` with two differences: the notebook is
executed into a temporary file and only moved over the original when every cell succeeded, and
stream outputs are coalesced (nbclient's ``coalesce_streams``: progress-bar redraws collapse into
their final state), which keeps the committed notebooks small and readable.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, quick: bool, out_dir: Path) -> Path:
    """Runs ``path`` with papermill into ``out_dir``; returns the executed notebook's path."""
    import papermill as pm

    out = out_dir / path.name
    pm.execute_notebook(str(path), str(out), parameters={"QUICK": quick}, kernel_name="python3",
                        cwd=str(path.parent), coalesce_streams=True, progress_bar=False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--quick", action="store_true", help="QUICK=True, outputs to a temporary dir only")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(p for p in HERE.glob("*.ipynb") if not p.name.startswith("."))
    for path in paths:
        start = time.perf_counter()
        # Executed outside notebooks/ so that a half-written run is never picked up (or committed).
        with tempfile.TemporaryDirectory(prefix="bionn-notebook-") as tmp:
            out = execute(path, args.quick, Path(tmp))
            if not args.quick:
                shutil.copyfile(out, path)
        print(f"{path}: {'quick' if args.quick else 'full'} run took {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
