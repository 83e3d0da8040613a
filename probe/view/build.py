"""Build the static site of a folder of runs: ``index.html``, one page per run and per study, assets.

Layout of the site (all links relative, so the folder works from ``file://``, any static
host, or a paper's supplement; nothing is fetched from elsewhere)::

    index.html                     every run and study (sortable, filterable)
    assets/view.css, view.js       shipped in the package (probe/view/assets)
    runs/<folder>/index.html       one run: report, figures, trials, result.json, files
    runs/<folder>/cassette.html    the cassette lines behind its trials (#c-<key>)
    studies/<folder>/index.html    one study: table, forest plot, comparisons, cells
    _build.json                    what was built from what (for incremental and live rebuilds)

Every text file written here passes through :func:`probe.secrets.redact_text` (the same
choke point as run folders); binary figures that contain a secret value are left out.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from probe.errors import ConfigError
from probe.io import atomic_write_bytes, atomic_write_text
from probe.runs import check_writable, now_iso
from probe.secrets import secret_values
from probe.view.html import Secrets, clean_text
from probe.view.index import index_page
from probe.view.pages import run_page
from probe.view.scan import page_dir, scan
from probe.view.study import study_page
from probe.view.summary import RunSummary, summarize

BUILD_FILE = "_build.json"
SITE_SCHEMA = "probe-site/1"
TEXT_SUFFIXES = {".html", ".json", ".jsonl", ".md", ".csv", ".tex", ".svg", ".txt", ".css", ".js"}


@dataclass(frozen=True, slots=True)
class SiteBuild:
    """What a build wrote: the site folder, its index, how many pages were (re)built."""

    out: Path
    index: Path
    n_runs: int
    n_studies: int
    rebuilt: int
    build_id: str
    skipped_files: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return self.index.resolve().as_uri()


def _generator() -> str:
    """A hash of the site builder's own files: pages built by other code are rebuilt."""
    import hashlib

    from probe import __version__

    digest = hashlib.sha256(__version__.encode())
    folder = resources.files("probe.view")
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".py")):
        digest.update((folder / name).read_bytes())
    for name in ("view.css", "view.js"):
        digest.update((folder / "assets" / name).read_bytes())
    return digest.hexdigest()[:12]


def _check_out(root: Path, out: Path) -> None:
    if not root.is_dir():
        raise ConfigError(f"{root}: no such folder", hint="pass a folder of run folders, e.g. runs/")
    if out.resolve() == root.resolve():
        raise ConfigError(f"{out}: the site cannot be written into the runs folder itself",
                          hint="use the default <folder>/_site or another --out")
    check_writable(out)
    if out.is_dir() and any(out.iterdir()) and not (out / BUILD_FILE).is_file():
        raise ConfigError(f"{out}: folder exists and is not a probe view site", hint="choose an empty or new --out")


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.skipped: list[str] = []

    def write(self, rel: str, content: str | bytes | Path) -> None:
        dest = self.out / rel
        if isinstance(content, Path):
            if content.suffix in TEXT_SUFFIXES:
                content = content.read_text(errors="replace")
            else:
                data = content.read_bytes()
                if any(v.encode() in data for v in Secrets.values):
                    self.skipped.append(rel)  # a secret inside a binary file: leave it out
                    return
                atomic_write_bytes(dest, data)
                return
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="replace")
        atomic_write_text(dest, clean_text(content))


def _assets(writer: _Writer) -> None:
    folder = resources.files("probe.view") / "assets"
    for name in ("view.css", "view.js"):
        writer.write(f"assets/{name}", (folder / name).read_text())


def _previous(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / BUILD_FILE).read_text())
        return data if isinstance(data, dict) and data.get("schema") == SITE_SCHEMA else {}
    except (OSError, ValueError):
        return {}


def _prune(out: Path, keep: set[str]) -> None:
    """Remove the page folders of runs and studies that are no longer under the root."""
    for top in ("runs", "studies"):
        base = out / top
        if not base.is_dir():
            continue
        for index in sorted(base.rglob("index.html"), reverse=True):
            rel = index.parent.relative_to(out).as_posix()
            if rel not in keep and not any(k.startswith(rel + "/") for k in keep):
                shutil.rmtree(index.parent, ignore_errors=True)


def build_site(root: str | Path, out: str | Path | None = None, *, title: str | None = None) -> SiteBuild:
    """Build (or bring up to date) the site of every run and study under ``root``.

    Parameters
    ----------
    root : path
        A folder of run folders (``runs/``), a study folder, or one run folder.
    out : path, optional
        The site folder (default ``<root>/_site``). Pages of runs whose files have not
        changed since the last build into the same folder are kept as they are.

    Raises
    ------
    ConfigError
        ``root`` is missing, or ``out`` is not writable or is a folder that is not a site.
    """
    root = Path(root)
    out = Path(out) if out is not None else root / "_site"
    _check_out(root, out)
    Secrets.values = secret_values()
    found = scan(root, skip=out)
    previous = (_previous(out).get("pages") or {}) if out.is_dir() else {}
    out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out)
    _assets(writer)
    summaries: dict[str, RunSummary] = {s.rel: s for s in (summarize(r) for r in found.runs)}
    hrefs = {r.rel: f"runs/{page_dir(r.rel)}/index.html" for r in found.runs if r.state == "done"}
    pages: dict[str, str] = {}
    rebuilt = 0
    generator = _generator()
    for entry in found.runs:
        if entry.state != "done":
            continue
        where = f"runs/{page_dir(entry.rel)}"
        sig = f"{generator}:{found.signature.get(entry.rel, '')}"
        pages[where] = sig
        if previous.get(where) == sig and (out / where / "index.html").is_file():
            continue
        _write_page(writer, where, run_page(entry, summaries[entry.rel], up="../" * where.count("/") + "../"))
        rebuilt += 1
    docs = {r.rel: r.doc for r in found.runs if r.doc is not None}
    study_rows = []
    for study in found.studies:
        where = f"studies/{page_dir(study.rel)}"
        cells = [summaries[c] for c in study.cells]
        sig = "|".join([generator, found.signature.get(study.rel, ""), *(found.signature.get(c, "") for c in study.cells)])
        pages[where] = sig
        study_rows.append((study, f"{where}/index.html", cells))
        if previous.get(where) == sig and (out / where / "index.html").is_file():
            continue
        up = "../" * where.count("/") + "../"
        _write_page(writer, where, study_page(study, cells, hrefs={k: up + v for k, v in hrefs.items()}, docs=docs,
                                              up=up))
        rebuilt += 1
    _prune(out, set(pages))
    name = title or f"probe runs: {root.resolve().name}"
    run_rows = [(summaries[r.rel], hrefs.get(r.rel)) for r in found.runs]
    writer.write("index.html", index_page(run_rows, study_rows, title=name, built=now_iso()))
    import hashlib

    from probe import __version__

    build_id = hashlib.sha256(json.dumps([pages, __version__, sorted(summaries)]).encode()).hexdigest()[:16]
    atomic_write_text(out / BUILD_FILE, json.dumps({"schema": SITE_SCHEMA, "build": build_id, "root": str(root),
                                                    "probe_version": __version__, "pages": pages}, indent=1) + "\n")
    return SiteBuild(out, out / "index.html", sum(1 for r in found.runs if r.state == "done"), len(found.studies),
                     rebuilt, build_id, tuple(writer.skipped))


def _write_page(writer: _Writer, where: str, files: dict[str, Any]) -> None:
    target = writer.out / where
    if target.is_dir():  # a rebuilt page starts clean (no figure of an older report left behind)
        for p in target.iterdir():
            if p.is_file():
                p.unlink()
    for name, content in files.items():
        writer.write(f"{where}/{name}", content)


__all__ = ["BUILD_FILE", "SiteBuild", "build_site", "page_dir"]


