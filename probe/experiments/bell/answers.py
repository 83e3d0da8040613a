"""Map a free-text answer to one of the presented options, or to a reason it is invalid.

Accepted (case-, accent- and punctuation-insensitive):

* the label alone or decorated: ``2``, ``2.``, ``(2)``, ``**2**``, ``Answer: 2``, ``Option 2``;
* the label followed by the option's own text: ``2. The Horse Growls``;
* the option's full text: ``The horse growls.``;
* for labels that are not ordinary words (digits, ``B``, ``C``, ...), a short answer that
  contains exactly one label as a separate word: ``I choose 2``.

An answer counts as a choice only when it names exactly one option. Everything
else is invalid, with a reason: ``empty``, ``refusal``, ``recital`` (the answer
lists the options back, e.g. ``"Here are four sentences:\n\n1. The horse
Whinnies\n2."``: two or more distinct labels used as list markers, at the start of
a line or each followed by its own option's text), ``ambiguous`` (two options
named), ``conflict`` (label and text disagree) or ``unmatched``. Nothing is
guessed: an invalid answer is counted and reported, never mapped to an option.
The rules were checked against real answers of a small base model
(gemma-3-270m through ``hf:``, ``tests/experiments/bell/data/``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORDY_LABELS = {"a", "i", "an", "the"}
_PREFIX = r"(?:(?:my|the|final)\s+)?(?:answer|option|choice|sentence|number|pick|selection)?\s*(?:is|would be)?\s*"
_REFUSAL = re.compile(r"\b(i\s+(?:can ?not|can't|won't|will not|am unable|'m unable|would rather not)|as an ai|"
                      r"i\s+do(?: not|n't)\s+(?:have|feel))\b")


@dataclass(frozen=True, slots=True)
class Parsed:
    """The option chosen (index into the presented options) or ``None`` with the reason."""

    index: int | None
    reason: str
    """'label', 'text', 'label+text', 'label-in-text', or why the answer is invalid."""

    @property
    def valid(self) -> bool:
        return self.index is not None


def normalise(text: str) -> str:
    """Casefold, strip accents and punctuation, collapse whitespace."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    t = re.sub(r"[^\w\s]|_", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def _markers(answer: str, labels: list[str]) -> set[int]:
    """Options whose label is used as a list marker at the start of a line ("2." / "2)" / "(2)" / "**2.**")."""
    wanted = {lab.casefold(): i for i, lab in enumerate(labels)}
    found = set()
    for m in re.finditer(r"(?m)^[\s>*\-]*[(\[]?\s*([^\s.):\]*]{1,4})\s*\**\s*[.):\]]", answer):
        i = wanted.get(m.group(1).casefold())
        if i is not None:
            found.add(i)
    lines = [x.strip() for x in answer.splitlines() if x.strip()]
    if found and len(lines) > 1:  # a list cut off by the token limit: its last line is just the next label
        i = wanted.get(re.sub(r"[\s.):\]*(]+", "", lines[-1]).casefold())
        if i is not None:
            found.add(i)
    return found


def _inline_items(answer: str, labels: list[str], texts: list[str]) -> set[int]:
    """Options written as "label. text" (or "label) text") anywhere in the answer."""
    norm_answer = unicodedata.normalize("NFKD", answer).casefold()
    found = set()
    for i, (lab, text) in enumerate(zip(labels, texts, strict=True)):
        head = " ".join(normalise(text).split()[:2])
        if head and re.search(rf"(?:^|\W){re.escape(lab.casefold())}\s*[.):]\s*{re.escape(head)}",
                              re.sub(r"\s+", " ", norm_answer)):
            found.add(i)
    return found


_ANY_MARKER = re.compile(r"(?m)^[\s>*\-]*[(\[]?\s*([A-Za-z]|\d{1,2})\s*[.)\]]\s+\S")


def is_recital(answer: str, labels: list[str] | tuple[str, ...], texts: list[str] | tuple[str, ...]) -> bool:
    """True when the answer lists options back instead of choosing one.

    Two or more distinct presented labels used as list markers (at line starts, or
    inline as "label. text"), or a list of two or more lines with any other markers
    ("a) ...", "b) ..."): a base model continuing the prompt's list.
    """
    labels, texts = list(labels), list(texts)
    if len(_markers(answer, labels) | _inline_items(answer, labels, texts)) >= 2:
        return True
    return len({m.group(1).casefold() for m in _ANY_MARKER.finditer(answer)}) >= 2


def _contains(haystack: str, needle: str) -> bool:
    return re.search(rf"(?:^| ){re.escape(needle)}(?: |$)", haystack) is not None


def parse_choice(answer: str | None, labels: tuple[str, ...] | list[str], texts: tuple[str, ...] | list[str]) -> Parsed:
    """Parse ``answer`` against options with ``labels`` and ``texts`` (same order)."""
    if answer is None or not answer.strip():
        return Parsed(None, "empty")
    norm = normalise(answer)
    if not norm:
        return Parsed(None, "empty")
    if is_recital(answer, labels, texts):
        return Parsed(None, "recital")
    lines = [x for x in answer.splitlines() if x.strip()]
    if len(lines) > 1:
        # a base model answers on the first line and then keeps writing ("4.\n\nWhich one of these ..."):
        # a first line that is a label, or a label with its own option's text, is the answer
        first = parse_choice(lines[0], labels, texts)
        if first.valid and first.reason in ("label", "label+text"):
            return first
    nlabels = [normalise(x) for x in labels]
    ntexts = [normalise(x) for x in texts]

    text_hits = [i for i, t in enumerate(ntexts) if t and _contains(norm, t)]
    label_hit: int | None = None
    how = ""
    starts_with_label = False
    for i, lab in enumerate(nlabels):
        m = re.fullmatch(rf"{_PREFIX}{re.escape(lab)}(?: (?P<rest>.*))?", norm)
        if m:
            rest = m.group("rest") or ""
            if rest and not any(_contains(rest, t) for t in ntexts):
                starts_with_label = True  # "1. The Beer Slay": a label with some other text is not a choice
                continue  # e.g. "A horse growls" is not label A
            label_hit, how = i, "label" if not rest else "label+text"
            break
    if label_hit is None:
        mentioned = [i for i, lab in enumerate(nlabels) if lab not in _WORDY_LABELS and _contains(norm, lab)]
        # only digits/short labels inside a short one-line answer, and only if the option texts do not contain them
        # ("Step 3" on the third line of a base model's continuation is not a choice of 3)
        one_line = len([x for x in answer.strip().splitlines() if x.strip()]) == 1
        if (one_line and not starts_with_label and len(mentioned) == 1 and len(norm.split()) <= 8 and not text_hits
                and not any(_contains(t, nlabels[mentioned[0]]) for t in ntexts)):
            label_hit, how = mentioned[0], "label-in-text"
        elif len(mentioned) > 1 and len(norm.split()) <= 8 and not text_hits:
            return Parsed(None, "ambiguous")

    if len(text_hits) > 1:
        return Parsed(None, "ambiguous")
    if label_hit is not None and text_hits and text_hits[0] != label_hit:
        return Parsed(None, "conflict")
    if label_hit is not None:
        return Parsed(label_hit, how)
    if text_hits:
        return Parsed(text_hits[0], "text")
    if _REFUSAL.search(norm.replace("’", "'")) or _REFUSAL.search(answer.casefold().replace("’", "'")):
        return Parsed(None, "refusal")
    return Parsed(None, "unmatched")
