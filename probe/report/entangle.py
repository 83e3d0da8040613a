"""Report for ``probe entangle`` runs: report.md, table.tex and figures from result.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from probe.io import atomic_write_text
from probe.report.format import (
    flat_view,
    fmt,
    fmt_estimate,
    markdown_table,
    new_figure,
    save_figures,
    write_table,
)

_SOURCE_TEXT = {
    "weights": "weight matrices read from {path}",
    "delta": "full fine-tuning updates ΔW = W_tuned − W_base between {base} and {tuned} (both upcast to float64 before subtracting)",
    "lora": "LoRA updates ΔW = s·B·A of the peft adapter {adapter} (s = lora_alpha/r, or /√r for rsLoRA)",
    "attention": "attention matrices of {model} ({tokens}-token windows of {text})",
    "random": "Gaussian random matrices of shape {shape}",
}


def _pm(x: Any, se: Any) -> str:
    return fmt_estimate(x, se)


def _methods(result: dict[str, Any]) -> str:
    s, inp, st, layers = result["source"], result["inputs"], result["settings"], result["layers"]
    what = _SOURCE_TEXT[s].format(**{k: inp.get(k, "") for k in ("path", "base", "tuned", "adapter", "model",
                                                                   "tokens", "text", "shape")})
    first = layers[0]
    text = (
        f"We measured the entanglement entropy of {len(layers)} {'matrices' if s != 'attention' else 'layer/head attention maps'}: "
        f"{what}. Each matrix M was read as the pure state vec(M)/‖M‖_F on a chain of sites whose local dimensions are "
        f"the prime factors of its row and column sizes ({st['factors']} within each index; {st['order']} order"
        f"{', row sites first' if st['order'] == 'sequential' else ', row and column sites alternating'}; e.g. "
        f"{first['shape'][0]}×{first['shape'][1]} → {len(first['site_dims'])} sites), following Chen et al. (2026, "
        f"arXiv:2601.06788). At every cut we report the von Neumann entropy S = −Σ p ln p of the Schmidt probabilities "
        f"(nats), Rényi-2 and min-entropies, and compare with the exact Page (1993) mean for a Haar-random state with "
        f"the same cut dimensions. All cuts were computed in one pass from two Gram matrices and partial traces in "
        f"float64{' (LoRA updates from their rank-r factors, never forming ΔW)' if s == 'lora' else ''}. "
        f"The Entanglement Valley is the deepest interior local minimum of S (its depth is the topographic prominence, "
        f"scipy.signal.peak_prominences). The weight discarded by truncating each bond to χ = {st['max_bond']} is reported, "
        f"with the TT-SVD bound √(Σ discarded) on the truncation error."
    )
    if st.get("mp", True) and s != "attention":
        text += (" Squared singular values were compared with the Marchenko–Pastur law of a Gaussian matrix of the "
                 "same shape and entry variance; eigenvalues more than 3 Tracy–Widom scales above the edge count as outliers.")
    if st.get("baseline_samples", 0) >= 2 and s not in ("attention", "random"):
        text += (f" A real-Gaussian baseline was drawn with {st['baseline_samples']} matrices per shape "
                 f"(seed {st['seed']}).")
    if s == "attention":
        a = result["attention"]
        text += (f" Attention weights came from output_attentions with eager attention over {a['n_windows']} "
                 f"consecutive windows of {a['tokens']} tokens; profiles are means over windows ± standard error. "
                 f"Area (S = a), log-corrected (S = a + b ln[(L/π) sin(πℓ/L)]) and volume (S = a + b·min(ℓ, L−ℓ)) laws "
                 f"were fitted to the window-averaged profile and ranked by AIC; the interval on b is a percentile "
                 f"bootstrap over windows (seed {st['seed']}).")
    if s == "random":
        text += f" Means are over {first.get('n_samples')} draws ± standard error (seed {st['seed']})."
    if s == "lora":
        ranks = sorted({int(r["rank"]) for r in layers if r.get("rank")})
        text += (f" A rank-r update has at most r non-zero singular values, so at the row/column cut its entropy is at "
                 f"most ln r (r = {', '.join(map(str, ranks)) or '?'}: ln r = "
                 f"{', '.join(fmt(float(np.log(r))) for r in ranks) or '?'} nats) whatever it learned; a dip there "
                 "follows from the rank alone. Valleys are therefore also measured against the rank-r null "
                 "(Gaussian products B·A of the same rank)"
                 + (f", {st['baseline_samples']} draws per shape." if st.get("baseline_samples", 0) >= 2
                    else ": not run here (--baseline-samples 0)."))
    text += f" probe {result.get('probe_version', '')}; {result.get('elapsed_s', 0):.1f} s."
    return text


def _layer_rows(result: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["tensor", "shape", "sites", "S_max (nats)", "Page max", "S/Page at peak", "valley cut", "depth",
              "row/col cut", f"trunc. bound χ={result['settings']['max_bond']}", "MP outliers"]
    rows = []
    for r in result["layers"]:
        ent = np.asarray(r["entropy"])
        k = int(np.argmax(ent))
        se = r.get("entropy_se")
        rows.append([r["name"], "×".join(str(x) for x in r["shape"]), len(r["site_dims"]),
                     _pm(float(ent[k]), se[k] if se else None), max(r["page"]), float(ent[k] / r["page"][k]),
                     r["valley"]["position"] if r["valley"]["position"] is not None else "none",
                     r["valley"]["depth"], r.get("boundary_cut") if r.get("boundary_cut") is not None else "–",
                     r.get("truncation_error_bound"), r["mp"]["n_outliers"] if "mp" in r else "–"])
    return header, rows


def render(run_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """Write report.md, table.tex and the figures of an entangle run; return their paths."""
    result = flat_view(doc)
    run_dir = Path(run_dir)
    written: list[Path] = []
    header, rows = _layer_rows(result)
    summ = result["summary"]
    md = [f"# probe entangle {result['source']}: {result.get('label', '')}\n", "## Methods\n", _methods(result) + "\n",
          "## Summary\n",
          f"- tensors profiled: {summ['n_layers']} (skipped: {len(result.get('skipped', []))})",
          f"- with a valley deeper than 0.05 nats: {summ['n_with_valley']} of {summ['n_layers']}",
          f"- valley depth, mean over tensors: {_pm(summ['valley_depth_mean'], summ['valley_depth_se'])} nats "
          f"(n = {summ['n_layers']})",
          f"- peak entropy / Page peak, mean: {fmt(summ['peak_over_page_mean'])}\n"]
    if result["source"] == "attention":
        md += _attention_md(result)
    if result["source"] == "lora":
        md += _rank_null_md(result)
    md += ["## Tensors\n", markdown_table(header, rows)]
    if result.get("skipped"):
        md += ["\n## Skipped\n"] + [f"- {s['name']}: {s['reason']}" for s in result["skipped"]]
    figures = _figures(run_dir, result)
    md += ["\n## Files\n", "- `result.json`: every number above; `table.tex` and `table.csv`: the tensor table "
           "(all tensors); figures as PNG, PDF and SVG: " + ", ".join(f"`{p.stem}`" for p in figures
                                                                      if p.suffix == ".png") + "\n"]
    written.append(atomic_write_text(run_dir / "report.md", "\n".join(md)))
    written += write_table(run_dir, "table", header, rows,
                           caption=f"Entanglement profiles ({result['source']}), entropies in nats",
                           label=f"tab:entangle-{result['source']}")
    written += figures
    return written


def _rank_null_md(result: dict[str, Any]) -> list[str]:
    rows = [[r["name"], r.get("rank"), r["valley"]["position"] if r["valley"]["position"] is not None else "none",
             r["valley"]["depth"], r["valley_vs_rank_null"]["position"]
             if r["valley_vs_rank_null"]["position"] is not None else "none", r["valley_vs_rank_null"]["depth"],
             r["valley_vs_rank_null"]["deficit"]]
            for r in result["layers"] if r.get("valley_vs_rank_null")]
    if not rows:
        return ["## Against the rank-r null\n", "Not computed (no baseline samples).\n"]
    return ["## Against the rank-r null\n",
            "The profile of each update against Gaussian products of the same rank: a valley that the null has too is "
            "a consequence of the rank, not a finding.\n",
            markdown_table(["tensor", "r", "valley cut", "depth", "valley vs null: cut", "depth", "deficit vs null"],
                           rows)]


def _attention_md(result: dict[str, Any]) -> list[str]:
    a = result["attention"]
    laws = a["laws"]
    ci = laws["log_coef_ci"]
    rows = [[f["law"], f["coef"][0], f["coef"][1] if len(f["coef"]) > 1 else "–", f["rss"], f["aic"], f["weight"]]
            for f in laws["fits"]]
    by_layer = [[i, lw["best"], lw["log_coef"], f"[{fmt(lw['log_coef_ci'][0])}, {fmt(lw['log_coef_ci'][1])}]"
                 if lw["log_coef_ci"] else "–", lw["delta_aic"], a["row_entropy_by_layer"][i]]
                for i, lw in enumerate(a["laws_by_layer"])]
    return [
        "## Scaling law of the attention profile\n",
        f"Best law by AIC: **{laws['best']}** (ΔAIC to the runner-up {fmt(laws['delta_aic'])}); log coefficient "
        f"b = {fmt(laws['log_coef'])} nats, {int(laws['confidence'] * 100)}% CI "
        f"[{fmt(ci[0]) if ci else '–'}, {fmt(ci[1]) if ci else '–'}], c_eff = 6b = {fmt(laws['central_charge'])} "
        f"({a['n_windows']} windows × {a['n_layers']} layers × {a['n_heads']} heads, {a['tokens']} tokens).\n",
        markdown_table(["law", "a", "b", "RSS", "AIC", "Akaike weight"], rows),
        "\nPer layer (profile averaged over heads):\n",
        markdown_table(["layer", "best law", "b", "CI of b", "ΔAIC", "row entropy (nats)"], by_layer), "",
    ]


def _figures(run_dir: Path, result: dict[str, Any]) -> list[Path]:
    layers = result["layers"]
    out = []
    fig, ax = new_figure(figsize=(6.4, 4.0))
    for r in layers[:200]:
        ax.plot(r["cuts"], r["entropy"], lw=0.8, alpha=0.6 if len(layers) > 1 else 1.0)
    ref = layers[0]
    ax.plot(ref["cuts"], ref["page"], "k--", lw=1.5, label="Page (Haar) mean")
    if "baseline" in ref:
        ax.errorbar(ref["cuts"], ref["baseline"]["mean"], yerr=ref["baseline"]["se"], fmt="k:", lw=1,
                    label="real Gaussian")
    if ref.get("boundary_cut"):
        ax.axvline(ref["boundary_cut"], color="grey", lw=0.8, ls=":", label="row/column cut")
    ax.set_xlabel("cut (sites on the left)")
    ax.set_ylabel("entanglement entropy S (nats)")
    ax.set_title(f"{result['source']}: {len(layers)} matrices")
    ax.legend(fontsize=8)
    out += save_figures(fig, run_dir / "profile")
    same = [r for r in layers if len(r["cuts"]) == len(ref["cuts"])]
    ratio = np.array([np.asarray(r["entropy"]) / np.asarray(r["page"]) for r in same])
    fig, ax = new_figure(figsize=(6.4, max(2.5, min(9.0, 0.12 * len(same) + 1.5))))
    # the colour scale spans the data, so 0.9 and 1.0 are told apart
    lo, hi = float(np.nanmin(ratio)), float(np.nanmax(ratio))
    im = ax.imshow(ratio, aspect="auto", cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-9,
                   extent=(0.5, len(ref["cuts"]) + 0.5, len(same) - 0.5, -0.5), interpolation="nearest")
    ax.set_xlabel("cut (sites on the left)")
    ax.set_ylabel("tensor")
    if len(same) <= 60:
        ax.set_yticks(range(len(same)))
        ax.set_yticklabels([_short(r["name"]) for r in same], fontsize=5)
    fig.colorbar(im, ax=ax, label=f"S / S_Page (range {fmt(lo)} to {fmt(hi)})")
    out += save_figures(fig, run_dir / "heatmap")
    with_mp = [r for r in layers if "mp" in r]
    if with_mp:
        cols = min(4, len(with_mp))
        n_rows = -(-len(with_mp) // cols)
        fig, axes = new_figure(n_rows, cols, figsize=(3.2 * cols, 2.8 * n_rows), squeeze=False)
        for ax in axes.flat[len(with_mp):]:
            ax.axis("off")
        for ax, r in zip(axes.flat, with_mp, strict=False):
            mp = r["mp"]
            edges = np.asarray(mp["hist_edges"])
            centres = (edges[1:] + edges[:-1]) / 2
            ax.bar(centres, mp["hist_density"], width=np.diff(edges), alpha=0.5, label="spectrum")
            ax.plot(centres, mp["mp_density"], "r-", lw=1.2, label="Marchenko–Pastur")
            ax.set_title(_short(r["name"]), fontsize=7)
            ax.set_xlabel("λ = s² / n")
            ax.set_ylabel("density")
        axes[0][0].legend(fontsize=7)
        out += save_figures(fig, run_dir / "mp")
    if result["source"] == "attention":
        out += _laws_figure(run_dir, result)
    return out


def _short(name: str, width: int = 40) -> str:
    """A tensor name that fits a label: the middle is elided, so both the layer and the matrix stay readable."""
    if len(name) <= width:
        return name
    keep = (width - 1) // 2
    return f"{name[:keep]}…{name[-keep:]}"


def _laws_figure(run_dir: Path, result: dict[str, Any]) -> list[Path]:
    from probe.analysis.entangle.laws import law_design

    a = result["attention"]
    mean, se = np.asarray(a["profile_mean"]), np.asarray(a["profile_se"])
    n_sites = mean.size + 1
    cuts = np.arange(1, n_sites)
    fig, ax = new_figure(figsize=(6.0, 4.0))
    ax.errorbar(cuts, mean, yerr=se, fmt="ko", ms=4, label=f"attention (mean of {a['n_windows']} windows)")
    for f in a["laws"]["fits"]:
        ax.plot(cuts, law_design(f["law"], n_sites) @ np.asarray(f["coef"]), lw=1.2,
                label=f"{f['law']} (AIC {f['aic']:.1f})")
    ax.set_xlabel("cut ℓ (sites on the left)")
    ax.set_ylabel("entanglement entropy S (nats)")
    ax.legend(fontsize=8)
    return save_figures(fig, run_dir / "laws")
