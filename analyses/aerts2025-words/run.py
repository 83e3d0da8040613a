"""Reproduce test 2 of Aerts et al. (2026, Entropy 28(6):622; arXiv:2511.21731): Bose-Einstein vs
Maxwell-Boltzmann word statistics of texts written by language models, beside texts by people and
meaning-free control texts.

1. The paper's Table 4 (its Gemini story) recomputed from the totals it prints (N, V, E, d = 0.8).
2. Every corpus through the same `probe words` pipeline with the paper's level rule: rank i on
   E_i = (i - 1)^d, ties broken alphabetically, d chosen per text (here by profile likelihood; the
   paper chose it by eye). Corpora: the King James Bible (Genesis, and the whole book) from the
   counts shipped in corpora/kjv/ (made by corpora/kjv.py from Debian's bible-kjv package),
   meaning-free controls, and texts drawn from BE laws with known constants.

    python analyses/aerts2025-words/run.py                          # offline: KJV + controls
    python analyses/aerts2025-words/run.py --texts my_stories/      # your texts (+ their unigram controls)
    python analyses/aerts2025-words/run.py --model gpt-4o --n 20 --min-words 3000          # recorded
    python analyses/aerts2025-words/run.py --model gemini-2.0-flash --n 20 --min-words 3000
    python analyses/aerts2025-words/run.py --model gpt-4o --n 20 --min-words 3000 \\
        --replay runs/aerts2025-words/gpt-4o/cassette.jsonl        # replay offline, no key

Outputs go to --out (default runs/aerts2025-words/): one probe run folder per corpus and
summary.md / summary.png; --results also copies the summary into this folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from probe.analysis.words.fits import bose_einstein, maxwell_boltzmann, rank_energies
from probe.analysis.words.solvers import newton_from_stats
from probe.cli import main as probe_main
from probe.experiments.words.study import count_sources, find_sources
from probe.experiments.words.synthetic_texts import be_text, monkey_text, unigram_text, zipf_text
from probe.experiments.words.tokenizer import TokenizerOptions
from probe.report.format import fmt, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PAPER = dict(N=2861.0, V=822, E=145_694.86, d=0.8, top=132.0)  # Aerts et al. 2026, section 3 and Table 4
PAPER_PRINTED = [  # (row, rank, model, value printed in Table 4)
    ("N(E_1), word \"A\" (observed 132)", 1, "be", 185.36),
    ("N(E_2), word \"The\" (observed 98)", 2, "be", 103.39),
    ("N(E_79), word \"Not\" (observed 7)", 79, "be", 6.46),
    ("MB N(E_1) (about 23 in Table 4)", 1, "mb", 23.0),
    ("MB N(E_79) (about 10.8 in Table 4)", 79, "mb", 10.8),
]


def paper_table4() -> tuple[list[list], dict]:
    """The constants and occupations of the paper's Table 4, recomputed from N, V, E and d alone."""
    energies = rank_energies(PAPER["V"], energy_exponent=PAPER["d"])
    out = {}
    for model in ("be", "mb"):
        a, b, ok, msg, _ = newton_from_stats(energies, None, PAPER["N"], PAPER["E"], PAPER["top"], model,
                                             tol=1e-12, max_iter=200)
        if not ok:
            raise SystemExit(f"paper Table 4: the {model} constraint fit failed ({msg})")
        law = bose_einstein if model == "be" else maxwell_boltzmann
        out[model] = {"A": float(np.exp(a)), "B": float(1 / b), "occupation": law(energies, np.exp(a), 1 / b)}
    rows = [[name, fmt(value, 4), fmt(float(out[model]["occupation"][rank - 1]), 4)]
            for name, rank, model, value in PAPER_PRINTED]
    rows += [["BE constants A, B (not printed; implied by the two top rows)", "A ≈ 1.0054, B ≈ 235.6",
              f"A = {out['be']['A']:.6f}, B = {out['be']['B']:.2f}"],
             ["MB constants C, D (not printed)", "–", f"C = {out['mb']['A']:.5f}, D = {out['mb']['B']:.3f}"]]
    return rows, {m: {"A": v["A"], "B": v["B"]} for m, v in out.items()}


def kjv_texts(folder: Path) -> dict[str, Path]:
    """The King James Bible from the shipped counts (corpora/kjv/), as texts with exactly those counts."""
    sys.path.insert(0, str(ROOT / "corpora"))
    from kjv import read_counts as read_kjv
    from kjv import text_from_counts

    return {
        "human: KJV Genesis (public domain)": write(folder / "kjv-genesis.txt",
                                                    text_from_counts(read_kjv(ROOT / "corpora/kjv/genesis.counts.csv"))),
        "human: KJV Bible, whole (public domain)": write(folder / "kjv.txt",
                                                         text_from_counts(read_kjv(ROOT / "corpora/kjv/kjv.counts.csv"))),
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def controls(folder: Path, n_tokens: int, seed: int) -> dict[str, Path]:
    """Meaning-free texts of about ``n_tokens`` words, and a text drawn from the BE law itself."""
    return {
        "control: monkey typing": write(folder / "monkey.txt", monkey_text(int(n_tokens * 5.5), rng=seed)),
        "control: Zipf unigrams (s = 1)": write(folder / "zipf.txt", "".join(zipf_text(n_tokens, rng=seed + 1))),
        "synthetic: BE law (A = 1.0005, B = 3000, d = 1)": write(folder / "be.txt", be_text(40_000, 1.0005, 3000.0,
                                                                                              rng=seed + 2)),
        "synthetic: BE law at the paper's Gemini fit (A = 1.0054, B = 235.6, d = 0.8)": write(
            folder / "be-gemini.txt", be_text(16_000, 1.0054, 235.6, energy_exponent=0.8, rng=seed + 3)),
    }


def unigram_controls(texts: list[Path], folder: Path, seed: int) -> dict[str, Path]:
    """For each user text, a text of the same length drawn from its own word frequencies."""
    out: dict[str, Path] = {}
    if not texts:
        return out
    for i, part in enumerate(count_sources(find_sources([str(t) for t in texts]), TokenizerOptions(), jobs=1)):
        name = Path(part.name).stem
        out[f"control: {name} unigram-resampled"] = write(
            folder / f"{name}.unigram.txt", unigram_text(Counter(part.counts), part.n_tokens, rng=seed + 10 + i))
    return out


def analyse(label: str, args: list[str], out: Path) -> tuple[str, dict, Path]:
    code = probe_main(["words", *args, "--out", str(out), "--no-progress"])
    if code != 0:
        raise SystemExit(f"{label}: probe words failed (exit {code})")
    doc = json.loads((out / "result.json").read_text())
    if "schema" in doc:  # run folders of schema probe-run/2: the study result under "result"
        doc = {**doc["result"], "probe_version": doc["probe_version"], "created": doc["created"]}
    return label, doc, out


def exponent_cell(r: dict) -> str:
    energy = r.get("energy") or {}
    xf = energy.get("exponent_fit")
    if not xf:
        return f"{fmt(energy.get('exponent', 1.0), 3)} (given)"
    lo, hi = xf["ci"]
    return f"{fmt(energy['exponent'], 3)} [{fmt(lo, 3) if lo else 'open'}, {fmt(hi, 3) if hi else 'open'}]"


def row(label: str, r: dict) -> list:
    be, mb = r["fits"]["be"], r["fits"]["mb"]
    tests = {(t["a"], t["b"], t["likelihood"]): t for t in r["tests"]}
    zm = tests.get(("be", "zipf-mandelbrot", "multinomial"))
    corrected = (f"{fmt(be['B_bias_corrected'])} [{fmt(be['B_ci95'][0])}, {fmt(be['B_ci95'][1])}]"
                 if be.get("B_ci95") else "–")
    return [label, r["n_tokens"], r["n_types"], exponent_cell(r), f"{be['A'] - 1:.3e}", fmt(be["B"]), corrected,
            fmt(be["r2"]), fmt(mb["r2"]), f"{be['aic'] - mb['aic']:,.0f}",
            f"{zm['z']:.2f} ({zm['favours'].upper() if zm['p'] < 0.05 else 'n.s.'})" if zm else "–",
            str(r["verdict"]["best_rank_model"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", nargs="*", default=[], help="your texts (files or folders of .txt)")
    ap.add_argument("--model", action="append", default=[], help="model(s) to ask for stories (repeatable)")
    ap.add_argument("--n", type=int, default=20, help="stories per model (default 20)")
    ap.add_argument("--min-words", type=int, default=3000)
    ap.add_argument("--replay", action="append", default=[], help="cassette(s) to replay, one per --model")
    ap.add_argument("--base-url", default=None)
    ap.add_argument("--control-tokens", type=int, default=200_000, help="size of each control text")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/aerts2025-words"))
    ap.add_argument("--results", action="store_true", help="also write summary.md/.png into this folder")
    a = ap.parse_args()
    if a.replay and len(a.replay) != len(a.model):
        raise SystemExit("give one --replay cassette per --model")
    if a.out.exists():
        shutil.rmtree(a.out)
    corpora = a.out / "texts"
    common = ["--bootstrap", str(a.bootstrap), "--seed", str(a.seed), "--compare", "zipf,zipf-mandelbrot,lognormal",
              "--ties", "alphabetical", "--energy-exponent", "fit"]
    equal = [x if x != "fit" else "1" for x in common]
    results: list[tuple[str, dict, Path]] = []
    for i, model in enumerate(a.model):
        args = ["--generate", "--model", model, "--n", str(a.n), "--min-words", str(a.min_words), *common]
        if a.replay:
            args += ["--replay", "--cassette", a.replay[i]]
        if a.base_url:
            args += ["--base-url", a.base_url]
        results.append(analyse(f"model: {model} ({a.n} stories, pooled)", args, a.out / model.replace(":", "-")))
    user = [p for t in a.texts for p in ([Path(t)] if Path(t).is_file() else sorted(Path(t).glob("*.txt")))]
    for path in user:
        results.append(analyse(f"text: {path.name}", [str(path), *common], a.out / path.stem))
    kjv = kjv_texts(corpora)
    for label, path in kjv.items():
        results.append(analyse(label, [str(path), *common], a.out / path.stem))
        results.append(analyse(label.replace("(public domain)", "at d = 1"), [str(path), *equal],
                               a.out / f"{path.stem}-d1"))
    texts = {**unigram_controls(user, corpora, a.seed), **controls(corpora, a.control_tokens, a.seed)}
    true_d = {"be.txt": "1", "be-gemini.txt": "0.8"}  # the synthetic laws' own spacing
    for label, path in texts.items():
        results.append(analyse(label, [str(path), *common], a.out / path.stem))
        if path.name in true_d:  # B is only comparable at the same d: refit at the law's own d too
            given = [x if x != "fit" else true_d[path.name] for x in common]
            results.append(analyse(label.replace("synthetic:", "synthetic, d given:"), [str(path), *given],
                                   a.out / f"{path.stem}-dgiven"))

    paper_rows, paper_constants = paper_table4()
    header = ["corpus", "tokens", "words", "d [95% CI]", "A − 1 (BE)", "B (BE, paper's method)",
              "B bias-corrected [95% CI]", "R² BE", "R² MB", "ΔAIC BE−MB", "Vuong z BE vs ZM", "best shape"]
    table = markdown_table(header, [row(label, r) for label, r, _ in results])
    flags = [f"- {label}: {f}" for label, r, _ in results for f in r.get("flags", [])]
    r0 = results[0][1]
    summary = "\n".join([
        "# Aerts et al. 2026, test 2: BE vs MB word statistics", "",
        "## 1. The paper's Table 4, recomputed from its printed totals", "",
        f"Gemini story: N = {PAPER['N']:.0f} words, V = {PAPER['V']} distinct words, E_i = (i − 1)^{PAPER['d']}, "
        f"total energy E = {PAPER['E']:,.2f} (Aerts et al. 2026, section 3 and Table 4). The constraint method "
        "needs nothing else.", "",
        markdown_table(["quantity", "paper (Table 4)", "ours"], paper_rows),
        "## 2. Corpora through `probe words`", "",
        f"probe {r0['probe_version']}, {r0['created'][:10]}; tokenizer: {r0['tokenizer']['description']}",
        "Levels: rank i on E_i = (i − 1)^d, ties broken alphabetically (the paper's rule); d chosen per text by "
        "profile likelihood of the BE fit (95% profile-likelihood interval), or fixed at 1 where the row says so. "
        f"Fits: constraint method (the paper's), parametric bootstrap ({a.bootstrap} resamples per round, seed "
        f"{a.seed}) on the fitted law's infinite chain of levels, re-ranked; the interval is the bias-corrected "
        "basic interval, printed with its point estimate (the constraint B corrected for the rank-estimation "
        "bias); ΔAIC from the independent-modes likelihood; Vuong z on the common multinomial likelihood "
        "(z > 0 favours BE).", "",
        table,
        *(["Flags:", "", *flags, ""] if flags else []),
    ])
    (a.out / "paper_constants.json").write_text(json.dumps(paper_constants, indent=1) + "\n")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    fig, ax = new_figure(figsize=(7, 4.5))
    for label, r, folder in results:
        path = folder / r["files"]["counts"]
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=False)
        counts = np.sort(frame["count"].to_numpy())[::-1]
        ax.loglog(np.arange(1, counts.size + 1), counts / counts.sum(), lw=1.2, label=label)
    ax.set_xlabel("rank")
    ax.set_ylabel("relative frequency")
    ax.legend(fontsize=7)
    ax.set_title("Rank-frequency of every corpus")
    save_figure(fig, a.out / "summary.png")
    print(summary)
    if a.results:
        shutil.copy(a.out / "summary.md", HERE / "results.md")
        shutil.copy(a.out / "summary.png", HERE / "results.png")


if __name__ == "__main__":
    sys.exit(main())
