"""The run-folder skeleton every quantum study shares.

Order of work: the folder is checked (writable, not foreign, same settings as a
run it resumes) before any computation; it appears with the first completed item
(``items.jsonl``) or with ``result.json`` at the end; a failure before anything
was saved leaves no folder. Rerunning the same command resumes: items already in
``items.jsonl`` are not computed again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from probe._results import jsonable
from probe.protocol import How, Result, Settings
from probe.runs import ItemLog, RunFolder, default_run_dir, stamp


def run_in_folder(settings: Settings, how: How, *, name: str, result_type: type[Result],
                  compute: Callable[[ItemLog], dict[str, Any]], extendable: Iterable[str] = ()) -> Any:
    """Run ``compute(items)`` inside the study's run folder and write ``result.json``.

    Parameters
    ----------
    settings, how
        Already validated.
    name : str
        Middle part of the default folder name ``runs/<experiment>-<name>-<time>/``.
    result_type : type
        The study's :class:`~probe.protocol.Result` subclass.
    compute : callable
        Gets the run's :class:`~probe.runs.ItemLog` (completed items, for resuming)
        and returns the ``result`` block (made JSON-safe here, so the returned result
        equals what :func:`probe.runs.load_run` reads back). A ``"warnings"`` list in it
        moves to the document's top-level ``warnings``.
    extendable : names of settings
        Settings that list the items (layers of a table, depths of a scan): a
        resumed run may change them, since every item has its own seed.
    """
    out = Path(how.out) if how.out else default_run_dir(settings.experiment, name)
    record = {"experiment": settings.experiment, **settings.to_dict()}
    skip = set(extendable)
    folder = RunFolder(out, record, identity=[k for k in record if k not in skip])
    folder.check_resume()
    t0 = time.perf_counter()
    with folder.session():
        items = ItemLog(folder)
        try:
            block = jsonable(compute(items))  # the result in memory is the result on disk (NaN -> None, ...)
        finally:
            items.close()
        warnings = tuple(block.pop("warnings", ()) or ())
        result = result_type(settings=settings, result=block, warnings=warnings,
                             stamp=stamp(elapsed_s=time.perf_counter() - t0), path=out)
        folder.write_result(result)
    return result


def done_items(how: How) -> int:
    """Completed items already in ``<out>/items.jsonl`` (0 without a folder); reads only."""
    if how.out is None:
        return 0
    path = Path(how.out) / "items.jsonl"
    if not path.is_file():
        return 0
    from probe.io import read_jsonl

    return sum(1 for r in read_jsonl(path).records if "id" in r)


__all__ = ["done_items", "run_in_folder"]
