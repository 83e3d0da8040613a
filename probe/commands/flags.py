"""Library parameter names -> CLI flags, in one place.

Studies validate their settings with :class:`probe.errors.SettingError`, which names
the parameter as the library spells it (``trials = 0: ...``). The CLI prints the
flag the user typed instead (``--trials 0: ...``). Most flags are the parameter
with ``-`` for ``_``; the exceptions are listed here.
"""

from __future__ import annotations

from probe.errors import SettingError

RENAMED: dict[str, str] = {
    "timeout_s": "--timeout",
    "n_resamples": "--bootstrap",
    "bootstrap": "--bootstrap-kind",
    "by_file_resamples": "--by-file-bootstrap",
    "capacity_starts": "--starts",
    "cassette_mode": "--replay/--record",
    "counts": "--counts",
    "n_stories": "--n",
    "batch_wait": "--wait",
    "batch_poll_s": "--poll",
}


BY_COMMAND: dict[str, dict[str, str]] = {
    "words": {"workers": "--jobs"},
    "quantum": {"depths": "--depth", "rates": "--measure-rate", "run_a": "RUN_A", "run_b": "RUN_B",
                "embeddings": "EMBEDDINGS", "labels": "LABELS", "cv_correction": "--no-cv-correction",
                "double": "--no-double", "prioritized": "--no-per"},
}


def flag_for(param: str, command: str | None = None) -> str:
    special = BY_COMMAND.get(command or "", {})
    return special.get(param) or RENAMED.get(param, "--" + param.replace("_", "-"))


def flag_message(exc: SettingError, command: str | None = None) -> str:
    """The error line in CLI terms: ``--trials 0: need at least 1 answer per context (hint: ...)``."""
    value = "" if exc.value is None else f" {exc.value}"
    text = f"{flag_for(exc.param, command)}{value}: {exc.reason}"
    return f"{text} (hint: {exc.hint})" if exc.hint else text


__all__ = ["BY_COMMAND", "RENAMED", "flag_for", "flag_message"]
