"""Fetches the intersphinx inventories (``objects.inv``) of Python, NumPy, SciPy and PyTorch into
``docs/_inventories/`` so that the docs link into those projects. Needs the network; the docs build
never fetches anything itself (CI builds offline, and without these files references to those
projects stay plain text). Run: ``python docs/fetch_inventories.py``."""

from __future__ import annotations

import os
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main() -> int:
    from conf import _PROJECTS  # the one list of projects and their URLs

    out = os.path.join(HERE, "_inventories")
    os.makedirs(out, exist_ok=True)
    for name, url in _PROJECTS.items():
        target = os.path.join(out, f"{name}.inv")
        with urllib.request.urlopen(url + "objects.inv", timeout=30) as r:
            data = r.read()
        tmp = target + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        print(f"{name}: {len(data)} bytes -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
