"""Streaming word counts: a text of any size is read in chunks, never whole.

How it is fast and exact
------------------------
1. Bytes are read in chunks (default 4 MiB) cut just after a newline (or, for very
   long lines, another ASCII whitespace), so no token and no UTF-8 sequence is split.
2. One ``bytes.translate`` maps every ASCII character that can never be part of a
   token to a space (and, on pure-ASCII chunks, folds A-Z to a-z).
3. pyarrow splits the chunk on ASCII whitespace and counts the distinct "pieces" in
   C++ (``ascii_split_whitespace`` + ``value_counts``), without a Python object per token.
4. Each distinct piece (tens of thousands, not millions) is tokenized once with the
   reference rules of :func:`probe.experiments.words.tokenizer.tokenize`.

Because separators never take part in a token, the counts (and their first-occurrence
order) are exactly those of ``Counter(tokenize(text))``; the tests check this.
Chunks are counted on a thread pool (pyarrow releases the GIL); memory stays at a few
chunks whatever the text size.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from probe.errors import ConfigError, DataError, MissingDependency
from probe.experiments.words.tokenizer import (
    GutenbergFilter,
    TokenizerOptions,
    resolve_pieces,
    separator_table,
)

CHUNK_BYTES = 4 << 20
_UTF8_BOM = b"\xef\xbb\xbf"
_SPACES = (b" ", b"\t", b"\r", b"\x0b", b"\x0c")


@dataclass(slots=True)
class StreamCounts:
    """Word counts of one stream, in first-occurrence order, with provenance."""

    name: str
    counts: dict[str, int]
    n_bytes: int
    sha256: str
    encoding: str
    flags: list[str] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return sum(self.counts.values())

    @property
    def n_types(self) -> int:
        return len(self.counts)


def check_encoding(encoding: str) -> str:
    """Return the codec's canonical name; refuse codecs that are not ASCII-compatible."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ConfigError(f"--encoding {encoding!r}: unknown encoding", hint="e.g. utf-8, latin-1, cp1252") from exc
    if " \n\taZ'-".encode(name, errors="replace") != b" \n\taZ'-":
        raise ConfigError(f"--encoding {encoding!r}: not ASCII-compatible, cannot be streamed",
                          hint=f"convert first: iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.txt")
    return name


def open_binary(path: Path | None) -> BinaryIO:
    """Open a file (``None`` = stdin) for reading bytes; gzip is detected by its magic number."""
    raw: BinaryIO = sys.stdin.buffer if path is None else open(path, "rb")  # noqa: SIM115 - caller closes
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def iter_chunks(stream: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield consecutive pieces of ``stream`` that each end just after a newline or other ASCII space.

    The concatenation of the pieces is the stream. A piece is cut at the last newline
    of a read if there is one in its second half, else at its last ASCII whitespace;
    a read with no whitespace at all is carried into the next one.
    """
    carry = b""
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        data = carry + block if carry else block
        cut = data.rfind(b"\n")
        if cut < len(data) // 2:
            cut = max(cut, *(data.rfind(s) for s in _SPACES))
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1:]
        yield data[: cut + 1]
    if carry:
        yield carry


def count_stream(
    stream: BinaryIO,
    options: TokenizerOptions,
    *,
    name: str = "<stream>",
    encoding: str = "utf-8",
    chunk_bytes: int = CHUNK_BYTES,
    jobs: int = 2,
    progress: Callable[[int], None] | None = None,
) -> StreamCounts:
    """Count the word tokens of a byte stream without holding it in memory.

    Parameters
    ----------
    stream : binary file object
        Read to its end; not closed.
    options : TokenizerOptions
        The token definition.
    name : str
        File name for error messages and provenance.
    encoding : str
        An ASCII-compatible text encoding (UTF-8 default; a UTF-8 BOM is skipped).
    chunk_bytes : int
        Bytes read at a time (default 4 MiB); memory use is about ``(jobs + 2) * chunk_bytes``.
    jobs : int
        Threads counting chunks in parallel (1 = in the calling thread).
    progress : callable, optional
        Called with the number of bytes just consumed.

    Returns
    -------
    StreamCounts
        ``counts`` equals ``Counter(tokenize(text, options))``, in the same order.

    Raises
    ------
    DataError
        If the bytes are not valid in ``encoding``; the message gives the byte offset.
    """
    enc = check_encoding(encoding)
    try:
        import pyarrow.compute  # noqa: F401 - the counting engine
    except ImportError as exc:
        raise MissingDependency("probe words needs pyarrow to count", hint="pip install pyarrow") from exc
    tables = (separator_table(options, ascii_input=True), separator_table(options, ascii_input=False))
    digest = hashlib.sha256()
    gutenberg = GutenbergFilter() if options.strip_gutenberg else None
    pieces: dict[str, int] = {}
    n_bytes = 0

    def chunks() -> Iterator[tuple[int, bytes]]:
        nonlocal n_bytes
        first = True
        for chunk in iter_chunks(stream, chunk_bytes=chunk_bytes):
            offset = n_bytes
            n_bytes += len(chunk)
            digest.update(chunk)
            if progress:
                progress(len(chunk))
            if first and enc == "utf-8" and chunk.startswith(_UTF8_BOM):
                chunk, offset = chunk[3:], offset + 3
            first = False
            if gutenberg is not None:
                chunk = gutenberg.feed(chunk)
            if chunk:
                yield offset, chunk
        if gutenberg is not None and (tail := gutenberg.finish()):
            yield n_bytes - len(tail), tail

    def work(item: tuple[int, bytes]) -> tuple[list[str], list[int]]:
        return _count_chunk(item[1], item[0], tables, enc, name)

    for values, counts in _map_ordered(work, chunks(), jobs):
        get = pieces.get
        for piece, count in zip(values, counts, strict=True):
            pieces[piece] = get(piece, 0) + count
    return StreamCounts(name=name, counts=resolve_pieces(pieces.items(), options), n_bytes=n_bytes,
                        sha256=digest.hexdigest(), encoding=enc)


def count_text(text: str, options: TokenizerOptions | None = None, *, jobs: int = 1) -> dict[str, int]:
    """Count the tokens of an in-memory text with the streaming engine (same result as ``Counter(tokenize(text))``)."""
    return count_stream(io.BytesIO(text.encode("utf-8")), options or TokenizerOptions(), jobs=jobs).counts


def _count_chunk(data: bytes, offset: int, tables: tuple[bytes, bytes], encoding: str,
                 name: str) -> tuple[list[str], list[int]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if data.isascii():
        data = data.translate(tables[0])
    else:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{name}: byte {offset + exc.start}: not valid {encoding} ({exc.reason})",
                hint="pass --encoding with the file's real encoding (e.g. latin-1, cp1252), or fix the file",
            ) from None
        if encoding != "utf-8":
            data = text.encode("utf-8")
        data = data.translate(tables[1])
    large = len(data) >= 2**31  # a single line of 2 GiB or more
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64 if large else np.int32))
    array = (pa.LargeStringArray if large else pa.StringArray).from_buffers(1, offsets, pa.py_buffer(data))
    counted = pc.value_counts(pc.ascii_split_whitespace(array).flatten())
    return counted.field(0).to_pylist(), counted.field(1).to_pylist()


def _map_ordered(fn: Callable[[tuple[int, bytes]], tuple[list[str], list[int]]],
                 items: Iterable[tuple[int, bytes]], jobs: int) -> Iterator[tuple[list[str], list[int]]]:
    """``map(fn, items)`` on ``jobs`` threads, in order, with at most ``2 * jobs`` chunks in flight."""
    if jobs <= 1:
        yield from map(fn, items)
        return
    pending: list[Future[tuple[list[str], list[int]]]] = []
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="probe-words") as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * jobs:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for f in pending:
                f.cancel()
