"""Run folders: ``runs/<experiment>-<model>-<time>/`` with one job each.

A run folder is created lazily, on the first thing written into it, so a run
that fails before producing anything leaves no folder behind. ``run.json``
records the settings that define the run; resuming into the same folder with
different settings is refused, because the answers would not belong together.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, ProbeError
from probe.io import atomic_write_json

RUNS_ROOT = Path("runs")


def slug(text: str) -> str:
    """A file-name-safe form of a model or experiment name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.")
    return s[:60] or "x"


def timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%dT%H%M%S")


def default_run_dir(experiment: str, model: str, *, root: Path | None = None) -> Path:
    """``runs/<experiment>-<model>-<YYYYmmddTHHMMSS>``."""
    return (root or RUNS_ROOT) / f"{slug(experiment)}-{slug(model)}-{timestamp()}"


class RunFolder:
    """One run's output folder.

    Parameters
    ----------
    path : path-like
        The folder; created on first use.
    settings : dict
        What defines the run (model, prompt hash, mode, seed, ...). Stored as
        ``run.json``; a resumed run must match it on every key in ``identity``.
    identity : sequence of str
        Keys of ``settings`` that must agree for a resume.
    """

    def __init__(self, path: str | os.PathLike[str], settings: dict[str, Any], *, identity: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.settings = settings
        self.identity = identity
        self._lock_fh: Any = None

    @property
    def exists(self) -> bool:
        return (self.path / "run.json").exists()

    def check_resume(self) -> dict[str, Any] | None:
        """Compare with an existing ``run.json``; return it, or ``None`` for a new run."""
        meta = self.path / "run.json"
        if not meta.exists():
            if self.path.exists() and any(p for p in self.path.iterdir() if not p.name.startswith(".")):
                raise ConfigError(
                    f"{self.path}: folder exists and is not a probe run folder",
                    hint="choose another --out",
                )
            return None
        try:
            old = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{meta}: unreadable run settings ({exc})", hint="choose another --out") from exc
        diffs = [
            f"{k}: {old.get('settings', {}).get(k)!r} -> {self.settings.get(k)!r}"
            for k in self.identity
            if old.get("settings", {}).get(k) != self.settings.get(k)
        ]
        if diffs:
            raise ConfigError(
                f"{self.path}: cannot resume, the run was made with other settings ({'; '.join(diffs)})",
                hint="use the original settings or a new --out",
            )
        return old

    def ensure(self) -> Path:
        """Create the folder, take its lock and write ``run.json`` if new."""
        if self._lock_fh is None:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self._lock_fh = open(self.path / ".lock", "w")  # noqa: SIM115 - held for the run
            except OSError as exc:
                raise ProbeError(f"{self.path}: cannot create run folder ({exc.strerror})",
                                 hint="choose a writable --out") from exc
            try:
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                raise ConfigError(f"{self.path}: another probe process is writing this run",
                                  hint="wait for it to finish or choose another --out") from exc
            if not (self.path / "run.json").exists():
                from probe import __version__

                atomic_write_json(
                    self.path / "run.json",
                    {"settings": self.settings, "created": _dt.datetime.now().isoformat(timespec="seconds"),
                     "probe_version": __version__},
                )
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
