"""Synthetic texts with known statistics: test fixtures, benchmark corpora and meaning-free controls.

* :func:`be_text`: word i written n_i ~ Geometric(mean BE(E_i; A, B)) times with
  ``E_i = i^d``, shuffled (method note KAT-8); the fit of its counts should recover A, B
  (and d).
* :func:`zipf_text`: tokens drawn from a Zipf law over a fixed vocabulary, with
  capitals and punctuation, streamed in chunks (the benchmark corpus).
* :func:`monkey_text`: "monkey typing" (random letters and spaces; Miller 1957,
  Li 1992): no meaning, yet a Zipf-like rank-frequency curve.
* :func:`unigram_text`: a text resampled from a unigram distribution (e.g. a book's
  own word counts): the same vocabulary statistics, no sentence structure.

If BE beats MB on the controls too, BE > MB says nothing about meaning (Sienicki &
Sienicki 2025, arXiv:2512.07881). All words are letters only, so the default
tokenizer reads them back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from probe._types import Seed

_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def letter_word(i: int) -> str:
    """A distinct letters-only word for every index (bijective base 26 after a 'w')."""
    out = "w"
    while True:
        out += str(_LETTERS[i % 26])
        i //= 26
        if i == 0:
            return out


def be_counts(levels: int, A: float, B: float, *, energy_exponent: float = 1.0, rng: Seed = None) -> np.ndarray:
    """Occupations n_i ~ Geometric with mean 1/(A e^{E_i/B} - 1), ``E_i = i^d``, i = 0..levels-1."""
    gen = np.random.default_rng(rng)
    energy = np.arange(levels, dtype=np.float64) ** energy_exponent
    mean = 1.0 / np.expm1(energy / B + np.log(A))
    return gen.geometric(1.0 / (1.0 + mean)) - 1


def be_text(levels: int, A: float, B: float, *, energy_exponent: float = 1.0, rng: Seed = None) -> str:
    """A shuffled text whose word counts are Bose-Einstein occupations (see :func:`be_counts`)."""
    gen = np.random.default_rng(rng)
    n = be_counts(levels, A, B, energy_exponent=energy_exponent, rng=gen)
    words = np.array([letter_word(i) for i in range(levels)])
    return " ".join(gen.permutation(np.repeat(words, n)).tolist()) + "\n"


def unigram_text(counts: Mapping[str, int], n_tokens: int, *, rng: Seed = None) -> str:
    """``n_tokens`` words drawn independently from the relative frequencies in ``counts``."""
    gen = np.random.default_rng(rng)
    words = np.array(list(counts.keys()))
    p = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    return " ".join(gen.choice(words, size=n_tokens, p=p / p.sum()).tolist()) + "\n"


def monkey_text(n_chars: int, *, letters: int = 26, space: float = 0.18, rng: Seed = None) -> str:
    """Random typing: each character is a space with probability ``space``, else one of ``letters`` letters."""
    gen = np.random.default_rng(rng)
    chars = gen.choice(_LETTERS[:letters], size=n_chars)
    chars[gen.random(n_chars) < space] = " "
    return "".join(chars.tolist()) + "\n"


def zipf_text(n_tokens: int, *, vocabulary: int = 50_000, exponent: float = 1.0, capitalized: float = 0.1,
              chunk_tokens: int = 1_000_000, rng: Seed = None) -> Iterator[str]:
    """Yield a Zipf-distributed text with capitals and punctuation in pieces of ``chunk_tokens`` tokens.

    Words are 2-9 random letters (a few common contractions and hyphenations among the
    most frequent ones); separators mix spaces, commas, full stops, semicolons, quotes,
    exclamation marks and newlines.
    """
    gen = np.random.default_rng(rng)
    lengths = gen.integers(2, 10, vocabulary)
    words = ["".join(gen.choice(_LETTERS, n)) for n in lengths]
    words[:6] = ["the", "and", "don't", "it's", "well-known", "of"]
    vocab = np.array(words)
    caps = np.array([w.capitalize() for w in words])
    p = 1.0 / np.arange(1, vocabulary + 1) ** exponent
    p /= p.sum()
    seps = np.array([" "] * 6 + [", ", ". ", "; ", "\n", "! ", ' "', '" ', "? "])
    for start in range(0, n_tokens, chunk_tokens):
        m = min(chunk_tokens, n_tokens - start)
        idx = gen.choice(vocabulary, size=m, p=p)
        toks = np.where(gen.random(m) < capitalized, caps[idx], vocab[idx])
        yield "".join(np.char.add(toks, gen.choice(seps, size=m)).tolist())
