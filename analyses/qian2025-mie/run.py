"""Measurement-induced entanglement and its learnability transition (Qian & Wang 2025, arXiv:2512.01317).

    python analyses/qian2025-mie/run.py            # 12 qubits (a 3 x 4 grid for 2-D), ~20 minutes here
    python analyses/qian2025-mie/run.py --quick    # 9 qubits (3 x 3), fewer circuits and records

The paper's two geometries: 1-D all-to-all random pairings (``all``) and 2-D nearest-neighbour
brickwork (``2d-nn``, probe's ABCD pattern); the 1-D chain is kept as a third, our own. A and B
are wire 0 and wire n − 1 (for 2-D: opposite corners of the grid). Parts:
(A) exact MIE vs depth; (B) MIE vs the rate of mid-circuit measurements (all-to-all);
(C) the record-only learner's bounds U ≥ MIE ≥ L and their gap vs depth, both paper geometries;
(D) the gap vs the number of measurement records; (E) the gap vs the learner's width.
Writes results.md, results.json and mie.png next to this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from probe.qsim.mie import grid_shape, learn_bounds, mie_scan, random_layers
from probe.report.format import markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
PAPER_GEOMETRIES = ("all", "2d-nn")
KEYS = ("upper", "lower", "gap", "exact", "fidelity", "lower_fannes")


def learn_row(n: int, depth: int, geometry: str, pair: tuple[int, int], rng: np.random.Generator, *,
              circuits: int, records: int, hidden: int = 64, epochs: int = 60) -> dict:
    res = [learn_bounds(n, random_layers(n, depth, geometry=geometry, rng=rng), pair, records=records,
                        epochs=epochs, hidden=hidden, seed=rng) for _ in range(circuits)]
    row = {"geometry": geometry, "depth": depth, "records": records, "hidden": hidden, "circuits": circuits,
           **{k: float(np.mean([getattr(r, k) for r in res])) for k in KEYS}}
    for k in ("upper", "lower", "gap"):
        row[f"{k}_se"] = float(np.sqrt(sum(getattr(r, f"{k}_se") ** 2 for r in res)) / len(res))
    return row


def fmt_row(x: dict, *lead: str) -> list:
    return [*(x[k] for k in lead), x["exact"], f"{x['upper']:.3f} ± {x['upper_se']:.3f}",
            f"{x['lower']:.3f} ± {x['lower_se']:.3f}", f"{x['gap']:.3f} ± {x['gap_se']:.3f}", x["fidelity"],
            x["lower_fannes"]]


LEARN_HEAD = ["exact MIE", "U ± SE", "L ± SE", "gap U − L ± SE", "F̄", "L (Fannes, old)"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--qubits", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2512)
    args = ap.parse_args()
    n = args.qubits or (9 if args.quick else 12)
    rows_2d, cols_2d = grid_shape(n)
    circuits = 6 if args.quick else 20
    depths = list(range(0, 9 if args.quick else 13))
    learn_depths = [1, 2, 3, 4, 6, 8] if args.quick else [1, 2, 3, 4, 5, 6, 8, 10]
    records = 2000 if args.quick else 4000
    sizes = [500, 2000, 6000] if args.quick else [1000, 4000, 16000, 64000]
    widths = [16, 64, 256]
    pair = (0, n - 1)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()

    depth_scan = {g: mie_scan(n, depths, [0.0], pair=pair, geometry=g, circuits=circuits, seed=rng).table
                  for g in ("all", "2d-nn", "chain")}
    rates = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]
    b = mie_scan(n, [depths[-1]], rates, pair=pair, geometry="all", circuits=max(4, circuits // 2),
                 trajectories=16, seed=rng).table
    c = [learn_row(n, d, g, pair, rng, circuits=2, records=records) for g in PAPER_GEOMETRIES for d in learn_depths]
    print(f"(C) done {time.perf_counter() - t0:.0f} s", flush=True)
    shallow, deep = 2, learn_depths[-1]
    dd, ww = [], []
    for g in PAPER_GEOMETRIES:
        for d in (shallow, deep):
            layers = random_layers(n, d, geometry=g, rng=rng)
            for m in sizes:
                r = learn_bounds(n, layers, pair, records=m, epochs=60 if m <= 4000 else (30 if m <= 16000 else 15),
                                 seed=rng)
                dd.append({"geometry": g, "depth": d, "records": m, "circuits": 1,
                           **{k: getattr(r, k) for k in KEYS}, **{f"{k}_se": getattr(r, f"{k}_se")
                                                                 for k in ("upper", "lower", "gap")}})
            for h in widths:
                r = learn_bounds(n, layers, pair, records=records, hidden=h, epochs=60, seed=rng)
                ww.append({"geometry": g, "depth": d, "hidden": h, "circuits": 1,
                           **{k: getattr(r, k) for k in KEYS}, **{f"{k}_se": getattr(r, f"{k}_se")
                                                                 for k in ("upper", "lower", "gap")}})
    elapsed = time.perf_counter() - t0
    out = {"qubits": n, "grid_2d": [rows_2d, cols_2d], "pair": pair, "seed": args.seed, "circuits": circuits,
           "records": records, "depth_scan": {g: list(v) for g, v in depth_scan.items()}, "rates": list(b),
           "learn_depth": c, "learn_data": dd, "learn_width": ww, "elapsed_s": elapsed}
    (HERE / "results.json").write_text(json.dumps(out, indent=1, default=float))

    def cell(x: dict) -> str:
        return f"{x['mie']:.3f} ± {x['mie_se']:.3f}"

    md = [f"# MIE reproduction — {n} qubits (2-D: {rows_2d} × {cols_2d} grid), A = {pair[0]}, B = {pair[1]}, "
          f"seed {args.seed} ({elapsed:.0f} s)\n",
          f"## (A) Exact MIE vs depth (bits; mean ± SE over {circuits} circuits)\n",
          markdown_table(["depth", "1-D all-to-all (paper)", "2-D nearest-neighbour (paper)", "1-D chain (ours)"],
                         [[x["depth"], cell(x), cell(y), cell(z)] for x, y, z in
                          zip(*(depth_scan[g] for g in ("all", "2d-nn", "chain")), strict=True)]),
          f"\n## (B) MIE vs mid-circuit measurement rate (depth {depths[-1]}, all-to-all, 16 trajectories)\n",
          markdown_table(["rate", "MIE ± SE"], [[x["rate"], cell(x)] for x in b]),
          f"\n## (C) Learnability vs depth ({records} records, hidden width 64, 2 circuits per row)\n",
          "U: cross-entropy upper bound; L: relative-entropy/fidelity lower bound (probe's, see README); "
          "the old Fannes bound is shown for comparison. SE by bootstrap over held-out records.\n",
          markdown_table(["geometry", "depth", *LEARN_HEAD], [fmt_row(x, "geometry", "depth") for x in c]),
          f"\n## (D) Gap vs data (one circuit per row; depth {shallow} and {deep})\n",
          markdown_table(["geometry", "depth", "records", *LEARN_HEAD],
                         [fmt_row(x, "geometry", "depth", "records") for x in dd]),
          f"\n## (E) Gap vs learner width ({records} records; same circuits as (D))\n",
          markdown_table(["geometry", "depth", "hidden", *LEARN_HEAD],
                         [fmt_row(x, "geometry", "depth", "hidden") for x in ww])]
    (HERE / "results.md").write_text("\n".join(md))

    fig, axes = new_figure(1, 3, figsize=(15, 4))
    for g, label in (("all", "1-D all-to-all"), ("2d-nn", "2-D NN"), ("chain", "1-D chain")):
        rows = depth_scan[g]
        axes[0].errorbar([x["depth"] for x in rows], [x["mie"] for x in rows],
                         yerr=[1.96 * x["mie_se"] for x in rows], marker="o", capsize=3, label=label)
    axes[0].set_xlabel("depth")
    axes[0].set_ylabel("MIE (bits)")
    axes[0].legend()
    for i, g in enumerate(PAPER_GEOMETRIES):
        rows = [x for x in c if x["geometry"] == g]
        axes[1].errorbar([x["depth"] for x in rows], [x["gap"] for x in rows],
                         yerr=[1.96 * x["gap_se"] for x in rows], marker="s", color=f"C{i}", label=f"gap, {g}")
        axes[1].plot([x["depth"] for x in rows], [x["exact"] for x in rows], ls="--", color=f"C{i}",
                     label=f"exact MIE, {g}")
    axes[1].set_xlabel("depth")
    axes[1].set_ylabel("bits")
    axes[1].legend(fontsize=7)
    for i, g in enumerate(PAPER_GEOMETRIES):
        for d, ls in ((shallow, "-"), (deep, ":")):
            rows = [x for x in dd if x["geometry"] == g and x["depth"] == d]
            axes[2].errorbar([x["records"] for x in rows], [x["gap"] for x in rows],
                             yerr=[1.96 * x["gap_se"] for x in rows], ls=ls, marker="o", color=f"C{i}",
                             label=f"{g}, depth {d}")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("measurement records")
    axes[2].set_ylabel("gap U − L (bits)")
    axes[2].legend(fontsize=7)
    save_figure(fig, HERE / "mie.png")
    print(f"wrote {HERE}/results.md, results.json, mie.png ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
