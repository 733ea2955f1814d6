"""Child process of tests/python/test_file_fuzz.py: loads every file named on the command line and
prints one JSON line per file, the outcome ("ok" or the exception type and message), then
the peak resident memory. Run apart from
pytest so that a crash in the loader (a segfault, an abort, the OOM killer) fails the test instead of
killing the test run."""

from __future__ import annotations

import json
import sys

from bionn import nn, selforg

for path in sys.argv[1:]:
    loader = selforg.load if path.endswith(".selforg.npz") else nn.load
    try:
        loader(path)
        out = {"path": path, "result": "ok"}
    except Exception as exc:  # reported to the parent, which decides what is allowed
        out = {"path": path, "result": type(exc).__name__, "message": str(exc)[:300]}
    print(json.dumps(out), flush=True)


def peak_kb() -> int:
    """VmHWM, the peak resident memory of this process image (ru_maxrss would include the parent's
    memory at fork time); -1 where /proc is not available."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return -1


print(json.dumps({"maxrss_kb": peak_kb()}), flush=True)
