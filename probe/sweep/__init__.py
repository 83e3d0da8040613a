"""Studies, not runs: a grid of cells from one TOML manifest, resumable, compared in one table.

::

    import probe
    s = probe.study("my-sweep.toml", out="runs/sweep1")   # run (or resume) every cell
    s.frame                                               # one row per cell: settings + estimates
    probe.study("my-sweep.toml", dry_run=True).frame      # cells x calls x tokens x cost; calls nothing

Modules: :mod:`~probe.sweep.manifest` (the TOML and its errors), :mod:`~probe.sweep.cells` (grid
-> cells), :mod:`~probe.sweep.execute` (run folders, ``study.json``, resume, budgets),
:mod:`~probe.sweep.cluster` (Dask), :mod:`~probe.sweep.batching` (``--batch``: the API cells' requests in
one set of batch jobs per provider + model), :mod:`~probe.report.study_table` (the study table).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LAZY = {
    "Cell": "probe.sweep.cells", "build_cells": "probe.sweep.cells",
    "DryRun": "probe.sweep.execute", "StudyRun": "probe.sweep.execute", "plan_study": "probe.sweep.execute",
    "run_study_manifest": "probe.sweep.execute", "read_study": "probe.report.study_table",
    "Manifest": "probe.sweep.manifest", "load_manifest": "probe.sweep.manifest",
}


def __getattr__(name: str) -> Any:
    """Submodules load on first use (the report reads study folders without the model-call machinery)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probe.sweep' has no attribute {name!r}")


@dataclass(frozen=True)
class StudyResult:
    """A study folder: ``.frame`` (one row per cell), ``.paired`` (paired comparisons), ``.path``, ``.run``."""

    path: Path
    run: Any = None
    """The :class:`~probe.sweep.execute.StudyRun` of this call (``None`` when a folder was read)."""

    @property
    def frame(self) -> Any:
        from probe.report.study_table import study_frame

        return study_frame(self.path)

    @property
    def paired(self) -> Any:
        """The paired comparisons (``paired.csv``, :mod:`probe.report.study_pairs`), rebuilt from the folder."""
        from probe.report.study_pairs import paired_table
        from probe.report.study_table import read_study, study_rows

        return paired_table(self.path, study_rows(self.path), read_study(self.path))[0]

    @property
    def document(self) -> dict[str, Any]:
        from probe.report.study_table import read_study

        return read_study(self.path)


def study(path: str | Path, *, dry_run: bool = False, report: bool = True, **how: Any) -> Any:
    """Run (or resume) the study of a manifest and render its report; ``dry_run=True`` only plans.

    ``how``: ``out`` (the study folder, default ``runs/study-<name>``), ``replay``, ``extend``,
    ``cluster`` (``"local:N"`` or a scheduler address), ``max_calls`` / ``max_cost`` (whole study),
    ``cell_report`` and any :class:`~probe.protocol.How` field (``concurrency``, ``rpm``, ``progress``).
    A folder that already holds a study (``study.json``) and no manifest path is read as it is.
    """
    if Path(path).is_dir() and (Path(path) / "study.json").exists():
        return StudyResult(Path(path))
    from probe.sweep.execute import plan_study, run_study_manifest

    if dry_run:
        return plan_study(path, **how)
    run = run_study_manifest(path, **how)
    if report:
        from probe.report.study import render_study

        render_study(run.path)
    return StudyResult(run.path, run)


__all__ = ["Cell", "DryRun", "Manifest", "StudyResult", "StudyRun", "build_cells", "load_manifest", "plan_study",
           "read_study", "run_study_manifest", "study"]
