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


def merge_label_probs(top: dict[str, float], labels: tuple[str, ...]) -> tuple[list[float], list[str], float]:
    """Sum the probabilities of top-k tokens per label.

    Returns ``(probs, missing, coverage)``: probabilities renormalised over the
    labels (zeros where missing), the labels absent from ``top``, and the raw
    mass on the labels.
    """
    mass = dict.fromkeys(labels, 0.0)
    wanted = {label.casefold(): label for label in labels}
    for token, logprob in top.items():
        label = wanted.get(label_token(token))
        if label is not None:
            mass[label] += math.exp(logprob)
    coverage = sum(mass.values())
    missing = [label for label in labels if mass[label] == 0.0]
    probs = [mass[label] / coverage if coverage > 0 else 0.0 for label in labels]
    return probs, missing, coverage


def scores_from_top(top: dict[str, float] | None, choice: Choice, *, where: str, model_version: str | None,
                    usage: Usage, raw: dict[str, Any] | None, fingerprint: str | None = None) -> Scores:
    """Exact-mode :class:`Scores` from the first answer token's top-k log-probabilities."""
    if top is None:
        raise Unsupported(f"{where}: no log-probabilities returned",
                          hint="reasoning models and some servers do not return them; use --mode sample")
    probs, missing, coverage = merge_label_probs(top, choice.labels)
    return Scores(probs=tuple(probs), coverage=coverage, missing=tuple(missing), model_version=model_version,
                  fingerprint=fingerprint, usage=usage, raw=raw)
