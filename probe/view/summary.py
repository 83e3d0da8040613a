"""One row of the index per run: what it measured, its main estimate with uncertainty and N, its verdict.

The main estimate per experiment (what a reader compares across runs):

==================  ==========================================  ==========================
experiment          estimate                                    beside it
==================  ==========================================  ==========================
bell, bell-counts   S ± SE (95% MOVER interval), N answers      P(S > 2 | data), CNT1, verdict on S
words, -generate    B of the Bose-Einstein fit, bias-corrected   the preferred law
                    where the bootstrap gave one (95% interval)
entangle-*          mean valley depth ± SE (nats), N tensors    tensors with a valley
quantum-classify    best model's accuracy ± corrected SE        which model
quantum-power       entangling power e_p (exact; MC ± SE)
==================  ==========================================  ==========================

Other studies show their experiment, settings and run facts with no estimate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from probe.view.scan import RunEntry, file_hash


@dataclass(frozen=True, slots=True)
class Estimate:
    """A main estimate: ``label = value ± se`` with its 95% interval ``ci`` and sample size ``n``."""

    label: str
    value: float | None
    se: float | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the index shows about one run."""

    rel: str
    state: str
    experiment: str
    subject: str
    model_version: str | None
    created: str | None
    settings: str
    estimate: Estimate | None
    p_s_gt_2: float | None
    cnt1: float | None
    verdict: str | None
    invalid_rate: float | None
    n_trials: int | None
    calls: int | None
    cached: int | None
    cost_usd: float | None
    cassette_hash: str | None
    study: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _f(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(float(x)) else None


def _ci(x: Any) -> tuple[float, float] | None:
    if isinstance(x, list | tuple) and len(x) == 2 and all(_f(v) is not None for v in x):
        return (float(x[0]), float(x[1]))
    return None


def _bell(r: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    if r.get("S") is None:
        return None, {}
    est = Estimate("S", _f(r.get("S")), _f(r.get("S_se")), _ci(r.get("S_ci95")), r.get("n_total"))
    verdicts = r.get("verdicts") or {}
    label = (verdicts.get("S") or {}).get("label")
    cbd = (verdicts.get("cbd") or {}).get("label")
    verdict = ", ".join(v for v in (label, cbd) if v) or r.get("category")
    return est, {"p_s_gt_2": _f(r.get("p_s_gt_2")), "cnt1": _f((r.get("cbd") or {}).get("cnt1")), "verdict": verdict,
                 "invalid_rate": _f(r.get("invalid_rate"))}


def _words(r: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    be = (r.get("fits") or {}).get("be") or {}
    if be.get("B") is None:
        return None, {"verdict": r.get("preferred")}
    corrected = _f(be.get("B_bias_corrected"))  # the bootstrap interval is built around it, not around B
    est = Estimate("B" if corrected is None else "B (bias-corrected)", _f(be.get("B")) if corrected is None
                   else corrected, None, _ci(be.get("B_ci95")), r.get("n_tokens"))
    g = r.get("generation") or {}
    flagged = (g["n_flagged"] / g["n_requested"] if g.get("n_requested") and g.get("n_flagged") is not None
               else None)
    return est, {"verdict": r.get("preferred"), "invalid_rate": _f(flagged)}


def _entangle(r: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    s = r.get("summary") or {}
    if not isinstance(s, dict) or "valley_depth_mean" not in s:
        return None, {}
    est = Estimate("valley depth", _f(s.get("valley_depth_mean")), _f(s.get("valley_depth_se")), None,
                   s.get("n_layers"), "nats")
    return est, {"verdict": f"{s.get('n_with_valley', 0)} of {s.get('n_layers')} with a valley"}


def _classify(r: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    metric = str(r.get("metric") or "accuracy")
    rows = [row for row in (r.get("summary") or []) if isinstance(row, dict) and _f(row.get(metric)) is not None]
    if not rows:
        return None, {}
    best = max(rows, key=lambda row: float(row[metric]))
    se = _f(best.get(f"{metric}_se_corrected", best.get(f"{metric}_se")))
    est = Estimate(f"{metric} ({best.get('model')})", _f(best[metric]), se, None, best.get("n_splits"))
    return est, {"verdict": f"best: {best.get('model')}"}


def _power(r: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    if r.get("entangling_power") is None:
        return None, {}
    return Estimate("e_p", _f(r.get("entangling_power"))), {}


_ESTIMATORS = {"bell": _bell, "bell-counts": _bell, "words": _words, "words-generate": _words,
               "quantum-classify": _classify, "quantum-power": _power}


def main_estimate(experiment: str, result: dict[str, Any]) -> tuple[Estimate | None, dict[str, Any]]:
    """The main estimate of a result block and the columns beside it (``p_s_gt_2``, ``cnt1``, ``verdict``, ...)."""
    fn = _ESTIMATORS.get(experiment) or (_entangle if experiment.startswith("entangle-") else None)
    if fn is None:
        return None, {}
    try:
        return fn(result)
    except (TypeError, ValueError, KeyError, AttributeError):  # a result block of an unexpected shape
        return None, {}


def settings_text(settings: dict[str, Any], *, limit: int = 12) -> str:
    """``key=value`` pairs of the settings that are set, short values only."""
    parts = []
    for key, value in settings.items():
        if value is None or value == [] or value == {} or key in ("model",):
            continue
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items() if v not in (None, False))
        elif isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        text = str(value)
        if len(text) > 40:
            text = text[:37] + "…"
        parts.append(f"{key}={text}")
    return " ".join(parts[:limit]) + (" …" if len(parts) > limit else "")


def _subject(doc: dict[str, Any]) -> str:
    s, r = doc.get("settings") or {}, doc.get("result") or {}
    for value in (s.get("model"), r.get("model"), r.get("label"), s.get("gate"), s.get("data"), r.get("name")):
        if value:
            return str(value)
    return ""


def _version(r: dict[str, Any]) -> str | None:
    v = r.get("model_version") or (r.get("generation") or {}).get("model_versions")
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or None
    return str(v) if v else None


def cassette_path(entry: RunEntry) -> Path | None:
    """The cassette a run recorded to or replayed from (its own ``cassette.jsonl`` when that is there)."""
    own = entry.path / "cassette.jsonl"
    if own.is_file():
        return own
    recorded = ((entry.doc or {}).get("run") or {}).get("cassette")
    if recorded:
        path = Path(recorded)
        path = path if path.is_absolute() else entry.path / path
        if path.is_file():
            return path
    return None


def summarize(entry: RunEntry) -> RunSummary:
    """The index row of a run folder (any state)."""
    if entry.doc is None:
        return RunSummary(entry.rel, entry.state, "", "", None, None, "", None, None, None, None, None, None, None,
                          None, None, None, entry.study, entry.error)
    doc = entry.doc
    experiment = str(doc.get("experiment") or "")
    result = doc.get("result") or {}
    run = doc.get("run") or {}
    est, extra = main_estimate(experiment, result)
    cassette = cassette_path(entry)
    n_trials = result.get("n_total") if experiment.startswith("bell") else None
    return RunSummary(
        rel=entry.rel, state=entry.state, experiment=experiment, subject=_subject(doc),
        model_version=_version(result), created=str(doc.get("created") or "") or None,
        settings=settings_text(doc.get("settings") or {}), estimate=est, p_s_gt_2=extra.get("p_s_gt_2"),
        cnt1=extra.get("cnt1"), verdict=extra.get("verdict"), invalid_rate=extra.get("invalid_rate"),
        n_trials=n_trials, calls=run.get("calls"), cached=run.get("cached"), cost_usd=_f(run.get("cost_usd")),
        cassette_hash=file_hash(cassette) if cassette else None, study=entry.study)





def estimate_text(est: Estimate | None) -> str:
    """``S = 2.41 ± 0.08 [2.25, 2.56], N = 400`` (``–`` when there is none)."""
    from probe.report.format import fmt, fmt_estimate

    if est is None or est.value is None:
        return "–"
    text = f"{est.label} = {fmt_estimate(est.value, est.se)}"
    if est.ci:
        text += f" [{fmt(est.ci[0])}, {fmt(est.ci[1])}]"
    if est.unit:
        text += f" {est.unit}"
    if est.n is not None:
        text += f", N = {est.n}"
    return text
__all__ = ["Estimate", "RunSummary", "cassette_path", "estimate_html", "estimate_text", "main_estimate", "settings_text", "summarize"]


def estimate_html(est: Estimate | None) -> str:
    """The estimate for a table cell: ``S = 2.41 ± 0.08`` over a small line with the interval and N."""
    from probe.report.format import fmt, fmt_estimate
    from probe.view.html import esc

    if est is None or est.value is None:
        return "–"
    head = esc(f"{est.label} = {fmt_estimate(est.value, est.se)}" + (f" {est.unit}" if est.unit else ""))
    tail = ", ".join(x for x in ((f"[{fmt(est.ci[0])}, {fmt(est.ci[1])}]" if est.ci else ""),
                                 (f"N = {est.n}" if est.n is not None else "")) if x)
    return f"<span class=\"est\">{head}</span>" + (f"<br><small>{esc(tail)}</small>" if tail else "")
