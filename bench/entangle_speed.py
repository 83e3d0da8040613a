"""Speed of `probe entangle` profiles against quimb and the naive baselines, in one process.

Default (the issue's goal): a 4096×4096 matrix = 24 qubits, every cut.

- ours: two Gram matrices + partial traces (probe.analysis.entangle.profile.entanglement_profile)
- quimb: MatrixProductState.from_dense + mps.entropy(k) at every bond
- svd-per-cut: one scipy SVD (gesdd, values only) of each reshape
- gram-per-cut: eigvalsh of the smaller Gram matrix of each reshape

and a rank-16 LoRA update of 4096×4096: the low-rank path (lora_profile) against forming
ΔW and profiling it densely. Peak memory of our profile is measured with tracemalloc
(numpy and LAPACK workspaces allocate through numpy) relative to the matrix's own size.

    python bench/entangle_speed.py            # 24 qubits (quimb takes minutes here)
    python bench/entangle_speed.py --quick    # 20 qubits, 1024×1024
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np
import scipy.linalg as sla

from probe.analysis.entangle.lowrank import lora_profile
from probe.analysis.entangle.profile import entanglement_profile
from probe.analysis.entropy import von_neumann


def _timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def svd_per_cut(m: np.ndarray) -> np.ndarray:
    psi = m.reshape(-1) / np.linalg.norm(m)
    n = int(np.log2(psi.size))
    out = []
    for k in range(1, n):
        s = sla.svd(psi.reshape(2**k, -1), compute_uv=False, check_finite=False, lapack_driver="gesdd")
        out.append(von_neumann(s**2, base=np.e))
    return np.array(out)


def gram_per_cut(m: np.ndarray) -> np.ndarray:
    psi = m.reshape(-1) / np.linalg.norm(m)
    n = int(np.log2(psi.size))
    out = []
    for k in range(1, n):
        mat = psi.reshape(2**k, -1)
        g = mat @ mat.T if mat.shape[0] <= mat.shape[1] else mat.T @ mat
        out.append(von_neumann(np.clip(sla.eigvalsh(g, check_finite=False, driver="evr"), 0, None)))
    return np.array(out)


def quimb_profile(m: np.ndarray) -> np.ndarray:
    import quimb.tensor as qtn

    psi = m.reshape(-1) / np.linalg.norm(m)
    n = int(np.log2(psi.size))
    mps = qtn.MatrixProductState.from_dense(psi, dims=[2] * n)
    return np.array([mps.entropy(k) for k in range(1, n)]) * np.log(2)  # quimb: bits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1024×1024 (20 qubits) instead of 4096×4096")
    ap.add_argument("--qubits", type=int, help="override: a 2^(q/2) square matrix (q even)")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--skip-quimb", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    q = args.qubits or (20 if args.quick else 24)
    d = 2 ** (q // 2)
    rng = np.random.default_rng(args.seed)
    m = rng.standard_normal((d, d))
    print(f"# entangle_speed: {d}×{d} = {q} qubits, {platform.machine()}, numpy {np.__version__}")

    tracemalloc.start()
    t_ours, ours = _timed(lambda: np.array(entanglement_profile(m).entropy))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t_ours, ours = _timed(lambda: np.array(entanglement_profile(m).entropy), repeat=2)
    print(f"\n{'method':36s} {'time (s)':>10s} {'ours ×faster':>13s} {'max |ΔS| (nats)':>16s}")

    def row(name: str, t: float, diff: float) -> None:
        print(f"{name:36s} {t:10.3f} {t / t_ours:13.1f} {diff:16.2e}", flush=True)

    row("ours (Gram + partial traces)", t_ours, 0.0)
    t_gram, gram = _timed(lambda: gram_per_cut(m))
    row("eigvalsh of smaller Gram per cut", t_gram, float(np.max(np.abs(gram - ours))))
    t_svd, svd = _timed(lambda: svd_per_cut(m))
    row("one SVD per cut", t_svd, float(np.max(np.abs(svd - ours))))
    if not args.skip_quimb:
        t_q, qp = _timed(lambda: quimb_profile(m))
        row("quimb from_dense + entropy", t_q, float(np.max(np.abs(qp - ours))))
    print(f"\npeak memory of ours: {peak / 2**20:.0f} MiB = {peak / m.nbytes:.2f}× the matrix ({m.nbytes / 2**20:.0f} MiB, "
          f"float64; tracemalloc, allocations made inside the call)")

    r = args.rank
    a, b = rng.standard_normal((r, d)), rng.standard_normal((d, r))
    t_low, low = _timed(lambda: np.array(lora_profile(a, b, scale=2.0).entropy), repeat=5)
    t_dense, dense = _timed(lambda: np.array(entanglement_profile(2.0 * (b @ a)).entropy))
    print(f"\nLoRA rank {r}, {d}×{d}: low-rank {t_low * 1e3:.1f} ms, dense {t_dense:.3f} s, "
          f"ratio {t_dense / t_low:.0f}×, max |ΔS| {np.max(np.abs(low - dense)):.2e} nats")


if __name__ == "__main__":
    main()
