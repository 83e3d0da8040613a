"""The Examples sections of the entangle analysis modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["probe.analysis.entangle.profile", "probe.analysis.entangle.lowrank",
                                    "probe.analysis.entangle.baselines", "probe.analysis.entangle.laws",
                                    "probe.analysis.entangle.nohair", "probe.analysis.entangle.random_matrix",
                                    "probe.analysis.entangle.mps"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
