"""Words run report: report.md (methods paragraph from the run), table.tex and figures.

Figures (re-drawn from ``result.json`` and the counts file, so ``probe report RUN`` rebuilds them):

* ``occupation.png``: log N against the energy level E with the BE and MB fits, and the
  log residuals of both underneath;
* ``rank_frequency.png``: the rank-frequency plot on log-log axes with the BE, Zipf and
  Zipf-Mandelbrot fits of the common (multinomial) likelihood;
* ``by_file.png``: B with its interval for each text (``--by-file`` runs only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from probe.io import atomic_write_text
from probe.report.format import flat_view, fmt, fmt_p, markdown_table, new_figure, save_figures, write_table

_NAMES = {"be": "Bose–Einstein", "mb": "Maxwell–Boltzmann", "zipf": "Zipf", "zipf-mandelbrot": "Zipf–Mandelbrot"}


def _num(x: float | None) -> str:
    """Large statistics (log L, AIC) in fixed notation with one decimal."""
    return "–" if x is None else f"{x:,.1f}"


def _ci(x: Any, digits: int = 3) -> str:
    return f"[{fmt(x[0], digits)}, {fmt(x[1], digits)}]" if x else "–"


def _a(x: float | None) -> str:
    """A is close to 1 for BE: show A - 1 in scientific notation when it is."""
    if x is None:
        return "–"
    return f"1 + {x - 1:.3e}" if 1 < x < 1.01 else fmt(x, 4)


def _a_ci(ci: Any) -> str:
    return f"[{_a(ci[0])}, {_a(ci[1])}]" if ci else "–"


def methods_paragraph(r: dict[str, Any]) -> str:
    """A methods paragraph assembled from what the run recorded."""
    s, tok = r.get("settings", {}), r.get("tokenizer", {})
    inputs = r.get("inputs", [])
    date = str(r.get("created", ""))[:10]
    if r.get("source") == "generate":
        g = r.get("generation", {})
        what = (f"{g.get('n_kept')} stories written by {g.get('model')} (reported version: "
                f"{', '.join(g.get('model_versions') or []) or 'not reported'}) from the prompts in "
                f"`{g.get('prompt')}` ({g.get('n_requested')} requested; {g.get('n_flagged')} flagged as short, cut off, "
                f"refused or empty and {'excluded' if g.get('exclude_flagged') else 'kept'})")
    else:
        what = f"{len(inputs)} text file(s) ({', '.join(Path(i['name']).name for i in inputs[:5])}" + (
            ", ..." if len(inputs) > 5 else "") + ")"
    bs = s.get("bootstrap")
    boot = ("no bootstrap was run" if not s.get("n_resamples") else
            f"95% intervals for A and B come from a {bs} bootstrap with {s.get('n_resamples')} resamples "
            + ("(counts simulated from the fitted law on its levels, re-ranked and refitted; " if bs == "parametric"
               else "(tokens resampled multinomially, re-ranked and refitted; ")
            + f"{s.get('ci')} intervals on the log scale"
            + (", centred on the estimate corrected for the rank-estimation bias by a second round simulated at "
               "the corrected constants" if s.get("ci") == "basic" and bs == "parametric" else "")
            + f", seed {r.get('seed')})")
    energy = r.get("energy") or {}
    d = energy.get("exponent", 1.0)
    xf = energy.get("exponent_fit")
    if xf:
        lo, hi = xf.get("ci") or (None, None)
        d_text = (f"d = {fmt(d, 4)} chosen by profile likelihood of the BE fit (95% profile-likelihood interval "
                  f"[{fmt(lo, 4) if lo is not None else 'open'}, {fmt(hi, 4) if hi is not None else 'open'}]; "
                  f"likelihood ratio against d = 1: {fmt(xf.get('lr_equal_spacing'))}, p = {fmt_p(xf.get('p_equal_spacing'))}"
                  "; Aerts et al. 2026 choose d per text by eye)")
    else:
        d_text = f"d = {fmt(d, 4)}" + (" (equal spacing)" if d == 1 else "")
    return (
        f"We counted the words of {what} with probe {r.get('probe_version')} on {date}: {r.get('n_tokens')} tokens of "
        f"{r.get('n_types')} distinct words. {tok.get('description', '')} Words were ranked by decreasing count "
        f"(ties: {s.get('ties')}) and the word of rank k was placed on energy level E = {s.get('first_level', 0)} + "
        f"(k − 1)^d with {d_text}, following Aerts & Beltran (2020, arXiv:1909.06845) and Aerts et al. (2026, "
        "Entropy 28(6):622, arXiv:2511.21731). Bose–Einstein N(E) = 1/(A e^(E/B) − 1) and "
        f"Maxwell–Boltzmann N(E) = 1/(A e^(E/B)) were fitted by the {s.get('method')} method"
        + (" (the published method: A and B reproduce the total number of words and the total energy, which is "
           "maximum likelihood for independent geometric (BE) or Poisson (MB) level occupations)"
           if s.get("method") == "constraint" else "")
        + f"; {boot}. R² is reported on raw and on log counts. AIC and BIC use the independent-modes likelihood "
        "(k = 2). For model choice every law (BE, MB, Zipf, Zipf–Mandelbrot) was also fitted as a shape p(E) under "
        "one multinomial likelihood of the tokens, and pairs were compared with Vuong's normalised likelihood-ratio "
        f"test (α = {s.get('alpha')}); the count distribution was compared with the `powerlaw` package (Alstott et al. "
        "2014). The verdict rests on these likelihood tests, never on R²."
    )


def _fit_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for key in ("be", "mb"):
        f = r["fits"][key]
        rows.append([_NAMES[key], _a(f.get("A")), _a_ci(f.get("A_ci95")), fmt(f.get("B")),
                     fmt(f.get("B_bias_corrected")) if f.get("B_bias_corrected") is not None else "–",
                     _ci(f.get("B_ci95")),
                     fmt(f.get("r2")), fmt(f.get("r2_log")), _num(f.get("aic")), _num(f.get("bic")),
                     "yes" if f.get("converged") else "NO"])
    return rows


def _comparison_rows(r: dict[str, Any]) -> list[list[Any]]:
    models = r.get("comparison", {}).get("models", [])
    if not models:
        return []
    best = min(m["aic"] for m in models)
    return [[_NAMES.get(m["name"], m["name"]), ", ".join(f"{k} = {_a(v) if k == 'A' else fmt(v)}"
                                                        for k, v in m["params"].items()),
             m["k"], _num(m["loglik"]), _num(m["aic"] - best), _num(m["bic"] - min(x["bic"] for x in models))]
            for m in models]


def _test_rows(r: dict[str, Any]) -> list[list[Any]]:
    return [[f"{t['a'].upper()} vs {t['b'].upper()}", t["likelihood"], t["n"], fmt(t["z"], 2), fmt_p(t["p"]),
             t["favours"].upper() if t["p"] < r.get("settings", {}).get("alpha", 0.05) else "–"]
            for t in r.get("tests", [])]


def render(run_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """Write report.md, table.tex and the figures of a words run; return their paths."""
    r = flat_view(doc)
    run_dir = Path(run_dir)
    written: list[Path] = []
    figures = _figures(run_dir, r)
    written += figures
    header = ["model", "A", "A 95% CI", "B", "B bias-corrected", "B 95% CI", "R² raw", "R² log", "AIC", "BIC",
              "converged"]
    csv_rows = [[_NAMES[k], f.get("A"), *(f.get("A_ci95") or [None, None]), f.get("B"), f.get("B_bias_corrected"),
                 *(f.get("B_ci95") or [None, None]), f.get("r2"), f.get("r2_log"), f.get("aic"), f.get("bic"),
                 f.get("converged")]
                for k, f in ((k, r["fits"][k]) for k in ("be", "mb"))]
    written += write_table(run_dir, "table", header, _fit_rows(r), label="tab:words-fits",
                           caption=f"Bose–Einstein and Maxwell–Boltzmann fits ({r.get('settings', {}).get('method')} "
                                   f"method), N = {r.get('n_tokens')} tokens, V = {r.get('n_types')} words.",
                           csv_header=["model", "A", "A_lo", "A_hi", "B", "B_bias_corrected", "B_lo", "B_hi", "r2",
                                       "r2_log", "aic", "bic", "converged"], csv_rows=csv_rows)
    v = r.get("verdict", {})
    lines = [
        f"# Word statistics: Bose–Einstein vs Maxwell–Boltzmann ({r.get('n_tokens')} tokens)", "",
        f"**Preferred: {str(r.get('preferred')).upper()}**" + (
            f" (best shape model by AIC: {_NAMES.get(v.get('best_rank_model'), v.get('best_rank_model'))})"
            if v.get("best_rank_model") else ""), "",
        "## Methods", "", methods_paragraph(r), "",
        "## Fits", "", markdown_table(header, _fit_rows(r)),
        "A is close to 1 for BE, so it is written 1 + (A − 1). Intervals: " + _boot_note(r), "",
        "## Model comparison (one multinomial likelihood)", "",
        markdown_table(["model", "parameters", "k", "log L", "ΔAIC", "ΔBIC"], _comparison_rows(r)),
        markdown_table(["test", "likelihood", "n", "z", "p", "favours"], _test_rows(r)),
    ]
    pl = r.get("powerlaw")
    if pl:
        if pl.get("error"):
            lines += [f"powerlaw package: failed ({pl['error']}).", ""]
        else:
            lines += [f"Count distribution (`powerlaw`): α = {fmt(pl['alpha'])} above x_min = {fmt(pl['xmin'])} "
                      f"({pl['n_tail']} words), KS D = {fmt(pl['ks_distance'])}.", "",
                      markdown_table(["power law vs", "R", "p", "favours"],
                                     [[c["alternative"], fmt(c["R"]), fmt_p(c["p"]), c["favours"]]
                                      for c in pl["comparisons"]])]
    lines += ["## Verdict", "", *[f"- {e}" for e in v.get("evidence", [])], "", "Caveats:", "",
              *[f"- {c}" for c in v.get("caveats", [])], ""]
    if r.get("by_file"):
        lines += ["## Per text", "", markdown_table(
            ["text", "tokens", "words", "preferred", "B (BE)", "B 95% CI", "R² log (BE)"],
            [[Path(row["name"]).name, row["n_tokens"], row["n_types"], row.get("preferred", row.get("error", "–")),
              fmt(row.get("be", {}).get("B")), _ci(row.get("be", {}).get("B_ci95")),
              fmt(row.get("be", {}).get("r2_log"))] for row in r["by_file"]]),
            "Texts per verdict: " + ", ".join(f"{k.upper() if k in ('be', 'mb') else k} {v}"
                                              for k, v in (r.get("by_file_summary") or {}).items()) + ".", ""]
    g = r.get("generation")
    if g:
        lines += ["## Generation", "", f"{g.get('n_requested')} stories requested from {g.get('model')}; "
                  f"{g.get('n_flagged')} flagged" + (": " + ", ".join(f"{k} {v}" for k, v in (g.get("flag_counts") or {}).items())
                                               if g.get("flag_counts") else "") + ".", ""]
    flags = r.get("flags") or []
    if flags:
        lines += ["## Flags", "", *[f"- {f}" for f in flags], ""]
    lines += ["## Figures", "", *[f"![{p.stem}]({p.name})" for p in figures if p.suffix == ".png"], "",
              "## Inputs", "", markdown_table(["input", "bytes", "tokens", "words", "sha256"],
                                              [[Path(i["name"]).name, i["n_bytes"], i["n_tokens"], i["n_types"],
                                                i["sha256"][:16] + "…"] for i in r.get("inputs", [])[:50]]),
              *([f"(The first 50 of {len(r.get('inputs', []))} inputs; all are listed in result.json under "
                 "`result.inputs`.)"] if len(r.get("inputs", [])) > 50 else []),
              "LaTeX table: `table.tex` (needs `\\usepackage{booktabs,graphicx,longtable}`), the same numbers in "
              "`table.csv`.", ""]
    written.append(atomic_write_text(run_dir / "report.md", "\n".join(lines)))
    return written


def _boot_note(r: dict[str, Any]) -> str:
    b = r["fits"]["be"].get("bootstrap") or {}
    if not b:
        return "none (no bootstrap)."
    return (f"{b.get('kind')} bootstrap, {b.get('n_resamples')} resamples ({b.get('n_failed')} failed refits), "
            f"{b.get('ci')} intervals; bootstrap bias of ln B for BE: {fmt(b.get('log_B_bias'))}"
            + (" (the basic interval removes this bias: it is centred on the bias-corrected B, which it always "
               "contains; the constraint B, the papers' estimate, lies outside it only when the bias exceeds the "
               "sampling spread)." if b.get("ci") == "basic" else "."))


# --- figures ----------------------------------------------------------------------------------------------

def _levels(run_dir: Path, r: dict[str, Any]) -> Any:
    import pandas as pd

    from probe.analysis.words.fits import energy_levels

    name = (r.get("files") or {}).get("counts")
    if not name or not (run_dir / name).exists():
        return None
    path = run_dir / name
    frame = (pd.read_parquet(path) if path.suffix == ".parquet"
             else pd.read_csv(path, keep_default_na=False, dtype={"word": str}))
    s = r.get("settings", {})
    ties = s.get("ties", "ordinal")
    return energy_levels(frame["count"].to_numpy(), ties="ordinal" if ties == "alphabetical" else ties,
                         first_level=s.get("first_level", 0),
                         energy_exponent=(r.get("energy") or {}).get("exponent", 1.0))


def _thin(n: int, k: int = 3000) -> np.ndarray:
    """About k log-spaced indices of 0..n-1 (all of them when n <= k), for plotting."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.concatenate([np.arange(200), np.geomspace(1, n, k).astype(np.int64) - 1]))


def _figures(run_dir: Path, r: dict[str, Any]) -> list[Path]:
    from probe.analysis.words.compare import rank_log_probabilities
    from probe.analysis.words.fits import occupation

    lv = _levels(run_dir, r)
    if lv is None:
        return []
    out = []
    idx = _thin(lv.energy.size)
    e, n = lv.energy[idx], lv.counts[idx]
    fig, (ax, res) = new_figure(2, 1, figsize=(6.4, 6.0), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    ax.scatter(e, n, s=6, color="0.3", label=f"data (V = {lv.n_types})", zorder=3)
    styles = {"be": ("C0", "-"), "mb": ("C3", "--")}
    for key in ("be", "mb"):
        f = r["fits"][key]
        if not f.get("B"):
            continue
        with np.errstate(all="ignore"):
            m = occupation(key, e, f["A"], f["B"])
            ax.plot(e, m, color=styles[key][0], ls=styles[key][1],
                    label=f"{_NAMES[key]} ({f.get('method', 'constraint')} fit): A = {_a(f['A'])}, B = {fmt(f['B'])}, "
                          f"R²(log) = {fmt(f['r2_log'])}")
            res.scatter(e, np.log(n) - np.log(m), s=4, color=styles[key][0], label=_NAMES[key])
    ax.set_yscale("log")
    ax.set_ylabel("N(E): occurrences of the word on level E")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"Word occupation of energy levels ({r.get('n_tokens')} tokens)")
    res.axhline(0, color="0.5", lw=0.8)
    res.set_ylabel("ln n − ln N(E)")
    res.set_xlabel("energy level E (rank − 1)")
    res.set_ylim(*np.clip(res.get_ylim(), -8, 8))
    out += save_figures(fig, run_dir / "occupation")

    fig, ax = new_figure(figsize=(6.4, 4.8))
    rank = lv.energy[idx] - lv.energy.min() + 1
    ax.loglog(rank, n, ".", ms=3, color="0.3", label="data")
    total = lv.n_tokens
    for m in r.get("comparison", {}).get("models", []):
        if m["name"] == "mb":
            continue
        with np.errstate(all="ignore"):
            p = np.exp(rank_log_probabilities(m["name"], m["params"], lv))[idx]
        best = min(x["aic"] for x in r["comparison"]["models"])
        ax.loglog(rank, total * p, lw=1.2,
                  label=f"{_NAMES[m['name']]} shape, multinomial ML (ΔAIC {fmt(m['aic'] - best, 1)})")
    ax.set_xlabel("rank (1 = most frequent word)")
    ax.set_ylabel("frequency (tokens)")
    ax.set_title("Rank–frequency")
    ax.legend(fontsize=8)
    out += save_figures(fig, run_dir / "rank_frequency")

    rows = [row for row in r.get("by_file") or [] if row.get("be", {}).get("B_ci95")]
    if rows:
        fig, ax = new_figure(figsize=(6.4, max(2.5, 0.28 * len(rows) + 1)))
        y = np.arange(len(rows))
        b = np.array([row["be"]["B"] for row in rows])
        lo = np.array([row["be"]["B_ci95"][0] for row in rows])
        hi = np.array([row["be"]["B_ci95"][1] for row in rows])
        colors = ["C0" if row["preferred"] == "be" else "C3" if row["preferred"] == "mb" else "0.5" for row in rows]
        ax.errorbar(b, y, xerr=[np.clip(b - lo, 0, None), np.clip(hi - b, 0, None)], fmt="none", ecolor="0.6")
        ax.scatter(b, y, c=colors, zorder=3)
        ax.set_yticks(y, [Path(row["name"]).name[:30] for row in rows], fontsize=7)
        ax.set_xlabel("B (BE fit) with 95% interval; blue = BE preferred, red = MB, grey = inconclusive")
        out += save_figures(fig, run_dir / "by_file")
    return out
