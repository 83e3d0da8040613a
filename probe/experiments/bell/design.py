"""Bell experiment definitions (``prompts/*.toml``): loading and schema validation.

Schema (version 1)::

    schema = 1
    name = "animal-acts"              # [a-z0-9-]+
    title = "The Animal Acts"
    concept = "The Animal Acts"       # the combination the respondent judges
    reference = "..."                 # optional
    sentence = "The {first} {second}" # how an exemplar pair becomes a sentence
    minus_on = "AB"                   # context carrying the CHSH minus sign

    [measurements.A]      plus = "Horse"   minus = "Bear"      # first concept, setting A
    [measurements."A'"]   plus = "Tiger"   minus = "Cat"       # first concept, setting A'
    [measurements.B]      plus = "Growls"  minus = "Whinnies"  # second concept, setting B
    [measurements."B'"]   plus = "Snorts"  minus = "Meows"     # second concept, setting B'

    [prompt]
    system = ""                        # optional system message ("" = none)
    labels = ["1", "2", "3", "4"]      # neutral option labels
    option_format = "{label}. {text}"
    templates = ["... {options} ... {concept} ..."]   # one or more paraphrases

Every problem is reported as ``file: field: what is wrong`` with the fix.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.analysis.bell.chsh import CONTEXTS
from probe.errors import ConfigError
from probe.prompts import resolve_prompt_file

MEASUREMENTS = ("A", "A'", "B", "B'")


@dataclass(frozen=True, slots=True)
class BellDesign:
    """A validated Bell experiment definition."""

    name: str
    title: str
    concept: str
    reference: str
    sentence: str
    minus_on: str
    measurements: dict[str, tuple[str, str]]
    """setting -> (exemplar for outcome +1, exemplar for outcome -1)."""
    system: str
    labels: tuple[str, ...]
    option_format: str
    templates: tuple[str, ...]
    path: str
    sha256: str

    def sentence_for(self, x: str, y: str, a: int, b: int) -> str:
        first = self.measurements[x][0 if a == 1 else 1]
        second = self.measurements[y][0 if b == 1 else 1]
        return self.sentence.format(first=first, second=second)

    def cells(self, context: str) -> list[tuple[str, str, int, int, str]]:
        """The four (x, y, a, b, sentence) of a context in cell order ++, +-, -+, --."""
        x = "A'" if context.startswith("A'") else "A"
        y = context[len(x):]
        return [(x, y, a, b, self.sentence_for(x, y, a, b)) for a in (1, -1) for b in (1, -1)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "concept": self.concept, "reference": self.reference,
                "sentence": self.sentence, "minus_on": self.minus_on,
                "measurements": {k: {"plus": v[0], "minus": v[1]} for k, v in self.measurements.items()},
                "system": self.system, "labels": list(self.labels), "option_format": self.option_format,
                "templates": list(self.templates), "path": self.path, "sha256": self.sha256}


def resolve_prompt(name_or_path: str) -> Path:
    """A design file from a path, or a bare name looked up among the shipped prompts."""
    return resolve_prompt_file(name_or_path, param="--prompt",
                               shipped=("animal-acts", "vehicle-moves", "instrument-sounds"))


def _require(data: dict[str, Any], key: str, where: str, kind: type, src: str) -> Any:
    if key not in data:
        raise ConfigError(f"{src}: {where}{key}: missing", hint="see prompts/animal-acts.toml for the format")
    value = data[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{src}: {where}{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def load_design(name_or_path: str) -> BellDesign:
    """Load and validate a Bell design; raise :class:`ConfigError` naming file and field."""
    path = resolve_prompt(name_or_path)
    src = str(path)
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{src}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: invalid TOML: {exc}", hint="check quotes and brackets on that line") from None
    schema = data.get("schema", 1)
    if schema != 1:
        raise ConfigError(f"{src}: schema: version {schema!r} is not supported", hint="use schema = 1")
    name = _require(data, "name", "", str, src)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ConfigError(f"{src}: name: {name!r} must be lowercase letters, digits and '-'")
    concept = _require(data, "concept", "", str, src).strip()
    if not concept:
        raise ConfigError(f"{src}: concept: empty")
    sentence = data.get("sentence", "The {first} {second}")
    if not isinstance(sentence, str) or "{first}" not in sentence or "{second}" not in sentence:
        raise ConfigError(f"{src}: sentence: must contain {{first}} and {{second}}")
    minus_on = data.get("minus_on", "AB")
    if minus_on not in CONTEXTS:
        raise ConfigError(f"{src}: minus_on: {minus_on!r} is not a context", hint=f"use one of {', '.join(CONTEXTS)}")
    meas = _require(data, "measurements", "", dict, src)
    extra = set(meas) - set(MEASUREMENTS)
    if extra:
        raise ConfigError(f"{src}: measurements: unknown setting(s) {', '.join(sorted(extra))}",
                          hint='settings are A, "A\'", B, "B\'" (quote the primed ones in TOML)')
    measurements: dict[str, tuple[str, str]] = {}
    for m in MEASUREMENTS:
        entry = _require(meas, m, "measurements.", dict, src)
        plus = _require(entry, "plus", f"measurements.{m}.", str, src).strip()
        minus = _require(entry, "minus", f"measurements.{m}.", str, src).strip()
        if not plus or not minus or plus.casefold() == minus.casefold():
            raise ConfigError(f"{src}: measurements.{m}: plus and minus must be two different non-empty exemplars")
        measurements[m] = (plus, minus)
    prompt = _require(data, "prompt", "", dict, src)
    labels = tuple(prompt.get("labels", ["1", "2", "3", "4"]))
    if len(labels) != 4 or len({str(x).casefold() for x in labels}) != 4 or not all(
            isinstance(x, str) and x.strip() for x in labels):
        raise ConfigError(f"{src}: prompt.labels: need 4 distinct non-empty strings, got {list(labels)}")
    option_format = prompt.get("option_format", "{label}. {text}")
    if not isinstance(option_format, str) or "{label}" not in option_format or "{text}" not in option_format:
        raise ConfigError(f"{src}: prompt.option_format: must contain {{label}} and {{text}}")
    templates = prompt.get("templates")
    if templates is None and "template" in prompt:
        templates = [prompt["template"]]
    if not isinstance(templates, list) or not templates:
        raise ConfigError(f"{src}: prompt.templates: need a list of at least one template")
    for i, t in enumerate(templates):
        if not isinstance(t, str) or "{options}" not in t:
            raise ConfigError(f"{src}: prompt.templates[{i}]: must be a string containing {{options}}")
        try:
            t.format(options="", concept="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"{src}: prompt.templates[{i}]: bad placeholder {exc}",
                              hint="only {options} and {concept} are filled in; write {{ }} for literal braces") from None
    system = prompt.get("system", "")
    if not isinstance(system, str):
        raise ConfigError(f"{src}: prompt.system: expected a string")
    design = BellDesign(
        name=name, title=str(data.get("title", concept)), concept=concept, reference=str(data.get("reference", "")),
        sentence=sentence, minus_on=minus_on, measurements=measurements, system=system, labels=labels,
        option_format=option_format, templates=tuple(templates), path=src,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
    for c in CONTEXTS:
        cs = [s.casefold() for *_, s in design.cells(c)]
        if len(set(cs)) != 4:
            raise ConfigError(f"{src}: context {c}: the four sentences are not distinct")
    return design
