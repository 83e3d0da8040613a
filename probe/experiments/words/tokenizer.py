"""Word tokenization for ``probe words``: one explicit, recorded definition of a "word".

The definition is the reference implementation :func:`tokenize`::

    tokens = PATTERN.findall(normalize(text))       # or text.split() for kind="whitespace"
    tokens = [t.lower() for t in tokens]           # if lowercase: per token, after matching
    tokens = [lemma(t) for t in tokens]            # if lemmatize

``PATTERN`` is built from the options (:meth:`TokenizerOptions.pattern`)::

    word   = L+ (?:[J] L+)*      L = a Unicode letter ``[^\\W\\d_]``, J = the kept joiners (' and/or -)
    number = \\d+ (?:[.,]\\d+)*   only with numbers=True
    punct  = [^\\w\\s]+          only with punctuation=True; runs such as "--" or ".\\"" are one token

The fast streaming counter in :mod:`probe.experiments.words.counting` must give the
same counts, in the same first-occurrence order, as ``Counter(tokenize(text))``;
the tests check this on random Unicode text.

Case folding happens per token *after* matching (not on the whole text) so that a
chunked stream gives exactly the same tokens as the whole text: ``str.lower`` on a
whole text is context-sensitive (Greek final sigma) across punctuation.

References
----------
Gerlach & Font-Clos (2020), "A standardized Project Gutenberg corpus for statistical
analysis of natural language", Entropy 22:126, arXiv:1812.08092 (header/footer rules).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from probe._results import jsonable
from probe.errors import ConfigError, MissingDependency

Kind = Literal["regex", "whitespace"]

# Typographic quotes and hyphens folded to ASCII by normalize="nfkc"; NFKC itself leaves them.
_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-",
})

# ASCII characters that canonically compose with a following combining mark although they are
# not letters ("=" + U+0338 -> "≠"). They are never mapped to a separator before normalisation.
COMPOSING_ASCII = frozenset("<=>")

_LETTER = r"[^\W\d_]"


@dataclass(frozen=True, slots=True)
class TokenizerOptions:
    """How a text becomes word tokens; recorded in every result.

    Parameters
    ----------
    kind : {"regex", "whitespace"}
        ``regex`` (default): words are letter runs, see the module docstring.
        ``whitespace``: tokens are maximal non-whitespace runs (punctuation stays attached).
    lowercase : bool
        Fold case per token with ``str.lower`` (default True).
    punctuation : bool
        Keep runs of punctuation as tokens (regex kind only; default False).
    numbers : bool
        Keep numbers (``\\d+`` with inner ``.`` or ``,``) as tokens (regex kind only; default False).
    apostrophes : {"keep", "split"}
        ``keep``: "don't" is one word; ``split``: "don", "t".
    hyphens : {"keep", "split"}
        ``keep``: "well-known" is one word; ``split``: "well", "known".
    normalize : {"nfkc", "none"}
        ``nfkc``: Unicode NFKC plus typographic quotes/hyphens folded to ASCII (default).
    strip_gutenberg : bool
        Drop a Project Gutenberg header and footer (lines marked ``*** START OF ...`` /
        ``*** END OF ...``), as in Gerlach & Font-Clos (2020).
    lemmatize : bool
        Map each word to its WordNet lemma (needs nltk and its ``wordnet`` data).
    """

    kind: Kind = "regex"
    lowercase: bool = True
    punctuation: bool = False
    numbers: bool = False
    apostrophes: Literal["keep", "split"] = "keep"
    hyphens: Literal["keep", "split"] = "keep"
    normalize: Literal["nfkc", "none"] = "nfkc"
    strip_gutenberg: bool = False
    lemmatize: bool = False

    def __post_init__(self) -> None:
        choices = {"kind": ("regex", "whitespace"), "apostrophes": ("keep", "split"),
                   "hyphens": ("keep", "split"), "normalize": ("nfkc", "none")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"tokenizer option {name}={getattr(self, name)!r} is not one of {allowed}")

    @property
    def pattern(self) -> str:
        """The regular expression whose ``findall`` gives the tokens (before case folding)."""
        if self.kind == "whitespace":
            return r"\S+"
        joiners = ("'" if self.apostrophes == "keep" else "") + ("-" if self.hyphens == "keep" else "")
        parts = [f"{_LETTER}+(?:[{re.escape(joiners)}]{_LETTER}+)*" if joiners else f"{_LETTER}+"]
        if self.numbers:
            parts.append(r"\d+(?:[.,]\d+)*")
        if self.punctuation:
            parts.append(r"[^\w\s]+")
        return "|".join(parts)

    def describe(self) -> str:
        """One sentence for a methods paragraph."""
        if self.kind == "whitespace":
            unit = "maximal runs of non-whitespace characters (punctuation attached)"
        else:
            unit = "runs of Unicode letters"
            joined = [j for j, on in (("apostrophes", self.apostrophes == "keep"),
                                      ("hyphens", self.hyphens == "keep")) if on]
            if joined:
                unit += " joined across inner " + " and ".join(joined)
            unit += "; numbers " + ("kept" if self.numbers else "dropped")
            unit += "; punctuation " + ("kept as tokens" if self.punctuation else "dropped")
        steps = []
        if self.normalize == "nfkc":
            steps.append("Unicode NFKC normalisation with typographic quotes folded to ASCII")
        if self.strip_gutenberg:
            steps.append("Project Gutenberg header and footer removed")
        steps.append("case folded per word" if self.lowercase else "case kept")
        if self.lemmatize:
            steps.append("words lemmatised with WordNet")
        return f"Tokens are {unit} ({'; '.join(steps)}); regular expression `{self.pattern}`."

    def to_dict(self) -> dict[str, Any]:
        out = jsonable(self)
        out["pattern"] = self.pattern
        return out


@functools.lru_cache(maxsize=32)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def normalize_text(text: str, options: TokenizerOptions) -> str:
    """Apply the Unicode normalisation of ``options`` (a no-op for ASCII text)."""
    if options.normalize == "none" or text.isascii():
        return text
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_QUOTES)


def tokenize(text: str, options: TokenizerOptions | None = None) -> list[str]:
    """Split ``text`` into word tokens: the reference definition of a token.

    Parameters
    ----------
    text : str
        Any text; Project Gutenberg stripping applies if the option is on.
    options : TokenizerOptions, optional
        Defaults to ``TokenizerOptions()``.

    Returns
    -------
    list of str
        The tokens in text order.

    Examples
    --------
    >>> tokenize("Don't panic -- it's well-known, 42 times!")
    ["don't", 'panic', "it's", 'well-known', 'times']
    """
    opts = options or TokenizerOptions()
    if opts.strip_gutenberg:
        text = strip_gutenberg_text(text)
    tokens = _piece_tokens(normalize_text(text, opts), opts)
    if opts.lemmatize:
        lemma = lemmatizer()
        tokens = [lemma(t) for t in tokens]
    return tokens


def _piece_tokens(text: str, opts: TokenizerOptions) -> list[str]:
    tokens = text.split() if opts.kind == "whitespace" else compiled(opts.pattern).findall(text)
    return [t.lower() for t in tokens] if opts.lowercase else tokens


def resolve_pieces(pieces: Iterable[tuple[str, int]], options: TokenizerOptions) -> dict[str, int]:
    """Turn counted pieces (text between separator characters) into counted tokens.

    A piece is a substring between characters that can never be part of a token, so
    the tokens of a text are the tokens of its pieces in order. Each distinct piece is
    tokenized once with the reference rules and its count added to each of its tokens.
    The result keeps first-occurrence order if ``pieces`` does.
    """
    out: dict[str, int] = {}
    get = out.get
    simple = options.kind == "regex"
    for piece, count in pieces:
        if simple and piece.isascii() and piece.isalpha():  # the common case: one plain word
            token = piece.lower() if options.lowercase else piece
            out[token] = get(token, 0) + count
            continue
        for token in _piece_tokens(normalize_text(piece, options), options):
            out[token] = get(token, 0) + count
    if options.lemmatize:
        out = lemmatize_counts(out)
    return out


def separator_table(options: TokenizerOptions, *, ascii_input: bool) -> bytes:
    """A 256-byte ``bytes.translate`` table mapping ASCII separators to a space.

    A byte is a separator if its character can never be part of a token under
    ``options``, so replacing it by a space cannot change the token list. Bytes >= 0x80
    (UTF-8 lead and continuation bytes) are left alone. With ``ascii_input=True`` the
    table also folds A-Z to a-z (``str.lower`` is per-character on ASCII) and may map
    "<", "=", ">" (which compose with a following U+0338 under NFKC) to a space.
    """
    table = bytearray(range(256))
    pattern = compiled(options.pattern)
    keep: set[str] = set() if ascii_input else set(COMPOSING_ASCII)
    if options.kind == "regex":
        if options.apostrophes == "keep":
            keep.add("'")
        if options.hyphens == "keep":
            keep.add("-")
        if options.numbers:
            keep.update(".,")
    for code in range(128):
        ch = chr(code)
        if options.kind == "whitespace":
            is_sep = ch.isspace()
        else:
            is_sep = ch not in keep and pattern.fullmatch(ch) is None
        if is_sep:
            table[code] = 0x20
        elif ascii_input and options.lowercase and "A" <= ch <= "Z":
            table[code] = code + 32
    return bytes(table)


# --- Project Gutenberg header/footer --------------------------------------------------------

GUTENBERG_HEAD_BYTES = 1 << 20
"""The START marker is looked for in the first MiB only (real headers are a few KB)."""
GUTENBERG_START = re.compile(
    rb"^\*{3} ?START OF (?:THE|THIS) PROJECT GUTENBERG[^\n]*\n?", re.IGNORECASE | re.MULTILINE)
GUTENBERG_END = re.compile(
    rb"^(?:\*{3} ?END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)",
    re.IGNORECASE | re.MULTILINE)


class GutenbergFilter:
    """Streaming removal of a Project Gutenberg header and footer from raw bytes.

    Everything up to and including a ``*** START OF THE PROJECT GUTENBERG ...`` line that
    begins in the first MiB is dropped, and everything from the first ``*** END OF ...``
    (or ``End of the Project Gutenberg``) line on. Feeding a text whole or in chunks
    split after a newline gives the same bytes.
    """

    def __init__(self) -> None:
        self._head = b""
        self._started = False
        self._ended = False
        self._line_start = True

    def feed(self, data: bytes) -> bytes:
        if self._ended:
            return b""
        if not self._started:
            self._head += data
            if len(self._head) < GUTENBERG_HEAD_BYTES:
                return b""
            return self._open()
        return self._body(data)

    def finish(self) -> bytes:
        return b"" if self._started or self._ended else self._open()

    def _open(self) -> bytes:
        data, self._head, self._started = self._head, b"", True
        m = GUTENBERG_START.search(data)
        if m and m.start() < GUTENBERG_HEAD_BYTES:
            data = data[m.end():]
        return self._body(data)

    def _body(self, data: bytes) -> bytes:
        pos = 0
        while True:
            m = GUTENBERG_END.search(data, pos)
            if m is None:
                break
            if m.start() > 0 or self._line_start:
                self._ended = True
                return data[: m.start()]
            pos = 1  # "^" matched at a chunk start that is not a line start
        if data:
            self._line_start = data.endswith(b"\n")
        return data


def strip_gutenberg_text(text: str) -> str:
    """Remove a Project Gutenberg header and footer from a whole text (see :class:`GutenbergFilter`)."""
    gf = GutenbergFilter()
    raw = gf.feed(text.encode("utf-8")) + gf.finish()
    return raw.decode("utf-8")


# --- lemmatisation ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def lemmatizer() -> Callable[[str], str]:
    """WordNet lemmatizer (nltk); raises MissingDependency if nltk or its data is absent."""
    try:
        import nltk
        from nltk.stem import WordNetLemmatizer
    except ImportError as exc:
        raise MissingDependency("--lemmatize needs nltk", hint="pip install 'probe[bench]' or pip install nltk") from exc
    try:
        nltk.data.find("corpora/wordnet")
    except LookupError as exc:
        raise MissingDependency("--lemmatize needs the nltk 'wordnet' data, which is not installed",
                                hint="python -m nltk.downloader wordnet (once, with network)") from exc
    return WordNetLemmatizer().lemmatize


def lemmatize_counts(counts: dict[str, int]) -> dict[str, int]:
    """Merge the counts of words that share a lemma, keeping first-occurrence order."""
    lemma = lemmatizer()
    out: Counter[str] = Counter()
    for word, count in counts.items():
        out[lemma(word)] += count
    return dict(out)
