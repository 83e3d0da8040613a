"""The audit: null respondents, the design's bounds and the estimators of the literature."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.analysis.bell.null_models import audit, quantum_bound, respondent_tables
from probe.analysis.bell.system import chsh_system, cyclic_system
from probe.errors import DataError


def test_quantum_bounds_of_cyclic_systems():
    assert quantum_bound(4) == pytest.approx(2 * math.sqrt(2))
    assert quantum_bound(5) == pytest.approx(4 * math.sqrt(5) - 5)  # KCBS
    assert quantum_bound(6) == pytest.approx(3 * math.sqrt(3))


def test_audit_of_the_chsh_design():
    counts = np.array([[10, 40, 40, 10], [40, 10, 10, 40], [40, 10, 10, 40], [40, 10, 10, 40]])
    r = audit(chsh_system(), counts=counts, n_sims=60, n_cf=20, seed=1)
    assert r.bounds["classical_s_odd"] == 2 and r.observed["s_odd"] == pytest.approx(2.4)
    assert np.all(r.values("local_deterministic", "s_odd") == 2)  # a deterministic strategy sits on the bound
    assert np.all(r.values("joint", "joint_raw") <= 2 + 1e-12)   # one joint sample is a mixture of assignments
    assert np.all(r.values("joint", "joint_pearson") > 2.4)       # standardising removes the bound (2.5 here)
    assert np.median(r.values("joint", "cosine_vectors")) == pytest.approx(2 * math.sqrt(2), abs=0.05)
    assert np.all(r.values("uniform", "cnt1") < 0)
    assert any("joint_pearson" in w for w in r.warnings)
    d = r.to_dict()
    assert {"respondent", "statistic", "q975"} <= set(d["nulls"][0])


def test_audit_without_data_needs_n_and_skips_the_shuffled_respondent():
    r = audit(cyclic_system(6), n_per_context=50, n_sims=20, n_cf=5, respondents=("uniform", "shuffled", "signalling"))
    assert {d.respondent for d in r.nulls} == {"uniform", "signalling"}
    assert np.all(r.values("signalling", "s_odd") == 6)  # deterministic context-dependent answers: s_odd = n...
    assert np.all(r.values("signalling", "cnt1") < 0)    # ...and never CbD-contextual
    with pytest.raises(DataError, match="n_per_context"):
        audit(cyclic_system(6))
    with pytest.raises(DataError, match="unknown null respondent"):
        respondent_tables("oracle", cyclic_system(4), np.random.default_rng(0))


def test_shuffled_and_product_respondents_are_consistent_and_local():
    from probe.analysis.bell import lp

    counts = np.array([[30, 5, 5, 30], [20, 10, 15, 25], [5, 30, 30, 5], [25, 25, 10, 10]])
    rng = np.random.default_rng(0)
    t = respondent_tables("shuffled", chsh_system(), rng, counts.astype(float))
    assert lp.signalling_fraction(t, chsh_system()).value == pytest.approx(0, abs=1e-9)
    assert lp.contextual_fraction(t, chsh_system()).value == pytest.approx(0, abs=1e-9)
