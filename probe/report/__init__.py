"""Reports: Markdown, LaTeX tables and figures built from a run folder alone.

``render_run(path)`` reads ``result.json`` (any schema version, see
:func:`probe.runs.read_document`) and dispatches on its ``experiment`` to one
renderer ``render(run_dir, doc) -> list[Path]``. Experiments never import this
package: the CLI or the user calls ``render_run`` after a run, and
``probe report RUN`` rebuilds any study's report byte for byte.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from probe.errors import DataError
from probe.runs import read_document

# experiment name (the "experiment" key of result.json) -> "module:function"
RENDERERS: dict[str, str] = {
    "bell": "probe.report.bell:render",
    "bell-counts": "probe.report.bell:render",
    "words": "probe.report.words:render",
    "words-generate": "probe.report.words:render",
    "entangle-weights": "probe.report.entangle:render",
    "entangle-delta": "probe.report.entangle:render",
    "entangle-lora": "probe.report.entangle:render",
    "entangle-attention": "probe.report.entangle:render",
    "entangle-random": "probe.report.entangle:render",
    "quantum-power": "probe.report.quantum:render",
    "quantum-expressibility": "probe.report.quantum:render",
    "quantum-capability": "probe.report.quantum:render",
    "quantum-mie": "probe.report.quantum:render",
    "quantum-classify": "probe.report.quantum_models:render",
    "quantum-compare": "probe.report.quantum_models:render",
    "quantum-rl": "probe.report.quantum_models:render",
    "quantum-overlap": "probe.report.quantum_models:render",
}


def render_run(run_dir: str | Path) -> list[Path]:
    """Rebuild report.md, tables and figures of a run folder from its result.json; returns the files written.

    A study folder (``study.json``, made by ``probe study``) gets the study report
    (:func:`probe.report.study.render_study`).
    """
    if (Path(run_dir) / "study.json").is_file() and not (Path(run_dir) / "result.json").is_file():
        from probe.report.study import render_study

        return render_study(run_dir)
    doc = read_document(run_dir)
    experiment = str(doc.get("experiment", ""))
    target = RENDERERS.get(experiment)
    if target is None:
        raise DataError(f"{run_dir}/result.json: unknown experiment {experiment!r}",
                        hint=f"known: {', '.join(sorted(RENDERERS))}")
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)(Path(run_dir), doc)


__all__ = ["RENDERERS", "render_run"]
