"""The ``bionn`` command line.

::

    bionn report                                   # what holds: the ledger from the committed run records
    bionn report focusing --readme README.md       # also write results/focusing.md and the README table
    bionn reproduce --list [--json]                # the registered claims, verdicts from the records
    bionn reproduce demo --quick                   # smoke test: quick protocol in a throw-away store
    bionn reproduce focusing --full --backend processes --workers 2   # run the missing full runs
    bionn reproduce 'focusing.table2_*' --full --rerun
    bionn reproduce all --quick --require-data --allow-missing cifar10   # what CI runs

``reproduce`` exit status: 0 when every claim ran without ERROR; 1 on ERROR (with ``--require-data``
a SKIPPED claim is an ERROR unless its data set is named in ``--allow-missing``; with ``--strict``
any verdict other than REPRODUCED is a failure);
2 for usage errors; 130 when interrupted (finished runs stay recorded: run again to continue).
``report --readme FILE --check`` exits 1 when the README's table differs from the records.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

from .io import atomic_write

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageError(Exception):
    pass


def _add_store(p: argparse.ArgumentParser, default_text: str) -> None:
    p.add_argument("--store", metavar="DIR", help=f"run-record directory ({default_text})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bionn`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="bionn", description="bionn command-line tools.")
    parser.add_argument("--version", action="version", version=f"bionn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser(
        "reproduce",
        help="run a paper's protocols (the missing runs) and check its claims",
        description="Run the missing runs of the selected claims' experiments, record each run, and "
        "compute every claim's verdict from the records. Exit status: 0 no ERROR, 1 ERROR (or, with "
        "--strict, any verdict but REPRODUCED), 2 usage error, 130 interrupted.",
    )
    rep.add_argument("claims", nargs="*", metavar="CLAIM", help="'all', paper keys, claim ids or globs")
    rep.add_argument("--list", action="store_true", dest="list_claims", help="list the claims and exit (no training)")
    mode = rep.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick", help="smoke test (default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="the paper's protocol")
    rep.set_defaults(mode=None)  # quick unless --full; --probe rejects an explicit --quick
    rep.add_argument(
        "--json", metavar="FILE", dest="json_path", nargs="?", const="-", help="write the results as JSON (- = stdout)"
    )
    _add_store(rep, "default: results/ of the checkout or $BIONN_RESULTS for --full; a temporary one for --quick")
    rep.add_argument("--rerun", action="store_true", help="run every planned run again, overwriting its record")
    rep.add_argument(
        "--probe",
        action="store_true",
        help="measure the full protocols' cost instead: each experiment without records trains its first config "
        "for --probe-epochs epochs (one thread) and the time is stored for the reports' cost tables",
    )
    rep.add_argument("--probe-epochs", metavar="N", type=int, default=1, help="epochs per probe (default 1)")
    rep.add_argument("--strict", action="store_true", help="exit 1 unless every claim is REPRODUCED")
    rep.add_argument("--require-data", action="store_true", help="a claim whose data is absent is an ERROR, not a SKIP")
    rep.add_argument(
        "--allow-missing",
        metavar="DATASETS",
        default="",
        help="with --require-data: comma-separated data sets known to be absent here (e.g. cifar10); "
        "their claims stay SKIPPED",
    )
    rep.add_argument("--backend", choices=("serial", "processes", "dask"), default=None, help="where runs execute")
    rep.add_argument("--address", metavar="ADDR", help="dask scheduler address, e.g. tcp://host:8786")
    rep.add_argument("--workers", metavar="N", type=int, help="worker processes (processes / local dask)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep.add_argument("-v", "--verbose", action="store_true", help="print each claim's details")

    rp = sub.add_parser(
        "report",
        help="what holds: the ledger and per-paper reports from the run records (no training)",
        description="Compute every claim's verdict from the run records of the full protocols, print the "
        "ledger, and write results/<paper>.md with figures.",
    )
    rp.add_argument("papers", nargs="*", metavar="PAPER", help="paper keys (default: all)")
    _add_store(rp, "default: results/ of the checkout, or $BIONN_RESULTS")
    rp.add_argument("--out", metavar="DIR", help="where <paper>.md and figures/ go (default: the store)")
    rp.add_argument("--no-write", action="store_true", help="print the ledger only")
    rp.add_argument("--no-figures", action="store_true", help="write the reports without figures")
    rp.add_argument("--readme", metavar="FILE", help="also render the ledger table into FILE (between its markers)")
    rp.add_argument(
        "--check", action="store_true", help="with --readme: exit 1 if FILE's table is stale, write nothing"
    )
    return parser


# ------------------------------------------------------------------------------------------------
def _store(args: argparse.Namespace, quick_temp: bool) -> Any:
    from . import experiments as ex

    if args.store:
        path = Path(args.store).expanduser()
        if path.exists() and not path.is_dir():
            raise _UsageError(f"--store: {args.store!r} is not a directory")
        return ex.RunStore(path)
    if quick_temp:
        return None  # the caller makes a temporary store
    return ex.default_store()


def _select(patterns: Sequence[str]) -> List[Any]:
    from . import experiments as ex

    try:
        return ex.select_claims(list(patterns) or ["all"])
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _write_json(path: str, payload: Dict[str, Any], out: TextIO) -> None:
    text = json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False)
    if path == "-":
        print(text, file=out)
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise _UsageError(f"--json: directory {directory!r} does not exist")
    with atomic_write(path, binary=False) as fh:
        fh.write(text + "\n")


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    from . import experiments as ex

    selected = _select(args.claims)
    store = _store(args, quick_temp=False)
    results = ex.assess(selected, "full", store)
    if args.json_path is not None:
        _write_json(args.json_path, {"mode": "full", "store": str(store.root), "claims": results}, out)
        return EXIT_OK
    print(ex.ledger_table(results, markdown=False), file=out)
    for r in results:
        print(f"{r['id']}\n  criterion: {r['criterion']}", file=out)
    print(f"\n{len(results)} claim(s); verdicts from the records in {store.root}", file=out)
    return EXIT_OK


def _cmd_reproduce(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import experiments as ex

    if not args.claims:
        raise _UsageError("name what to reproduce: 'all', a paper, a claim id or a glob (see --list)")
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
    if args.json_path not in (None, "-") and os.path.isdir(args.json_path):
        raise _UsageError(f"--json: {args.json_path!r} is a directory")
    selected = _select(args.claims)
    if args.probe:
        return _cmd_probe(args, selected, out, err)
    args.mode = args.mode or "quick"
    store = _store(args, quick_temp=args.mode == "quick")
    tmp = None
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="bionn-quick-")
        store = ex.RunStore(tmp.name)

    def on_experiment(exp: Any, n: int) -> None:
        print(f"{exp.paper}/{exp.name}: {n} run(s) to do", file=err, flush=True)

    start = time.perf_counter()
    try:
        results = ex.reproduce(
            selected,
            mode=args.mode,
            store=store,
            backend=backend,
            address=args.address,
            n_workers=args.workers,
            rerun=args.rerun,
            require_data=args.require_data,
            allow_missing=[d.strip() for d in args.allow_missing.split(",") if d.strip()],
            progress=not args.no_progress,
            on_experiment=on_experiment,
        )
    finally:
        if tmp is not None:
            tmp.cleanup()
    elapsed = time.perf_counter() - start
    report_out = err if args.json_path == "-" else out
    print(file=report_out)
    print(ex.ledger_table(results, markdown=False), file=report_out)
    from .experiments.report import counts

    where = "a temporary store" if tmp is not None else str(store.root)
    print(
        f"{counts(results)} ({args.mode} mode, backend {backend}, {elapsed:.1f} s, records in {where})", file=report_out
    )
    for r in results:
        if r["verdict"] in ("SKIPPED", "ERROR"):
            print(f"\n{r['id']}: {r['verdict']}: {r['note']}", file=report_out)
            if args.verbose and r["details"].get("traceback"):
                print(r["details"]["traceback"], file=report_out)
        elif args.verbose:
            print(f"\n{r['id']}: {r['criterion']}\n  {r['reason']}", file=report_out)
    if args.json_path is not None:
        _write_json(args.json_path, {"mode": args.mode, "claims": results}, out)
    if any(r["verdict"] == "ERROR" for r in results):
        return EXIT_FAILED
    if args.strict and any(r["verdict"] != "REPRODUCED" for r in results):
        return EXIT_FAILED
    return EXIT_OK


def _cmd_probe(args: argparse.Namespace, selected: List[Any], out: TextIO, err: TextIO) -> int:
    """``bionn reproduce CLAIMS --probe``: cost probes of the full protocols (see ledger.probe)."""
    from . import experiments as ex

    if args.mode == "quick":
        raise _UsageError("--probe measures the full protocols; drop --quick")
    if args.probe_epochs < 1:
        raise _UsageError(f"--probe-epochs must be >= 1, got {args.probe_epochs}")
    store = _store(args, quick_temp=False)

    def on_experiment(exp: Any, row: Dict[str, Any]) -> None:
        print(f"{exp.paper}/{exp.name}: {row['status']}{': ' + row['note'] if row['note'] else ''}", file=err)

    rows = ex.ledger.probe(selected, store, epochs=args.probe_epochs, rerun=args.rerun, on_experiment=on_experiment)
    print("experiment                         status        CPU-h per run  CPU-h all runs", file=out)
    for r in rows:
        est = (f"{r['cpu_h_per_run']:13.3g}  {r['cpu_h_total']:14.3g}") if r["status"] == "probed" else ""
        print(f"{r['paper'] + '/' + r['experiment']:34} {r['status']:13} {est}".rstrip(), file=out)
    print(f"probes stored in {store.root} (bionn report renders them in the cost tables)", file=out)
    return EXIT_FAILED if any(r["status"] == "error" for r in rows) else EXIT_OK


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from . import experiments as ex
    from .experiments import report

    known = ex.papers()
    for p in args.papers:
        if p not in known:
            raise _UsageError(f"unknown paper {p!r}; known papers: {', '.join(known)}")
    if args.check and not args.readme:
        raise _UsageError("--check needs --readme FILE")
    papers = list(args.papers) or known
    store = _store(args, quick_temp=False)
    selected = [c for p in papers for c in ex.claims(p)]
    results = ex.assess(selected, "full", store)
    print(ex.ledger_table(results, markdown=False), file=out)
    print(f"{report.counts(results)} (full protocols; records in {store.root})", file=out)
    status = EXIT_OK
    if args.readme:
        readme = Path(args.readme)
        if not readme.is_file():
            raise _UsageError(f"--readme: {args.readme!r} is not a file")
        every = ex.assess(ex.claims(), "full", store) if args.papers else results
        section = report.readme_table(every)
        if args.check:
            if report.readme_section(readme) != section:
                print(
                    f"{readme}: the ledger table differs from the records (run bionn report --readme {readme})",
                    file=out,
                )
                status = EXIT_FAILED
            else:
                print(f"{readme}: the ledger table matches the records", file=out)
        else:
            try:
                changed = report.update_readme(readme, section)
            except ValueError as exc:
                raise _UsageError(str(exc)) from None
            print(f"{readme}: ledger table {'updated' if changed else 'unchanged'}", file=out)
    if not args.no_write and not args.check:
        paths = report.write_reports(papers, store, Path(args.out) if args.out else None, figures=not args.no_figures)
        for path in paths.values():
            print(f"wrote {path}", file=out)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``bionn`` console script (and of ``python -m bionn``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error (argparse prints the message)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "report":
            return _cmd_report(args, sys.stdout)
        if args.list_claims:
            return _cmd_list(args, sys.stdout)
        return _cmd_reproduce(args, sys.stdout, sys.stderr)
    except _UsageError as exc:
        print(f"bionn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are recorded; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
