"""Figures, tables and summary for the artificial-entanglement reproduction (called by run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from probe.analysis.entangle.baselines import valley_metrics
from probe.analysis.entangle.nohair import no_hair
from probe.io import atomic_write_json, atomic_write_text
from probe.report.format import fmt, markdown_table, new_figure, save_figure


def _by_target(result: dict, target: str) -> np.ndarray:
    rows = [layer["entropy"] for layer in result["layers"] if layer["name"].endswith(f"{target}.weight")]
    return np.asarray(rows)


def write_report(args, runs, internal, external, targets) -> None:
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    methods = list(internal)
    ref = next(iter(internal.values()))["layers"][0]
    cuts, page, boundary = np.asarray(ref["cuts"]), np.asarray(ref["page"]), ref["boundary_cut"]

    # internal profiles: mean ± SE over layers, per target and method
    fig, axes = new_figure(1, len(targets), figsize=(5.2 * len(targets), 3.8), squeeze=False)
    valley_rows = []
    for ax, target in zip(axes[0], targets, strict=True):
        for m in methods:
            prof = _by_target(internal[m], target)
            mean, se = prof.mean(0), prof.std(0, ddof=1) / np.sqrt(len(prof))
            ax.errorbar(cuts, mean, yerr=se, lw=1.3, capsize=2, label=m)
            depths = [valley_metrics(p, page, boundary_cut=boundary).depth for p in prof]
            v = valley_metrics(mean, page, boundary_cut=boundary)
            valley_rows.append([m, target, len(prof), v.position if v.position else "none", v.depth,
                                f"{fmt(np.mean(depths))} ± {fmt(np.std(depths, ddof=1) / np.sqrt(len(depths)))}",
                                float(mean[boundary - 1]), float(page[boundary - 1]), float(mean.max())])
        ax.plot(cuts, page, "k--", lw=1.2, label="Page")
        ax.axvline(boundary, color="grey", ls=":", lw=0.8)
        ax.set_title(f"ΔW_{target}")
        ax.set_xlabel("cut")
        ax.set_ylabel("S (nats)")
        ax.legend(fontsize=7)
    save_figure(fig, out / "internal.png")

    # attention profiles
    fig, ax = new_figure(figsize=(5.6, 3.8))
    law_rows = []
    for name, res in external.items():
        a = res["attention"]
        mean, se = np.asarray(a["profile_mean"]), np.asarray(a["profile_se"])
        ax.errorbar(np.arange(1, mean.size + 1), mean, yerr=se, lw=1.2, capsize=2, label=name)
        laws = a["laws"]
        ci = laws["log_coef_ci"]
        law_rows.append([name, laws["best"], laws["delta_aic"], laws["log_coef"], f"[{fmt(ci[0])}, {fmt(ci[1])}]",
                         laws["central_charge"], a["n_windows"]])
    ax.set_xlabel("cut")
    ax.set_ylabel("attention S (nats), mean over layers and heads")
    ax.legend(fontsize=7)
    save_figure(fig, out / "attention.png")

    # no-hair: internal vs external differences, each LoRA against FFT, and each against the base
    ext = {k: np.asarray(v["attention"]["profiles"]) for k, v in external.items()}
    inter = {m: np.concatenate([_by_target(internal[m], t) for t in targets]) for m in methods}
    nh_rows, nh = [], {}
    for m in methods:
        if m == "fft":
            continue
        r = no_hair(inter[m], inter["fft"], ext[m], ext["fft"], labels=(m, "fft"), rng=args.seed)
        nh[f"{m} vs fft"] = r.to_dict()
        nh_rows.append([f"{m} vs fft", r.internal_max_diff, r.internal_mean_abs_diff, r.external_max_diff,
                        f"{fmt(r.external_mean_diff)} [{fmt(r.external_ci[0])}, {fmt(r.external_ci[1])}]",
                        r.external_p, r.ratio])
    base_rows = []
    for m in methods:
        d = (ext[m] - ext["base"]).reshape(ext[m].shape[0], -1).mean(1)
        base_rows.append([m, float(np.max(np.abs(ext[m].mean(0) - ext["base"].mean(0)))), float(d.mean()),
                          float(d.std(ddof=1) / np.sqrt(d.size))])
    run_rows = [[Path(r["folder"]).name, r.get("n_trainable"), r.get("lr"), r["steps"], r.get("test_accuracy"),
                 r.get("n_test"), r["final_loss"], r["train_s"]] for r in runs]
    checks = [f"{Path(r['folder']).name}: the bond entropies of the trained cores agree with the dense "
              f"W_tuned − W_0 profile to {r['cores_vs_delta_max_abs_dS']['max_abs_dS']:.1e} nats over "
              f"{r['cores_vs_delta_max_abs_dS']['layers_matched']} layers"
              for r in runs if r.get("cores_vs_delta_max_abs_dS")]
    summary = {"runs": runs, "valley": valley_rows, "attention_laws": law_rows, "no_hair": nh,
               "attention_change_vs_base": base_rows,
               "settings": {k: str(v) for k, v in vars(args).items()}}
    atomic_write_json(out / "summary.json", summary)
    md = [
        "# Artificial entanglement: small-scale reproduction (all-MiniLM-L6-v2)\n" if args.model == "embed:minilm"
        else f"# Artificial entanglement: reproduction ({args.model})\n",
        f"Model {args.model}; objective {args.objective}; targets {args.targets}; LoRA ranks {args.ranks} "
        f"(alpha = 2r); MPS adapter bond dimensions {getattr(args, 'chis', '') or 'none'} (alpha = 2χ, sequential "
        f"layout); {args.steps} steps of batch {args.batch}; seed {args.seed}. Entropies in nats; "
        "± is the standard error over layers (internal) or text windows (attention). "
        "Produced by `python analyses/artificial-entanglement/run.py` with probe's `entangle` CLI.\n",
        "## Fine-tuning runs\n",
        markdown_table(["run", "trainable (adapted layers)", "lr", "steps", "test accuracy", "n test", "final loss",
                        "train s"], run_rows),
        *([""] + [f"- {c}" for c in checks] if checks else []),
        "\n## Internal entanglement of ΔW (Entanglement Valley)\n",
        "Valley = deepest interior local minimum of the layer-mean profile (prominence = depth); the per-layer "
        f"depth is averaged over layers. The row/column cut is cut {boundary}, where a rank-r update is capped at ln r; "
        "an MPS update of bond dimension χ is capped at ln χ at every cut.\n",
        markdown_table(["method", "target", "layers", "valley cut", "depth (mean profile)", "depth per layer",
                        "S at row/col cut", "Page there", "S max"], valley_rows),
        "\n![internal](internal.png)\n",
        "## External entanglement: attention matrices\n",
        markdown_table(["model", "best law (AIC)", "ΔAIC", "b (log law)", "95% CI of b", "c_eff = 6b", "windows"],
                       law_rows),
        "\n![attention](attention.png)\n",
        "## No-hair test\n",
        "Internal: max / mean absolute ΔS between the update profiles (query and value, all layers). External: attention "
        "profiles on the same windows; mean paired difference with bootstrap 95% CI and Wilcoxon p across windows.\n",
        markdown_table(["pair", "internal max abs ΔS", "internal mean abs ΔS", "external max abs ΔS",
                        "external mean ΔS [95% CI]", "Wilcoxon p", "external/internal"], nh_rows),
        "\nChange of attention profiles from the base model:\n",
        markdown_table(["model", "max abs ΔS vs base", "mean ΔS vs base", "SE"], base_rows),
    ]
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    print(json.dumps({"results": str(out), "runs": [r["folder"] for r in runs]}))
