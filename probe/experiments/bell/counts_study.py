"""The Bell study on counts from people (or any external source): ``probe bell --counts FILE``.

The counts go through the same analysis as a model's answers
(:func:`probe.analysis.bell.chsh.chsh`); the file is copied into the run folder
so that the folder alone reproduces the numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from probe.analysis.bell.chsh import CONTEXTS, chsh, chsh_within
from probe.analysis.verdicts import bell_verdicts
from probe.errors import SettingError
from probe.experiments.bell.counts_file import read_counts_csv
from probe.experiments.bell.study import BellResult
from probe.io import atomic_write_bytes
from probe.protocol import How, Plan, Settings, Study
from probe.runs import RunFolder, default_run_dir, stamp


@dataclass(frozen=True, slots=True)
class BellCountsSettings(Settings):
    """A counts file and how to analyse it."""

    experiment: ClassVar[str] = "bell-counts"

    counts: Path = Path("counts.csv")
    """CSV with columns experiment,a,b,count[,respondent]."""
    minus_on: str = "AB"
    """Context carrying the CHSH minus sign."""
    seed: int = 0
    n_boot: int = 10_000
    prior: float = 1.0
    label: str = "human"
    """Who answered (the run folder's name and the report's title)."""
    contexts: str | None = None
    """``cyclic:N``: the counts are a cyclic system of rank N (contexts Q1Q2 ... QNQ1)."""
    system: str | None = None
    """A system file (measurements and contexts of any size), e.g. ``peres-mermin``."""

    def validate(self) -> None:
        Settings.validate(self)
        if self.contexts is not None and self.system is not None:
            raise SettingError("system", self.system, "give contexts or system, not both")
        if self.minus_on not in CONTEXTS:
            raise SettingError("minus_on", self.minus_on, f"use one of {', '.join(CONTEXTS)}")
        if self.n_boot < 100:
            raise SettingError("n_boot", self.n_boot, "use at least 100 (10000 recommended)")
        if not (math.isfinite(self.prior) and self.prior > 0):
            raise SettingError("prior", self.prior, "must be > 0 (1 uniform, 0.5 Jeffreys)")


@dataclass(frozen=True)
class BellCountsResult(BellResult):
    experiment: ClassVar[str] = "bell-counts"
    settings_type: ClassVar[type] = BellCountsSettings


def plan(settings: BellCountsSettings, how: How | None = None) -> Plan:
    settings.validate()
    if settings.contexts is not None or settings.system is not None:
        return Plan("bell-counts", f"contextuality analysis of {settings.counts} "
                                   f"({settings.contexts or settings.system})", items=1)
    data = read_counts_csv(settings.counts)
    return Plan("bell-counts", f"CHSH analysis of {settings.counts} ({int(data.counts.sum())} answers)", items=1)


def run(settings: BellCountsSettings, how: How | None = None) -> BellCountsResult:
    """Analyse the counts file and write the run folder."""
    how = how or How()
    settings.validate()
    how.validate()
    t0 = time.perf_counter()
    if settings.contexts is not None or settings.system is not None:
        return _run_system(settings, how, t0)
    data = read_counts_csv(settings.counts)
    res = chsh(data.counts, minus_on=settings.minus_on, n_boot=settings.n_boot, n_post=settings.n_boot,
               prior=settings.prior, seed=settings.seed)
    analysis: dict[str, Any] = res.summary()
    analysis["verdicts"] = bell_verdicts(analysis, mode="counts")
    if data.products is not None:
        analysis["within_subject"] = chsh_within(data.products, minus_on=settings.minus_on).to_dict()
    warnings = tuple(analysis.pop("warnings", []))
    out = Path(how.out) if how.out else default_run_dir("bell", settings.label)
    folder = RunFolder(out, {"experiment": "bell-counts", "counts": str(settings.counts),
                             "minus_on": settings.minus_on, "seed": settings.seed})
    folder.check_resume()
    with folder.session():
        folder.ensure()
        atomic_write_bytes(out / "counts.csv", Path(settings.counts).read_bytes())
        result = BellCountsResult(
            settings=settings,
            result={"model": settings.label, "provider": "counts", "mode": "counts",
                    "counts_file": str(settings.counts),
                    "design": {"name": "external counts", "concept": None, "minus_on": settings.minus_on},
                    **analysis},
            run={"calls": 0, "rows": data.rows}, warnings=warnings,
            stamp=stamp(elapsed_s=time.perf_counter() - t0), path=out)
        folder.write_result(result)
    return result


def _run_system(settings: BellCountsSettings, how: How, t0: float) -> BellCountsResult:
    """Counts of a cyclic system of any rank or a general system (``contexts`` / ``system`` set)."""
    from probe.experiments.bell.contextuality_study import system_counts_block

    block, warnings, rows = system_counts_block(settings.counts, contexts=settings.contexts,
                                                system_file=settings.system, n_boot=min(settings.n_boot, 2000),
                                                prior=settings.prior, seed=settings.seed)
    block["model"] = settings.label
    out = Path(how.out) if how.out else default_run_dir("bell", settings.label)
    folder = RunFolder(out, {"experiment": "bell-counts", "counts": str(settings.counts), "contexts": settings.contexts,
                             "system": settings.system, "seed": settings.seed})
    folder.check_resume()
    with folder.session():
        folder.ensure()
        atomic_write_bytes(out / "counts.csv", Path(settings.counts).read_bytes())
        result = BellCountsResult(settings=settings, result=block, run={"calls": 0, "rows": rows},
                                  warnings=tuple(warnings), stamp=stamp(elapsed_s=time.perf_counter() - t0), path=out)
        folder.write_result(result)
    return result


STUDY = Study("bell-counts", BellCountsSettings, BellCountsResult, plan, run,
              summary="CHSH analysis of counts from people or any external source")

__all__ = ["STUDY", "BellCountsResult", "BellCountsSettings", "plan", "run"]
