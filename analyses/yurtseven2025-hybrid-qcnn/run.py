"""Hybrid QCNN vs parameter-matched CNN (Yurtseven 2025, arXiv:2512.02066), five runs, one-sided Wilcoxon.

    python analyses/yurtseven2025-hybrid-qcnn/run.py                  # breast-cancer (offline stand-in), 5 runs
    python analyses/yurtseven2025-hybrid-qcnn/run.py --data digits --classes 3,8   # an image stand-in (8x8)
    python analyses/yurtseven2025-hybrid-qcnn/run.py --runs 20        # enough runs for a test that can mean something
    python analyses/yurtseven2025-hybrid-qcnn/run.py --data breastmnist.npz --epochs 30
        # the paper's data: BreastMNIST (MedMNIST v2) saved as X (n, 28, 28) and y (n,) in one .npz

Writes results.md, scores.json and wilcoxon.png next to this file (results-<data>-<N>runs.md for
other settings).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from probe.analysis.paired import paired_compare
from probe.qml import datasets
from probe.qml.hybrid import HybridQCNN
from probe.report.format import fmt, fmt_p, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="breast-cancer")
    parser.add_argument("--classes", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from sklearn.model_selection import train_test_split

    classes = args.classes.split(",") if args.classes else None
    data = datasets.load_dataset(args.data, classes=classes)
    shape = None if data.images is None else tuple(data.images.shape[1:])
    train, test = train_test_split(np.arange(len(data.y)), test_size=0.3, stratify=data.y, random_state=0)
    pre = datasets.fit_preprocess(data.X[train], pca=None, scaling="standard")
    x_train, x_test = pre.transform(data.X[train]), pre.transform(data.X[test])
    rows, acc = [], {"qcnn": [], "cnn": []}
    for run in range(args.runs):
        for name, quantum in (("qcnn", True), ("cnn", False)):
            model = HybridQCNN(image_shape=shape, layers=args.layers, quantum=quantum, epochs=args.epochs, seed=run)
            model.fit(x_train, data.y[train])
            a = float((model.predict(x_test) == data.y[test]).mean())
            acc[name].append(a)
            rows.append([run, name, model.n_params_, a])
            print(run, name, model.n_params_, a, flush=True)
    res = paired_compare(acc["qcnn"], acc["cnn"], alternative="greater", name_a="hybrid QCNN", name_b="CNN")
    tests = {t.test: t for t in res.tests}
    lines = [
        f"# Hybrid QCNN vs parameter-matched CNN: {data.name}, {args.runs} runs\n",
        f"Fixed stratified 70/30 split ({len(train)} train / {len(test)} test), {args.epochs} epochs, Adam; "
        f"runs differ in initialisation and batch order (seeds 0..{args.runs - 1}).\n",
        markdown_table(["run", "model", "parameters", "test accuracy"], rows),
        f"\nMean test accuracy: hybrid QCNN {fmt(res.mean_a, 4)}, CNN {fmt(res.mean_b, 4)}.\n",
        markdown_table(["test (one-sided, QCNN > CNN)", "statistic", "p", "smallest attainable p"],
                       [[t.test, t.statistic, fmt_p(t.p_value), fmt_p(t.min_attainable_p) if t.min_attainable_p
                         else "–"] for t in res.tests]),
        f"\nCohen's d_z = {fmt(res.effect.d_z)} (95% CI {fmt(res.effect.ci_low)} to {fmt(res.effect.ci_high)}), "
        f"d_av = {fmt(res.effect.d_av)}, Hedges' g_z = {fmt(res.effect.g_z)}.\n",
        f"\nPairs a paired t-test needs for 80% power at the observed d_z: {res.pairs_for_power}.\n",
    ]
    if res.warnings:
        lines.append("\n" + "\n".join(f"- {w}" for w in res.warnings) + "\n")
    tag = "" if args.runs == 5 and args.data == "breast-cancer" else f"-{Path(args.data).stem}-{args.runs}runs"
    (HERE / f"results{tag}.md").write_text("\n".join(lines))
    (HERE / f"scores{tag}.json").write_text(json.dumps(acc, indent=1) + "\n")
    # the exact null of W+ for n = 5 untied pairs: every sign pattern has probability 1/32
    n = len([d for d in np.subtract(acc["qcnn"], acc["cnn"]) if d != 0])
    w = [sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s) for signs in
         itertools.product([0, 1], repeat=n)]
    values, counts = np.unique(w, return_counts=True)
    fig, ax = new_figure(figsize=(5, 3.2))
    ax.bar(values, counts / 2**n, color="0.6")
    if "wilcoxon" in tests:
        ax.axvline(tests["wilcoxon"].statistic, color="C3", label=f"observed W+ = {tests['wilcoxon'].statistic:g}")
        ax.legend(fontsize=8)
    ax.set_xlabel(f"W+ (sum of ranks of positive differences), n = {n}")
    ax.set_ylabel("null probability")
    ax.set_title(f"exact null: P(W+ = {n * (n + 1) // 2}) = 1/{2**n}", fontsize=9)
    if not tag:
        save_figure(fig, HERE / "wilcoxon.png")
    print((HERE / f"results{tag}.md").read_text())


if __name__ == "__main__":
    main()
