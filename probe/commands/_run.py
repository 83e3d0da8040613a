"""Pieces every non-model command shares: a progress bar and the write-at-the-end run folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def progress_bar() -> Any:
    """A rich progress bar on stderr (transient; silent when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def finish_run(experiment: str, name: str, out: str | Path | None, settings: dict[str, Any],
               compute: Callable[[], dict[str, Any]], render: Callable[[Path, dict[str, Any]], list[Path]]) -> int:
    """Refuse a foreign ``--out`` first, compute, and only then create the folder and write everything.

    Transitional: the quantum commands move to library studies (probe.experiments.quantum).
    """
    from probe.io import atomic_write_json
    from probe.protocol import SCHEMA
    from probe.runs import RunFolder, default_run_dir, stamp

    folder = RunFolder(Path(out) if out else default_run_dir(experiment, name), {"experiment": experiment, **settings})
    folder.check_resume()
    t0 = time.perf_counter()
    body = compute()
    doc = {"schema": SCHEMA, "experiment": experiment, **stamp(elapsed_s=time.perf_counter() - t0),
           "settings": settings, "result": body, "run": {}, "warnings": []}
    path = folder.ensure()
    try:
        atomic_write_json(path / "result.json", doc)
        written = render(path, json.loads((path / "result.json").read_text()))
    finally:
        folder.release()
    print(f"{experiment}: wrote {path}/ ({', '.join(p.name for p in [path / 'result.json', *written])})")
    return 0
