"""Bell run report: report.md (verdicts from intervals, a methods paragraph written from what the run did),
table.tex + table.csv, and bell.{png,pdf,svg}."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from probe.analysis.bell.chsh import CONTEXTS
from probe.io import atomic_write_text
from probe.report.format import (
    flat_view,
    fmt,
    fmt_estimate,
    fmt_p,
    interval_note,
    markdown_table,
    new_figure,
    p_eq,
    save_figures,
    write_table,
)

TSIRELSON = 2 * math.sqrt(2)


def _ci(x: Any) -> str:
    return f"[{fmt(x[0])}, {fmt(x[1])}]" if x else "–"


def _dates(r: dict[str, Any]) -> str:
    """When the answers were recorded and, for a replay, when they were analysed."""
    run = r.get("run") or {}
    first, last = (run.get("recorded_first") or "")[:10], (run.get("recorded_last") or "")[:10]
    made = str(r.get("created") or "")[:10]
    recorded = first if first == last else f"{first} to {last}"
    batch = run.get("batch") or {}
    if batch.get("collected"):
        cost = "" if batch.get("cost_usd") is None else f", ${batch['cost_usd']:.4f} at batch prices"
        return (f"The answers were asked through {len(batch.get('batches') or [])} provider batch job(s) "
                f"({', '.join(str(b) for b in batch.get('batches') or [])}; {batch['collected']} answers collected"
                f"{cost}), recorded on {recorded} and analysed on {made}")
    if run.get("calls") == 0 and first:
        return f"The answers were recorded on {recorded} and replayed from the cassette on {made}"
    if first and recorded != made:
        return f"The answers were recorded on {recorded} (this run added {run.get('calls')} calls on {made})"
    return f"The answers were recorded on {made}"


def _respondent_sentence(r: dict[str, Any]) -> str:
    resp = r.get("respondent") or {}
    kind = resp.get("kind")
    version = r.get("model_version")
    version = ", ".join(version) if isinstance(version, list) else version
    if kind == "embedding":
        return (f"The respondent was the sentence-embedding model {resp.get('model')} ({version or 'version not reported'}), "
                "used as a semantic baseline: each option's probability is softmax(cos(concept, sentence)/τ) with "
                f"τ = {resp.get('tau')}, computed from the embeddings of the concept \"{(r.get('design') or {}).get('concept')}\" "
                "and of each sentence. It does not read the prompt, the labels or the option order.")
    if kind == "simulation":
        params = {k: v for k, v in resp.items() if k not in ("kind", "respondent")}
        extra = f" with {', '.join(f'{k} = {v}' for k, v in params.items())}" if params else ""
        return (f"The respondent was probe's simulated `{resp.get('respondent')}` respondent{extra}, which answers "
                "from the design's outcome tags and never reads the prompt.")
    if kind == "local-lm":
        return f"The respondent was the local language model at `{resp.get('path')}` ({version or 'version not reported'})."
    return f"The respondent was {r.get('model')} (reported version: {version or 'not reported'})."


def _prompt_sentence(r: dict[str, Any]) -> str:
    d = r.get("design") or {}
    n_t = len(d.get("templates") or [])
    templates = (f"{n_t} paraphrased templates rotated over trials" if n_t > 1 else "one prompt template")
    return (f"Each request was a fresh, stateless conversation listing the four sentences of one context of the "
            f"conceptual combination \"{d.get('concept')}\" (design `{d.get('name')}`"
            + (f"; {d.get('reference')}" if d.get("reference") else "")
            + f") under neutral labels ({', '.join(d.get('labels') or [])}), with {templates}; the prompt did not "
            "mention the purpose of the study.")


def methods_paragraph(r: dict[str, Any]) -> str:
    """A methods paragraph that says what this run did, and nothing it did not (from result.json alone)."""
    st = r.get("statistics") or {}
    sign = f"the minus sign on {r.get('minus_on', 'AB')}" + (" (Brussels convention)" if r.get("minus_on") == "AB" else "")
    version = f"probe {r.get('probe_version')}"
    if r.get("mode") == "counts":
        return (f"Counts were read from `{r.get('counts_file')}` ({r.get('n_total')} answers) and analysed with "
                f"{version} on {str(r.get('created', ''))[:10]}. " + _sample_statistics(r, sign, st))
    kind = (r.get("respondent") or {}).get("kind")
    head = _respondent_sentence(r) + " "
    if kind not in ("embedding", "simulation"):
        head += _prompt_sentence(r) + " "
    head += f"{_dates(r)} with {version}, seed {r.get('seed')}. "
    set_ = (r.get("sampling") or {}).get("settings")
    # Every sampling setting a language model received (sampling.sent); an embedding or simulated respondent
    # takes none of them, so naming them would describe what was not done.
    if set_ and r.get("mode") == "sample" and kind not in ("embedding", "simulation"):
        head += ("Sampling settings: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in set_.items()
                                                   if k != "seed" and v is not None) + ". ")
    if r.get("mode") == "exact":
        if kind == "embedding":
            how = "the softmax above was read directly (no sampling)"
        elif kind == "simulation":
            how = "the simulated respondent's exact answer distribution was read"
        elif kind == "local-lm":
            how = "the model's probability of each option label as its answer was computed from its logits"
        else:
            how = ("the probabilities of the option labels as the first answer token were read from the API's "
                   "log-probabilities")
        n_orders = r.get("orders") or 1
        spread = ("the spread of S across orderings gives its standard error and a t interval"
                  if n_orders > 1 else "there is no sampling error and no interval")
        return head + (
            f"In exact mode {how}, for {n_orders} ordering(s) of the options per context ({r.get('requests')} "
            f"requests); the distributions were averaged over orderings, and {spread}. S = |sum of the four E with "
            f"{sign}|; S_odd is its maximum over placements of the minus sign; Δ is the summed difference of the "
            "marginals across contexts and CNT1 = S_odd − 2 − Δ (Kujala, Dzhafarov & Larsson 2015). No test was "
            "computed: the numbers are properties of the model's answer distribution, not estimates.")
    order = "cycled through all 24 orderings" if r.get("order") == "balanced" else "shuffled per trial"
    inv = r.get("invalid_rate")
    total = int(r.get("n_total") or 0) + int(r.get("invalid_total") or 0)
    if kind == "embedding":
        sampling = f"We drew {r.get('trials')} answers per context from that softmax. "
    elif kind == "simulation":
        sampling = f"We drew {r.get('trials')} answers per context. "
    else:
        sampling = (f"The option order was {order}. We sampled {r.get('trials')} answers per context at temperature "
                    f"{r.get('temperature')}" + (f", top-p {r.get('top_p')}" if r.get("top_p") else "")
                    + (f", at most {r.get('max_tokens')} tokens" if r.get("max_tokens") else "")
                    + (f", {r.get('n_per_call')} answers per request" if (r.get("n_per_call") or 1) > 1 else "")
                    + "; an answer counted as a choice only when it named exactly one option by its label or full "
                      "text, and the others "
                    f"({fmt(100 * inv, 1) if inv is not None else '–'}% of {total}) were counted as invalid with a "
                    "reason and excluded, never imputed. ")
    return head + sampling + _sample_statistics(r, sign, st)


def _sample_statistics(r: dict[str, Any], sign: str, st: dict[str, Any]) -> str:
    return (
        f"S = |sum of the four E with {sign}|, with standard error sqrt(Σ_c (1 − E_c²)/N_c) for independent "
        "contexts and a 95% interval by MOVER over Wilson score intervals of the contexts (Zou & Donner 2008); the "
        "verdicts follow from these intervals. Beside them we report a one-sided z-test of S > 2, a parametric "
        f"bootstrap ({st.get('n_boot')} resamples) and a Dirichlet posterior (prior {st.get('prior')} per cell, "
        f"{st.get('n_post')} draws) with P(S > 2 | data). Marginal selectivity was tested per variable with Fisher's "
        "exact test (Holm correction), and contextuality with Contextuality-by-Default: CNT1 = S_odd − 2 − Δ, "
        "judged by its posterior interval (Kujala, Dzhafarov & Larsson 2015)."
    )


def _verdict_lines(r: dict[str, Any]) -> list[str]:
    v = r.get("verdicts") or {}
    lines = []
    for key in ("S", "cbd", "marginal_selectivity"):
        if key in v:
            lines.append(f"- {v[key]['text']} *(rule: {v[key]['rule']})*")
    return lines


def _context_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for c in CONTEXTS:
        if r.get("counts"):
            cnt = r["counts"][c]
            rows.append([c, cnt["++"], cnt["+-"], cnt["-+"], cnt["--"], r["n"][c], r["invalid"][c],
                         fmt_estimate(r["E"][c], r["E_se"][c])])
        else:
            pr = r["probs"][c]
            rows.append([c, pr["++"], pr["+-"], pr["-+"], pr["--"], "–", "–", fmt(r["E"][c])])
    return rows


def _stat_rows(r: dict[str, Any]) -> list[list[Any]]:
    cbd = r.get("cbd") or {}
    return [
        [f"S (minus on {r.get('minus_on')})", fmt(r.get("S")), fmt(r.get("S_se")), _ci(r.get("S_ci95"))],
        [f"S_odd (placement {r.get('S_odd_placement')})", fmt(r.get("S_odd")), "–", _ci(r.get("S_odd_ci95_boot"))],
        ["Δ (marginal differences, ±1 scale)", fmt(cbd.get("delta")), "–", _ci(cbd.get("delta_ci95"))],
        ["CNT1 = S_odd − 2 − Δ", fmt(cbd.get("cnt1")), "–", _ci(cbd.get("cnt1_ci95_post") or cbd.get("cnt1_ci95"))],
    ]


def _notes(r: dict[str, Any]) -> list[str]:
    """Every interval printed that does not contain its estimate, with the reason."""
    cbd = r.get("cbd") or {}
    notes = [
        interval_note(r.get("S"), r.get("S_ci95_post"), what="Dirichlet posterior interval of S",
                      why="the prior shrinks every E toward 0, most visibly when contexts are (nearly) deterministic; "
                          "the verdict uses the MOVER interval, which contains S."),
        interval_note(r.get("S_odd"), r.get("S_odd_ci95_boot"), what="bootstrap interval of S_odd",
                      why="S_odd is a maximum over placements, so its bootstrap distribution is biased upward."),
        interval_note(cbd.get("cnt1"), cbd.get("cnt1_ci95_post"), what="posterior interval of CNT1",
                      why="the prior shrinks E toward 0 and Δ, a sum of absolute differences, is biased upward; the "
                          "verdict is the conservative reading of this interval."),
        interval_note(cbd.get("delta"), cbd.get("delta_ci95"), what="posterior interval of Δ",
                      why="Δ is a sum of absolute differences and the prior pulls the marginals apart from 0.5."),
    ]
    return [n for n in notes if n]


def render(run_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """Write report.md, table.tex/.csv and bell.png/.pdf/.svg into ``run_dir``."""
    r = flat_view(doc)
    if r.get("design", {}).get("system_kind") not in (None, "chsh"):  # designs of other ranks, general systems
        from probe.report.contextuality import render_rank_n

        return render_rank_n(Path(run_dir), r)
    run_dir = Path(run_dir)
    d = r.get("design") or {}
    title = d.get("title") or d.get("concept") or "external counts"
    lines = [f"# Bell test: {title} — {r.get('model')}", "", "## Result", ""]
    lines.append(f"S = {fmt_estimate(r.get('S'), r.get('S_se'))}"
                 + (f", 95% interval {_ci(r.get('S_ci95'))}" if r.get("S_ci95") else "")
                 + (f", N = {r.get('n_total')}" if r.get("n_total") else "") + ".")
    if r.get("S") is None and r.get("S_bounds"):
        lines.append(f"S is not identified: option labels were missing from the top-k log-probability lists, so "
                     f"only bounds follow from the unseen mass: |S| lies in {_ci(r['S_bounds'])}.")
    lines += ["", *_verdict_lines(r), ""]
    if r.get("p_value") is not None:
        lines.append(f"Tests beside the verdict: one-sided z-test of S > 2: z = {fmt(r.get('z'))}, p-value "
                     f"{p_eq(r.get('p_value'))}; of S > 2√2: p-value {p_eq(r.get('p_tsirelson'))}; bootstrap "
                     f"share of S* ≤ 2 {p_eq(r.get('p_boot'))}; posterior probability P(S > 2 | data) = "
                     f"{fmt(r.get('p_s_gt_2'))}, P(S > 2√2 | data) = {fmt(r.get('p_s_gt_tsirelson'))} (Dirichlet "
                     f"posterior interval of S {_ci(r.get('S_ci95_post'))}). A p-value is not the probability that "
                     "S > 2; the posterior probability is.")
    if r.get("within_subject"):
        w = r["within_subject"]
        lines.append(f"Within-subject analysis (n = {w['n']} respondents): S = {fmt(w['S'])} ± {fmt(w['S_se'])}, "
                     f"t = {fmt(w['t'])}, one-sided p-value {p_eq(w['p_value'])}.")
    for note in _notes(r):
        lines.append(f"> {note}")
    for warning in r.get("warnings", []):
        lines.append(f"> **Caution:** {warning}")
    lines += ["", "## Methods", "", methods_paragraph(r), "", "## Contexts", ""]
    lines.append(markdown_table(["context", "++", "+−", "−+", "−−", "N", "invalid", "E ± SE"], _context_rows(r)))
    lines += ["## Statistics", "", markdown_table(["quantity", "value", "SE", "95% interval"], _stat_rows(r))]
    tests = (r.get("marginal_selectivity") or {}).get("tests", [])
    if tests:
        lines += ["## Marginal selectivity", "", markdown_table(
            ["variable", "contexts", "P(+) first", "P(+) second", "difference", "p-value (Fisher)", "p-value (Holm)"],
            [[t["variable"], " vs ".join(t["contexts"]), t["p_plus"][0], t["p_plus"][1], t["difference"],
              fmt_p(t["p_value"]), fmt_p(t["p_holm"])] for t in tests])]
    if r.get("by_variant"):
        lines += ["## By prompt template", "", markdown_table(
            ["template", "N", "S", "SE", "95% interval"],
            [[v["variant"], v["n"], v["S"], v["S_se"], _ci(v.get("S_ci95"))] for v in r["by_variant"]])]
    if r.get("position_bias"):
        pb = r["position_bias"]
        lines += ["## Position of the chosen option", "", markdown_table(
            ["1", "2", "3", "4", "χ² p-value (uniform)"], [[*pb["chosen_position"].values(), fmt_p(pb["chi2_uniform_p"])]])]
    run = r.get("run") or {}
    if run.get("calls") is not None and r.get("mode") != "counts":
        lines += ["## Run", "", markdown_table(
            ["model calls", "replayed", "retries", "input tokens", "output tokens", "cost (USD, est.)", "elapsed (s)"],
            [[run.get("calls"), run.get("cached"), run.get("retries_total"), run.get("input_tokens"),
              run.get("output_tokens"), run.get("cost_usd"), run.get("elapsed_s")]])]
        if run.get("retries"):
            lines.append("Retries by cause: " + ", ".join(f"{k}: {v}" for k, v in run["retries"].items()) + ".")
    lines += ["", "Files: `result.json` (all numbers), `trials.jsonl` (one line per answer), `cassette.jsonl` "
              "(every model call), `table.tex` and `table.csv`, `bell.png`/`.pdf`/`.svg`.", ""]
    from probe.report.contextuality import contextuality_sections

    lines += contextuality_sections(r, run_dir)
    written = [atomic_write_text(run_dir / "report.md", "\n".join(lines))]
    tex_rows = [[c, r["n"][c] if r.get("n") else "–",
                 f"${fmt(r['E'][c])} \\pm {fmt(r['E_se'][c])}$" if r.get("E_se") else f"${fmt(r['E'][c])}$"]
                for c in CONTEXTS]
    tex_rows.append(["$S$", r.get("n_total") or "–",
                     f"${fmt(r.get('S'))}" + (f" \\pm {fmt(r.get('S_se'))}$" if r.get("S_se") is not None else "$")
                     + (f" [{fmt(r['S_ci95'][0])}, {fmt(r['S_ci95'][1])}]" if r.get("S_ci95") else "")])
    csv_rows = [[c, (r.get("n") or {}).get(c), r["E"][c], (r.get("E_se") or {}).get(c)] for c in CONTEXTS]
    csv_rows.append(["S", r.get("n_total"), r.get("S"), r.get("S_se")])
    written += write_table(run_dir, "table", ["Context", "$N$", "$E \\pm$ SE"],
                           [[f"${row[0]}$" if not str(row[0]).startswith("$") else row[0], *row[1:]]
                            for row in tex_rows],
                           caption=f"CHSH test of '{title}' with {r.get('model')}",
                           label=f"tab:bell-{d.get('name', 'counts')}", raw_header=True, raw_cells=True,
                           csv_header=["context", "N", "E", "E_se"], csv_rows=csv_rows)
    written += save_figures(_figure(r, title), run_dir / "bell")
    return written


def _figure(r: dict[str, Any], title: str) -> Any:
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [3, 1.6]})
    e = [r["E"][c] for c in CONTEXTS]
    err = [1.96 * r["E_se"][c] for c in CONTEXTS] if r.get("E_se") else None
    ax1.bar(range(4), e, color=["#c0504d" if c == r.get("minus_on") else "#4f81bd" for c in CONTEXTS])
    if err:
        ax1.errorbar(range(4), e, yerr=err, fmt="none", ecolor="black", capsize=4)
    ax1.axhline(0, color="grey", lw=0.8)
    ax1.set_xticks(range(4), CONTEXTS)
    ax1.set_xlabel("context")
    ax1.set_ylim(-1.1, 1.1)
    ax1.set_ylabel("correlation E (±95% Wald)" if err else "correlation E (exact)")
    ax1.set_title(f"{title}: correlations (red: minus sign)", fontsize=9)
    s = r.get("S") or 0.0
    ci = r.get("S_ci95")
    if ci:
        ax2.errorbar([0], [s], yerr=[[s - ci[0]], [ci[1] - s]], fmt="o", color="black", capsize=5, label="S (95% CI)")
    else:
        ax2.plot([0], [s], "o", color="black", label="S (exact)")
    if r.get("S_odd") is not None:
        sci = r.get("S_odd_ci95_boot")
        so = r["S_odd"]
        if sci and sci[0] <= so <= sci[1]:
            ax2.errorbar([1], [so], yerr=[[so - sci[0]], [sci[1] - so]], fmt="s", color="#9bbb59", capsize=5,
                         label="S_odd (95% bootstrap)")
        else:
            ax2.plot([1], [so], "s", color="#9bbb59", label="S_odd")
    delta = (r.get("cbd") or {}).get("delta")
    ax2.axhline(2, color="#c0504d", ls="--", lw=1, label="2 (local bound)")
    ax2.axhline(TSIRELSON, color="#8064a2", ls=":", lw=1, label="2√2 (Tsirelson)")
    if delta is not None and 2 + delta < 4.3:
        ax2.hlines(2 + delta, 0.6, 1.4, color="#f79646", ls="-", lw=1.5, label="2 + Δ (CbD threshold for S_odd)")
    ax2.axhline(4, color="grey", ls="-.", lw=0.8, label="4 (algebraic)")
    ax2.set_xlim(-0.6, 1.6)
    ax2.set_xticks([0, 1], ["S", "S_odd"])
    ax2.set_ylim(0, 4.3)
    ax2.set_ylabel("CHSH value (dimensionless)")
    ax2.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    ax2.set_title("CHSH value", fontsize=9)
    fig.tight_layout()
    return fig
