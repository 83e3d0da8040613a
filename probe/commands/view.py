"""``probe view RUNS``: a static site of every run and study under a folder (``--serve``: live on 127.0.0.1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="browse runs and studies: a static site (or --serve it with live rebuild)",
                       description="Build a static site of every run and study under FOLDER: an index, one page "
                                   "per run (report, figures, trials, cassette lines) and per study. The site "
                                   "needs no server and loads nothing from the network.")
    p.add_argument("root", type=Path, metavar="FOLDER", help="a folder of run folders (runs/), a study or one run")
    p.add_argument("--out", type=Path, default=None, help="site folder (default FOLDER/_site)")
    p.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 and rebuild as runs finish")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000; 0 picks a free one)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between checks for changes (--serve)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from probe.errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port: expected 0-65535, got {args.port}")
    if not args.interval > 0 or args.interval != args.interval:
        raise ConfigError(f"--interval: expected a positive number of seconds, got {args.interval}")
    if not args.serve:
        from probe.view import build_site

        site = build_site(args.root, args.out)
        _report(site)
        if site.n_runs == 0 and site.n_studies == 0:
            print(f"probe: note: no finished run folder (result.json) under {args.root}", file=sys.stderr)
        print(site.url)
        return 0
    import time

    from probe.view import serve

    server = serve(args.root, args.out, port=args.port, interval_s=args.interval,
                   on_build=lambda s: print(f"rebuilt: {s.n_runs} runs, {s.n_studies} studies, {s.rebuilt} pages",
                                            flush=True),
                   on_error=lambda e: print(f"probe: error: {e}", file=sys.stderr, flush=True))
    _report(server.last)
    print(f"serving {server.out} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


def _report(site: Any) -> None:
    print(f"{site.n_runs} runs, {site.n_studies} studies ({site.rebuilt} pages built) in {site.out}", file=sys.stderr)
    for name in site.skipped_files:
        print(f"probe: warning: {name} left out of the site: it contains a secret", file=sys.stderr)
