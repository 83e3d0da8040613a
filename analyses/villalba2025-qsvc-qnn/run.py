"""QSVC vs QNN vs classical models (Villalba-Ferreiro, Mosqueira-Rey & Alvarez-Estevez 2025, arXiv:2512.03094).

    python analyses/villalba2025-qsvc-qnn/run.py            # iris (5x3 folds) and digits-pca8 (5x1), ~10 min here
    python analyses/villalba2025-qsvc-qnn/run.py --seeds 5 --epochs 60    # closer to a full study

Writes results.md and scores.png next to this file. Every model sees the same splits; PCA and
scaling are fit on training folds only. digits-pca8 (scikit-learn's 8x8 digits, PCA to 8
components, 10 classes) stands in for the paper's MNIST-PCA, which needs a download.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from probe.experiments.quantum.classify import summary_rows
from probe.qml import datasets
from probe.qml.cross_validation import compare_to_baselines, cross_validate, model_specs
from probe.report.format import fmt, fmt_p, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
MODELS = ["qsvc", "qnn", "svm-rbf", "logreg", "mlp"]


def study(name: str, seeds: list[int], epochs: int) -> tuple[list[str], object]:
    data = datasets.load_dataset(name)
    specs = model_specs(MODELS, encodings=["angle", "zz"] if name == "iris" else ["angle"], epochs=epochs)
    specs = [s for s in specs if not (s.kind == "qnn" and s.options["encoding"] == "zz")]
    scores = cross_validate(data, specs, n_folds=5, seeds=seeds, on_step=lambda m: print(name, m, flush=True))
    _, table = compare_to_baselines(scores, alternative="two-sided")
    lines = [f"## {name} ({data.X.shape[0]} samples, {data.n_features} features, {len(data.classes)} classes; "
             f"5 folds x seeds {seeds})\n"]
    rows = [[m["model"], m["family"], f"{fmt(m['accuracy'])} ± {fmt(m['accuracy_se_corrected'])}", fmt(m["f1"]),
             m["n_params"], fmt(m["fit_seconds"], 2)] for m in summary_rows(scores)]
    lines.append(markdown_table(["model", "family", "accuracy (± corrected SE)", "macro-F1", "parameters",
                                 "fit (s)"], rows))
    nb = table[table.test == "corrected-resampled-t"]
    lines.append("\nQuantum vs classical, two-sided Nadeau-Bengio corrected t (Holm over all pairs):\n")
    lines.append(markdown_table(["quantum", "classical", "mean difference", "d_z", "p (Holm)"],
                                [[r.a, r.b, fmt(r.mean_a - r.mean_b, 4), fmt(r.d_z), fmt_p(r.p_holm)]
                                 for r in nb.itertuples()]))
    if "alignment" in scores:
        k = scores.dropna(subset=["alignment"]).groupby("model")[["alignment", "kernel_mean", "kernel_var"]].mean()
        lines.append("\nKernel diagnostics (training Gram matrices): alignment, mean and variance of K:\n")
        lines.append(markdown_table(["model", "alignment", "mean K", "var K"],
                                    [[m, *k.loc[m].tolist()] for m in k.index]))
    return lines, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=None, help="repeats of 5-fold CV (default 3 iris, 1 digits)")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = ["# QSVC vs QNN vs classical baselines\n"]
    fig, axes = new_figure(1, 2, figsize=(10, 3.8))
    for ax, name, n_seeds in zip(axes, ["iris", "digits-pca8"], [args.seeds or 3, args.seeds or 1], strict=True):
        lines, scores = study(name, list(range(n_seeds)), args.epochs)
        out += [*lines, "\n"]
        models = list(dict.fromkeys(scores["model"]))
        ax.boxplot([scores[scores.model == m]["accuracy"] for m in models], showmeans=True)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("accuracy per split")
    save_figure(fig, HERE / "scores.png")
    (HERE / "results.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
