"""The ``bionn`` command line.

::

    bionn reproduce --list [PAPER]             # registered claims
    bionn reproduce demo --quick               # check the demo paper's claims (quick mode)
    bionn reproduce all --full --json out.json --backend processes --workers 8
    bionn reproduce demo --backend dask --address tcp://scheduler:8786

Exit status: 0 when every claim passed (or was skipped: data absent), 1 when any failed (or could
not be computed), 2 for usage errors (including an unknown paper), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, TextIO

from .io import atomic_write

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bionn`` command."""
    parser = argparse.ArgumentParser(prog="bionn", description="bionn command-line tools.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"bionn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rep = sub.add_parser(
        "reproduce",
        help="check the claims of a paper by retraining with bionn",
        description="Recompute the registered claims of a paper (or of all papers) by really training "
        "models, and compare each with the paper's value. Exit status: 0 all passed, 1 some "
        "failed, 2 usage error.",
    )
    rep.add_argument("paper", nargs="?", help="paper key (see --list) or 'all'")
    rep.add_argument(
        "--list",
        action="store_true",
        dest="list_claims",
        help="list the registered claims (of PAPER, if given) and exit",
    )
    mode = rep.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", dest="mode", action="store_const", const="quick", help="fewer seeds, epochs and data (default)"
    )
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="the full protocol (slow)")
    rep.set_defaults(mode="quick")
    rep.add_argument("--json", metavar="FILE", dest="json_path", help="also write the results as JSON to FILE")
    rep.add_argument(
        "--backend",
        choices=("serial", "processes", "dask"),
        default=None,
        help="where repeated runs execute (default serial; dask when --address is given)",
    )
    rep.add_argument("--address", metavar="ADDR", help="dask scheduler address, e.g. tcp://host:8786")
    rep.add_argument("--workers", metavar="N", type=int, help="worker processes (processes / local dask)")
    rep.add_argument("-v", "--verbose", action="store_true", help="print each claim's details and errors")
    return parser


# ------------------------------------------------------------------------------------------------
def _fmt_value(value: Any, compare: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"p={value:.3g}" if compare == "significant" else f"{value:.4g}"
    return str(value)


def _table(headers: Sequence[str], rows: List[Sequence[str]], out: TextIO, max_width: int = 60) -> None:
    def clip(s: str) -> str:
        s = " ".join(str(s).split())
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    rows = [[clip(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)


def _write_json_atomic(path: str, payload: Dict[str, Any]) -> None:
    with atomic_write(path, binary=False) as fh:
        json.dump(payload, fh, indent=2, allow_nan=False)
        fh.write("\n")


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from . import experiments as ex

    selected = ex.claims(args.paper)
    if args.paper not in (None, "all") and not selected:
        raise _UsageError(f"unknown paper {args.paper!r}; known papers: {', '.join(ex.papers()) or '(none)'}")
    if not selected:
        print("no claims registered", file=out)
        return EXIT_OK
    rows = [[c.id, c.paper, c.where, c.description, str(c.paper_value), c.criterion()] for c in selected]
    _table(["claim", "paper", "where", "description", "paper value", "pass if"], rows, out)
    print(f"\n{len(selected)} claim(s) in {len({c.paper for c in selected})} paper(s)", file=out)
    return EXIT_OK


def _cmd_reproduce(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import experiments as ex

    if not args.paper:
        raise _UsageError("give a paper key or 'all' (bionn reproduce --list shows them)")
    backend = args.backend
    if args.address is not None:
        if backend not in (None, "dask"):
            raise _UsageError(f"--address is for --backend dask (got --backend {backend})")
        backend = "dask"
    backend = backend or "serial"
    if args.workers is not None:
        if args.workers < 1:
            raise _UsageError(f"--workers must be >= 1, got {args.workers}")
        if backend == "serial":
            raise _UsageError("--workers needs --backend processes or dask")
    if args.json_path is not None:
        directory = os.path.dirname(os.path.abspath(args.json_path))
        if not os.path.isdir(directory):
            raise _UsageError(f"--json: directory {directory!r} does not exist")
        if os.path.isdir(args.json_path):
            raise _UsageError(f"--json: {args.json_path!r} is a directory")
    selected = ex.claims(args.paper)
    if not selected:
        raise _UsageError(f"unknown paper {args.paper!r}; known papers: {', '.join(ex.papers()) or '(none)'}")
    by_id = {c.id: c for c in selected}
    total = len(selected)
    counter = {"i": 0}

    def on_start(claim: Any) -> None:
        counter["i"] += 1
        print(f"[{counter['i']}/{total}] {claim.id} ({args.mode}) ...", file=err, flush=True)

    def on_result(result: Dict[str, Any]) -> None:
        verdict = _verdict(result)
        print(f"      {verdict} in {result['info'].get('seconds', 0):.1f} s", file=err, flush=True)

    start = time.perf_counter()
    results = ex.run_claims(
        args.paper,
        mode=args.mode,
        backend=backend,
        address=args.address,
        n_workers=args.workers,
        on_start=on_start,
        on_result=on_result,
    )
    elapsed = time.perf_counter() - start

    rows = []
    for r in results:
        claim = by_id[r["id"]]
        verdict = _verdict(r)
        rows.append(
            [
                r["id"],
                _fmt_value(r["paper_value"], claim.compare),
                claim.criterion(),
                _fmt_value(r["bionn_value"], claim.compare),
                verdict,
            ]
        )
    print(file=out)
    _table(["claim", "paper value", "pass if", "bionn value", "verdict"], rows, out)
    n_passed = sum(r["passed"] for r in results)
    n_skipped = sum(bool(r.get("skipped")) for r in results)
    skipped_text = f", {n_skipped} skipped" if n_skipped else ""
    print(
        f"\n{n_passed}/{len(results)} claim(s) passed{skipped_text} ({args.mode} mode, backend {backend}, "
        f"{elapsed:.1f} s)",
        file=out,
    )
    for r in results:
        info = r["info"]
        if r.get("skipped"):
            print(f"\n{r['id']}: skipped: {info.get('skipped')}", file=out)
        elif "error" in info:
            print(f"\n{r['id']}: {info['error']}", file=out)
            if args.verbose and info.get("traceback"):
                print(info["traceback"], file=out)
        elif args.verbose:
            details = {k: v for k, v in info.items() if k not in ("traceback",)}
            print(f"\n{r['id']}: {r['description']}\n  {json.dumps(details)}", file=out)

    if args.json_path is not None:
        payload = {"paper": args.paper, "mode": args.mode, "claims": results}
        _write_json_atomic(args.json_path, payload)
        print(f"\nwrote {args.json_path}", file=out)
    return EXIT_OK if n_passed + n_skipped == len(results) else EXIT_FAILED


def _verdict(result: Dict[str, Any]) -> str:
    if result.get("skipped"):
        return "SKIP"
    return "PASS" if result["passed"] else ("ERROR" if "error" in result["info"] else "FAIL")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bionn`` console script (and of ``python -m bionn``).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status: 0 all claims passed, 1 some failed, 2 usage error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error (argparse prints the message)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.list_claims:
            return _cmd_list(args, sys.stdout)
        return _cmd_reproduce(args, sys.stdout, sys.stderr)
    except _UsageError as exc:
        print(f"bionn reproduce: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
