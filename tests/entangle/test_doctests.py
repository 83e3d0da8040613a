"""The Examples sections of the entangle analysis modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["probe.analysis.entangle", "probe.analysis.entangle_lora",
                                    "probe.analysis.entangle_baselines", "probe.analysis.entangle_laws",
                                    "probe.analysis.entangle_nohair", "probe.analysis.rmt"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
