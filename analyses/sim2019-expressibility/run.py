"""Reproduce the expressibility / entangling-capability study of Sim, Johnson & Aspuru-Guzik (2019).

    python analyses/sim2019-expressibility/run.py            # the paper's scale: 4 qubits, L = 1..5, 5000 pairs
    python analyses/sim2019-expressibility/run.py --quick    # 1000 pairs, L = 1..3

Writes ``results.csv`` (one row per circuit and layer count), ``results.md`` (tables
and the check of the paper's three qualitative findings), ``expressibility.png`` and
``expr_vs_ent.png`` next to this script. Also checks the ring-topology claim used by
VQR-DQN (Nguyen et al. 2025) and Correr et al. (2024): ring > line/all > star.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from probe.qsim import build_ansatz, sim_circuit
from probe.qsim.expressibility import layer_table
from probe.report.format import markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent


def checks(df: pd.DataFrame) -> list[list[str]]:
    """The paper's qualitative findings, evaluated on our numbers at L = 1 (± 2 SE)."""
    e = df[df.layers == 1].set_index("circuit")

    def better(a: int, b: int) -> str:
        ea, eb = e.loc[a, "expressibility"], e.loc[b, "expressibility"]
        se = np.hypot(e.loc[a, "expressibility_se"], e.loc[b, "expressibility_se"])
        verdict = "yes" if ea < eb - 2 * se else ("tie" if abs(ea - eb) <= 2 * se else "no")
        return f"{ea:.3f} vs {eb:.3f}: {verdict}"

    rows = [["ring beats line (CRZ): circuit 18 vs 3", better(18, 3)],
            ["ring beats line (CRX): circuit 19 vs 4", better(19, 4)],
            ["all-to-all beats line (CRZ): circuit 5 vs 3", better(5, 3)],
            ["all-to-all beats line (CRX): circuit 6 vs 4", better(6, 4)]]
    rows += [[f"CRX beats CRZ: circuit {x} vs {z}", better(x, z)] for x, z in ((4, 3), (6, 5), (8, 7), (14, 13),
                                                                              (17, 16), (19, 18))]
    last = df.layers.max()
    if last > 1:
        drops = []
        for c, g in df.groupby("circuit"):
            v = g.sort_values("layers").expressibility.to_numpy()
            if c != 1 and v[0] > 0:
                drops.append((v[0] - v[1], v[-2] - v[-1]))
        first, final = np.mean([d[0] for d in drops]), np.mean([d[1] for d in drops])
        rows.append([f"saturation: mean drop L1→L2 vs L{last - 1}→L{last}", f"{first:.3f} vs {final:.3f}: "
                     f"{'yes' if abs(final) < abs(first) else 'no'}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pairs", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None, help="parameter draws for the entangling capability")
    ap.add_argument("--seed", type=int, default=2019)
    args = ap.parse_args()
    pairs = args.pairs or (1000 if args.quick else 5000)
    samples = args.samples or (300 if args.quick else 2000)
    layers = [1, 2, 3] if args.quick else [1, 2, 3, 4, 5]
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    rows = []
    for k in range(1, 20):
        tab = layer_table(lambda layer, k=k: sim_circuit(k, 4, layer), layers, name=f"sim{k}", n_qubits=4,
                          pairs=pairs, samples=samples, seed=rng)
        rows += [{"circuit": k, **r} for r in tab.rows]
    df = pd.DataFrame(rows)
    topo = []
    for n in (4, 6):
        for name in ("ring", "line", "all", "star"):
            tab = layer_table(lambda layer, name=name, n=n: build_ansatz(name, n, layer), [1, 2, 3], name=name,
                              n_qubits=n, pairs=pairs, samples=samples, seed=rng)
            topo += [{"qubits": n, "topology": name, **r} for r in tab.rows]
    tf = pd.DataFrame(topo)
    elapsed = time.perf_counter() - t0
    df.to_csv(HERE / "results.csv", index=False, float_format="%.6g")
    tf.to_csv(HERE / "topology.csv", index=False, float_format="%.6g")

    pivot_e = df.pivot(index="circuit", columns="layers", values="expressibility")
    pivot_c = df.pivot(index="circuit", columns="layers", values="entangling_capability")
    md = [f"# Sim et al. (2019) reproduction — {pairs} pairs, {samples} draws, 75 bins, seed {args.seed}\n",
          f"probe statevector simulator, 4 qubits; {elapsed:.0f} s on this machine.\n",
          "## Expressibility (KL to Haar, nats; lower = more expressive)\n",
          markdown_table(["circuit", *[f"L={c}" for c in pivot_e.columns]],
                         [[i, *pivot_e.loc[i].tolist()] for i in pivot_e.index]),
          f"\nTypical bootstrap SE: {df.expressibility_se.median():.4f}; the estimator's Haar floor at "
          f"{pairs} pairs is {df.haar_reference.median():.4f}.\n",
          "## Entangling capability (mean Meyer–Wallach Q)\n",
          markdown_table(["circuit", *[f"L={c}" for c in pivot_c.columns]],
                         [[i, *pivot_c.loc[i].tolist()] for i in pivot_c.index]),
          "\n## The paper's findings, checked at L = 1 (\"yes\" = better by more than 2 SE)\n",
          markdown_table(["finding", "ours"], checks(df)),
          "\n## Topology (RY+RZ layers, CNOT entanglers)\n",
          markdown_table(["qubits", "topology", "layers", "Expr", "± SE", "Ent", "± SE"],
                         [[r.qubits, r.topology, r.layers, r.expressibility, r.expressibility_se,
                           r.entangling_capability, r.entangling_capability_se] for r in tf.itertuples()])]
    (HERE / "results.md").write_text("\n".join(md))

    fig, axes = new_figure(1, 2, figsize=(11, 4))
    for k, g in df.groupby("circuit"):
        axes[0].plot(g.layers, g.expressibility, marker="o", ms=3, label=str(k))
    axes[0].set_yscale("log")
    axes[0].set_xlabel("layers")
    axes[0].set_ylabel("expressibility (KL, nats)")
    axes[0].legend(fontsize=6, ncol=4, title="circuit", title_fontsize=7)
    one = df[df.layers == 1]
    axes[1].scatter(one.entangling_capability, one.expressibility)
    for r in one.itertuples():
        axes[1].annotate(str(r.circuit), (r.entangling_capability, r.expressibility), fontsize=7)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("entangling capability (L = 1)")
    axes[1].set_ylabel("expressibility (L = 1)")
    save_figure(fig, HERE / "expressibility.png")
    print(f"wrote {HERE}/results.md, results.csv, topology.csv, expressibility.png ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
