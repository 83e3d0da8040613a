"""Linear programs on systems of dichotomous variables (scipy's HiGHS): CF, SF, Fine/Bell, CbD.

Global-assignment LPs (sheaf-theoretic / Bell-Fine view; a "global assignment" g gives every
content one value, the same in every context):

* **Contextual fraction** (Abramsky, Barbosa & Mansfield 2017, PRL 119, 050504,
  arXiv:1705.07918): NCF = max 1.b subject to M b <= e, b >= 0, where M[(c, o), g] = 1 iff g
  restricted to context c gives cell o and e is the empirical model (probabilities per context
  and cell); CF = 1 - NCF. CF = 0 iff e is a mixture of global assignments; the PR box has CF = 1;
  for the CHSH scenario with no-signalling, CF = max(0, (s_odd - 2) / 2), so the Tsirelson box of
  the singlet at optimal angles has CF = sqrt(2) - 1.
* **Signalling fraction**: SF = 1 - max lambda such that e = lambda e_ND + (1 - lambda) e' with
  e_ND a no-disturbance (no-signalling) model: marginals of every content equal across contexts.
  We write the no-disturbance constraints explicitly (the PyPI package ``contextuality`` uses the
  linear span of M instead; the two agree on Bell and cyclic scenarios, tested on random systems).
* **Fine / Bell** (Fine 1982): a consistently connected system is noncontextual iff e = M b for a
  probability vector b. :func:`closest_noncontextual` returns the N-weighted L1 projection onto
  {M b}, the null model of the honest bootstrap tests.

Coupling LPs of Contextuality-by-Default (Kujala & Dzhafarov 2019, "Measures of contextuality and
noncontextuality", arXiv:1903.07170 -- the issue credits it to Dzhafarov, Kujala & Cervantes, whose
PRA 101, 042119 (2020) treats the cyclic case; the formulation is the one of Cervantes' R package
ContextualityMeasures, which cites arXiv:1903.07170v5). Every random
variable R_q^c is a separate coordinate; a coupling x is a distribution over the 2**V joint values of
all V variables. With "+1" the reference value, the system is described by

* L: P(R_q^c = +1) for every variable (the low-order marginals), plus the total mass 1;
* B: bunch probabilities P(all of S = +1) for every context and subset S of it with |S| >= 2;
* C: connection probabilities P(R_q^c = R_q^c' = +1) for every content q and pair of its contexts,
  fixed at min(P(R_q^c = +1), P(R_q^c' = +1)) (the multimaximal coupling; pairwise maximality
  implies multimaximality for dichotomous variables).

The system is CbD-noncontextual iff a coupling satisfies L, B and C. Then

* CNT1 = sum(C_max) - max{ sum(C x) : L x = l, B x = b };
* CNT2 = min{ ||B x - b||_1 : L x = l, C x = c_max };
* CNT3 = min{ ||x||_1 : L x = l, B x = b, C x = c_max, x signed } - 1 (a quasi-probability);
* NCNT2 (noncontextual systems only) = min over bunch coordinates i and directions +-1 of the
  largest d with b +- d e_i still reachable: the L1 distance to the surface of the polytope
  (0 for contextual systems).

All four are in probability units. For cyclic systems CNT1 = CNT2 = CNT1_cyclic / 4 (CNT1_cyclic in
expectation units, :mod:`probe.analysis.bell.cyclic`); CF = 2 CNT2 for consistently connected cyclic
systems (Cervantes 2023, J. Math. Psych. 112, 102726); CNT3 is proportional to CNT2 in cyclic systems
(Camillo & Cervantes 2023, arXiv:2305.16574), with the constant 2/(n - 1) measured here. All tested.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, sparse

from probe._results import jsonable
from probe._types import FloatArray
from probe.analysis.bell.system import MAX_CONTENTS, MAX_COUPLING_VARIABLES, ContextSystem, cell_outcomes
from probe.errors import DataError

TOL = 1e-9


def _normalise(tables: list[FloatArray]) -> list[FloatArray]:
    return [np.asarray(t, dtype=float) / np.asarray(t, dtype=float).sum(axis=-1, keepdims=True) for t in tables]


def _solve(c: FloatArray, **kw: Any) -> optimize.OptimizeResult:
    res = optimize.linprog(c, method="highs", **kw)
    if res.status != 0:
        raise DataError(f"linear program failed: {res.message}")
    return res


# ---------------------------------------------------------------------------------------------
# global assignments: contextual fraction, signalling fraction, Fine
# ---------------------------------------------------------------------------------------------
def check_global_size(system: ContextSystem) -> None:
    if len(system.contents) > MAX_CONTENTS:
        raise DataError(f"the system has {len(system.contents)} measurements; global-assignment LPs need 2**m "
                        f"columns and stop at m = {MAX_CONTENTS}", hint="split the system or use the cyclic "
                        "closed forms")


def global_incidence(system: ContextSystem) -> sparse.csr_matrix:
    """M[(c, o), g] = 1 iff global assignment g gives cell o in context c; shape (sum 2**k, 2**m).

    Assignment g gives content q the value +1 iff bit (m - 1 - q) of g is 0.
    """
    check_global_size(system)
    m = len(system.contents)
    g = np.arange(2 ** m)
    bits = (g[None, :] >> (m - 1 - np.arange(m))[:, None]) & 1  # (m, 2**m)
    rows, offset = [], 0
    for ctx in system.contexts:
        k = len(ctx)
        cell = np.zeros(2 ** m, dtype=np.int64)
        for j, q in enumerate(ctx):
            cell |= bits[q] << (k - 1 - j)
        rows.append(offset + cell)
        offset += 2 ** k
    r = np.concatenate(rows)
    cidx = np.tile(g, system.n_contexts)
    return sparse.csr_matrix((np.ones(len(r)), (r, cidx)), shape=(offset, 2 ** m))


@dataclass(frozen=True, slots=True)
class FractionResult:
    """A fraction from an LP (contextual or signalling), its complement and the optimal weights."""

    value: float
    complement: float
    weights: FloatArray
    method: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"value": self.value, "complement": self.complement, "method": self.method})


def contextual_fraction(probs: list[FloatArray] | FloatArray, system: ContextSystem) -> FractionResult:
    """CF of an empirical model (Abramsky, Barbosa & Mansfield 2017, arXiv:1705.07918).

    Parameters
    ----------
    probs : list of arrays (one per context, 2**k cells) or array (n_contexts, cells)
        Probabilities (or counts: each context is renormalised).

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> pr = [[0, .5, .5, 0], [.5, 0, 0, .5], [.5, 0, 0, .5], [.5, 0, 0, .5]]
    >>> round(contextual_fraction(pr, chsh_system()).value, 9)
    1.0
    """
    e = np.concatenate(_normalise(list(probs)))
    mat = global_incidence(system)
    res = _solve(-np.ones(mat.shape[1]), A_ub=mat, b_ub=e, bounds=(0, None))
    ncf = float(-res.fun)
    cf = 0.0 if 1 - ncf < TOL else float(1 - ncf)
    return FractionResult(value=cf, complement=1 - cf, weights=np.asarray(res.x), method="LP (HiGHS)")


def contextual_fraction_batch(probs: FloatArray, system: ContextSystem, *, chunk: int = 2000) -> FloatArray:
    """CF of many empirical models of one system, solved as block-diagonal LPs of ``chunk`` systems.

    Parameters
    ----------
    probs : ndarray, shape (n_systems, n_rows)
        Each row the concatenated per-context probabilities (already normalised).
    chunk : int
        Systems per LP; the sum objective separates, so each block is optimal on its own.
    """
    p = np.asarray(probs, dtype=float)
    mat = global_incidence(system)
    out = np.empty(p.shape[0])
    for start in range(0, p.shape[0], chunk):
        block = p[start:start + chunk]
        b = block.shape[0]
        big = sparse.kron(sparse.identity(b, format="csr"), mat, format="csr")
        res = _solve(-np.ones(big.shape[1]), A_ub=big, b_ub=block.ravel(), bounds=(0, None))
        ncf = res.x.reshape(b, mat.shape[1]).sum(axis=1)
        out[start:start + b] = np.clip(1 - ncf, 0, 1)
    out[out < TOL] = 0.0
    return out


def _consistency_rows(system: ContextSystem) -> list[np.ndarray]:
    """Rows r with r . f = 0 iff the +1-marginal of every content agrees across its contexts."""
    offsets = np.cumsum([0, *system.n_cells])
    rows = []
    for q in range(len(system.contents)):
        cs = system.contexts_of(q)
        for a, b in itertools.pairwise(cs):
            r = np.zeros(offsets[-1])
            for sign, c in ((1.0, a), (-1.0, b)):
                k = len(system.contexts[c])
                plus = cell_outcomes(k)[:, system.contexts[c].index(q)] > 0
                r[offsets[c]:offsets[c + 1]][plus] = sign
            rows.append(r)
    return rows


def signalling_fraction(probs: list[FloatArray] | FloatArray, system: ContextSystem) -> FractionResult:
    """SF = 1 - the largest weight of a no-disturbance (no-signalling) model inside e.

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> sig = [[0, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]   # bell.md section 6.4
    >>> round(signalling_fraction(sig, chsh_system()).value, 9)
    1.0
    """
    e = np.concatenate(_normalise(list(probs)))
    n = len(e)
    eq = _signalling_rows(system)
    cost = np.zeros(n + 1)
    cost[n] = -1
    res = _solve(cost, A_eq=eq, b_eq=np.zeros(eq.shape[0]), bounds=[*((0, float(x)) for x in e), (0, None)])
    lam = float(res.x[n])
    sf = 0.0 if 1 - lam < TOL else float(1 - lam)
    return FractionResult(value=sf, complement=1 - sf, weights=np.asarray(res.x[:n]), method="LP (HiGHS)")


def _signalling_rows(system: ContextSystem) -> FloatArray:
    """Equalities on (f, lambda): every context of f sums to lambda, and f's marginals agree across contexts."""
    offsets = np.cumsum([0, *system.n_cells])
    n = int(offsets[-1])
    eq = []
    for c in range(system.n_contexts):
        r = np.zeros(n + 1)
        r[offsets[c]:offsets[c + 1]] = 1
        r[n] = -1
        eq.append(r)
    eq += [np.append(r, 0.0) for r in _consistency_rows(system)]
    return np.array(eq)


def signalling_fraction_batch(probs: FloatArray, system: ContextSystem, *, chunk: int = 2000) -> FloatArray:
    """SF of many empirical models of one system (bootstrap replicates), as block-diagonal LPs of ``chunk``
    systems: the objective (sum of the lambdas) separates, so each block is optimal on its own and the
    values equal :func:`signalling_fraction` one system at a time (one HiGHS call instead of thousands).

    Parameters
    ----------
    probs : ndarray, shape (n_systems, n_rows)
        Each row the concatenated per-context probabilities (already normalised).
    """
    p = np.asarray(probs, dtype=float)
    eq = sparse.csr_matrix(_signalling_rows(system))
    n = eq.shape[1] - 1
    out = np.empty(p.shape[0])
    for start in range(0, p.shape[0], chunk):
        block = p[start:start + chunk]
        b = block.shape[0]
        big = sparse.kron(sparse.identity(b, format="csr"), eq, format="csr")
        upper = np.hstack([block, np.full((b, 1), np.inf)]).ravel()
        cost = np.tile(np.append(np.zeros(n), -1.0), b)
        res = _solve(cost, A_eq=big, b_eq=np.zeros(big.shape[0]), bounds=np.stack([np.zeros(upper.size), upper], 1))
        out[start:start + b] = np.clip(1 - res.x.reshape(b, n + 1)[:, n], 0, 1)
    out[out < TOL] = 0.0
    return out


@dataclass(frozen=True, slots=True)
class NoncontextualFit:
    """The closest mixture of global assignments (Fine/Bell noncontextual model) to the data."""

    distance: float
    """sum_c w_c sum_o |e_co - (M b)_co| at the optimum (0 iff the data are Fine-noncontextual)."""
    noncontextual: bool
    fitted: tuple[FloatArray, ...]
    """Fitted probabilities per context."""
    weights: FloatArray
    """b: probability of each global assignment."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"distance": self.distance, "noncontextual": self.noncontextual})


def closest_noncontextual(probs: list[FloatArray] | FloatArray, system: ContextSystem, *,
                          context_weights: FloatArray | None = None) -> NoncontextualFit:
    """N-weighted L1 projection of the empirical model onto the Fine/Bell noncontextual polytope.

    Minimises sum_c w_c ||e_c - (M b)_c||_1 over probability vectors b (an LP with slack t):
    the "closest noncontextual model" of the issue, used as the null of the bootstrap tests.
    With w_c = N_c / sum N, contexts with more answers are fitted more closely.
    """
    tables = _normalise(list(probs))
    e = np.concatenate(tables)
    mat = global_incidence(system).toarray()
    rows, cols = mat.shape
    w = np.ones(system.n_contexts) if context_weights is None else np.asarray(context_weights, dtype=float)
    wr = np.repeat(w, system.n_cells)
    # variables [b (cols), t (rows)]: -t <= e - M b <= t, sum b = 1
    a_ub = np.block([[mat, -np.eye(rows)], [-mat, -np.eye(rows)]])
    b_ub = np.concatenate([e, -e])
    a_eq = np.concatenate([np.ones(cols), np.zeros(rows)])[None, :]
    res = _solve(np.concatenate([np.zeros(cols), wr]), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0],
                 bounds=(0, None))
    b = np.clip(res.x[:cols], 0, None)
    b = b / b.sum()
    fitted = mat @ b
    offsets = np.cumsum([0, *system.n_cells])
    dist = float(res.fun)
    return NoncontextualFit(distance=dist if dist > TOL else 0.0, noncontextual=dist <= 1e-7,
                            fitted=tuple(fitted[offsets[c]:offsets[c + 1]] for c in range(system.n_contexts)),
                            weights=b)


# ---------------------------------------------------------------------------------------------
# Contextuality-by-Default coupling LPs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CouplingProblem:
    """The L, B, C matrices of the reduced coupling formulation and the observed right-hand sides."""

    variables: tuple[tuple[int, int], ...]
    """(context, position) of each random variable R_q^c."""
    L: sparse.csr_matrix
    B: sparse.csr_matrix
    C: sparse.csr_matrix
    low: FloatArray
    bunch: FloatArray
    connection: FloatArray
    bunch_sets: tuple[tuple[int, ...], ...]


def _event_rows(sets: list[tuple[int, ...]], n_var: int) -> sparse.csr_matrix:
    g = np.arange(2 ** n_var, dtype=np.int64)
    indptr, indices = [0], []
    for s in sets:
        mask = 0
        for v in s:
            mask |= 1 << v
        idx = np.flatnonzero((g & mask) == 0)
        indices.append(idx)
        indptr.append(indptr[-1] + len(idx))
    data = np.ones(indptr[-1])
    return sparse.csr_matrix((data, np.concatenate(indices) if indices else np.array([], int), indptr),
                             shape=(len(sets), 2 ** n_var))


def coupling_problem(probs: list[FloatArray] | FloatArray, system: ContextSystem) -> CouplingProblem:
    """Build the coupling LP data; raises :class:`DataError` when 2**V columns would not fit."""
    n_var = system.n_variables
    if n_var > MAX_COUPLING_VARIABLES:
        raise DataError(f"the system has {n_var} random variables; the CbD coupling LP needs 2**{n_var} columns "
                        f"and stops at {MAX_COUPLING_VARIABLES} variables (rank {MAX_COUPLING_VARIABLES // 2} "
                        "for a cyclic system)", hint="use the closed-form cyclic measures (CNT1) for larger ranks")
    tables = _normalise(list(probs))
    variables = tuple((c, j) for c, ctx in enumerate(system.contexts) for j in range(len(ctx)))
    vindex = {cv: i for i, cv in enumerate(variables)}
    low_sets: list[tuple[int, ...]] = [(), *((i,) for i in range(n_var))]
    low = [1.0]
    for c, j in variables:
        k = len(system.contexts[c])
        low.append(float(tables[c][cell_outcomes(k)[:, j] > 0].sum()))
    bunch_sets, bunch = [], []
    for c, ctx in enumerate(system.contexts):
        k = len(ctx)
        out = cell_outcomes(k)
        for size in range(2, k + 1):
            for sub in itertools.combinations(range(k), size):
                bunch_sets.append(tuple(vindex[(c, j)] for j in sub))
                bunch.append(float(tables[c][np.all(out[:, list(sub)] > 0, axis=1)].sum()))
    conn_sets, conn = [], []
    for q in range(len(system.contents)):
        vs = [vindex[(c, system.contexts[c].index(q))] for c in system.contexts_of(q)]
        for a, b in itertools.combinations(vs, 2):
            conn_sets.append((a, b))
            conn.append(min(low[1 + a], low[1 + b]))
    return CouplingProblem(variables=variables, L=_event_rows(low_sets, n_var), B=_event_rows(bunch_sets, n_var),
                           C=_event_rows(conn_sets, n_var), low=np.array(low), bunch=np.array(bunch),
                           connection=np.array(conn), bunch_sets=tuple(bunch_sets))


def _clean(x: float) -> float:
    return 0.0 if abs(x) < TOL else float(x)


def cnt1_lp(problem: CouplingProblem) -> float:
    """CNT1 (general systems): the connection deficit of the best coupling of the bunches."""
    if problem.C.shape[0] == 0:
        return 0.0
    a_eq = sparse.vstack([problem.L, problem.B])
    b_eq = np.concatenate([problem.low, problem.bunch])
    res = _solve(-np.asarray(problem.C.sum(axis=0)).ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    return _clean(problem.connection.sum() + res.fun)


def cnt2(problem: CouplingProblem, *, return_coupling: bool = False) -> Any:
    """CNT2: L1 distance in bunch coordinates to the CbD-noncontextual polytope (margins fixed)."""
    nb, cols = problem.B.shape
    eye = sparse.identity(nb, format="csr")
    zl = sparse.csr_matrix((problem.L.shape[0], nb))
    zc = sparse.csr_matrix((problem.C.shape[0], nb))
    a_eq = sparse.vstack([sparse.hstack([problem.L, zl]), sparse.hstack([problem.C, zc])])
    b_eq = np.concatenate([problem.low, problem.connection])
    a_ub = sparse.vstack([sparse.hstack([problem.B, -eye]), sparse.hstack([-problem.B, -eye])])
    b_ub = np.concatenate([problem.bunch, -problem.bunch])
    res = _solve(np.concatenate([np.zeros(cols), np.ones(nb)]), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                 bounds=(0, None))
    value = _clean(res.fun)
    return (value, np.clip(res.x[:cols], 0, None)) if return_coupling else value


def cnt3(problem: CouplingProblem) -> float:
    """CNT3: total variation of the best signed coupling, minus 1 (0 iff noncontextual)."""
    a = sparse.vstack([problem.L, problem.B, problem.C])
    rhs = np.concatenate([problem.low, problem.bunch, problem.connection])
    cols = a.shape[1]
    res = _solve(np.ones(2 * cols), A_eq=sparse.hstack([a, -a]), b_eq=rhs, bounds=(0, None))
    return _clean(res.fun - 1)


def ncnt2(problem: CouplingProblem) -> float:
    """NCNT2: for a noncontextual system, the L1 distance from its bunch point to the polytope surface."""
    if cnt2(problem) > TOL:
        return 0.0
    nb, cols = problem.B.shape
    best = np.inf
    a_lc = sparse.vstack([problem.L, problem.C])
    for i in range(nb):
        e_i = np.zeros((nb, 1))
        e_i[i] = 1.0
        for sign in (1.0, -1.0):
            a_eq = sparse.vstack([sparse.hstack([a_lc, sparse.csr_matrix((a_lc.shape[0], 1))]),
                                  sparse.hstack([problem.B, sparse.csr_matrix(sign * e_i)])])
            b_eq = np.concatenate([problem.low, problem.connection, problem.bunch])
            cost = np.zeros(cols + 1)
            cost[-1] = -1
            res = _solve(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
            best = min(best, float(res.x[-1]))
    return _clean(best)


def coupling_marginals(coupling: FloatArray, problem: CouplingProblem, system: ContextSystem) -> tuple[FloatArray, ...]:
    """The context tables (cell order of :mod:`system`) implied by a coupling of all variables."""
    n_var = len(problem.variables)
    g = np.arange(2 ** n_var, dtype=np.int64)
    out = []
    vindex = {cv: i for i, cv in enumerate(problem.variables)}
    for c, ctx in enumerate(system.contexts):
        k = len(ctx)
        cell = np.zeros(2 ** n_var, dtype=np.int64)
        for j in range(k):
            cell |= ((g >> vindex[(c, j)]) & 1) << (k - 1 - j)
        out.append(np.bincount(cell, weights=coupling, minlength=2 ** k))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class CbdLpResult:
    """CbD measures of a general dichotomous system by LP (probability units)."""

    cnt1: float
    cnt2: float
    cnt3: float
    ncnt2: float
    contextual: bool
    n_variables: int

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def cbd_lp(probs: list[FloatArray] | FloatArray, system: ContextSystem) -> CbdLpResult:
    """CNT1, CNT2, CNT3 and NCNT2 of a dichotomous system (Kujala & Dzhafarov 2019, arXiv:1903.07170).

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> pr = [[0, .5, .5, 0], [.5, 0, 0, .5], [.5, 0, 0, .5], [.5, 0, 0, .5]]
    >>> r = cbd_lp(pr, chsh_system())
    >>> round(r.cnt2, 9), r.contextual     # CNT1_cyclic / 4 = (4 - 0 - 2) / 4
    (0.5, True)
    """
    problem = coupling_problem(probs, system)
    c2 = cnt2(problem)
    return CbdLpResult(cnt1=cnt1_lp(problem), cnt2=c2, cnt3=cnt3(problem), ncnt2=ncnt2(problem) if c2 <= TOL else 0.0,
                       contextual=c2 > TOL, n_variables=system.n_variables)
