"""Setting values of the quantum studies: ranges, lists and pairs, from the CLI's text or from Python.

Every reader accepts what a notebook user would pass (a list, a tuple, an int)
as well as the CLI's text (``"1..5"``, ``"1..9:2"``, ``"2,4,8"``, ``"ring,line"``),
returns a tuple (frozen settings stay hashable) and raises
:class:`~probe.errors.SettingError` naming the parameter.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from probe.errors import SettingError

_RANGE_HINT = "write A..B, A..B:STEP or a comma list (in Python: a list)"


def int_values(value: Any, *, param: str, minimum: int = 0) -> tuple[int, ...]:
    """``"1..5"`` → (1, 2, 3, 4, 5); ``"1..9:2"`` → (1, 3, 5, 7, 9); ``"2,4,8"``; ``"3"``; ``3``; ``[1, 2]``."""
    try:
        if isinstance(value, str):
            text = value.strip()
            if ".." in text:
                span, _, step = text.partition(":")
                lo, hi = (int(x) for x in span.split(".."))
                st = int(step) if step else 1
                if st < 1 or hi < lo:
                    raise ValueError
                values = tuple(range(lo, hi + 1, st))
            else:
                values = tuple(int(x) for x in text.split(",") if x.strip())
        elif isinstance(value, int | np.integer):
            values = (int(value),)
        else:
            values = tuple(_whole(x) for x in value)
    except (TypeError, ValueError):
        raise SettingError(param, value, "cannot read these whole numbers", hint=_RANGE_HINT) from None
    if not values or min(values) < minimum:
        raise SettingError(param, value, f"values must be whole numbers >= {minimum}")
    return values


def float_values(value: Any, *, param: str, low: float = 0.0, high: float = 1.0,
                 default_step: float = 0.1) -> tuple[float, ...]:
    """``"0.0..0.5"`` (step ``default_step``), ``"0..0.5:0.05"``, ``"0,0.1,0.3"``, ``0.2``, ``[0, 0.5]``."""
    try:
        if isinstance(value, str):
            text = value.strip()
            if ".." in text:
                span, _, step = text.partition(":")
                lo, hi = (float(x) for x in span.split(".."))
                st = float(step) if step else default_step
                if st <= 0 or hi < lo:
                    raise ValueError
                count = round((hi - lo) / st) + 1
                values = tuple(round(lo + i * st, 10) for i in range(count) if lo + i * st <= hi + 1e-9)
            else:
                values = tuple(float(x) for x in text.split(",") if x.strip())
        elif isinstance(value, int | float | np.number):
            values = (float(value),)
        else:
            values = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        raise SettingError(param, value, "cannot read these numbers", hint=_RANGE_HINT) from None
    if not values or min(values) < low or max(values) > high:
        raise SettingError(param, value, f"values must lie in [{low}, {high}]")
    return values


def names(value: Any, *, param: str, lower: bool = False) -> tuple[str, ...]:
    """``"ring,line"`` or ``["ring", "line"]`` → ("ring", "line"); empty entries dropped."""
    if isinstance(value, str):
        items = value.split(",")
    else:
        try:
            items = [str(v) for v in value]
        except TypeError:
            raise SettingError(param, value, "expected a name or a list of names") from None
    out = tuple(s.strip().lower() if lower else s.strip() for s in items if s.strip())
    if not out:
        raise SettingError(param, value, "is empty")
    return out


def int_pair(value: Any, *, param: str) -> tuple[int, int]:
    """``"2,3"`` or ``(2, 3)`` → (2, 3)."""
    try:
        items = value.split(",") if isinstance(value, str) else list(value)
        a, b = (_whole(x) for x in items)
    except (TypeError, ValueError):
        raise SettingError(param, value, "expected two whole numbers A,B") from None
    return a, b


def _whole(x: Any) -> int:
    if isinstance(x, str):
        return int(x.strip())
    if isinstance(x, bool) or float(x) != int(x):
        raise ValueError(x)
    return int(x)


def normalize(settings: Any, readers: dict[str, Callable[[Any], Any]]) -> None:
    """In ``__post_init__``: replace raw field values by their parsed form where they parse.

    A value that does not parse is left as given, for :meth:`validate` to report
    (construction never raises; validation names the parameter).
    """
    for name, read in readers.items():
        value = getattr(settings, name)
        if value is None:
            continue
        with contextlib.suppress(SettingError):
            object.__setattr__(settings, name, read(value))


def item_seed(seed: int, *keys: Any) -> np.random.Generator:
    """A generator for one work item, from the run's seed and the item's keys.

    Items of a table or a scan draw from their own streams, so a resumed or
    extended run gives every item the numbers it would have had in one go.
    Text keys enter through CRC-32, floats through their ``repr``.
    """
    words = [int(seed)]
    for k in keys:
        words.append(int(k) if isinstance(k, int | np.integer) else zlib.crc32(repr(k).encode()))
    return np.random.default_rng(words)


def check_memory(n_qubits: int, *, batch: int, param: str = "qubits") -> None:
    """The state vectors of ``n_qubits`` × ``batch`` fit in memory (:func:`probe.qsim.validation.check_qubits`)."""
    from probe.errors import DataError
    from probe.qsim.validation import check_qubits

    try:
        check_qubits(n_qubits, batch=batch, what="state vectors")
    except DataError as exc:
        raise SettingError(param, n_qubits, exc.message.removeprefix("state vectors: "), hint=exc.hint) from None


def check_seed(seed: Any) -> None:
    """``seed`` is a whole number >= 0 (numpy's seed sequences take no negative entropy)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SettingError("seed", seed, "must be a whole number >= 0")


__all__ = ["check_memory", "check_seed", "float_values", "int_pair", "int_values", "item_seed", "names", "normalize"]
