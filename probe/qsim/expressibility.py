"""Expressibility and entangling capability of parameterised circuits (Sim, Johnson & Aspuru-Guzik 2019).

Sim, Johnson & Aspuru-Guzik (2019), "Expressibility and entangling capability of
parameterized quantum circuits for hybrid quantum-classical algorithms", Adv.
Quantum Technol. 2, 1900070, arXiv:1905.10876.

Expressibility (lower = more expressive)
    ``Expr = D_KL(P̂_PQC(F) ‖ P_Haar(F))`` with ``F = |⟨ψ_θ|ψ_φ⟩|²`` for pairs of
    independent uniform parameter draws in [0, 2π), and
    ``P_Haar(F) = (N − 1)(1 − F)^{N−2}``, N = 2^n.
    Estimator (Sim et al.): a histogram of the sampled F on ``bins`` equal-width bins
    of [0, 1] (default 75, the last bin closed) and natural logs. probe takes the Haar
    bin masses exactly from the CDF ``1 − (1 − F)^{N−1}`` (in log space, so large N
    does not underflow) rather than from the density at bin centres.
    Known values of this estimator: an idle circuit (all F = 1) gives
    ``(N − 1) ln(bins)`` (one qubit: ln 75 = 4.317); exact Haar fidelities give a small
    positive floor of about ``(m − 1) / (2 · pairs)`` (m = occupied bins) because the
    plug-in KL is biased upward. probe reports the raw (paper-comparable) value, a
    Miller–Madow bias-corrected value ``raw − (m − 1)/(2 · pairs)``, a bootstrap
    standard error and 95 % percentile interval, and the expected raw value for exact
    Haar fidelities at the same sample size (``haar_reference``).

Entangling capability
    ``Ent = mean over uniform parameter draws of Q(ψ_θ)`` (Meyer–Wallach), with its
    standard error. A circuit without entanglers gives exactly 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from probe._results import jsonable
from probe.errors import DataError
from probe.qsim.circuit import Circuit
from probe.qsim.measures import meyer_wallach
from probe.qsim.simulator import statevector, threads_for

__all__ = [
    "CapabilityResult",
    "ExpressibilityResult",
    "LayerTable",
    "entangling_capability",
    "expressibility",
    "fidelity_samples",
    "haar_bin_logmass",
    "layer_table",
    "rx_diagonal_capability",
    "sample_states",
]

TWO_PI = 2 * math.pi


def _auto_chunk(n_qubits: int, limit: int = 2048) -> int:
    """States per batch so that a few batches of 2^n amplitudes use at most ~1/8 of free memory."""
    from probe.qsim.validation import available_memory

    return int(max(1, min(limit, available_memory() // (8 * 16 * 4 * 2**n_qubits))))


def sample_states(circuit: Circuit, count: int, *, rng: np.random.Generator, chunk: int | None = None,
                  low: float = 0.0, high: float = TWO_PI) -> torch.Tensor:
    """``count`` output states for parameters drawn uniformly in [low, high), shape (count, 2^n)."""
    chunk = chunk or _auto_chunk(circuit.n_qubits)
    out = []
    for start in range(0, count, chunk):
        m = min(chunk, count - start)
        theta = rng.uniform(low, high, size=(m, circuit.n_params))
        with torch.no_grad():
            psi = statevector(circuit, torch.as_tensor(theta)) if circuit.n_params else \
                statevector(circuit).expand(m, -1)
        out.append(psi if psi.dim() == 2 else psi[None].expand(m, -1))
    return torch.cat(out)


def fidelity_samples(circuit: Circuit, pairs: int, *, seed: int | np.random.Generator | None = None,
                     chunk: int | None = None) -> np.ndarray:
    """``pairs`` fidelities ``|⟨ψ_θ|ψ_φ⟩|²`` of independent uniform parameter draws, shape (pairs,)."""
    if pairs < 1:
        raise DataError(f"pairs must be >= 1; got {pairs}")
    rng = np.random.default_rng(seed)
    chunk = chunk or max(1, _auto_chunk(circuit.n_qubits) // 2)
    out = []
    with threads_for(2 * min(chunk, pairs) * 2**circuit.n_qubits):
        for start in range(0, pairs, chunk):
            m = min(chunk, pairs - start)
            both = sample_states(circuit, 2 * m, rng=rng, chunk=2 * m)
            f = (both[:m].conj() * both[m:]).sum(-1).abs() ** 2
            out.append(f.numpy())
    return np.clip(np.concatenate(out), 0.0, 1.0)


def haar_bin_logmass(n_qubits: int, bins: int) -> np.ndarray:
    """``log`` of the Haar probability of each fidelity bin, from the CDF ``1 − (1 − F)^{N−1}``."""
    big_n = 2.0**n_qubits
    edges = np.linspace(0.0, 1.0, bins + 1)
    lo, hi = edges[:-1], edges[1:]
    with np.errstate(divide="ignore"):
        log_lo = (big_n - 1) * np.log1p(-lo)  # log (1 - lo)^{N-1}
        log_hi = (big_n - 1) * np.log1p(-hi)
    # log[(1-lo)^{N-1} - (1-hi)^{N-1}] = log_lo + log(1 - exp(log_hi - log_lo))
    return log_lo + np.log1p(-np.exp(log_hi - log_lo))


def _kl(counts: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """Plug-in KL of histogram counts (…, bins) against log bin masses; natural log."""
    n = counts.sum(-1, keepdims=True)
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, p * (np.log(np.where(p > 0, p, 1.0)) - logq), 0.0)
    return terms.sum(-1)


def _bin_counts(f: np.ndarray, bins: int) -> np.ndarray:
    idx = np.minimum((np.asarray(f) * bins).astype(np.int64), bins - 1)
    return np.bincount(idx, minlength=bins).astype(np.float64)


@dataclass(frozen=True, slots=True)
class ExpressibilityResult:
    """Sim et al. expressibility of one circuit (natural-log KL; lower = more expressive)."""

    expressibility: float
    """Raw plug-in KL (comparable to Sim et al.)."""
    expressibility_corrected: float
    """Miller–Madow bias-corrected: raw − (occupied bins − 1) / (2 · pairs)."""
    se: float
    """Bootstrap standard error of the raw value."""
    ci_low: float
    ci_high: float
    pairs: int
    bins: int
    n_qubits: int
    haar_reference: float
    """Expected raw value for exact Haar fidelities at this pairs/bins (the estimator's floor)."""
    idle_maximum: float
    """(N − 1) ln(bins): the value for a circuit whose state never changes."""
    counts: tuple[int, ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        d.pop("counts")
        return pd.DataFrame([d])


def expressibility(fidelities: Any, n_qubits: int, *, bins: int = 75, bootstrap: int = 500,
                   seed: int | np.random.Generator | None = None) -> ExpressibilityResult:
    """Expressibility from sampled fidelities (see module notes for the estimator).

    Parameters
    ----------
    fidelities : array-like of shape (pairs,)
        Values in [0, 1], e.g. from :func:`fidelity_samples`.
    n_qubits : int
        Sets the Haar reference ``P_Haar(F) = (N − 1)(1 − F)^{N−2}``, N = 2^n.
    bins : int, default 75
    bootstrap : int, default 500
        Multinomial resamples of the histogram for the SE and 95 % interval.
    """
    f = np.asarray(fidelities, dtype=np.float64).ravel()
    if f.size < 2:
        raise DataError(f"expressibility needs at least 2 fidelity samples; got {f.size}")
    if not np.all(np.isfinite(f)) or f.min() < -1e-9 or f.max() > 1 + 1e-9:
        raise DataError("fidelities must be finite numbers in [0, 1]")
    if bins < 2:
        raise DataError(f"bins must be >= 2; got {bins}")
    rng = np.random.default_rng(seed)
    f = np.clip(f, 0, 1)
    logq = haar_bin_logmass(n_qubits, bins)
    counts = _bin_counts(f, bins)
    raw = float(_kl(counts, logq))
    occupied = int((counts > 0).sum())
    corrected = raw - (occupied - 1) / (2 * f.size)
    boot = _kl(rng.multinomial(f.size, counts / f.size, size=bootstrap).astype(np.float64), logq) \
        if bootstrap > 0 else np.array([raw])
    haar_f = rng.beta(1.0, 2.0**n_qubits - 1, size=(20, f.size))
    haar_ref = float(np.mean([_kl(_bin_counts(h, bins), logq) for h in haar_f]))
    return ExpressibilityResult(
        expressibility=raw, expressibility_corrected=corrected,
        se=float(boot.std(ddof=1)) if boot.size > 1 else 0.0,
        ci_low=float(np.quantile(boot, 0.025)), ci_high=float(np.quantile(boot, 0.975)),
        pairs=int(f.size), bins=bins, n_qubits=n_qubits, haar_reference=haar_ref,
        idle_maximum=(2.0**n_qubits - 1) * math.log(bins), counts=tuple(int(c) for c in counts),
    )


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    """Entangling capability: mean Meyer–Wallach Q over uniform parameter draws."""

    entangling_capability: float
    se: float
    samples: int
    q_min: float
    q_max: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def entangling_capability(circuit: Circuit, samples: int = 1000, *,
                          seed: int | np.random.Generator | None = None) -> CapabilityResult:
    """Sim et al. entangling capability: mean Q over ``samples`` parameter draws in [0, 2π)."""
    if samples < 2:
        raise DataError(f"samples must be >= 2; got {samples}")
    rng = np.random.default_rng(seed)
    size = _auto_chunk(circuit.n_qubits)
    with threads_for(min(size, samples) * 2**circuit.n_qubits):
        q = np.concatenate([np.asarray(meyer_wallach(sample_states(circuit, m, rng=rng)))
                            for m in _chunks(samples, size)])
    q = np.clip(q, 0.0, 1.0)
    return CapabilityResult(float(q.mean()), float(q.std(ddof=1) / math.sqrt(q.size)), int(q.size),
                            float(q.min()), float(q.max()))


def rx_diagonal_capability(n_qubits: int, edges: Sequence[tuple[int, int]]) -> float:
    """Exact entangling capability of ``RX`` (then any ``RZ``) on every wire followed by CRZ gates on ``edges``.

    The closed form behind the known answers for Sim et al.'s circuits 3, 5, 16 and 18
    at L = 1 (their RZ layer, diagonal like the CRZ gates, cannot change Q), with every
    angle uniform in [0, 2π).

    Parameters
    ----------
    n_qubits : int
    edges : sequence of (control, target) wire pairs, one uniform-angle CRZ each
        (several CRZ gates on one pair in either direction act as one, since the sum
        of uniform angles is uniform modulo 2π).

    Returns
    -------
    float
        ``Ent = (1 / 2n) Σ_k [1 − (3/4)^{d_k}]``, d_k = number of distinct neighbours
        of wire k.

    Notes
    -----
    Derivation (probe's): ``RX(x)|0⟩`` has ``p = sin²(x/2)`` on |1⟩, and
    ``u = p(1 − p)`` has mean 1/8 for uniform x. The CRZ network is diagonal, so ρ_k
    keeps its diagonal and its coherence is multiplied by
    ``χ_k = Π_{j ∼ k} E_{b_j}[e^{i φ_{jk} b_j}]`` (up to a phase), whose modulus
    squared is ``Π_j [1 − 2 u_j (1 − cos φ_{jk})]`` with mean ``(3/4)^{d_k}``. Hence
    ``E[1 − tr ρ_k²] = 2 E[u_k] (1 − E|χ_k|²) = (1/4)[1 − (3/4)^{d_k}]`` and Q =
    (2/n) Σ_k of that. Circuit 3 (line of 4): 11/64 = 0.1719; circuit 18 (ring of 4):
    7/32 = 0.2188; circuit 5 (all pairs of 4): 37/128 = 0.2891.

    Examples
    --------
    >>> rx_diagonal_capability(4, [(3, 2), (2, 1), (1, 0)])  # Sim et al. circuit 3, L = 1
    0.171875
    """
    if n_qubits < 1:
        raise DataError(f"n_qubits must be >= 1; got {n_qubits}")
    neighbours: list[set[int]] = [set() for _ in range(n_qubits)]
    for a, b in edges:
        if not (0 <= a < n_qubits and 0 <= b < n_qubits) or a == b:
            raise DataError(f"edge {(a, b)} must join two different wires in 0..{n_qubits - 1}")
        neighbours[a].add(b)
        neighbours[b].add(a)
    return float(sum(1 - 0.75 ** len(nb) for nb in neighbours) / (2 * n_qubits))


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - s) for s in range(0, total, size)]


@dataclass(frozen=True, slots=True)
class LayerTable:
    """Expressibility and/or entangling capability of one ansatz at several depths."""

    ansatz: str
    n_qubits: int
    rows: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows))


def layer_table(build: Callable[[int], Circuit], layers: Sequence[int], *, name: str, n_qubits: int,
                pairs: int = 5000, samples: int = 1000, bins: int = 75, what: str = "both",
                seed: int | np.random.Generator | None = None,
                progress: Callable[[int], None] | None = None) -> LayerTable:
    """Rows per layer count: ``layers``, ``n_params``, expressibility (raw, corrected, se, CI)
    and/or entangling capability (mean, se). ``what``: ``"expressibility"``, ``"capability"`` or ``"both"``."""
    if what not in ("expressibility", "capability", "both"):
        raise DataError(f"what must be expressibility, capability or both; got {what!r}")
    rng = np.random.default_rng(seed)
    rows = []
    for layer in layers:
        circ = build(layer)
        row: dict[str, Any] = {"layers": int(layer), "n_params": circ.n_params}
        if what in ("expressibility", "both"):
            e = expressibility(fidelity_samples(circ, pairs, seed=rng), n_qubits, bins=bins, seed=rng)
            row.update(expressibility=e.expressibility, expressibility_corrected=e.expressibility_corrected,
                       expressibility_se=e.se, expressibility_ci_low=e.ci_low, expressibility_ci_high=e.ci_high,
                       haar_reference=e.haar_reference, pairs=e.pairs, bins=e.bins)
        if what in ("capability", "both"):
            c = entangling_capability(circ, samples, seed=rng)
            row.update(entangling_capability=c.entangling_capability, entangling_capability_se=c.se,
                       samples=c.samples)
        rows.append(row)
        if progress is not None:
            progress(layer)
    return LayerTable(name, n_qubits, tuple(rows))
