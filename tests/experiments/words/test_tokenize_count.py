"""Tokenization rules and the streaming counter: exact agreement with collections.Counter."""

from __future__ import annotations

import gzip
import io
import re
import unicodedata
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.errors import ConfigError, DataError
from probe.experiments.words.counting import count_stream, count_text, iter_chunks, open_binary
from probe.experiments.words.tokenizer import (
    COMPOSING_ASCII,
    GutenbergFilter,
    TokenizerOptions,
    strip_gutenberg_text,
    tokenize,
)

TEXT = "Don't panic -- it's WELL-known: 42 times, 3.14 pies... 'Quoted' rock'n'roll; e-mail!"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (TokenizerOptions(), {"don't": 1, "panic": 1, "it's": 1, "well-known": 1, "times": 1, "pies": 1,
                              "quoted": 1, "rock'n'roll": 1, "e-mail": 1}),
        (TokenizerOptions(apostrophes="split", hyphens="split"),
         {"don": 1, "t": 1, "panic": 1, "it": 1, "s": 1, "well": 1, "known": 1, "times": 1, "pies": 1,
          "quoted": 1, "rock": 1, "n": 1, "roll": 1, "e": 1, "mail": 1}),
        (TokenizerOptions(numbers=True, lowercase=False),
         {"Don't": 1, "panic": 1, "it's": 1, "WELL-known": 1, "42": 1, "times": 1, "3.14": 1, "pies": 1,
          "Quoted": 1, "rock'n'roll": 1, "e-mail": 1}),
        (TokenizerOptions(punctuation=True),
         {"don't": 1, "panic": 1, "--": 1, "it's": 1, "well-known": 1, ":": 1, "times": 1, ",": 1,
          "pies": 1, ".": 1, "...": 1, "'": 2, "quoted": 1, "rock'n'roll": 1, ";": 1, "e-mail": 1, "!": 1}),
        (TokenizerOptions(kind="whitespace"),
         {"don't": 1, "panic": 1, "--": 1, "it's": 1, "well-known:": 1, "42": 1, "times,": 1, "3.14": 1,
          "pies...": 1, "'quoted'": 1, "rock'n'roll;": 1, "e-mail!": 1}),
    ],
)
def test_tokenizer_fixtures(options: TokenizerOptions, expected: dict[str, int]) -> None:
    assert dict(Counter(tokenize(TEXT, options))) == expected
    assert count_text(TEXT, options) == expected


def test_unicode_rules() -> None:
    text = "Caf\u00e9 cafe\u0301 \u2019Tis d\u2019Art \ufb01ne \u039f\u0394\u039f\u03a3 \uff21\uff22"
    assert tokenize(text) == ["café", "café", "tis", "d'art", "fine", "οδος", "ab"]
    assert tokenize(text, TokenizerOptions(normalize="none"))[:2] == ["café", "cafe"]


def test_options_are_validated_and_recorded() -> None:
    with pytest.raises(ConfigError, match="apostrophes"):
        TokenizerOptions(apostrophes="drop")  # type: ignore[arg-type]
    d = TokenizerOptions(numbers=True).to_dict()
    assert d["numbers"] is True and d["pattern"] == TokenizerOptions(numbers=True).pattern
    assert "numbers kept" in TokenizerOptions(numbers=True).describe()


# Characters chosen to hit every rule: ASCII letters/digits/punctuation/whitespace, joiners,
# curly quotes, NBSP, ASCII "whitespace" control codes, accented and Greek letters (final sigma),
# Turkish dotted I, combining marks (acute, dot above, long solidus overlay), ligatures, full-width.
ALPHABET = [*"aAbBzZ09 .,;:!?'\"-_=<>\n\t\r",
    "\x0b", "\x0c", "\x1c", "\x1f", "\u00a0", "\u2019", "\u201c", "\u2010", "\u00e9", "\u00c9", "\u03a3",
    "\u03c3", "\u0130", "\u0301", "\u0307", "\u0338", "\ufb01", "\uff21", "\u00df", "\u3000", "\u0660",
    "\u2028", "\u200b", "\u00bd",
]
OPTION_SETS = [
    TokenizerOptions(),
    TokenizerOptions(lowercase=False, normalize="none"),
    TokenizerOptions(punctuation=True, numbers=True),
    TokenizerOptions(apostrophes="split", hyphens="split", numbers=True),
    TokenizerOptions(kind="whitespace"),
    TokenizerOptions(kind="whitespace", lowercase=False, normalize="none"),
]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(ALPHABET), max_size=80),
       which=st.integers(0, len(OPTION_SETS) - 1), chunk=st.integers(1, 16), jobs=st.sampled_from([1, 2]))
def test_stream_counts_equal_counter_in_order(text: str, which: int, chunk: int, jobs: int) -> None:
    options = OPTION_SETS[which]
    expected = Counter(tokenize(text, options))
    got = count_stream(io.BytesIO(text.encode("utf-8")), options, chunk_bytes=chunk, jobs=jobs).counts
    assert list(got.items()) == list(expected.items())


def _zipf_text(n_tokens: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    words = ["the", "The", "don't", "Well-known", "cat's", "a", "Sat", "on", "mat", "x-ray", "zebra"]
    words += [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}q" for i in range(300)]
    p = 1.0 / np.arange(1, len(words) + 1)
    idx = rng.choice(len(words), size=n_tokens, p=p / p.sum())
    seps = np.array([" ", " ", ", ", ". ", "\n", "; ", " -- ", "! ", ' "', '" ', " 12 "])
    return "".join(words[i] + seps[j] for i, j in zip(idx, rng.integers(0, len(seps), n_tokens), strict=True))


def test_synthetic_text_matches_counter_regex_baseline() -> None:
    text = _zipf_text(50_000, seed=3)
    options = TokenizerOptions()
    baseline = Counter(re.findall(options.pattern, text.lower()))
    for chunk_bytes in (64, 4096, 1 << 20):
        got = count_stream(io.BytesIO(text.encode()), options, chunk_bytes=chunk_bytes, jobs=2).counts
        assert got == baseline
        assert list(got) == list(Counter(tokenize(text, options)))  # first-occurrence order


def test_shuffled_tokens_give_identical_counts() -> None:
    rng = np.random.default_rng(0)
    tokens = tokenize(_zipf_text(5000, seed=1))
    shuffled = " ".join(rng.permutation(tokens))
    assert count_text(shuffled) == Counter(tokens)


def test_iter_chunks_cuts_only_after_whitespace() -> None:
    data = b"alpha beta\ngamma delta epsilon\nzeta" * 50
    chunks = list(iter_chunks(io.BytesIO(data), chunk_bytes=17))
    assert b"".join(chunks) == data
    assert all(c[-1:] in (b" ", b"\n") for c in chunks[:-1])


def test_gzip_bom_and_latin1(tmp_path) -> None:
    text = "Na\u00efve caf\u00e9 na\u00efve\n" * 100
    plain = count_text(text)
    gz = tmp_path / "t.txt.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    stream = open_binary(gz)
    try:
        assert count_stream(stream, TokenizerOptions(), chunk_bytes=50).counts == plain
    finally:
        stream.close()
    bom = count_stream(io.BytesIO(b"\xef\xbb\xbf" + text.encode()), TokenizerOptions(punctuation=True))
    assert bom.counts == count_text(text, TokenizerOptions(punctuation=True))
    latin = count_stream(io.BytesIO(text.encode("latin-1")), TokenizerOptions(), encoding="latin-1")
    assert latin.counts == plain and latin.encoding == "iso8859-1"


def test_invalid_utf8_names_file_and_byte_offset() -> None:
    data = b"good words here\n" * 10 + b"bad \xff byte\n" + b"more\n" * 10
    with pytest.raises(DataError, match=r"story\.txt: byte 164: not valid utf-8"):
        count_stream(io.BytesIO(data), TokenizerOptions(), name="story.txt", chunk_bytes=32)


def test_non_ascii_compatible_encoding_refused() -> None:
    with pytest.raises(ConfigError, match="not ASCII-compatible"):
        count_stream(io.BytesIO(b""), TokenizerOptions(), encoding="utf-16")


def test_only_known_ascii_symbols_compose_with_marks() -> None:
    # The separator table may replace an ASCII non-letter by a space before NFKC only if no
    # combining mark composes with it; the exceptions are listed in COMPOSING_ASCII.
    marks = [chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me")]
    composing = {chr(a) for a in range(128) if not chr(a).isalpha() for m in marks
                 if unicodedata.normalize("NFKC", chr(a) + m) != chr(a) + unicodedata.normalize("NFKC", m)}
    assert composing <= COMPOSING_ASCII


def test_gutenberg_filter_whole_equals_chunked() -> None:
    body = "It was a dark night.\nThe end of the story.\n" * 20
    book = ("The Project Gutenberg eBook of X\nLicense blah\n"
            "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n" + body
            + "*** END OF THE PROJECT GUTENBERG EBOOK X ***\nLicense words here\n")
    assert strip_gutenberg_text(book) == body
    raw = book.encode()
    for size in (1, 7, 64):
        gf = GutenbergFilter()
        out = b"".join(gf.feed(c) for c in iter_chunks(io.BytesIO(raw), chunk_bytes=size)) + gf.finish()
        assert out == body.encode()
    options = TokenizerOptions(strip_gutenberg=True)
    assert count_stream(io.BytesIO(raw), options, chunk_bytes=16).counts == Counter(tokenize(book, options))
    assert "license" not in count_text(book, options)


def test_lemmatize_without_wordnet_data_is_a_clear_error() -> None:
    from probe.errors import MissingDependency

    try:
        import nltk

        nltk.data.find("corpora/wordnet")
        pytest.skip("wordnet data is installed here")
    except (ImportError, LookupError):
        pass
    with pytest.raises(MissingDependency, match=r"wordnet|nltk"):
        tokenize("cats and dogs", TokenizerOptions(lemmatize=True))
