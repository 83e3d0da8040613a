"""Contextual fraction of many systems at once, from the vertices of the dual LP.

The CF linear program (Abramsky, Barbosa & Mansfield 2017, arXiv:1705.07918),

    NCF(e) = max { 1.b : M b <= e, b >= 0 } = min { e.y : M^T y >= 1, y >= 0 }   (LP duality),

has a dual feasible set P = {y >= 0 : M^T y >= 1} that does not depend on the data e. P is pointed
and e >= 0, so the minimum is attained at a vertex of P: with V the vertices (computed once per
system, by the double-description method of cddlib through ``pycddlib``),

    NCF(e) = min_v e.v,   CF(e) = 1 - NCF(e),

exactly, for any number of empirical models of the same system: one matrix product. The CHSH
scenario has 132 vertices and the rank-6 cyclic scenario 922. ``pycddlib`` is optional (the
``bench`` and ``dev`` extras, through the ``contextuality`` package); without it use
:func:`probe.analysis.bell.lp.contextual_fraction_batch`.
"""

from __future__ import annotations

import numpy as np

from probe._types import FloatArray
from probe.analysis.bell.lp import global_incidence
from probe.analysis.bell.system import ContextSystem
from probe.errors import DataError, MissingDependency


def dual_vertices(system: ContextSystem) -> FloatArray:
    """Vertices of {y >= 0 : M^T y >= 1}, shape (n_vertices, n_rows); needs ``pycddlib``."""
    try:
        import cdd
    except ImportError:
        raise MissingDependency("the vectorised contextual fraction needs pycddlib",
                                hint="pip install pycddlib (it builds against libcdd: apt-get install libcdd-dev), "
                                     "or use lp.contextual_fraction_batch") from None
    m = global_incidence(system).toarray()
    rows, cols = m.shape
    # cdd's H-representation: each row [b, A] means b + A y >= 0
    h = np.vstack([np.hstack([np.zeros((rows, 1)), np.eye(rows)]), np.hstack([-np.ones((cols, 1)), m.T])])
    poly = cdd.polyhedron_from_matrix(cdd.matrix_from_array(h.tolist(), rep_type=cdd.RepType.INEQUALITY))
    gen = np.array(cdd.copy_generators(poly).array, dtype=float)
    vertices = gen[gen[:, 0] == 1][:, 1:]
    if not len(vertices):
        raise DataError("the dual CF polytope has no vertex (numerical failure in cddlib)")
    return vertices


def contextual_fraction_vectorised(probs: FloatArray, vertices: FloatArray, *, chunk: int = 100_000) -> FloatArray:
    """CF of each row of ``probs`` (n_systems, n_rows; per-context normalised), CF = 1 - min_v e.v."""
    p = np.asarray(probs, dtype=float)
    out = np.empty(p.shape[0])
    vt = np.ascontiguousarray(vertices.T)
    for start in range(0, p.shape[0], chunk):
        out[start:start + chunk] = 1 - (p[start:start + chunk] @ vt).min(axis=1)
    out[out < 1e-12] = 0.0
    return out
