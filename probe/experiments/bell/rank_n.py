"""The analysis block of result.json for designs other than the rank-4 CHSH design.

Cyclic designs of rank n (``system = "cyclic"``) and general pairwise designs go through
:func:`probe.analysis.bell.general.analyse_system`; the block keeps the top-level keys the rank-4
block has (``S``, ``S_odd``, ``E``, ``counts``, ``n``, ``cbd``, ``category``) so reports and sweeps
read both, and adds ``contextuality`` with every measure.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from probe.analysis.bell import cyclic
from probe.analysis.bell.general import analyse_system
from probe.analysis.bell.null_models import quantum_bound
from probe.errors import DataError
from probe.experiments.bell.design import BellDesign

CELLS = ("++", "+-", "-+", "--")


def _category(s_odd: float, rank: int) -> str:
    if s_odd <= rank - 2 + 1e-9:
        return "local"
    if s_odd <= quantum_bound(rank) + 1e-9:
        return "quantum"
    return "algebraic"


def analyse_rank_n(rows: list[dict[str, Any]], design: BellDesign, settings: Any,
                   counts: np.ndarray | None = None, invalid: np.ndarray | None = None) -> dict[str, Any]:
    """Counts (sample mode: ``counts``, ``invalid`` per context) or averaged exact distributions -> the block."""
    system = design.context_system()
    names = design.contexts
    minus = names.index(design.minus_on)
    w = np.ones(design.rank)
    w[minus] = -1
    if settings.mode == "exact":
        groups: dict[tuple[int, int], np.ndarray] = {}
        scored = [r for r in rows if r.get("kind") == "score"]
        for r in scored:
            g = groups.setdefault((r["order_id"], r["variant"]), np.full((design.rank, 4), np.nan))
            g[names.index(r["context"])] = r["probs"]
        complete = [g for g in groups.values() if not np.isnan(g).any()]
        if not complete:
            raise DataError(f"exact mode: no ordering has scores for all {design.rank} contexts")
        per = np.stack(complete)
        if np.any(per.sum(axis=-1) <= 0):
            raise DataError("exact mode: a request put no probability on any option label",
                            hint="the model does not answer with the label; use --mode sample")
        per = per / per.sum(axis=-1, keepdims=True)
        mean = per.mean(axis=0)
        e = cyclic.correlators(mean) if system.is_cyclic else mean @ cyclic.SIGNS
        s_odd = float(cyclic.s_odd(e))
        per_s = [float(cyclic.s_odd(cyclic.correlators(p))) for p in per]
        from probe.analysis.bell import lp

        block: dict[str, Any] = {
            "S": float(abs(e @ w)), "S_odd": s_odd, "S_odd_per_order": per_s,
            "E": dict(zip(names, e.tolist(), strict=True)),
            "probs": {c: dict(zip(CELLS, mean[i].tolist(), strict=True)) for i, c in enumerate(names)},
            "n": None, "counts": None, "invalid": None, "p_value": None, "p_s_gt_2": None, "requests": len(scored),
            "contextuality": {"system": system.to_dict(),
                              "contextual_fraction": {"value": lp.contextual_fraction(list(mean), system).value},
                              "signalling_fraction": {"value": lp.signalling_fraction(list(mean), system).value}},
            "warnings": [],
        }
        if system.is_cyclic:
            d = float(cyclic.delta(mean, system))
            block["cbd"] = {"delta": d, "s_odd": s_odd, "cnt1": s_odd - d - (design.rank - 2),
                            "contextual": bool(s_odd - d - (design.rank - 2) > 1e-12), "rank": design.rank}
        block["category"] = _category(s_odd, design.rank)
        return block
    if counts is None or invalid is None:
        raise DataError("sample mode needs the counts of the answers")
    empty = [names[c] for c in range(design.rank) if counts[c].sum() == 0]
    if empty:
        raise DataError(f"no valid answers in context(s) {', '.join(empty)}",
                        hint="every context needs at least one parseable answer")
    flat = counts.reshape(design.rank, 4)
    res = analyse_system(flat, system, n_boot=settings.n_boot, n_post=settings.n_boot, prior=settings.prior,
                         seed=settings.seed)
    p_hat = flat / flat.sum(axis=-1, keepdims=True)
    e = p_hat @ cyclic.SIGNS
    s_odd = float(cyclic.s_odd(e))
    answers = [r for r in rows if r.get("kind") == "answer"]
    summary = res.summary()
    block = {
        "S": float(abs(e @ w)), "S_odd": s_odd, "E": dict(zip(names, e.tolist(), strict=True)),
        "counts": {c: dict(zip(CELLS, flat[i].astype(int).tolist(), strict=True)) for i, c in enumerate(names)},
        "n": dict(zip(names, flat.sum(axis=-1).astype(int).tolist(), strict=True)),
        "invalid": dict(zip(names, invalid.tolist(), strict=True)),
        "invalid_reasons": dict(Counter(r["reason"] for r in answers if not r["valid"])),
        "category": _category(s_odd, design.rank), "minus_on": design.minus_on,
        "contextuality": summary, "warnings": list(res.warnings),
    }
    if res.cyclic is not None:
        c = res.cyclic
        block["S_odd_ci95_boot"] = c.s_odd_ci95_boot
        block["cbd"] = {"delta": c.delta, "s_odd": c.s_odd, "cnt1": c.cnt1, "cnt1_ci95": c.cnt1_ci95_boot,
                        "p_cnt1_gt_0": c.p_cnt1_gt_0_post, "contextual": c.contextual, "rank": c.rank}
        block["p_value"] = None  # the rank-4 "p(S > 2)"; rank n reads contextuality.tests (p_s_odd, p_cnt1)
        block["p_s_odd"] = res.tests.p_s_odd if res.tests is not None else None
        block["p_cnt1"] = res.tests.p_cnt1 if res.tests is not None else None
    return block
