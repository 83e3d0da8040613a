"""Bell run report: report.md (with a methods paragraph written from the run), table.tex, bell.png."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from probe.analysis.bell.chsh import CONTEXTS
from probe.io import atomic_write_text
from probe.report.format import (
    flat_view,
    fmt,
    fmt_p,
    latex_escape,
    latex_table,
    markdown_table,
    new_figure,
    save_figure,
)

TSIRELSON = 2 * math.sqrt(2)


def _ci(x: Any) -> str:
    return f"[{fmt(x[0])}, {fmt(x[1])}]" if x else "–"


def methods_paragraph(r: dict[str, Any]) -> str:
    """A methods paragraph assembled from what the run recorded."""
    d = r.get("design", {})
    version = r.get("model_version")
    version = ", ".join(version) if isinstance(version, list) else version
    date = str(r.get("created", ""))[:10]
    sign = f"minus sign on {r.get('minus_on', 'AB')}" + (" (Brussels convention)" if r.get("minus_on") == "AB" else "")
    stats_line = (
        f"S = |sum of the four E with the {sign}|; the standard error is sqrt(sum_c (1 - E_c^2)/N_c) for independent "
        f"contexts; the 95% interval is the central credible interval of a Dirichlet posterior (prior "
        f"{r.get('statistics', {}).get('prior', 1)} per cell, {r.get('statistics', {}).get('n_post', '–')} draws), "
        f"with a parametric bootstrap ({r.get('statistics', {}).get('n_boot', '–')} resamples) beside it; p is one-sided "
        "against the local bound 2. Marginal selectivity was tested per variable with Fisher's exact test (Holm "
        "correction), and contextuality with the Contextuality-by-Default criterion S_odd > 2 + Δ "
        "(Kujala, Dzhafarov & Larsson 2015)."
    )
    if r.get("mode") == "counts":
        return (f"Counts were read from `{r.get('counts_file')}` ({r.get('n_total')} answers) and analysed with probe "
                f"{r.get('probe_version')} on {date}. " + stats_line)
    inv = r.get("invalid_rate")
    sampling = (f"temperature {r.get('temperature')}" + (f", top-p {r.get('top_p')}" if r.get("top_p") else "")
                + (f", at most {r.get('max_tokens')} tokens" if r.get("max_tokens") else ""))
    set_ = (r.get("sampling") or {}).get("settings")
    if set_:  # every sampling setting, as set (what each backend accepted is in result.json sampling.sent)
        sampling = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in set_.items() if k != "seed" and v is not None)
    head = (
        f"We presented {r.get('model')} (reported version: {version or 'not reported'}) with the four coincidence "
        f"experiments of the conceptual combination \"{d.get('concept')}\" (design `{d.get('name')}`"
        + (f"; {d.get('reference')}" if d.get("reference") else "") + "). "
        "Each request was a fresh, stateless conversation listing the four sentences of one context with neutral "
        f"labels ({', '.join(d.get('labels', []))}) and asking which sentence is a good example of the concept; the "
        f"prompt did not mention the purpose of the study. Runs were made on {date} with probe {r.get('probe_version')}"
        f", seed {r.get('seed')}. "
    )
    if r.get("mode") == "exact":
        src = ("a softmax over cosine similarities between the concept and each sentence (a modelling choice, "
               "not a choice distribution)" if r.get("provider") == "embed"
               else "the exact answer distribution of the simulated respondent" if r.get("provider") == "sim"
               else "the probabilities of the option labels as the next token (log-probabilities; tokenisation "
                    "variants merged)")
        return head + (
            f"In exact mode the answer distribution of each context was read from {src}, for "
            f"{r.get('orders')} ordering(s) of the options per context ({r.get('requests')} requests, {sampling}); "
            "the distributions were averaged over orderings, and uncertainty comes only from the spread across "
            "orderings. " + stats_line
        )
    order = "cycled through all 24 orderings" if r.get("order") == "balanced" else "shuffled per trial"
    return head + (
        f"The option order was {order}. We sampled {r.get('trials')} answers per context ({sampling}); answers were "
        "mapped to an option by its label or full text, and unparseable answers "
        f"({fmt(100 * inv, 1) if inv is not None else '–'}% of {int(r.get('n_total') or 0) + int(r.get('invalid_total') or 0)})"
        " were counted as invalid and excluded, never imputed. " + stats_line
    )


def _context_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for c in CONTEXTS:
        if r.get("counts"):
            cnt = r["counts"][c]
            rows.append([c, cnt["++"], cnt["+-"], cnt["-+"], cnt["--"], r["n"][c], r["invalid"][c],
                         f"{fmt(r['E'][c])} ± {fmt(r['E_se'][c])}"])
        else:
            pr = r["probs"][c]
            rows.append([c, pr["++"], pr["+-"], pr["-+"], pr["--"], "–", "–", fmt(r["E"][c])])
    return rows


def _stat_rows(r: dict[str, Any]) -> list[list[Any]]:
    cbd = r.get("cbd", {})
    rows = [
        ["S" + (f" (minus on {r.get('minus_on')})"), fmt(r.get("S")), fmt(r.get("S_se")), _ci(r.get("S_ci95"))],
        ["S_odd (placement " + str(r.get("S_odd_placement")) + ")", fmt(r.get("S_odd")), "–",
         _ci(r.get("S_odd_ci95_boot"))],
        ["Delta (marginal differences, ±1 scale)", fmt(cbd.get("delta")), "–", "–"],
        ["CNT1 = S_odd − 2 − Delta", fmt(cbd.get("cnt1")), "–", _ci(cbd.get("cnt1_ci95"))],
    ]
    return rows


def render(run_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """Write report.md, table.tex and bell.png into ``run_dir``."""
    r = flat_view(doc)
    run_dir = Path(run_dir)
    d = r.get("design", {})
    title = d.get("title") or d.get("concept") or "external counts"
    lines = [f"# Bell test: {title} — {r.get('model')}", ""]
    lines += ["## Result", ""]
    bounds = r.get("S_bounds")
    verdict = ((f"S is not identified: labels were missing from the top-k lists; |S| lies in {_ci(bounds)}. "
                if r.get("S") is None and bounds else "")
               + f"S = {fmt(r.get('S'))}" + (f" ± {fmt(r.get('S_se'))}" if r.get("S_se") is not None else "")
               + (f", 95% CI {_ci(r.get('S_ci95'))}" if r.get("S_ci95") else "")
               + (f", N = {r.get('n_total')}" if r.get("n_total") else "")
               + f"; category: **{r.get('category')}** (≤ 2 local, ≤ 2√2 Tsirelson, ≤ 4 algebraic).")
    lines.append(verdict)
    if r.get("p_value") is not None:
        lines.append(f"One-sided z-test of S > 2: z = {fmt(r.get('z'))}, p = {fmt_p(r.get('p_value'))}; "
                     f"bootstrap P(S* ≤ 2) = {fmt_p(r.get('p_boot'))}; posterior P(S > 2) = {fmt(r.get('p_s_gt_2'))}, "
                     f"P(S > 2√2) = {fmt(r.get('p_s_gt_tsirelson'))}. The Dirichlet prior shrinks E toward 0, so the "
                     "posterior probability is less extreme than the frequentist p.")
    ms = r.get("marginal_selectivity", {})
    cbd = r.get("cbd", {})
    judged = ("not judged (exact distributions have no sampling error; read Delta)" if ms.get("consistent") is None
              and r.get("mode") == "exact" else "holds" if ms.get("consistent") else "**fails**")
    lines.append(f"Marginal selectivity: {judged}; "
                 f"CbD: Delta = {fmt(cbd.get('delta'))}, CNT1 = {fmt(cbd.get('cnt1'))} → "
                 f"{'**contextual**' if cbd.get('contextual') else 'not contextual'}"
                 + (f" (posterior P(CNT1 > 0) = {fmt(cbd.get('p_cnt1_gt_0'))})" if cbd.get("p_cnt1_gt_0") is not None
                    else "") + ".")
    if r.get("within_subject"):
        w = r["within_subject"]
        lines.append(f"Within-subject analysis (n = {w['n']} respondents): S = {fmt(w['S'])} ± {fmt(w['S_se'])}, "
                     f"t = {fmt(w['t'])}, one-sided p = {fmt_p(w['p_value'])}.")
    for warning in r.get("warnings", []):
        lines.append(f"> **Caution:** {warning}")
    lines += ["", "## Methods", "", methods_paragraph(r), ""]
    lines += ["## Contexts", ""]
    ctx_header = ["context", "++", "+−", "−+", "−−", "N", "invalid", "E ± SE"]
    lines.append(markdown_table(ctx_header, _context_rows(r)))
    lines += ["## Statistics", "", markdown_table(["quantity", "value", "SE", "95% interval"], _stat_rows(r))]
    tests = ms.get("tests", [])
    if tests:
        lines += ["## Marginal selectivity", ""]
        lines.append(markdown_table(
            ["variable", "contexts", "P(+) first", "P(+) second", "difference", "p (Fisher)", "p (Holm)"],
            [[t["variable"], " vs ".join(t["contexts"]), t["p_plus"][0], t["p_plus"][1], t["difference"],
              fmt_p(t["p_value"]), fmt_p(t["p_holm"])] for t in tests]))
    if r.get("by_variant"):
        lines += ["## By prompt variant", "", markdown_table(
            ["variant", "N", "S", "SE"], [[v["variant"], v["n"], v["S"], v["S_se"]] for v in r["by_variant"]])]
    if r.get("position_bias"):
        pb = r["position_bias"]
        lines += ["## Position of the chosen option", "", markdown_table(
            ["1", "2", "3", "4", "χ² p (uniform)"],
            [[*pb["chosen_position"].values(), fmt_p(pb["chi2_uniform_p"])]])]
    run = r.get("run", {})
    if run.get("calls") is not None and r.get("mode") != "counts":
        lines += ["## Run", "", markdown_table(
            ["model calls", "replayed", "retries", "input tokens", "output tokens", "cost (USD, est.)", "elapsed (s)"],
            [[run.get("calls"), run.get("cached"), run.get("retries_total"), run.get("input_tokens"),
              run.get("output_tokens"), run.get("cost_usd"), run.get("elapsed_s")]])]
        if run.get("retries"):
            lines.append("Retries by cause: " + ", ".join(f"{k}: {v}" for k, v in run["retries"].items()) + ".")
    lines += ["", "Files: `result.json` (all numbers), `trials.jsonl` (one line per answer), `cassette.jsonl` "
              "(every model call), `table.tex`, `bell.png`.", ""]
    written = [atomic_write_text(run_dir / "report.md", "\n".join(lines))]
    tex_rows = [[c, r["n"][c] if r.get("n") else "–",
                 f"${fmt(r['E'][c])} \\pm {fmt(r['E_se'][c])}$" if r.get("E_se") else f"${fmt(r['E'][c])}$"]
                for c in CONTEXTS]
    tex_rows.append(["$S$", r.get("n_total") or "–",
                     f"${fmt(r.get('S'))}" + (f" \\pm {fmt(r.get('S_se'))}$" if r.get("S_se") is not None else "$")])
    tex_rows = [[latex_escape(str(row[0])) if not str(row[0]).startswith("$") else row[0], *row[1:]]
                for row in tex_rows]
    tex = latex_table(["Context", "$N$", "$E \\pm$ SE"], tex_rows, raw_header=True, raw_cells=True,
                      caption=f"CHSH test of '{title}' with {r.get('model')}", label=f"tab:bell-{d.get('name', 'counts')}")
    written.append(atomic_write_text(run_dir / "table.tex", tex))
    written.append(save_figure(_figure(r, title), run_dir / "bell.png"))
    return written


def _figure(r: dict[str, Any], title: str) -> Any:
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 1.4]})
    e = [r["E"][c] for c in CONTEXTS]
    err = [1.96 * r["E_se"][c] for c in CONTEXTS] if r.get("E_se") else None
    ax1.bar(range(4), e, color=["#c0504d" if c == r.get("minus_on") else "#4f81bd" for c in CONTEXTS])
    if err:
        ax1.errorbar(range(4), e, yerr=err, fmt="none", ecolor="black", capsize=4)
    ax1.axhline(0, color="grey", lw=0.8)
    ax1.set_xticks(range(4), CONTEXTS)
    ax1.set_ylim(-1.1, 1.1)
    ax1.set_ylabel("E (±95% CI)")
    ax1.set_title(f"{title}: correlations (red: minus sign)")
    s = r.get("S") or 0.0
    ci = r.get("S_ci95")
    if ci:  # a posterior interval need not contain the plug-in S (e.g. S = 4 at the boundary)
        ax2.vlines(0, ci[0], ci[1], color="black", lw=1.5)
        ax2.hlines([ci[0], ci[1]], -0.08, 0.08, color="black", lw=1.5)
    ax2.plot([0], [s], "o", color="black")
    if r.get("S_odd") is not None:
        ax2.plot([1], [r["S_odd"]], "s", color="#9bbb59", label="S_odd")
    ax2.axhline(2, color="#c0504d", ls="--", lw=1, label="2 (local)")
    ax2.axhline(TSIRELSON, color="#8064a2", ls=":", lw=1, label="2√2 (Tsirelson)")
    ax2.axhline(4, color="grey", ls="-.", lw=0.8, label="4 (algebraic)")
    ax2.set_xlim(-0.6, 1.6)
    ax2.set_xticks([0, 1], ["S", "S_odd"])
    ax2.set_ylim(0, 4.3)
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    ax2.set_title("CHSH value")
    fig.tight_layout()
    return fig
