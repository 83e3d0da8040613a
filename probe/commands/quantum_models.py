"""``probe quantum classify | compare | rl | overlap``: quantum models beside classical baselines.

``register(subparsers)`` is called by ``probe/commands/quantum.py`` with the sub-command
parsers of ``probe quantum``. Parsing only: ``dest`` of every flag is the study's setting
name, and :func:`probe.commands.quantum_common.run_command` makes the one library call.
"""

from __future__ import annotations

from typing import Any

from probe.commands.quantum_common import add_common

ALTERNATIVES = ("greater", "less", "two-sided")


def register(subparsers: Any) -> None:
    """Add ``classify``, ``compare``, ``rl`` and ``overlap`` to the ``probe quantum`` sub-commands."""
    p = subparsers.add_parser("classify", help="quantum kernels and classifiers vs classical baselines (k-fold)",
                              description="Repeated stratified k-fold of quantum classifiers (QSVC, QNN, hybrid "
                                          "QCNN) beside classical baselines, with paired tests. Score rows are saved "
                                          "as they are made; rerun with the same --out to resume.")
    p.add_argument("--data", required=True,
                   help="iris, digits, breast-cancer, wine (optionally -pcaN, e.g. digits-pca8), or a .csv/.npz file")
    p.add_argument("--classes", default=None, help="keep only these classes, e.g. 3,8")
    p.add_argument("--label-column", default=None, help="label column of a CSV (default: the last)")
    p.add_argument("--models", default="qsvc,qnn,svm-rbf,logreg,mlp",
                   help="comma-separated: qsvc, qnn, qcnn, svm-rbf, logreg, mlp, cnn")
    p.add_argument("--encoding", default="angle", help="comma-separated: angle, zz, amplitude (qsvc also angle-ring)")
    p.add_argument("--ansatz", default="ring", help="comma-separated QNN ansätze: ring, line (= hea), star, all, simN")
    p.add_argument("--layers", type=int, default=2, help="ansatz layers (default 2)")
    p.add_argument("--epochs", type=int, default=60, help="QNN training epochs (QCNN/CNN: half)")
    p.add_argument("--lr", type=float, default=0.05, help="QNN learning rate (Adam)")
    p.add_argument("--reps", type=int, default=2, help="repetitions of the ZZ feature map")
    p.add_argument("--folds", type=int, default=5, help="folds of the stratified k-fold split (default 5)")
    p.add_argument("--seeds", type=int, default=5, help="repeats of the k-fold split (seeds seed..seed+N-1)")
    p.add_argument("--metric", choices=("accuracy", "f1"), default="accuracy", help="metric of the paired tests")
    p.add_argument("--alternative", choices=ALTERNATIVES, default="greater",
                   help="claim tested for each quantum model against each baseline")
    p.add_argument("--alpha", type=float, default=0.05, help="size of the paired tests (default 0.05)")
    add_common(p, "quantum-classify")

    p = subparsers.add_parser("compare", help="paired tests of two models' scores (Wilcoxon, t, d_z, power)",
                              description="Paired comparison of two runs (or two models of one run) on the "
                                          "same folds/seeds.")
    p.add_argument("run_a", help="run folder of `probe quantum classify`, or a CSV with fold, seed, metric")
    p.add_argument("run_b", nargs="?", default=None, help="second run or CSV (default: same as run_a)")
    p.add_argument("--model-a", default=None, help="model of run_a (needed when it holds several)")
    p.add_argument("--model-b", default=None, help="model of run_b")
    p.add_argument("--metric", default="accuracy", help="score column (default accuracy)")
    p.add_argument("--alternative", choices=ALTERNATIVES, default="greater", help="claim: A greater than B")
    p.add_argument("--alpha", type=float, default=0.05, help="size of the paired tests (default 0.05)")
    p.add_argument("--pair-on", default="fold,seed", help="columns that identify a pair (default fold,seed)")
    p.add_argument("--no-cv-correction", dest="cv_correction", action="store_false",
                   help="skip the Nadeau-Bengio corrected t even when n_train/n_test are known")
    add_common(p, "quantum-compare")

    p = subparsers.add_parser("rl", help="DQN / Rainbow with ring-VQC features beside parameter-matched MLPs",
                              description="VQR-DQN (Nguyen et al. 2025): Rainbow DQN (double Q, prioritised replay, "
                                          "n-step, dueling, C51, noisy nets; each switchable) with ring-topology VQC "
                                          "features, beside classical twins of the same parameter count. Runs are "
                                          "saved per (agent, seed); rerun with the same --out to resume.")
    p.add_argument("--env", default="CartPole-v1",
                   help="gymnasium id (Box observation, Discrete actions), bandit, coin-bandit, chain, or an HRAP "
                        "benchmark: hrap-3x8, hrap-4x12, hrap-5x16, hrap-6x20")
    p.add_argument("--agent", default="vqc-ring-dqn,mlp-dqn",
                   help="comma-separated: vqc-ring-dqn, mlp-dqn (components from the flags), vqr-dqn, rainbow-dqn "
                        "(full Rainbow), double-dqn")
    p.add_argument("--episodes", type=int, default=300, help="training episodes per agent and seed (default 300)")
    p.add_argument("--seeds", type=int, default=1, help="independent runs per agent (seeds seed..seed+N-1)")
    p.add_argument("--layers", type=int, default=4, help="VQC layers (the MLP is sized to match)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (both agents)")
    p.add_argument("--batch-size", type=int, default=64, help="replay minibatch size (default 64)")
    p.add_argument("--train-every", type=int, default=2, help="environment steps per gradient update")
    p.add_argument("--n-step", type=int, default=3, help="n of the n-step returns (default 3)")
    p.add_argument("--no-double", dest="double", action="store_false", help="plain max target instead of double Q")
    p.add_argument("--no-per", dest="prioritized", action="store_false", help="uniform instead of prioritised replay")
    p.add_argument("--gamma", type=float, default=0.99, help="discount factor (default 0.99; 1 for HRAP)")
    p.add_argument("--dueling", action="store_true", help="dueling head (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--noisy", action="store_true", help="noisy-net head instead of ε-greedy (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--distributional", action="store_true", help="C51 head, 51 atoms (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--qubits", type=int, default=None,
                   help="VQC width (default: one qubit per observation feature; else a linear map to this many)")
    p.add_argument("--eval-episodes", type=int, default=10, help="greedy evaluation episodes after training")
    add_common(p, "quantum-rl")

    p = subparsers.add_parser("overlap", help="latent class overlap, head vs tail, and a SupCon head that reduces it",
                              description="Class overlap of embeddings (CORAL diagnosis).")
    p.add_argument("embeddings", nargs="?", help="embeddings .npy, shape (n, d)")
    p.add_argument("labels", nargs="?", help="labels .npy, shape (n,)")
    p.add_argument("--demo", action="store_true", help="use the generated long-tail topic sentences + MiniLM")
    p.add_argument("--head", default=None, help="comma-separated head classes (default: by count)")
    p.add_argument("--tail-fraction", type=float, default=0.25, help="tail = count < this x the largest")
    p.add_argument("--k", type=int, default=10, help="neighbours for the kNN mixing rate")
    p.add_argument("--metric", choices=("euclidean", "cosine"), default="cosine",
                   help="distance of the k-nearest-neighbour overlap (default cosine)")
    p.add_argument("--supcon", action="store_true", help="train a SupCon projection head and re-measure held out")
    p.add_argument("--repeats", type=int, default=5, help="random splits for the SupCon study")
    p.add_argument("--test-size", type=float, default=0.3, help="held-out share per repeat (default 0.3)")
    p.add_argument("--dim", type=int, default=32, help="output dimension of the SupCon head (default 32)")
    p.add_argument("--hidden", type=int, default=256, help="hidden width of the SupCon head (default 256)")
    p.add_argument("--epochs", type=int, default=200, help="SupCon training epochs (default 200)")
    p.add_argument("--lr", type=float, default=1e-3, help="SupCon learning rate (Adam, default 1e-3)")
    p.add_argument("--temperature", type=float, default=0.1, help="SupCon loss temperature (default 0.1)")
    add_common(p, "quantum-overlap")
