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

Designs of any rank (same schema, optional keys)::

    system = "cyclic"                  # "cyclic" (checked to close) or "general" (any pairs)
    modelled_on = "..."                # the study the design imitates (free text, reported)
    contexts = [["A1", "B1"], ["A2", "B1"], ["A2", "B2"], ...]   # [first, second] per context
    minus_on = "A1B1"                  # optional: context of the signed S (default: the first)
    [measurements.A1]  plus = "..."  minus = "..."   # any names: letters, digits, ', _ and -

Without ``contexts`` the design is the rank-4 CHSH design above (A, A', B, B'), unchanged. A
context is named by its two measurements written together ("A2B1"). Every problem is reported as
``file:line: field: what is wrong`` (the line where the field starts) with the fix.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.analysis.bell.chsh import CONTEXTS
from probe.analysis.bell.system import ContextSystem, cycle_order, make_system
from probe.errors import ConfigError, DataError
from probe.prompts import resolve_prompt_file

MEASUREMENTS = ("A", "A'", "B", "B'")
CHSH_PAIRS: tuple[tuple[str, str], ...] = (("A", "B"), ("A", "B'"), ("A'", "B"), ("A'", "B'"))
MAX_RANK = 10  # 2n random variables: the CbD coupling LP holds 2**20 columns at most
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9'_-]*")


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
    contexts: tuple[str, ...] = CONTEXTS
    """Context names in study order (rank-4 CHSH: AB, AB', A'B, A'B')."""
    pairs: tuple[tuple[str, str], ...] = CHSH_PAIRS
    """(first, second) measurement of each context."""
    system_kind: str = "chsh"
    """"chsh" (the rank-4 design), "cyclic" (rank n) or "general" (any pairwise contexts)."""
    modelled_on: str = ""

    @property
    def rank(self) -> int:
        return len(self.contexts)

    def context_system(self) -> ContextSystem:
        """The structure of the design for :mod:`probe.analysis.bell` (contents in first-seen order)."""
        contents = list(dict.fromkeys(m for pair in self.pairs for m in pair))
        if self.system_kind == "chsh":
            contents = list(MEASUREMENTS)
        return make_system(contents, [list(p) for p in self.pairs], names=list(self.contexts))

    def sentence_for(self, x: str, y: str, a: int, b: int) -> str:
        first = self.measurements[x][0 if a == 1 else 1]
        second = self.measurements[y][0 if b == 1 else 1]
        return self.sentence.format(first=first, second=second)

    def cells(self, context: str) -> list[tuple[str, str, int, int, str]]:
        """The four (x, y, a, b, sentence) of a context in cell order ++, +-, -+, --."""
        x, y = self.pairs[self.contexts.index(context)]
        return [(x, y, a, b, self.sentence_for(x, y, a, b)) for a in (1, -1) for b in (1, -1)]

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "title": self.title, "concept": self.concept, "reference": self.reference,
               "sentence": self.sentence, "minus_on": self.minus_on,
               "measurements": {k: {"plus": v[0], "minus": v[1]} for k, v in self.measurements.items()},
               "system": self.system, "labels": list(self.labels), "option_format": self.option_format,
               "templates": list(self.templates), "path": self.path, "sha256": self.sha256}
        if self.system_kind != "chsh":  # the rank-4 block stays exactly as it was
            out.update(rank=self.rank, system_kind=self.system_kind, modelled_on=self.modelled_on,
                       contexts=[list(p) for p in self.pairs], context_names=list(self.contexts))
        return out


def resolve_prompt(name_or_path: str) -> Path:
    """A design file from a path, or a bare name looked up among the shipped prompts."""
    return resolve_prompt_file(name_or_path, param="--prompt",
                               shipped=("animal-acts", "vehicle-moves", "instrument-sounds", "animal-acts-rank6",
                                        "snow-queen-rank6"))


def _line(text: str, key: str) -> int:
    """1-based line where ``key`` is first assigned or opened as a table (1 if not found)."""
    pattern = re.compile(rf"^\s*(\[+\s*)?{re.escape(key)}\b")
    for i, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return i
    return 1


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
    text = raw.decode("utf-8")
    meas = _require(data, "measurements", "", dict, src)
    if "contexts" in data:
        kind, names, pairs, minus_on = _contexts(data, meas, src, text)
    else:
        kind, names, pairs = "chsh", CONTEXTS, CHSH_PAIRS
        minus_on = data.get("minus_on", "AB")
        if minus_on not in CONTEXTS:
            raise ConfigError(f"{src}: minus_on: {minus_on!r} is not a context",
                              hint=f"use one of {', '.join(CONTEXTS)}")
        extra = set(meas) - set(MEASUREMENTS)
        if extra:
            raise ConfigError(f"{src}: measurements: unknown setting(s) {', '.join(sorted(extra))}",
                              hint='settings are A, "A\'", B, "B\'" (quote the primed ones in TOML), or list '
                                   "contexts = [[first, second], ...] for a design of another rank")
    order = MEASUREMENTS if kind == "chsh" else tuple(dict.fromkeys(m for p in pairs for m in p))
    measurements: dict[str, tuple[str, str]] = {}
    for m in order:
        entry = _require(meas, m, "measurements.", dict, src)
        plus = _require(entry, "plus", f"measurements.{m}.", str, src).strip()
        minus = _require(entry, "minus", f"measurements.{m}.", str, src).strip()
        if not plus or not minus or plus.casefold() == minus.casefold():
            raise ConfigError(f"{src}: measurements.{m}: plus and minus must be two different non-empty exemplars")
        measurements[m] = (plus, minus)
    prompt = _require(data, "prompt", "", dict, src)
    modelled_on = data.get("modelled_on", "")
    if not isinstance(modelled_on, str):
        raise ConfigError(f"{src}:{_line(text, 'modelled_on')}: modelled_on: expected a string")
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
        sha256=hashlib.sha256(raw).hexdigest(), contexts=tuple(names), pairs=tuple(pairs), system_kind=kind,
        modelled_on=modelled_on,
    )
    for c in design.contexts:
        cs = [s.casefold() for *_, s in design.cells(c)]
        if len(set(cs)) != 4:
            raise ConfigError(f"{src}: context {c}: the four sentences are not distinct")
    return design


def _contexts(data: dict[str, Any], meas: dict[str, Any], src: str,
              text: str) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], str]:
    """Validate ``contexts`` (and ``system``, ``minus_on``) of a design of any rank."""
    where = f"{src}:{_line(text, 'contexts')}"
    raw_contexts = data["contexts"]
    kind = data.get("system", "cyclic")
    if kind not in ("cyclic", "general"):
        raise ConfigError(f"{src}:{_line(text, 'system')}: system: {kind!r} is not a system kind",
                          hint='use "cyclic" (a closed cycle of contexts) or "general"')
    if not isinstance(raw_contexts, list) or len(raw_contexts) < 3:
        raise ConfigError(f"{where}: contexts: need a list of at least 3 [first, second] pairs")
    if len(raw_contexts) > MAX_RANK:
        raise ConfigError(f"{where}: contexts: {len(raw_contexts)} contexts; the CbD coupling LP holds designs of "
                          f"rank {MAX_RANK} at most (2**{2 * MAX_RANK} columns)", hint="use fewer contexts")
    pairs = []
    for i, c in enumerate(raw_contexts):
        if (not isinstance(c, list) or len(c) != 2 or not all(isinstance(x, str) for x in c)):
            raise ConfigError(f"{where}: contexts[{i}]: expected [first, second] (two measurement names), got {c!r}")
        for m in c:
            if m not in meas:
                raise ConfigError(f"{where}: contexts[{i}]: unknown measurement {m!r}",
                                  hint=f"define [measurements.{m}] or use one of {', '.join(meas)}")
        pairs.append((c[0], c[1]))
    for m in meas:
        if not _NAME.fullmatch(m):
            raise ConfigError(f"{src}:{_line(text, 'measurements')}: measurements.{m}: names are letters, digits, "
                              "', _ and -")
    unused = [m for m in meas if not any(m in p for p in pairs)]
    if unused:
        raise ConfigError(f"{where}: contexts: measurement(s) {', '.join(unused)} are in no context")
    names = tuple(a + b for a, b in pairs)
    try:
        system = make_system(list(dict.fromkeys(m for p in pairs for m in p)), [list(p) for p in pairs],
                             names=list(names))
    except DataError as exc:
        raise ConfigError(f"{where}: contexts: {exc.message}", hint=exc.hint) from None
    if kind == "cyclic" and cycle_order(system) is None:
        counts = {m: sum(m in p for p in pairs) for m in system.contents}
        odd = [f"{m} ({k}x)" for m, k in counts.items() if k != 2]
        detail = f"measurement(s) {', '.join(odd)} not in exactly two contexts" if odd else "the contexts form " \
            "more than one cycle"
        raise ConfigError(f"{where}: contexts: the cycle does not close: {detail}",
                          hint='each measurement must be in exactly two contexts, all in one cycle; or set '
                               'system = "general"')
    minus_on = data.get("minus_on", names[0])
    if minus_on not in names:
        raise ConfigError(f"{src}:{_line(text, 'minus_on')}: minus_on: {minus_on!r} is not a context",
                          hint=f"use one of {', '.join(names)}")
    return kind, names, tuple(pairs), minus_on


def parse_contexts_spec(spec: str) -> ContextSystem:
    """``--contexts cyclic:N``: the cyclic system of rank N (contents Q1..QN, contexts Q1Q2 ... QNQ1)."""
    from probe.analysis.bell.system import cyclic_system

    kind, _, rank = spec.partition(":")
    if kind.strip() != "cyclic" or not rank.strip().isdigit():
        raise ConfigError(f"--contexts {spec}: use cyclic:N (e.g. cyclic:6)",
                          hint="for other systems pass --system FILE.toml")
    n = int(rank)
    if not 3 <= n <= MAX_RANK:
        raise ConfigError(f"--contexts {spec}: rank must be between 3 and {MAX_RANK}",
                          hint=f"the CbD coupling LP holds 2**{2 * MAX_RANK} columns at most")
    return cyclic_system(n)


def load_system_file(path: str) -> ContextSystem:
    """``--system FILE.toml``: measurements and contexts of any size (no prompt); errors name file and line."""
    from probe.analysis.bell.system import MAX_CONTENTS

    p = resolve_prompt_file(path, param="--system", shipped=("peres-mermin",))
    src = str(p)
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{src}: file not found", hint="see prompts/peres-mermin.toml for the format") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{src}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: invalid TOML: {exc}", hint="check quotes and brackets on that line") from None
    meas = data.get("measurements")
    if isinstance(meas, dict):
        meas = list(meas)
    if not isinstance(meas, list) or not meas or not all(isinstance(m, str) and _NAME.fullmatch(m) for m in meas):
        raise ConfigError(f"{src}:{_line(text, 'measurements')}: measurements: need a list of names "
                          "(letters, digits, ', _ and -)")
    if len(meas) > MAX_CONTENTS:
        raise ConfigError(f"{src}:{_line(text, 'measurements')}: measurements: {len(meas)} measurements; the LPs "
                          f"hold {MAX_CONTENTS} at most")
    contexts = data.get("contexts")
    where = f"{src}:{_line(text, 'contexts')}"
    if not isinstance(contexts, list) or not contexts:
        raise ConfigError(f"{where}: contexts: need a list of contexts, each a list of measurement names")
    for i, c in enumerate(contexts):
        if not isinstance(c, list) or not c or not all(isinstance(x, str) for x in c):
            raise ConfigError(f"{where}: contexts[{i}]: expected a list of measurement names, got {c!r}")
        unknown = [x for x in c if x not in meas]
        if unknown:
            raise ConfigError(f"{where}: contexts[{i}]: unknown measurement(s) {', '.join(unknown)}",
                              hint=f"measurements are {', '.join(meas)}")
    names = data.get("names")
    try:
        system = make_system(meas, contexts, names=names)
    except DataError as exc:
        raise ConfigError(f"{where}: contexts: {exc.message}", hint=exc.hint) from None
    if data.get("system") == "cyclic" and cycle_order(system) is None:
        raise ConfigError(f"{where}: contexts: the cycle does not close",
                          hint='each measurement must be in exactly two contexts of two; or set system = "general"')
    return system
