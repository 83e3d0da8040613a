"""``probe words``: count the words of texts and fit Bose-Einstein vs Maxwell-Boltzmann statistics.

Data flow::

    files / folder+glob / stdin / gzip / model-written stories (words_generate)
        -> streaming counts (words_count)        exact, chunked, never the whole text in memory
        -> analysis (probe.analysis.words.fits*)     levels, fits, bootstrap, comparison, verdict
        -> run folder                           counts.parquet|csv, result.json, report.md, table.tex, figures

Every input is checked before the run folder is created; counting and fitting
happen before anything is written, so a failed run leaves no folder behind.
"""

from __future__ import annotations

import functools
import glob as _glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from probe.errors import ConfigError, DataError, SettingError
from probe.experiments.words.counting import StreamCounts, check_encoding, count_stream, open_binary
from probe.experiments.words.tokenizer import TokenizerOptions
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study
from probe.runs import RunFolder, default_run_dir, stamp

DEFAULT_GLOB = "*.txt"


@dataclass(frozen=True, slots=True)
class TextSource:
    """One input text: a file (``path``) or standard input (``path is None``)."""

    name: str
    path: Path | None
    size: int | None


@dataclass(frozen=True, slots=True)
class WordsSettings(Settings):
    """What defines a words analysis (recorded in result.json and run.json)."""

    experiment: ClassVar[str] = "words"

    inputs: tuple[str, ...] = ()
    """Text files, folders (with ``glob``) or ``-`` for stdin; gzip is detected."""
    glob: str | None = None
    tokenizer: TokenizerOptions = field(default_factory=TokenizerOptions)
    method: str = "constraint"
    ties: str = "ordinal"
    first_level: int = 0
    energy_exponent: float | str = 1.0  # d of E_i = (i - 1)^d, or "fit" (profile likelihood)
    compare: tuple[str, ...] = ("zipf", "zipf-mandelbrot", "lognormal")
    n_resamples: int = 1000
    bootstrap: str = "parametric"
    ci: str = "basic"
    alpha: float = 0.05
    seed: int = 0
    by_file: bool = False
    by_file_resamples: int = 200
    encoding: str = "utf-8"
    counts_format: str = "parquet"

    def validate(self) -> None:
        Settings.validate(self)
        from probe.analysis.words.fits import METHODS, TIES
        from probe.analysis.words.verdict import split_compare

        if self.method not in METHODS:
            raise SettingError("method", self.method, f"choose from {', '.join(METHODS)}")
        if self.ties not in TIES:
            raise SettingError("ties", self.ties, f"choose from {', '.join(TIES)}")
        if self.first_level not in (0, 1):
            raise SettingError("first_level", self.first_level, "use 0 or 1")
        if not (isinstance(self.energy_exponent, str) and self.energy_exponent.strip().lower() == "fit"):
            from probe.analysis.words.fits import check_energy_exponent

            try:
                check_energy_exponent(self.energy_exponent)  # type: ignore[arg-type]
            except ConfigError as exc:
                raise SettingError("energy_exponent", self.energy_exponent, "use a number > 0 or 'fit'",
                                   hint=exc.hint) from None
        if self.n_resamples < 0:
            raise SettingError("n_resamples", self.n_resamples, "the number of resamples must be >= 0")
        if self.by_file_resamples < 0:
            raise SettingError("by_file_resamples", self.by_file_resamples, "must be >= 0")
        if 0 < self.n_resamples < 50:
            raise SettingError("n_resamples", self.n_resamples, "too few for a 95% interval",
                               hint="use 0 (no intervals) or at least 200; 1000 is the default")
        if self.bootstrap not in ("parametric", "tokens"):
            raise SettingError("bootstrap", self.bootstrap, "the bootstrap kind: use parametric or tokens",
                               hint="the number of resamples is n_resamples (--bootstrap N on the command line)")
        if self.ci not in ("basic", "percentile"):
            raise SettingError("ci", self.ci, "use basic or percentile")
        if not 0 < self.alpha < 1:
            raise SettingError("alpha", self.alpha, "must be between 0 and 1")
        if self.counts_format not in ("parquet", "csv"):
            raise SettingError("counts_format", self.counts_format, "use parquet or csv")
        split_compare(self.compare)
        check_encoding(self.encoding)

    def fit_dict(self) -> dict[str, Any]:
        """The settings that shape the fits (what a resumed or compared run must share)."""
        d = self.to_dict()
        for k in ("inputs", "glob", "tokenizer", "counts_format"):
            d.pop(k, None)
        return d


@dataclass(frozen=True)
class WordsResult(Result):
    """A words study's result: ``r.preferred``, ``r.be``, ``r.mb``, ``r.to_frame()`` (one row per fit)."""

    experiment: ClassVar[str] = "words"
    settings_type: ClassVar[type] = WordsSettings

    @property
    def preferred(self) -> str | None:
        return self.result.get("preferred")

    @property
    def be(self) -> dict[str, Any]:
        return dict((self.result.get("fits") or {}).get("be") or {})

    @property
    def mb(self) -> dict[str, Any]:
        return dict((self.result.get("fits") or {}).get("mb") or {})

    @property
    def n_tokens(self) -> int | None:
        return self.result.get("n_tokens")

    def to_frame(self) -> Any:
        """One row per fitted law (BE, MB): A, B with their intervals, R² and information criteria."""
        import pandas as pd

        rows = []
        for law, fit in (self.result.get("fits") or {}).items():
            if isinstance(fit, dict):
                rows.append({"law": law, **{k: v for k, v in fit.items() if not isinstance(v, list | dict)},
                             "A_ci95": fit.get("A_ci95"), "B_ci95": fit.get("B_ci95")})
        return pd.DataFrame(rows)


# --- inputs ---------------------------------------------------------------------------------------

def find_sources(inputs: Sequence[str], *, glob: str | None = None) -> list[TextSource]:
    """Resolve files, folders (with ``glob``, default ``*.txt``) and ``-`` (stdin) to text sources.

    Raises
    ------
    ConfigError
        A path that does not exist, a folder with no matching file, ``-`` given twice.
    """
    if not inputs:
        raise ConfigError("no input text", hint="pass a file, a folder (with --glob), or - for stdin; "
                                                 "or --generate to ask a model for texts")
    out: list[TextSource] = []
    stdin_seen = False
    for raw in inputs:
        if raw == "-":
            if stdin_seen:
                raise ConfigError("'-' (stdin) given twice")
            stdin_seen = True
            out.append(TextSource("<stdin>", None, None))
            continue
        path = Path(raw).expanduser()
        if path.is_dir():
            pattern = glob or DEFAULT_GLOB
            files = sorted(p for p in (Path(s) for s in _glob.glob(str(path / pattern), recursive=True))
                           if p.is_file())
            if not files:
                raise ConfigError(f"{path}: no files match {pattern!r}",
                                  hint="pass --glob, e.g. --glob '*.md' or --glob '**/*.txt' for subfolders")
            out.extend(TextSource(str(p), p, p.stat().st_size) for p in files)
        elif path.is_file():
            if glob is not None and not path.match(glob):
                continue
            out.append(TextSource(str(path), path, path.stat().st_size))
        elif path.exists():
            raise ConfigError(f"{path}: not a regular file or folder")
        else:
            raise ConfigError(f"{path}: no such file or folder")
    if not out:
        raise ConfigError(f"no input matches --glob {glob!r}")
    for src in out:
        if src.path is not None and not os.access(src.path, os.R_OK):
            raise ConfigError(f"{src.name}: not readable (permission denied)")
    return out


def count_sources(sources: Sequence[TextSource], options: TokenizerOptions, *, encoding: str = "utf-8",
                  jobs: int = 2, progress: Callable[[int], None] | None = None,
                  cluster: str | None = None) -> list[StreamCounts]:
    """Stream-count each source with :func:`probe.experiments.words.counting.count_stream`.

    With ``cluster`` (``local:N`` or a Dask scheduler address, :mod:`probe.cluster`), each file is
    one task counted on a worker (one thread; the workers must see the files) and its counts come
    back here: counts are mergeable, so the result is the same as counting here, in the same order.
    Standard input is always counted here.
    """
    if cluster is None or not sources or any(src.path is None for src in sources):
        return [count_source(src, options, encoding=encoding, jobs=jobs, progress=progress) for src in sources]
    from probe.cluster import map_tasks

    def done(i: int, part: StreamCounts) -> None:
        if progress is not None:
            progress(sources[i].size or part.n_bytes)

    task = functools.partial(count_source, options=options, encoding=encoding, jobs=1)
    return map_tasks(cluster, task, sources, on_result=done)


def count_source(src: TextSource, options: TokenizerOptions, *, encoding: str = "utf-8", jobs: int = 2,
                 progress: Callable[[int], None] | None = None) -> StreamCounts:
    """Count one source (a file, or standard input when ``src.path is None``)."""
    try:
        stream = open_binary(src.path)
    except OSError as exc:
        raise DataError(f"{src.name}: cannot read ({exc.strerror or exc})") from exc
    try:
        return count_stream(stream, options, name=src.name, encoding=encoding, jobs=jobs, progress=progress)
    except (OSError, EOFError) as exc:  # truncated gzip, I/O errors
        raise DataError(f"{src.name}: cannot read ({exc})", hint="is the file complete?") from exc
    finally:
        if src.path is not None:
            stream.close()


def pool_counts(parts: Sequence[StreamCounts]) -> dict[str, int]:
    """Sum counts over texts, keeping first-occurrence order across them (in input order)."""
    pooled: dict[str, int] = {}
    for part in parts:
        get = pooled.get
        for word, n in part.counts.items():
            pooled[word] = get(word, 0) + n
    return pooled


# --- analysis -----------------------------------------------------------------------------------------

def analyse(parts: Sequence[StreamCounts], settings: WordsSettings, tokenizer: TokenizerOptions) -> dict[str, Any]:
    """Fit the pooled counts (and each text with ``by_file``); return the analysis part of result.json.

    Raises
    ------
    DataError
        No tokens at all, or too few distinct words for a fit (the message says how many).
    """
    import numpy as np

    from probe.analysis.words.fits import MIN_TYPES
    from probe.analysis.words.verdict import analyze_counts

    pooled = pool_counts(parts)
    n_tokens = sum(pooled.values())
    names = ", ".join(p.name for p in parts[:3]) + (" ..." if len(parts) > 3 else "")
    if n_tokens == 0:
        raise DataError(f"{names}: empty text: no word tokens under the tokenizer",
                        hint=f"check the file and the tokenizer options ({tokenizer.pattern})")
    if len(pooled) < MIN_TYPES:
        raise DataError(f"{names}: text too short for a fit: {len(pooled)} distinct words in {n_tokens} tokens, "
                        f"at least {MIN_TYPES} distinct words needed",
                        hint="use a longer text; a few thousand tokens give useful intervals")
    kw = {"ties": settings.ties, "first_level": settings.first_level, "method": settings.method,
          "bootstrap": settings.bootstrap, "ci": settings.ci, "alpha": settings.alpha,
          "energy_exponent": settings.energy_exponent}
    main = analyze_counts(np.fromiter(pooled.values(), dtype=np.float64, count=len(pooled)),
                          compare=settings.compare, n_resamples=settings.n_resamples, rng=settings.seed,
                          words=list(pooled), **kw)
    out = main.to_dict()
    if settings.by_file:
        rows = []
        for i, part in enumerate(parts):
            row: dict[str, Any] = {"name": part.name, "n_tokens": part.n_tokens, "n_types": part.n_types}
            if part.n_types < MIN_TYPES:
                row["error"] = f"too short for a fit: {part.n_types} distinct words, at least {MIN_TYPES} needed"
            else:
                res = analyze_counts(np.fromiter(part.counts.values(), dtype=np.float64, count=part.n_types),
                                     words=list(part.counts),
                                     compare=[c for c in settings.compare if c.startswith("zipf")],
                                     n_resamples=settings.by_file_resamples,
                                     rng=np.random.default_rng([settings.seed, i]), **kw)
                row.update(preferred=res.preferred, flags=list(res.flags),
                           best_rank_model=res.verdict.best_rank_model,
                           be=_fit_summary(res.be), mb=_fit_summary(res.mb),
                           tests=[t.to_dict() for t in res.tests])
            rows.append(row)
        out["by_file"] = rows
        called = [r.get("preferred", "too short") for r in rows]
        out["by_file_summary"] = {k: called.count(k) for k in ("be", "mb", "inconclusive", "too short")}
    return out


def _fit_summary(fit: Any) -> dict[str, Any]:
    keys = ("A", "B", "A_ci95", "B_ci95", "A_bias_corrected", "B_bias_corrected", "energy_exponent", "r2", "r2_log",
            "aic", "bic", "converged", "method")
    d = fit.to_dict()
    return {k: d[k] for k in keys}


def result_block(parts: Sequence[StreamCounts], analysis: dict[str, Any], settings: WordsSettings, *,
                 source: str) -> dict[str, Any]:
    """The ``result`` block of result.json: the analysis plus what is needed to reproduce and cite it."""
    tok = settings.tokenizer
    return {
        "source": source,
        "tokenizer": {**tok.to_dict(), "description": tok.describe()},
        "inputs": [{"name": p.name, "n_bytes": p.n_bytes, "sha256": p.sha256, "encoding": p.encoding,
                    "n_tokens": p.n_tokens, "n_types": p.n_types} for p in parts],
        **analysis,
    }


# --- writing ---------------------------------------------------------------------------------------------

def counts_frame(counts: dict[str, int]) -> Any:
    """Words in first-occurrence order with their count and ordinal rank (1 = most frequent)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"word": list(counts.keys()), "count": np.fromiter(counts.values(), dtype=np.int64)})
    order = np.argsort(-frame["count"].to_numpy(), kind="stable")
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(1, len(frame) + 1)
    frame["rank"] = rank
    return frame


def write_counts(folder: Path, parts: Sequence[StreamCounts], *, fmt: str, by_file: bool) -> dict[str, str]:
    """Write counts.parquet|csv (pooled) and, with ``by_file``, counts_by_file.*; atomically."""
    import io

    import pandas as pd

    from probe.io import atomic_write_bytes

    files = {"counts": f"counts.{fmt}"}
    frames = {"counts": counts_frame(pool_counts(parts))}
    if by_file:
        files["counts_by_file"] = f"counts_by_file.{fmt}"
        frames["counts_by_file"] = pd.concat(
            [counts_frame(p.counts).assign(source=p.name) for p in parts], ignore_index=True)
    for key, frame in frames.items():
        buf = io.BytesIO()
        if fmt == "parquet":
            frame.to_parquet(buf, index=False)
        else:
            frame.to_csv(buf, index=False)
        atomic_write_bytes(folder / files[key], buf.getvalue())
    return files


def _label(sources: Sequence[TextSource]) -> str:
    label = "stdin" if sources[0].path is None else Path(sources[0].name).stem
    return label + (f"+{len(sources) - 1}" if len(sources) > 1 else "")


def plan(settings: WordsSettings, how: How | None = None) -> Plan:
    """The texts that would be counted and fitted; no side effects."""
    settings.validate()
    sources = find_sources(settings.inputs, glob=settings.glob)
    size = sum(s.size or 0 for s in sources)
    return Plan("words", f"count {len(sources)} text(s) ({size / 1e6:.1f} MB) and fit BE/MB with "
                         f"{settings.n_resamples} bootstrap resamples", items=len(sources))


def run(settings: WordsSettings, how: How | None = None) -> WordsResult:
    """Count, analyse and write a words run for text files (see the module docstring)."""
    how = how or How()
    settings.validate()
    how.validate()
    sources = find_sources(settings.inputs, glob=settings.glob)
    if settings.tokenizer.lemmatize:
        from probe.experiments.words.tokenizer import lemmatizer

        lemmatizer()  # fail now, not after counting
    out = Path(how.out) if how.out else default_run_dir("words", _label(sources))
    identity = {"experiment": "words", "inputs": [s.name for s in sources],
                "tokenizer": settings.tokenizer.to_dict(), **settings.fit_dict()}
    folder = RunFolder(out, identity)
    folder.check_resume()
    t0 = time.perf_counter()
    sizes = [s.size for s in sources]
    known = all(v is not None for v in sizes) and not any(str(s.name).endswith(".gz") for s in sources)
    with Progress("counting words", sum(sizes) if known else None, enabled=how.progress,  # type: ignore[arg-type]
                  unit="B") as bar:
        parts = count_sources(sources, settings.tokenizer, encoding=settings.encoding, jobs=max(how.workers, 2),
                              progress=bar.advance, cluster=how.cluster)
    with Progress(f"fitting BE and MB ({settings.n_resamples} bootstrap resamples)", None,
                  enabled=how.progress):
        analysis = analyse(parts, settings, settings.tokenizer)
    block = result_block(parts, analysis, settings, source="files")
    return write_run(folder, parts, WordsResult, settings, block, run={}, elapsed_s=time.perf_counter() - t0)


def write_run(folder: RunFolder, parts: Sequence[StreamCounts], result_type: type[WordsResult], settings: Any,
              block: dict[str, Any], *, run: dict[str, Any], elapsed_s: float) -> Any:
    """Create the run folder and write the counts and result.json into it."""
    with folder.session():
        path = folder.ensure()
        block = {**block, "files": write_counts(path, parts, fmt=settings.counts_format,
                                                by_file=bool(block.get("by_file")))}
        warnings = tuple(block.get("flags") or ())
        result = result_type(settings=settings, result=block, run=run, warnings=warnings,
                             stamp=stamp(elapsed_s=elapsed_s), path=path)
        folder.write_result(result)
    return result


STUDY = Study("words", WordsSettings, WordsResult, plan, run,
              summary="Bose-Einstein vs Maxwell-Boltzmann statistics of the words of texts")
