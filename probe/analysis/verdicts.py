"""Verdicts: every word a report says about a number follows from the uncertainty printed beside it.

One module owns the rules, so that the terminal, the report and a sweep table
say the same thing. A verdict is claimed only when its interval (or the test at
the stated level) excludes the alternatives; otherwise it says "inconclusive"
and why. Rules, for a two-sided interval [lo, hi] at level 1 − α (95 % unless stated):

CHSH value S (local bound 2, Tsirelson bound 2√2, algebraic bound 4)
    ``beyond-tsirelson``  lo > 2√2 (no quantum system reaches this: signalling or an estimator artefact)
    ``above-local``       2 < lo ≤ 2√2: S > 2 (one-sided at level α/2); "compatible with 2√2" is added
                          when the interval contains 2√2
    ``inconclusive``      the interval contains 2
    ``local``             hi < 2: S below the local bound
    Exact mode (distributions read from log-probabilities) has no sampling error:
    the verdict compares the value itself, or its interval over orderings when
    several orderings were scored.
Contextuality-by-Default, CNT1 = S_odd − 2 − Δ (rank 4)
    ``contextual`` only when lo > 0; ``not-contextual`` when hi < 0; else ``inconclusive``.
Marginal selectivity (no-signalling)
    reported as a test result with Δ and its interval: ``rejected`` when some Holm-adjusted
    p < α, ``not-rejected`` otherwise, never "holds".

With the error rates these rules give, a simulated quantum respondent (S = 2√2) is
called ``beyond-tsirelson`` in at most α/2 of studies and a classical one (S ≤ 2)
``above-local`` in at most α/2 (tests/analysis/test_verdicts.py measures both).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from probe._results import jsonable

TSIRELSON = 2 * math.sqrt(2)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A claim about an estimate, and the rule that licensed it."""

    label: str
    """Machine-readable: ``beyond-tsirelson``, ``above-local``, ``inconclusive``, ``local``, ``contextual`` ..."""
    text: str
    """One sentence for a report or the terminal."""
    rule: str
    """What decided it (interval, level, test)."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def _fmt(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _interval(ci: Sequence[float]) -> str:
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


def s_verdict(S: float, ci: Sequence[float] | None, *, level: float = 0.95,
              interval: str = "interval", exact: bool = False) -> Verdict:
    """The CHSH verdict from S and its interval (see the module docstring).

    Parameters
    ----------
    S : float
        The estimate.
    ci : (lo, hi) or None
        Its interval at ``level``; ``None`` with ``exact=True`` means S has no uncertainty.
    exact : bool
        S is a value, not an estimate (exact mode with one ordering, or a simulation).

    Examples
    --------
    >>> s_verdict(3.08, (2.695, 3.206)).label   # sim:quantum, 100 trials: not "beyond Tsirelson"
    'above-local'
    >>> s_verdict(2.8, (0.391, 2.611)).label
    'inconclusive'
    """
    pct = f"{100 * level:g}%"
    if ci is not None and (len(ci) != 2 or any(v is None or not math.isfinite(v) for v in ci)):
        ci = None
    if S is None or not math.isfinite(S):
        return Verdict("inconclusive", "S could not be estimated; no verdict.", "no estimate")
    if ci is None:
        if not exact:
            return Verdict("inconclusive", f"S = {_fmt(S)} has no interval; no verdict.", "no interval")
        lo = hi = S
        rule = "exact value (no sampling error)"
        what = f"S = {_fmt(S)} exactly"
    else:
        lo, hi = float(ci[0]), float(ci[1])
        rule = f"{pct} {interval} {_interval(ci)} against 2 and 2√2"
        what = f"the {pct} interval {_interval(ci)}"
    if lo > TSIRELSON + 1e-12:
        return Verdict("beyond-tsirelson", f"S exceeds the Tsirelson bound 2√2 ({what} lies above 2.828): no quantum "
                       "system reaches this; it points to signalling or an artefact of the design or estimator.", rule)
    if lo > 2 + 1e-12:
        compat = " and is compatible with the Tsirelson value 2√2" if hi >= TSIRELSON - 1e-12 else ""
        return Verdict("above-local", f"S exceeds the local bound 2 ({what} lies above 2){compat}.", rule)
    if hi < 2 - 1e-12:
        return Verdict("local", f"S is below the local bound 2 ({what} lies below 2).", rule)
    if ci is None:
        return Verdict("at-local-bound", f"S equals the local bound 2 ({what}).", rule)
    return Verdict("inconclusive", f"Inconclusive: {what} contains the local bound 2.", rule)


def cnt1_verdict(cnt1: float | None, ci: Sequence[float] | None, *, level: float = 0.95,
                 interval: str = "Dirichlet posterior interval", exact: bool = False) -> Verdict:
    """Contextuality-by-Default (CNT1 = S_odd − 2 − Δ) from its interval.

    Examples
    --------
    >>> cnt1_verdict(0.16, (-0.64, 0.32)).label    # sim:quantum?visibility=0.8, N = 100
    'inconclusive'
    """
    pct = f"{100 * level:g}%"
    if ci is not None and (len(ci) != 2 or any(v is None or not math.isfinite(v) for v in ci)):
        ci = None
    if cnt1 is None or not math.isfinite(cnt1):
        return Verdict("inconclusive", "CNT1 could not be computed.", "no estimate")
    if ci is None:
        if not exact:
            return Verdict("inconclusive", f"CNT1 = {_fmt(cnt1)} has no interval; no verdict.", "no interval")
        lo = hi = cnt1
        rule, what = "exact value", f"CNT1 = {_fmt(cnt1)} exactly"
    else:
        lo, hi = float(ci[0]), float(ci[1])
        rule = f"{pct} {interval} of CNT1 {_interval(ci)} against 0"
        what = f"the {pct} interval {_interval(ci)} of CNT1"
    if lo > 1e-12:
        return Verdict("contextual", f"Contextual in the Contextuality-by-Default sense ({what} lies above 0).", rule)
    if hi < -1e-12:
        return Verdict("not-contextual", f"Not contextual in the CbD sense ({what} lies below 0).", rule)
    return Verdict("inconclusive", f"CbD inconclusive: {what} contains 0.", rule)


def marginal_verdict(tests: Sequence[Mapping[str, Any]], *, delta: float | None,
                     delta_ci: Sequence[float] | None = None, alpha: float = 0.05,
                     tolerance: float | None = None) -> Verdict:
    """Marginal selectivity as a test result (sample mode) or as Δ against a stated tolerance (exact mode).

    ``tests`` are the per-variable rows (``variable``, ``difference``, ``p_holm``). With
    no p-values (exact distributions) the verdict compares Δ with ``tolerance`` when one
    is given, and otherwise only reports Δ.
    """
    d = "–" if delta is None else _fmt(delta)
    dci = f" {_interval(delta_ci)}" if delta_ci else ""
    if delta_ci and delta is not None and None not in delta_ci and not (delta_ci[0] <= delta <= delta_ci[1]):
        # Δ sums absolute differences, so resampling noise can only add to it: its posterior sits above a
        # small estimate (and CNT1's below it), which makes a CbD "contextual" verdict conservative.
        dci += ("; the interval misses the estimate because Δ sums absolute differences, which sampling noise "
                "inflates")
    ps = [t.get("p_holm") for t in tests if t.get("p_holm") is not None]
    if ps:
        worst = min(ps)
        rule = f"Fisher's exact test per variable, Holm-adjusted, α = {alpha:g}"
        if worst < alpha:
            bad = [t["variable"] for t in tests if t.get("p_holm") is not None and t["p_holm"] < alpha]
            return Verdict("rejected", f"Marginal selectivity is rejected for {', '.join(bad)} (smallest Holm p = "
                           f"{worst:.3g}; Δ = {d}{dci}): the marginals depend on the context.", rule)
        return Verdict("not-rejected", f"Marginal selectivity is not rejected (smallest Holm p = {worst:.3g} ≥ {alpha:g}; "
                       f"Δ = {d}{dci}); this is not evidence that it holds.", rule)
    if tolerance is not None and delta is not None:
        rule = f"exact distributions: Δ against the stated tolerance {tolerance:g}"
        if delta > tolerance:
            return Verdict("violated", f"The marginals differ across contexts (Δ = {d} > {tolerance:g}).", rule)
        return Verdict("within-tolerance", f"The marginals agree across contexts within {tolerance:g} (Δ = {d}).",
                       rule)
    return Verdict("reported", f"Δ = {d} (total difference of the marginals across contexts); no test applies.",
                   "no sampling model for a test")


def bell_verdicts(summary: Mapping[str, Any], *, mode: str, level: float = 0.95,
                  exact_tolerance: float | None = None) -> dict[str, Any]:
    """The ``verdicts`` block of a Bell result from its summary dict (sample, exact or counts mode)."""
    exact = mode == "exact"
    if exact:
        ci = summary.get("S_ci95")
        s_v = s_verdict(summary["S"], ci, level=level, exact=ci is None,
                        interval="t interval over orderings")
        cbd = summary.get("cbd") or {}
        c_v = cnt1_verdict(cbd.get("cnt1"), cbd.get("cnt1_ci95"), level=level, exact=cbd.get("cnt1_ci95") is None,
                           interval="t interval over orderings")
    else:
        s_v = s_verdict(summary["S"], summary.get("S_ci95"), level=level)
        cbd = summary.get("cbd") or {}
        c_v = cnt1_verdict(cbd.get("cnt1"), cbd.get("cnt1_ci95_post") or cbd.get("cnt1_ci95"), level=level)
    ms = summary.get("marginal_selectivity") or {}
    m_v = marginal_verdict(ms.get("tests") or [], delta=cbd.get("delta"), delta_ci=cbd.get("delta_ci95"),
                           tolerance=exact_tolerance if exact else None)
    return {"S": s_v.to_dict(), "cbd": c_v.to_dict(), "marginal_selectivity": m_v.to_dict(), "level": level}


__all__ = ["TSIRELSON", "Verdict", "bell_verdicts", "cnt1_verdict", "marginal_verdict", "s_verdict"]
