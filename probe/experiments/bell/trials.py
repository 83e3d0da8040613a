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
  requests instead of 4·N, and averages the distributions over orderings.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from probe.analysis.bell.chsh import CONTEXTS, chsh, chsh_exact
from probe.analysis.verdicts import bell_verdicts
from probe.errors import DataError, SettingError
from probe.experiments.bell.answers import Parsed, parse_choice
from probe.experiments.bell.design import BellDesign
from probe.protocol import Settings
from probe.providers import ModelRef
from probe.providers.base import Choice, GenerateConfig, Option, Request
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
    top_p: float | None = None
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
        if self.max_tokens is not None and self.max_tokens < 1:
            raise SettingError("max_tokens", self.max_tokens, "must be >= 1")
        if self.order not in ("random", "balanced"):
            raise SettingError("order", self.order, "use random or balanced")
        if not (math.isfinite(self.prior) and self.prior > 0):
            raise SettingError("prior", self.prior, "must be a finite number > 0 (1 uniform, 0.5 Jeffreys)")
        if self.n_boot < 100:
            raise SettingError("n_boot", self.n_boot, "use at least 100 (10000 recommended)")

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
    if settings.order == "balanced":
        return balanced[(trial + 6 * context_index) % 24]
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
                    config = GenerateConfig(temperature=settings.temperature, top_p=settings.top_p, top_logprobs=20,
                                            seed=derived_seed(settings.seed, context, k, v))
                    req = build_request(design, ref, context, balanced[k], v, k * n_variants + v, config, "score")
                    jobs.append(Job(req, {"context": context, "order_id": k, "variant": v, "order": balanced[k]}))
            continue
        per = settings.n_per_call
        for start in range(0, settings.trials, per):
            n = min(per, settings.trials - start)
            order = trial_order(settings, ci, start, balanced)
            variant = (start // per) % n_variants
            config = GenerateConfig(temperature=settings.temperature, top_p=settings.top_p,
                                    max_tokens=settings.max_tokens, n=n,
                                    seed=derived_seed(settings.seed, context, start))
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
        by_cell = [0.0] * 4
        for pos, p in enumerate(result.probs):  # type: ignore[union-attr]
            by_cell[order[pos]] = float(p)
        return [{**common, "kind": "score", "order_id": job.meta["order_id"], "probs": by_cell,
                 "probs_by_position": list(result.probs), "coverage": result.coverage,  # type: ignore[union-attr]
                 "missing": list(result.missing)}]  # type: ignore[union-attr]
    rows = []
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
    """Keys of jobs whose every answer is already in ``rows`` (so resume skips them)."""
    have = Counter(r["key"] for r in rows)
    out = set()
    for job in jobs:
        key = job.request.key(provider)
        need = 1 if job.request.kind == "score" else job.meta["n"]
        if have.get(key, 0) >= need:
            out.add(key)
    return out


def dedupe(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Drop repeated (key, answer) rows; returns (rows, number dropped)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for r in rows:
        ident = (r.get("key", ""), int(r.get("answer_index", r.get("order_id", 0)) or 0))
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
        scored = [r for r in rows if r.get("kind") == "score"]
        groups: dict[tuple[int, int], np.ndarray] = {}
        for r in scored:
            g = groups.setdefault((r["order_id"], r["variant"]), np.full((4, 4), np.nan))
            g[CONTEXTS.index(r["context"])] = r["probs"]
        complete = [g for g in groups.values() if not np.isnan(g).any()]
        if not complete:
            raise DataError("exact mode: no ordering has scores for all four contexts")
        empty = [r for r in scored if sum(r["probs"]) <= 0]
        if empty:
            raise DataError(f"exact mode: {len(empty)} request(s) put no probability on any option label",
                            hint="the model does not answer with the label; use --mode sample")
        res = chsh_exact(np.stack(complete), minus_on=design.minus_on, coverage=[r["coverage"] for r in scored])
        summary = res.summary()
        summary.update(n=None, invalid=None, counts=None, requests=len(scored),
                       missing_labels=sum(len(r["missing"]) for r in scored))
        summary["verdicts"] = bell_verdicts(summary, mode="exact")
        return {**summary, **extra}
    counts, invalid = counts_from_rows(rows)
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
    summary["verdicts"] = bell_verdicts(summary, mode="sample")
    return {**summary, **extra}


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
