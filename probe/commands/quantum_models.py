"""``probe quantum classify | compare | rl | overlap``: quantum models beside classical baselines.

``register(subparsers)`` is called by ``probe/commands/quantum.py`` with the
sub-command parsers of ``probe quantum``. Every command validates its input
before creating the run folder, then writes ``result.json``, ``report.md``,
``table.tex`` and figures through :mod:`probe.report.quantum_models`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probe.commands._run import finish_run, progress_bar
from probe.errors import ConfigError, DataError

ALTERNATIVES = ("greater", "less", "two-sided")


# --------------------------------------------------------------------------- shared plumbing


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<experiment>-<name>-<time>/)")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampled number (default 0)")






def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# --------------------------------------------------------------------------- compare


def _load_scores(source: str, model: str | None, metric: str, side: str) -> tuple[Any, str, dict[str, Any]]:
    """Scores of one model from a run folder (result.json "scores") or a CSV file."""
    import pandas as pd

    path = Path(source)
    if path.is_dir():
        result_path = path / "result.json"
        if not result_path.exists():
            raise ConfigError(f"{path}: no result.json", hint="pass a finished probe run folder or a CSV file")
        try:
            result = json.loads(result_path.read_text())
        except ValueError as exc:
            raise DataError(f"{result_path}: not valid JSON ({exc})") from exc
        if "scores" not in result:
            raise DataError(f"{result_path}: no 'scores' (experiment {result.get('experiment')!r})",
                            hint="compare runs of `probe quantum classify` or CSV files of scores")
        frame = pd.DataFrame(result["scores"])
    elif path.suffix == ".csv" and path.exists():
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: unreadable CSV ({exc})") from exc
    else:
        raise ConfigError(f"{source}: not a run folder or a .csv file of scores")
    if metric not in frame.columns:
        raise DataError(f"{source}: no {metric!r} column", hint=f"columns: {', '.join(map(str, frame.columns))}")
    if "model" in frame.columns:
        models = sorted(frame["model"].astype(str).unique())
        if model is None and len(models) > 1:
            raise ConfigError(f"{source}: holds {len(models)} models ({', '.join(models)})",
                              hint=f"choose one with --model-{side}")
        model = model or models[0]
        if model not in models:
            raise ConfigError(f"{source}: no model {model!r}", hint=f"models: {', '.join(models)}")
        frame = frame[frame["model"].astype(str) == model]
    model = model or path.stem
    return frame.reset_index(drop=True), model, {"source": str(source), "model": model}


def _constant(frame: Any, column: str) -> int | None:
    """The split size of a score table (rounded mean; k-fold sizes differ by at most one row)."""
    if column not in frame.columns or frame[column].isna().any():
        return None
    values = frame[column].astype(float)
    if values.min() <= 0 or values.max() > 1.05 * values.min():
        return None
    return round(float(values.mean()))


def run_compare(args: argparse.Namespace) -> int:
    from probe.analysis import paired

    on = _csv(args.pair_on)
    a_frame, a_name, a_info = _load_scores(args.run_a, args.model_a, args.metric, "a")
    b_source = args.run_b or args.run_a
    b_frame, b_name, b_info = _load_scores(b_source, args.model_b, args.metric, "b")
    if b_source == args.run_a and a_name == b_name:
        raise ConfigError("model A and model B are the same scores", hint="pass two runs or --model-a/--model-b")
    xa, xb, joined = paired.pair_scores(a_frame, b_frame, metric=args.metric, on=on)
    if len(xa) < 3:
        raise DataError(f"only {len(xa)} paired scores; a paired comparison needs at least 3")
    n_train, n_test = _constant(a_frame, "n_train"), _constant(a_frame, "n_test")
    cv = args.cv_correction and n_train is not None and n_test is not None

    def compute() -> dict[str, Any]:
        res = paired.paired_compare(xa, xb, alternative=args.alternative, alpha=args.alpha,
                                    n_train=n_train if cv else None, n_test=n_test if cv else None,
                                    name_a=a_name, name_b=b_name)
        table = paired.comparisons_frame([res])
        pairs = [{**{k: joined[k].iloc[i] for k in on}, "a": float(xa[i]), "b": float(xb[i])}
                 for i in range(len(xa))]
        return {"a": a_info, "b": b_info, "metric": args.metric, "alternative": args.alternative,
                "alpha": args.alpha, "pair_on": on, "n": res.n, "mean_a": res.mean_a, "mean_b": res.mean_b,
                "tests": table.drop(columns=["a", "b"]).to_dict(orient="records"), "effect": res.effect.to_dict(),
                "pairs_for_power": res.pairs_for_power, "power": res.power,
                "min_pairs_wilcoxon": res.min_pairs_wilcoxon, "warnings": list(res.warnings), "pairs": pairs}

    settings = {"run_a": str(args.run_a), "run_b": str(b_source), "model_a": a_name, "model_b": b_name,
                "metric": args.metric, "alternative": args.alternative, "alpha": args.alpha, "seed": args.seed}
    return _finish_run("quantum-compare", f"{a_name}-vs-{b_name}", args, settings, compute)


# --------------------------------------------------------------------------- overlap


def _load_embeddings(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    import numpy as np

    from probe.qml.datasets import long_tail_topics, minilm_embeddings

    if args.demo:
        texts, labels = long_tail_topics(seed=args.seed)
        return minilm_embeddings(texts), np.asarray(labels), {
            "name": "long-tail topics (MiniLM)", "source": "probe.qml.datasets.long_tail_topics embedded with "
            "all-MiniLM-L6-v2 (384-d, unit norm)", "n_texts": len(texts)}
    if not args.embeddings or not args.labels:
        raise ConfigError("overlap needs EMBEDDINGS.npy and LABELS.npy (or --demo)")
    arrays = []
    for p in (args.embeddings, args.labels):
        path = Path(p)
        if not path.exists():
            raise DataError(f"{path}: no such file")
        try:
            arrays.append(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable .npy array ({exc})",
                            hint="save with numpy.save; string labels as a unicode array") from exc
    return arrays[0], arrays[1], {"name": Path(args.embeddings).stem, "source": str(args.embeddings)}


def run_overlap(args: argparse.Namespace) -> int:
    import numpy as np

    from probe.analysis.overlap import class_overlap
    from probe.analysis.supcon import supcon_study

    x, y, data = _load_embeddings(args)
    kw = {"k_neighbors": args.k, "metric": args.metric, "tail_fraction": args.tail_fraction}
    head = _csv(args.head) if args.head else None
    before = class_overlap(x, y, head=head, **kw)  # validates shapes and labels before any folder exists

    def compute() -> dict[str, Any]:
        out: dict[str, Any] = {"data": data, "before": before.to_dict()}
        if args.supcon:
            with progress_bar() as bar:
                bar.add_task("SupCon head", total=None)
                study = supcon_study(x, y, repeats=args.repeats, test_size=args.test_size, seed=args.seed,
                                     head=list(before.head), overlap_kwargs=kw, dim=args.dim, hidden=args.hidden,
                                     epochs=args.epochs, lr=args.lr, temperature=args.temperature)
            summary = {k: {side: {"mean": float(np.mean(v[k])), "sd": float(np.std(v[k], ddof=1)) if args.repeats > 1
                                  else None, "values": v[k]} for side, v in (("before", study.before),
                                                                              ("after", study.after))}
                       for k in study.before}
            out["supcon"] = {"dim": args.dim, "hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
                             "temperature": args.temperature, "repeats": args.repeats, "test_size": args.test_size,
                             "seeds": list(study.seeds), "final_losses": list(study.final_losses),
                             "held_out_before": {k: v["before"] for k, v in summary.items()},
                             "held_out_after": {k: v["after"] for k, v in summary.items()},
                             "tests": study.tests, "example_after": study.example_after.to_dict()}
        if len(y) <= 3000:
            from sklearn.manifold import TSNE

            pts = TSNE(n_components=2, random_state=args.seed, init="pca",
                       perplexity=min(30.0, (len(y) - 1) / 3)).fit_transform(np.asarray(x, dtype=np.float64))
            out["embedding_2d"] = {"method": "t-SNE", "points": pts.round(4).tolist(),
                                   "labels": [str(v) for v in y]}
        return out

    settings = {"embeddings": str(args.embeddings), "labels": str(args.labels), "demo": args.demo, "k": args.k,
                "metric": args.metric, "head": head, "supcon": args.supcon, "seed": args.seed}
    return _finish_run("quantum-overlap", data["name"], args, settings, compute)


# --------------------------------------------------------------------------- classify

MAX_QUBITS = 16


def run_classify(args: argparse.Namespace) -> int:
    import numpy as np

    from probe.qml.cross_validation import compare_to_baselines, cross_validate, model_specs
    from probe.qml.datasets import load_dataset
    from probe.qml.kernels import n_qubits_for

    data = load_dataset(args.data, label_column=args.label_column,
                        classes=_csv(args.classes) if args.classes else None)
    specs = model_specs(_csv(args.models), encodings=_csv(args.encoding), ansatze=_csv(args.ansatz),
                        layers=args.layers, epochs=args.epochs, lr=args.lr, reps=args.reps)
    for spec in specs:
        if spec.kind in ("qsvc", "qnn"):
            q = n_qubits_for(data.n_features, spec.options["encoding"])
            if q > MAX_QUBITS:
                raise ConfigError(f"{spec.name}: {data.n_features} features need {q} qubits with "
                                  f"{spec.options['encoding']} encoding (limit {MAX_QUBITS})",
                                  hint=f"reduce the features, e.g. --data {args.data.split('-pca')[0]}-pca8, "
                                       "or use --encoding amplitude")
    if args.folds < 2 or args.seeds < 1:
        raise ConfigError("--folds must be >= 2 and --seeds >= 1")
    seeds = [args.seed + i for i in range(args.seeds)]
    counts = np.bincount(data.y)
    if counts.min() < args.folds:
        raise ConfigError(f"--folds {args.folds} exceeds the smallest class of {args.data} ({counts.min()} rows)",
                          hint="use fewer folds")

    def compute() -> dict[str, Any]:
        total = args.folds * len(seeds) * len(specs)
        with progress_bar() as bar:
            task = bar.add_task("fitting", total=total)
            scores = cross_validate(data, specs, n_folds=args.folds, seeds=seeds,
                                    on_step=lambda name: bar.update(task, advance=1, description=name))
        _, table = compare_to_baselines(scores, metric=args.metric, alternative=args.alternative, alpha=args.alpha)
        return {"dataset": data.summary(), "models": [{"name": s.name, "kind": s.kind, "family": s.family,
                                                       **s.options} for s in specs],
                "folds": args.folds, "seeds": seeds, "metric": args.metric, "alternative": args.alternative,
                "alpha": args.alpha, "scores": scores.to_dict(orient="records"),
                "summary": _summary(scores), "comparisons": table.to_dict(orient="records")}

    settings = {"data": args.data, "classes": args.classes, "models": args.models, "encoding": args.encoding,
                "ansatz": args.ansatz, "layers": args.layers, "epochs": args.epochs, "lr": args.lr,
                "reps": args.reps, "folds": args.folds, "seeds": args.seeds, "seed": args.seed}
    return _finish_run("quantum-classify", Path(args.data).stem, args, settings, compute)


def _summary(scores: Any) -> list[dict[str, Any]]:
    """Mean, SD, naive and Nadeau-Bengio-corrected standard errors per model."""
    import math

    out = []
    for model, g in scores.groupby("model", sort=False):
        j = len(g)
        ratio = float(g["n_test"].mean() / g["n_train"].mean())
        row: dict[str, Any] = {"model": model, "family": g["family"].iloc[0], "n_splits": j,
                               "n_params": int(g["n_params"].median()), "fit_seconds": float(g["fit_seconds"].mean())}
        for metric in ("accuracy", "f1"):
            sd = float(g[metric].std(ddof=1)) if j > 1 else float("nan")
            row[metric] = float(g[metric].mean())
            row[f"{metric}_sd"] = sd
            row[f"{metric}_se"] = sd / math.sqrt(j)
            row[f"{metric}_se_corrected"] = sd * math.sqrt(1 / j + ratio)
        for extra in ("alignment", "kernel_mean", "kernel_var"):
            if extra in g and g[extra].notna().any():
                row[extra] = float(g[extra].mean())
        if "n_qubits" in g and g["n_qubits"].notna().any():
            row["n_qubits"] = int(g["n_qubits"].max())
        out.append(row)
    return out


# --------------------------------------------------------------------------- rl


def run_rl(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from probe.analysis.paired import comparisons_frame, paired_compare
    from probe.qml import rl

    agents = _csv(args.agent)
    bad = [a for a in agents if a not in rl.AGENTS]
    if bad or not agents:
        raise ConfigError(f"--agent: unknown agent(s) {', '.join(bad) or '(none)'}", hint=f"use {', '.join(rl.AGENTS)}")
    if args.episodes < 1 or args.seeds < 1:
        raise ConfigError("--episodes and --seeds must be >= 1")
    factory = rl.make_env(args.env)  # validates the environment before any folder exists
    cfg = rl.DQNConfig(lr=args.lr, layers=args.layers, n_step=args.n_step, double=args.double,
                       prioritized=args.prioritized, train_every=args.train_every, batch_size=args.batch_size,
                       gamma=args.gamma, dueling=args.dueling, noisy=args.noisy, distributional=args.distributional,
                       qubits=args.qubits)
    rl.check_setup(agents, factory, cfg)
    seeds = [args.seed + i for i in range(args.seeds)]

    def compute() -> dict[str, Any]:
        runs = []
        with progress_bar() as bar:
            task = bar.add_task("episodes", total=len(agents) * len(seeds) * args.episodes)
            for agent in agents:
                for seed in seeds:
                    bar.update(task, description=f"{agent} seed {seed}")
                    res = rl.train_dqn(factory, agent, episodes=args.episodes, seed=seed, config=cfg,
                                       eval_episodes=args.eval_episodes, env_name=args.env,
                                       on_episode=lambda _e, _r: bar.update(task, advance=1))
                    runs.append(res)
        summary = []
        for agent in agents:
            mine = [r for r in runs if r.agent == agent]
            last = [float(np.mean(r.returns[-20:])) for r in mine]
            ev = [float(np.mean(r.eval_returns)) for r in mine if r.eval_returns]
            summary.append({"agent": agent, "n_seeds": len(mine), "n_params": mine[0].n_params,
                            "last20_mean": float(np.mean(last)),
                            "last20_sd": float(np.std(last, ddof=1)) if len(last) > 1 else None,
                            "eval_mean": float(np.mean(ev)) if ev else None,
                            "eval_sd": float(np.std(ev, ddof=1)) if len(ev) > 1 else None,
                            "eval_episodes": args.eval_episodes, "steps_mean": float(np.mean([r.steps for r in mine])),
                            "seconds_mean": float(np.mean([r.seconds for r in mine]))})
        for row in summary:
            resolved = rl.resolve_config(row["agent"], cfg)
            row["components"] = {k: getattr(resolved, k) for k in ("double", "prioritized", "n_step", "dueling",
                                                                    "noisy", "distributional")}
        comparisons: list[dict[str, Any]] = []
        score = {(r.agent, r.seed): float(np.mean(r.eval_returns or r.returns[-20:])) for r in runs}
        comps = []
        for quantum, classical in rl.TWINS.items():
            if len(seeds) >= 3 and quantum in agents and classical in agents:
                a = [score[(quantum, s)] for s in seeds]
                b = [score[(classical, s)] for s in seeds]
                if np.any(np.asarray(a) != np.asarray(b)):
                    comps.append(paired_compare(a, b, alternative="two-sided", name_a=quantum, name_b=classical))
        if comps:
            comparisons = comparisons_frame(comps).to_dict(orient="records")
        return {"env": args.env, "agents": agents, "seeds": seeds, "episodes": args.episodes,
                "config": dataclasses.asdict(cfg), "summary": summary, "comparisons": comparisons,
                "runs": [{"agent": r.agent, "seed": r.seed, "returns": list(r.returns),
                          "eval_returns": list(r.eval_returns), "losses": list(r.losses), "n_params": r.n_params,
                          "steps": r.steps, "updates": r.updates, "seconds": r.seconds} for r in runs]}

    settings = {"env": args.env, "agent": args.agent, "episodes": args.episodes, "seeds": args.seeds,
                "seed": args.seed, "config": dataclasses.asdict(cfg)}
    return _finish_run("quantum-rl", f"{args.env}", args, settings, compute)


# --------------------------------------------------------------------------- registration


def register(subparsers: Any) -> None:
    """Add ``classify``, ``compare``, ``rl`` and ``overlap`` to the ``probe quantum`` sub-commands."""
    p = subparsers.add_parser("classify", help="quantum kernels and classifiers vs classical baselines (k-fold)",
                              description="Repeated stratified k-fold of quantum classifiers (QSVC, QNN, hybrid "
                                          "QCNN) beside classical baselines, with paired tests.")
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
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, default=5, help="repeats of the k-fold split (seeds seed..seed+N-1)")
    p.add_argument("--metric", choices=("accuracy", "f1"), default="accuracy", help="metric of the paired tests")
    p.add_argument("--alternative", choices=ALTERNATIVES, default="greater",
                   help="claim tested for each quantum model against each baseline")
    p.add_argument("--alpha", type=float, default=0.05)
    _add_common(p)
    p.set_defaults(func=run_classify)

    p = subparsers.add_parser("compare", help="paired tests of two models' scores (Wilcoxon, t, d_z, power)",
                              description="Paired comparison of two runs (or two models of one run) on the "
                                          "same folds/seeds.")
    p.add_argument("run_a", help="run folder of `probe quantum classify`, or a CSV with fold, seed, metric")
    p.add_argument("run_b", nargs="?", default=None, help="second run or CSV (default: same as run_a)")
    p.add_argument("--model-a", default=None, help="model of run_a (needed when it holds several)")
    p.add_argument("--model-b", default=None, help="model of run_b")
    p.add_argument("--metric", default="accuracy", help="score column (default accuracy)")
    p.add_argument("--alternative", choices=ALTERNATIVES, default="greater", help="claim: A greater than B")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--pair-on", default="fold,seed", help="columns that identify a pair (default fold,seed)")
    p.add_argument("--no-cv-correction", dest="cv_correction", action="store_false",
                   help="skip the Nadeau-Bengio corrected t even when n_train/n_test are known")
    _add_common(p)
    p.set_defaults(func=run_compare)

    p = subparsers.add_parser("rl", help="DQN / Rainbow with a ring-VQC feature extractor beside a parameter-matched MLP",
                              description="VQR-DQN (Nguyen et al. 2025): Rainbow DQN (double Q, prioritised replay, "
                                          "n-step, dueling, C51, noisy nets; each switchable) with ring-topology VQC "
                                          "features, beside classical twins with the same parameter count.")
    p.add_argument("--env", default="CartPole-v1",
                   help="gymnasium id (Box observation, Discrete actions), bandit, coin-bandit, chain, or an HRAP "
                        "benchmark: hrap-3x8, hrap-4x12, hrap-5x16, hrap-6x20")
    p.add_argument("--agent", default="vqc-ring-dqn,mlp-dqn",
                   help="comma-separated: vqc-ring-dqn, mlp-dqn (components from the flags), vqr-dqn, rainbow-dqn "
                        "(full Rainbow), double-dqn")
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--seeds", type=int, default=1, help="independent runs per agent (seeds seed..seed+N-1)")
    p.add_argument("--layers", type=int, default=4, help="VQC layers (the MLP is sized to match)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (both agents)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-every", type=int, default=2, help="environment steps per gradient update")
    p.add_argument("--n-step", type=int, default=3)
    p.add_argument("--no-double", dest="double", action="store_false", help="plain max target instead of double Q")
    p.add_argument("--no-per", dest="prioritized", action="store_false", help="uniform instead of prioritised replay")
    p.add_argument("--dueling", action="store_true", help="dueling head (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--noisy", action="store_true", help="noisy-net head instead of ε-greedy (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--distributional", action="store_true", help="C51 head, 51 atoms (vqc-ring-dqn, mlp-dqn)")
    p.add_argument("--qubits", type=int, default=None,
                   help="VQC width (default: one qubit per observation feature; else a linear map to this many)")
    p.add_argument("--gamma", type=float, default=0.99, help="discount (use 1 for the finite HRAP episodes)")
    p.add_argument("--eval-episodes", type=int, default=10, help="greedy evaluation episodes after training")
    _add_common(p)
    p.set_defaults(func=run_rl)

    p = subparsers.add_parser("overlap", help="latent class overlap, head vs tail, and a SupCon head that reduces it",
                              description="Class overlap of embeddings (CORAL diagnosis).")
    p.add_argument("embeddings", nargs="?", help="embeddings .npy, shape (n, d)")
    p.add_argument("labels", nargs="?", help="labels .npy, shape (n,)")
    p.add_argument("--demo", action="store_true", help="use the generated long-tail topic sentences + MiniLM")
    p.add_argument("--head", default=None, help="comma-separated head classes (default: by count)")
    p.add_argument("--tail-fraction", type=float, default=0.25, help="tail = count < this x the largest")
    p.add_argument("--k", type=int, default=10, help="neighbours for the kNN mixing rate")
    p.add_argument("--metric", choices=("euclidean", "cosine"), default="cosine")
    p.add_argument("--supcon", action="store_true", help="train a SupCon projection head and re-measure held out")
    p.add_argument("--repeats", type=int, default=5, help="random splits for the SupCon study")
    p.add_argument("--test-size", type=float, default=0.3)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--temperature", type=float, default=0.1)
    _add_common(p)
    p.set_defaults(func=run_overlap)


def _finish_run(experiment: str, name: str, args: argparse.Namespace, settings: dict[str, Any],
                compute: Callable[[], dict[str, Any]]) -> int:
    from probe.report.quantum_models import render

    return finish_run(experiment, name, args.out, settings, compute, render)
