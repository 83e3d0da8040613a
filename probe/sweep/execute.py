"""Run a study's cells: each one a normal run folder under ``<study>/cells/<id>/``, plus ``study.json``.

* **Resume per cell and per call.** A cell whose folder holds a ``result.json`` made with its
  settings is skipped; a partial one is run again into the same folder, where the study's own
  resume (trials log, cassette) asks only what is missing, so nothing is paid twice.
* **A changed manifest** is refused with the difference (cells added / dropped, the first changed
  lines), unless ``extend=True``: then the new cells are added and the old ones kept as they are.
* **API cells** (OpenAI, Gemini) run in this process, ``parallel_cells`` at once (threads, each
  cell with its own event loop), inside :func:`probe.session.shared_limits`: one pacer per
  provider + endpoint + key, so rpm, the server's stated budgets and the adaptive cap are the
  study's, not each cell's, and the server sees one client however many cells are in flight;
  one cell's analysis and files overlap the next cells' calls. Only the coordinating thread
  writes ``study.json`` and the progress. ``max_calls`` / ``max_cost`` are for the whole study:
  one :class:`probe.runner.SharedBudget` that every cell's runner asks before each paid call, so
  cells side by side never spend more than one after another. The other local cells run one
  after another here; model-calling compute cells stay here too when a budget is set (a worker
  process could not share it). Ctrl-C stops every cell in flight cleanly (their answers are
  saved); the same command resumes.
* **Compute-bound cells** (local ``hf:``/``embed:`` models, entangle, words over files, quantum)
  go to a Dask cluster when ``cluster`` is given (:mod:`probe.sweep.cluster`), else run here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probe.errors import BatchPending, ConfigError, ProbeError, RunStopped
from probe.io import atomic_write_json
from probe.progress import Progress
from probe.protocol import How, Plan, get_study
from probe.report.study_table import SCHEMA, read_study
from probe.runner import SharedBudget
from probe.runs import now_iso, read_document
from probe.session import shared_limits
from probe.sweep.cells import Cell, build_cells
from probe.sweep.manifest import Manifest, load_manifest


@dataclass
class CellState:
    """Where one cell stands: ``pending``, ``running``, ``done``, ``failed``, ``stopped``."""

    state: str = "pending"
    error: str | None = None
    calls: int = 0
    cost_usd: float | None = None
    elapsed_s: float | None = None


@dataclass
class StudyRun:
    """What :func:`run_study_manifest` did: the folder, the cells and their states."""

    path: Path
    manifest: Manifest
    cells: list[Cell]
    states: dict[str, CellState]
    skipped: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.cells if self.states[c.id].state == "failed"]


PARALLEL_CELLS = 4
"""API cells in flight at once (``--parallel-cells``): enough to keep one shared rate limit busy while
finished cells analyse (about 4 here: a cell of 20 calls at 50 req/s calls for 0.4 s, then analyses ~0.6 s)."""


def calls_models(cell: Cell) -> bool:
    """Whether the cell asks a model (its calls count against the study's budget)."""
    return cell.kind == "api" or cell.experiment in ("bell", "words-generate")


def default_study_dir(manifest: Manifest) -> Path:
    from probe.runs import slug

    return Path("runs") / f"study-{slug(manifest.name)}"


def cell_folder(study_dir: Path, cell: Cell) -> Path:
    return study_dir / "cells" / cell.id


def cell_how(cell: Cell, base: How, folder: Path, *, replay: bool) -> How:
    """The cell's How: the study-wide one with the cell's folder, cassette and endpoint."""
    changes: dict[str, Any] = {"out": folder}
    if cell.how.get("cassette"):
        changes["cassette"] = Path(cell.how["cassette"])
    if cell.how.get("base_url"):
        changes["base_url"] = cell.how["base_url"]
    if replay:
        changes["cassette_mode"] = "replay"
    how = dataclasses.replace(base, **changes)
    if cell.kind == "api" and not cell.how.get("cassette"):  # answers that came in a study's batches
        from probe.sweep.batching import batch_cassette

        shared = batch_cassette(folder.parent.parent, cell, how)
        if shared is not None:
            how = dataclasses.replace(how, cassette=shared)
    return how


def is_complete(folder: Path, cell: Cell) -> bool:
    """Whether ``folder`` holds this cell's finished result (same experiment and settings)."""
    if not (folder / "result.json").is_file():
        return False
    try:
        doc = read_document(folder)
    except ProbeError:
        return False
    return doc.get("experiment") == cell.experiment and doc.get("settings") == cell.settings


_REPORT_LOCK = threading.Lock()
"""Cell reports draw with pyplot, which is not thread-safe: concurrent cells render one at a time."""


def run_cell(cell: dict[str, Any], how: dict[str, Any], *, report: bool = True) -> dict[str, Any]:
    """Run one cell into its folder (``how["out"]``) and return its state; also what a Dask worker runs.

    Arguments are plain data so that they travel to a worker; a cell that was interrupted resumes
    from its folder, so a retried cell (a worker that died) repeats nothing that was saved.
    """
    study = get_study(cell["experiment"])
    settings = study.settings_type.from_dict(cell["settings"])
    how_obj = How(**{k: (Path(v) if k in ("out", "cassette", "prices") and v is not None else v)
                     for k, v in how.items()})
    t0 = time.monotonic()
    result = study.run(settings, how_obj)
    if report and result.path is not None:
        from probe.report import render_run

        with _REPORT_LOCK:
            render_run(result.path)
    run = dict(result.run or {})
    return {"state": "done", "calls": int(run.get("calls") or 0), "cost_usd": run.get("cost_usd"),
            "elapsed_s": round(time.monotonic() - t0, 3)}


def how_to_dict(how: How) -> dict[str, Any]:
    out = {f.name: getattr(how, f.name) for f in dataclasses.fields(How)}
    for k in ("out", "cassette", "prices"):
        if out[k] is not None:
            out[k] = str(out[k])
    out["provider_kwargs"] = dict(out["provider_kwargs"])
    return out


# -- study.json ------------------------------------------------------------------------------------------
def _document(manifest: Manifest, cells: list[Cell], states: dict[str, CellState], created: str,
              history: list[str]) -> dict[str, Any]:
    return {"schema": SCHEMA, "name": manifest.name, "experiment": manifest.experiment,
            "manifest_path": str(manifest.path), "manifest_sha256": manifest.sha256, "manifest": manifest.text,
            "manifest_history": history, "created": created, "updated": now_iso(),
            "cells": [{**c.to_dict(), "folder": f"cells/{c.id}", **dataclasses.asdict(states[c.id])} for c in cells]}


def manifest_difference(old_text: str, new_text: str, old_ids: list[str], new_ids: list[str]) -> str:
    """One line: cells added and dropped, then the first changed manifest lines."""
    added = [i for i in new_ids if i not in old_ids]
    dropped = [i for i in old_ids if i not in new_ids]
    parts = []
    if added:
        parts.append(f"{len(added)} new cell(s) ({', '.join(added[:3])}{' ...' if len(added) > 3 else ''})")
    if dropped:
        parts.append(f"{len(dropped)} cell(s) gone ({', '.join(dropped[:3])}{' ...' if len(dropped) > 3 else ''})")
    lines = [ln for ln in difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=0)
             if ln[:1] in "+-" and not ln.startswith(("+++", "---")) and ln[1:].strip()]
    if lines:
        parts.append("manifest: " + " | ".join(lines[:4]) + (" ..." if len(lines) > 4 else ""))
    return "; ".join(parts) or "same cells, other text"


def _merge(manifest: Manifest, cells: list[Cell], study_dir: Path, *, extend: bool
           ) -> tuple[list[Cell], dict[str, CellState], str, list[str]]:
    """Reconcile the manifest's cells with a study already in the folder (see module docstring)."""
    if not (study_dir / "study.json").exists():
        if study_dir.exists() and any(p for p in study_dir.iterdir() if not p.name.startswith(".")):
            raise ConfigError(f"{study_dir}: folder exists and is not a probe study folder",
                              hint="choose another --out")
        return cells, {c.id: CellState() for c in cells}, now_iso(), [manifest.sha256]
    old = read_study(study_dir)
    old_ids = [c["id"] for c in old["cells"]]
    new_ids = [c.id for c in cells]
    history = list(old.get("manifest_history") or [old.get("manifest_sha256")])
    states = {c["id"]: CellState(state=c.get("state", "pending"), error=c.get("error"), calls=c.get("calls", 0),
                                 cost_usd=c.get("cost_usd"), elapsed_s=c.get("elapsed_s")) for c in old["cells"]}
    if old.get("manifest_sha256") == manifest.sha256 or old_ids == new_ids:
        return cells, {i: states.get(i, CellState()) for i in new_ids}, old.get("created", now_iso()), history
    diff = manifest_difference(old.get("manifest", ""), manifest.text, old_ids, new_ids)
    if not extend:
        raise ConfigError(f"{manifest.path}: changed since the study in {study_dir} began: {diff}",
                          hint="rerun with --extend to add the new cells only, or choose another --out")
    dropped = [i for i in old_ids if i not in new_ids]
    if dropped:
        raise ConfigError(f"{manifest.path}: --extend adds cells only, but the changed manifest drops "
                          f"{len(dropped)} cell(s) ({', '.join(dropped[:3])}): {diff}",
                          hint="keep the old axis values (add new ones), or choose another --out")
    old_cells = [Cell(id=c["id"], experiment=c["experiment"], settings=c["settings"], how=c.get("how") or {},
                      axes=c.get("axes") or {}, kind=c.get("kind", "light")) for c in old["cells"]]
    merged = old_cells + [c for c in cells if c.id not in old_ids]
    return merged, {c.id: states.get(c.id, CellState()) for c in merged}, old.get("created", now_iso()), \
        [*history, manifest.sha256]


# -- dry run -------------------------------------------------------------------------------------------
@dataclass
class DryRun:
    """Cells x calls x tokens x cost, from each cell's ``plan()``; nothing is called or written."""

    manifest: Manifest
    cells: list[Cell]
    plans: list[Plan]
    notes: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(p.calls for p in self.plans)

    @property
    def cached(self) -> int:
        return sum(p.cached for p in self.plans)

    @property
    def input_tokens(self) -> int:
        return sum(p.input_tokens or 0 for p in self.plans)

    @property
    def output_tokens_max(self) -> int:
        return sum(p.output_tokens_max or 0 for p in self.plans)

    @property
    def cost_range(self) -> tuple[float, float]:
        known = [p.cost_usd for p in self.plans if p.cost_usd is not None]
        return (sum(c[0] for c in known), sum(c[1] for c in known))

    @property
    def frame(self) -> Any:
        """One row per cell: its id, kind, calls to make, calls already recorded, tokens and cost range."""
        import pandas as pd

        return pd.DataFrame([{"cell": c.id, "experiment": c.experiment, "model": c.model, "kind": c.kind,
                              "items": p.items, "calls": p.calls, "cached": p.cached,
                              "input_tokens": p.input_tokens, "output_tokens_max": p.output_tokens_max,
                              "cost_low": None if p.cost_usd is None else p.cost_usd[0],
                              "cost_high": None if p.cost_usd is None else p.cost_usd[1]}
                             for c, p in zip(self.cells, self.plans, strict=True)])

    @property
    def unpriced(self) -> int:
        """Cells that make calls to a paid model with no price (their cost is not in the range)."""
        return sum(1 for p in self.plans if p.cost_usd is None and any("cost unknown" in n for n in p.notes))


def plan_study(manifest_path: str | Path, *, out: str | Path | None = None, replay: bool = False,
               **how: Any) -> DryRun:
    """What the study would do: every cell's plan, with the calls already held by its folder's cassette."""
    manifest = load_manifest(manifest_path)
    cells = build_cells(manifest)
    study_dir = Path(out) if out else default_study_dir(manifest)
    base = How(**_how_kwargs(how))
    plans = []
    for cell in cells:
        folder = cell_folder(study_dir, cell)
        study = get_study(cell.experiment)
        plans.append(study.plan(study.settings_type.from_dict(cell.settings),
                                cell_how(cell, base, folder, replay=replay)))
    notes = ["token counts are estimates; reasoning models bill hidden reasoning tokens, so the upper end of "
             "the cost range is uncertain for them"]
    return DryRun(manifest, cells, plans, notes)


def _how_kwargs(how: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(How)}
    unknown = sorted(set(how) - names)
    if unknown:
        raise ConfigError(f"unknown study option(s) {', '.join(unknown)}", hint=f"known: {', '.join(sorted(names))}")
    out = dict(how)
    for k in ("cassette", "prices"):
        if isinstance(out.get(k), str):
            out[k] = Path(out[k])
    return out


# -- the run -------------------------------------------------------------------------------------------
def run_study_manifest(manifest_path: str | Path, *, out: str | Path | None = None, replay: bool = False,
                       extend: bool = False, cluster: str | None = None, retries: int = 2,
                       cell_report: bool = True, on_cell: Callable[[Cell, CellState], None] | None = None,
                       parallel_cells: int = PARALLEL_CELLS, **how: Any) -> StudyRun:
    """Run (or resume) every cell of a manifest; see the module docstring. ``how`` holds How fields
    (``max_calls`` / ``max_cost`` are study-wide; ``progress``; ``concurrency``, ``rpm`` ...);
    ``parallel_cells``: API cells in flight at once."""
    if cluster is not None:
        from probe.sweep.cluster import parse_cluster

        parse_cluster(cluster)  # a bad --cluster is an error before anything runs
    if not isinstance(parallel_cells, int) or parallel_cells < 1:
        raise ConfigError(f"--parallel-cells {parallel_cells!r}: must be a whole number >= 1",
                          hint="1 runs the API cells one after another")
    manifest = load_manifest(manifest_path)
    cells = build_cells(manifest)
    study_dir = Path(out) if out else default_study_dir(manifest)
    how_kw = _how_kwargs(how)
    max_calls, max_cost = how_kw.pop("max_calls", None), how_kw.pop("max_cost", None)
    base = How(**how_kw)
    (dataclasses.replace(base, cassette_mode="replay") if replay else base).validate()
    cells, states, created, history = _merge(manifest, cells, study_dir, extend=extend)
    study_dir.mkdir(parents=True, exist_ok=True)
    ex = _Execution(StudyRun(study_dir, manifest, cells, states), base, created=created, history=history,
                    replay=replay, max_calls=max_calls, max_cost=max_cost, cell_report=cell_report, on_cell=on_cell)
    todo = ex.pending()
    budgeted = max_calls is not None or max_cost is not None
    remote = [c for c in todo if c.kind == "compute" and not (budgeted and calls_models(c))] if cluster else []
    api = [c for c in todo if c.kind == "api" and c not in remote]
    local = [c for c in todo if c not in remote and c not in api]
    t0 = time.monotonic()
    stop: RunStopped | None = None
    batches = None
    with ex.progress, shared_limits(ex.budget):
        ex.progress.update(done=ex.run.skipped, info=ex.info())
        if base.batch and api:  # --batch: every API cell's requests in one set of batches per provider + model
            batches = ex.settle_batches(api)
            api = [c for c in api if c.id not in batches.waiting]
        with contextlib.ExitStack() as stack:
            futures = ex.submit(stack, cluster, remote, retries) if remote else {}
            stop = ex.run_local(local)
            if stop is None and api:
                stop = ex.run_concurrent(api, parallel_cells)
            if futures:
                ex.collect(futures)
    ex.run.elapsed_s = time.monotonic() - t0
    if any(states[c.id].state == "done" for c in cells):
        from probe.report.study_table import write_tables

        write_tables(study_dir)
    if stop is not None:
        raise RunStopped(f"study {manifest.name}: {stop}; {sum(s.state == 'done' for s in states.values())} of "
                         f"{len(cells)} cells done", hint=f"rerun the same command to resume ({study_dir})",
                         reason=stop.reason)
    if batches is not None and batches.waiting:
        report = batches.report
        ids = ", ".join(str(b.batch_id) for b in report.open) or "none open"
        held = f"; {report.held_back} requests held back by the budget" if report.held_back else ""
        raise BatchPending(f"study {manifest.name}: {len(batches.waiting)} of {len(cells)} cells wait for batch "
                           f"answers ({report.missing} not in yet; {len(report.open)} batches open: {ids}{held}); "
                           f"{sum(s.state == 'done' for s in states.values())} cells done",
                           hint="run the same command again later to collect them and finish those cells "
                                "(or add --wait)" + ("; raise --max-calls / --max-cost to send the rest" if held else ""),
                           report=report)
    return ex.run


class _Execution:
    """The state of one ``run_study_manifest`` call: cell states, study.json, progress, budget left."""

    def __init__(self, run: StudyRun, base: How, *, created: str, history: list[str], replay: bool,
                 max_calls: int | None, max_cost: float | None, cell_report: bool,
                 on_cell: Callable[[Cell, CellState], None] | None) -> None:
        self.run, self.base, self.created, self.history = run, base, created, history
        self.replay, self.max_calls, self.max_cost = replay, max_calls, max_cost
        self.cell_report, self.on_cell = cell_report, on_cell
        self.states = run.states
        self.budget = SharedBudget(max_calls, max_cost, first_wave=base.concurrency)
        self.progress = Progress(f"study {run.manifest.name}", len(run.cells), enabled=base.progress, unit="cells")
        self.cell_progress: bool | None = False if self.progress.mode == "bar" else base.progress

    def save(self) -> None:
        atomic_write_json(self.run.path / "study.json",
                          _document(self.run.manifest, self.run.cells, self.states, self.created, self.history))

    def pending(self) -> list[Cell]:
        """Mark finished cells done (skipped) and return the others; writes study.json."""
        todo = []
        for cell in self.run.cells:
            if is_complete(cell_folder(self.run.path, cell), cell):
                if self.states[cell.id].state != "done":
                    self.states[cell.id] = CellState(state="done")
                self.run.skipped += 1
            else:
                if self.states[cell.id].state != "failed":
                    self.states[cell.id] = CellState(state="pending")
                todo.append(cell)
        self.save()
        return todo

    def info(self) -> str:
        counts: dict[str, int] = {}
        for s in self.states.values():
            counts[s.state] = counts.get(s.state, 0) + 1
        parts = [f"{counts[k]} {k}" for k in ("done", "running", "failed") if counts.get(k)]
        calls, spent = max(self.run.calls, self.budget.calls), max(self.run.cost_usd, self.budget.cost_usd)
        cost = f" ${spent:.4f}" if spent else ""
        return ", ".join(parts) + f"; {calls} calls{cost}"

    def finish(self, cell: Cell, state: CellState) -> None:
        self.states[cell.id] = state
        self.run.calls += state.calls
        self.run.cost_usd += state.cost_usd or 0.0
        self.save()
        self.progress.advance(info=self.info())
        if self.on_cell is not None:
            self.on_cell(cell, state)

    def how_for(self, cell: Cell) -> dict[str, Any]:
        """The cell's How as plain data; model-calling cells get what is left of the study's budget."""
        h = cell_how(cell, self.base, cell_folder(self.run.path, cell), replay=self.replay)
        h = dataclasses.replace(h, progress=self.cell_progress)
        if calls_models(cell):
            left_calls = None if self.max_calls is None else max(0, self.max_calls - max(self.run.calls,
                                                                                           self.budget.calls))
            left_cost = None if self.max_cost is None else max(0.0, self.max_cost - max(self.run.cost_usd,
                                                                                          self.budget.cost_usd))
            h = dataclasses.replace(h, max_calls=left_calls, max_cost=left_cost)
        return how_to_dict(h)

    def submit(self, stack: contextlib.ExitStack, cluster: str | None, cells: list[Cell], retries: int
               ) -> dict[Any, Cell]:
        """Send the compute-bound cells to the Dask cluster (closed when ``stack`` closes)."""
        from probe.sweep.cluster import connect, submit

        client = stack.enter_context(connect(cluster))  # type: ignore[arg-type]
        futures = {}
        for cell in cells:
            self.states[cell.id] = CellState(state="running")
            futures[submit(client, run_cell, cell.to_dict(), self.how_for(cell), report=self.cell_report,
                           retries=retries)] = cell
        self.save()
        return futures

    def run_local(self, cells: list[Cell]) -> RunStopped | None:
        """Run cells here, one after another; stop at a budget stop or interrupt (returned) and say so."""
        for cell in cells:
            self.states[cell.id] = CellState(state="running")
            self.save()
            self.progress.update(info=f"{cell.id}; {self.info()}")
            stop = None
            try:
                outcome = CellState(**run_cell(cell.to_dict(), self.how_for(cell), report=self.cell_report))
            except RunStopped as exc:
                outcome, stop = CellState(state="stopped", error=str(exc)), exc
            except ProbeError as exc:
                outcome = CellState(state="failed", error=str(exc))
            except BaseException:  # a second Ctrl-C, a bug: the cell's folder keeps what was saved
                self.states[cell.id] = CellState(state="stopped", error="interrupted")
                self.save()
                raise
            self.finish(cell, outcome)
            if stop is not None:
                return stop
        return None

    def settle_batches(self, cells: list[Cell]) -> Any:
        """``--batch``: settle the API cells' missing answers (:mod:`probe.sweep.batching`); the cells still
        waiting are marked pending with why, the requests sent count against the study's budget."""
        from probe.sweep.batching import settle_cells

        self.progress.update(info=f"batches for {len(cells)} API cells; {self.info()}")
        found = settle_cells(self.run.path, [(c, cell_how(c, self.base, cell_folder(self.run.path, c),
                                                          replay=self.replay)) for c in cells],
                             max_calls=self.max_calls, max_cost=self.max_cost, wait=self.base.batch_wait)
        self.budget.charge(found.sent, found.sent_cost_usd)
        self.run.calls += found.sent
        for cell_id, why in found.waiting.items():
            self.states[cell_id] = CellState(state="pending", error=why)
        self.save()
        return found

    def run_concurrent(self, cells: list[Cell], width: int) -> RunStopped | None:
        """Run API cells ``width`` at a time in threads (this thread keeps study.json and the progress); stop
        taking new cells at the first budget stop, failure of probe itself or Ctrl-C (returned / raised)."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        queue, running, running_how = list(cells), {}, {}
        stop: RunStopped | None = None

        def cassette_of(how: dict[str, Any]) -> str:
            return str(Path(how["cassette"] or Path(how["out"]) / "cassette.jsonl").resolve())
        interrupts = 0

        def attempt(cell: Cell, how: dict[str, Any]) -> tuple[CellState, RunStopped | None]:
            try:
                return CellState(**run_cell(cell.to_dict(), how, report=self.cell_report)), None
            except RunStopped as exc:
                return CellState(state="stopped", error=str(exc)), exc
            except ProbeError as exc:
                return CellState(state="failed", error=str(exc)), None

        pool = ThreadPoolExecutor(max_workers=max(1, int(width)), thread_name_prefix="probe-cell")
        try:
            while queue or running:
                while queue and stop is None and self.budget.stopped is None and len(running) < max(1, int(width)):
                    # cells that share a cassette (a manifest's, a study's batches) never run at the same time
                    busy = {cassette_of(h) for h in running_how.values()}
                    hows = {c.id: self.how_for(c) for c in queue[: 4 * max(1, int(width))]}
                    cell = next((c for c in queue if c.id in hows and cassette_of(hows[c.id]) not in busy), None)
                    if cell is None:
                        break
                    queue.remove(cell)
                    self.states[cell.id] = CellState(state="running")
                    future = pool.submit(attempt, cell, hows[cell.id])
                    running[future], running_how[future] = cell, hows[cell.id]
                    self.save()
                    self.progress.update(info=self.info())
                if not running:
                    break
                try:
                    finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # first Ctrl-C: no new calls, the ones in flight end and are saved
                    interrupts += 1
                    if interrupts > 1:
                        raise
                    self.budget.stop("interrupted")
                    print("probe: stopping the study: waiting for the calls in flight (Ctrl-C again to abort)",
                          file=sys.stderr)
                    continue
                for future in finished:
                    cell = running.pop(future)
                    running_how.pop(future, None)
                    outcome, cell_stop = future.result()
                    stop = stop or cell_stop
                    self.finish(cell, outcome)
                self.progress.update(info=self.info())
        except BaseException:  # a second Ctrl-C, a bug: the cells' folders keep what was saved
            self.budget.stop("interrupted")
            # the cells' runners end their calls in flight and release their folders (the interpreter would
            # join these threads at exit anyway; a resume in the same process must not find a folder held)
            with contextlib.suppress(BaseException):
                wait(running, timeout=120)
            for future, cell in running.items():
                done = future.done() and not future.cancelled() and future.exception() is None
                state = future.result()[0] if done else CellState(state="stopped", error="interrupted")
                self.states[cell.id] = state
                self.run.calls += state.calls
                self.run.cost_usd += state.cost_usd or 0.0
            self.save()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if stop is None and self.budget.stopped == "interrupted":
            stop = RunStopped("interrupted", reason="interrupted")
        return stop

    def collect(self, futures: dict[Any, Cell]) -> None:
        from probe.sweep.cluster import wait_cells

        for cell, outcome, problem in wait_cells(futures):
            self.finish(cell, CellState(**outcome) if problem is None else CellState(state="failed", error=problem))


__all__ = ["PARALLEL_CELLS", "SCHEMA", "CellState", "DryRun", "StudyRun", "calls_models", "cell_folder", "cell_how", "default_study_dir",
           "is_complete", "manifest_difference", "plan_study", "read_study", "run_cell", "run_study_manifest"]
