"""analyse_system: every measure of one system, JSON-safe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from probe.analysis.bell.general import analyse_system
from probe.analysis.bell.system import chsh_system, cycle_order, cyclic_system, make_system
from probe.errors import DataError


def test_rank_6_pr_box_and_summary_is_json():
    pr6 = np.array([[50, 0, 0, 50]] * 5 + [[0, 50, 50, 0]])
    r = analyse_system(pr6, cyclic_system(6), n_boot=200, n_lp_boot=20, n_post=200)
    assert r.cyclic.cnt1 == 2 and r.cf == pytest.approx(1) and r.cbd_lp.cnt2 == pytest.approx(0.5)
    assert r.tests.p_cnt1 < 0.01
    s = r.summary()
    json.dumps(s)
    assert s["cyclic"]["units"] == "expectation" and s["cbd_lp"]["units"] == "probability"


def test_a_general_system_with_three_measurement_contexts():
    system = make_system(["A", "B", "C", "D"], [["A", "B", "C"], ["B", "C", "D"]])
    tables = [np.array([10, 0, 0, 5, 0, 5, 5, 10]), np.array([3, 3, 3, 3, 3, 3, 3, 3])]
    r = analyse_system(tables, system, n_boot=100, n_lp_boot=10)
    assert r.cyclic is None and r.tests is None
    assert r.cbd_lp is not None and r.sf > 0  # B and C have different marginals in the two contexts
    json.dumps(r.summary())


def test_systems_are_checked():
    assert cycle_order(chsh_system()) is not None
    with pytest.raises(DataError, match="unknown measurement"):
        make_system(["A", "B"], [["A", "C"]])
    with pytest.raises(DataError, match="in no context"):
        make_system(["A", "B", "C"], [["A", "B"]])
    with pytest.raises(DataError, match="no answers in context"):
        analyse_system(np.zeros((4, 4)), chsh_system())
    with pytest.raises(DataError, match="one row per context"):
        analyse_system(np.ones((5, 4)), chsh_system())
