"""Test helper: import ``bionn.datasets`` from the installed package, or straight from the
repository source when the installed copy is missing, unbuilt or older than the tests."""
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def import_datasets(required=()):
    try:
        from bionn import datasets

        if all(hasattr(datasets, name) for name in required):
            return datasets
    except Exception:  # bionn not installed / __init__ needs the compiled core
        pass
    path = REPO / "python" / "bionn" / "datasets.py"
    spec = importlib.util.spec_from_file_location("_bionn_datasets_src", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
