"""Type aliases shared across probe."""

from __future__ import annotations

from os import PathLike
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

ModelSpec: TypeAlias = str
"""A model name: ``gpt-4o``, ``openai:NAME``, ``gemini:NAME``, ``hf:PATH``, ``embed:NAME``, ``sim:NAME``."""

Seed: TypeAlias = int | np.random.Generator | None
"""Anything ``np.random.default_rng`` accepts; turned into a generator once, never the global RNG."""

ArrayLike: TypeAlias = npt.ArrayLike
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
PathLikeStr: TypeAlias = str | PathLike[str]
JSON: TypeAlias = dict[str, Any]
