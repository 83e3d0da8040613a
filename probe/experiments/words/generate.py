"""``probe words --generate``: ask a model for long stories (recorded), then count and fit them.

Every request goes through the shared runner and cassette, so a study of model-written
stories replays offline byte for byte (``--replay``) and an interrupted one resumes
without paying twice. Story i is a fresh conversation built from premise
``i mod len(premises)`` of ``prompts/stories.toml``; its trial index is part of the
cassette key, so repeated premises are distinct samples.

A story is flagged, counted and (by default) left out of the fit when it is

* ``empty``: no text came back;
* ``refused``: its opening matches one of the prompt file's ``refusal_patterns``;
* ``cut off``: the backend stopped at the token limit (finish reason ``length``/``max_tokens``);
* ``short``: fewer word tokens (under the run's tokenizer) than the length target.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from probe.errors import ConfigError, DataError, SettingError
from probe.experiments.words.counting import StreamCounts, count_stream
from probe.experiments.words.study import WordsResult, WordsSettings, analyse, result_block, write_run
from probe.pricing import BATCH_DISCOUNT, batch_price
from probe.prompts import resolve_prompt_file
from probe.protocol import How, Plan, Study, run_sync
from probe.providers import parse_model
from probe.providers.base import GenerateConfig, Request
from probe.runner import Job
from probe.runs import RunFolder, default_run_dir
from probe.session import PAID_PROVIDERS, ModelSession, model_price

_CUT_OFF = {"length", "max_tokens", "MAX_TOKENS"}


@dataclass(frozen=True, slots=True)
class StoryPrompts:
    """A validated ``stories.toml``."""

    path: str
    sha256: str
    name: str
    min_words: int
    max_tokens: int
    system: str
    template: str
    refusal_patterns: tuple[str, ...]
    premises: tuple[tuple[str, str], ...]
    reference: str = ""

    def message(self, premise: str, min_words: int) -> str:
        return self.template.format(premise=premise, min_words=min_words)


@dataclass(frozen=True, slots=True)
class WordsGenerateSettings(WordsSettings):
    """What to ask a model for, and how to count and fit its stories (the fit fields of WordsSettings)."""

    experiment: ClassVar[str] = "words-generate"

    model: str | None = None
    """Model spec (``gpt-4o``, ``hf:PATH``, ...)."""
    prompt: str = "stories"
    """Story prompts: a TOML path or the shipped ``stories``."""
    n_stories: int = 20
    min_words: int | None = None
    """Length target in words (default: the prompt file's)."""
    temperature: float = 1.0
    max_tokens: int | None = None
    """Cap on tokens per story (default: the prompt file's)."""
    exclude_flagged: bool = True
    """Leave empty, refused, cut-off and short stories out of the fit."""

    def validate(self) -> None:
        if not self.model:
            raise SettingError("model", self.model, "a model is needed to generate stories",
                               hint="e.g. gpt-4o, gemini-2.0-flash, hf:PATH")
        if self.n_stories < 1:
            raise SettingError("n_stories", self.n_stories, "must be at least 1")
        if self.temperature < 0:
            raise SettingError("temperature", self.temperature, "must be >= 0")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise SettingError("max_tokens", self.max_tokens, "must be >= 1")
        if self.min_words is not None and self.min_words < 1:
            raise SettingError("min_words", self.min_words, "must be >= 1")
        WordsSettings.validate(self)


@dataclass(frozen=True)
class WordsGenerateResult(WordsResult):
    experiment: ClassVar[str] = "words-generate"
    settings_type: ClassVar[type] = WordsGenerateSettings


def resolve_story_prompts(name_or_path: str) -> Path:
    return resolve_prompt_file(name_or_path, param="--prompt", shipped=("stories",))


def load_story_prompts(name_or_path: str) -> StoryPrompts:
    """Load and validate a story-prompt TOML file; errors name the file and the field."""
    path = resolve_story_prompts(name_or_path)
    raw = path.read_bytes()
    src = str(path)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{src}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: invalid TOML: {exc}") from None
    if data.get("schema", 1) != 1:
        raise ConfigError(f"{src}: schema: version {data.get('schema')!r} is not supported", hint="use schema = 1")

    def need(key: str, kind: type, where: dict[str, Any] = data, prefix: str = "") -> Any:
        if key not in where:
            raise ConfigError(f"{src}: {prefix}{key}: missing", hint="see prompts/stories.toml for the format")
        if not isinstance(where[key], kind) or (isinstance(where[key], bool) and kind is int):
            raise ConfigError(f"{src}: {prefix}{key}: expected {kind.__name__}, got {type(where[key]).__name__}")
        return where[key]

    template = need("template", str)
    for field_ in ("{premise}",):
        if field_ not in template:
            raise ConfigError(f"{src}: template: must contain {field_}")
    try:
        template.format(premise="x", min_words=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{src}: template: only {{premise}} and {{min_words}} may be used ({exc})") from None
    min_words = need("min_words", int)
    max_tokens = need("max_tokens", int)
    if min_words < 1 or max_tokens < 1:
        raise ConfigError(f"{src}: min_words and max_tokens must be positive")
    patterns = tuple(data.get("refusal_patterns", []))
    for i, pat in enumerate(patterns):
        try:
            re.compile(pat)
        except (re.error, TypeError) as exc:
            raise ConfigError(f"{src}: refusal_patterns[{i}]: not a regular expression ({exc})") from None
    premises = need("premises", list)
    if not premises:
        raise ConfigError(f"{src}: premises: empty", hint="add [[premises]] tables with id and text")
    seen: set[str] = set()
    items = []
    for i, entry in enumerate(premises):
        if not isinstance(entry, dict):
            raise ConfigError(f"{src}: premises[{i}]: expected a table with id and text")
        pid = need("id", str, entry, f"premises[{i}].")
        text = need("text", str, entry, f"premises[{i}].").strip()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", pid) or pid in seen:
            raise ConfigError(f"{src}: premises[{i}].id: {pid!r} must be unique lowercase letters, digits and '-'")
        if not text:
            raise ConfigError(f"{src}: premises[{i}].text: empty")
        seen.add(pid)
        items.append((pid, text))
    return StoryPrompts(path=src, sha256=hashlib.sha256(raw).hexdigest(), name=need("name", str),
                        min_words=min_words, max_tokens=max_tokens, system=str(data.get("system", "")),
                        template=template, refusal_patterns=patterns, premises=tuple(items),
                        reference=str(data.get("reference", "")))


def build_jobs(prompts: StoryPrompts, model: str, settings: WordsGenerateSettings, *, min_words: int) -> list[Any]:
    """One runner job per story."""
    config = GenerateConfig(temperature=settings.temperature, max_tokens=settings.max_tokens or prompts.max_tokens,
                            seed=settings.seed)
    jobs = []
    for i in range(settings.n_stories):
        pid, premise = prompts.premises[i % len(prompts.premises)]
        messages = ([{"role": "system", "content": prompts.system}] if prompts.system else []) + [
            {"role": "user", "content": prompts.message(premise, min_words)}]
        jobs.append(Job(Request(model=model, messages=tuple(messages), config=config, trial=i, tag=f"story:{pid}"),
                        meta={"trial": i, "premise": pid}))
    return jobs


def flag_story(text: str, finish_reason: str | None, n_words: int, *, min_words: int,
               refusal_patterns: tuple[str, ...]) -> list[str]:
    """The reasons a story should not be taken at face value (empty list = fine)."""
    flags = []
    if not text.strip():
        return ["empty"]
    head = text[:300]
    if any(re.search(p, head, re.IGNORECASE) for p in refusal_patterns):
        flags.append("refused")
    if finish_reason in _CUT_OFF:
        flags.append("cut off")
    if n_words < min_words:
        flags.append("short")
    return flags


def _prepared(settings: WordsGenerateSettings) -> tuple[WordsGenerateSettings, StoryPrompts, int, Any, list[Any]]:
    settings.validate()
    if settings.n_stories > 1 and not settings.by_file:
        settings = replace(settings, by_file=True)
    prompts = load_story_prompts(settings.prompt)
    min_words = settings.min_words or prompts.min_words
    ref = parse_model(settings.model or "")
    jobs = build_jobs(prompts, ref.spec, settings, min_words=min_words)
    return settings, prompts, min_words, ref, jobs


def plan(settings: WordsGenerateSettings, how: How | None = None) -> Plan:
    """Stories to request and what they may cost; no side effects."""
    how = how or How()
    settings, prompts, min_words, ref, jobs = _prepared(settings)
    max_tokens = settings.max_tokens or prompts.max_tokens
    cost = None
    notes = []
    if ref.provider in PAID_PROVIDERS:
        price = model_price(ref, how)
        if price is not None and how.batch:
            price = batch_price(price)
            notes.append(f"--batch: priced at {BATCH_DISCOUNT:.0%} of the synchronous price; answers within 24 h")
        if price is not None:
            prompt_tokens = sum(len(j.request.messages[-1]["content"]) // 4 for j in jobs)
            cost = (round(price.cost(prompt_tokens, min_words * len(jobs)), 6),
                    round(price.cost(prompt_tokens, max_tokens * len(jobs)), 6))
            notes.append("the lower end assumes stories of the length target (about one token per word); "
                         "reasoning tokens make the upper end uncertain")
        else:
            notes.append(f"no price for {ref.spec}: cost unknown")
    return Plan("words-generate", f"{len(jobs)} stories from {ref.spec} ({prompts.name}), then BE/MB fits",
                items=len(jobs), calls=len(jobs), output_tokens_max=max_tokens * len(jobs), cost_usd=cost,
                notes=tuple(notes))


async def arun(settings: WordsGenerateSettings, how: How | None = None) -> WordsGenerateResult:
    """Generate (or replay) the stories, then count, fit and write them like text files."""
    how = how or How()
    how.validate()
    settings, prompts, min_words, ref, jobs = _prepared(settings)
    out = Path(how.out) if how.out else default_run_dir("words", ref.spec)
    identity = {"experiment": "words-generate", "model": ref.spec, "prompt_sha256": prompts.sha256,
                "temperature": settings.temperature, "max_tokens": settings.max_tokens or prompts.max_tokens,
                "min_words": min_words, "seed": settings.seed, "tokenizer": settings.tokenizer.to_dict()}
    folder = RunFolder(out, identity)
    folder.check_resume()
    cassette_path = Path(how.cassette) if how.cassette else out / "cassette.jsonl"
    session = ModelSession(ref, how, cassette_path=cassette_path)
    answers: dict[int, Any] = {}
    keep = (cassette_path.name, session.journal_path.name) if cassette_path.parent == out else ()
    try:
        async with session:
            folder.ensure()
            await session.run(jobs, lambda o: answers.__setitem__(o.job.meta["trial"], o),
                              description=f"stories {ref.spec}")
    except BaseException:
        folder.discard_if_empty(keep=keep)
        raise
    stories: list[dict] = []
    try:
        parts, stories = _count_stories(jobs, answers, settings, prompts, min_words)
        if not parts:
            raise DataError(f"none of the {len(jobs)} stories can be fitted: all were flagged "
                            f"({_flag_counts(stories)})", hint="see stories.jsonl in the run folder; "
                            "--keep-flagged fits them anyway, --min-words lowers the length target")
        analysis = analyse(parts, settings, settings.tokenizer)
    except BaseException:
        _write_stories(out, stories)
        folder.release()
        raise
    _write_stories(out, stories)
    versions = sorted({str(o.result.model_version) for o in answers.values() if o.result.model_version})
    block = result_block(parts, analysis, settings, source="generate")
    block["generation"] = {
        "model": ref.spec, "provider": ref.provider, "model_versions": versions, "prompt": prompts.path,
        "prompt_sha256": prompts.sha256, "temperature": settings.temperature,
        "max_tokens": settings.max_tokens or prompts.max_tokens, "min_words": min_words,
        "n_requested": len(jobs), "n_kept": len(parts), "n_flagged": sum(1 for s in stories if s["flags"]),
        "flag_counts": _flag_counts(stories), "exclude_flagged": settings.exclude_flagged,
        "stories_file": "stories.jsonl"}
    return write_run(folder, parts, WordsGenerateResult, settings, block, run=session.run_record(),
                     elapsed_s=session.stats.elapsed_s)


def run(settings: WordsGenerateSettings, how: How | None = None) -> WordsGenerateResult:
    """Generate, count and fit model-written stories (see :func:`arun`)."""
    return run_sync(lambda: arun(settings, how))


def _count_stories(jobs: list[Any], answers: dict[int, Any], settings: WordsGenerateSettings,
                   prompts: StoryPrompts, min_words: int) -> tuple[list[StreamCounts], list[dict]]:
    tokenizer, exclude = settings.tokenizer, settings.exclude_flagged
    parts, stories = [], []
    for job in jobs:
        trial, pid = job.meta["trial"], job.meta["premise"]
        outcome = answers[trial]
        text = outcome.result.texts[0] if outcome.result.texts else ""
        reason = outcome.result.finish_reasons[0] if outcome.result.finish_reasons else None
        counts = count_stream(io.BytesIO(text.encode("utf-8")), tokenizer, name=f"story-{trial:03d}-{pid}",
                              encoding="utf-8", jobs=1)
        flags = flag_story(text, reason, counts.n_tokens, min_words=min_words,
                           refusal_patterns=prompts.refusal_patterns)
        stories.append({"trial": trial, "premise": pid, "key": outcome.key, "finish_reason": reason,
                        "n_tokens": counts.n_tokens, "n_types": counts.n_types, "flags": flags,
                        "model_version": outcome.result.model_version, "text": text})
        if not (flags and exclude) and counts.n_tokens:
            parts.append(counts)
    return parts, stories


def _flag_counts(stories: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in stories:
        for f in s["flags"]:
            out[f] = out.get(f, 0) + 1
    return out


def _write_stories(out: Path, stories: list[dict]) -> None:
    from probe.io import atomic_write_text, dumps

    if stories and out.exists():
        atomic_write_text(out / "stories.jsonl", "".join(dumps(s) + "\n" for s in stories))


STUDY = Study("words-generate", WordsGenerateSettings, WordsGenerateResult, plan, run,
              summary="Word statistics of stories a model writes (recorded)")
