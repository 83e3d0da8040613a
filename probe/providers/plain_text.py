"""The plain-text prompt format for base (non-chat) models.

A base model has no chat template, so a conversation is written as a document
whose natural continuation is the answer::

    {system}                      (only if there is a system message)

    {user message}

    Answer:

Messages are separated by one blank line; an earlier assistant turn is written as
``Answer: {content}``. The prompt ends in ``"Answer:"`` with no trailing space, so
the next token of a well-behaved model is the label with its leading space
(``" 2"``); exact mode therefore scores both spellings of a label, ``"2"`` and
``" 2"`` (methods note bell.md section 5.3: "end with 'Answer:'"). The ``hf:``
provider uses this format whenever the tokenizer defines no chat template (or
``?format=plain``), adding the BOS token exactly as the tokenizer is configured to;
the OpenAI-compatible *completions* scoring route (``?score=completions``) sends
the same text, so the two backends of one model see the same prompt.
"""

from __future__ import annotations

from collections.abc import Iterable

ANSWER_PREFIX = "Answer:"


def render_plain(messages: Iterable[dict[str, str]], *, answer_prefix: str = ANSWER_PREFIX) -> str:
    """The plain-text prompt for ``messages`` (see the module docstring).

    Examples
    --------
    >>> render_plain([{"role": "system", "content": ""}, {"role": "user", "content": "Pick 1 or 2."}])
    'Pick 1 or 2.\\n\\nAnswer:'
    """
    parts = []
    for m in messages:
        content = m.get("content") or ""
        if not content:
            continue
        parts.append(f"{answer_prefix} {content}" if m.get("role") == "assistant" else content)
    return "\n\n".join([*parts, answer_prefix])


def label_spellings(label: str) -> tuple[str, ...]:
    """The continuations that count as answering ``label``: the label and the label after a space."""
    return (label, " " + label)
