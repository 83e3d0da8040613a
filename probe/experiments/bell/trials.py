"""What ``probe bell`` asks a model, and how answers become counts.

Trial design (methods note bell.md section 5.1):

* one trial = one context question in a fresh, stateless conversation (no
  history, no other contexts, no mention of the study's purpose);
* the order of the four sentences is shuffled per trial from a generator seeded by
  ``(seed, context, trial)`` (``order="random"``), or cycles through all 24
  orderings in a seeded order (``order="balanced"``); the permutation is stored;
* paraphrased templates rotate over trials (``variant = trial mod V``);
* each trial carries its own derived seed, so identical prompts at T > 0 stay
  independent draws, and its own cassette key;
* exact mode sends one scoring request per (context, ordering, variant): 4·K·V
  requests instead of 4·N, and averages the distributions over orderings. Its
  requests carry no sampling settings and no seed: each provider reads its
  model's own distribution (neutral sampling, one token, or options scored
  directly); labels missing from a top-k list make the analysis bound S instead
  of renormalising them away (:mod:`probe.analysis.bell.exact`);
* sampling settings are explicit (temperature 1, top_p 1, top_k 0 = off, min_p 0,
  repeat penalty 1 unless set): the model's own distribution, not a server's
  defaults (llama.cpp's server would otherwise apply top_p 0.95, top_k 40, min_p
  0.05, repeat penalty 1.1). Each row records what the backend was sent;
* a request that comes back with fewer answers than its ``n`` (servers that
  ignore ``n``) is recorded as short, and its missing trials are asked again one
  by one (:func:`reask_jobs`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np

from probe.analysis.bell.chsh import CONTEXTS, chsh
from probe.analysis.bell.exact import chsh_exact
from probe.analysis.verdicts import bell_verdicts
from probe.errors import DataError, SettingError
from probe.experiments.bell.answers import Parsed, parse_choice
from probe.experiments.bell.design import BellDesign
from probe.protocol import Settings
from probe.providers import ModelRef
from probe.providers.base import Choice, GenerateConfig, Option, Request, Response, Scores
from probe.runner import Job, Outcome

ALL_ORDERS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations(range(4)))
MAX_ANSWER_CHARS = 4000
# finish reasons that mean the backend blocked the answer (OpenAI, Gemini)
_BLOCKED = {"CONTENT_FILTER", "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"}


@dataclass(frozen=True, slots=True)
class BellSettings(Settings):
    """Everything that defines a Bell study (and its cassette keys)."""

    experiment: ClassVar[str] = "bell"

    model: str = "embed:minilm"
    """Model spec: ``gpt-4o``, ``openai:NAME``, ``gemini:NAME``, ``hf:PATH``, ``embed:minilm``, ``sim:quantum`` ..."""
    prompt: str = "animal-acts"
    """Design: a TOML path or a shipped name."""
    mode: Literal["sample", "exact"] = "sample"
    trials: int = 100
    """Answers per context (sample mode)."""
    seed: int = 0
    temperature: float | None = 1.0
    top_p: float | None = 1.0
    top_k: int | None = 0
    """0 = off (consider every token)."""
    min_p: float | None = 0.0
    repeat_penalty: float | None = 1.0
    max_tokens: int | None = 16
    n_per_call: int = 1
    """Answers per request (OpenAI n / Gemini candidate_count); >1 shares one ordering."""
    order: Literal["random", "balanced"] = "random"
    orders: int = 1
    """Exact mode: orderings per context (1-24)."""
    n_boot: int = 10_000
    """Bootstrap resamples and posterior draws."""
    prior: float = 1.0
    """Dirichlet prior per cell: 1 uniform, 0.5 Jeffreys."""

    def validate(self) -> None:
        Settings.validate(self)
        if self.mode not in ("sample", "exact"):
            raise SettingError("mode", self.mode, "use sample or exact")
        if self.trials < 1:
            raise SettingError("trials", self.trials, "need at least 1 answer per context")
        if not 1 <= self.orders <= 24:
            raise SettingError("orders", self.orders, "must be between 1 and 24 (4! orderings)")
        if self.n_per_call < 1:
            raise SettingError("n_per_call", self.n_per_call, "must be >= 1")
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise SettingError("temperature", self.temperature, "must be a finite number >= 0")
        if self.top_p is not None and not (math.isfinite(self.top_p) and 0 < self.top_p <= 1):
            raise SettingError("top_p", self.top_p, "must be in (0, 1]")
        if self.top_k is not None and self.top_k < 0:
            raise SettingError("top_k", self.top_k, "must be >= 0 (0 = off)")
        if self.min_p is not None and not 0 <= self.min_p < 1:
            raise SettingError("min_p", self.min_p, "must be in [0, 1) (0 = off)")
        if self.repeat_penalty is not None and self.repeat_penalty <= 0:
            raise SettingError("repeat_penalty", self.repeat_penalty, "must be > 0 (1 = off)")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise SettingError("max_tokens", self.max_tokens, "must be >= 1")
        if self.order not in ("random", "balanced"):
            raise SettingError("order", self.order, "use random or balanced")
        if not (math.isfinite(self.prior) and self.prior > 0):
            raise SettingError("prior", self.prior, "must be a finite number > 0 (1 uniform, 0.5 Jeffreys)")
        if self.n_boot < 100:
            raise SettingError("n_boot", self.n_boot, "use at least 100 (10000 recommended)")

    def generate_config(self, *, n: int, seed: int) -> GenerateConfig:
        """The sampling settings of one sample-mode request."""
        return GenerateConfig(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, min_p=self.min_p,
                              repeat_penalty=self.repeat_penalty, max_tokens=self.max_tokens, n=n, seed=seed)

    def sampling(self) -> dict[str, Any]:
        """The sampling settings as the study set them (what each backend was sent is in the rows)."""
        return {k: getattr(self, k) for k in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens",
                                              "seed")}

    def identity(self) -> dict[str, Any]:
        """Settings a resumed run must share with the original."""
        d = asdict(self)
        for k in ("trials", "n_boot", "prior"):
            d.pop(k)
        return d


def derived_seed(*parts: Any) -> int:
    """A 31-bit seed from any parts (stable across Python versions and platforms)."""
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def shuffled_orders(seed: int) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(derived_seed("orders", seed))
    return [ALL_ORDERS[i] for i in rng.permutation(len(ALL_ORDERS))]


def trial_order(settings: BellSettings, context_index: int, trial: int, balanced: list[tuple[int, ...]]) -> tuple[int, ...]:
    if settings.order == "balanced":  # one ordering per request: requests cycle through all 24
        return balanced[(trial // settings.n_per_call + 6 * context_index) % 24]
    rng = np.random.default_rng([settings.seed, context_index, trial])
    return tuple(int(i) for i in rng.permutation(4))


def build_request(design: BellDesign, ref: ModelRef, context: str, order: tuple[int, ...], variant: int,
                  trial: int, config: GenerateConfig, kind: str) -> Request:
    """One fresh conversation asking for ``context`` with the cells in ``order``."""
    cells = design.cells(context)
    options = tuple(
        Option(label=design.labels[pos], text=cells[cell][4],
               tags={"context": context, "x": cells[cell][0], "y": cells[cell][1], "a": cells[cell][2],
                     "b": cells[cell][3], "cell": cell})
        for pos, cell in enumerate(order)
    )
    listing = "\n".join(design.option_format.format(label=o.label, text=o.text) for o in options)
    user = design.templates[variant].format(options=listing, concept=design.concept)
    messages: list[dict[str, str]] = []
    if design.system:
        messages.append({"role": "system", "content": design.system})
    messages.append({"role": "user", "content": user})
    return Request(model=ref.spec, messages=tuple(messages), config=config, kind=kind,  # type: ignore[arg-type]
                   choice=Choice(options=options, query=design.concept), trial=trial,
                   tag=f"bell:{design.name}:{context}:v{variant}")


def build_jobs(design: BellDesign, ref: ModelRef, settings: BellSettings) -> list[Job]:
    """All requests of the study, in a stable order."""
    settings.validate()
    balanced = shuffled_orders(settings.seed)
    n_variants = len(design.templates)
    jobs: list[Job] = []
    for ci, context in enumerate(design.contexts):
        if settings.mode == "exact":
            for k in range(settings.orders):
                for v in range(n_variants):
                    config = GenerateConfig(top_logprobs=20)  # the provider reads its model's own distribution
                    req = build_request(design, ref, context, balanced[k], v, k * n_variants + v, config, "score")
                    jobs.append(Job(req, {"context": context, "order_id": k, "variant": v, "order": balanced[k]}))
            continue
        per = settings.n_per_call
        for start in range(0, settings.trials, per):
            n = min(per, settings.trials - start)
            order = trial_order(settings, ci, start, balanced)
            variant = (start // per) % n_variants
            config = settings.generate_config(n=n, seed=derived_seed(settings.seed, context, start))
            req = build_request(design, ref, context, order, variant, start, config, "generate")
            jobs.append(Job(req, {"context": context, "trial": start, "variant": variant, "order": order, "n": n}))
    return jobs


def rows_from_outcome(outcome: Outcome) -> list[dict[str, Any]]:
    """trials.jsonl lines for one finished job (one per answer, or one per scored ordering)."""
    job, result = outcome.job, outcome.result
    choice = job.request.choice
    assert choice is not None
    order = list(job.meta["order"])
    common = {
        "key": outcome.key, "context": job.meta["context"], "variant": job.meta["variant"], "order": order,
        "labels": list(choice.labels), "model_version": result.model_version, "fingerprint": result.fingerprint,
        "cached": outcome.cached, "latency_s": round(outcome.latency_s, 4), "attempts": outcome.attempts,
        "retry_causes": outcome.retry_causes,
    }
    if job.request.kind == "score":
        scores: Scores = result  # type: ignore[assignment]
        by_cell = [0.0] * 4
        mass = [0.0] * 4
        missing_cells = [False] * 4
        for pos, p in enumerate(scores.probs):
            by_cell[order[pos]] = float(p)
            mass[order[pos]] = float(scores.label_mass[pos]) if scores.label_mass is not None else float(p)
            missing_cells[order[pos]] = choice.labels[pos] in scores.missing
        row = {**common, "kind": "score", "order_id": job.meta["order_id"], "probs": by_cell,
               "probs_by_position": list(scores.probs), "coverage": scores.coverage, "missing": list(scores.missing),
               "mass": mass, "missing_cells": missing_cells, "unseen": scores.unseen, "method": scores.method or None}
        if scores.top_tokens:
            row["top_tokens"] = scores.top_tokens
        if scores.note:
            row["note"] = scores.note
        return [row]
    rows = []
    response: Response = result  # type: ignore[assignment]
    asked = int(job.meta.get("n", 1))
    returned = len(response.texts)
    if response.sampling is not None:
        common["sampling"] = response.sampling
    if job.meta.get("reask"):
        common["reask"] = True
    if returned < asked:
        common["asked"], common["returned"] = asked, returned
        rows.append({**common, "kind": "short", "trial": job.meta["trial"], "missing_answers": asked - returned})
    texts = [o.text for o in choice.options]
    reasons = result.finish_reasons or ()  # type: ignore[union-attr]
    for i, text in enumerate(result.texts):  # type: ignore[union-attr]
        parsed = parse_choice(text, choice.labels, texts)
        finish = reasons[i] if i < len(reasons) else None
        if not parsed.valid and str(finish).upper() in _BLOCKED:
            parsed = Parsed(None, "refusal")
        cell = order[parsed.index] if parsed.index is not None else None
        tags = choice.options[parsed.index].tags if parsed.index is not None else {}
        rows.append({**common, "kind": "answer", "trial": job.meta["trial"] + i, "answer_index": i,
                     "answer": text[:MAX_ANSWER_CHARS], "finish_reason": finish,
                     "valid": parsed.valid, "reason": parsed.reason,
                     "position": None if parsed.index is None else parsed.index + 1, "cell": cell,
                     "a": tags.get("a"), "b": tags.get("b")})
    return rows


def done_keys(rows: list[dict[str, Any]], jobs: list[Job], provider: str) -> set[str]:
    """Keys of jobs whose every answer is already in ``rows`` (so resume skips them).

    A request that came back short (a ``short`` row) is done: the server answered
    it as it will again; its missing trials are separate re-ask jobs.
    """
    have = Counter(r["key"] for r in rows if r.get("kind") != "short")
    short = {r["key"] for r in rows if r.get("kind") == "short"}
    out = set()
    for job in jobs:
        key = job.request.key(provider)
        need = 1 if job.request.kind == "score" else job.meta["n"]
        if have.get(key, 0) >= need or key in short:
            out.add(key)
    return out


def reask_jobs(rows: list[dict[str, Any]], jobs: list[Job], provider: str) -> list[Job]:
    """One single-answer job for each trial a short request did not answer (never re-asking a re-ask).

    The re-ask keeps the original request's ordering and prompt variant, asks for
    ``n = 1`` with its own derived seed, and is tagged ``:reask`` so that its
    cassette key differs from every planned request.
    """
    by_key = {job.request.key(provider): job for job in jobs}
    out = []
    for r in rows:
        if r.get("kind") != "short" or r.get("reask") or r["key"] not in by_key:
            continue
        job = by_key[r["key"]]
        start = int(job.meta["trial"])
        for i in range(int(r["returned"]), int(r["asked"])):
            cfg = job.request.config
            config = GenerateConfig(**{**cfg.to_dict(), "n": 1, "seed": derived_seed("reask", cfg.seed, i)})
            request = replace(job.request, config=config, trial=start + i, tag=job.request.tag + ":reask")
            out.append(Job(request, {**job.meta, "trial": start + i, "n": 1, "reask": True}))
    return out


def dedupe(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Drop repeated (key, answer) rows; returns (rows, number dropped)."""
    seen: set[tuple[str, str, int]] = set()
    out = []
    for r in rows:
        ident = (r.get("key", ""), r.get("kind", ""), int(r.get("answer_index", r.get("order_id", 0)) or 0))
        if ident in seen:
            continue
        seen.add(ident)
        out.append(r)
    return out, len(rows) - len(out)


def counts_from_rows(rows: list[dict[str, Any]],
                     contexts: tuple[str, ...] = CONTEXTS) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, 2) counts of valid answers and (n,) invalid answers per context (n = 4 for CHSH)."""
    counts = np.zeros((len(contexts), 2, 2))
    invalid = np.zeros(len(contexts), dtype=int)
    for r in rows:
        if r.get("kind") != "answer":
            continue
        c = contexts.index(r["context"])
        if r["valid"]:
            counts[c, 0 if r["a"] == 1 else 1, 0 if r["b"] == 1 else 1] += 1
        else:
            invalid[c] += 1
    return counts, invalid


def _position_bias(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from scipy import stats

    pos = Counter(r["position"] for r in rows if r.get("kind") == "answer" and r["valid"])
    obs = np.array([pos.get(i, 0) for i in range(1, 5)], dtype=float)
    p = float(stats.chisquare(obs).pvalue) if obs.sum() >= 8 else None
    return {"chosen_position": {str(i): int(obs[i - 1]) for i in range(1, 5)}, "chi2_uniform_p": p}


def analyse_rows(rows: list[dict[str, Any]], design: BellDesign, settings: BellSettings) -> dict[str, Any]:
    """The analysis block of result.json from trial rows (sample or exact)."""
    rows, dropped = dedupe(rows)
    versions = sorted({str(r["model_version"]) for r in rows if r.get("model_version")})
    fingerprints = sorted({str(r["fingerprint"]) for r in rows if r.get("fingerprint")})
    extra: dict[str, Any] = {"model_version": versions[0] if len(versions) == 1 else versions,
                             "system_fingerprints": fingerprints, "duplicate_rows_dropped": dropped}
    if design.system_kind != "chsh":
        from probe.experiments.bell.rank_n import analyse_rank_n

        counts, invalid = counts_from_rows(rows, design.contexts) if settings.mode == "sample" else (None, None)
        return {**analyse_rank_n(rows, design, settings, counts, invalid), **extra}
    if settings.mode == "exact":
        return {**_analyse_exact(rows, design), **extra}
    extra["sampling"] = _sampling_summary(rows, settings)
    counts, invalid = counts_from_rows(rows)
    empty = [CONTEXTS[c] for c in range(4) if counts[c].sum() == 0]
    if empty:
        reasons = Counter(r["reason"] for r in rows if r.get("kind") == "answer" and not r["valid"])
        listed = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
        raise DataError(f"no valid answers in context(s) {', '.join(empty)}: {int(invalid.sum())} answer(s) were "
                        f"invalid ({listed or 'none recorded'}); every answer is kept in trials.jsonl",
                        hint="read the answers: a model that recites the list or ignores the question cannot "
                             "give S (try exact mode, another prompt, or a chat model)")
    res = chsh(counts, minus_on=design.minus_on, invalid=invalid, n_boot=settings.n_boot, n_post=settings.n_boot,
               prior=settings.prior, seed=settings.seed)
    summary = res.summary()
    answers = [r for r in rows if r.get("kind") == "answer"]
    summary["invalid_reasons"] = dict(Counter(r["reason"] for r in answers if not r["valid"]))
    summary["finish_reasons"] = dict(Counter(str(r.get("finish_reason")) for r in answers))
    summary["position_bias"] = _position_bias(rows)
    summary["contextuality"] = chsh_contextuality_block(counts, settings)
    if len(design.templates) > 1:
        summary["by_variant"] = _by_variant(answers, design, settings)
    if all(abs(abs(e) - 1) < 1e-12 for e in res.E) and (settings.temperature or 0) == 0:
        summary["warnings"].append("temperature 0 made every context deterministic; S can only be 0, 2 or 4")
    short = [r for r in rows if r.get("kind") == "short" and not r.get("reask")]
    if short:
        missing = sum(int(r["missing_answers"]) for r in short)
        reasked = sum(1 for r in answers if r.get("reask"))
        summary["short_answers"] = {"requests": len(short), "answers_missing": missing, "reasked": reasked}
        summary["warnings"].append(
            f"{len(short)} request(s) returned fewer answers than asked (n = {max(int(r['asked']) for r in short)}): "
            f"the backend ignores n; {missing} missing trial(s) " + (
                f"were asked again one by one ({reasked} answered)" if reasked else "were not asked again"))
    not_sent = sorted({k for r in answers for k in (r.get("sampling") or {}).get("not_sent", [])})
    if not_sent:
        summary["warnings"].append(f"the backend does not accept {', '.join(not_sent)}: its own default applied "
                                   "(recorded under sampling.sent)")
    summary["verdicts"] = bell_verdicts(summary, mode="sample")
    return {**summary, **extra}


def _sampling_summary(rows: list[dict[str, Any]], settings: BellSettings) -> dict[str, Any]:
    """The sampling settings the study set, and each distinct set of parameters the backend was sent.

    Per-request seeds are left out of the distinct sets (every request has its own; the rows keep them).
    """
    import json

    sent = {json.dumps({k: v for k, v in r["sampling"].items() if k != "seed"}, sort_keys=True)
            for r in rows if r.get("sampling") is not None}
    return {"settings": settings.sampling(), "sent": [json.loads(x) for x in sorted(sent)]}


def _analyse_exact(rows: list[dict[str, Any]], design: BellDesign) -> dict[str, Any]:
    """Exact mode: group score rows by (ordering, variant), bound S where top-k lists missed labels."""
    scored = [r for r in rows if r.get("kind") == "score"]
    groups: dict[tuple[int, int], list[dict[str, Any] | None]] = {}
    for r in scored:
        groups.setdefault((r["order_id"], r["variant"]), [None] * 4)[CONTEXTS.index(r["context"])] = r
    complete = [g for g in groups.values() if all(x is not None for x in g)]
    if not complete:
        raise DataError("exact mode: no ordering has scores for all four contexts")
    used = [r for g in complete for r in g]  # type: ignore[misc]
    mass = np.array([[r.get("mass", r["probs"]) for r in g] for g in complete], dtype=float)  # type: ignore[index]
    missing = np.array([[r.get("missing_cells") or [False] * 4 for r in g] for g in complete], dtype=bool)  # type: ignore[union-attr]
    has_unseen = any(r.get("unseen") is not None for r in used)
    unseen = (np.array([[r.get("unseen") or 0.0 for r in g] for g in complete], dtype=float)  # type: ignore[union-attr]
              if has_unseen else None)
    no_mass = [r for r in used if sum(r["probs"]) <= 0 and not r.get("missing")]
    if no_mass:
        raise DataError(f"exact mode: {len(no_mass)} request(s) put no probability on any option label",
                        hint="the model does not answer with the label; use --mode sample")
    n_pool = 24 * len(design.templates)
    res = chsh_exact(mass, minus_on=design.minus_on, coverage=[r["coverage"] for r in used], unseen=unseen,
                     missing=missing, n_pool=n_pool)
    summary = res.summary()
    notes = [r["note"] for r in used if r.get("note")]
    by_position = np.array([r["probs_by_position"] for r in used], dtype=float)
    summary["position_probs"] = [float(x) for x in by_position.mean(axis=0)]  # position bias, P(label at 1..4)
    summary.update(n=None, invalid=None, counts=None, requests=len(scored),
                   score_methods=dict(Counter(str(r.get("method")) for r in used)),
                   requests_without_logprobs=len(notes))
    if notes:
        summary["warnings"].append(f"{len(notes)} request(s) listed no log-probabilities ({notes[0]})")
    summary["verdicts"] = bell_verdicts(summary, mode="exact")
    return summary


def chsh_contextuality_block(counts: np.ndarray, settings: BellSettings) -> dict[str, Any]:
    """result.json's ``contextuality`` block for rank-4 counts (own generator: the CHSH numbers are unchanged)."""
    from probe.analysis.bell.general import analyse_system
    from probe.analysis.bell.system import chsh_system

    n_boot = min(settings.n_boot, 2000)
    return analyse_system(counts.reshape(4, 4), chsh_system(), n_boot=n_boot, n_post=n_boot, prior=settings.prior,
                          seed=derived_seed("contextuality", settings.seed)).summary()


def _by_variant(answers: list[dict[str, Any]], design: BellDesign, settings: BellSettings) -> list[dict[str, Any]]:
    out = []
    for v in range(len(design.templates)):
        counts, invalid = counts_from_rows([r for r in answers if r["variant"] == v])
        if (counts.sum(axis=(1, 2)) == 0).any():
            out.append({"variant": v, "S": None, "S_se": None, "n": int(counts.sum())})
            continue
        r = chsh(counts, minus_on=design.minus_on, invalid=invalid, n_boot=500, n_post=500, seed=settings.seed)
        out.append({"variant": v, "S": r.S, "S_se": r.S_se, "n": int(counts.sum()),
                    "S_ci95": list(r.S_ci95)})
    return out


def expected_calls(settings: BellSettings, design: BellDesign) -> int:
    if settings.mode == "exact":
        return design.rank * settings.orders * len(design.templates)
    return design.rank * math.ceil(settings.trials / settings.n_per_call)
