"""Quantum kernels: fidelity and projected kernels, kernel-target alignment, concentration.

Batched the way a statevector simulator should be: one state per sample
(a single batched :func:`probe.quantum.statevector` call), then a Gram product,
never one circuit per pair. For n samples on q qubits that is n states of 2^q
amplitudes and one (n x 2^q) @ (2^q x m) matrix product.

Feature maps (``feature_map=``):

- ``"angle"``: RY(x_i) on wire i (product state); K = Π_i cos²((x_i − x'_i)/2).
- ``"zz"``: the ZZ feature map of Havlíček et al. (2019, arXiv:1804.11326) as in
  qiskit's ``ZZFeatureMap`` (full entanglement, ``reps`` repetitions).
- ``"amplitude"``: x / ‖x‖ as amplitudes (zero-padded to 2^q); K = (x·x')² / (‖x‖²‖x'‖²).
- ``"angle-ring"``: angle encoding followed by ``reps`` ring layers of CNOTs with
  data re-uploading (RY(x_i) again after each ring), an entangling map without
  trainable weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray, Seed
from probe.errors import DataError
from probe.qsim import (
    Circuit,
    amplitude_encoding,
    angle_encoding,
    reduced_density_matrix,
    statevector,
    zz_angles,
    zz_feature_map,
)

FEATURE_MAPS = ("angle", "zz", "amplitude", "angle-ring")


def _check_features(x: ArrayLike, name: str = "x") -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise DataError(f"{name} must have shape (n_samples, n_features), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains NaN or infinite values")
    return a


def _ring_reupload(n: int, reps: int) -> Circuit:
    c = Circuit(n)
    for r in range(reps + 1):
        for w in range(n):
            c.ry(w, param=w)  # every layer re-reads feature w from slot w
        if r < reps and n > 1:
            for w in range(n):
                c.cnot(w, (w + 1) % n)
    return c


def _walsh_hadamard(psi: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """H on every qubit of a batch of states (B, 2^q): q butterfly passes, no 2^q x 2^q matrix."""
    b = psi.shape[0]
    for k in range(n_qubits):
        x = psi.reshape(b, 2**k, 2, 2 ** (n_qubits - k - 1))
        psi = torch.stack((x[:, :, 0] + x[:, :, 1], x[:, :, 0] - x[:, :, 1]), dim=2).reshape(b, -1)
    return psi * 2 ** (-n_qubits / 2)


def _zz_states_diagonal(x: torch.Tensor, reps: int) -> torch.Tensor:
    """ZZ feature map as (D(x) H^⊗q)^reps |0⟩ with the diagonal phase written out.

    Within a repetition every gate after the Hadamards is diagonal: PHASE(2x_i)
    on wire i gives e^{i 2 x_i b_i}, and CNOT(i,j) PHASE(φ_ij) CNOT(i,j) gives
    e^{i φ_ij (b_i XOR b_j)}, φ_ij = 2(π − x_i)(π − x_j). So a repetition is one
    Walsh-Hadamard transform and one elementwise phase; checked against the gate
    circuit (and qiskit) in the tests.
    """
    n_samples, q = x.shape
    index = torch.arange(2**q)
    bits = ((index[:, None] >> (q - 1 - torch.arange(q))[None, :]) & 1).to(torch.float64)  # wire 0 = MSB
    phase = 2 * x @ bits.T
    if q > 1:
        i, j = torch.triu_indices(q, q, offset=1)
        parity = (bits[:, i] != bits[:, j]).to(torch.float64)  # (2^q, pairs)
        phase = phase + (2 * (torch.pi - x[:, i]) * (torch.pi - x[:, j])) @ parity.T
    diag = torch.polar(torch.ones_like(phase), phase)
    psi = torch.full((n_samples, 2**q), 2 ** (-q / 2), dtype=torch.complex128) * diag
    for _ in range(reps - 1):
        psi = _walsh_hadamard(psi, q) * diag
    return psi


def feature_states(x: ArrayLike, *, feature_map: str = "angle", reps: int = 2,
                   method: str = "auto") -> torch.Tensor:
    """Statevectors |φ(x)⟩ of every sample, shape (n_samples, 2^q), complex128.

    Parameters
    ----------
    x : array-like, shape (n_samples, n_features)
        Features (radians for angle-type maps; any scale for amplitude).
    feature_map : {"angle", "zz", "amplitude", "angle-ring"}
    reps : int
        Repetitions of the ZZ map / ring layers of "angle-ring".
    method : {"auto", "circuit", "diagonal"}
        "circuit" runs the gate circuit on :func:`probe.quantum.statevector`;
        "diagonal" (ZZ map only; the "auto" choice for it) writes each repetition
        as Walsh-Hadamard + diagonal phase, the same state 10-100x faster.
    """
    a = _check_features(x)
    n_features = a.shape[1]
    t = torch.as_tensor(a)
    if method not in ("auto", "circuit", "diagonal"):
        raise DataError(f"method must be 'auto', 'circuit' or 'diagonal', got {method!r}")
    if method == "diagonal" and feature_map != "zz":
        raise DataError(f"the diagonal method exists for the zz feature map only, not {feature_map!r}")
    if feature_map == "angle":
        return statevector(angle_encoding(n_features), t)
    if feature_map == "zz":
        if reps < 1:
            raise DataError(f"reps must be >= 1, got {reps}")
        if method == "circuit":
            return statevector(zz_feature_map(n_features, reps), zz_angles(t, reps))
        return _zz_states_diagonal(t, reps)
    if feature_map == "angle-ring":
        return statevector(_ring_reupload(n_features, reps), t)
    if feature_map == "amplitude":
        return amplitude_encoding(t)
    raise DataError(f"unknown feature map {feature_map!r}", hint=f"use one of {', '.join(FEATURE_MAPS)}")


def n_qubits_for(n_features: int, feature_map: str) -> int:
    """Qubits a feature map needs for ``n_features`` features."""
    return max(1, (n_features - 1).bit_length()) if feature_map == "amplitude" else n_features


def fidelity_kernel(x: ArrayLike, y: ArrayLike | None = None, *, feature_map: str = "angle",
                    reps: int = 2, method: str = "auto") -> FloatArray:
    """Fidelity kernel K_ij = |⟨φ(x_i)|φ(y_j)⟩|², shape (n_x, n_y).

    Notes
    -----
    Exact (statevector) kernel, so K is symmetric positive semi-definite with a
    unit diagonal when ``y`` is None (up to rounding, ~1e-15).

    References
    ----------
    Havlíček, V. et al. (2019). Supervised learning with quantum-enhanced feature
    spaces. Nature 567, 209-212, arXiv:1804.11326.
    Schuld, M. & Killoran, N. (2019). Quantum machine learning in feature Hilbert
    spaces. PRL 122, 040504, arXiv:1803.07128.

    Examples
    --------
    >>> k = fidelity_kernel([[0.0], [np.pi / 2]])
    >>> round(float(k[0, 1]), 12)   # cos²(π/4)
    0.5
    """
    psi_x = feature_states(x, feature_map=feature_map, reps=reps, method=method)
    psi_y = psi_x if y is None else feature_states(y, feature_map=feature_map, reps=reps, method=method)
    if psi_x.shape[1] != psi_y.shape[1]:
        raise DataError(f"x and y encode to {psi_x.shape[1]} and {psi_y.shape[1]} amplitudes; "
                        "they need the same number of features")
    overlaps = psi_x.conj() @ psi_y.T
    k = (overlaps.real**2 + overlaps.imag**2).numpy()
    if y is None:
        k = (k + k.T) / 2  # symmetric to the last bit
        np.fill_diagonal(k, 1.0)
    return k


def projected_kernel(x: ArrayLike, y: ArrayLike | None = None, *, gamma: float = 1.0, feature_map: str = "angle",
                     reps: int = 2) -> FloatArray:
    """Projected quantum kernel exp(−γ Σ_k ‖ρ_k(x) − ρ_k(y)‖_F²) over one-qubit reduced states ρ_k.

    References
    ----------
    Huang, H.-Y. et al. (2021). Power of data in quantum machine learning.
    Nat. Commun. 12, 2631, arXiv:2011.01938 (eq. for the projected quantum kernel).
    """
    if gamma <= 0:
        raise DataError(f"gamma must be positive, got {gamma}")
    fx = _one_qubit_blocks(feature_states(x, feature_map=feature_map, reps=reps))
    fy = fx if y is None else _one_qubit_blocks(feature_states(y, feature_map=feature_map, reps=reps))
    # ‖ρ - σ‖_F² = Σ |entries|²; flatten the q one-qubit 2x2 blocks into one real vector per sample
    d2 = (fx**2).sum(1)[:, None] + (fy**2).sum(1)[None, :] - 2 * fx @ fy.T
    return np.exp(-gamma * np.clip(d2, 0.0, None))


def _one_qubit_blocks(states: torch.Tensor) -> FloatArray:
    n = int(states.shape[1]).bit_length() - 1
    blocks = [reduced_density_matrix(states, [k]) for k in range(n)]
    flat = torch.cat([torch.view_as_real(b).reshape(states.shape[0], -1) for b in blocks], dim=1)
    return flat.numpy()


# --------------------------------------------------------------------------- diagnostics


def kernel_target_alignment(k: ArrayLike, y: ArrayLike) -> float:
    """Kernel-target alignment A = ⟨K, T⟩_F / (‖K‖_F ‖T‖_F) with the ideal kernel T.

    T_ij = 1 when y_i = y_j and −1/(C−1) otherwise (C classes); for two classes
    this is T = y yᵀ with labels ±1, the definition of Cristianini et al. and
    PennyLane's ``qml.kernels.target_alignment`` (without label rescaling).

    References
    ----------
    Cristianini, N., Shawe-Taylor, J., Elisseeff, A. & Kandola, J. (2002). On
    kernel-target alignment. NeurIPS 14.
    """
    km = np.asarray(k, dtype=np.float64)
    labels = np.asarray(y)
    if km.ndim != 2 or km.shape[0] != km.shape[1] or km.shape[0] != labels.shape[0]:
        raise DataError(f"kernel must be square with one row per label: {km.shape} vs {labels.shape[0]} labels")
    classes = np.unique(labels)
    if classes.size < 2:
        raise DataError("kernel-target alignment needs at least two classes")
    same = labels[:, None] == labels[None, :]
    t = np.where(same, 1.0, -1.0 / (classes.size - 1))
    return float((km * t).sum() / (np.linalg.norm(km) * np.linalg.norm(t)))


@dataclass(frozen=True, slots=True)
class KernelStats:
    """Concentration and conditioning of a Gram matrix (off-diagonal entries)."""

    mean_offdiag: float
    var_offdiag: float
    """Variance of the off-diagonal entries: exponentially small for a concentrated kernel."""
    min_eigenvalue: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])


def kernel_concentration(k: ArrayLike) -> KernelStats:
    """Mean and variance of the off-diagonal kernel values, and the smallest eigenvalue.

    Notes
    -----
    A fidelity kernel of an expressive feature map concentrates: off-diagonal
    values approach 1/2^q with variance shrinking exponentially in q, so a finite
    number of shots cannot tell the samples apart and the model cannot learn
    (Thanasilp, Wang, Cerezo & Holmes 2022, arXiv:2208.11060). For Haar-random
    states E[K] = 1/2^q.
    """
    km = np.asarray(k, dtype=np.float64)
    if km.ndim != 2 or km.shape[0] != km.shape[1] or km.shape[0] < 2:
        raise DataError(f"kernel must be a square matrix of at least 2x2, got {km.shape}")
    off = km[~np.eye(km.shape[0], dtype=bool)]
    return KernelStats(float(off.mean()), float(off.var()), float(np.linalg.eigvalsh((km + km.T) / 2)[0]),
                       int(km.shape[0]))


def shot_kernel(k: ArrayLike, *, shots: int, seed: Seed = None) -> FloatArray:
    """The kernel a device would estimate with ``shots`` measurements per entry.

    Each off-diagonal entry becomes Binomial(shots, K_ij)/shots (the probability
    of the all-zero outcome of U(x)†U(x') estimated from counts); the diagonal
    stays 1. Unbiased, but no longer PSD in general: see :func:`nearest_psd`.
    """
    km = np.asarray(k, dtype=np.float64)
    if shots < 1:
        raise DataError(f"shots must be >= 1, got {shots}")
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(km.shape[0], 1)
    out = np.eye(km.shape[0])
    out[iu] = rng.binomial(shots, np.clip(km[iu], 0.0, 1.0)) / shots
    return out + np.triu(out, 1).T


def nearest_psd(k: ArrayLike) -> tuple[FloatArray, float]:
    """Clip negative eigenvalues to zero (Frobenius-nearest PSD matrix); returns (K_psd, ‖K − K_psd‖_F)."""
    km = np.asarray(k, dtype=np.float64)
    vals, vecs = np.linalg.eigh((km + km.T) / 2)
    fixed = (vecs * np.clip(vals, 0.0, None)) @ vecs.T
    return fixed, float(np.linalg.norm(km - fixed))


def haar_kernel_mean(n_qubits: int) -> float:
    """E|⟨ψ|φ⟩|² for independent Haar-random states: 1/2^q (the concentration floor)."""
    return 2.0**-n_qubits
