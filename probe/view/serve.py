"""``probe view --serve``: the site on 127.0.0.1, rebuilt when a run folder changes.

The server is the standard library's (``http.server``), bound to the loopback interface
only, serving the built site folder and nothing else. A watcher thread compares the sizes
and times of the watched run files every ``interval_s`` seconds and rebuilds the site when
they change (a run finishing writes ``result.json``); pages that are open reload
themselves when ``_build.json`` changes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, ProbeError
from probe.view.build import SiteBuild, build_site
from probe.view.scan import signature

HOST = "127.0.0.1"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # the terminal shows rebuilds, not every request
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class SiteServer:
    """A started server and its watcher; ``stop()`` ends both. Use as a context manager."""

    def __init__(self, root: Path, out: Path, *, port: int = 8000, interval_s: float = 2.0,
                 on_build: Callable[[SiteBuild], None] | None = None,
                 on_error: Callable[[ProbeError], None] | None = None) -> None:
        self.root, self.out, self.interval_s = Path(root), Path(out), float(interval_s)
        self.on_build, self.on_error = on_build, on_error
        self.last = build_site(self.root, self.out)
        self._sig = signature(self.root, skip=self.out)
        handler = functools.partial(_Quiet, directory=str(self.out))
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {HOST}:{port} ({exc.strerror})",
                              hint="choose another --port (0 picks a free one)") from exc
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self.httpd.serve_forever, daemon=True, name="probe-view-http"),
                         threading.Thread(target=self._watch, daemon=True, name="probe-view-watch")]
        for t in self._threads:
            t.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                now = signature(self.root, skip=self.out)
                if now != self._sig:
                    self._sig = now
                    self.last = build_site(self.root, self.out)
                    if self.on_build:
                        self.on_build(self.last)
            except ProbeError as exc:  # a half-written folder: report it and try again on the next change
                if self.on_error:
                    self.on_error(exc)

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(root: str | Path, out: str | Path | None = None, *, port: int = 8000, interval_s: float = 2.0,
          on_build: Callable[[SiteBuild], None] | None = None,
          on_error: Callable[[ProbeError], None] | None = None) -> SiteServer:
    """Build the site, serve it on 127.0.0.1:``port`` and rebuild on change; returns the running server."""
    root = Path(root)
    return SiteServer(root, Path(out) if out is not None else root / "_site", port=port, interval_s=interval_s,
                      on_build=on_build, on_error=on_error)


__all__ = ["HOST", "SiteServer", "serve"]
