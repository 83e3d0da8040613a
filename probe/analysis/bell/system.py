"""Systems of dichotomous random variables: which measurements are made together (the contexts).

A *system* (Dzhafarov & Kujala's Contextuality-by-Default, CbD) has contents q (measurements,
questions) and contexts c (the sets of contents measured together); every content in every context
is a separate random variable R_q^c with values +1 / -1.

Conventions used throughout ``probe.analysis.bell``:

* A context of k contents has 2**k cells, ordered as ``itertools.product((+1, -1), repeat=k)``:
  index bit j (most significant first) is 0 for outcome +1 of the j-th content, 1 for -1. For k = 2
  this is (++, +-, -+, --), the order of :mod:`probe.analysis.bell.chsh`.
* A *cyclic system of rank n* has n contents and n two-content contexts such that every content is
  in exactly two contexts and the contexts form one cycle (Kujala, Dzhafarov & Larsson 2015,
  PRL 115, 150401). The two contents of a context may be listed in either order; the rank-4 CHSH
  system in probe's order (AB, AB', A'B, A'B') is cyclic: A-B-A'-B'-A.
* ``+1`` is the reference value ("the event") of the LP formulation of CbD (Kujala & Dzhafarov
  2019, arXiv:1903.07170).

Nothing here does statistics; it only names and checks structure.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from probe._types import ArrayLike, FloatArray
from probe.errors import DataError

#: Coupling LPs have 2**V columns, V = number of random variables R_q^c; past this they do not fit.
MAX_COUPLING_VARIABLES = 20
#: Global-assignment LPs (contextual fraction, Fine) have 2**m columns, m = number of contents.
MAX_CONTENTS = 22


@dataclass(frozen=True, slots=True)
class ContextSystem:
    """The structure of a system: content names and, per context, the indices of its contents.

    Parameters
    ----------
    contents : tuple of str
        Names of the measurements (contents), e.g. ``("A", "A'", "B", "B'")``.
    contexts : tuple of tuple of int
        For each context, the indices (into ``contents``) of the contents measured together,
        in the order of that context's table axes.
    names : tuple of str
        A name per context (e.g. ``"AB'"``), used in reports and counts files.
    """

    contents: tuple[str, ...]
    contexts: tuple[tuple[int, ...], ...]
    names: tuple[str, ...]

    @property
    def n_contexts(self) -> int:
        return len(self.contexts)

    @property
    def n_variables(self) -> int:
        """V = number of random variables R_q^c (sum of context sizes)."""
        return sum(len(c) for c in self.contexts)

    @property
    def n_cells(self) -> tuple[int, ...]:
        return tuple(2 ** len(c) for c in self.contexts)

    @property
    def is_pairwise(self) -> bool:
        return all(len(c) == 2 for c in self.contexts)

    @property
    def is_cyclic(self) -> bool:
        return cycle_order(self) is not None

    @property
    def rank(self) -> int:
        return len(self.contents)

    def contexts_of(self, q: int) -> tuple[int, ...]:
        """Indices of the contexts that contain content ``q``."""
        return tuple(i for i, c in enumerate(self.contexts) if q in c)

    def to_dict(self) -> dict[str, Any]:
        return {"contents": list(self.contents), "contexts": [[self.contents[q] for q in c] for c in self.contexts],
                "names": list(self.names), "cyclic": self.is_cyclic}


def make_system(contents: list[str] | tuple[str, ...], contexts: list[list[str]] | tuple[tuple[str, ...], ...],
                *, names: list[str] | tuple[str, ...] | None = None) -> ContextSystem:
    """Build and check a system from content names and contexts given by content names.

    Raises
    ------
    DataError
        A context names an unknown content, repeats a content, is empty; two contexts are equal;
        a content is in no context.
    """
    contents = tuple(str(c) for c in contents)
    if len(set(contents)) != len(contents):
        raise DataError(f"contents: names must be distinct; got {list(contents)}")
    index = {c: i for i, c in enumerate(contents)}
    out = []
    for k, ctx in enumerate(contexts):
        if not ctx:
            raise DataError(f"contexts[{k}]: empty context")
        unknown = [q for q in ctx if q not in index]
        if unknown:
            raise DataError(f"contexts[{k}]: unknown measurement(s) {', '.join(map(str, unknown))}",
                            hint=f"measurements are {', '.join(contents)}")
        if len(set(ctx)) != len(ctx):
            raise DataError(f"contexts[{k}]: a measurement appears twice in one context")
        out.append(tuple(index[q] for q in ctx))
    if len({frozenset(c) for c in out}) != len(out):
        raise DataError("contexts: two contexts measure the same set of measurements")
    unused = [contents[q] for q in range(len(contents)) if not any(q in c for c in out)]
    if unused:
        raise DataError(f"measurement(s) {', '.join(unused)} are in no context")
    if names is None:
        names = tuple("".join(contents[q] for q in c) for c in out)
    names = tuple(str(n) for n in names)
    if len(names) != len(out) or len(set(names)) != len(names):
        raise DataError("contexts: context names must be distinct, one per context")
    return ContextSystem(contents=contents, contexts=tuple(out), names=names)


def cyclic_system(n: int) -> ContextSystem:
    """The cyclic system of rank n: contents Q1..Qn, contexts (Q_i, Q_{i+1}) with Q_{n+1} = Q1."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 3:
        raise DataError(f"rank of a cyclic system must be an integer >= 3; got {n!r}")
    contents = [f"Q{i + 1}" for i in range(n)]
    return make_system(contents, [[contents[i], contents[(i + 1) % n]] for i in range(n)])


def chsh_system() -> ContextSystem:
    """The rank-4 CHSH system in probe's context order AB, AB', A'B, A'B' (first axis A or A')."""
    return make_system(["A", "A'", "B", "B'"], [["A", "B"], ["A", "B'"], ["A'", "B"], ["A'", "B'"]])


def cycle_order(system: ContextSystem) -> tuple[int, ...] | None:
    """Context indices in cycle order if ``system`` is cyclic (rank >= 3), else ``None``.

    Cyclic means: every context has two contents, every content is in exactly two contexts, and
    walking from context to context through shared contents visits all contexts in one cycle.
    """
    if not system.is_pairwise or system.n_contexts != len(system.contents) or system.n_contexts < 3:
        return None
    if any(len(system.contexts_of(q)) != 2 for q in range(len(system.contents))):
        return None
    order = [0]
    q = system.contexts[0][1]
    while True:
        a, b = system.contexts_of(q)
        nxt = b if a == order[-1] else a
        if nxt == 0:
            break
        if nxt in order:
            return None
        order.append(nxt)
        c = system.contexts[nxt]
        q = c[1] if c[0] == q else c[0]
    return tuple(order) if len(order) == system.n_contexts else None


def check_tables(tables: ArrayLike | list[ArrayLike], system: ContextSystem, *, name: str = "counts",
                 integer: bool = True, batch: bool = False) -> list[FloatArray]:
    """Validate per-context tables (counts or probabilities) against ``system``.

    Parameters
    ----------
    tables : array-like
        Pairwise systems: shape (n_contexts, 4) or (n_contexts, 2, 2), or with a leading batch axis
        when ``batch``; general systems: a list with one array of 2**k cells per context.
    Returns
    -------
    list of ndarray
        One float array per context, shape (..., 2**k).
    """
    if isinstance(tables, list | tuple) and not system.is_pairwise:
        arrs = [np.asarray(t, dtype=float) for t in tables]
    else:
        a = np.asarray(tables, dtype=float)
        lead = a.shape[:1] if batch else ()
        m = system.n_contexts
        if system.is_pairwise and a.shape[len(lead):] in ((m, 2, 2), (m, 4)):
            a = a.reshape(*lead, m, 4)
            arrs = [a[..., i, :] for i in range(m)]
        elif a.ndim >= 2 and a.shape[-2] == m and len(set(system.n_cells)) == 1 and a.shape[-1] == system.n_cells[0]:
            arrs = [a[..., i, :] for i in range(m)]
        else:
            raise DataError(f"{name} must have one row per context ({m}) and {system.n_cells[0]} cells per row; "
                            f"got shape {a.shape}")
    if len(arrs) != system.n_contexts:
        raise DataError(f"{name}: {len(arrs)} context tables for a system of {system.n_contexts} contexts")
    out = []
    for i, (t, k) in enumerate(zip(arrs, system.n_cells, strict=True)):
        t = t.reshape(*t.shape[:-1], -1) if t.ndim else t
        if t.shape[-1] != k:
            raise DataError(f"{name}[{system.names[i]}]: expected {k} cells, got {t.shape[-1]}")
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise DataError(f"{name}[{system.names[i]}]: must be finite and non-negative")
        if integer and np.any(t != np.round(t)):
            raise DataError(f"{name}[{system.names[i]}]: must be whole numbers of answers")
        if np.any(t.sum(axis=-1) == 0):
            raise DataError(f"{name}: no answers in context {system.names[i]}",
                            hint="every context needs at least one answer")
        out.append(t)
    return out


def cell_outcomes(k: int) -> np.ndarray:
    """(2**k, k) array of +-1 outcomes in the cell order of this module."""
    return np.array(list(itertools.product((1, -1), repeat=k)), dtype=float).reshape(2 ** k, k)


def marginal_plus(probs: FloatArray, k: int, j: int) -> FloatArray:
    """P(content j of a k-content context = +1) from its (..., 2**k) probabilities."""
    plus = cell_outcomes(k)[:, j] > 0
    return probs[..., plus].sum(axis=-1)


def pairwise_tables(system: ContextSystem, tables: list[FloatArray]) -> FloatArray:
    """Stack the tables of a pairwise system into shape (..., n_contexts, 4)."""
    return np.stack(tables, axis=-2)
