"""The notebooks in notebooks/ run end to end (quick mode) and are committed with real outputs.

Each notebook has a cell tagged ``parameters`` defining ``QUICK``; papermill runs it with
``QUICK=True`` (a small subset, a few epochs) into a temporary directory, so the committed
notebook is never modified. Needs ``pip install papermill nbclient ipykernel matplotlib`` (the
``notebooks`` extra) plus the extras the notebooks import (pandas, scipy, tqdm) and the
Fashion-MNIST files; skipped with the reason when those are missing.
"""

import json
import time
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if not p.name.startswith("."))
QUICK_BUDGET_SECONDS = 600  # per-cell timeout; quick runs take well under a minute


def _ids(paths):
    return [p.name for p in paths]


def _load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tagged(nb, tag):
    return [c for c in nb["cells"] if tag in c.get("metadata", {}).get("tags", [])]


def _require_notebook_tools():
    missing = []
    for module in ("papermill", "nbclient", "ipykernel", "matplotlib"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        pytest.skip(
            f"notebook tests need {', '.join(missing)}: pip install papermill nbclient ipykernel matplotlib "
            "(or pip install bionn[notebooks])"
        )
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no 'python3' Jupyter kernel: python -m ipykernel install --user --name python3")


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_has_quick_parameter_and_full_run_outputs(path):
    """Static check (no execution): readers must see the outputs of a real run."""
    nb = _load(path)
    params = _tagged(nb, "parameters")
    assert len(params) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert "QUICK = True" in _source(params[0]), f"{path.name}: the parameters cell must default to QUICK = True"
    injected = _tagged(nb, "injected-parameters")
    assert injected and "QUICK = False" in _source(injected[0]), (
        f"{path.name}: commit the outputs of a full run: python notebooks/execute.py {path.name}"
    )
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name}: some code cells were not executed"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: stored outputs contain errors: {[e.get('ename') for e in errors]}"
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figures in the stored outputs"


@pytest.mark.repro
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
@pytest.mark.usefixtures("fashion_mnist")
def test_notebook_runs_in_quick_mode(path, tmp_path):
    _require_notebook_tools()
    import papermill as pm

    out = tmp_path / path.name
    before = path.read_bytes()
    start = time.perf_counter()
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"QUICK": True},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
        execution_timeout=QUICK_BUDGET_SECONDS,
    )
    elapsed = time.perf_counter() - start
    nb = _load(out)
    injected = _tagged(nb, "injected-parameters")
    assert injected and "QUICK = True" in _source(injected[0])
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code)
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", [])), "no figure produced"
    assert path.read_bytes() == before, "the committed notebook must not be modified"
    print(f"{path.name}: quick run took {elapsed:.1f} s")


def _stream_text(cell):
    return "".join(
        "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_ledger_cells_show_what_the_committed_records_say(path, monkeypatch):
    """A cell tagged ``ledger`` prints the paper's claims ledger from the committed run records; its
    stored output must be what those records say now (re-render: python notebooks/refresh.py)."""
    import contextlib
    import io

    cells = _tagged(_load(path), "ledger")
    if not path.name.startswith("00_"):
        assert len(cells) == 1, f"{path.name}: needs one cell tagged 'ledger' (the paper's claims ledger)"
    monkeypatch.delenv("BIONN_RESULTS", raising=False)
    monkeypatch.chdir(path.parent)  # as the kernel runs it: the checkout's results/
    for cell in cells:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(_source(cell), f"{path.name}:ledger", "exec"), {})
        assert _stream_text(cell) == buf.getvalue(), (
            f"{path.name}: stale ledger cell: python notebooks/refresh.py {path}"
        )
