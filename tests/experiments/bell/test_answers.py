"""Answer parsing: labels, full text, and invalid answers that are never guessed."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.experiments.bell.answers import normalise, parse_choice

LABELS = ("1", "2", "3", "4")
TEXTS = ("The Horse Growls", "The Horse Whinnies", "The Bear Growls", "The Bear Whinnies")


@pytest.mark.parametrize("answer,index", [
    ("2", 1), ("2.", 1), ("(2)", 1), ("**2**", 1), ("Answer: 2", 1), ("option 2", 1), (" 3\n", 2),
    ("2. The Horse Whinnies", 1), ("the bear growls", 2), ("The Bear Whinnies!", 3), ("THE HORSE GROWLS.", 0),
    ("My answer is 4", 3), ("I choose 3", 2), ("\"The Horse Whinnies\"", 1), ("Thé Horse Growls", 0),
])
def test_accepted_forms(answer, index):
    parsed = parse_choice(answer, LABELS, TEXTS)
    assert parsed.index == index, parsed


@pytest.mark.parametrize("answer,reason", [
    ("", "empty"), ("   ", "empty"), ("...", "empty"),
    ("1 or 2", "ambiguous"), ("The Horse Growls or The Bear Growls", "ambiguous"),
    ("2. The Bear Growls", "conflict"),
    ("I can't choose between these.", "refusal"), ("As an AI I do not have preferences", "refusal"),
    ("Horses are nice", "unmatched"), ("5", "unmatched"),
])
def test_invalid_answers_are_not_guessed(answer, reason):
    parsed = parse_choice(answer, LABELS, TEXTS)
    assert parsed.index is None
    assert parsed.reason == reason


def test_letter_labels_do_not_match_the_article_a():
    labels = ("A", "B", "C", "D")
    assert parse_choice("A", labels, TEXTS).index == 0
    assert parse_choice("A horse growls", labels, TEXTS).index is None
    assert parse_choice("C) The Bear Growls", labels, TEXTS).index == 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_letters + " .,!?'\n", max_size=60))
def test_text_without_labels_or_sentences_is_invalid(text):
    # random prose that names no label and no option is never mapped to an option
    norm = normalise(text)
    names_option = any(normalise(t) in norm for t in TEXTS)
    parsed = parse_choice(text, LABELS, TEXTS)
    if not names_option:
        assert parsed.index is None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(4)), st.sampled_from(["{l}", "{l}.", "({l})", "Answer: {l}", "**{l}**", "{l}. {t}",
                                                    "{t}", "{t}.", "Option {l}"]),
       st.sampled_from(["", " ", "\n"]))
def test_decorated_correct_answers_parse(index, form, pad):
    answer = pad + form.format(l=LABELS[index], t=TEXTS[index]) + pad
    assert parse_choice(answer, LABELS, TEXTS).index == index


# -- recitals and real small-model answers ---------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    "Here are four sentences:\n\n1. The horse Whinnies\n2.",       # the llama.cpp case of the issue, cut at 16 tokens
    "\n\n    1. The Horse Growls\n    2. The Bear Whinn",
    "1. The Horse Growls 2. The Horse Whinnies",                    # a list on one line
    "[echo] model=katan\nUser: Here are four sentences:\n\n1. The Horse Growls\n2. The Horse Whinnies\n3. ",
    "(1) The Horse Growls\n(2) The Horse Whinnies",
])
def test_recitals_are_not_choices(answer):
    assert parse_choice(answer, LABELS, TEXTS) == parse_choice(answer, LABELS, TEXTS)
    parsed = parse_choice(answer, LABELS, TEXTS)
    assert parsed.index is None and parsed.reason == "recital"


@pytest.mark.parametrize("answer,index", [
    ("1. The Horse Growls\n\nHorses growl when angry.", 0),  # one list marker is an answer, not a recital
    ("2\n", 1), (" 3. The Bear Growls", 2),
])
def test_one_item_with_its_text_is_still_a_choice(answer, index):
    assert parse_choice(answer, LABELS, TEXTS).index == index


def test_recorded_gemma_answers_match_their_labelled_truth():
    """Real outputs of gemma-3-270m through hf: (recorded in cassettes/), each labelled by hand."""
    import json
    from pathlib import Path

    data = Path(__file__).with_name("data") / "gemma-3-270m-answers.jsonl"
    cases = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    assert len(cases) >= 40
    wrong = []
    for c in cases:
        parsed = parse_choice(c["answer"], c["labels"], c["texts"])
        if (parsed.index, parsed.index is None and parsed.reason) != (c["index"], c["index"] is None and c["reason"]):
            wrong.append((c["answer"], c["index"], c.get("reason"), parsed))
    assert not wrong, wrong
    reasons = {c.get("reason") for c in cases if c["index"] is None}
    assert "recital" in reasons and any(c["index"] is not None for c in cases)
