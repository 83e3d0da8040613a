"""Daskin's quantum LSTM as the paper ran it: noisy-sine regression and a real series, with powers tracked.

Daskin (2025), arXiv:2505.06774; the author's simulation code github.com/adaskin/quantum-lstm
(conference version). probe's rebuild is probe.qml.daskin_qlstm (2 input + 2 memory qubits,
amplitude embedding of kron(normalised Linear(1→4)(x), h), U and a separately trained V, each
2 BasicEntanglerLayers (RY + CNOT ring), ⟨Z⟩ of input wire 1, Adam lr 0.01, MSE, batch 5).

    python analyses/daskin2025-qrnn-training/run.py           # sine: 3 seeds x 2 cells, 150 epochs; El Niño
    python analyses/daskin2025-qrnn-training/run.py --quick   # 1 seed, 20 epochs (a smoke run)

Series: (1) the author's noisy sine, 100 points on [0, 8π], two N(0, 0.1²) noise draws, windows
of 10, 80/20 split of the windows (72 train / 18 test, as in the paper's figure); the author's
current split-the-series-first order as one extra run. (2) A real series that ships offline:
monthly El Niño sea-surface temperature (statsmodels), its last 360 months (1981–2010; the
author's weather run used the last 365 days), min–max scaled on the training range, 100 epochs
(the author's weather run). Beside each: a classical nn.LSTM(hidden 4) + Linear, trained the
same way (the author's twin in the extended version).

During training (every 10 epochs): Zanardi e_p of U, V and VU across the input|memory cut; the
entanglement U creates and V removes on 32 training windows ("in use"); at the start and the
end, the Linden–Smolin–Winter capacities (the paper's "entangling / disentangling power").
Writes results.md, results.json and training.png next to this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from probe.qml.daskin_qlstm import (
    HIDDEN_MODES,
    ClassicalLSTMRegressor,
    DaskinQLSTM,
    elnino_series,
    noisy_sine,
    train_series,
    windows,
)
from probe.report.format import fmt, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
# Read off the author's figures (github adaskin/quantum-lstm, conference-version/figures), by eye:
PAPER_FIGURES = {"sine/collapse": "≈ 0.03 (sin-with-noise-loss-collapsed.png, epoch 150)",
                 "sine/probabilities": "≈ 0.025 (sin-with-noise-loss-density.png, epoch 150)",
                 "weather/collapse": "≈ 0.004 (weather-data-collapsed-loss.png, epoch 100; a different series)"}


def run_one(kind: str, data: tuple, series: str, seed: int, epochs: int, capacity_starts: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    model = ClassicalLSTMRegressor(4, gen=gen) if kind == "lstm" else DaskinQLSTM(hidden=kind, gen=gen)
    t0 = time.perf_counter()
    res = train_series(model, data, series=series, epochs=epochs, batch_size=5, lr=0.01, seed=seed,
                       track_every=10, capacity_starts=capacity_starts)
    print(f"{series} {res.model} seed {seed}: final train loss {res.train_loss[-1]:.4f}, test MSE "
          f"{res.test_mse:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return res.to_dict()


def mean_sd(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    return fmt(v.mean()) if v.size == 1 else f"{fmt(v.mean())} ± {fmt(v.std(ddof=1))}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--capacity-starts", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = range(args.seeds or (1 if args.quick else 3))
    sine_epochs, real_epochs = (20, 10) if args.quick else (150, 100)
    t0 = time.perf_counter()
    sine = windows(noisy_sine(100, noise=0.1, draws=2, seed=123), seq_len=10, order="window-then-split")
    sine_code_split = windows(noisy_sine(100, noise=0.1, draws=2, seed=123), seq_len=10, order="split-then-window")
    sst = elnino_series()[-360:]
    real = windows(sst, seq_len=10, order="window-then-split", scale=True)
    runs = []
    for kind in (*HIDDEN_MODES, "lstm"):
        for seed in seeds:
            runs.append(run_one(kind, sine, "sine", seed, sine_epochs, args.capacity_starts))
    runs.append(run_one("collapse", sine_code_split, "sine (series split first)", 0, sine_epochs, 0))
    for kind in (*HIDDEN_MODES, "lstm"):
        for seed in list(seeds)[:2]:
            runs.append(run_one(kind, real, "El Niño SST", seed, real_epochs, args.capacity_starts))
    elapsed = time.perf_counter() - t0
    (HERE / "results.json").write_text(json.dumps({"runs": runs, "elapsed_s": elapsed}) + "\n")

    rows, power_rows = [], []
    for series in dict.fromkeys(r["series"] for r in runs):
        for model in dict.fromkeys(r["model"] for r in runs if r["series"] == series):
            mine = [r for r in runs if r["series"] == series and r["model"] == model]
            rows.append([series, model, mine[0]["n_params"], len(mine), mean_sd([r["train_loss"][-1] for r in mine]),
                         mean_sd([r["test_mse"] for r in mine]),
                         f"{mine[0]['settings']['train_windows']}/{mine[0]['settings']['test_windows']}"])
            if mine[0]["track"]:
                first = [r["track"][0] for r in mine]
                last = [r["track"][-1] for r in mine]
                for key in ("ep_U", "ep_V", "ep_VU", "inuse_created_U", "inuse_removed_V", "inuse_left_after_V",
                            "cap_entangle_U", "cap_disentangle_V"):
                    if key in first[0] and key in last[0]:
                        power_rows.append([series, model, key, mean_sd([f[key] for f in first]),
                                           mean_sd([f[key] for f in last])])
    md = [f"# Daskin (2025) QLSTM, the paper's experiments — {len(list(seeds))} seed(s), "
          f"{sine_epochs}/{real_epochs} epochs ({elapsed:.0f} s)\n",
          "## Fit (MSE; means ± SD over seeds)\n",
          "Final train loss = the epoch's mean minibatch MSE (the number the author plots); test MSE on the "
          "held-out windows after training.\n",
          markdown_table(["series", "model", "parameters", "seeds", "final train loss", "test MSE",
                          "train/test windows"], rows),
          "\nThe paper's figures, read by eye: " + "; ".join(f"{k}: {v}" for k, v in PAPER_FIGURES.items()) + ".\n",
          "## Entangling / disentangling power, at initialisation and after training\n",
          "e_p: Zanardi's averaged power across the input|memory cut (linear entropy; upper bound (d − 1)/(d + 1) = 0.6 for a 4 x 4 cut). "
          "in-use: bits of input–memory entanglement that U creates from the (product) embedded state and that "
          "V then removes, averaged over all steps of 32 training windows. cap: Linden–Smolin–Winter capacities "
          f"in ebits (max 2; {args.capacity_starts} L-BFGS starts).\n",
          markdown_table(["series", "model", "quantity", "at init", "trained"], power_rows)]
    (HERE / "results.md").write_text("\n".join(md))

    fig, axes = new_figure(2, 3, figsize=(15, 8))
    for i, series in enumerate(("sine", "El Niño SST")):
        for j, model in enumerate(("qlstm-collapse", "qlstm-probabilities", "lstm")):
            for r in (r for r in runs if r["series"] == series and r["model"] == model):
                axes[i][0].plot(range(1, len(r["train_loss"]) + 1), r["train_loss"], color=f"C{j}", alpha=0.7,
                                label=model if r["seed"] == 0 else None)
                if r["seed"] == 0:
                    axes[i][1].plot(r["test_predictions"], marker="*", color=f"C{j}", label=model)
                if r["track"]:
                    ep = [row["epoch"] for row in r["track"]]
                    axes[i][2].plot(ep, [row["inuse_created_U"] for row in r["track"]], color=f"C{j}",
                                    label=f"{model}: created by U" if r["seed"] == 0 else None)
                    axes[i][2].plot(ep, [row["inuse_removed_V"] for row in r["track"]], color=f"C{j}", ls="--",
                                    label=f"{model}: removed by V" if r["seed"] == 0 else None)
        first = next(r for r in runs if r["series"] == series)
        axes[i][1].plot(first["test_targets"], "ko--", ms=3, label="true")
        axes[i][0].set_yscale("log")
        axes[i][0].set_ylabel(f"{series}: train MSE")
        axes[i][1].set_ylabel("test prediction (seed 0)")
        axes[i][2].set_ylabel("in-use entanglement (bits)")
        for ax in axes[i]:
            ax.legend(fontsize=7)
    axes[1][0].set_xlabel("epoch")
    axes[1][1].set_xlabel("test window")
    axes[1][2].set_xlabel("epoch")
    save_figure(fig, HERE / "training.png")
    print("\n".join(md))


if __name__ == "__main__":
    main()
