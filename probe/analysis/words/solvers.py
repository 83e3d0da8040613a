"""Numerical solvers behind :func:`probe.analysis.words.fits.fit_occupation`.

Each solver returns ``(alpha, beta, converged, message, iterations)`` with
``alpha = ln A`` and ``beta = 1/B``:

* ``constraint``: damped Newton ascent of the concave independent-modes log-likelihood in
  (alpha, beta); its score equations are the papers' two constraints (total words,
  total energy). Energies are scaled to [0, 1] for conditioning.
* ``ml``: the same likelihood by L-BFGS from an independent starting point (a check).
* ``lsq-log`` / ``lsq``: Levenberg-Marquardt least squares on log / raw counts.

Unconstrained parameters for the general optimisers: BE uses
``(ln(alpha + beta E_min), ln beta)`` so that ``A e^{E/B} > 1`` on every level; MB uses
``(alpha, ln beta)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize

from probe._types import FloatArray

if TYPE_CHECKING:
    from probe.analysis.words.fits import Levels


def solve_alpha_beta(levels: Levels, model: str, method: str, *, tol: float = 1e-10, max_iter: int = 200,
                     start: tuple[float, float] | None = None) -> tuple[float, float, bool, str, int]:
    """The bare solver behind :func:`fit_occupation`: ``(ln A, 1/B, converged, message, iterations)``.

    ``start`` = (ln A, 1/B) warm-starts the ``constraint`` solver (used by the bootstrap);
    no validation, no goodness of fit.
    """
    e, n, w = levels.energy, levels.counts, levels.weight
    if method == "constraint":
        out = _newton(e, n, w, model, tol=tol, max_iter=max_iter, start=start)
    else:
        out = {"ml": _ml_general, "lsq-log": _lsq_log, "lsq": _lsq_raw}[method](e, n, w, model, tol=tol,
                                                                              max_iter=max_iter)
    alpha, beta, ok, message, n_iter = out
    if ok and not (np.isfinite(alpha) and np.isfinite(beta) and beta > 0):
        ok, message = False, "no finite positive temperature B (counts do not fall with energy)"
    return alpha, beta, ok, message, n_iter


# --- solvers: each returns (alpha = ln A, beta = 1/B, ok, message, iterations) ----------------

def _mean_var(model: str, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    if model == "be":
        m = 1.0 / np.expm1(z)
        return m, m * (m + 1.0)
    m = np.exp(-z)
    return m, m


def _modes_ll(model: str, z: FloatArray, n: FloatArray, w: FloatArray) -> float:
    """Modes log-likelihood without the data-only term (-log n! for MB)."""
    if model == "be":
        if np.any(z <= 0):
            return -np.inf
        return float(np.sum(w * (-n * z + np.log(-np.expm1(-z)))))
    return float(np.sum(w * (-n * z - np.exp(-z))))


def _start(e: FloatArray, n: FloatArray, w: FloatArray, model: str) -> tuple[float, float]:
    """Starting (alpha, beta) in scaled energy units: beta from the mean energy, alpha from N or n_top."""
    N = float(inner(w, n))
    beta = 1.0 / max(float(inner(w, e * n)) / N, 1e-3)
    if model == "be":
        return float(np.log1p(1.0 / n.max())), beta
    return float(np.log(inner(w, np.exp(-beta * e)) / N)), beta


def _newton(e_raw, n, w, model, *, tol, max_iter, start=None):  # type: ignore[no-untyped-def]
    """Damped Newton ascent of the concave modes log-likelihood in (alpha, beta).

    The data enter only through N = sum w n and E_tot = sum w E n (the constraints), so
    an iteration costs a few passes over the levels. ``start`` = (alpha, beta) warm-starts.
    """
    return newton_from_stats(e_raw, w, float(inner(w, n)), float(inner(w, e_raw * n)), float(n.max()), model,
                             tol=tol, max_iter=max_iter, start=start)


def newton_from_stats(e_raw, w, N, Et_raw, n_top, model, *, tol, max_iter, start=None):  # type: ignore[no-untyped-def]
    """:func:`_newton` from the sufficient statistics: level energies and weights, N, E_tot, top count."""
    scale = max(float(e_raw.max()), 1.0)  # energies scaled to ~[0, 1] for conditioning
    e = e_raw / scale
    unit = w is None or bool(np.all(w == 1.0))
    Et = Et_raw / scale
    if start is not None:
        alpha, beta = float(start[0]), float(start[1]) * scale
    else:
        beta = 1.0 / max(Et / N, 1e-3)
        alpha = float(np.log1p(1.0 / n_top)) if model == "be" else float(np.log(_wsum(w, np.exp(-beta * e)) / N))

    def loglik(a: float, b: float) -> float:
        z = a + b * e
        if model == "be":
            if z[0] <= 0 or z[-1] <= 0:  # z is linear in e and e is sorted
                return -np.inf
            t = np.log(-np.expm1(-z))
        else:
            t = -np.exp(-z)
        return -a * N - b * Et + float(t.sum() if unit else inner(w, t))

    def score(a: float, b: float) -> tuple[FloatArray, FloatArray, float]:
        """Gradient (= constraint residuals), the weighted variances, and the scaled residual size."""
        m, v = _mean_var(model, a + b * e)
        wm, wv = (m, v) if unit else (w * m, w * v)  # type: ignore[operator]
        g = np.array([wm.sum() - N, inner(wm, e) - Et])
        return g, wv, max(abs(g[0]) / N, abs(g[1]) / max(Et, 1e-300))

    g, wv, size = score(alpha, beta)
    ll = None
    for it in range(1, max_iter + 1):
        if size <= tol:
            return alpha, beta / scale, True, "constraints met", it
        ve = inner(wv, e)
        F = np.array([[wv.sum(), ve], [ve, inner(wv, e * e)]])
        try:
            step = np.linalg.solve(F, g)
        except np.linalg.LinAlgError:
            return alpha, beta / scale, False, "singular information matrix", it
        # Cheap path: take the full Newton step if it is feasible and shrinks the residuals.
        a2, b2 = alpha + step[0], beta + step[1]
        if model == "mb" or (a2 + b2 * e[0] > 0 and a2 + b2 * e[-1] > 0):
            g2, wv2, size2 = score(a2, b2)
            if size2 < size:
                alpha, beta, g, wv, size, ll = a2, b2, g2, wv2, size2, None
                continue
        # Otherwise an Armijo backtracking search on the concave log-likelihood.
        ll = loglik(alpha, beta) if ll is None else ll
        t, slope = 1.0, float(g @ step)
        while t > 1e-12:
            a2, b2 = alpha + t * step[0], beta + t * step[1]
            ll2 = loglik(a2, b2)
            if ll2 >= ll + 1e-4 * t * slope or (t < 1e-6 and ll2 >= ll):
                break
            t *= 0.5
        else:
            if size <= 1e-7:
                return alpha, beta / scale, True, "constraints met to rounding", it
            return alpha, beta / scale, False, "line search failed", it
        alpha, beta, ll = a2, b2, ll2
        g, wv, size = score(alpha, beta)
    return alpha, beta / scale, False, f"no convergence in {max_iter} Newton steps", max_iter


def inner(a: FloatArray, b: FloatArray) -> float:
    """Inner product without BLAS: OpenBLAS threads on a busy machine make a 30k-element
    ``np.dot`` take milliseconds instead of microseconds."""
    return float(np.multiply(a, b).sum())


def _wsum(w: FloatArray | None, x: FloatArray) -> float:
    return float(x.sum() if w is None else inner(w, x))


def _to_params(model: str, alpha: float, beta: float, e_min: float) -> FloatArray:
    """Unconstrained parameters: BE (ln(alpha + beta e_min), ln beta); MB (alpha, ln beta)."""
    beta = max(beta, 1e-300)
    if model == "be":
        return np.array([np.log(max(alpha + beta * e_min, 1e-300)), np.log(beta)])
    return np.array([alpha, np.log(beta)])


def _z_and_grad(model: str, p: FloatArray, e: FloatArray, e_min: float) -> tuple[FloatArray, FloatArray]:
    beta = np.exp(p[1])
    if model == "be":
        z = np.exp(p[0]) + beta * (e - e_min)
        return z, np.vstack([np.full_like(e, np.exp(p[0])), beta * (e - e_min)])
    return p[0] + beta * e, np.vstack([np.ones_like(e), beta * e])


def _from_params(model: str, p: FloatArray, e_min: float) -> tuple[float, float]:
    beta = float(np.exp(p[1]))
    alpha = float(np.exp(p[0]) - beta * e_min) if model == "be" else float(p[0])
    return alpha, beta


def _initial(e, n, w, model):  # type: ignore[no-untyped-def]
    alpha, beta, ok, *_ = _newton(e, n, w, model, tol=1e-8, max_iter=100)
    if not ok or beta <= 0:
        scale = max(float(e.max()), 1.0)
        alpha, b = _start(e / scale, n, w, model)
        beta = b / scale
    return _to_params(model, alpha, beta, float(e.min()))


def _ml_general(e, n, w, model, *, tol, max_iter):  # type: ignore[no-untyped-def]
    e_min = float(e.min())
    scale = max(float(e.max()), 1.0)
    a0, b0 = _start(e / scale, n, w, model)  # not the Newton answer: an independent route
    x0 = _to_params(model, a0, b0 / scale, e_min)

    def negll(p: FloatArray) -> tuple[float, FloatArray]:
        z, dz = _z_and_grad(model, p, e, e_min)
        if model == "be" and np.any(z <= 0):
            return np.inf, np.zeros(2)
        m, _ = _mean_var(model, z)
        return -_modes_ll(model, z, n, w), -(dz @ (w * (m - n)))

    res = optimize.minimize(negll, x0, jac=True, method="L-BFGS-B",
                            options={"maxiter": max_iter * 10, "ftol": tol * 1e-3, "gtol": 1e-10})
    alpha, beta = _from_params(model, res.x, e_min)
    return alpha, beta, bool(res.success), str(res.message), int(res.nit)


def _lsq(e, n, w, model, *, tol, max_iter, log):  # type: ignore[no-untyped-def]
    e_min = float(e.min())
    keep = n > 0 if log else np.ones(n.shape, dtype=bool)
    ek, nk, sw = e[keep], n[keep], np.sqrt(w[keep])
    target = np.log(nk) if log else nk

    def residual(p: FloatArray) -> FloatArray:
        z, _ = _z_and_grad(model, p, ek, e_min)
        m, _ = _mean_var(model, np.maximum(z, 1e-300) if model == "be" else z)
        return sw * ((np.log(m) if log else m) - target)

    def jac(p: FloatArray) -> FloatArray:
        z, dz = _z_and_grad(model, p, ek, e_min)
        m, v = _mean_var(model, np.maximum(z, 1e-300) if model == "be" else z)
        d = -v / m if log else -v  # d(log m)/dz or dm/dz
        return (sw * d)[:, None] * dz.T

    res = optimize.least_squares(residual, _initial(e, n, w, model), jac=jac, method="lm",
                                 xtol=tol, ftol=tol, max_nfev=max_iter * 20)
    alpha, beta = _from_params(model, res.x, e_min)
    return alpha, beta, bool(res.success), str(res.message), int(res.nfev)


def _lsq_log(e, n, w, model, *, tol, max_iter):  # type: ignore[no-untyped-def]
    return _lsq(e, n, w, model, tol=tol, max_iter=max_iter, log=True)


def _lsq_raw(e, n, w, model, *, tol, max_iter):  # type: ignore[no-untyped-def]
    return _lsq(e, n, w, model, tol=tol, max_iter=max_iter, log=False)
