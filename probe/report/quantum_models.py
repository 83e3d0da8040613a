"""Reports of the ``probe quantum`` model commands: classify, compare, rl, overlap.

Each renderer rebuilds report.md (with a methods paragraph written from the
run), a LaTeX table and PNG figures from ``result.json`` alone, so
``probe report RUN`` gives the same files as the run itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from probe.io import atomic_write_text
from probe.report.format import flat_view, fmt, fmt_p, markdown_table, new_figure, save_figures, write_table

TEST_NAMES = {"wilcoxon": "Wilcoxon signed-rank (exact)", "sign": "sign test", "paired-t": "paired t",
              "corrected-resampled-t": "corrected resampled t (Nadeau-Bengio)"}


class _Table:
    """A table to write as table.tex + table.csv (the arguments of :func:`write_table`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


def render(run_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """Dispatch on ``result["experiment"]``."""
    result = flat_view(doc)
    kind = str(result.get("experiment", ""))
    renderer = {"quantum-compare": _render_compare, "quantum-overlap": _render_overlap,
                "quantum-classify": _render_classify, "quantum-rl": _render_rl}.get(kind)
    if renderer is None:
        from probe.errors import DataError

        raise DataError(f"{run_dir}/result.json: not a quantum-model run ({kind!r})")
    return renderer(Path(run_dir), result)


def _write(run_dir: Path, md: str, tex: str, figures: list[Path]) -> list[Path]:
    return [atomic_write_text(run_dir / "report.md", md), *write_table(run_dir, "table", *tex.args, **tex.kwargs),
            *figures]


def _num(x: Any) -> Any:
    """Whole numbers print without decimals (W+, df), the rest through fmt."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _tests_rows(tests: list[dict[str, Any]]) -> list[list[Any]]:
    return [[TEST_NAMES.get(t["test"], t["test"]), _num(t["statistic"]), _num(t.get("df")), t["n"],
             fmt_p(t["p_value"]), fmt_p(t.get("p_holm")) if t.get("p_holm") is not None else "–",
             fmt_p(t.get("min_attainable_p")) if t.get("min_attainable_p") else "–"]
            for t in tests]


_TEST_HEADER = ["test", "statistic", "df", "n", "p", "p (Holm)", "smallest attainable p"]


def _effect_line(e: dict[str, Any]) -> str:
    return (f"Cohen's d_z = {fmt(e['d_z'])} (95% CI {fmt(e['ci_low'])} to {fmt(e['ci_high'])}, noncentral t), "
            f"Hedges' g_z = {fmt(e['g_z'])}, d_av = {fmt(e['d_av'])}; mean difference {fmt(e['mean_difference'], 4)} "
            f"± {fmt(e['sd_difference'], 4)} (SD) over n = {e['n']} pairs")


# --------------------------------------------------------------------------- compare


def compare_methods(r: dict[str, Any]) -> str:
    a, b = r["a"], r["b"]
    cv = any(t["test"] == "corrected-resampled-t" for t in r["tests"])
    return (
        f"We compared {a['model']} ({a['source']}) with {b['model']} ({b['source']}) on {r['metric']}, pairing "
        f"scores by {' and '.join(r['pair_on'])} (n = {r['n']} pairs), with probe {r.get('probe_version')}. "
        f"Tests were {r['alternative']} (claim: {a['model']} {'>' if r['alternative'] == 'greater' else '<' if r['alternative'] == 'less' else '≠'} "
        f"{b['model']}) at α = {r['alpha']}: the Wilcoxon signed-rank test with its exact null distribution "
        "(zero differences dropped; mid-ranks for ties), the exact sign test, Student's paired t-test"
        + (", and the Nadeau-Bengio corrected resampled t-test, which accounts for the overlap of training sets "
           "between cross-validation folds" if cv else "")
        + ". The effect size is Cohen's d_z = mean(d)/sd(d) with a noncentral-t confidence interval; d_av "
        "(difference of means over the average SD, pingouin's paired 'cohen') is reported beside it because papers "
        "rarely say which d they give. Power: the number of pairs a paired t-test needs for "
        f"{int(100 * r['power'])}% power at the observed d_z; the exact Wilcoxon test cannot reach p ≤ α with fewer "
        f"than {r['min_pairs_wilcoxon']} non-zero pairs."
    )


def _render_compare(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    rows = _tests_rows(r["tests"])
    need = r.get("pairs_for_power")
    md = [f"# Paired comparison: {r['a']['model']} vs {r['b']['model']} ({r['metric']})\n",
          f"Mean {r['metric']}: {r['a']['model']} {fmt(r['mean_a'], 4)}, {r['b']['model']} {fmt(r['mean_b'], 4)}; "
          f"n = {r['n']} pairs.\n", markdown_table(_TEST_HEADER, rows), "\n" + _effect_line(r["effect"]) + ".\n",
          f"\nPower: {need if need else 'no finite number of'} pairs for {int(100 * r['power'])}% power at the "
          f"observed d_z (paired t, α = {r['alpha']}, {r['alternative']}).\n"]
    if r.get("warnings"):
        md.append("\n**Warnings**\n\n" + "\n".join(f"- {w}" for w in r["warnings"]) + "\n")
    md.append("\n## Methods\n\n" + compare_methods(r) + "\n")
    tex = _Table(_TEST_HEADER, rows, caption=f"Paired tests, {r['a']['model']} vs {r['b']['model']} "
                      f"({r['metric']}, n = {r['n']})", label="tab:quantum-compare")
    pairs = r["pairs"]
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(9, 3.6))
    for p in pairs:
        ax1.plot([0, 1], [p["a"], p["b"]], color="0.6", lw=0.8)
    ax1.scatter([0] * len(pairs), [p["a"] for p in pairs], color="C0", zorder=3)
    ax1.scatter([1] * len(pairs), [p["b"] for p in pairs], color="C1", zorder=3)
    ax1.set_xticks([0, 1], [r["a"]["model"], r["b"]["model"]])
    ax1.set_ylabel(r["metric"])
    ax1.set_title("paired scores")
    diffs = [p["a"] - p["b"] for p in pairs]
    ax2.hist(diffs, bins=min(20, max(5, len(diffs) // 2)), color="C2")
    ax2.axvline(0, color="k", lw=0.8)
    ax2.set_xlabel(f"{r['metric']} difference (A − B)")
    ax2.set_title(f"n = {len(diffs)}")
    return _write(run_dir, "\n".join(md), tex, save_figures(fig, run_dir / "paired"))


# --------------------------------------------------------------------------- overlap


def overlap_methods(r: dict[str, Any]) -> str:
    b = r["before"]
    text = (
        f"Embeddings: {r['data']['source']} ({b['n']} rows, {b['dim']} dimensions, {len(b['classes'])} classes; "
        f"head = {', '.join(b['head'])}; tail = {', '.join(b['tail']) or 'none'}). Class overlap was measured four "
        f"ways with probe {r.get('probe_version')}: the Bhattacharyya coefficient between Gaussian fits of each "
        f"class in a shared {b['gaussian_dim']}-dimensional PCA space (Ledoit-Wolf covariances; 1 = identical, 0 = "
        f"separated); the {b['k_neighbors']}-nearest-neighbour mixing rate ({b['metric']} distance) divided by its "
        "chance level (0 = separated, 1 = indistinguishable; row = class of the point, so tail→head is 'feature "
        f"borrowing'); the mean cos² of the principal angles between {b['subspace_dim']}-dimensional class PCA "
        "subspaces; and per-class silhouette widths. CORAL (Rodriguez et al. 2025, arXiv:2506.15933) shows the "
        "overlap with t-SNE plots and defines no scalar measure; these are probe's."
    )
    if r.get("supcon"):
        s = r["supcon"]
        text += (
            f" To reduce overlap we trained a projection head (Linear {b['dim']}→{s['hidden']}, ReLU, Linear →"
            f"{s['dim']}, L2-normalised) with the supervised contrastive loss (Khosla et al. 2020; τ = "
            f"{s['temperature']}, as in the CORAL code; Adam, lr {s['lr']}, {s['epochs']} epochs) on a stratified "
            f"{int(100 * (1 - s['test_size']))}% training split, and measured overlap on the held-out "
            f"{int(100 * s['test_size'])}% before and after projection, over {s['repeats']} repeats (new split and "
            "seed each); the change is tested with the paired tests of `probe quantum compare`."
        )
    return text


def _overlap_rows(o: dict[str, Any]) -> list[list[Any]]:
    th = o["tail_head"]
    return [["Bhattacharyya (tail→head)", th["bhattacharyya"]], ["kNN mixing / chance (tail→head)", th["knn"]],
            ["subspace cos² (tail↔head)", th["subspace"]], ["silhouette (tail classes)", th["silhouette_tail"]]]


def _heatmap(ax: Any, mat: Any, classes: list[str], title: str) -> None:
    m = np.array(mat, dtype=float)
    np.fill_diagonal(m, np.nan)  # self-overlap is 1 by definition (or a large within-class rate): hide it
    im = ax.imshow(m, vmin=0, vmax=max(1.0, float(np.nanmax(m))), cmap="viridis")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)


def _render_overlap(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    before = r["before"]
    md = [f"# Latent class overlap: {r['data']['name']}\n",
          "Class sizes: " + ", ".join(f"{c} {n}" for c, n in zip(before["classes"], before["counts"], strict=True))
          + ".\n"]
    header = ["measure", "all data"]
    rows = _overlap_rows(before)
    s = r.get("supcon")
    if s:
        header = ["measure", "all data", "held-out before", "held-out after (SupCon head)", "p (Wilcoxon)"]
        for row, key in zip(rows, ("bhattacharyya", "knn", "subspace", "silhouette_tail"), strict=True):
            rb, ra = s["held_out_before"][key], s["held_out_after"][key]
            row += [f"{fmt(rb['mean'])} ± {fmt(rb['sd'])}", f"{fmt(ra['mean'])} ± {fmt(ra['sd'])}",
                    fmt_p(s["tests"][key]["p_value"]) if s["tests"].get(key) else "–"]
    md.append(markdown_table(header, rows))
    if s:
        md.append(f"\nHeld-out values are mean ± SD over {s['repeats']} repeats; p is the one-sided exact Wilcoxon "
                  "test that the head lowers the measure (raises it for the silhouette).\n")
    md.append("\n## Methods\n\n" + overlap_methods(r) + "\n")
    if before.get("notes"):
        md.append("\nNotes: " + "; ".join(before["notes"]) + ".\n")
    tex = _Table(header, rows, caption=f"Tail-to-head class overlap, {r['data']['name']}",
                      label="tab:quantum-overlap")
    panels = [("before", before)] + ([("after (SupCon, held-out)", s["example_after"])] if s else [])
    fig, axes = new_figure(len(panels), 2, figsize=(9, 3.8 * len(panels)), squeeze=False)
    for row_axes, (name, o) in zip(axes, panels, strict=True):
        _heatmap(row_axes[0], o["knn"], o["classes"], f"kNN mixing / chance, {name}")
        _heatmap(row_axes[1], o["bhattacharyya"], o["classes"], f"Bhattacharyya, {name}")
    figures = save_figures(fig, run_dir / "overlap")
    if r.get("embedding_2d"):
        fig, ax = new_figure(figsize=(5, 4.5))
        pts = np.asarray(r["embedding_2d"]["points"])
        labels = np.asarray(r["embedding_2d"]["labels"])
        for i, c in enumerate(before["classes"]):
            m = labels == c
            ax.scatter(pts[m, 0], pts[m, 1], s=6 if c in before["head"] else 18, label=f"{c} ({m.sum()})",
                       marker="o" if c in before["head"] else "^", color=f"C{i % 10}", alpha=0.7)
        ax.legend(fontsize=7, markerscale=1.5)
        ax.set_title(f"{r['embedding_2d']['method']} of the embeddings", fontsize=9)
        figures += save_figures(fig, run_dir / "embedding")
    return _write(run_dir, "\n".join(md), tex, figures)


# --------------------------------------------------------------------------- classify


def _model_line(m: dict[str, Any]) -> str:
    kind = m["kind"]
    if kind == "qsvc":
        reps = f" ({m['reps']} repetitions)" if m["encoding"] in ("zz", "angle-ring") else ""
        return (f"{m['name']}: SVC (C = 1) on the exact fidelity kernel |<φ(x)|φ(x')>|² of the {m['encoding']} "
                f"feature map{reps}")
    if kind == "qnn":
        enc = f"{m['encoding']} encoding" + (f" ({m['reps']} repetitions)" if m["encoding"] == "zz" else "")
        return (f"{m['name']}: {enc}, {m['ansatz']} ansatz with {m['layers']} layer(s) of RY/RZ "
                f"rotations and CNOT entanglers, <Z> of every qubit through a linear readout; Adam (lr {m['lr']}, "
                f"{m['epochs']} epochs, batch 32), cross-entropy, initial angles uniform in [0, 2π)")
    if kind in ("qcnn", "cnn"):
        what = ("hybrid quantum-classical CNN (Yurtseven 2025): conv trunk, an amplitude-encoding and an "
                "angle-encoding 4-qubit ring VQC" if kind == "qcnn"
                else "the parameter-matched classical twin of the hybrid CNN")
        return f"{m['name']}: {what} ({m['layers']} layer(s)), Adam (lr 0.01, {m['epochs']} epochs)"
    return {"svm-rbf": f"{m['name']}: scikit-learn SVC, RBF kernel, C = 1, gamma = 'scale'",
            "logreg": f"{m['name']}: scikit-learn logistic regression (L2, C = 1)",
            "mlp": f"{m['name']}: scikit-learn MLP, one hidden layer sized to match the QNN's parameter count",
            }.get(kind, m["name"])


def classify_methods(r: dict[str, Any]) -> str:
    d = r["dataset"]
    pca = f"standardised, reduced by PCA to {d['pca']} components" if d.get("pca") else "standardised"
    stand_in = (" The hybrid QCNN paper used BreastMNIST, which probe does not ship; this dataset is an offline "
                "stand-in." if any(m["kind"] in ("qcnn", "cnn") for m in r["models"]) else "")
    counts = ", ".join(f"{c} {n}" for c, n in zip(d["classes"], d["class_counts"], strict=True))
    return (
        f"Data: {d['name']} ({d['n']} samples, {d['n_raw_features']} raw features, {len(d['classes'])} classes: "
        f"{counts}; source {d['source']}).{stand_in} Every model was trained and tested on the same {r['folds']}-fold "
        f"stratified splits, repeated with shuffling seeds {', '.join(map(str, r['seeds']))} "
        f"({r['folds'] * len(r['seeds'])} splits). Features were {pca} with the fit made on each training fold only, "
        "then scaled to [0, π] on the training range for angle and ZZ encodings (standardised for amplitude encoding "
        "and classical models; CNNs read the raw pixels). Models: " + "; ".join(_model_line(m) for m in r["models"])
        + f". Quantum states were simulated exactly (statevector, complex128) with probe {r.get('probe_version')}. "
        "Accuracy and macro-F1 are reported as mean ± the Nadeau-Bengio corrected standard error (the naive SE over "
        f"overlapping splits is too small). Each quantum model was compared with each classical model on {r['metric']} "
        f"over the shared splits ({r['alternative']}): exact Wilcoxon signed-rank, sign test, paired t and the "
        "corrected resampled t, with Holm's correction over all comparisons of the same test; the effect size is "
        "Cohen's d_z."
    )


def _render_classify(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    summary = r["summary"]
    rows = [[m["model"], m["family"], f"{fmt(m['accuracy'])} ± {fmt(m['accuracy_se_corrected'])}",
             f"{fmt(m['f1'])} ± {fmt(m['f1_se_corrected'])}", m["n_params"], m["n_splits"], fmt(m["fit_seconds"], 2)]
            for m in summary]
    header = ["model", "family", "accuracy", "macro-F1", "parameters", "splits", "fit (s)"]
    md = [f"# Quantum vs classical classifiers on {r['dataset']['name']}\n", markdown_table(header, rows)]
    kern = [m for m in summary if "alignment" in m]
    if kern:
        md.append("\nKernel diagnostics (training Gram matrices, mean over splits): alignment with the labels, and "
                  "concentration (mean and variance of off-diagonal entries; Haar-random states give 1/2^q).\n")
        md.append(markdown_table(["model", "qubits", "alignment", "mean K", "1/2^q", "var K"],
                                 [[m["model"], m.get("n_qubits"), m["alignment"], m["kernel_mean"],
                                   2.0 ** -m["n_qubits"] if m.get("n_qubits") else None, m["kernel_var"]]
                                  for m in kern]))
    comp = r["comparisons"]
    if comp:
        md.append(f"\n## Paired comparisons ({r['metric']}, {r['alternative']}; Holm-adjusted p)\n")
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        for c in comp:
            pairs.setdefault((c["a"], c["b"]), {"c": c})[c["test"]] = c["p_holm"]
        crow = [[a, b, fmt(v["c"]["mean_a"] - v["c"]["mean_b"], 4),
                 f"{fmt(v['c']['d_z'])} [{fmt(v['c']['d_z_ci_low'])}, {fmt(v['c']['d_z_ci_high'])}]",
                 fmt_p(v.get("wilcoxon")), fmt_p(v.get("paired-t")), fmt_p(v.get("corrected-resampled-t"))]
                for (a, b), v in pairs.items()]
        md.append(markdown_table(["quantum", "classical", "mean difference", "d_z [95% CI]", "p Wilcoxon",
                                  "p paired t", "p corrected t"], crow))
        md.append("\nThe splits share training data, so the Wilcoxon and paired t-tests are anti-conservative; "
                  "the corrected resampled t (Nadeau-Bengio) is the test to trust for k-fold scores. All statistics "
                  "are in result.json (`comparisons`).\n")
    md.append("\n## Methods\n\n" + classify_methods(r) + "\n")
    tex = _Table(header, rows, caption=f"Accuracy and macro-F1 (mean ± corrected SE) on {r['dataset']['name']}",
                      label="tab:quantum-classify")
    models = [m["model"] for m in summary]
    by_model = {m: [s[r["metric"]] for s in r["scores"] if s["model"] == m] for m in models}
    fig, ax = new_figure(figsize=(max(4.5, 1.1 * len(models)), 3.8))
    ax.boxplot([by_model[m] for m in models], showmeans=True)
    ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
    ax.set_ylabel(f"{r['metric']} per split")
    ax.set_title(f"{r['dataset']['name']}: {r['folds']} folds × {len(r['seeds'])} seeds", fontsize=9)
    return _write(run_dir, "\n".join(md), tex, save_figures(fig, run_dir / "scores"))


# --------------------------------------------------------------------------- rl


def rl_methods(r: dict[str, Any]) -> str:
    c = r["config"]
    names = {"double": "double Q-learning", "prioritized": "proportional prioritised replay", "dueling": "a dueling head",
             "noisy": "noisy nets (factorised Gaussian) instead of ε-greedy", "distributional": "a C51 head"}

    def parts(comp: dict[str, Any]) -> str:
        on = [names[k] for k in names if comp.get(k)] + [f"{comp.get('n_step', c['n_step'])}-step returns"]
        return ", ".join(on)

    agents = "; ".join(f"{s['agent']}: {parts(s.get('components', c))}" for s in r["summary"])
    return (
        f"Environment: {r['env']}; {r['episodes']} training episodes per run, seeds "
        f"{', '.join(map(str, r['seeds']))}. Agents (DQN, Mnih et al. 2015, with a target network copied every "
        f"{c['target_every']} updates and the Rainbow components of Hessel et al. 2018 that each agent uses): "
        f"{agents}. Prioritised replay: α = {c['alpha']}, β from {c['beta_start']} to 1, last {c['buffer_size']} "
        f"transitions; ε-greedy (agents without noisy nets) from {c['eps_start']} to {c['eps_end']} over "
        f"{c['eps_decay_steps']} steps; C51 on {c['n_atoms']} atoms; Adam (lr {c['lr']}), batch {c['batch_size']}, "
        f"one update every {c['train_every']} steps after {c['learning_starts']} warm-up steps, Huber loss (C51: "
        f"cross-entropy), γ = {c['gamma']}. Quantum agents (vqc-ring-dqn, vqr-dqn) use a {c['layers']}-layer data "
        "re-uploading ring VQC as feature extractor ("
        + ("one qubit per observation feature" if c.get("qubits") is None else
           f"{c['qubits']} qubits after a trainable linear map") +
        "; RX(λ·arctan x) encoding with trainable λ, RY/RZ rotations, CNOT ring; features ⟨Z⟩ of each qubit), "
        "simulated exactly with probe's statevector simulator; classical agents use a one-hidden-layer ReLU "
        "network sized to the same total parameter count. After training, the greedy policy (noise off) was "
        f"evaluated on {r['summary'][0]['eval_episodes']} episodes with fresh environment seeds."
    )


def _render_rl(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    header = ["agent", "parameters", "seeds", "return, last 20 episodes", "greedy evaluation return", "steps",
              "time (s)"]

    def pm(mean: Any, sd: Any) -> str:
        return fmt(mean, 2) + (f" ± {fmt(sd, 2)}" if sd is not None else "")

    rows = [[s["agent"], s["n_params"], s["n_seeds"], pm(s["last20_mean"], s["last20_sd"]),
             pm(s["eval_mean"], s["eval_sd"]), int(s["steps_mean"]), fmt(s["seconds_mean"], 2)]
            for s in r["summary"]]
    md = [f"# DQN / Rainbow on {r['env']}: ring VQC vs parameter-matched MLP\n", markdown_table(header, rows),
          "\nMeans ± SD over seeds; the evaluation return is the mean over greedy episodes per seed.\n"]
    if r["comparisons"]:
        crow = [[f"{c.get('a', '')} vs {c.get('b', '')}", TEST_NAMES.get(c["test"], c["test"]), _num(c["statistic"]),
                 fmt_p(c["p_value"])] for c in r["comparisons"]]
        md.append("\nPaired by seed (evaluation return, two-sided):\n\n"
                  + markdown_table(["pair", "test", "statistic", "p"], crow))
    elif len(r["seeds"]) < 3:
        md.append("\nWith fewer than 3 seeds no paired test is run; use --seeds 5 or more for a claim.\n")
    md.append("\n## Methods\n\n" + rl_methods(r) + "\n")
    tex = _Table(header, rows, caption=f"DQN agents on {r['env']}", label="tab:quantum-rl")
    fig, ax = new_figure(figsize=(6.5, 3.8))
    for i, agent in enumerate(r["agents"]):
        curves = np.array([run["returns"] for run in r["runs"] if run["agent"] == agent], dtype=float)
        k = max(1, min(20, curves.shape[1] // 10))
        smooth = np.array([np.convolve(c, np.ones(k) / k, mode="valid") for c in curves])
        x = np.arange(smooth.shape[1]) + k
        ax.plot(x, smooth.mean(0), color=f"C{i}", label=f"{agent} ({curves.shape[0]} seed(s))")
        if smooth.shape[0] > 1:
            ax.fill_between(x, smooth.min(0), smooth.max(0), color=f"C{i}", alpha=0.2)
    ax.set_xlabel("episode")
    ax.set_ylabel(f"return ({k}-episode moving mean)")
    ax.legend(fontsize=8)
    return _write(run_dir, "\n".join(md), tex, save_figures(fig, run_dir / "learning"))


# --------------------------------------------------------------------------- console summary


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The main result of a classify / compare / rl / overlap run in a few lines, with uncertainties
    (what the CLI prints after the run)."""
    r = flat_view(doc)
    kind = r["experiment"]
    if kind == "quantum-classify":
        lines = [f"{r['dataset']['name']}, {r['folds']} folds x {len(r['seeds'])} seeds: {r['metric']} "
                 "(mean ± Nadeau-Bengio corrected SE)"]
        lines += [f"  {m['model']} ({m['family']}): {fmt(m[r['metric']])} ± {fmt(m[r['metric'] + '_se_corrected'])}"
                  for m in r["summary"]]
        nb = [c for c in r["comparisons"] if c["test"] == "corrected-resampled-t"]
        lines += [f"  {c['a']} vs {c['b']}: corrected t p (Holm) = {fmt_p(c['p_holm'])}, d_z = {fmt(c['d_z'])}"
                  for c in nb]
        return lines
    if kind == "quantum-compare":
        e = r["effect"]
        tests = ", ".join(f"{t['test']} p = {fmt_p(t['p_value'])}" for t in r["tests"])
        return [f"{r['a']['model']} vs {r['b']['model']} on {r['metric']}, n = {r['n']} pairs: means "
                f"{fmt(r['mean_a'], 4)} vs {fmt(r['mean_b'], 4)}; d_z = {fmt(e['d_z'])} "
                f"(95% CI {fmt(e['ci_low'])} to {fmt(e['ci_high'])})", f"  {r['alternative']}: {tests}"]
    if kind == "quantum-rl":
        lines = [f"{r['env']}, {r['episodes']} episodes, {len(r['seeds'])} seed(s): greedy evaluation return "
                 "(mean ± SD over seeds)"]
        lines += [f"  {s['agent']} ({s['n_params']} parameters): {fmt(s['eval_mean'], 2)}"
                  + (f" ± {fmt(s['eval_sd'], 2)}" if s["eval_sd"] is not None else "") for s in r["summary"]]
        lines += [f"  paired by seed, {TEST_NAMES.get(c['test'], c['test'])}: p = {fmt_p(c['p_value'])}"
                  for c in r["comparisons"]]
        return lines
    th = r["before"]["tail_head"]
    lines = [f"{r['data']['name']}: tail→head overlap, Bhattacharyya {fmt(th['bhattacharyya'])}, kNN mixing / "
             f"chance {fmt(th['knn'])}, subspace cos² {fmt(th['subspace'])}, tail silhouette "
             f"{fmt(th['silhouette_tail'])}"]
    s = r.get("supcon")
    if s:
        lines += [f"  SupCon head, held out ({s['repeats']} repeats, mean ± SD): {key} "
                  f"{fmt(s['held_out_before'][key]['mean'])} ± {fmt(s['held_out_before'][key]['sd'])} → "
                  f"{fmt(s['held_out_after'][key]['mean'])} ± {fmt(s['held_out_after'][key]['sd'])}"
                  for key in ("bhattacharyya", "knn")]
    return lines
