"""The shape every study has (``DESIGN.md``, "Studies").

::

    Settings (frozen; validate() names the parameter)      How (out, cassette, concurrency, budgets, progress)
            |                                                 |
          plan(settings, how)  -> Plan    what will be done, how many calls, what it may cost; no side effects
          run(settings, how)   -> Result  frozen; to_json() / from_json() / to_frame()
            |
       run folder   one writer (:mod:`probe.runs`): run.json, result.json with one top-level schema
            |
       probe.report.render_run(path)      reports are built from run folders alone

*Settings* say **what** is studied (they define the run: a resumed run must agree
with them, and they are recorded under ``settings`` in ``result.json``). :class:`How`
says **how** it is run (where, through which cassette, how fast, within which
budget); it never changes a number. Each study module (``probe.experiments.*``)
exposes a :class:`Study` in :data:`STUDIES`, so the CLI, a notebook, a sweep and a
cluster all drive it the same way.

Naming across the package (one name per concept): ``seed`` (an int; analysis
functions take ``rng``/``seed`` and make a generator once), ``n_boot`` (bootstrap
resamples / posterior draws), ``level`` (a confidence level such as 0.95; ``alpha``
only for a test's size), ``n_*`` for counts, units in names (``latency_s``,
``entropy_bits``).
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from probe._results import jsonable
from probe.errors import ConfigError, DataError, SettingError

CassetteMode = Literal["auto", "record", "replay"]


def check_seed(seed: object, param: str = "seed") -> None:
    """Seeds are whole numbers >= 0 (NumPy's generators refuse negative seeds)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SettingError(param, seed, "must be a whole number >= 0")


class Settings:
    """Base of every study's frozen settings dataclass.

    Subclasses are ``@dataclass(frozen=True, slots=True)``, set ``experiment`` and
    override :meth:`validate`, raising :class:`~probe.errors.SettingError` that names
    the parameter as spelled here.
    """

    __slots__ = ()
    experiment: ClassVar[str] = ""

    def validate(self) -> None:
        """Raise :class:`SettingError` for the first invalid field (subclasses call ``super().validate()``)."""
        if hasattr(self, "seed"):
            check_seed(self.seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (tuples become lists, paths strings)."""
        return jsonable({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored, lists become tuples where typed so."""
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                kwargs[f.name] = _coerce(data[f.name], hints.get(f.name))
        return cls(**kwargs)


def _coerce(value: Any, hint: Any) -> Any:
    """JSON values back into the field's type: lists into tuples (frozen settings stay hashable),
    dicts into nested settings dataclasses, strings into paths."""
    if isinstance(value, dict) and isinstance(hint, type) and dataclasses.is_dataclass(hint):
        names = {f.name for f in dataclasses.fields(hint)}
        return hint(**{k: v for k, v in value.items() if k in names})
    if isinstance(value, list):
        origins = {typing.get_origin(hint)} | {typing.get_origin(a) for a in typing.get_args(hint)}
        if tuple in origins or hint is tuple:
            return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if isinstance(value, str) and hint is not None:
        args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
        if Path in args:
            return Path(value)
    return value


@dataclass(frozen=True, slots=True)
class How:
    """How a study is run; shared by every study. No field changes a number.

    Parameters
    ----------
    out : path, optional
        The run folder (default ``runs/<experiment>-<name>-<time>/``); the same folder resumes.
    cassette : path, optional
        Model-call record (default ``<out>/cassette.jsonl``).
    cassette_mode : {"auto", "record", "replay"}
        ``auto`` replays what is recorded and calls for the rest; ``replay`` never calls;
        ``record`` always calls. A shipped cassette is only written with ``record``.
    base_url : str, optional
        An OpenAI-compatible (or Gemini) endpoint for API models.
    timeout_s, concurrency, rpm, max_attempts
        Per-request timeout (s), requests in flight, client-side requests per minute,
        attempts per request including retries.
    max_calls, max_cost : optional
        Budget for paid calls in this invocation (count; US dollars). With ``max_cost``
        the model must have a price (``prices``); an unknown price is an error before any call.
    prices : path, optional
        Price table TOML (default ``probe/prices.toml``).
    progress : bool, optional
        ``None``: a live bar on a terminal, timestamped lines otherwise; ``False``: silent.
    workers : int
        Processes for compute-bound studies that can split their work (entangle: a process
        pool, measured faster than a Dask ``local:N`` on one checkpoint here; ``cluster`` for Dask).
    cluster : str, optional
        A Dask cluster for the pieces of one run (``local:N`` or a scheduler address,
        :mod:`probe.cluster`): the texts of a words run, the tensors of an entangle run.
    batch : bool
        Send the calls a cassette lacks as provider batch jobs (half price, answers within 24 h;
        :mod:`probe.batch`) instead of calling; a run whose batches are not done stops with
        :class:`~probe.errors.BatchPending` and the same call later collects them.
    batch_wait, batch_poll_s
        With ``batch``: poll every ``batch_poll_s`` seconds until every answer is in, instead of
        stopping after submission.
    report : bool
        Render report.md, tables and figures after the run (done by the caller of the
        study, :mod:`probe.api` or the CLI; experiments never import :mod:`probe.report`).
    """

    out: Path | None = None
    cassette: Path | None = None
    cassette_mode: CassetteMode = "auto"
    base_url: str | None = None
    timeout_s: float = 60.0
    concurrency: int = 8
    rpm: float | None = None
    max_attempts: int = 6
    max_calls: int | None = None
    max_cost: float | None = None
    prices: Path | None = None
    progress: bool | None = None
    workers: int = 1
    cluster: str | None = None
    batch: bool = False
    batch_wait: bool = False
    batch_poll_s: float = 30.0
    report: bool = True
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    provider_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if self.cassette_mode not in ("auto", "record", "replay"):
            raise SettingError("cassette_mode", self.cassette_mode, "use auto, record or replay")
        if self.concurrency < 1:
            raise SettingError("concurrency", self.concurrency, "must be >= 1")
        if self.batch_wait and not self.batch:
            raise SettingError("batch_wait", True, "only applies to batch jobs", hint="add --batch, or drop --wait")
        if self.batch_poll_s < 0:
            raise SettingError("batch_poll_s", self.batch_poll_s, "must be >= 0 seconds")
        if self.batch and self.cassette_mode != "auto":
            raise SettingError("batch", True, f"cannot be combined with cassette_mode = {self.cassette_mode!r}",
                               hint="--batch sends what the cassette lacks; drop --replay / --record")
        if self.workers < 1:
            raise SettingError("workers", self.workers, "must be >= 1")
        if self.cluster is not None:
            from probe.cluster import parse_cluster

            parse_cluster(self.cluster)
        if self.timeout_s <= 0:
            raise SettingError("timeout_s", self.timeout_s, "must be > 0 seconds")
        if self.rpm is not None and self.rpm <= 0:
            raise SettingError("rpm", self.rpm, "must be > 0 requests per minute")
        if self.max_attempts < 1:
            raise SettingError("max_attempts", self.max_attempts, "must be >= 1 (the first attempt counts)")
        if self.max_calls is not None and self.max_calls < 0:
            raise SettingError("max_calls", self.max_calls, "must be >= 0")
        if self.max_cost is not None and self.max_cost < 0:
            raise SettingError("max_cost", self.max_cost, "must be >= 0 US dollars")
        if self.out is not None and Path(self.out).exists() and not Path(self.out).is_dir():
            raise SettingError("out", str(self.out), "names an existing file, not a folder",
                               hint="choose a folder path for the run")

    def replace(self, **changes: Any) -> How:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a study will do, computed without side effects (nothing is called or written).

    ``cost_usd`` is a (low, high) range for paid calls still to make; ``None`` when
    free or unknown (``notes`` says which). ``cached`` counts calls already recorded.
    """

    experiment: str
    summary: str
    items: int
    calls: int = 0
    cached: int = 0
    input_tokens: int | None = None
    output_tokens_max: int | None = None
    cost_usd: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


@dataclass(frozen=True)
class Result:
    """Base of every study's typed result.

    ``result`` holds the study's numbers (JSON-safe, every estimate with its
    uncertainty and N); ``run`` how the run went (calls, cost, cassette; ``{}``
    for studies that call no model); ``stamp`` the provenance written by
    :mod:`probe.runs` (probe version, dates, elapsed time, host); ``path`` the run
    folder. Subclasses add typed properties for the headline numbers and
    :meth:`to_frame`.
    """

    experiment: ClassVar[str] = ""
    settings_type: ClassVar[type[Settings]] = Settings

    settings: Any
    result: Mapping[str, Any]
    run: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    stamp: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __getitem__(self, key: str) -> Any:
        """``r["S"]``: a key of the result block."""
        return self.result[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.result.get(key, default)

    def to_json(self) -> dict[str, Any]:
        """The whole ``result.json`` document (top-level schema of :mod:`probe.runs`)."""
        settings = self.settings.to_dict() if isinstance(self.settings, Settings) else dict(self.settings)
        return jsonable({"schema": SCHEMA, "experiment": self.experiment_name, **dict(self.stamp),
                         "settings": settings, "result": dict(self.result), "run": dict(self.run),
                         "warnings": list(self.warnings)})

    @property
    def experiment_name(self) -> str:
        return type(self).experiment

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, path: Path | None = None) -> Any:
        """Rebuild from a ``result.json`` document of the current schema."""
        if doc.get("experiment") != cls.experiment:
            raise DataError(f"result.json holds experiment {doc.get('experiment')!r}, not {cls.experiment!r}")
        stamp = {k: doc[k] for k in STAMP_KEYS if k in doc}
        settings = cls.settings_type.from_dict(doc.get("settings") or {})
        return cls(settings=settings, result=doc.get("result") or {}, run=doc.get("run") or {},
                   warnings=tuple(doc.get("warnings") or ()), stamp=stamp, path=path)

    def to_frame(self) -> Any:
        """A tidy DataFrame of the headline numbers (one row; studies override with richer tables)."""
        import pandas as pd

        flat = {k: v for k, v in self.result.items() if isinstance(v, int | float | str | bool) or v is None}
        return pd.DataFrame([flat])


SCHEMA = "probe-run/2"
"""Version of the ``result.json`` top-level schema (``probe/schemas/result.schema.json``)."""

STAMP_KEYS = ("probe_version", "created", "elapsed_s", "host")


@dataclass(frozen=True, slots=True)
class Study:
    """One study: its experiment name, types, and ``plan``/``run`` functions."""

    experiment: str
    settings_type: type[Settings]
    result_type: type[Result]
    plan: Callable[..., Plan]
    run: Callable[..., Result]
    summary: str = ""


# experiment name (the "experiment" key of result.json) -> "module:attribute" holding its Study
STUDIES: dict[str, str] = {
    "bell": "probe.experiments.bell.study:STUDY",
    "bell-counts": "probe.experiments.bell.counts_study:STUDY",
    "words": "probe.experiments.words.study:STUDY",
    "words-generate": "probe.experiments.words.generate:STUDY",
    "entangle-weights": "probe.experiments.entangle.study:WEIGHTS",
    "entangle-delta": "probe.experiments.entangle.study:DELTA",
    "entangle-lora": "probe.experiments.entangle.study:LORA",
    "entangle-attention": "probe.experiments.entangle.study:ATTENTION",
    "entangle-random": "probe.experiments.entangle.study:RANDOM",
    "quantum-power": "probe.experiments.quantum.power:STUDY",
    "quantum-expressibility": "probe.experiments.quantum.tables:EXPRESSIBILITY",
    "quantum-capability": "probe.experiments.quantum.tables:CAPABILITY",
    "quantum-mie": "probe.experiments.quantum.mie:STUDY",
    "quantum-classify": "probe.experiments.quantum.classify:STUDY",
    "quantum-compare": "probe.experiments.quantum.compare:STUDY",
    "quantum-overlap": "probe.experiments.quantum.overlap:STUDY",
    "quantum-rl": "probe.experiments.quantum.rl:STUDY",
}


def get_study(experiment: str) -> Study:
    """The :class:`Study` registered for ``experiment``."""
    target = STUDIES.get(experiment)
    if target is None:
        raise ConfigError(f"unknown experiment {experiment!r}", hint=f"known: {', '.join(sorted(STUDIES))}")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def run_sync(make_coro: Callable[[], Any]) -> Any:
    """Run an async study from sync code, also inside a running event loop (Jupyter): then in a thread."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


__all__ = ["SCHEMA", "STUDIES", "How", "Plan", "Result", "Settings", "Study", "get_study", "run_sync"]
