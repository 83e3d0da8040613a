"""Run folders: the one writer of every study's output.

A run folder ``runs/<experiment>-<name>-<time>/`` holds::

    run.json        what defines the run (experiment + identity settings); a resume must match it
    result.json     one top-level schema for every study (below), written atomically at the end
    items.jsonl     completed work items of compute studies (tensors, table rows, folds), so that
                    rerunning the same command resumes where it stopped
    trials.jsonl, cassette.jsonl, ...   the study's own raw data

``result.json`` (schema ``probe-run/2``, JSON Schema in ``probe/schemas/result.schema.json``)::

    {"schema": "probe-run/2", "experiment": "bell", "probe_version": "...", "created": "...",
     "elapsed_s": 1.2, "host": {...}, "settings": {...}, "result": {...}, "run": {...},
     "warnings": [...]}

The folder is created lazily, on the first thing written into it; a run that
fails before producing anything leaves no folder behind, and a run that fails
after leaves what it saved (for resuming) but no ``result.json``. Folders of the
first schema (no ``schema`` key) are read through :func:`upgrade_document`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, DataError, ProbeError
from probe.io import JsonlWriter, atomic_write_json, read_jsonl
from probe.protocol import SCHEMA, STAMP_KEYS, Result, get_study

RUNS_ROOT = Path("runs")
SCHEMA_FILE = Path(__file__).with_name("schemas") / "result.schema.json"


def slug(text: str) -> str:
    """A file-name-safe form of a model or experiment name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return s[:60] or "x"


def timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%dT%H%M%S")


def now_iso() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def default_run_dir(experiment: str, model: str, *, root: Path | None = None) -> Path:
    """``runs/<experiment>-<model>-<YYYYmmddTHHMMSS>``."""
    return (root or RUNS_ROOT) / f"{slug(experiment)}-{slug(model)}-{timestamp()}"


def host_facts() -> dict[str, Any]:
    """The machine and the numerical stack a run was made on (versions of what was imported)."""
    facts: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(terse=True),
                             "machine": platform.machine(), "cpus": os.cpu_count()}
    for name in ("numpy", "scipy", "torch", "transformers", "openai", "google.genai"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__version__", None):
            facts[name.replace("google.", "google-")] = str(mod.__version__)
    return facts


def stamp(*, elapsed_s: float | None) -> dict[str, Any]:
    """The provenance keys of ``result.json``; written here and nowhere else."""
    from probe import __version__

    return {"probe_version": __version__, "created": now_iso(),
            "elapsed_s": None if elapsed_s is None else round(float(elapsed_s), 3), "host": host_facts()}


def check_writable(path: Path) -> None:
    """Refuse, before any work, an output folder that cannot be created or written."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{p}: is a file, not a folder", hint="choose a folder path for --out")
    probe_at = p
    while not probe_at.exists():
        probe_at = probe_at.parent
    if not probe_at.is_dir() or not os.access(probe_at, os.W_OK | os.X_OK):
        raise ConfigError(f"{p}: cannot write here ({probe_at} is not writable)", hint="choose a writable --out")


class RunFolder:
    """One run's output folder.

    Parameters
    ----------
    path : path-like
        The folder; created on first use.
    settings : dict
        What defines the run (must include ``experiment``). Stored as ``run.json``;
        a resumed run must match it on every key in ``identity``.
    identity : sequence of str
        Keys of ``settings`` that must agree for a resume (default: all of them).
    """

    def __init__(self, path: str | os.PathLike[str], settings: dict[str, Any], *,
                 identity: Iterable[str] | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self.identity = tuple(settings) if identity is None else tuple(identity)
        self._lock_fh: Any = None
        self.created_here = False

    @property
    def exists(self) -> bool:
        return (self.path / "run.json").exists()

    def check_resume(self) -> dict[str, Any] | None:
        """Check the folder can take this run; return an existing ``run.json``, or ``None`` for a new run."""
        check_writable(self.path)
        meta = self.path / "run.json"
        if not meta.exists():
            if self.path.exists() and any(p for p in self.path.iterdir() if not p.name.startswith(".")):
                raise ConfigError(f"{self.path}: folder exists and is not a probe run folder",
                                  hint="choose another --out")
            return None
        try:
            old = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{meta}: unreadable run settings ({exc})", hint="choose another --out") from exc
        recorded = old.get("settings", {})
        diffs = [f"{k}: {recorded.get(k)!r} -> {self.settings.get(k)!r}" for k in self.identity
                 if k in recorded and recorded.get(k) != self.settings.get(k)]
        if diffs:
            raise ConfigError(f"{self.path}: cannot resume, the run was made with other settings ({'; '.join(diffs)})",
                              hint="use the original settings or a new --out")
        return old

    def ensure(self) -> Path:
        """Create the folder, take its lock and write ``run.json`` if new."""
        if self._lock_fh is None:
            self.created_here = self.created_here or not self.path.exists()
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self._lock_fh = open(self.path / ".lock", "w")  # noqa: SIM115 - held for the run
            except OSError as exc:
                raise ProbeError(f"{self.path}: cannot create run folder ({exc.strerror})",
                                 hint="choose a writable --out") from exc
            try:
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self._lock_fh.close()
                self._lock_fh = None
                raise ConfigError(f"{self.path}: another probe process is writing this run",
                                  hint="wait for it to finish or choose another --out") from exc
            if not (self.path / "run.json").exists():
                from probe import __version__

                atomic_write_json(self.path / "run.json", {
                    "experiment": self.settings.get("experiment"), "settings": self.settings,
                    "created": now_iso(), "probe_version": __version__})
        return self.path

    def file(self, name: str) -> Path:
        return self.path / name

    def release(self) -> None:
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None
            with contextlib.suppress(OSError):
                (self.path / ".lock").unlink()

    def discard_if_empty(self, *, keep: Iterable[str] = ()) -> None:
        """After a failure: remove a folder this run created that holds nothing worth resuming.

        ``keep`` names files whose non-empty presence means there is something to resume.
        """
        self.release()
        if not self.created_here or not self.path.exists():
            return
        worth = [self.path / k for k in (*keep, "items.jsonl")]
        if any(p.exists() and p.stat().st_size > 0 for p in worth):
            return
        shutil.rmtree(self.path, ignore_errors=True)

    def write_result(self, result: Result) -> Path:
        """Write ``result.json`` atomically (the folder is created if needed); returns its path."""
        self.ensure()
        return atomic_write_json(self.path / "result.json", result.to_json())

    @contextlib.contextmanager
    def session(self, *, keep: Iterable[str] = ()) -> Iterator[RunFolder]:
        """Hold the folder for a run: on failure, discard it if it holds nothing; always release the lock."""
        try:
            yield self
        except BaseException:
            self.discard_if_empty(keep=keep)
            raise
        finally:
            self.release()


class ItemLog:
    """Completed work items of a compute study, one JSON line each (``items.jsonl``), keyed by ``id``.

    Rerunning the same command reads the items back and does only the missing
    ones; a torn last line (a kill mid-write) is set aside and its item redone.
    """

    def __init__(self, folder: RunFolder, name: str = "items.jsonl") -> None:
        self.folder = folder
        self.path = folder.path / name
        read = read_jsonl(self.path)
        self.done: dict[str, Any] = {str(r["id"]): r["value"] for r in read.records if "id" in r and "value" in r}
        self._writer: JsonlWriter | None = None

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.done

    def get(self, item_id: str) -> Any:
        return self.done[item_id]

    def add(self, item_id: str, value: Any) -> None:
        self.folder.ensure()
        if self._writer is None:
            self._writer = JsonlWriter(self.path)
        self._writer.write({"id": item_id, "value": value})
        self.done[item_id] = value

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# --- reading run folders back ------------------------------------------------------------------------

def read_document(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's ``result.json`` in the current schema (older folders are upgraded in memory)."""
    path = Path(run_dir) / "result.json"
    if not path.exists():
        raise ConfigError(f"{run_dir}: no result.json", hint="pass a finished run folder, or resume the run first")
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: not a JSON object")
    return upgrade_document(doc)


def load_run(run_dir: str | Path) -> Result:
    """Any run folder back as its typed result (``probe.load_run``)."""
    doc = read_document(run_dir)
    study = get_study(str(doc.get("experiment")))
    return study.result_type.from_json(doc, path=Path(run_dir))


_BELL_SETTINGS = ("model", "mode", "seed", "temperature", "top_p", "max_tokens", "trials", "n_per_call", "order",
                  "orders")


def upgrade_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A result.json of schema 1 (probe 0.1: flat keys) in the current schema; others pass through."""
    if doc.get("schema") == SCHEMA:
        return doc
    if "schema" in doc:
        raise DataError(f"result.json schema {doc['schema']!r} is newer than this probe ({SCHEMA})",
                        hint="upgrade probe")
    body = dict(doc)
    stamp_part = {k: body.pop(k) for k in STAMP_KEYS if k in body}
    stamp_part.setdefault("elapsed_s", None)
    experiment = str(body.pop("experiment", ""))
    run = body.pop("run", {}) or {}
    warnings = body.pop("warnings", []) or []
    settings = body.pop("settings", None)
    if experiment == "bell":
        if body.get("mode") == "counts":
            experiment = "bell-counts"
            settings = {"counts": body.get("counts_file"), "minus_on": (body.get("design") or {}).get("minus_on", "AB"),
                        "seed": body.get("seed")}
        else:
            settings = {k: body.get(k) for k in _BELL_SETTINGS}
            settings["prompt"] = (body.get("design") or {}).get("path") or (body.get("design") or {}).get("name")
            settings["n_boot"] = (body.get("statistics") or {}).get("n_boot", 10_000)
            settings["prior"] = (body.get("statistics") or {}).get("prior", 1.0)
    elif experiment == "words":
        if body.get("source") == "generate":
            experiment = "words-generate"
        settings = settings or {}
    elif experiment == "entangle":
        experiment = f"entangle-{body.get('source')}"
        settings = {**(body.get("inputs") or {}), **(settings or {})}
    if experiment.startswith("quantum-") and "elapsed_s" in body:
        stamp_part["elapsed_s"] = body.pop("elapsed_s")
    return {"schema": SCHEMA, "experiment": experiment, **stamp_part, "settings": settings or {},
            "result": body, "run": run, "warnings": list(warnings), "upgraded_from": 1}


__all__ = ["ItemLog", "RunFolder", "check_writable", "default_run_dir", "load_run", "read_document", "stamp",
           "upgrade_document"]
