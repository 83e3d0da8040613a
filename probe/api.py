"""The Python API: every CLI command as one call with the CLI's defaults.

::

    import probe
    r = probe.bell(model="sim:quantum", mode="exact")         # -> BellResult
    r.S_odd, r.to_frame()
    r = probe.words(["story.txt"])                             # -> WordsResult
    r = probe.entangle.lora("adapter/")                        # -> EntangleResult
    r = probe.quantum.power(gate="CNOT")                       # -> PowerResult
    probe.load_run("runs/bell-sim-quantum-...")                # any run folder back as its typed result

Keyword arguments are split by name: fields of the study's ``Settings`` say what
is studied, fields of :class:`~probe.protocol.How` (``out``, ``cassette``,
``cassette_mode``, ``concurrency``, ``max_cost``, ``progress``, ``report`` ...) how
it is run. ``report=True`` (the default) renders report.md, tables and figures
from the run folder afterwards, as the CLI does.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from probe.errors import ConfigError
from probe.protocol import How, Plan, Result, get_study
from probe.runs import load_run


def split_arguments(experiment: str, kwargs: dict[str, Any]) -> tuple[Any, How]:
    """Build the study's Settings and a How from keyword arguments (unknown names are an error)."""
    study = get_study(experiment)
    setting_names = {f.name for f in dataclasses.fields(study.settings_type)}
    how_names = {f.name for f in dataclasses.fields(How)}
    unknown = sorted(set(kwargs) - setting_names - how_names)
    if unknown:
        raise ConfigError(f"{experiment}: unknown argument(s) {', '.join(unknown)}",
                          hint=f"settings: {', '.join(sorted(setting_names))}; how: {', '.join(sorted(how_names))}")
    settings = study.settings_type(**{k: v for k, v in kwargs.items() if k in setting_names})
    how_kw = {k: v for k, v in kwargs.items() if k in how_names}
    for path_field in ("out", "cassette", "prices"):
        if isinstance(how_kw.get(path_field), str):
            how_kw[path_field] = Path(how_kw[path_field])
    return settings, How(**how_kw)


def run_study(experiment: str, settings: Any, how: How | None = None) -> Result:
    """Run a study with its settings and render its report when ``how.report`` (the CLI does the same)."""
    how = how or How()
    result = get_study(experiment).run(settings, how)
    if how.report and result.path is not None:
        from probe.report import render_run

        render_run(result.path)
    return result


def plan_study(experiment: str, **kwargs: Any) -> Plan:
    """What a study would do (calls, cost range), without doing it."""
    settings, how = split_arguments(experiment, kwargs)
    return get_study(experiment).plan(settings, how)


def call(experiment: str, **kwargs: Any) -> Result:
    settings, how = split_arguments(experiment, kwargs)
    return run_study(experiment, settings, how)


def bell(model: str = "embed:minilm", **kwargs: Any) -> Any:
    """A CHSH study of a conceptual combination (``probe bell``); ``counts=PATH`` analyses counts from people."""
    if "counts" in kwargs:
        return call("bell-counts", **kwargs)
    return call("bell", model=model, **kwargs)


def words(inputs: Any = (), **kwargs: Any) -> Any:
    """Bose-Einstein vs Maxwell-Boltzmann fits of word frequencies (``probe words``).

    ``inputs``: paths of texts or folders; ``generate=True`` with ``model=...`` asks a model for stories.
    """
    if kwargs.pop("generate", False):
        return call("words-generate", **kwargs)
    if isinstance(inputs, str | Path):
        inputs = (inputs,)
    return call("words", inputs=tuple(str(i) for i in inputs), **kwargs)


__all__ = ["bell", "call", "load_run", "plan_study", "run_study", "split_arguments", "words"]
