"""Stacked QNN training vs one fit at a time, on the cross-validation splits of a README example.

    python bench/qnn_stacked.py                       # digits-pca8, angle + amplitude, 5 folds x 1 seed, 3 epochs
    python bench/qnn_stacked.py --data iris --seeds 5 --epochs 60 --encoding angle

For each encoding, the QNNs of every (fold, seed) split are fitted one after another
(``QNNClassifier.fit``, the previous way) and then all together
(``probe.qml.stacked.fit_qnns``), in the same process on the same preprocessed folds;
prints both wall times, their ratio, the time per Adam step, and the largest difference in
test-set probabilities between the two. Numba compiles its kernels in an untimed warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from probe.qml import datasets
from probe.qml.classifiers import QNNClassifier
from probe.qml.stacked import fit_qnns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="digits-pca8")
    ap.add_argument("--encoding", default="angle,amplitude")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--layers", type=int, default=2)
    args = ap.parse_args()
    data = datasets.load_dataset(args.data)
    splits = datasets.stratified_splits(data.y, n_folds=args.folds, seeds=list(range(args.seeds)))
    print(f"{args.data}: {len(splits)} splits, {args.epochs} epochs, {args.layers} layers; load average "
          f"{os.getloadavg()[0]:.2f}")
    for enc in args.encoding.split(","):
        folds, tests = [], []
        for s in splits:
            pre = datasets.fit_preprocess(data.X[s.train], pca=data.pca, scaling="standard" if enc == "amplitude"
                                          else "angle")
            folds.append((pre.transform(data.X[s.train]), data.y[s.train]))
            tests.append(pre.transform(data.X[s.test]))

        def make(s: datasets.Split, epochs: int = args.epochs, enc: str = enc) -> QNNClassifier:
            return QNNClassifier(encoding=enc, ansatz="ring", layers=args.layers, epochs=epochs, reps=2,
                                 seed=1000 * s.seed + s.fold)

        fit_qnns([make(s, 1) for s in splits[:2]], folds[:2])  # warm-up: numba compiles
        make(splits[0], 1).fit(*folds[0])
        t = time.perf_counter()
        alone = [make(s).fit(*f) for s, f in zip(splits, folds, strict=True)]
        t_alone = time.perf_counter() - t
        t = time.perf_counter()
        together = fit_qnns([make(s) for s in splits], folds)
        t_together = time.perf_counter() - t
        steps = args.epochs * int(np.ceil(folds[0][0].shape[0] / 32))
        diff = max(float(np.abs(a.predict_proba(x) - b.predict_proba(x)).max())
                   for a, b, x in zip(alone, together, tests, strict=True))
        q = alone[0].module_.n_qubits
        print(f"  qnn-{enc} ({q} qubits): one at a time {t_alone:.2f} s ({1000 * t_alone / (steps * len(splits)):.1f} "
              f"ms a step), stacked {t_together:.2f} s ({1000 * t_together / steps:.1f} ms a stacked step of "
              f"{len(splits)} models): {t_alone / t_together:.1f}x; max |d proba| {diff:.1e}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
