"""probe.quantum: the quantum studies (``probe quantum ...``) and, re-exported, the simulator core
of :mod:`probe.qsim`."""

from __future__ import annotations

from probe.qsim import *  # noqa: F403
from probe.qsim import __all__ as _qsim_all

__all__ = [*_qsim_all]
