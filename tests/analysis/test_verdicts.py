"""The verdict rules and the S interval, on simulated respondents whose truth is known: their error rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.analysis.bell.chsh import s_interval
from probe.analysis.verdicts import TSIRELSON, cnt1_verdict, marginal_verdict, s_verdict


def _counts(e: np.ndarray, n: int, rng: np.random.Generator, reps: int) -> np.ndarray:
    """(reps, 4, 4) counts of four independent contexts with correlations e and uniform marginals."""
    cells = np.stack([(1 + e) / 4, (1 - e) / 4, (1 - e) / 4, (1 + e) / 4], axis=-1)  # ++, +-, -+, --
    return np.stack([rng.multinomial(n, cells[c], size=reps) for c in range(4)], axis=1)


QUANTUM = np.array([-1, 1, 1, 1]) / math.sqrt(2)  # singlet at the CHSH angles: S = 2√2 (minus on AB)
LOCAL = np.array([-0.5, 0.5, 0.5, 0.5])           # a local model on the boundary: S = 2


def test_interval_covers_the_true_s_at_its_level():
    rng = np.random.default_rng(1)
    hits = [lo <= TSIRELSON <= hi for lo, hi in (s_interval(c) for c in _counts(QUANTUM, 100, rng, 1000))]
    assert 0.925 <= np.mean(hits) <= 0.975  # 95% ± MC error (SE 0.007)


def test_a_quantum_respondent_is_rarely_called_beyond_tsirelson():
    """sim:quantum at N = 100 per context: 'beyond-tsirelson' in at most 5% of studies (the issue's bound)."""
    rng = np.random.default_rng(2)
    counts = _counts(QUANTUM, 100, rng, 1000)
    labels = [s_verdict(abs(float(np.dot([-1, 1, 1, 1], 2 * (c[:, 0] + c[:, 3]) / 100 - 1))), s_interval(c)).label
              for c in counts]
    rate = labels.count("beyond-tsirelson") / len(labels)
    assert rate <= 0.05
    assert labels.count("above-local") / len(labels) > 0.9  # and the power to see S > 2 is high


@pytest.mark.parametrize("n", [50, 200])
def test_a_local_respondent_is_called_above_2_at_most_alpha(n):
    rng = np.random.default_rng(3)
    counts = _counts(LOCAL, n, rng, 1000)
    labels = [s_verdict(abs(float(np.dot([-1, 1, 1, 1], 2 * (c[:, 0] + c[:, 3]) / n - 1))), s_interval(c)).label
              for c in counts]
    assert labels.count("above-local") / len(labels) <= 0.05
    assert "beyond-tsirelson" not in labels


def test_the_interval_always_contains_the_estimate_also_at_the_boundary():
    rng = np.random.default_rng(4)
    for e in (QUANTUM, LOCAL, np.array([-1.0, 1.0, 1.0, 1.0]), np.zeros(4)):
        for c in _counts(e, 20, rng, 200):
            s = abs(float(np.dot([-1, 1, 1, 1], 2 * (c[:, 0] + c[:, 3]) / 20 - 1)))
            lo, hi = s_interval(c)
            assert lo - 1e-12 <= s <= hi + 1e-12 and 0 <= lo and hi <= 4 + 1e-12


def test_verdict_texts_follow_the_interval():
    assert s_verdict(3.08, (2.711, 3.209)).label == "above-local"       # not "algebraic" from the point estimate
    assert s_verdict(2.2, (1.557, 2.458)).label == "inconclusive"       # not "tsirelson"
    assert s_verdict(1.2, (0.8, 1.6)).label == "local"
    assert s_verdict(3.9, (3.2, 4.0)).label == "beyond-tsirelson"
    assert s_verdict(2.828, None, exact=True).label == "above-local"
    assert cnt1_verdict(0.16, (-0.64, 0.32)).label == "inconclusive"   # not "contextual"
    assert cnt1_verdict(0.3, (0.05, 0.5)).label == "contextual"
    not_rejected = marginal_verdict([{"variable": "A", "difference": 0.66, "p_holm": 0.2}], delta=0.66)
    assert not_rejected.label == "not-rejected" and "holds" not in not_rejected.text.replace("not evidence that it holds", "")
    rejected = marginal_verdict([{"variable": "A", "difference": 0.66, "p_holm": 0.001}], delta=0.66)
    assert rejected.label == "rejected" and "A" in rejected.text
    assert marginal_verdict([], delta=0.01).label == "reported"         # exact mode: Δ without a verdict
