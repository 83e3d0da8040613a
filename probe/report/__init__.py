"""Reports: Markdown, LaTeX tables and figures built from a run folder's ``result.json``.

Each experiment registers one renderer ``render(run_dir, result) -> list[Path]``
here; ``probe report RUN`` dispatches on ``result["experiment"]``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, DataError

# experiment name (the "experiment" key of result.json) -> "module:function"
RENDERERS: dict[str, str] = {
    "bell": "probe.report.bell:render",
    "quantum-power": "probe.report.quantum:render",
    "quantum-expressibility": "probe.report.quantum:render",
    "quantum-capability": "probe.report.quantum:render",
    "quantum-mie": "probe.report.quantum:render",
    "quantum-classify": "probe.report.quantum_models:render",
    "quantum-compare": "probe.report.quantum_models:render",
    "quantum-rl": "probe.report.quantum_models:render",
    "quantum-overlap": "probe.report.quantum_models:render",
    "entangle": "probe.report.entangle:render",
    "words": "probe.report.words:render",
}


def register(experiment: str, target: str) -> None:
    """Register a renderer ``"module:function"`` for an experiment name."""
    RENDERERS[experiment] = target


def load_result(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "result.json"
    if not path.exists():
        raise ConfigError(f"{run_dir}: no result.json", hint="pass a finished run folder, or resume the run first")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc


def render_run(run_dir: str | Path) -> list[Path]:
    """Rebuild report.md, tables and figures of a run folder from its result.json."""
    result = load_result(run_dir)
    experiment = str(result.get("experiment", ""))
    target = RENDERERS.get(experiment)
    if target is None:
        for name, tgt in RENDERERS.items():  # e.g. "quantum-power" -> "quantum"
            if experiment.startswith(name):
                target = tgt
                break
    if target is None:
        raise DataError(f"{run_dir}/result.json: unknown experiment {experiment!r}",
                        hint=f"known: {', '.join(sorted(RENDERERS))}")
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)(Path(run_dir), result)
