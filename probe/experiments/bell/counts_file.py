"""Human (or any external) Bell data from a CSV file, sent through the same analysis.

Format: a header with ``experiment,a,b,count``; ``experiment`` is one of ``AB``,
``AB'``, ``A'B``, ``A'B'`` (typographic primes are accepted); ``a`` and ``b`` are
``+``/``-`` (or ``+1``/``-1``); ``count`` a whole number. Repeated rows add up.

With an extra ``respondent`` column (one row per respondent and context,
``count`` = 1) the file is within-subject data and the per-respondent
analysis (:func:`probe.analysis.bell.chsh.chsh_within`) is reported as well.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from probe.analysis.bell.chsh import CONTEXTS
from probe.analysis.bell.system import ContextSystem
from probe.errors import DataError

_SIGNS = {"+": 1, "+1": 1, "1": 1, "plus": 1, "-": -1, "-1": -1, "−": -1, "minus": -1}
_PRIMES = str.maketrans({"’": "'", "′": "'", "‘": "'", "`": "'"})


@dataclass(frozen=True, slots=True)
class CountsData:
    counts: np.ndarray
    """(4, 2, 2) counts."""
    products: np.ndarray | None
    """(n_respondents, 4) products x*y for within-subject data, else None."""
    rows: int
    path: str


def _sign(value: str, where: str, field: str) -> int:
    s = value.strip().casefold()
    if s not in _SIGNS:
        raise DataError(f"{where}: {field}: {value!r} is not an outcome", hint="use + or -")
    return _SIGNS[s]


def _csv_reader(p: Path, columns: str) -> csv.DictReader:
    """A reader over a UTF-8 CSV file (BOM allowed); a missing, binary or folder path is one line."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{p}: file not found", hint=f"pass a CSV with columns {columns}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a folder, not a CSV file") from None
    return csv.DictReader(io.StringIO(text))


def _count(value: str, where: str) -> float:
    """A count field: a whole number >= 0 (written as 12 or 12.0)."""
    raw = value.strip()
    try:
        count = float(raw)
    except ValueError:
        raise DataError(f"{where}: count: {raw!r} is not a number") from None
    if not math.isfinite(count) or count < 0 or count != int(count):
        raise DataError(f"{where}: count: {raw!r} must be a whole number >= 0")
    return count


def read_counts_csv(path: str | Path) -> CountsData:
    """Read and validate a counts CSV; errors name the file, line and field."""
    p = Path(path)
    reader = _csv_reader(p, "experiment,a,b,count")
    header = [h.strip().casefold() for h in (reader.fieldnames or [])]
    need = {"experiment", "a", "b", "count"}
    if not need <= set(header):
        missing = ", ".join(sorted(need - set(header)))
        raise DataError(f"{p}:1: header lacks column(s) {missing}",
                        hint="the first line must be: experiment,a,b,count (optionally respondent)")
    reader.fieldnames = header
    within = "respondent" in header
    counts = np.zeros((4, 2, 2))
    per_resp: dict[str, dict[int, int]] = defaultdict(dict)
    n_rows = 0
    for line_no, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        where = f"{p}:{line_no}"
        if None in row:
            raise DataError(f"{where}: more fields than the header has", hint="check for stray commas")
        exp = (row["experiment"] or "").strip().translate(_PRIMES).replace(" ", "")
        if exp not in CONTEXTS:
            raise DataError(f"{where}: experiment: {row['experiment']!r} is not a context",
                            hint=f"use one of {', '.join(CONTEXTS)}")
        a = _sign(row["a"] or "", where, "a")
        b = _sign(row["b"] or "", where, "b")
        count = _count(row["count"] or "", where)
        c = CONTEXTS.index(exp)
        counts[c, 0 if a == 1 else 1, 0 if b == 1 else 1] += count
        if within:
            rid = (row["respondent"] or "").strip()
            if not rid:
                raise DataError(f"{where}: respondent: empty")
            if count != 1:
                raise DataError(f"{where}: count: within-subject rows need count 1 (one answer per respondent)")
            if c in per_resp[rid]:
                raise DataError(f"{where}: respondent {rid!r} answers {exp} twice")
            per_resp[rid][c] = a * b
        n_rows += 1
    if n_rows == 0:
        raise DataError(f"{p}: no data rows", hint="add rows like: AB,+,-,12")
    empty = [CONTEXTS[c] for c in range(4) if counts[c].sum() == 0]
    if empty:
        raise DataError(f"{p}: no answers for context(s) {', '.join(empty)}", hint="every context needs data")
    products = None
    if within:
        incomplete = [r for r, d in per_resp.items() if len(d) != 4]
        if incomplete:
            raise DataError(f"{p}: respondent(s) {', '.join(incomplete[:5])} lack some contexts",
                            hint="within-subject data needs all four contexts per respondent")
        products = np.array([[d[c] for c in range(4)] for d in per_resp.values()], dtype=float)
    return CountsData(counts=counts, products=products, rows=n_rows, path=str(p))


# ---------------------------------------------------------------------------------------------
# counts for any design (cyclic of rank n, or general contexts)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SystemCounts:
    """Counts of a system read from CSV: one array of 2**k cells per context (system order)."""

    tables: tuple[np.ndarray, ...]
    system: ContextSystem
    rows: int
    path: str

    def stacked(self) -> np.ndarray:
        """(n_contexts, 4) for pairwise systems."""
        return np.stack(self.tables)


def _outcome_string(value: str, k: int, where: str) -> tuple[int, ...]:
    s = value.strip().replace(" ", "").replace("−", "-")
    if len(s) != k or any(ch not in "+-" for ch in s):
        raise DataError(f"{where}: outcome: {value!r} must be {k} signs + or - (one per measurement of the context)")
    return tuple(1 if ch == "+" else -1 for ch in s)


def read_system_counts_csv(path: str | Path, system: ContextSystem) -> SystemCounts:
    """Read counts for any system; errors name the file, line and field.

    Header ``context,a,b,count`` (``experiment`` is accepted for ``context``) for two-measurement
    contexts, or ``context,outcome,count`` with ``outcome`` a string of +/- signs, one per
    measurement of the context in the system's order (``+-+``). Context names are the system's
    (``Q1Q2`` ... for ``--contexts cyclic:N``; the design's, e.g. ``A2B1``). Repeated rows add up;
    every context of the system needs data, and no other context may appear.
    """
    p = Path(path)
    reader = _csv_reader(p, "context,a,b,count")
    header = [h.strip().casefold() for h in (reader.fieldnames or [])]
    if "experiment" in header and "context" not in header:
        header = ["context" if h == "experiment" else h for h in header]
    pairwise_cols = {"context", "a", "b", "count"} <= set(header)
    outcome_cols = {"context", "outcome", "count"} <= set(header)
    if not (pairwise_cols or outcome_cols):
        raise DataError(f"{p}:1: header must be context,a,b,count or context,outcome,count; got {','.join(header)}",
                        hint="one row per context and outcome")
    reader.fieldnames = header
    index = {name.translate(_PRIMES): i for i, name in enumerate(system.names)}
    tables = [np.zeros(k) for k in system.n_cells]
    n_rows = 0
    for line_no, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        where = f"{p}:{line_no}"
        if None in row:
            raise DataError(f"{where}: more fields than the header has", hint="check for stray commas")
        name = (row["context"] or "").strip().translate(_PRIMES).replace(" ", "")
        if name not in index:
            raise DataError(f"{where}: context: {row['context']!r} is not a context of the design",
                            hint=f"contexts are {', '.join(system.names)}")
        c = index[name]
        k = len(system.contexts[c])
        if "outcome" in header and (row.get("outcome") or "").strip():
            signs = _outcome_string(row["outcome"] or "", k, where)
        else:
            if k != 2:
                raise DataError(f"{where}: context {name} has {k} measurements: give an outcome column ('+-+')")
            signs = (_sign(row.get("a") or "", where, "a"), _sign(row.get("b") or "", where, "b"))
        count = _count(row["count"] or "", where)
        cell = 0
        for s in signs:
            cell = (cell << 1) | (0 if s == 1 else 1)
        tables[c][cell] += count
        n_rows += 1
    if n_rows == 0:
        raise DataError(f"{p}: no data rows", hint=f"add rows like: {system.names[0]},+,-,12")
    empty = [system.names[c] for c in range(system.n_contexts) if tables[c].sum() == 0]
    if empty:
        raise DataError(f"{p}: no answers for context(s) {', '.join(empty)}",
                        hint="the counts' contexts must match the design: every context needs data")
    return SystemCounts(tables=tuple(tables), system=system, rows=n_rows, path=str(p))
