"""Batch mode at half price: provider batch jobs (OpenAI Batch API, Gemini batch mode) through the cassette.

A cassette miss in batch mode becomes a *pending* entry in the cassette's batches journal
(:mod:`probe.batch.journal`); :func:`settle` submits pending entries as batch jobs
(:mod:`probe.batch.submit`: grouped by provider and model, the cassette key as ``custom_id`` /
request metadata, split at the documented limits, the intent recorded before anything is
uploaded), collects finished ones into normal cassette entries (:mod:`probe.batch.collect`) and
re-queues what came back without an answer. The journal survives the process: any later run
collects. Back-ends: :mod:`probe.batch.openai_jobs`, :mod:`probe.batch.gemini_jobs` (limits and
prices checked there). :mod:`probe.batch.status` reads the journals for ``probe batch status``.
"""

from probe.batch.journal import MAX_ATTEMPTS, Journal, journal_path
from probe.batch.settle import BatchReport, settle
from probe.batch.status import batch_summary, status_lines

__all__ = ["MAX_ATTEMPTS", "BatchReport", "Journal", "batch_summary", "journal_path", "settle", "status_lines"]
