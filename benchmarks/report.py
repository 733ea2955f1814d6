#!/usr/bin/env python
"""Every benchmark figure in one command (run it on an idle machine):

    python benchmarks/report.py                      # threads 1 and 2, into benchmarks/results/<UTC time>/
    python benchmarks/report.py --threads 2 --out /tmp/r --smoke   # a quick structural check

For each thread count it runs, each in its own process: ``run.py --memory`` (every default case,
with peak memory) -> ``bench-<N>t.json/.md``, and ``run.py --roofline`` -> ``roofline-<N>t.json/.png``;
then ``costs.py`` over the benchmark JSONs -> ``costs.md``, and writes ``summary.md`` with all the
tables (the figures are rendered from the JSON by code: ``run.py --plot FILE.json``). Commit the
run directory only from an idle run; ``benchmarks/readme.py README.md`` renders the README's figures
from every committed idle run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))


def _run(cmd: List[str]) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--out", default=None, help="run directory (default: benchmarks/results/<UTC time>)")
    p.add_argument("--smoke", action="store_true", help="shrunk cases and one repeat: checks the pipeline only")
    p.add_argument("--no-roofline", action="store_true")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = os.path.join(HERE, "results", time.strftime("%Y%m%d-%H%M", time.gmtime()))
    os.makedirs(args.out, exist_ok=True)
    py = sys.executable
    extra = ["--smoke", "--repeats", "1", "--warmup", "0"] if args.smoke else []
    t0 = time.time()
    benches = []
    for t in args.threads:
        base = os.path.join(args.out, f"bench-{t}t")
        _run([py, os.path.join(HERE, "run.py"), "--threads", str(t), "--memory", "--json", base + ".json",
              "--markdown", base + ".md", *extra])  # fmt: skip
        benches.append(base + ".json")
        if not args.no_roofline:
            roof = os.path.join(args.out, f"roofline-{t}t.json")
            _run([py, os.path.join(HERE, "run.py"), "--roofline", "--threads", str(t), "--json", roof]
                 + (["--smoke", "--repeats", "2"] if args.smoke else []))  # fmt: skip
    costs = os.path.join(args.out, "costs.md")
    _run([py, os.path.join(HERE, "costs.py"), *benches, "--out", costs])

    sys.path.insert(0, HERE)
    parts = [f"# Benchmark results ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", ""]
    for t, bench in zip(args.threads, benches):
        with open(os.path.splitext(bench)[0] + ".md") as fh:
            parts += [f"## {t} thread(s)", "", fh.read()]
        roof = os.path.join(args.out, f"roofline-{t}t.json")
        if os.path.exists(roof) and not args.no_roofline:
            import roofline

            with open(roof) as fh:
                parts += [f"### Roofline, {t} thread(s)", "", f"![roofline]({os.path.basename(roof)[:-5]}.png)", ""]
                parts += [roofline.markdown(json.load(fh)), ""]
    with open(costs) as fh:
        parts += ["## Full-protocol cost per paper", "", fh.read()]
    with open(os.path.join(args.out, "summary.md"), "w") as fh:
        fh.write("\n".join(parts))
    print(f"wrote {args.out}/summary.md in {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
