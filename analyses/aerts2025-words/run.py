"""Reproduce test 2 of Aerts et al. (2025): Bose-Einstein vs Maxwell-Boltzmann word statistics of
texts written by language models, beside texts by people and meaning-free control texts.

Every corpus goes through the same `probe words` pipeline (same tokenizer, same fits, same
tests); this script only chooses the corpora and tabulates the verdicts.

    python analyses/aerts2025-words/run.py                          # offline: control texts only
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

from probe.cli import main as probe_main
from probe.experiments.words.study import count_sources, find_sources, read_counts
from probe.experiments.words.synthetic_texts import be_text, monkey_text, unigram_text, zipf_text
from probe.experiments.words.tokenizer import TokenizerOptions
from probe.report.format import fmt, markdown_table, new_figure, save_figure

HERE = Path(__file__).resolve().parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def controls(folder: Path, n_tokens: int, seed: int) -> dict[str, Path]:
    """Meaning-free texts of about ``n_tokens`` words, and a text drawn from the BE law itself."""
    return {
        "control: monkey typing": write(folder / "monkey.txt", monkey_text(int(n_tokens * 5.5), rng=seed)),
        "control: Zipf unigrams (s = 1)": write(folder / "zipf.txt", "".join(zipf_text(n_tokens, rng=seed + 1))),
        "synthetic: BE law (A = 1.0005, B = 3000)": write(folder / "be.txt", be_text(20_000, 1.0005, 3000.0,
                                                                                       rng=seed + 2)),
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
    return label, json.loads((out / "result.json").read_text()), out


def row(label: str, r: dict) -> list:
    be, mb = r["fits"]["be"], r["fits"]["mb"]
    tests = {(t["a"], t["b"], t["likelihood"]): t for t in r["tests"]}
    zm = tests.get(("be", "zipf-mandelbrot", "multinomial"))
    return [label, r["n_tokens"], r["n_types"], str(r["preferred"]).upper(), fmt(be["B"]),
            f"[{fmt(be['B_ci95'][0])}, {fmt(be['B_ci95'][1])}]" if be.get("B_ci95") else "–",
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
    common = ["--bootstrap", str(a.bootstrap), "--seed", str(a.seed), "--compare", "zipf,zipf-mandelbrot,lognormal"]
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
    texts = {**unigram_controls(user, corpora, a.seed), **controls(corpora, a.control_tokens, a.seed)}
    for label, path in texts.items():
        results.append(analyse(label, [str(path), *common], a.out / path.stem))

    header = ["corpus", "tokens", "words", "preferred", "B (BE)", "B 95% CI", "R² BE", "R² MB", "ΔAIC BE−MB",
              "Vuong z BE vs ZM", "best shape"]
    table = markdown_table(header, [row(label, r) for label, r, _ in results])
    r0 = results[0][1]
    summary = "\n".join([
        "# Aerts et al. 2025, test 2: BE vs MB word statistics", "",
        f"probe {r0['probe_version']}, {r0['created'][:10]}; tokenizer: {r0['tokenizer']['description']}",
        f"Fits: constraint method, parametric bootstrap ({a.bootstrap} resamples, seed {a.seed}); ΔAIC from the "
        "independent-modes likelihood; Vuong z on the common multinomial likelihood (z > 0 favours BE).", "",
        table,
    ])
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    fig, ax = new_figure(figsize=(7, 4.5))
    for label, r, folder in results:
        counts = np.sort(read_counts(folder / r["files"]["counts"])["count"].to_numpy())[::-1]
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
