"""A study manifest (``probe study manifest.toml``): one TOML file, validated once, with file:line:field errors.

::

    [study]
    name = "aerts2025-bell"          # the default study folder is runs/study-<name>
    experiment = "bell"              # any key of probe.protocol.STUDIES

    [settings]                       # fixed for every cell (Settings fields, plus cassette / base_url)
    trials = 81
    seed = 2025

    [axes]                           # the full grid: every combination of every list
    prompt = ["prompt-exploratory.toml", "prompt-neutral.toml"]
    temperature = [0.0, 1.0]
    path = {glob = "checkpoints/*.safetensors"}    # a glob, sorted, relative to the manifest

    [zip]                            # paired axes: equal-length lists that vary together (times [axes])
    model = ["embed:minilm", "hf:gemma-3-270m"]
    cassette = ["../../cassettes/a.jsonl", "../../cassettes/b.jsonl"]

    [[exclude]]                      # drop every cell that matches all the keys given
    model = "hf:gemma-3-270m"
    temperature = 0.0

    [[cells]]                        # extra cells as they are, e.g. people: a counts file is a "model" row
    experiment = "bell-counts"
    counts = "human.csv"
    label = "humans (N = 81)"

Relative paths (any string that names an existing file or folder next to the manifest,
and every path-typed setting) are resolved against the manifest's folder, so a manifest
runs from anywhere. Errors are :class:`~probe.errors.ConfigError` with one line
``FILE:LINE: FIELD: what is wrong`` and a hint.
"""

from __future__ import annotations

import dataclasses
import glob as globlib
import hashlib
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.errors import ConfigError
from probe.protocol import STUDIES, get_study

CELL_HOW = ("cassette", "base_url")
"""How fields a cell may set (each cell its own cassette or endpoint); all other How fields are study-wide."""

SECTIONS = ("study", "settings", "axes", "zip", "exclude", "cells")


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated manifest (cells are built by :func:`probe.sweep.cells.build_cells`)."""

    path: Path
    text: str
    name: str
    experiment: str
    settings: dict[str, Any]
    axes: dict[str, list[Any]]
    zipped: dict[str, list[Any]]
    exclude: list[dict[str, Any]]
    extra: list[dict[str, Any]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def where(self, section: str, key: str | None = None, index: int = 0) -> str:
        """``FILE:LINE`` of a key (the section header when the key is not found)."""
        return f"{self.path}:{locate(self.text, section, key, index)}"


def locate(text: str, section: str, key: str | None = None, index: int = 0) -> int:
    """The 1-based line of ``key`` in the ``index``-th ``[section]`` / ``[[section]]`` block (1 if not found)."""
    current, seen, header_line = None, -1, 1
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?", line)
        if m:
            current = m.group(1)
            if current == section:
                seen += 1
                if seen == index:
                    header_line = n
            continue
        if current == section and seen == index and key is not None and re.match(rf"^\"?{re.escape(key)}\"?\s*=", line):
            return n
    return header_line


def error(manifest: Manifest | tuple[Path, str], section: str, key: str | None, message: str, *,
          index: int = 0, field: str | None = None, hint: str | None = None) -> ConfigError:
    """A one-line manifest error: ``FILE:LINE: FIELD: message``."""
    path, text = (manifest.path, manifest.text) if isinstance(manifest, Manifest) else manifest
    line = locate(text, section, key, index)
    name = field or (section if key is None else f"{section}.{key}")
    return ConfigError(f"{path}:{line}: {name}: {message}", hint=hint)


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest (structure, names and types; cells are checked when built)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the study manifest ({exc.strerror or exc})",
                          hint="give the path of a .toml manifest") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})", hint="fix the syntax at the line named") from exc
    src = (path, text)
    for key in doc:
        if key not in SECTIONS:
            raise error(src, key, None, "unknown section", field=key, hint=f"sections: {', '.join(SECTIONS)}")
    head = doc.get("study") or {}
    if not isinstance(head, dict):
        raise error(src, "study", None, "must be a table", hint="write [study] with experiment = \"bell\"")
    experiment = head.get("experiment")
    if not isinstance(experiment, str) or experiment not in STUDIES:
        raise error(src, "study", "experiment", f"unknown experiment {experiment!r}" if experiment else "missing",
                    hint=f"known: {', '.join(sorted(STUDIES))}")
    for key in head:
        if key not in ("name", "experiment"):
            raise error(src, "study", key, "unknown key", hint="[study] takes name and experiment")
    name = head.get("name") or path.stem
    if not isinstance(name, str) or not name.strip():
        raise error(src, "study", "name", "must be a non-empty string")
    manifest = Manifest(path=path, text=text, name=name, experiment=experiment,
                        settings=_table(src, doc, "settings"), axes=_table(src, doc, "axes"),
                        zipped=_table(src, doc, "zip"), exclude=_tables(src, doc, "exclude"),
                        extra=_tables(src, doc, "cells"))
    base = path.resolve().parent
    fields = setting_types(experiment)
    for key, value in manifest.settings.items():
        _check_name(manifest, "settings", key, fields, experiment)
        manifest.settings[key] = _resolve(value, base, _hint(fields, key))
        _check_value(manifest, "settings", key, manifest.settings[key], fields.get(key))
    for section, table in (("axes", manifest.axes), ("zip", manifest.zipped)):
        for key, value in table.items():
            _check_name(manifest, section, key, fields, experiment)
            values = _axis_values(manifest, section, key, value, base)
            if key in manifest.settings:
                raise error(manifest, section, key, "is also fixed in [settings]", hint="keep it in one place")
            table[key] = [_resolve(v, base, _hint(fields, key)) for v in values]
            for v in table[key]:
                _check_value(manifest, section, key, v, fields.get(key))
    overlap = set(manifest.axes) & set(manifest.zipped)
    if overlap:
        key = sorted(overlap)[0]
        raise error(manifest, "zip", key, "is also an axis in [axes]", hint="an axis is either crossed or zipped")
    lengths = {k: len(v) for k, v in manifest.zipped.items()}
    if len(set(lengths.values())) > 1:
        key = max(lengths, key=lambda k: lengths[k])
        raise error(manifest, "zip", key, f"zipped lists differ in length ({lengths})",
                    hint="[zip] lists vary together, so they need the same length")
    for i, rule in enumerate(manifest.exclude):
        for key in rule:
            if key not in manifest.axes and key not in manifest.zipped:
                raise error(manifest, "exclude", key, "not an axis", index=i, field=f"exclude[{i}].{key}",
                            hint=f"axes: {', '.join([*manifest.axes, *manifest.zipped]) or 'none'}")
    for i, cell in enumerate(manifest.extra):
        exp = cell.get("experiment", experiment)
        if exp not in STUDIES:
            raise error(manifest, "cells", "experiment", f"unknown experiment {exp!r}", index=i,
                        field=f"cells[{i}].experiment", hint=f"known: {', '.join(sorted(STUDIES))}")
        cell_fields = setting_types(exp)
        for key, value in list(cell.items()):
            if key == "experiment":
                continue
            if key not in cell_fields and key not in CELL_HOW:
                raise error(manifest, "cells", key, f"unknown setting of {exp}", index=i, field=f"cells[{i}].{key}",
                            hint=f"known: {', '.join(sorted(cell_fields))}")
            cell[key] = _resolve(value, base, _hint(cell_fields, key))
            _check_value(manifest, "cells", key, cell[key], cell_fields.get(key), index=i, field=f"cells[{i}].{key}")
    return manifest


def setting_types(experiment: str) -> dict[str, Any]:
    """Field name -> type hint of the experiment's Settings."""
    settings_type = get_study(experiment).settings_type
    hints = typing.get_type_hints(settings_type)
    return {f.name: hints.get(f.name) for f in dataclasses.fields(settings_type)}


def _table(src: tuple[Path, str], doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise error(src, name, None, "must be a table", hint=f"write [{name}] followed by key = value lines")
    return dict(value)


def _tables(src: tuple[Path, str], doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = doc.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise error(src, name, None, "must be an array of tables", hint=f"write [[{name}]] blocks")
    return [dict(v) for v in value]


def _check_name(manifest: Manifest, section: str, key: str, fields: dict[str, Any], experiment: str) -> None:
    if key not in fields and key not in CELL_HOW:
        raise error(manifest, section, key, f"unknown setting of {experiment}",
                    hint=f"known: {', '.join(sorted([*fields, *CELL_HOW]))}")


def _axis_values(manifest: Manifest, section: str, key: str, value: Any, base: Path) -> list[Any]:
    if isinstance(value, dict) and set(value) == {"glob"} and isinstance(value["glob"], str):
        pattern = value["glob"]
        found = sorted(globlib.glob(str(base / pattern)))
        if not found:
            raise error(manifest, section, key, f"glob {pattern!r} matches nothing under {base}",
                        hint="check the pattern; it is relative to the manifest's folder")
        return found
    if not isinstance(value, list):
        raise error(manifest, section, key, f"an axis is a list of values, got {type(value).__name__} {value!r}",
                    hint=f"write {key} = [...] or {key} = {{glob = \"...\"}}, or move it to [settings]")
    if not value:
        raise error(manifest, section, key, "empty list: the grid has no cells", hint="give at least one value")
    return list(value)


def _hint(fields: dict[str, Any], key: str) -> Any:
    """The field's type hint; a cassette is a path (resolved against the manifest's folder even before it exists)."""
    return Path if key == "cassette" else fields.get(key)


def _resolve(value: Any, base: Path, hint: Any) -> Any:
    """Relative paths against the manifest's folder (path-typed settings always; other strings if they exist)."""
    if isinstance(value, list):
        return [_resolve(v, base, None) for v in value]
    if not isinstance(value, str) or not value or ":" in value.split("/")[0] or value == "-":
        return value
    candidate = base / value
    if Path(value).is_absolute():
        return value
    if _is_path_hint(hint) or candidate.exists():
        return str(candidate.resolve()) if candidate.exists() else str(candidate)
    return value


def _is_path_hint(hint: Any) -> bool:
    return hint is Path or (isinstance(hint, types.UnionType) and Path in typing.get_args(hint))


def type_problem(value: Any, hint: Any) -> str | None:
    """Why ``value`` cannot be the field's type (``None`` when it can, or the hint is not checked)."""
    if hint is None or hint is Any:
        return None
    origin = typing.get_origin(hint)
    if isinstance(hint, types.UnionType) or origin is typing.Union:
        args = typing.get_args(hint)
        problems = [type_problem(value, a) for a in args]
        return None if any(p is None for p in problems) else \
            f"expected {' or '.join(_name(a) for a in args)}, got {_name(type(value))} {value!r}"
    if hint is type(None):
        return None if value is None else "expected nothing"
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        return None if value in choices else f"expected one of {', '.join(map(str, choices))}, got {value!r}"
    if hint is bool:
        return None if isinstance(value, bool) else f"expected true or false, got {_name(type(value))} {value!r}"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else \
            f"expected a whole number, got {_name(type(value))} {value!r}"
    if hint is float:
        return None if isinstance(value, int | float) and not isinstance(value, bool) else \
            f"expected a number, got {_name(type(value))} {value!r}"
    if hint is str or _is_path_hint(hint):
        return None if isinstance(value, str) else f"expected a string, got {_name(type(value))} {value!r}"
    if origin is tuple or hint is tuple:
        return None if isinstance(value, list) else f"expected a list, got {_name(type(value))} {value!r}"
    if dataclasses.is_dataclass(hint):
        return None if isinstance(value, dict) else f"expected a table, got {_name(type(value))} {value!r}"
    return None


def _name(t: Any) -> str:
    return {int: "integer", float: "number", str: "string", bool: "boolean", list: "list", dict: "table",
            type(None): "none"}.get(t, getattr(t, "__name__", str(t)))


def _check_value(manifest: Manifest, section: str, key: str, value: Any, hint: Any, *, index: int = 0,
                 field: str | None = None) -> None:
    problem = type_problem(value, hint) if key not in CELL_HOW else (
        None if isinstance(value, str) else f"expected a string, got {_name(type(value))} {value!r}")
    if problem:
        raise error(manifest, section, key, problem, index=index, field=field,
                    hint="fix the value's type in the manifest")


__all__ = ["CELL_HOW", "Manifest", "error", "load_manifest", "locate", "setting_types", "type_problem"]
