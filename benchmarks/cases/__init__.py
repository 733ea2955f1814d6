"""Benchmark cases, one module per mechanism (``standard`` holds the engine's own layers).

Every module here (except ``_*.py`` helpers) is imported by ``harness.load_cases()``: it defines
``ORDER`` (its place in the run) and registers at least one case with ``@register``. Adding a
mechanism's benchmark means adding one file here; nothing else needs editing.
"""
