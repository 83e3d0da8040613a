"""Progress for every long piece of work: one helper, two faces.

On a terminal it is a rich bar that stays legible at 80 columns (description,
bar, done/total, rate, elapsed, ETA, and a short info field that is dropped
first when space runs out). When stderr is not a terminal (cluster jobs, CI,
``nohup``) it prints plain timestamped lines instead, at most every
``interval_s`` seconds plus one at the start and one at the end, so a log shows
that the work is alive and how far it got::

    2026-12-02T10:15:03 probe: bell embed:minilm: 120/400 (30%) 8.1/s elapsed 0:00:15 eta 0:00:35 cached 0

``progress=False`` silences both; ``None`` chooses by ``sys.stderr.isatty()``.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time
from typing import Any, TextIO


def _hms(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def stamp_line(message: str) -> str:
    return f"{_dt.datetime.now().isoformat(timespec='seconds')} probe: {message}"


def note(message: str, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
    """One status line (e.g. ``loading model hf:... (this can take a minute)``) on stderr."""
    if enabled is False:
        return
    out = stream or sys.stderr
    tty = out.isatty() if hasattr(out, "isatty") else False
    print(message if tty else stamp_line(message), file=out, flush=True)


class Progress:
    """A progress display for ``total`` units of work (``None``: unknown).

    Use as a context manager; call :meth:`advance` as units finish, :meth:`update`
    to change the description or the info text, :meth:`set_total` once known.

    Parameters
    ----------
    description : str
    total : int, optional
    enabled : bool, optional
        ``None``: a bar on a terminal, plain lines otherwise; ``False``: silent.
    interval_s : float
        Seconds between plain lines.
    unit : str
        What is counted (for the rate: ``8.1 calls/s``).
    """

    def __init__(self, description: str, total: int | None = None, *, enabled: bool | None = None,
                 interval_s: float = 10.0, unit: str = "", stream: TextIO | None = None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self.info = ""
        self.unit = unit
        self.interval_s = interval_s
        self.stream = stream or sys.stderr
        tty = self.stream.isatty() if hasattr(self.stream, "isatty") else False
        self.mode = "off" if enabled is False else ("bar" if tty else "lines")
        self._t0 = 0.0
        self._last_line = 0.0
        self._bar: Any = None
        self._task: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> Progress:
        self._t0 = time.monotonic()
        if self.mode == "bar":
            import rich.progress as rp
            from rich.console import Console

            console = Console(file=self.stream)
            self._bar = rp.Progress(
                rp.TextColumn("[bold]{task.description}", table_column=_column(ratio=2, no_wrap=True)),
                rp.BarColumn(bar_width=None, table_column=_column(ratio=1, min_width=6)),
                rp.MofNCompleteColumn(), rp.TextColumn("{task.fields[rate]}"), rp.TimeElapsedColumn(),
                rp.TextColumn("eta"), rp.TimeRemainingColumn(),
                rp.TextColumn("{task.fields[info]}", table_column=_column(ratio=1, no_wrap=True)),
                console=console, transient=False, expand=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, rate="", info=self.info)
        elif self.mode == "lines":
            self._line(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.stop()
        elif self.mode == "lines":
            self._line(force=True, final=True)

    # -- updates --------------------------------------------------------------------------------------
    def advance(self, n: int = 1, *, info: str | None = None) -> None:
        self.done += n
        if info is not None:
            self.info = info
        self._refresh()

    def update(self, *, description: str | None = None, info: str | None = None, done: int | None = None) -> None:
        if description is not None:
            self.description = description
        if info is not None:
            self.info = info
        if done is not None:
            self.done = done
        self._refresh()

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(self._task, total=total)

    def rate(self) -> float:
        return self.done / max(time.monotonic() - self._t0, 1e-9)

    def eta_s(self) -> float | None:
        if not self.total or not self.done:
            return None
        return (self.total - self.done) / max(self.rate(), 1e-12)

    def _rate_text(self) -> str:
        r = self.rate()
        unit = f" {self.unit}" if self.unit else ""
        return f"{r:.1f}{unit}/s" if r >= 0.1 else f"{60 * r:.1f}{unit}/min"

    def _refresh(self) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=self.description,
                             rate=self._rate_text(), info=self.info)
        elif self.mode == "lines":
            self._line()

    def _line(self, *, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_line < self.interval_s:
            return
        self._last_line = now
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        info = f" {self.info}" if self.info else ""
        if not self.done and not final:
            text = (f"started, {self.total or '?'} to do" if force
                    else f"0{of}, still at the first item after {_hms(now - self._t0)}")
            print(stamp_line(f"{self.description}: {text}"), file=self.stream, flush=True)
            return
        if final and not self.total and not self.done:
            print(stamp_line(f"{self.description}: done in {_hms(now - self._t0)}"), file=self.stream, flush=True)
            return
        tail = "done" if final else f"eta {_hms(self.eta_s())}"
        print(stamp_line(f"{self.description}: {self.done}{of}{pct} {self._rate_text()} "
                         f"elapsed {_hms(now - self._t0)} {tail}{info}"), file=self.stream, flush=True)


def _column(**kwargs: Any) -> Any:
    from rich.table import Column

    return Column(**kwargs)


__all__ = ["Progress", "note", "stamp_line"]
