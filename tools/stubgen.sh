#!/usr/bin/env bash
# Regenerates python/bionn/_core.pyi, the type stub of the C++ extension bionn._core, from the built
# module (pybind11-stubgen reads the signatures pybind11 writes into the docstrings), then tidies it:
# pybind11 3's "typing.SupportsInt | typing.SupportsIndex" parameters become plain int / float, and
# has_openmp loses its build-dependent value.
#
# Usage, from anywhere, once the extension is built and copied next to python/bionn/ (see
# DEVELOPERS.md):
#     pip install pybind11-stubgen
#     tools/stubgen.sh
# Then commit python/bionn/_core.pyi. tests/python/test_core_stub.py fails while the stub and the
# module disagree (a class, function, method or property missing on either side).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" python -m pybind11_stubgen bionn._core -o "$out"
sed -e 's/typing\.SupportsInt | typing\.SupportsIndex/int/g' \
    -e 's/typing\.SupportsFloat | typing\.SupportsIndex/float/g' \
    -e 's/^has_openmp: bool = .*$/has_openmp: bool/' \
    "$out/bionn/_core.pyi" > "$root/python/bionn/_core.pyi"
# The checked-in stub follows the project's ruff style like every other Python file.
ruff check --quiet --fix --select I "$root/python/bionn/_core.pyi"
ruff format --quiet "$root/python/bionn/_core.pyi"
echo "wrote $root/python/bionn/_core.pyi"
