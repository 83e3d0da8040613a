"""Write meaning-free control texts (and a text drawn from the BE law) for `probe words`.

    python corpora/make_controls.py OUT_DIR                      # default sizes, seed 0
    python corpora/make_controls.py OUT_DIR --tokens 1000000 --seed 3
    python corpora/make_controls.py OUT_DIR --like my_story.txt  # + the story resampled from its own unigrams

The texts are generated here, never copied: monkey typing (Miller 1957; Li 1992), Zipf
unigrams over a random-letter vocabulary, a shuffled Bose-Einstein occupation text with
known A and B (method note KAT-8), and optionally a unigram resample of a text you give.
Then e.g. ``probe words OUT_DIR --by-file``: if BE beats MB on these too, BE > MB says
nothing about meaning.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from probe.experiments.words.counting import count_text
from probe.experiments.words.synthetic_texts import be_text, monkey_text, unigram_text, zipf_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--tokens", type=int, default=200_000, help="approximate words per control text")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--be", default="1.0005,3000,20000", help="A,B,levels of the BE text")
    ap.add_argument("--like", type=Path, action="append", default=[], help="also resample this text's unigrams")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    A, B, levels = (float(x) for x in a.be.split(","))
    texts = {
        "monkey.txt": monkey_text(int(a.tokens * 5.5), rng=a.seed),
        "zipf.txt": "".join(zipf_text(a.tokens, rng=a.seed + 1)),
        f"be-A{A:g}-B{B:g}.txt": be_text(int(levels), A, B, rng=a.seed + 2),
    }
    for i, path in enumerate(a.like):
        counts = Counter(count_text(path.read_text(encoding="utf-8")))
        texts[f"{path.stem}.unigram.txt"] = unigram_text(counts, sum(counts.values()), rng=a.seed + 10 + i)
    for name, text in texts.items():
        (a.out / name).write_text(text, encoding="utf-8")
        print(f"{a.out / name}  ({len(text.split())} words)")


if __name__ == "__main__":
    main()
