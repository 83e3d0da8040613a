"""Entangling and disentangling power of a bipartite unitary (Zanardi) and its capacities (Linden–Smolin–Winter).

Definitions (linear entropy ``E(ψ) = 1 − tr ρ_A²``; averages over Haar-random
single-party states ``|a⟩, |b⟩``):

- entangling power ``e_p(U) = E_{a,b} E(U|a⟩|b⟩)`` (Zanardi, Zalka & Faoro 2000,
  PRA 62, 030301, arXiv:quant-ph/0005031). Computed exactly from the Haar second
  moments ``E[(|a⟩⟨a|)^{⊗2}] = (I + F_A) / (d_A(d_A+1))``:
  ``e_p = 1 − [d_A d_B² + d_A² d_B + T_A(U) + T_B(U)] / (d_A(d_A+1) d_B(d_B+1))`` with
  ``T_A = tr[U^{⊗2} F_A U^{†⊗2} F_A]`` and ``T_B = tr[U^{⊗2} F_B U^{†⊗2} F_A]``, each a
  trace of the square of a d² x d² partial contraction of ``U ⊗ U*`` (never a
  (d_A d_B)² matrix). Normalisation: CNOT = 2/9, the two-qubit maximum; SWAP = 0; I = 0.
- disentangling power ``d_p(U) = E_{a,b} E(U†|a⟩|b⟩)``: the mean linear entropy of the
  states that U maps *onto* product states, i.e. the entanglement U removes from
  them. probe's convention, chosen so that CNOT = 2/9 like ``e_p``; note that
  ``e_p(U†) = e_p(U)`` for this Haar-averaged measure, so the averages are always
  equal and cannot separate entangling from disentangling (Daskin 2025,
  arXiv:2505.06774, uses the capacities below for that).
- entangling capacity ``max_ψ [S(Uψ) − S(ψ)]`` and disentangling capacity
  ``max_ψ [S(ψ) − S(Uψ)]`` (von Neumann entropy in ebits; Linden, Smolin & Winter
  2009, PRL 103, 030501, arXiv:quant-ph/0511217), found by multistart L-BFGS over
  input states, optionally with local ancillas. They are equal for two-qubit gates
  (LSW) and can differ in larger dimensions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from probe._results import jsonable
from probe.errors import DataError
from probe.qsim.validation import check_power_of_two, check_unitary

__all__ = [
    "PowerResult",
    "disentangling_power",
    "entangling_capacity",
    "entangling_power",
    "entangling_power_mc",
    "gate_invariants",
    "named_unitary",
    "operator_entanglement",
    "power",
]

SQRT_SWAP = np.array([[1, 0, 0, 0], [0, (1 + 1j) / 2, (1 - 1j) / 2, 0], [0, (1 - 1j) / 2, (1 + 1j) / 2, 0], [0, 0, 0, 1]])


def _dims(u: np.ndarray, dims: tuple[int, int] | None) -> tuple[int, int]:
    d = u.shape[0]
    if dims is None:
        n = check_power_of_two(d, name="unitary")
        if n % 2:
            raise DataError(f"a {d}x{d} unitary has an odd number of qubits ({n}); say where to cut",
                            hint="pass dims=(d_A, d_B) (CLI: --cut K for the first K qubits)")
        return 2 ** (n // 2), 2 ** (n // 2)
    da, db = int(dims[0]), int(dims[1])
    if da < 2 or db < 2 or da * db != d:
        raise DataError(f"dims {dims} do not factor the {d}x{d} unitary", hint="d_A * d_B must equal its size")
    return da, db


def _prepare(u: Any, dims: tuple[int, int] | None) -> tuple[np.ndarray, int, int]:
    m = check_unitary(u, name="unitary", atol=1e-8)
    da, db = _dims(m, dims)
    return m, da, db


def entangling_power(u: Any, dims: tuple[int, int] | None = None) -> float:
    """Zanardi entangling power ``e_p(U)`` (exact; linear entropy; CNOT = 2/9).

    Parameters
    ----------
    u : array-like of shape (d_A d_B, d_A d_B)
        Unitary on A ⊗ B (A is the more significant factor).
    dims : (d_A, d_B), optional
        Default: an even split of the qubits.

    Examples
    --------
    >>> round(entangling_power(named_unitary("CNOT")), 12)
    0.222222222222
    """
    m, da, db = _prepare(u, dims)
    return _ep(m, da, db)


def _ep(m: np.ndarray, da: int, db: int) -> float:
    t = m.reshape(da, db, da, db)  # [a, b, x, y] = <a b| U |x y>
    r1 = np.einsum("abxy,adxw->bydw", t, t.conj(), optimize=True).reshape(db * db, db * db)
    r2 = np.einsum("abxy,adzy->bxdz", t, t.conj(), optimize=True).reshape(db * da, db * da)
    t_a = np.einsum("ij,ji->", r1, r1).real
    t_b = np.einsum("ij,ji->", r2, r2).real
    mean_purity = (da * db * db + da * da * db + t_a + t_b) / (da * (da + 1) * db * (db + 1))
    return float(1 - mean_purity)


def disentangling_power(u: Any, dims: tuple[int, int] | None = None) -> float:
    """``e_p(U†)``: mean linear entropy of the states U maps onto product states (see module notes)."""
    m, da, db = _prepare(u, dims)
    return _ep(m.conj().T, da, db)


def operator_entanglement(u: Any, dims: tuple[int, int] | None = None) -> float:
    """Operator entanglement ``E(U) = 1 − Σ λ_i²`` from the operator-Schmidt decomposition (Zanardi 2001).

    ``λ_i = s_i² / Σ s_j²`` with s the singular values of the realigned matrix
    ``R_{(a x),(b y)} = U_{(a b),(x y)}``. For d_A = d_B = d, Zanardi (2001, PRA 63,
    040304, arXiv:quant-ph/0010074): ``e_p(U) = (d/(d+1))² [E(U) + E(U S) − E(S)]``.
    """
    m, da, db = _prepare(u, dims)
    r = m.reshape(da, db, da, db).transpose(0, 2, 1, 3).reshape(da * da, db * db)
    s2 = np.linalg.svd(r, compute_uv=False) ** 2
    lam = s2 / s2.sum()
    return float(1 - (lam**2).sum())


def gate_invariants(u: Any) -> tuple[complex, float]:
    """Makhlin local invariants (G1, G2) of a two-qubit gate (Makhlin 2002, arXiv:quant-ph/0002045).

    With the magic basis Q and ``m = (Q†UQ)^T (Q†UQ)``: ``G1 = tr²(m) / (16 det U)``,
    ``G2 = (tr²(m) − tr(m²)) / (4 det U)``. Balakrishnan & Sankaranarayanan (2010):
    ``e_p = (2/9)(1 − |G1|)``. CNOT: G1 = 0, G2 = 1; SWAP: G1 = −1, G2 = −3; I: (1, 3).
    """
    m0 = check_unitary(u, name="unitary", atol=1e-8)
    if m0.shape != (4, 4):
        raise DataError(f"gate invariants are for two-qubit gates (4x4); got {m0.shape}")
    q = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]]) / math.sqrt(2)
    ub = q.conj().T @ m0 @ q
    m = ub.T @ ub
    det = np.linalg.det(m0)
    tr = np.trace(m)
    g1 = complex(tr**2 / (16 * det))
    g2 = float(((tr**2 - np.trace(m @ m)) / (4 * det)).real)
    return g1, g2


def entangling_power_mc(u: Any, dims: tuple[int, int] | None = None, *, samples: int = 4000,
                        seed: int | np.random.Generator | None = None) -> tuple[float, float]:
    """Monte Carlo ``e_p`` over ``samples`` Haar-random product inputs: (mean, standard error)."""
    m, da, db = _prepare(u, dims)
    rng = np.random.default_rng(seed)

    def haar(d: int) -> np.ndarray:
        v = rng.normal(size=(samples, d)) + 1j * rng.normal(size=(samples, d))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    a, b = haar(da), haar(db)
    psi = (a[:, :, None] * b[:, None, :]).reshape(samples, da * db) @ m.T
    rho = np.einsum("sab,scb->sac", psi.reshape(samples, da, db), psi.reshape(samples, da, db).conj())
    e = 1 - np.einsum("sac,sca->s", rho, rho).real
    return float(e.mean()), float(e.std(ddof=1) / math.sqrt(samples))


def entangling_capacity(u: Any, dims: tuple[int, int] | None = None, *, direction: str = "entangle",
                        ancilla: tuple[int, int] = (1, 1), starts: int = 16,
                        seed: int | np.random.Generator | None = None) -> tuple[float, float]:
    """Largest entanglement change ``S(Uψ) − S(ψ)`` (``direction="entangle"``) or
    ``S(ψ) − S(Uψ)`` (``"disentangle"``), in ebits, over input states ψ.

    Parameters
    ----------
    ancilla : (d_A', d_B')
        Local ancilla dimensions attached to A and B (Linden, Smolin & Winter allow them);
        default none.
    starts : int
        Random starts of L-BFGS (each from a Haar-random state).

    Returns
    -------
    (best, spread) : the maximum found, and the difference between the best and the
        median start (a small spread means the optimum is found reliably).

    Notes
    -----
    A numerical maximisation: the value is a lower bound on the true supremum.
    CNOT: 1 ebit both ways; SWAP: 0 without ancillas.
    """
    m, da, db = _prepare(u, dims)
    if direction not in ("entangle", "disentangle"):
        raise DataError(f"direction must be 'entangle' or 'disentangle'; got {direction!r}")
    if starts < 1:
        raise DataError(f"starts must be >= 1; got {starts}")
    if direction == "disentangle":
        m = m.conj().T  # max S(ψ) − S(Uψ) = max over φ = Uψ of S(U†φ) − S(φ)
    xa, xb = int(ancilla[0]), int(ancilla[1])
    if xa < 1 or xb < 1:
        raise DataError(f"ancilla dimensions must be >= 1; got {ancilla}")
    from probe.qsim.simulator import threads_for

    with threads_for(0):
        return _capacity(m, da, db, xa, xb, starts, seed)


def _capacity(m: np.ndarray, da: int, db: int, xa: int, xb: int, starts: int,
              seed: int | np.random.Generator | None) -> tuple[float, float]:
    ut = torch.as_tensor(np.array(m.reshape(da, db, da, db)))
    gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**62)))
    dim = da * xa * db * xb
    best = []
    for _ in range(starts):
        v = torch.randn(2, dim, dtype=torch.float64, generator=gen).requires_grad_(True)
        opt = torch.optim.LBFGS([v], max_iter=200, tolerance_grad=1e-10, tolerance_change=1e-12,
                                line_search_fn="strong_wolfe")

        def objective(v: torch.Tensor = v) -> torch.Tensor:
            psi = torch.complex(v[0], v[1])
            psi = (psi / torch.linalg.vector_norm(psi)).reshape(da, xa, db, xb)
            out = torch.einsum("abxy,xpyq->apbq", ut, psi)
            return -(_entropy(out, da * xa) - _entropy(psi, da * xa))

        def closure(opt: torch.optim.LBFGS = opt, objective: Any = objective) -> torch.Tensor:
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            best.append(-float(objective()))
    vals = np.array(best)
    return float(vals.max()), float(vals.max() - np.median(vals))


def _entropy(psi: torch.Tensor, d_left: int) -> torch.Tensor:
    """Entanglement entropy (bits) of a pure state split after the first ``d_left`` dimensions."""
    mat = psi.reshape(d_left, -1)
    rho = mat @ mat.mH
    ev = torch.linalg.eigvalsh(rho).clamp_min(1e-300)
    return -(ev * torch.log2(ev)).sum()


@dataclass(frozen=True, slots=True)
class PowerResult:
    """Entangling/disentangling power and capacities of one bipartite unitary."""

    entangling_power: float
    """Zanardi e_p (linear entropy, CNOT = 2/9)."""
    disentangling_power: float
    """e_p(U†), same normalisation (equal to e_p for this averaged measure)."""
    operator_entanglement: float
    dims: tuple[int, int]
    entangling_capacity: float | None
    """max_ψ S(Uψ) − S(ψ), ebits (numerical lower bound)."""
    disentangling_capacity: float | None
    """max_ψ S(ψ) − S(Uψ), ebits."""
    capacity_spread: tuple[float, float] | None
    """best − median over starts, for each capacity."""
    capacity_starts: int
    ancilla: tuple[int, int]
    mc_entangling_power: float
    mc_se: float
    mc_samples: int
    g1: complex | None = None
    g2: float | None = None
    qubit_maximum: float | None = None
    """2/9 for two-qubit gates (the largest e_p), else None."""

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, list | dict)}
        row["d_A"], row["d_B"] = self.dims
        return pd.DataFrame([row])


def power(u: Any, dims: tuple[int, int] | None = None, *, capacity_starts: int = 16,
          ancilla: tuple[int, int] = (1, 1), mc_samples: int = 4000,
          seed: int | np.random.Generator | None = None) -> PowerResult:
    """All power measures of ``u`` (see module notes); ``capacity_starts=0`` skips the capacities."""
    m, da, db = _prepare(u, dims)
    rng = np.random.default_rng(seed)
    mc, se = entangling_power_mc(m, (da, db), samples=mc_samples, seed=rng)
    ec = dc = None
    spread = None
    if capacity_starts > 0:
        ec, s1 = entangling_capacity(m, (da, db), direction="entangle", ancilla=ancilla,
                                     starts=capacity_starts, seed=rng)
        dc, s2 = entangling_capacity(m, (da, db), direction="disentangle", ancilla=ancilla,
                                     starts=capacity_starts, seed=rng)
        spread = (s1, s2)
    g1 = g2 = None
    if (da, db) == (2, 2):
        g1, g2 = gate_invariants(m)
    return PowerResult(
        entangling_power=_ep(m, da, db), disentangling_power=_ep(m.conj().T, da, db),
        operator_entanglement=operator_entanglement(m, (da, db)), dims=(da, db),
        entangling_capacity=ec, disentangling_capacity=dc, capacity_spread=spread,
        capacity_starts=capacity_starts, ancilla=(int(ancilla[0]), int(ancilla[1])),
        mc_entangling_power=mc, mc_se=se, mc_samples=mc_samples, g1=g1, g2=g2,
        qubit_maximum=2 / 9 if (da, db) == (2, 2) else None,
    )


def named_unitary(spec: str) -> np.ndarray:
    """A two-qubit unitary by name: any two-wire gate of :data:`probe.qsim.gates.GATES`
    (``CNOT``, ``CZ``, ``SWAP``, ``ISWAP``, ``CRX:1.57`` with an angle after a colon), or
    ``I`` / ``IDENTITY``, ``SQRTSWAP``, ``B`` (the Berkeley gate), ``DCNOT`` (CNOT(0,1)·CNOT(1,0))."""
    from probe.qsim.gates import GATES, gate_matrix

    name, _, arg = spec.partition(":")
    key = name.strip().upper()
    if key in ("I", "IDENTITY"):
        return np.eye(4, dtype=complex)
    if key == "SQRTSWAP":
        return SQRT_SWAP.astype(complex)
    if key == "B":  # exp[i(π/4 XX + π/8 YY)] (Zhang et al. 2004)
        from scipy.linalg import expm

        x = np.array([[0, 1], [1, 0]])
        y = np.array([[0, -1j], [1j, 0]])
        return expm(1j * (math.pi / 4 * np.kron(x, x) + math.pi / 8 * np.kron(y, y)))
    if key == "DCNOT":
        c = gate_matrix("CNOT").numpy()
        swap = gate_matrix("SWAP").numpy()
        return swap @ c @ swap @ c
    spec_ = GATES.get(key)
    if spec_ is None or spec_.n_wires != 2:
        two = sorted(k for k, s in GATES.items() if s.n_wires == 2)
        raise DataError(f"unknown two-qubit gate {name!r}",
                        hint=f"choose one of {', '.join([*two, 'I', 'SQRTSWAP', 'B', 'DCNOT'])}")
    if spec_.n_params:
        if not arg:
            raise DataError(f"gate {key} needs an angle, e.g. {key}:1.5708")
        try:
            theta = float(arg)
        except ValueError as exc:
            raise DataError(f"gate {key}: angle {arg!r} is not a number") from exc
        return gate_matrix(key, theta).numpy()
    if arg:
        raise DataError(f"gate {key} takes no angle; got {arg!r}")
    return gate_matrix(key).numpy()
