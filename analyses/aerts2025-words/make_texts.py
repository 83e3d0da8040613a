"""Write the texts of this analysis's study (``study.toml``) into ``texts/``: one human text and its controls.

    python analyses/aerts2025-words/make_texts.py            # rewrite texts/ (deterministic: same bytes)
    python analyses/aerts2025-words/make_texts.py --check    # exit 1 if a shipped file differs

Every file is gzip-compressed text (``probe words`` detects gzip), written with mtime 0 so that the
bytes depend on the content alone:

* ``kjv-genesis.txt.gz``: KJV Genesis (public domain) as a text with exactly the counts shipped in
  ``corpora/kjv/genesis.counts.csv`` (every frequency statistic depends on the counts alone);
* ``genesis-unigram.txt.gz``: as many words drawn independently from Genesis' own word frequencies
  (the same unigram law, no meaning, no order);
* ``monkey.txt.gz``: monkey typing (random letters and spaces, Miller 1957), about as many words;
* ``zipf.txt.gz``: Zipf (s = 1) unigrams over a random-letter vocabulary, as many words;
* ``be-gemini.txt.gz``: a text drawn from the Bose-Einstein law at the constants the paper's Gemini
  story implies (A = 1.0054, B = 235.6, d = 0.8; about 3 400 words, the story's scale): the known answer.

No model-written story ships: no language model that writes stories is reachable from the build machine.
Add them to the study as ``words-generate`` cells with a recorded cassette (see README.md).
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEED = 0


def texts() -> dict[str, str]:
    """File name -> text, all from fixed seeds."""
    sys.path.insert(0, str(ROOT / "corpora"))
    from kjv import read_counts, text_from_counts

    from probe.experiments.words.synthetic_texts import be_text, monkey_text, unigram_text, zipf_text

    genesis = read_counts(ROOT / "corpora/kjv/genesis.counts.csv")
    n = sum(genesis.values())
    return {
        "kjv-genesis.txt.gz": text_from_counts(genesis),
        "genesis-unigram.txt.gz": unigram_text(genesis, n, rng=SEED + 10),
        "monkey.txt.gz": monkey_text(int(n * 5.5), rng=SEED),
        "zipf.txt.gz": "".join(zipf_text(n, rng=SEED + 1)),
        "be-gemini.txt.gz": be_text(16_000, 1.0054, 235.6, energy_exponent=0.8, rng=SEED + 3),
    }


def compressed(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "texts")
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    a = ap.parse_args()
    bad = 0
    for name, text in texts().items():
        data = compressed(text)
        path = a.out / name
        if a.check:
            same = path.is_file() and path.read_bytes() == data
            bad += not same
            print(f"{path}: {'identical' if same else 'DIFFERENT'}")
            continue
        a.out.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path}  ({len(text.split())} words, {len(data)} bytes)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
