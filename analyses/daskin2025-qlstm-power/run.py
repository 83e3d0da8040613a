"""Entangling vs disentangling power of quantum RNN/LSTM cells (Daskin 2025, arXiv:2505.06774).

    python analyses/daskin2025-qlstm-power/run.py            # full: 12 random qubit-qutrit gates, 16 starts
    python analyses/daskin2025-qlstm-power/run.py --quick    # 3 gates, 6 starts

Daskin reads the entangling power of the cell unitary coupling a data register to a
memory register as *retention* and its disentangling power as *forgetting*, after
Linden, Smolin & Winter (2009); its experiments (a trained QLSTM on a noisy sine and a
weather series) are rebuilt in ../daskin2025-qrnn-training/. This script computes, for
candidate cells: Zanardi's averaged e_p (= e_p(U†)), the LSW capacities
max ±[S(Uψ) − S(ψ)] without and with ancillas, and a per-step memory-entropy trace of a
recurrent cell. Writes results.md and cells.png next to this script.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from scipy.linalg import expm
from scipy.stats import unitary_group

from probe.qsim import Circuit, statevector
from probe.qsim.entangling_power import entangling_capacity, entangling_power, named_unitary
from probe.qsim.measures import entanglement_entropy
from probe.report.format import markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
X, Y, Z = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])


def canonical(c1: float, c2: float, c3: float) -> np.ndarray:
    """exp[i(c1 XX + c2 YY + c3 ZZ)/2]: every two-qubit gate up to local unitaries."""
    return expm(0.5j * (c1 * np.kron(X, X) + c2 * np.kron(Y, Y) + c3 * np.kron(Z, Z)))


def memory_trace(cell: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """S(memory) in bits after each step of a recurrent cell.

    Wire 0 is the memory qubit; step t loads input x_t into a fresh data qubit (RY(x_t)|0⟩)
    and applies ``cell`` to (data_t, memory). The data qubits are kept (not reset), so
    the global state stays pure and S(memory) is the memory's entanglement with all the
    data it has seen: what it retains beyond a product with the past.
    """
    t_steps = len(inputs)
    out = []
    for t in range(1, t_steps + 1):
        c = Circuit(t + 1)
        for s in range(1, t + 1):
            c.ry(s)
            c.unitary(cell, s, 0)
        psi = statevector(c, torch.as_tensor(inputs[:t]))
        out.append(float(entanglement_entropy(psi.numpy(), [0])))
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    starts = 6 if args.quick else 16
    n_random = 3 if args.quick else 12
    t0 = time.perf_counter()
    md = ["# Entangling vs disentangling power of QRNN/QLSTM cells (Daskin 2025)\n"]

    # 1. two-qubit cells: Zanardi averages and LSW capacities (no ancillas)
    cells = {"I": named_unitary("I"), "CNOT": named_unitary("CNOT"), "CZ": named_unitary("CZ"),
             "iSWAP": named_unitary("ISWAP"), "√SWAP": named_unitary("SQRTSWAP"), "SWAP": named_unitary("SWAP"),
             "B": named_unitary("B"), "CRX(π/2)": named_unitary("CRX:1.5707963267948966"),
             "canonical(π/4, π/8, 0)": canonical(math.pi / 4, math.pi / 8, 0)}
    rows = []
    for name, u in cells.items():
        e = entangling_capacity(u, starts=starts, seed=args.seed)[0]
        d = entangling_capacity(u, direction="disentangle", starts=starts, seed=args.seed)[0]
        rows.append([name, entangling_power(u), entangling_power(u.conj().T), e, d, abs(e - d)])
    md += ["## Two-qubit cells (data ⊗ memory)\n",
           "e_p: Zanardi entangling power (CNOT = 2/9); e_p(U†) is the averaged disentangling power, always "
           "equal to e_p. Capacities in ebits, maximised over input states without ancillas "
           f"({starts} L-BFGS starts; numerical lower bounds).\n",
           markdown_table(["cell", "e_p", "e_p(U†)", "entangling cap.", "disentangling cap.", "|diff|"], rows),
           "\nFor two qubits the two capacities agree (Linden, Smolin & Winter) and every perfect entangler "
           "(CNOT, CZ, iSWAP, B) reaches 1 ebit both ways; SWAP has e_p = 0 yet moves the whole state between "
           "the registers — the averaged power measures entangling, not information transfer.\n"]

    # 2. qubit-qutrit cells with ancillas: where retention and forgetting can differ
    rng = np.random.default_rng(args.seed)
    asym = []
    for i in range(n_random):
        u = unitary_group.rvs(6, random_state=rng)
        e = entangling_capacity(u, (2, 3), ancilla=(2, 3), starts=starts, seed=rng)
        d = entangling_capacity(u, (2, 3), direction="disentangle", ancilla=(2, 3), starts=starts, seed=rng)
        asym.append([i, entangling_power(u, (2, 3)), e[0], d[0], e[0] - d[0], max(e[1], d[1])])
    diffs = np.array([r[4] for r in asym])
    md += ["## Qubit ⊗ qutrit cells with local ancillas (2, 3)\n",
           "Haar-random 6×6 cells; capacities with ancillas of dimension 2 (data side) and 3 (memory side).\n",
           markdown_table(["gate", "e_p", "entangling cap.", "disentangling cap.", "E − D", "worst spread"], asym),
           f"\nMean |E − D| = {np.abs(diffs).mean():.4f} ebit (max {np.abs(diffs).max():.4f}); both capacities sit "
           "near the 2-ebit maximum, as LSW predict for typical gates in larger dimensions, and their difference "
           "is small but non-zero — the asymmetry Daskin reads as retention ≠ forgetting.\n"]

    # 3. recurrent trace: memory entropy per step for cells of different power
    inputs = np.random.default_rng(args.seed).uniform(0, math.pi, 8 if not args.quick else 5)
    fig, axes = new_figure(1, 2, figsize=(11, 4))
    trace_rows = []
    for name in ("I", "√SWAP", "CNOT", "iSWAP", "SWAP"):
        tr = memory_trace(cells[name], inputs)
        trace_rows.append([name, entangling_power(cells[name]), *tr.tolist()])
        axes[0].plot(range(1, len(tr) + 1), tr, marker="o", label=f"{name} (e_p={entangling_power(cells[name]):.3f})")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("S(memory) (bits)")
    axes[0].legend(fontsize=7)
    grid = np.linspace(0, math.pi, 41)
    ep = np.array([[entangling_power(canonical(a, b, 0)) for a in grid] for b in grid])
    im = axes[1].imshow(ep, origin="lower", extent=(0, math.pi, 0, math.pi), aspect="auto")
    axes[1].set_xlabel("c1 (XX)")
    axes[1].set_ylabel("c2 (YY)")
    axes[1].set_title("e_p of exp[i(c1 XX + c2 YY)/2]")
    fig.colorbar(im, ax=axes[1])
    save_figure(fig, HERE / "cells.png")
    md += ["## Recurrent trace\n",
           f"Memory qubit + a fresh data qubit per step, input RY(x_t) with x_t uniform in [0, π) (seed {args.seed}), "
           "cell applied to (data_t, memory). S(memory) = entanglement of the memory with all past data (bits).\n",
           markdown_table(["cell", "e_p", *[f"t={t}" for t in range(1, len(inputs) + 1)]], trace_rows),
           "\nThe identity never entangles and SWAP only swaps (the memory then holds the last input, a product "
           "state). Cells with the same averaged power behave differently over time: CNOT and iSWAP share "
           "e_p = 2/9, yet under CNOT the memory keeps its entanglement with the history while under iSWAP it "
           "largely hands it on to the newest data qubit. The per-step trace therefore complements e_p and the "
           "capacities when a cell is read as retaining or forgetting.\n",
           f"\n_{time.perf_counter() - t0:.0f} s; probe {__import__('probe').__version__}._\n"]
    (HERE / "results.md").write_text("\n".join(md))
    print(f"wrote {HERE}/results.md and cells.png ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
