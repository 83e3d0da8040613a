"""Find the run folders and study folders under a folder (what the site shows).

A *run folder* holds ``result.json`` (read through :func:`probe.runs.read_document`, which
also upgrades folders of the first schema); one that holds only ``run.json`` is a run in
progress (or stopped) and is listed as ``incomplete``. A *study folder* holds
``study.json`` (issue 15: the manifest, its hash, the cells and their states) beside
``study.csv`` / ``study.parquet`` and one run folder per cell. Folders whose name starts
with ``_`` or ``.`` (the site itself, ``_site/``) are not entered.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.errors import ProbeError
from probe.runs import read_document, slug


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One run folder: its document (``None`` unless ``state == "done"``) and where it sits."""

    path: Path
    rel: str
    state: str  # "done" | "incomplete" | "unreadable"
    doc: dict[str, Any] | None = None
    error: str | None = None
    study: str | None = None  # rel of the study folder it is a cell of


@dataclass(frozen=True, slots=True)
class StudyEntry:
    """One study folder: ``study.json`` as read, and the rel paths of its cells."""

    path: Path
    rel: str
    meta: dict[str, Any]
    cells: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    root: Path
    runs: tuple[RunEntry, ...] = ()
    studies: tuple[StudyEntry, ...] = ()
    signature: dict[str, str] = field(default_factory=dict)


_WATCHED = ("result.json", "run.json", "study.json", "study.csv", "report.md", "trials.jsonl", "stories.jsonl")


def scan(root: Path, *, skip: Path | None = None) -> Scan:
    """Every run and study folder under ``root`` (``root`` itself may be one), in path order."""
    root = Path(root).resolve()
    skip_resolved = skip.resolve() if skip is not None else None
    runs: list[RunEntry] = []
    studies: list[StudyEntry] = []
    signature: dict[str, str] = {}
    study_stack: list[str] = []
    # a root that is itself a run or study folder is named by its own name
    base = root.parent if any((root / n).is_file() for n in ("result.json", "run.json", "study.json")) else root
    for here, dirs, files in os.walk(root):
        path = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", "."))
                         and (skip_resolved is None or (path / d).resolve() != skip_resolved))
        rel = _rel(base, path)
        while study_stack and not _inside(rel, study_stack[-1]):
            study_stack.pop()
        names = set(files)
        if names & set(_WATCHED):
            signature[rel] = _signature(path, names)
        if "study.json" in names:
            studies.append(_read_study(path, rel))
            study_stack.append(rel)
            continue
        if "result.json" in names or "run.json" in names:
            runs.append(_read_run(path, rel, names, study_stack[-1] if study_stack else None))
            dirs[:] = []  # a run folder's sub-folders are its own data
    studies = [_with_cells(s, runs) for s in studies]
    return Scan(root=root, runs=tuple(runs), studies=tuple(studies), signature=signature)


def signature(root: Path, *, skip: Path | None = None) -> str:
    """A hash of the sizes and times of every watched file under ``root`` (changes when a run writes)."""
    root = Path(root).resolve()
    skip_resolved = skip.resolve() if skip is not None else None
    parts = []
    for here, dirs, files in os.walk(root):
        path = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", "."))
                         and (skip_resolved is None or (path / d).resolve() != skip_resolved))
        names = set(files)
        if names & set(_WATCHED):
            parts.append(f"{path}:{_signature(path, names)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _rel(base: Path, path: Path) -> str:
    rel = path.relative_to(base).as_posix()
    return "." if rel == "." else rel


def _inside(rel: str, parent: str) -> bool:
    return rel == parent or rel.startswith(parent + "/")


def _signature(path: Path, names: set[str]) -> str:
    parts = []
    for name in sorted(names & {*_WATCHED, "cassette.jsonl"}):
        try:
            st = (path / name).stat()
        except OSError:
            continue
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _read_run(path: Path, rel: str, names: set[str], study: str | None) -> RunEntry:
    if "result.json" not in names:
        return RunEntry(path, rel, "incomplete", study=study)
    try:
        doc = read_document(path)
    except ProbeError as exc:
        return RunEntry(path, rel, "unreadable", error=str(exc), study=study)
    except OSError as exc:
        return RunEntry(path, rel, "unreadable", error=f"{path}/result.json: {exc.strerror}", study=study)
    return RunEntry(path, rel, "done", doc=doc, study=study)


def _read_study(path: Path, rel: str) -> StudyEntry:
    try:
        meta = json.loads((path / "study.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return StudyEntry(path, rel, {}, error=f"{path}/study.json: unreadable ({exc})")
    return StudyEntry(path, rel, meta)


def _with_cells(study: StudyEntry, runs: list[RunEntry]) -> StudyEntry:
    cells = tuple(r.rel for r in runs if r.study == study.rel)
    return StudyEntry(study.path, study.rel, study.meta, cells, study.error)


def page_dir(rel: str) -> str:
    """The site folder of a run or study folder ``rel``: each part made file-name safe."""
    return "/".join(slug(part) for part in rel.split("/") if part not in ("", "."))


def file_hash(path: Path, *, chars: int = 12) -> str | None:
    """The first ``chars`` hex digits of a file's SHA-256 (``None`` when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()[:chars]


__all__ = ["RunEntry", "Scan", "StudyEntry", "file_hash", "page_dir", "scan", "signature"]
