"""Helpers shared by the HTTP providers: exact-mode scores from top-k logprobs."""

from __future__ import annotations

import math
import re
from typing import Any

from probe.errors import Unsupported
from probe.providers.base import Choice, Scores, Usage


def label_token(token: str) -> str:
    """Normalise a returned token for matching against an option label."""
    return re.sub(r"^[\s\"'(\[*]+|[\s\"'.):\]*]+$", "", token).casefold()


# OpenAI documents logprob -9999.0 for "not in the top 20": treat it (and anything as small) as absent
_ABSENT = -9000.0


def merge_label_probs(top: dict[str, float], labels: tuple[str, ...]) -> tuple[list[float], list[str], float]:
    """Sum the probabilities of top-k tokens per label.

    Returns ``(probs, missing, coverage)``: probabilities renormalised over the
    labels (zeros where missing), the labels absent from ``top``, and the raw
    mass on the labels.
    """
    mass = label_masses(top, labels)
    coverage = sum(mass)
    missing = [label for label, m in zip(labels, mass, strict=True) if m == 0.0]
    probs = [m / coverage if coverage > 0 else 0.0 for m in mass]
    return probs, missing, coverage


def label_masses(top: dict[str, float], labels: tuple[str, ...]) -> list[float]:
    """Raw probability of each label: the summed probabilities of every listed token that reads as it."""
    mass = dict.fromkeys(labels, 0.0)
    wanted = {label.casefold(): label for label in labels}
    for token, logprob in top.items():
        label = wanted.get(label_token(token))
        if label is not None and logprob > _ABSENT:
            mass[label] += math.exp(logprob)
    return [mass[label] for label in labels]


def unseen_mass(top: dict[str, float]) -> float:
    """1 - the probability listed: an upper bound on every token not in the list."""
    return max(0.0, 1.0 - sum(math.exp(v) for v in top.values() if v > _ABSENT))


def scores_from_top(top: dict[str, float] | None, choice: Choice, *, where: str, model_version: str | None,
                    usage: Usage, raw: dict[str, Any] | None, fingerprint: str | None = None,
                    note: str | None = None) -> Scores:
    """Exact-mode :class:`Scores` from the first answer token's top-k log-probabilities.

    ``top = None`` means the backend returned no log-probabilities at all (reasoning
    models, servers without support): :class:`Unsupported`. An empty list (the
    first token was end-of-sequence and the server lists only generated tokens)
    is not an error: every label is missing and all mass is unseen, so the
    analysis bounds S instead of stopping the run.
    """
    if top is None:
        raise Unsupported(f"{where}: no log-probabilities returned",
                          hint="reasoning models and some servers do not return them; use --mode sample")
    mass = label_masses(top, choice.labels)
    coverage = sum(mass)
    missing = tuple(label for label, m in zip(choice.labels, mass, strict=True) if m == 0.0)
    probs = tuple(m / coverage if coverage > 0 else 0.0 for m in mass)
    return Scores(probs=probs, coverage=coverage, missing=missing, model_version=model_version,
                  fingerprint=fingerprint, usage=usage, raw=raw, unseen=unseen_mass(top) if top else 1.0,
                  label_mass=tuple(mass), method="top-k", top_tokens=dict(list(top.items())[:5]) or None,
                  note=note)
