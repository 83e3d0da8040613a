"""probe: quantum-cognition tests of language models, and entanglement measures of models and circuits.

The Python API mirrors the CLI (see :mod:`probe.api`)::

    import probe
    r = probe.bell(model="sim:quantum", mode="exact")
    r = probe.words(["story.txt"])
    r = probe.entangle.lora("adapter/")
    r = probe.quantum.power(gate="CNOT")
    r = probe.load_run("runs/<run>")
    s = probe.study("sweep.toml")

Names are imported on first use, so ``import probe`` stays light (no torch).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "bell": "probe.api:bell",
    "words": "probe.api:words",
    "load_run": "probe.runs:load_run",
    "plan_study": "probe.api:plan_study",
    "How": "probe.protocol:How",
    "study": "probe.sweep:study",
}

__all__ = ["How", "__version__", "bell", "entangle", "load_run", "plan_study", "quantum", "study", "words"]


def __getattr__(name: str) -> Any:
    if name in ("entangle", "quantum"):
        return importlib.import_module(f"probe.{name}")
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'probe' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
