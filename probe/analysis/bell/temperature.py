"""S as a function of sampling temperature, from one exact (log-probability) pass.

Sampling at temperature T draws token k with probability p_k^(1/T) / sum_j p_j^(1/T) over the whole
vocabulary (bell.md section 5.2). Conditional on the answer's first token being one of the option
labels, the distribution over the options is therefore

    p_T(o) = p(o)^(1/T) / sum_o' p(o')^(1/T)          (over the option tokens only)

whatever mass the rest of the vocabulary holds, so one exact pass at T = 1 gives the whole surface
S(T), s_odd(T), CNT1(T). With several orderings (or paraphrases) each ordering's distribution is
tempered and then averaged, as random-order sampling at T would do.

When it is valid (:func:`tempering_validity`; what each provider documents, as found 2026-12):

* The distribution must be the model's *untempered* one. A pass recorded at temperature 1 and
  top_p 1 is untempered whatever the provider does with logprobs (at T = 1 tempered and raw
  coincide). At other temperatures: ``hf:`` reads the full log-softmax of the raw logits (our
  provider; valid at any setting); ``embed:`` is a softmax of cosine similarities over tau, and
  tempering it is exactly the softmax at tau T (valid); ``sim:`` respondents are untempered;
  OpenAI's documentation does not say whether ``top_logprobs`` reflect the request temperature
  (OpenAI-compatible vLLM servers do temper them: vllm-project/vllm issue 9453; OpenRouter-style
  providers differ: standardcompletions/rfcs issue 11); Gemini's ``response_logprobs``
  documentation does not say either. probe refuses those unless the pass ran at T = 1.
* top_p < 1 truncates the vocabulary before sampling: p_T is then not a power of p. Refused
  unless the pass ran with top_p 1 (or unset) and the surface is read for top_p = 1.
* Every option label must be in the returned list (no top-k truncation); a missing label has an
  unknown probability, so the surface is refused.
* Coverage (mass on the labels) < 1 means other first tokens; their share changes with T and is
  not predicted (the surface is conditional on a valid answer). Warned below 0.9.
* Labels merged from several token variants ("1" and " 1") are tempered as one: exact only when
  one variant carries the mass. Not detectable from merged scores; stated in every result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe._results import jsonable
from probe._types import ArrayLike, FloatArray
from probe.analysis.bell import cyclic
from probe.analysis.bell.system import ContextSystem
from probe.errors import DataError

ALWAYS_UNTEMPERED = ("hf", "sim", "embed")
MERGE_CAVEAT = ("labels merged from several token variants are tempered as one probability; exact only when one "
                "variant carries the mass")


def temper(probs: ArrayLike, temperature: float) -> FloatArray:
    """p^(1/T) renormalised over the last axis; T = 0 gives the argmax (ties share the mass).

    Examples
    --------
    >>> temper([0.5, 0.25, 0.25, 0.0], 0.5).round(4).tolist()
    [0.6667, 0.1667, 0.1667, 0.0]
    """
    p = np.asarray(probs, dtype=float)
    if not np.isfinite(temperature) or temperature < 0:
        raise DataError(f"temperature must be >= 0; got {temperature}")
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise DataError("probabilities must be finite and non-negative")
    p = p / p.sum(axis=-1, keepdims=True)
    if temperature == 0:
        top = p >= p.max(axis=-1, keepdims=True) - 1e-15
        return top / top.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        logp = np.log(p) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    w = np.exp(logp)
    return w / w.sum(axis=-1, keepdims=True)


def parse_temperatures(spec: str) -> tuple[float, ...]:
    """``"0.2..2.0:10"`` (10 evenly spaced values) or ``"0.5,1,2"`` -> temperatures."""
    s = spec.strip()
    try:
        if ".." in s:
            rng_part, _, count = s.partition(":")
            lo, hi = (float(x) for x in rng_part.split(".."))
            n = int(count) if count else 10
            if n < 2 or lo <= 0 or hi <= lo:
                raise ValueError
            return tuple(float(x) for x in np.linspace(lo, hi, n))
        values = tuple(float(x) for x in s.split(","))
    except ValueError:
        raise DataError(f"--temperatures {spec}: use LO..HI:N (e.g. 0.2..2.0:10) or a list (0.5,1,2) with "
                        "temperatures > 0") from None
    if not values or any(t <= 0 for t in values):
        raise DataError(f"--temperatures {spec}: temperatures must be > 0")
    return values


@dataclass(frozen=True, slots=True)
class Validity:
    valid: bool
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]


def tempering_validity(provider: str, *, temperature: float | None, top_p: float | None,
                       coverage: ArrayLike | None = None, missing: int = 0) -> Validity:
    """Whether an exact pass can be re-tempered (see module docstring); reasons when it cannot."""
    reasons, warnings = [], [MERGE_CAVEAT]
    at_one = temperature is None or abs(temperature - 1.0) < 1e-12
    if provider not in ALWAYS_UNTEMPERED and not at_one:
        reasons.append(f"the exact pass ran at temperature {temperature} and {provider}: logprobs are not documented "
                       "as untempered; record the exact pass at --temperature 1")
    if top_p is not None and top_p < 1 and provider != "sim":
        reasons.append(f"the exact pass ran with top_p {top_p}: nucleus truncation is not a power of p")
    if missing:
        reasons.append(f"{missing} option label(s) were missing from the returned top-k: their probability is unknown")
    if coverage is not None:
        cov = np.asarray(coverage, dtype=float)
        if cov.size and float(cov.min()) < 0.9:
            warnings.append(f"coverage down to {float(cov.min()):.2f}: the surface is conditional on a valid answer; "
                            "the share of other answers changes with T and is not predicted")
    return Validity(valid=not reasons, reasons=tuple(reasons), warnings=tuple(warnings))


@dataclass(frozen=True, slots=True)
class TemperatureSurface:
    """S(T), s_odd(T) and CNT1(T) from one exact pass."""

    temperatures: tuple[float, ...]
    s_signed: tuple[float, ...] | None
    """|sum_c w_c E_c(T)| with one minus sign on ``minus_index`` (Brussels S at rank 4)."""
    s_odd: tuple[float, ...]
    delta: tuple[float, ...]
    cnt1: tuple[float, ...]
    E: tuple[tuple[float, ...], ...]
    minus_index: int | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def to_frame(self) -> Any:
        import pandas as pd

        rows = []
        for i, t in enumerate(self.temperatures):
            rows.append({"T": t, "S": None if self.s_signed is None else self.s_signed[i], "s_odd": self.s_odd[i],
                         "delta": self.delta[i], "cnt1": self.cnt1[i]})
        return pd.DataFrame(rows)


def s_surface(probs: ArrayLike, system: ContextSystem, temperatures: ArrayLike, *,
              minus_index: int | None = 0, validity: Validity | None = None) -> TemperatureSurface:
    """The CHSH/CbD surface over temperatures from exact distributions of a cyclic design.

    Parameters
    ----------
    probs : array-like, shape (n, 4) or (K, n, 4)
        Exact option distributions per context (and per ordering k), in cell order.
    system : ContextSystem
        The cyclic system.
    temperatures : array-like of float
        Temperatures T >= 0.
    minus_index : int or None
        Context carrying the minus sign of the signed S (None: only s_odd).
    validity : Validity, optional
        From :func:`tempering_validity`; an invalid pass raises :class:`DataError` naming why.

    Examples
    --------
    >>> from probe.analysis.bell.system import chsh_system
    >>> a, b = 0.4267766952966369, 0.07322330470336313
    >>> singlet = [[b, a, a, b], [a, b, b, a], [a, b, b, a], [a, b, b, a]]
    >>> s = s_surface(singlet, chsh_system(), [1.0, 0.0])
    >>> [round(x, 6) for x in s.s_odd]     # 2 sqrt 2 at T = 1; tempering to 0 makes it deterministic: 4
    [2.828427, 4.0]
    """
    if validity is not None and not validity.valid:
        raise DataError("cannot compute S(T) from this exact pass: " + "; ".join(validity.reasons))
    cyclic.check_cyclic(system)
    p = np.asarray(probs, dtype=float)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[1:] != (system.n_contexts, 4):
        raise DataError(f"probs must have shape (K, {system.n_contexts}, 4); got {np.asarray(probs).shape}")
    temps = tuple(float(t) for t in np.ravel(temperatures))
    s_signed, s_o, d, c1, es = [], [], [], [], []
    w = None
    if minus_index is not None:
        w = np.ones(system.n_contexts)
        w[minus_index] = -1
    for t in temps:
        pt = temper(p, t).mean(axis=0)
        e = cyclic.correlators(pt)
        es.append(tuple(float(x) for x in e))
        s_o.append(float(cyclic.s_odd(e)))
        d.append(float(cyclic.delta(pt, system)))
        c1.append(float(cyclic.cnt1(pt, system)))
        if w is not None:
            s_signed.append(float(abs(e @ w)))
    return TemperatureSurface(temperatures=temps, s_signed=tuple(s_signed) if w is not None else None,
                              s_odd=tuple(s_o), delta=tuple(d), cnt1=tuple(c1), E=tuple(es), minus_index=minus_index,
                              warnings=validity.warnings if validity is not None else (MERGE_CAVEAT,))
