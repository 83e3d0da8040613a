"""The King James Bible (public domain) from Debian's `bible-kjv` package, as text and as word counts.

    apt-get install -y bible-kjv                  # Debian/Ubuntu; version 4.38 was used here
    python corpora/kjv.py /tmp/kjv                # writes kjv.txt and genesis.txt (verse references removed)
    python corpora/kjv.py /tmp/kjv --counts corpora/kjv   # also rewrites the shipped counts files

The text is printed verse by verse by the package's `bible` program (`bible -f gen1:1-rev22:21`:
one verse per line, preceded by its reference such as ``Ge1:1``); the reference is cut off and
nothing else is changed. The counts files (``word,count`` in order of first occurrence) are
what `probe words` counts in that text with its default tokenizer; they are shipped so that
`analyses/aerts2025-words` runs offline without the package, and `--check` verifies them
against the package where it is installed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from probe.experiments.words.counting import count_text

RANGES = {"kjv": "gen1:1-rev22:21", "genesis": "gen1:1-gen50:26"}
PACKAGE = "bible-kjv 4.38 (Debian), text file /usr/lib/bible.data from bible-kjv-text"


def bible_text(reference: str) -> str:
    """The verses of ``reference`` printed by Debian's ``bible`` program, one per line, references removed."""
    exe = shutil.which("bible")
    if exe is None:
        raise SystemExit("the 'bible' program is not installed: apt-get install -y bible-kjv")
    out = subprocess.run([exe, "-f", reference], input="", capture_output=True, text=True, check=True).stdout
    lines = [line.split(" ", 1)[1] for line in out.splitlines() if " " in line]
    return "\n".join(lines) + "\n"


def write_counts(path: Path, counts: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["word", "count"])
        writer.writerows(counts.items())


def read_counts(path: Path) -> dict[str, int]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["word"]: int(row["count"]) for row in csv.DictReader(fh)}


def text_from_counts(counts: dict[str, int], *, per_line: int = 20) -> str:
    """A text with exactly these word counts (each word repeated, in first-occurrence order).

    Every frequency statistic of `probe words` depends on the counts alone (shuffling a text
    changes none of them), so this text gives the same fit as the book.
    """
    words = [w for w, n in counts.items() for _ in range(n)]
    return "\n".join(" ".join(words[i:i + per_line]) for i in range(0, len(words), per_line)) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for kjv.txt and genesis.txt")
    ap.add_argument("--counts", type=Path, default=None, help="also write <name>.counts.csv into this folder")
    ap.add_argument("--check", type=Path, default=None, help="verify the counts files in this folder")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, reference in RANGES.items():
        text = bible_text(reference)
        (a.out / f"{name}.txt").write_text(text, encoding="utf-8")
        counts = count_text(text)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        print(f"{name}: {reference}, {len(text.encode())} bytes, sha256 {sha}, {sum(counts.values())} tokens, "
              f"{len(counts)} words")
        if a.counts:
            write_counts(a.counts / f"{name}.counts.csv", counts)
        if a.check:
            shipped = read_counts(a.check / f"{name}.counts.csv")
            same = shipped == counts and list(shipped) == list(counts)
            bad += not same
            print(f"  {a.check / f'{name}.counts.csv'}: {'identical' if same else 'DIFFERENT'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
