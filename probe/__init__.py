"""probe: quantum-cognition tests of language models, and entanglement measures of models and circuits."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
