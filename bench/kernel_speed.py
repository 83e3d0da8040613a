"""8-qubit ZZ fidelity kernel on 500x500 samples: probe vs qiskit-machine-learning vs PennyLane, in one run.

    python bench/kernel_speed.py            # full size: 500 samples (PennyLane timed on a subset, extrapolated)
    python bench/kernel_speed.py --quick    # 100 samples

The data are the first N digits, PCA to 8 components, scaled to [0, π] (fit on
those N rows: this is a speed test, not a model evaluation). The feature map is
qiskit's ``ZZFeatureMap(8, reps=2)`` (full entanglement) in all three tools.

- probe: ``probe.qml.kernels.fidelity_kernel(x, feature_map="zz")``; one
  statevector per sample then a Gram product (the "diagonal" form of the ZZ map),
  and the gate-by-gate circuit method beside it.
- qiskit-machine-learning: ``FidelityStatevectorKernel(feature_map).evaluate(x)``.
- PennyLane: ``qml.kernels.square_kernel_matrix`` with the usual kernel circuit
  U(x) U(x')† |0⟩ on ``default.qubit``. It evaluates one circuit per pair
  (N(N-1)/2 of them), so it is timed on a subset of samples and the time per pair
  is extrapolated to N(N-1)/2 pairs; the script says so in its output.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch


def data(n: int) -> np.ndarray:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    x = load_digits().data[:n]
    z = PCA(n_components=8, svd_solver="full").fit_transform(StandardScaler().fit_transform(x))
    return MinMaxScaler((0.0, np.pi)).fit_transform(z)


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def pennylane_kernel(x: np.ndarray) -> tuple[float, np.ndarray]:
    import pennylane as qml

    n = x.shape[1]
    dev = qml.device("default.qubit", wires=n)

    def zz_map(v):
        for _ in range(2):
            for w in range(n):
                qml.Hadamard(wires=w)
            for w in range(n):
                qml.PhaseShift(2 * v[w], wires=w)
            for i in range(n):
                for j in range(i + 1, n):
                    qml.CNOT(wires=[i, j])
                    qml.PhaseShift(2 * (np.pi - v[i]) * (np.pi - v[j]), wires=j)
                    qml.CNOT(wires=[i, j])

    @qml.qnode(dev)
    def overlap(a, b):
        zz_map(a)
        qml.adjoint(zz_map)(b)
        return qml.probs(wires=range(n))

    t = time.perf_counter()
    k = qml.kernels.square_kernel_matrix(x, lambda a, b: overlap(a, b)[0], assume_normalized_kernel=True)
    return time.perf_counter() - t, np.asarray(k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 samples instead of 500")
    parser.add_argument("--pennylane-samples", type=int, default=None, help="subset size for PennyLane")
    args = parser.parse_args()
    n = 100 if args.quick else 500
    n_pl = args.pennylane_samples or (6 if args.quick else 12)
    torch.set_num_threads(1)  # a shared 2-core machine: one thread is faster and steadier
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    from probe.qml.kernels import fidelity_kernel

    x = data(n)
    print(f"machine: {platform.processor() or platform.machine()}, torch threads 1, N = {n} samples, 8 qubits, "
          "ZZ feature map reps=2")
    fidelity_kernel(x[:10], feature_map="zz")  # warm-up (imports, first allocation)
    t_probe, k_probe = best_of(lambda: fidelity_kernel(x, feature_map="zz"), 7)
    t_circ, k_circ = best_of(lambda: fidelity_kernel(x, feature_map="zz", method="circuit"), 3)
    qk = FidelityStatevectorKernel(feature_map=zz_feature_map(8, reps=2))
    t_qiskit, k_qiskit = best_of(lambda: qk.evaluate(x), 1 if n > 200 else 3)
    t_pl_sub, k_pl = pennylane_kernel(x[:n_pl])
    pairs_sub, pairs_full = n_pl * (n_pl - 1) // 2, n * (n - 1) // 2
    per_pair = t_pl_sub / pairs_sub
    t_pl = per_pair * pairs_full
    dq = float(np.abs(k_probe - k_qiskit).max())
    dc = float(np.abs(k_probe - k_circ).max())
    dp = float(np.abs(k_probe[:n_pl, :n_pl] - k_pl).max())
    print(f"probe (diagonal ZZ)      {t_probe * 1e3:9.1f} ms  (median of 7)")
    print(f"probe (gate circuit)     {t_circ * 1e3:9.1f} ms  (median of 3)   max |Δ| vs diagonal {dc:.1e}")
    print(f"qiskit-ml statevector    {t_qiskit * 1e3:9.1f} ms                  max |Δ| vs probe {dq:.1e}")
    print(f"PennyLane default.qubit  {per_pair * 1e3:9.1f} ms per pair, {pairs_sub} pairs timed on {n_pl} samples; "
          f"extrapolated to {pairs_full} pairs: {t_pl:.0f} s   max |Δ| vs probe {dp:.1e}")
    print(f"speed-up: {t_qiskit / t_probe:.0f}x qiskit-ml (goal >= 50x), {t_pl / t_probe:.0f}x PennyLane "
          f"(extrapolated); gate-circuit path {t_qiskit / t_circ:.0f}x qiskit-ml")
    print(f"agreement within 1e-10: qiskit {dq < 1e-10}, PennyLane {dp < 1e-10}")


if __name__ == "__main__":
    main()
