"""Crash-safe file writing: atomic replaces and fsync'd JSON-lines appends.

Every file probe writes goes through here, so that an interrupted or failed run
never leaves a half-written result, and secrets are stripped on the way out.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe._results import jsonable
from probe.errors import CassetteError, DataError, ProbeError
from probe.secrets import redact


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Canonical JSON: sorted keys, no NaN, UTF-8 kept, secrets redacted."""
    return json.dumps(redact(jsonable(obj)), sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False)


def _disk_error(path: Path, exc: OSError) -> ProbeError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ProbeError(f"{path}: no space left on device ({exc.strerror})",
                          hint="free disk space, then run the same command again to resume")
    if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return ProbeError(f"{path}: cannot write ({exc.strerror})", hint="choose a writable --out folder")
    return ProbeError(f"{path}: cannot write ({exc.strerror or exc})")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _disk_error(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _disk_error(target, exc) from exc
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write a UTF-8 text file (secrets redacted)."""
    from probe.secrets import redact_text

    return atomic_write_bytes(path, redact_text(text).encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented canonical JSON."""
    return atomic_write_bytes(path, (dumps(obj, indent=2) + "\n").encode("utf-8"))


class JsonlWriter:
    """Append-only JSON-lines file: one ``write`` is one line, flushed and fsync'd.

    Opening repairs a torn tail (a last line without its newline, left by a
    crash): the partial bytes are moved to ``<name>.torn-<time>`` and reported in
    :attr:`torn`, so new lines never glue onto a fragment. Writes go straight to
    the file descriptor (no user-space buffer); a write that fails part-way (disk
    full) is cut back to the previous end of file, so the file stays whole.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True, defer_fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync and not defer_fsync
        self.defer_fsync = defer_fsync
        self.torn: Path | None = None
        self._fd: int | None = None

    async def sync(self) -> None:
        """fsync in a worker thread (``defer_fsync=True``): concurrent callers share the disk flushes.

        Each line is already in the OS when written, so a killed process loses
        nothing; awaiting this also survives a power cut.
        """
        if self._fd is not None and self.defer_fsync:
            import asyncio

            try:
                await asyncio.to_thread(os.fsync, self._fd)
            except OSError as exc:
                raise _disk_error(self.path, exc) from exc

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                torn = repair_torn_tail(self.path)
                self.torn = self.torn or torn
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise _disk_error(self.path, exc) from exc
        return self._fd

    def _append(self, data: bytes) -> None:
        fd = self._open()
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # leave no fragment behind
            raise _disk_error(self.path, exc) from exc

    def write(self, record: Any) -> None:
        self._append((dumps(record) + "\n").encode("utf-8"))

    def write_many(self, records: list[Any]) -> None:
        """Append several lines with one write and one fsync (all or none of them land)."""
        if records:
            self._append(b"".join((dumps(r) + "\n").encode("utf-8") for r in records))

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def repair_torn_tail(path: Path) -> Path | None:
    """Cut a trailing partial line off ``path``; save it beside the file and return that path."""
    if not path.exists():
        return None
    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return None
        # Walk back to the last newline.
        pos = size
        chunk = 65536
        last_nl = -1
        while pos > 0 and last_nl < 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            buf = fh.read(pos - start)
            idx = buf.rfind(b"\n")
            if idx >= 0:
                last_nl = start + idx
            pos = start
        keep = last_nl + 1
        fh.seek(keep)
        fragment = fh.read()
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    aside = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    aside.write_bytes(fragment)
    return aside


@dataclass
class JsonlRead:
    """Records read from a JSON-lines file, with the lines that could not be parsed."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    torn_tail: bool = False


def read_jsonl(path: str | os.PathLike[str], *, strict: bool = False) -> JsonlRead:
    """Read a JSON-lines file, skipping (and reporting) unparseable lines.

    A last line without a newline that does not parse is a torn write from a
    crash: it is skipped and flagged in ``torn_tail``. With ``strict=True`` any
    other bad line raises :class:`DataError` naming the file and line.
    """
    p = Path(path)
    out = JsonlRead()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise CassetteError(f"{p}: cannot read ({exc.strerror})") from exc
    lines = raw.split(b"\n")
    ends_clean = raw.endswith(b"\n") or not raw
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            last = i == len(lines) and not ends_clean
            if last:
                out.torn_tail = True
            else:
                if strict:
                    raise DataError(f"{p}:{i}: not a JSON object", hint="fix or delete that line") from None
                out.bad_lines.append(i)
            continue
        out.records.append(rec)
    return out


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Iterate over the parseable records of a JSON-lines file."""
    yield from read_jsonl(path).records
