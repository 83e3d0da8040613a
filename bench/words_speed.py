"""Speed of `probe words` counting and fitting against the usual Python tools, in one process.

Counting (a synthetic Zipf text with capitals and punctuation; default 200 MB, ~25 M tokens):

- probe:            probe.experiments.words.counting.count_stream (streams the file, pyarrow pieces, 2 threads)
- Counter(findall): collections.Counter(re.findall(PATTERN, text.lower()))   the baseline
- nltk FreqDist:    nltk.FreqDist over the same ready token list
- word_tokenize:    nltk.word_tokenize(line, preserve_line=True) per line + FreqDist  (Treebank rules)
- CountVectorizer:  scikit-learn, one document, token_pattern = PATTERN

Agreement: probe, FreqDist and CountVectorizer must give *identical* counts to the
baseline (same token definition); word_tokenize uses other rules, so only its token
total is shown. Peak memory (max RSS) of probe and of the baseline is measured in fresh
child processes at the full size and at 1/10 of it, to show probe's is flat in text size.

Fitting: BE and MB by the constraint method with 1000 parametric-bootstrap resamples
each, on a 1 M-token Zipf text (goal: under 10 s on 2 cores).

    python bench/words_speed.py             # 200 MB (word_tokenize alone takes minutes)
    python bench/words_speed.py --quick     # 20 MB
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from probe.experiments.words.counting import count_stream
from probe.experiments.words.synthetic_texts import zipf_text
from probe.experiments.words.tokenizer import TokenizerOptions

OPTIONS = TokenizerOptions()
PATTERN = OPTIONS.pattern
BYTES_PER_TOKEN = 6.7  # of the synthetic text, measured


def make_text(path: Path, n_bytes: int, seed: int = 0) -> Path:
    if path.exists() and path.stat().st_size >= n_bytes * 0.98:
        return path
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for piece in zipf_text(int(n_bytes / BYTES_PER_TOKEN), rng=seed):
            fh.write(piece)
    tmp.replace(path)
    return path


def probe_count(path: Path, jobs: int) -> dict[str, int]:
    with open(path, "rb") as fh:
        return count_stream(fh, OPTIONS, jobs=jobs).counts


def counter_findall(path: Path) -> collections.Counter[str]:
    return collections.Counter(re.findall(PATTERN, path.read_text(encoding="utf-8").lower()))


def peak_rss_mb(method: str, path: Path, jobs: int) -> float:
    """Max RSS of a fresh child process that runs one method on ``path``."""
    out = subprocess.run([sys.executable, __file__, "--child", method, "--file", str(path), "--jobs", str(jobs)],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_fits(n_tokens: int = 1_000_000, n_resamples: int = 1000) -> tuple[float, float, int]:
    from probe.analysis.words.bootstrap import with_bootstrap
    from probe.analysis.words.fits import energy_levels, fit_occupation

    rng = np.random.default_rng(1)
    p = 1.0 / np.arange(1, 50_001)
    levels = energy_levels(rng.multinomial(n_tokens, p / p.sum()))
    t = time.perf_counter()
    for model in ("be", "mb"):
        fit = fit_occupation(levels, model)
        fit = with_bootstrap(levels, fit, n_resamples=n_resamples, rng=2)
    fits_s = time.perf_counter() - t
    from probe.analysis.words.verdict import analyze_counts

    t = time.perf_counter()
    analyze_counts(np.repeat(levels.counts, 1), n_resamples=n_resamples, rng=3)
    return fits_s, time.perf_counter() - t, levels.n_types


def timed_print(name: str, fn):  # type: ignore[no-untyped-def]
    t, out = timed(fn)
    print(f"  {name}: {t:.2f} s", flush=True)
    return t, out


def nltk_rows(path: Path, base: dict[str, int], *, skip_word_tokenize: bool) -> list[tuple[str, float, object]]:
    import nltk

    tokens = re.findall(PATTERN, path.read_text(encoding="utf-8").lower())
    t_fd, fd = timed_print("nltk FreqDist", lambda: nltk.FreqDist(tokens))
    rows: list[tuple[str, float, object]] = [("nltk FreqDist (ready token list)", t_fd, dict(fd) == base)]
    if not skip_word_tokenize:
        # Line by line with preserve_line: the Treebank rules without Punkt (no data download), and
        # inputs small enough for nltk's 5 s regular-expression time limit.
        text = path.read_text(encoding="utf-8")
        t_wt, wt = timed_print("word_tokenize", lambda: nltk.FreqDist(
            tok for line in text.splitlines() for tok in nltk.word_tokenize(line, preserve_line=True)))
        rows.append(("nltk word_tokenize + FreqDist", t_wt, f"other rules: {wt.N() / 1e6:.2f} M tokens"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 MB instead of 200 MB")
    ap.add_argument("--mb", type=float, default=None, help="text size in MB (overrides --quick)")
    ap.add_argument("--jobs", type=int, default=2, help="probe counting threads (default 2)")
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "probe-bench-words")
    ap.add_argument("--skip-word-tokenize", action="store_true", help="skip the slowest peer")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        (probe_count if args.child == "probe" else lambda p, j: counter_findall(p))(args.file, args.jobs)
        # VmHWM is this process's own peak (ru_maxrss can carry the parent's peak over fork+exec).
        hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
        print(int(hwm.split()[1]) / 1024)
        return

    size_mb = args.mb or (20.0 if args.quick else 200.0)
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"# probe words speed, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    t, path = timed(lambda: make_text(args.dir / f"zipf-{size_mb:g}MB.txt", int(size_mb * 1e6)))
    small = make_text(args.dir / f"zipf-{size_mb / 10:g}MB.txt", int(size_mb * 1e5), seed=1)
    print(f"text: {path} ({path.stat().st_size / 1e6:.1f} MB, made in {t:.1f} s)")

    t_base, base = timed_print("Counter(findall)", lambda: counter_findall(path))
    n_tok = sum(base.values())
    print(f"{n_tok / 1e6:.2f} M tokens, {len(base)} types")
    rows = [("Counter(re.findall)", t_base, True)]
    t_probe, ours = timed_print("probe", lambda: probe_count(path, args.jobs))
    rows.append((f"probe count_stream (jobs={args.jobs})", t_probe, ours == base))
    if args.jobs != 1:
        t1, ours1 = timed_print("probe jobs=1", lambda: probe_count(path, 1))
        rows.append(("probe count_stream (jobs=1)", t1, ours1 == base))
    try:
        rows += nltk_rows(path, base, skip_word_tokenize=args.skip_word_tokenize)
    except ImportError:
        print("nltk not installed: pip install 'probe[bench]'")
    from sklearn.feature_extraction.text import CountVectorizer

    def vectorize() -> dict[str, int]:
        cv = CountVectorizer(token_pattern=PATTERN, lowercase=True)
        m = cv.fit_transform([path.read_text(encoding="utf-8")])
        return dict(zip(cv.get_feature_names_out(), m.toarray()[0].tolist(), strict=True))

    t_cv, cv_counts = timed_print("CountVectorizer", vectorize)
    rows.append(("sklearn CountVectorizer", t_cv, cv_counts == base))

    print("\n| method | time (s) | Mtok/s | vs Counter | identical counts |\n|---|---|---|---|---|")
    for name, t, same in rows:
        print(f"| {name} | {t:.2f} | {n_tok / t / 1e6:.2f} | {t_base / t:.2f}x | {same} |")
    mem = {m: (peak_rss_mb(m, small, args.jobs), peak_rss_mb(m, path, args.jobs)) for m in ("probe", "counter")}
    print(f"\npeak RSS (MB) at {size_mb / 10:g} MB -> {size_mb:g} MB of text: "
          + "; ".join(f"{m} {a:.0f} -> {b:.0f}" for m, (a, b) in mem.items()))

    fits_s, full_s, n_types = bench_fits()
    print(f"\nBE + MB constraint fits with 1000 parametric-bootstrap resamples each, 1 M tokens "
          f"({n_types} types): {fits_s:.2f} s; the whole analysis (all estimators, Zipf/ZM, powerlaw, verdict): "
          f"{full_s:.2f} s")


if __name__ == "__main__":
    main()
