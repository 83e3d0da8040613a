"""CORAL's diagnosis and fix (Rodriguez et al. 2025, arXiv:2506.15933) on sentence embeddings.

The paper: in long-tailed diffusion models, tail-class bottleneck latents overlap head-class
subspaces ("feature borrowing"); relative imbalance, not only the tail's sample count, drives
it; a projection head trained with a supervised contrastive loss separates them. Here, at the
scale that runs on a laptop, with no diffusion model: embeddings of a generated long-tailed
sentence set from the shipped all-MiniLM-L6-v2, probe's overlap measures, and a SupCon head.

    python analyses/rodriguez2025-coral/run.py          # a few minutes
    probe quantum overlap --demo --supcon               # the headline table as a probe run

Part A: overlap before / after the head (held out, 5 repeats).
Part B: does the head leave more tail->head overlap when the imbalance is larger?
  B1 heads fixed (300/200/150), tails of 10..80 sentences; B2 tails fixed at 20, heads scaled.
Writes results.md and imbalance.png next to this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from probe.analysis.overlap import class_overlap
from probe.analysis.supcon import supcon_study
from probe.qml.datasets import DEFAULT_SIZES, long_tail_topics, minilm_embeddings
from probe.report.format import fmt, fmt_p, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
HEADS, TAILS = ("football", "cooking", "finance"), ("rugby", "baking", "crypto")
KW = {"metric": "cosine", "k_neighbors": 10}


def run(sizes: dict[str, int], repeats: int, seed: int) -> tuple[object, object]:
    texts, labels = long_tail_topics(sizes=sizes, seed=seed)
    x, y = minilm_embeddings(texts), np.asarray(labels)
    study = supcon_study(x, y, repeats=repeats, seed=seed, head=list(HEADS), overlap_kwargs=KW, epochs=150)
    return class_overlap(x, y, head=list(HEADS), **KW), study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    full, study = run(DEFAULT_SIZES, args.repeats, args.seed)
    rows = []
    for key, label in (("bhattacharyya", "Bhattacharyya"), ("knn", "kNN mixing / chance"),
                       ("subspace", "subspace cos²"), ("silhouette_tail", "silhouette (tail)")):
        b, a = np.array(study.before[key]), np.array(study.after[key])
        p = study.tests.get(key, {}).get("p_value")
        rows.append([label, fmt(full.tail_head[key]), f"{fmt(b.mean())} ± {fmt(b.std(ddof=1))}",
                     f"{fmt(a.mean())} ± {fmt(a.std(ddof=1))}", fmt_p(p)])
    out = ["# CORAL on MiniLM embeddings of a long-tailed sentence set\n",
           "Classes: " + ", ".join(f"{c} {n}" for c, n in DEFAULT_SIZES.items()) + " (tail topics sit next to a "
           "head topic in meaning). Tail→head means over the 9 (tail, head) pairs.\n",
           markdown_table(["measure", "all data", "held-out, raw", "held-out, SupCon head", "p (one-sided Wilcoxon)"],
                          rows),
           f"\nHeld-out = 30% stratified split, {args.repeats} repeats (mean ± SD); the head never saw those rows.\n"]
    sweeps = {"B1: tail size (heads 300/200/150)": [{**{h: DEFAULT_SIZES[h] for h in HEADS}, **{t: m for t in TAILS}}
                                                    for m in (10, 20, 40, 80)],
              "B2: head scale (tails 20)": [{**{h: max(20, round(DEFAULT_SIZES[h] * s)) for h in HEADS},
                                             **{t: 20 for t in TAILS}} for s in (0.1, 0.33, 1.0)]}
    fig, axes = new_figure(1, 2, figsize=(10, 3.6))
    for ax, (title, configs) in zip(axes, sweeps.items(), strict=True):
        table = []
        ratios, before, after = [], [], []
        for sizes in configs:
            _, st = run(sizes, 3, args.seed)
            ratio = np.mean([sizes[h] for h in HEADS]) / np.mean([sizes[t] for t in TAILS])
            ratios.append(ratio)
            before.append(np.mean(st.before["knn"]))
            after.append(np.mean(st.after["knn"]))
            table.append([", ".join(str(sizes[c]) for c in (*HEADS, *TAILS)), fmt(ratio, 2), fmt(before[-1]),
                          fmt(after[-1]), fmt(np.mean(st.after["silhouette_tail"]))])
            print(title, sizes, before[-1], after[-1], flush=True)
        out += [f"\n## {title}\n", markdown_table(["sizes (heads, tails)", "imbalance (mean head / mean tail)",
                                                   "kNN tail→head raw", "kNN tail→head after head",
                                                   "tail silhouette after"], table)]
        ax.plot(ratios, before, "o-", label="raw MiniLM")
        ax.plot(ratios, after, "s-", label="after SupCon head")
        ax.set_xscale("log")
        ax.set_xlabel("imbalance ratio")
        ax.set_ylabel("tail→head kNN mixing / chance")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    save_figure(fig, HERE / "imbalance.png")
    out.append("\nPart B uses 3 repeats per configuration (held-out kNN mixing, k = 10, cosine).\n")
    (HERE / "results.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
