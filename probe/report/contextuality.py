"""Report pieces for the contextuality measures: table rows, methods paragraph, null-distribution figure.

Small functions the Bell report calls (and a whole report for designs other than rank-4 CHSH):

* :func:`contextuality_rows` -> rows of the "Contextuality" table from result.json's ``contextuality``;
* :func:`contextuality_methods` -> the methods paragraph for those measures;
* :func:`audit_rows`, :func:`audit_figure` -> the audit's table and the figure of each null
  distribution with the observed value;
* :func:`contextuality_sections` -> all of the above as report.md sections (the Bell report calls it);
* :func:`surface_rows`, :func:`versus_human_rows` -> S(T) and model-versus-human tables;
* :func:`render_rank_n` -> report.md / table.tex / bell.png of a rank-n or general design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from probe.io import atomic_write_text
from probe.report.format import (
    fmt,
    fmt_p,
    latex_escape,
    markdown_table,
    new_figure,
    save_figures,
    write_table,
)


def _ci(x: Any) -> str:
    return f"[{fmt(x[0])}, {fmt(x[1])}]" if x else "–"


def contextuality_rows(block: dict[str, Any]) -> list[list[Any]]:
    """[measure, value, 95% interval, p] rows from result.json's ``contextuality`` block."""
    rows: list[list[Any]] = []
    cyc = block.get("cyclic")
    tests = block.get("tests") or {}
    if cyc:
        n = cyc["rank"]
        rows += [
            [f"s_odd (rank {n}; classical ≤ {n - 2})", fmt(cyc["s_odd"]), _ci(cyc.get("s_odd_ci95_boot")),
             f"{fmt_p(tests.get('p_s_odd'))} (bootstrap under H0); z-test {fmt_p(tests.get('p_z'))}"],
            ["Δ (sum of marginal differences)", fmt(cyc["delta"]), _ci(cyc.get("delta_ci95_boot")), "–"],
            [f"CNT1 = s_odd − Δ − {n - 2}", fmt(cyc["cnt1"]), _ci(cyc.get("cnt1_ci95_boot")),
             f"{fmt_p(tests.get('p_cnt1'))} (bootstrap under H0); posterior P(CNT1 > 0) = "
             f"{fmt(cyc.get('p_cnt1_gt_0_post'))}"],
        ]
    lp = block.get("cbd_lp")
    if lp:
        rows += [["CNT2 (LP, probability units)", fmt(lp["cnt2"]), _ci(lp.get("cnt2_ci95_boot")), "–"],
                 ["CNT3 (LP)", fmt(lp["cnt3"]), "–", "–"], ["NCNT2 (LP; noncontextual systems)", fmt(lp["ncnt2"]), "–", "–"]]
    cf = block.get("contextual_fraction") or {}
    sf = block.get("signalling_fraction") or {}
    rows += [["contextual fraction CF", fmt(cf.get("value")), _ci(cf.get("ci95_boot") or cf.get("ci95_post")), "–"],
             ["signalling fraction SF", fmt(sf.get("value")), _ci(sf.get("ci95_boot")), "–"]]
    fine = block.get("fine")
    if fine:
        rows.append(["Bell/Fine: distance to noncontextual polytope", fmt(fine.get("distance")), "–",
                     "noncontextual" if fine.get("noncontextual") else "outside"])
    return rows


def contextuality_methods(block: dict[str, Any]) -> str:
    """Methods paragraph for the measures in ``block`` (result.json's ``contextuality``)."""
    parts = []
    cyc = block.get("cyclic")
    tests = block.get("tests") or {}
    if cyc:
        n = cyc["rank"]
        parts.append(
            f"The design is a cyclic system of rank {n}. Contextuality-by-Default (Kujala, Dzhafarov & Larsson 2015; "
            f"Dzhafarov, Zhang & Kujala 2016, arXiv:1504.07422) calls it contextual iff CNT1 = s_odd − Δ − {n - 2} > 0, "
            "with s_odd the largest signed sum of the context correlations over sign vectors with an odd number of "
            "minus signs and Δ the sum over measurements of the absolute differences of their ±1 expectations "
            "between the two contexts that contain them. Intervals are percentile intervals of a parametric "
            f"bootstrap ({block.get('n_boot')} resamples, contexts independent).")
        if tests:
            parts.append(
                "Because s_odd is a maximum over sign placements it is biased upward under classical models, so the "
                "p-values of s_odd > n − 2 and of CNT1 > 0 come from a parametric bootstrap under the closest "
                "noncontextual model: the N-weighted L1 projection of the data onto mixtures of global assignments "
                "(Bell/Fine) for s_odd, and the CNT2-optimal coupling with the observed marginals for CNT1; the "
                "one-sided z-test is shown beside for comparison only.")
    parts.append(
        "The contextual fraction (Abramsky, Barbosa & Mansfield 2017, arXiv:1705.07918) and the signalling fraction "
        "were computed by linear programming (scipy/HiGHS), with bootstrap intervals from "
        f"{block.get('n_lp_boot')} resamples; finite-sample noise makes CF positive even for noncontextual "
        "respondents, so CF is to be read against the audit's null distribution.")
    if block.get("cbd_lp"):
        parts.append("CNT2, CNT3 and NCNT2 follow Kujala & Dzhafarov 2019 (arXiv:1903.07170), by linear "
                     "programming over couplings of all random variables with multimaximal connections "
                     "(probability units; for cyclic systems CNT2 = CNT1/4 and, when consistently connected, "
                     "CF = 2 CNT2; Cervantes 2023).")
    return " ".join(parts)


def audit_rows(audit: dict[str, Any]) -> list[list[Any]]:
    """[respondent, statistic, 2.5%, median, 97.5%, max, P(null ≥ observed), share above bound] rows."""
    return [[d["respondent"], d["statistic"], fmt(d["q025"]), fmt(d["q50"]), fmt(d["q975"]), fmt(d["maximum"]),
             fmt(d.get("p_at_least_observed")), fmt(d["fraction_above_classical"])] for d in audit["nulls"]]


def audit_figure(audit: dict[str, Any], stem: str | Path, *, statistic: str = "s_odd") -> list[Path]:
    """Histogram of each null respondent's ``statistic`` with the observed value and the bounds.

    ``audit`` is result.json's ``audit`` block (each null keeps its simulated ``values``); written as
    ``<stem>.png``, ``.pdf`` and ``.svg``.
    """
    panels = [d for d in audit["nulls"] if d["statistic"] == statistic and d.get("values")]
    if statistic == "s_odd":
        panels += [d for d in audit["nulls"] if d["statistic"] in ("joint_pearson", "cosine_vectors") and d.get("values")]
    cols = max(1, min(4, len(panels)))
    rows = max(1, (len(panels) + cols - 1) // cols)
    fig, axes = new_figure(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    bounds = audit.get("bounds", {})
    bound = bounds.get(f"classical_{statistic}", bounds.get("classical_s_odd"))
    observed = (audit.get("observed") or {}).get(statistic)
    for ax, d in zip(axes.ravel(), panels, strict=False):
        ax.hist(d["values"], bins=30, color="#4f81bd", alpha=0.8)
        ax.axvline(bound, color="#c0504d", ls="--", lw=1, label=f"classical {fmt(bound)}")
        if statistic == "s_odd" and "quantum_s_odd" in bounds:
            ax.axvline(bounds["quantum_s_odd"], color="#8064a2", ls=":", lw=1, label="quantum")
        if observed is not None and d["statistic"] == statistic:
            ax.axvline(observed, color="black", lw=1.5, label=f"observed {fmt(observed)}")
        ax.set_title(f"{d['respondent']}: {d['statistic']}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=6)
    fig.tight_layout()
    return save_figures(fig, stem)


def contextuality_sections(r: dict[str, Any], run_dir: Path) -> list[str]:
    """Markdown sections for the contextuality keys of a result (and audit.png when there is an audit)."""
    lines: list[str] = []
    block = r.get("contextuality")
    if block and (r.get("design") or {}).get("system_kind") in (None, "chsh"):
        lines += ["## Contextuality", "", contextuality_methods(block), "",
                  markdown_table(["measure", "value", "95% interval", "p"], contextuality_rows(block))]
    a = r.get("audit")
    if a:
        audit_figure(a, Path(run_dir) / "audit")
        header = ["respondent", "statistic", "2.5%", "median", "97.5%", "max", "P(null ≥ observed)", "share > bound"]
        lines += ["## Audit: the design and estimators on null respondents", "",
                  f"{a['n_sims']} simulated studies per respondent with the run's N per context "
                  f"({', '.join(map(str, a['n_per_context']))}); classical bound of s_odd "
                  f"{fmt(a['bounds']['classical_s_odd'])}, quantum {fmt(a['bounds']['quantum_s_odd'])}. "
                  "Figure: `audit.png` (also `.pdf`, `.svg`).", "", markdown_table(header, audit_rows(a)),
                  *[f"> **Caution:** {w}" for w in a["warnings"]], ""]
    surface = r.get("temperature_surface")
    if surface:
        lines += ["## S as a function of temperature (from the exact pass)", "",
                  "p_T ∝ p^(1/T) over the option tokens, per ordering, then averaged: the distribution sampling at T "
                  "gives conditional on a valid label (not a simulation of other answers).", "",
                  markdown_table(["T", "S", "s_odd", "Δ", "CNT1"], surface_rows(surface)),
                  *[f"> **Note:** {w}" for w in surface.get("warnings", [])], ""]
    v = r.get("versus_human")
    if v:
        lines += ["## Model versus human answers", "",
                  f"Log-likelihood (nats) of the human answers in `{v.get('human_file')}` under the model's exact "
                  "distributions, against the human data's own multinomial ceiling (the saturated model); skill = "
                  "(model − uniform) / (ceiling − uniform); 95% intervals from a multinomial bootstrap of the human "
                  "counts.", "", markdown_table(["context", "N", "log-lik", "ceiling", "KL(human‖model)"],
                                                versus_human_rows(v)), ""]
    return lines


def surface_rows(surface: dict[str, Any]) -> list[list[Any]]:
    """[T, S, s_odd, Δ, CNT1] rows of an S(T) surface (``TemperatureSurface.to_dict()``)."""
    s = surface.get("s_signed")
    return [[fmt(t), fmt(s[i]) if s else "–", fmt(surface["s_odd"][i]), fmt(surface["delta"][i]),
             fmt(surface["cnt1"][i])] for i, t in enumerate(surface["temperatures"])]


def versus_human_rows(v: dict[str, Any]) -> list[list[Any]]:
    """[context, N, log-lik, ceiling, KL(human||model)] rows plus a total row."""
    rows = [[c, n, fmt(ll), fmt(ce), fmt(kl)] for c, n, ll, ce, kl in
            zip(v["contexts"], v["n"], v["loglik"], v["loglik_ceiling"], v["kl_human_model"], strict=True)]
    rows.append(["total", sum(v["n"]), f"{fmt(v['loglik_total'])} {_ci(v['loglik_total_ci95'])}", fmt(v["ceiling_total"]),
                 f"skill {fmt(v['skill'])} {_ci(v['skill_ci95'])}; G² = {fmt(v['g2'])} (df {v['df']}), "
                 f"p = {fmt_p(v['p_value'])}"])
    return rows


def render_rank_n(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    """report.md, table.tex and bell.png for a design that is not the rank-4 CHSH design."""
    run_dir = Path(run_dir)
    d = r.get("design", {})
    title = d.get("title") or d.get("name") or "system"
    block = r.get("contextuality") or {}
    names = list(r.get("E") or {})
    lines = [f"# Contextuality test: {title} — {r.get('model')}", "", "## Result", ""]
    cbd = r.get("cbd") or {}
    if r.get("S_odd") is not None:
        lines.append(f"s_odd = {fmt(r.get('S_odd'))} (rank {len(names)}; category **{r.get('category')}**); "
                     f"CbD: Δ = {fmt(cbd.get('delta'))}, CNT1 = {fmt(cbd.get('cnt1'))} → "
                     f"{'**contextual**' if cbd.get('contextual') else 'not contextual'}.")
    else:
        cf = (block.get("contextual_fraction") or {}).get("value")
        lines.append(f"General system of {len(r.get('n') or {})} contexts: contextual fraction CF = {fmt(cf)}"
                     + (f", CNT2 = {fmt(cbd.get('cnt2'))}" if cbd.get("cnt2") is not None else "") + ".")
    if block.get("tests"):
        lines.append(block["tests"]["verdict"] + ".")
    if d.get("modelled_on"):
        lines.append(f"Design modelled on: {d['modelled_on']}.")
    for warning in r.get("warnings", []):
        lines.append(f"> **Caution:** {warning}")
    lines += ["", "## Methods", "", contextuality_methods(block) if block else "", ""]
    counts = r.get("counts")
    if counts and names:
        lines += ["## Contexts", "", markdown_table(["context", "++", "+−", "−+", "−−", "N", "E"],
                                                    [[c, *counts[c].values(), r["n"][c], fmt(r["E"][c])] for c in names])]
    if block:
        lines += ["## Contextuality", "", markdown_table(["measure", "value", "95% interval", "p"],
                                                         contextuality_rows(block))]
    lines += contextuality_sections(r, run_dir)
    lines += ["", "Files: `result.json` (all numbers), `trials.jsonl`, `cassette.jsonl`, `table.tex` and `table.csv`, "
              "`bell.png`/`.pdf`/`.svg`.", ""]
    written = [atomic_write_text(run_dir / "report.md", "\n".join(lines))]
    tex_rows = [[latex_escape(c), r["n"][c] if r.get("n") else "–", f"${fmt(r['E'][c])}$"] for c in names]
    if r.get("S_odd") is not None:
        tex_rows.append(["$s_{odd}$", "–", f"${fmt(r.get('S_odd'))}$"])
    else:
        tex_rows = [[latex_escape(c), n, "–"] for c, n in (r.get("n") or {}).items()]
    written += write_table(run_dir, "table", ["Context", "$N$", "$E$"], tex_rows, raw_header=True, raw_cells=True,
                           caption=f"Contextuality test of '{title}' with {r.get('model')}",
                           label=f"tab:bell-{d.get('name') or 'system'}",
                           csv_header=["context", "N", "E"],
                           csv_rows=[[c, (r.get("n") or {}).get(c), (r.get("E") or {}).get(c)] for c in
                                     (names or list(r.get("n") or {}))])
    fig, ax = new_figure(1, 1, figsize=(max(5, 0.8 * len(names)), 3.2))
    ax.bar(range(len(names)), [r["E"][c] for c in names] if names else [], color="#4f81bd")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_ylim(-1.1, 1.1)
    ax.set_ylabel("E")
    ax.set_title(f"{title}: s_odd = {fmt(r.get('S_odd'))}")
    fig.tight_layout()
    written += save_figures(fig, run_dir / "bell")
    return written
