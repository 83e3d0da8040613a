"""VQR-DQN (Nguyen, Nguyen & Cao 2025, arXiv:2512.05946): ring-VQC Rainbow vs its classical twins on HRAP.

    python analyses/nguyen2025-vqr-dqn/run.py                      # 4 benchmarks x 3 agents x 3 seeds (~1 h here)
    python analyses/nguyen2025-vqr-dqn/run.py --seeds 5            # adds seeds 3, 4 (finished runs are reused)
    python analyses/nguyen2025-vqr-dqn/run.py --benchmarks hrap-3x8 --episodes 100 --out /tmp/vqr   # a quick look
    python analyses/nguyen2025-vqr-dqn/run.py --ablation           # + Rainbow-minus-one-component runs (MLP twin)

Agents (probe.qml.rl): ``vqr-dqn`` (ring VQC features + full Rainbow), ``rainbow-dqn`` (the same with
MLP features, same parameter count), ``double-dqn`` (MLP, double Q only, same parameter count as a
ring VQC with a plain head). Environments: the four generated HRAP benchmarks of
probe.qml.hr_allocation. Metric: normalised makespan reduction of the greedy policy after training,
1 − makespan / mean random makespan. Every finished run is appended to runs.jsonl, so an interrupted
run resumes; results.md, summary.json and learning.png are rebuilt from runs.jsonl.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from probe.qml import hr_allocation as hrap
from probe.qml import rl

HERE = Path(__file__).resolve().parent
AGENTS = ("vqr-dqn", "rainbow-dqn", "double-dqn")
CONFIG = rl.DQNConfig(gamma=1.0, lr=0.003, batch_size=32, buffer_size=10_000, learning_starts=600, train_every=2,
                      target_every=100, n_step=3, alpha=0.5, beta_start=0.4, eps_start=1.0, eps_end=0.02,
                      eps_decay_steps=2000, layers=3, qubits=6, n_atoms=51, sigma0=0.5)
ABLATION = {"no-double": {"double": False}, "no-per": {"prioritized": False}, "1-step": {"n_step": 1},
            "no-dueling": {"dueling": False}, "no-c51": {"distributional": False}, "no-noisy": {"noisy": False}}


def baselines(name: str) -> dict[str, Any]:
    env = rl.make_env(name)()
    inst = env.instance
    rand = hrap.random_makespans(inst, episodes=1000, seed=0)
    greedy = hrap.schedule_makespan(inst, hrap.greedy_assignment(inst))
    best = hrap.optimal_makespan(inst)
    red = lambda m: None if m is None else hrap.makespan_reduction(m, env.baseline)  # noqa: E731
    return {"benchmark": name, "officers": inst.n_officers, "events": inst.n_events,
            "skills": int(inst.capabilities.shape[1]), "random_mean": float(rand.mean()),
            "random_se": float(rand.std(ddof=1) / np.sqrt(rand.size)), "random_best_of_1000": red(float(rand.min())),
            "greedy_eft": red(greedy), "optimum": red(best), "observation": int(env.observation_space.shape[0])}


def run_one(name: str, agent: str, seed: int, episodes: int, config: rl.DQNConfig, variant: str) -> dict[str, Any]:
    res = rl.train_dqn(rl.make_env(name), agent, episodes=episodes, seed=seed, config=config, eval_episodes=1,
                       env_name=name)
    info = res.eval_info[0]
    return {"benchmark": name, "agent": agent, "variant": variant, "seed": seed, "episodes": episodes,
            "reduction": info["reduction"], "makespan": info["makespan"], "n_params": res.n_params,
            "steps": res.steps, "updates": res.updates, "seconds": round(res.seconds, 1),
            "returns": [round(r, 4) for r in res.returns], "config": dataclasses.asdict(res.config)}


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def mean_sd(x: list[float]) -> str:
    x = np.asarray(x, dtype=float)
    return f"{x.mean():.3f} ± {x.std(ddof=1):.3f}" if x.size > 1 else f"{x.mean():.3f}"


def report(runs: list[dict[str, Any]], base: dict[str, dict[str, Any]], out: Path) -> None:
    main = [r for r in runs if r["variant"] == "main"]
    seeds = sorted({r["seed"] for r in main})
    agents = [a for a in AGENTS if any(r["agent"] == a for r in main)]
    benches = [b for b in base if any(r["benchmark"] == b for r in main)]
    cell = {(r["benchmark"], r["agent"], r["seed"]): r for r in main}
    md = ["# VQR-DQN vs classical twins on four generated HRAP benchmarks\n",
          f"Normalised makespan reduction of the greedy policy after training (1 − makespan / mean random "
          f"makespan; higher is better); mean ± SD over seeds {', '.join(map(str, seeds))}. Reference rows: "
          "the greedy earliest-finish heuristic, the best of 1000 random schedules, and the optimum where "
          "the feasible assignments can be enumerated.\n"]
    header = ["benchmark", "M × E (skills)", *agents, "greedy EFT", "best random", "optimum", "random makespan"]
    rows = []
    for b in benches:
        bb = base[b]
        row = [b, f"{bb['officers']} × {bb['events']} ({bb['skills']})"]
        for a in agents:
            row.append(mean_sd([cell[(b, a, s)]["reduction"] for s in seeds if (b, a, s) in cell]))
        row += [f"{bb['greedy_eft']:.3f}", f"{bb['random_best_of_1000']:.3f}",
                "—" if bb["optimum"] is None else f"{bb['optimum']:.3f}",
                f"{bb['random_mean']:.2f} ± {bb['random_se']:.2f}"]
        rows.append(row)
    pooled = ["all four (mean)", ""]
    complete = [s for s in seeds if all((b, a, s) in cell for b in benches for a in agents)]
    for a in agents:
        per_seed = [np.mean([cell[(b, a, s)]["reduction"] for b in benches]) for s in complete]
        pooled.append(mean_sd(per_seed) if per_seed else "—")
    pooled += [f"{np.mean([base[b]['greedy_eft'] for b in benches]):.3f}",
               f"{np.mean([base[b]['random_best_of_1000'] for b in benches]):.3f}", "", ""]
    rows.append(pooled)
    md += [_table(header, rows), ""]
    params = ["parameters", ""] + [str(sorted({cell[(b, a, s)]["n_params"] for b in benches for s in seeds
                                              if (b, a, s) in cell})) for a in agents]
    md += ["Parameters per network (one value per benchmark: the observation and action sizes differ):\n",
           _table(["", "", *agents], [params]), ""]
    comps = []
    for other in ("rainbow-dqn", "double-dqn"):
        if "vqr-dqn" not in agents or other not in agents:
            continue
        pairs = [(cell[(b, "vqr-dqn", s)], cell[(b, other, s)]) for b in benches for s in seeds
                 if (b, "vqr-dqn", s) in cell and (b, other, s) in cell]
        if len(pairs) >= 3:
            a = [p[0]["reduction"] for p in pairs]
            o = [p[1]["reduction"] for p in pairs]
            d = np.asarray(a) - np.asarray(o)
            # scipy directly: probe.analysis.paired.paired_compare's noncentral-t CI of d_z fails for some t
            wil = stats.wilcoxon(a, o, alternative="two-sided", zero_method="wilcox").pvalue if np.any(d) else 1.0
            rel = [(q["makespan"] - v["makespan"]) / q["makespan"] for v, q in pairs]
            comps.append([f"vqr-dqn vs {other}", f"{len(pairs)} ({int(np.sum(d != 0))} non-zero)",
                          f"{d.mean():+.3f}", f"{100 * np.mean(rel):+.1f} %", f"{wil:.3g}",
                          f"{stats.ttest_rel(a, o).pvalue:.3g}", f"{d.mean() / d.std(ddof=1):.2f}"])
    if comps:
        md += ["Paired by (benchmark, seed), two-sided: difference in reduction, relative makespan "
               "improvement (makespan_other − makespan_vqr) / makespan_other, Wilcoxon signed-rank p (zero "
               "differences dropped; exact when no ties), paired-t p, Cohen's d_z = mean(d)/SD(d):\n",
               _table(["comparison", "pairs", "Δ reduction", "relative makespan gain", "Wilcoxon p", "paired t p",
                       "d_z"], comps), ""]
    abl = [r for r in runs if r["variant"] != "main"]
    if abl:
        names = ["full", *ABLATION]
        arow = []
        for b in sorted({r["benchmark"] for r in abl}):
            full = [cell[(b, "rainbow-dqn", s)]["reduction"] for s in seeds if (b, "rainbow-dqn", s) in cell]
            row = [b, mean_sd(full) if full else "—"]
            for n in ABLATION:
                vals = [r["reduction"] for r in abl if r["benchmark"] == b and r["variant"] == n]
                row.append(mean_sd(vals) if vals else "—")
            arow.append(row)
        md += ["Ablation of the classical Rainbow twin (rainbow-dqn minus one component; same seeds):\n",
               _table(["benchmark", *names], arow), ""]
    secs = {a: np.mean([r["seconds"] for r in main if r["agent"] == a]) for a in agents}
    md += ["Mean training time per run (s, shared 2-core machine): "
           + ", ".join(f"{a} {secs[a]:.0f}" for a in agents) + ".\n"]
    cfg = main[0]["config"] if main else {}
    md += ["## Settings\n", f"Episodes per run: {sorted({r['episodes'] for r in main})}; config (vqr-dqn, "
           "resolved): " + ", ".join(f"{k}={v}" for k, v in cfg.items()) + ".\n"]
    (out / "results.md").write_text("\n".join(md))
    summary = {"baselines": base, "seeds": seeds, "agents": agents,
               "runs": [{k: v for k, v in r.items() if k not in ("returns", "config")} for r in runs]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    _figure(main, benches, agents, out)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def _figure(main: list[dict[str, Any]], benches: list[str], agents: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(benches), figsize=(3.2 * len(benches), 3.0), squeeze=False)
    for ax, b in zip(axes[0], benches, strict=True):
        for i, a in enumerate(agents):
            curves = np.array([r["returns"] for r in main if r["benchmark"] == b and r["agent"] == a])
            if curves.size == 0:
                continue
            k = 20
            smooth = np.array([np.convolve(c, np.ones(k) / k, mode="valid") for c in curves])
            x = np.arange(smooth.shape[1]) + k
            ax.plot(x, smooth.mean(0), color=f"C{i}", label=a)
            ax.fill_between(x, smooth.min(0), smooth.max(0), color=f"C{i}", alpha=0.15)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(b, fontsize=9)
        ax.set_xlabel("episode")
    axes[0][0].set_ylabel("training return\n(= makespan reduction)")
    fig.suptitle("20-episode moving mean over seeds; band: min–max over seeds", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "learning.png", dpi=130)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=",".join(hrap.BENCHMARKS))
    parser.add_argument("--agents", default=",".join(AGENTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--ablation", action="store_true", help="also rainbow-dqn minus each component")
    parser.add_argument("--ablation-benchmark", default="hrap-4x12")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.out / "runs.jsonl"
    runs = load(cache)
    done = {(r["benchmark"], r["agent"], r["variant"], r["seed"], r["episodes"]) for r in runs}
    benches = args.benchmarks.split(",")
    base = {b: baselines(b) for b in benches}
    todo = [(b, a, "main", s, CONFIG) for s in range(args.seeds) for b in benches for a in args.agents.split(",")]
    if args.ablation:
        todo += [(args.ablation_benchmark, "mlp-dqn", n, s,
                  dataclasses.replace(rl.resolve_config("rainbow-dqn", CONFIG), **kw))
                 for s in range(args.seeds) for n, kw in ABLATION.items()]
    for b, a, variant, s, cfg in todo:
        if (b, a, variant, s, args.episodes) in done:
            continue
        rec = run_one(b, a, s, args.episodes, cfg, variant)
        print(f"{b} {a} {variant} seed {s}: reduction {rec['reduction']:.3f} ({rec['seconds']:.0f} s)", flush=True)
        with cache.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        runs.append(rec)
    report([r for r in runs if r["episodes"] == args.episodes and r["benchmark"] in benches], base, args.out)
    sys.stdout.write((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
