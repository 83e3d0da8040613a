"""probe.entangle: the entanglement-profile studies (``probe entangle ...``)."""

from __future__ import annotations
