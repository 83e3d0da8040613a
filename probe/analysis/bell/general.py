"""All contextuality measures of one system from counts: the ``contextuality`` block of result.json.

:func:`analyse_system` works for any system of dichotomous variables (cyclic of any rank, or a
general list of contexts, e.g. Peres-Mermin) and collects

* for cyclic systems: CbD in closed form with bootstrap CI and posterior
  (:func:`probe.analysis.bell.cyclic.cbd_cyclic`) and the calibrated p-values of S_odd and CNT1
  (:func:`probe.analysis.bell.honest_tests.honest_p_values`);
* for every system: contextual fraction and signalling fraction (LP; bootstrap CI and Dirichlet
  posterior from batched LPs), the Bell/Fine noncontextuality LP (closest noncontextual model), and
  the CbD LP measures CNT1, CNT2, CNT3, NCNT2 (point estimates; CNT2 with a bootstrap CI, in closed
  form CNT1/4 for cyclic systems, by LP for small general systems).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.analysis.bell import lp
from probe.analysis.bell.cyclic import CyclicCbdResult, cbd_cyclic
from probe.analysis.bell.cyclic import cnt1 as cnt1_closed
from probe.analysis.bell.honest_tests import HonestTestResult, honest_p_values
from probe.analysis.bell.system import ContextSystem, check_tables, cycle_order, pairwise_tables

#: Bootstrap the CbD LPs only for systems with at most this many random variables (2**V columns).
LP_BOOT_MAX_VARIABLES = 12
#: Default cap for the CbD point-estimate LPs in :func:`analyse_system` (2**16 columns: seconds per LP).
LP_MAX_VARIABLES = 16


def _ci(x: FloatArray) -> tuple[float, float] | None:
    x = np.asarray(x, dtype=float)
    if not len(x):
        return None
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class ContextualityResult:
    """Every contextuality measure of one system (see module docstring)."""

    system: dict[str, Any]
    n: tuple[int, ...]
    cf: float
    cf_ci95_boot: tuple[float, float] | None
    cf_ci95_post: tuple[float, float] | None
    sf: float
    sf_ci95_boot: tuple[float, float] | None
    fine_noncontextual: bool
    fine_distance: float
    cbd_lp: lp.CbdLpResult | None
    cnt2_ci95_boot: tuple[float, float] | None
    cyclic: CyclicCbdResult | None
    tests: HonestTestResult | None
    n_boot: int
    n_lp_boot: int
    seed: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def summary(self) -> dict[str, Any]:
        """The ``contextuality`` block for result.json."""
        out: dict[str, Any] = {
            "system": self.system, "n": list(self.n),
            "contextual_fraction": {"value": self.cf, "ci95_boot": self.cf_ci95_boot, "ci95_post": self.cf_ci95_post,
                                    "method": "Abramsky, Barbosa & Mansfield 2017 (LP, HiGHS)"},
            "signalling_fraction": {"value": self.sf, "ci95_boot": self.sf_ci95_boot},
            "fine": {"noncontextual": self.fine_noncontextual, "distance": self.fine_distance},
            "cbd_lp": None if self.cbd_lp is None else {**self.cbd_lp.to_dict(), "cnt2_ci95_boot": self.cnt2_ci95_boot,
                                                        "units": "probability"},
            "n_boot": self.n_boot, "n_lp_boot": self.n_lp_boot, "seed": self.seed, "warnings": list(self.warnings),
        }
        if self.cyclic is not None:
            c = self.cyclic
            out["cyclic"] = {"rank": c.rank, "E": list(c.E), "E_se": list(c.E_se), "s_odd": c.s_odd,
                             "s_odd_ci95_boot": c.s_odd_ci95_boot, "delta": c.delta, "delta_ci95_boot": c.delta_ci95_boot,
                             "cnt1": c.cnt1, "cnt1_ci95_boot": c.cnt1_ci95_boot, "cnt1_ci95_post": c.cnt1_ci95_post,
                             "p_cnt1_gt_0_post": c.p_cnt1_gt_0_post, "contextual": c.contextual,
                             "classical_bound": c.classical_bound, "marginals": list(c.marginals),
                             "units": "expectation"}
        if self.tests is not None:
            out["tests"] = self.tests.to_dict()
        return jsonable(out)


def analyse_system(counts: ArrayLike | list[ArrayLike], system: ContextSystem, *, n_boot: int = 2000,
                   n_lp_boot: int = 200, n_post: int = 2000, prior: float = 1.0, seed: Seed = 0,
                   max_lp_variables: int = LP_MAX_VARIABLES) -> ContextualityResult:
    """Every contextuality measure of ``system`` from its counts.

    Parameters
    ----------
    counts : array-like or list of arrays
        Pairwise systems: shape (n_contexts, 4); general systems: one array of 2**k counts per context.
    system : ContextSystem
    n_boot : int, default=2000
        Closed-form bootstrap resamples (cyclic CbD, honest p-values).
    n_lp_boot : int, default=200
        Bootstrap resamples and posterior draws for the LP measures (CF, SF; CNT2 of small general systems).
    n_post : int, default=2000
        Dirichlet posterior draws of the cyclic CbD measures.
    prior : float, default=1.0
    seed : int or Generator
    max_lp_variables : int, default=16
        Skip the CbD coupling LPs (2**V columns) above this many random variables V, with a warning
        (at most :data:`probe.analysis.bell.system.MAX_COUPLING_VARIABLES`).

    Examples
    --------
    >>> from probe.analysis.bell.system import cyclic_system
    >>> pr6 = [[50, 0, 0, 50]] * 5 + [[0, 50, 50, 0]]     # rank-6 PR-type box: CNT1 = 6 - 0 - 4
    >>> r = analyse_system(pr6, cyclic_system(6), n_boot=200, n_lp_boot=20, n_post=200)
    >>> r.cyclic.cnt1, round(r.cf, 9), round(r.cbd_lp.cnt2, 9)
    (2.0, 1.0, 0.5)
    """
    tables = check_tables(counts, system)
    rng = np.random.default_rng(seed)
    seed_int = seed if isinstance(seed, int) else None
    n = np.array([t.sum() for t in tables])
    probs = [t / t.sum() for t in tables]
    warnings: list[str] = []
    cyc = tests = None
    if cycle_order(system) is not None:
        stacked = pairwise_tables(system, tables)
        cyc = cbd_cyclic(stacked, system, n_boot=n_boot, n_post=n_post, prior=prior, seed=rng)
        tests = honest_p_values(stacked, system, n_boot=n_boot, seed=rng)
        warnings += list(cyc.warnings)
    cf = lp.contextual_fraction(probs, system).value
    sf = lp.signalling_fraction(probs, system).value
    fine = lp.closest_noncontextual(probs, system, context_weights=n / n.sum())
    boot = [rng.multinomial(int(n[c]), probs[c], size=n_lp_boot) / n[c] for c in range(system.n_contexts)]
    post = [rng.dirichlet(tables[c] + prior, size=n_lp_boot) for c in range(system.n_contexts)]
    cf_boot = lp.contextual_fraction_batch(np.concatenate(boot, axis=1), system) if n_lp_boot else np.array([])
    cf_post = lp.contextual_fraction_batch(np.concatenate(post, axis=1), system) if n_lp_boot else np.array([])
    sf_boot = lp.signalling_fraction_batch(np.concatenate(boot, axis=1), system) if n_lp_boot else np.array([])
    cbd = None
    cnt2_ci = None
    if system.n_variables <= min(max_lp_variables, lp.MAX_COUPLING_VARIABLES):
        cbd = lp.cbd_lp(probs, system)
        if cyc is not None:
            stacked_boot = np.stack(boot, axis=1)
            cnt2_ci = _ci(np.clip(cnt1_closed(stacked_boot, system), 0, None) / 4)
        elif system.n_variables <= LP_BOOT_MAX_VARIABLES and n_lp_boot:
            cnt2_ci = _ci(np.array([lp.cnt2(lp.coupling_problem([b[i] for b in boot], system))
                                    for i in range(n_lp_boot)]))
    else:
        warnings.append(f"{system.n_variables} random variables: the CbD coupling LPs (2**{system.n_variables} "
                        f"columns) were skipped; raise max_lp_variables (up to {lp.MAX_COUPLING_VARIABLES}) to run them")
    if n_lp_boot and float(np.mean(cf_boot > 0)) > 0.5 and cf > 0:
        warnings.append("finite samples make CF > 0 even for noncontextual respondents (sampling noise is "
                        "signalling); judge CF against the audit's null distribution (--audit)")
    return ContextualityResult(
        system=system.to_dict(), n=tuple(int(x) for x in n), cf=cf, cf_ci95_boot=_ci(cf_boot), cf_ci95_post=_ci(cf_post),
        sf=sf, sf_ci95_boot=_ci(sf_boot), fine_noncontextual=fine.noncontextual, fine_distance=fine.distance,
        cbd_lp=cbd, cnt2_ci95_boot=cnt2_ci, cyclic=cyc, tests=tests, n_boot=n_boot, n_lp_boot=n_lp_boot,
        seed=seed_int, warnings=tuple(warnings),
    )
