"""Makes the shared helpers of tests/python (interrupt_child, ...) importable from this folder."""
import sys
from pathlib import Path

_HELPERS = str(Path(__file__).resolve().parents[1])
if _HELPERS not in sys.path:
    sys.path.insert(0, _HELPERS)
