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
import shutil
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from probe.errors import ConfigError, DataError
from probe.experiments.words.counting import StreamCounts, count_stream
from probe.experiments.words.study import WordsRun, WordsSettings, analyse, build_result, write_run
from probe.experiments.words.tokenizer import TokenizerOptions
from probe.prompts import resolve_prompt_file

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
class GenerateOptions:
    """What to ask and how to run the calls."""

    model: str | None
    prompt: str = "stories"
    n: int = 20
    min_words: int | None = None
    temperature: float = 1.0
    max_tokens: int | None = None
    exclude_flagged: bool = True
    cassette: Path | None = None
    cassette_mode: str = "auto"
    base_url: str | None = None
    concurrency: int = 4
    rpm: float | None = None
    timeout_s: float = 300.0
    max_calls: int | None = None
    max_cost: float | None = None


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


def build_jobs(prompts: StoryPrompts, model: str, options: GenerateOptions, *, seed: int, min_words: int) -> list[Any]:
    """One runner job per story."""
    from probe.providers.base import GenerateConfig, Request
    from probe.runner import Job

    config = GenerateConfig(temperature=options.temperature, max_tokens=options.max_tokens or prompts.max_tokens,
                            seed=seed)
    jobs = []
    for i in range(options.n):
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


async def run_generate(options: GenerateOptions, tokenizer: TokenizerOptions, settings: WordsSettings, *,
                       out: Path | None = None, counts_format: str = "parquet",
                       progress: bool | None = None) -> WordsRun:
    """Generate (or replay) the stories, then count, fit and write them like text files."""
    from probe.cassette import Cassette
    from probe.providers import create_provider, parse_model
    from probe.runner import Outcome, Runner
    from probe.runs import RunFolder, default_run_dir

    if not options.model:
        raise ConfigError("--generate needs --model", hint="e.g. --model gpt-4o, --model hf:PATH")
    if options.n < 1:
        raise ConfigError(f"--n {options.n}: must be at least 1")
    if options.concurrency < 1:
        raise ConfigError(f"--concurrency {options.concurrency}: must be at least 1")
    settings = replace(settings, by_file=True) if options.n > 1 else settings
    settings.validate()
    prompts = load_story_prompts(options.prompt)
    min_words = options.min_words or prompts.min_words
    ref = parse_model(options.model)
    jobs = build_jobs(prompts, ref.spec, options, seed=settings.seed, min_words=min_words)
    out = out or default_run_dir("words", ref.spec)
    identity = {"experiment": "words", "source": "generate", "model": ref.spec, "prompt_sha256": prompts.sha256,
                "temperature": options.temperature, "max_tokens": options.max_tokens or prompts.max_tokens,
                "min_words": min_words, "seed": settings.seed, "tokenizer": tokenizer.to_dict()}
    folder = RunFolder(out, identity, identity=tuple(identity))
    folder.check_resume()
    cassette_path = options.cassette or out / "cassette.jsonl"
    cassette = Cassette(cassette_path, options.cassette_mode)  # type: ignore[arg-type]
    provider = None
    if options.cassette_mode != "replay":
        provider = create_provider(ref, base_url=options.base_url, timeout=options.timeout_s)
    runner = Runner(provider, cassette, provider_name=ref.provider, concurrency=options.concurrency, rpm=options.rpm,
                    max_calls=options.max_calls, max_cost=options.max_cost, base_url=options.base_url,
                    progress=progress)
    answers: dict[int, Outcome] = {}
    created_here = not out.exists()
    try:
        folder.ensure()
        await runner.run(jobs, lambda o: answers.__setitem__(o.job.meta["trial"], o),
                         description=f"stories {ref.spec}")
    except BaseException:
        cassette.close()
        folder.release()
        if created_here and not (cassette_path.exists() and cassette_path.stat().st_size):
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        if provider is not None:
            await provider.aclose()
    cassette.close()
    try:
        parts, stories = _count_stories(jobs, answers, tokenizer, settings, prompts, min_words,
                                        exclude=options.exclude_flagged)
        if not parts:
            raise DataError(f"none of the {len(jobs)} stories can be fitted: all were flagged "
                            f"({_flag_counts(stories)})", hint="see stories.jsonl in the run folder; "
                            "--keep-flagged fits them anyway, --min-words lowers the length target")
        analysis = analyse(parts, settings, tokenizer)
    except BaseException:
        _write_stories(out, stories if "stories" in locals() else [])
        folder.release()
        raise
    _write_stories(out, stories)
    versions = sorted({str(o.result.model_version) for o in answers.values() if o.result.model_version})
    extra = {"generation": {
        "model": ref.spec, "provider": ref.provider, "model_versions": versions, "prompt": prompts.path,
        "prompt_sha256": prompts.sha256, "temperature": options.temperature,
        "max_tokens": options.max_tokens or prompts.max_tokens, "min_words": min_words,
        "n_requested": len(jobs), "n_kept": len(parts), "n_flagged": sum(1 for s in stories if s["flags"]),
        "flag_counts": _flag_counts(stories), "exclude_flagged": options.exclude_flagged,
        "stories_file": "stories.jsonl", "cassette": str(cassette_path), "run": runner.stats.to_dict()}}
    result = build_result(parts, analysis, settings, tokenizer, source="generate", extra=extra)
    return write_run(folder, parts, result, counts_format=counts_format)


def _count_stories(jobs: list[Any], answers: dict[int, Any], tokenizer: TokenizerOptions, settings: WordsSettings,
                   prompts: StoryPrompts, min_words: int, *, exclude: bool) -> tuple[list[StreamCounts], list[dict]]:
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
