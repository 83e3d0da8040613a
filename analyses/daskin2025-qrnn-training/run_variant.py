"""probe's own density-matrix QRNN/QLSTM variant on generated sequence tasks (not the paper's cell).

Daskin (2025, arXiv:2505.06774) proposes reading a unitary's entangling power as an LSTM's
"retention" and its disentangling power as "forgetting" (after Linden, Smolin & Winter 2009).
The paper's own cell and experiments are rebuilt in run.py; this script keeps probe's earlier
variant, a different model (angle-encoded data register discarded by partial trace each step,
classification tasks). It trains QRNN / QLSTM cells (probe.qml.recurrent)
and a parameter-matched classical LSTM on two tasks and records, during training, e_p and
e_p(U†) of each cell unitary across the data|memory cut, the Linden-Smolin-Winter capacities
(entangling / disentangling, numerical maxima), and the memory entropy per time step.

    python analyses/daskin2025-qrnn-training/run_variant.py         # 2 tasks x 3 cells x 3 seeds, minutes
    python analyses/daskin2025-qrnn-training/run_variant.py --seeds 10 --length 8 --epochs 150

Writes variant_results.md, variant_results.json and variant_training.png next to this file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from probe.qml.recurrent import train_recurrent
from probe.report.format import fmt, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
TASKS = {"parity": {"n_memory": 1}, "recall": {"n_memory": 1}}
CELLS = ("qrnn", "qlstm", "lstm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--length", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--capacity-starts", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for task, kw in TASKS.items():
        for cell in CELLS:
            for seed in range(args.seeds):
                r = train_recurrent(task, cell, length=args.length, epochs=args.epochs, track_every=5,
                                    capacity_starts=args.capacity_starts, seed=seed, **kw)
                print(task, cell, seed, r.final_test_accuracy, flush=True)
                runs.append(r.to_dict())
    (HERE / "variant_results.json").write_text(json.dumps(runs) + "\n")
    rows = []
    for task in TASKS:
        for cell in CELLS:
            mine = [r for r in runs if r["task"] == task and r["cell"] == cell]
            acc = [r["final_test_accuracy"] for r in mine]
            last = [r["track"][-1] for r in mine]
            def stat(key: str, last: list = last) -> str:
                vals = [row[key] for row in last if key in row]
                return f"{fmt(np.mean(vals))} ± {fmt(np.std(vals, ddof=1))}" if len(vals) > 1 else "–"
            first = [r["track"][0] for r in mine]
            ep0 = [row["ep_0"] for row in first if "ep_0" in row]
            rows.append([task, cell, mine[0]["n_params"], f"{fmt(np.mean(acc))} ± {fmt(np.std(acc, ddof=1))}",
                         fmt(np.mean(ep0)) if ep0 else "–", stat("ep_0"), stat("ep_1"),
                         stat("cap_entangle_0"), stat("cap_disentangle_0"), stat("cap_disentangle_1")])
    header = ["task", "cell", "parameters", "test accuracy", "e_p(U_0) at init", "e_p(U_0) trained",
              "e_p(U_1) trained", "entangling capacity U_0 (ebit)", "disentangling capacity U_0",
              "disentangling capacity U_1"]
    text = [f"# probe's density-matrix variant (not the paper's cell): {args.seeds} seeds, length {args.length}, "
            f"{args.epochs} epochs\n",
            markdown_table(header, rows),
            "\nMeans ± SD over seeds. e_p is Zanardi's entangling power across the data|memory cut (CNOT = 2/9 "
            "for a qubit|qubit cut); e_p(U†) equalled e_p(U) in every run (the average measure cannot tell "
            "entangling from disentangling, see the method note); capacities are L-BFGS maxima over input states "
            f"({args.capacity_starts} starts), lower bounds on the Linden-Smolin-Winter suprema. U_0 = the QRNN's "
            "unitary or the QLSTM's write unitary; U_1 = the QLSTM's read unitary.\n"]
    (HERE / "variant_results.md").write_text("\n".join(text))
    fig, axes = new_figure(2, 3, figsize=(12, 6.5))
    for i, task in enumerate(TASKS):
        for cell_i, cell in enumerate(CELLS):
            for r in (r for r in runs if r["task"] == task and r["cell"] == cell):
                ep = [row["epoch"] for row in r["track"]]
                axes[i][0].plot(ep, [row["test_accuracy"] for row in r["track"]], color=f"C{cell_i}", alpha=0.7,
                                label=cell if r["seed"] == 0 else None)
                if "ep_0" in r["track"][0]:
                    axes[i][1].plot(ep, [row["ep_0"] for row in r["track"]], color=f"C{cell_i}", alpha=0.7,
                                    label=f"{cell} U_0" if r["seed"] == 0 else None)
                    if "ep_1" in r["track"][0]:
                        axes[i][1].plot(ep, [row["ep_1"] for row in r["track"]], color=f"C{cell_i}", ls="--",
                                        alpha=0.7, label=f"{cell} U_1" if r["seed"] == 0 else None)
                    axes[i][2].plot(range(1, args.length + 1), r["track"][-1]["memory_entropy"], marker="o",
                                    color=f"C{cell_i}", alpha=0.7, label=cell if r["seed"] == 0 else None)
        axes[i][1].axhline(2 / 9, color="k", lw=0.7, ls=":")
        axes[i][0].set_ylabel(f"{task}: test accuracy")
        axes[i][1].set_ylabel("entangling power e_p")
        axes[i][2].set_ylabel("memory entropy (bits)")
        for ax in axes[i]:
            ax.legend(fontsize=7)
    axes[1][0].set_xlabel("epoch")
    axes[1][1].set_xlabel("epoch")
    axes[1][2].set_xlabel("time step (trained cell)")
    save_figure(fig, HERE / "variant_training.png")
    print("\n".join(text))


if __name__ == "__main__":
    main()
