"""The ``bionn`` command line.

::

    bionn report                                   # what holds: the ledger from the committed run records
    bionn report focusing --readme README.md       # also write results/focusing.md and the README table
    bionn reproduce --list [--json]                # the registered claims, verdicts from the records
    bionn reproduce demo --quick                   # smoke test: quick protocol in a throw-away store
    bionn reproduce focusing --full --backend processes --workers 2   # run the missing full runs
    bionn reproduce 'focusing.table2_*' --full --rerun
    bionn reproduce all --quick --require-data --allow-missing cifar10   # what CI runs
    bionn reproduce all --quick --download         # first fetch the data sets the claims need
    bionn data list                                # the data sets bionn knows, and where they are here
    bionn data fetch fashion-mnist [--root DIR]    # download (SHA-256 verified, atomic, resumable)
    bionn data verify                              # check every data set found against its checksums

``reproduce`` exit status: 0 when every claim ran without ERROR; 1 on ERROR (with ``--require-data``
a SKIPPED claim is an ERROR unless its data set is named in ``--allow-missing``; with ``--strict``
any verdict other than REPRODUCED is a failure);
2 for usage errors; 130 when interrupted (finished runs stay recorded: run again to continue).
``report --readme FILE --check`` exits 1 when the README's table differs from the records.
``data fetch`` exits 1 when a download fails or the data set cannot be downloaded; ``data verify``
exits 1 when a data set fails its checks, or one named on the command line is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from .io import atomic_write

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageError(Exception):
    pass


def _add_store(p: argparse.ArgumentParser, default_text: str) -> None:
    p.add_argument("--store", metavar="DIR", help=f"run-record directory ({default_text})")


def _add_mirror(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mirror",
        metavar="URL",
        help="download from a mirror laid out as URL/NAME/FILE instead of the official sources "
        "(default: $BIONN_DATA_MIRROR)",
    )


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
    rep.add_argument(
        "claims",
        nargs="*",
        metavar="CLAIM",
        help="'all', paper keys, claim ids or globs; <paper>/<experiment> names an experiment (e.g. a report "
        "section's, also run with its paper)",
    )
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
        "for --probe-epochs epochs and for twice as many, and every other config for --probe-epochs epochs (one "
        "thread); the per-epoch and the once-per-run CPU time are stored for the reports' cost tables",
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
    rep.add_argument(
        "--download",
        action="store_true",
        help="first download the data sets the selected claims need and this machine lacks (see bionn data)",
    )
    _add_mirror(rep)

    dat = sub.add_parser(
        "data",
        help="the data sets: list them, fetch (download) one, verify their checksums",
        description="The data sets bionn knows. fetch downloads into the loaders' cache (~/.cache/bionn/NAME) "
        "or into ROOT/NAME with --root (then set BIONN_DATA=ROOT); every file is SHA-256 verified, written "
        "atomically, and an interrupted download resumes. Exit status: 0 ok, 1 failure, 2 usage error.",
    )
    dsub = dat.add_subparsers(dest="data_command", metavar="ACTION")
    dl = dsub.add_parser("list", help="the known data sets and where each is found here")
    dl.add_argument("--root", metavar="DIR", help="look only in DIR (and the download cache)")
    dl.add_argument("--json", action="store_true", dest="as_json", help="print JSON")
    df = dsub.add_parser("fetch", help="download data sets (SHA-256 verified, atomic, resumable)")
    df.add_argument("names", nargs="+", metavar="NAME", help="data set names (see bionn data list)")
    df.add_argument("--root", metavar="DIR", help="download into DIR/NAME (default: ~/.cache/bionn/NAME)")
    df.add_argument("--force", action="store_true", help="download even if a verified copy is found")
    df.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_mirror(df)
    dv = dsub.add_parser("verify", help="check the data sets found here against their checksums")
    dv.add_argument("names", nargs="*", metavar="NAME", help="data set names (default: all; missing ones are listed)")
    dv.add_argument("--root", metavar="DIR", help="look only in DIR (and the download cache)")
    dv.add_argument("--json", action="store_true", dest="as_json", help="print JSON")

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
    return _select_all(patterns)[0]


def _select_all(patterns: Sequence[str]) -> Tuple[List[Any], List[Any]]:
    """``(claims, extra experiments)``: see :func:`bionn.experiments.select`."""
    from . import experiments as ex

    try:
        return ex.select(list(patterns) or ["all"])
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
    selected, extra = _select_all(args.claims)
    if args.probe:
        return _cmd_probe(args, selected, out, err, extra)
    args.mode = args.mode or "quick"
    store = _store(args, quick_temp=args.mode == "quick")
    if args.download:
        _fetch_needed(selected, args.mirror, not args.no_progress, err)
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
            extra_experiments=extra,
        )
        for exp in extra:  # section-only experiments: no verdict, their records only
            configs, seeds = exp.plan(args.mode)
            missing = len(store.missing(exp.paper, exp.name, configs, seeds))
            n = len(configs) * len(seeds)
            print(f"{exp.paper}/{exp.name} (report section, no claim): {n - missing}/{n} runs recorded", file=err)
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


def _needed_datasets(selected: Sequence[Any]) -> List[str]:
    """The downloadable data sets the selected claims' experiments need and do not find here."""
    from . import experiments as ex
    from .data import catalog

    checked: List[Any] = []
    needed: List[str] = []
    for claim in selected:
        for name in claim.experiments:
            requires = ex.get_experiment(claim.paper, name).requires
            if requires is None or any(requires is r for r in checked):
                continue
            checked.append(requires)
            try:
                requires()
            except ex.ClaimSkipped as exc:
                fetchable = catalog.fetchable_name(exc.dataset)
                if fetchable is not None and fetchable not in needed:
                    needed.append(fetchable)
            except Exception:  # reported by the run itself
                pass
    return needed


def _fetch_needed(selected: Sequence[Any], mirror: Optional[str], progress: bool, err: TextIO) -> None:
    """``reproduce --download``: fetch what the claims need; a failed download is reported and the
    claims needing it are SKIPPED as usual."""
    from . import data

    needed = _needed_datasets(selected)
    if not needed:
        print("--download: the selected claims need no data set that is missing here", file=err)
    for name in needed:
        print(f"--download: fetching {name}", file=err, flush=True)
        try:
            where = data.fetch(name, mirror=mirror, progress=progress)
        except (OSError, ValueError) as exc:
            print(f"--download: could not fetch {name}: {exc}", file=err)
            continue
        print(f"--download: {name} is in {where}", file=err)


def _cmd_data(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import data

    if args.data_command is None:
        raise _UsageError("name an action: list, fetch or verify (see bionn data --help)")
    try:
        names = [data.dataset_info(n).name for n in getattr(args, "names", None) or []]
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    root = getattr(args, "root", None)
    if root is not None and args.data_command != "fetch" and not Path(root).expanduser().is_dir():
        raise _UsageError(f"--root: {root!r} is not a directory")
    if args.data_command == "list":
        rows = []
        for info in data.DATASETS.values():
            where = data.find(info.name, root)
            rows.append(
                dict(
                    name=info.name,
                    aliases=list(info.aliases),
                    downloadable=info.downloadable,
                    size_mb=info.size_mb,
                    where=None if where is None else str(where),
                    description=info.description,
                    source=info.source,
                )
            )
        if args.as_json:
            print(json.dumps(rows, indent=2), file=out)
            return EXIT_OK
        print(f"{'name':23} {'download':10} {'size':>8}  where", file=out)
        for r in rows:
            dl = "yes" if r["downloadable"] else "shared"
            print(f"{r['name']:23} {dl:10} {r['size_mb']:6.1f}MB  {r['where'] or 'missing'}", file=out)
        print(
            "\nbionn data fetch NAME downloads one; 'shared' data sets come with the project's shared data.", file=out
        )
        return EXIT_OK
    if args.data_command == "fetch":
        status = EXIT_OK
        for name in names:

            def on_file(filename: str, state: str, name: str = name) -> None:
                print(f"{name}/{filename}: {state}", file=out, flush=True)

            try:
                where = data.fetch(
                    name, root, mirror=args.mirror, force=args.force, progress=not args.no_progress, on_file=on_file
                )
            except data.NotDownloadable as exc:
                present = data.find(name, root) is not None
                print(f"bionn data fetch: {exc}", file=out if present else err)
                status = status if present else EXIT_FAILED
                continue
            except (OSError, ValueError) as exc:  # ConnectionError, ChecksumError, file system
                print(f"bionn data fetch: {name}: {exc}", file=err)
                status = EXIT_FAILED
                continue
            print(f"{name}: ready in {where}", file=out)
            if root is not None:
                print(
                    f"  the loaders find it with root={root!r}, or with the environment variable "
                    f"BIONN_DATA={Path(root).expanduser().resolve()}",
                    file=out,
                )
        return status
    results = data.verify(names or None, root)
    if args.as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2), file=out)
    else:
        for r in results:
            print(f"{r.name:23} {r.status.upper():8} {r.where or ''}".rstrip(), file=out)
            for p in r.problems:
                print(f"  {p}", file=out)
    bad = any(r.status == "bad" for r in results) or any(r.status == "missing" and names for r in results)
    return EXIT_FAILED if bad else EXIT_OK


def _cmd_probe(
    args: argparse.Namespace, selected: List[Any], out: TextIO, err: TextIO, extra: Sequence[Any] = ()
) -> int:
    """``bionn reproduce CLAIMS --probe``: cost probes of the full protocols (see ledger.probe)."""
    from . import experiments as ex

    if args.mode == "quick":
        raise _UsageError("--probe measures the full protocols; drop --quick")
    if args.probe_epochs < 1:
        raise _UsageError(f"--probe-epochs must be >= 1, got {args.probe_epochs}")
    store = _store(args, quick_temp=False)

    def on_experiment(exp: Any, row: Dict[str, Any]) -> None:
        print(f"{exp.paper}/{exp.name}: {row['status']}{': ' + row['note'] if row['note'] else ''}", file=err)

    rows = ex.ledger.probe(
        selected,
        store,
        epochs=args.probe_epochs,
        rerun=args.rerun,
        on_experiment=on_experiment,
        extra_experiments=extra,
    )
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
        if args.command == "data":
            return _cmd_data(args, sys.stdout, sys.stderr)
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
