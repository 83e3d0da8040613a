"""Measurement-induced entanglement and its learnability transition (Qian & Wang 2025, arXiv:2512.01317).

    python analyses/qian2025-mie/run.py            # 12 qubits (minutes here)
    python analyses/qian2025-mie/run.py --quick    # 8 qubits, fewer circuits and records

Parts: (A) exact MIE vs depth for all-to-all and chain random circuits; (B) MIE vs the
rate of mid-circuit measurements; (C) the record-only learner's bound gap vs depth;
(D) the gap vs the number of measurement records at a shallow and a deep depth.
Writes results.md, results.json and mie.png next to this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from probe.qsim.mie import learn_bounds, mie_scan, random_layers
from probe.report.format import markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--qubits", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2512)
    args = ap.parse_args()
    n = args.qubits or (8 if args.quick else 12)
    circuits = 6 if args.quick else 20
    depths = list(range(0, 9 if args.quick else 13))
    learn_depths = [1, 2, 3, 4, 6, 8] if args.quick else [1, 2, 3, 4, 5, 6, 8, 10]
    records = 2000 if args.quick else 4000
    sizes = [500, 2000, 6000] if args.quick else [1000, 4000, 16000]
    pair = (0, n - 1)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()

    a_all = mie_scan(n, depths, [0.0], pair=pair, geometry="all", circuits=circuits, seed=rng).table
    a_chain = mie_scan(n, depths, [0.0], pair=pair, geometry="chain", circuits=circuits, seed=rng).table
    rates = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]
    b = mie_scan(n, [depths[-1]], rates, pair=pair, geometry="all", circuits=max(4, circuits // 2),
                 trajectories=16, seed=rng).table
    c = []
    for d in learn_depths:
        res = [learn_bounds(n, random_layers(n, d, rng=rng), pair, records=records, epochs=60, seed=rng)
               for _ in range(2)]
        c.append({"depth": d, **{k: float(np.mean([getattr(r, k) for r in res]))
                                 for k in ("upper", "lower", "gap", "exact", "fidelity")},
                  "gap_se": float(np.sqrt(sum(r.gap_se**2 for r in res)) / 2)})
    dd = []
    for d in (2, learn_depths[-1]):
        layers = random_layers(n, d, rng=rng)
        for m in sizes:
            r = learn_bounds(n, layers, pair, records=m, epochs=60 if m <= 4000 else 30, seed=rng)
            dd.append({"depth": d, "records": m, "upper": r.upper, "lower": r.lower, "gap": r.gap,
                       "gap_se": r.gap_se, "exact": r.exact, "fidelity": r.fidelity})
    elapsed = time.perf_counter() - t0
    out = {"qubits": n, "pair": pair, "seed": args.seed, "circuits": circuits, "records": records,
           "depth_all": list(a_all), "depth_chain": list(a_chain), "rates": list(b), "learn_depth": c,
           "learn_data": dd, "elapsed_s": elapsed}
    (HERE / "results.json").write_text(json.dumps(out, indent=1, default=float))

    md = [f"# MIE reproduction — {n} qubits, A = {pair[0]}, B = {pair[1]}, seed {args.seed} ({elapsed:.0f} s)\n",
          f"## (A) Exact MIE vs depth (bits; mean ± SE over {circuits} circuits)\n",
          markdown_table(["depth", "all-to-all", "chain"],
                         [[x["depth"], f"{x['mie']:.3f} ± {x['mie_se']:.3f}", f"{y['mie']:.3f} ± {y['mie_se']:.3f}"]
                          for x, y in zip(a_all, a_chain, strict=True)]),
          f"\n## (B) MIE vs mid-circuit measurement rate (depth {depths[-1]}, all-to-all, 16 trajectories)\n",
          markdown_table(["rate", "MIE ± SE"], [[x["rate"], f"{x['mie']:.3f} ± {x['mie_se']:.3f}"] for x in b]),
          f"\n## (C) Learnability vs depth ({records} records, 2 circuits per depth)\n",
          markdown_table(["depth", "exact", "U", "L", "gap ± SE", "F̄"],
                         [[x["depth"], x["exact"], x["upper"], x["lower"], f"{x['gap']:.3f} ± {x['gap_se']:.3f}",
                           x["fidelity"]] for x in c]),
          "\n## (D) Gap vs data (one circuit per depth)\n",
          markdown_table(["depth", "records", "exact", "U", "L", "gap ± SE", "F̄"],
                         [[x["depth"], x["records"], x["exact"], x["upper"], x["lower"],
                           f"{x['gap']:.3f} ± {x['gap_se']:.3f}", x["fidelity"]] for x in dd])]
    (HERE / "results.md").write_text("\n".join(md))

    fig, axes = new_figure(1, 3, figsize=(15, 4))
    for rows, label in ((a_all, "all-to-all"), (a_chain, "chain")):
        axes[0].errorbar([x["depth"] for x in rows], [x["mie"] for x in rows],
                         yerr=[1.96 * x["mie_se"] for x in rows], marker="o", capsize=3, label=label)
    axes[0].set_xlabel("depth")
    axes[0].set_ylabel("MIE (bits)")
    axes[0].legend()
    axes[1].errorbar([x["rate"] for x in b], [x["mie"] for x in b], yerr=[1.96 * x["mie_se"] for x in b], marker="o")
    axes[1].set_xlabel("mid-circuit measurement rate")
    axes[1].set_ylabel(f"MIE at depth {depths[-1]} (bits)")
    axes[2].errorbar([x["depth"] for x in c], [x["gap"] for x in c], yerr=[1.96 * x["gap_se"] for x in c],
                     marker="s", label="gap U − L")
    axes[2].plot([x["depth"] for x in c], [x["exact"] for x in c], "k--", label="exact MIE")
    axes[2].set_xlabel("depth")
    axes[2].set_ylabel("bits")
    axes[2].legend()
    save_figure(fig, HERE / "mie.png")
    print(f"wrote {HERE}/results.md, results.json, mie.png ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
