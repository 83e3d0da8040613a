"""From a manifest to its cells: ``[axes]`` crossed (product), ``[zip]`` paired, ``[[exclude]]`` dropped,
``[[cells]]`` appended. Each cell is one study run: ``(experiment, settings, how)`` plus the axis values
that tell it apart (the columns of the study table).

Every cell is checked before anything runs: its Settings are built and validated, and its model
spec parsed, so a bad value in one cell is one line naming the manifest's file, line and field.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from probe.errors import ProbeError, SettingError
from probe.protocol import get_study
from probe.runs import slug
from probe.sweep.manifest import CELL_HOW, Manifest, error

API_PROVIDERS = ("openai", "gemini")
"""Cells whose model is one of these are bound by a rate limit: they run in the coordinating process."""

COMPUTE_PROVIDERS = ("hf", "embed", "gguf", "llama")
"""Local models: compute-bound cells (they go to a Dask cluster when one is given)."""


@dataclass(frozen=True)
class Cell:
    """One run of the study grid.

    ``settings`` are the full JSON-safe settings (``Settings.to_dict()``), ``how`` the per-cell
    How fields (``cassette``, ``base_url``), ``axes`` the values of the manifest's axes for this
    cell, ``kind`` ``"api"`` (rate-bound), ``"compute"`` (CPU/GPU-bound) or ``"light"`` (cheap).
    """

    id: str
    experiment: str
    settings: dict[str, Any]
    how: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, Any] = field(default_factory=dict)
    kind: str = "light"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "experiment": self.experiment, "settings": self.settings, "how": self.how,
                "axes": self.axes, "kind": self.kind}

    @property
    def model(self) -> str:
        """What answered: the model spec, or the counts file's label for people ("a model row")."""
        if "model" in self.settings and isinstance(self.settings["model"], str) and self.settings["model"]:
            return self.settings["model"]
        if self.experiment == "bell-counts":
            return f"counts:{self.settings.get('label', 'human')}"
        return ""


def build_cells(manifest: Manifest) -> list[Cell]:
    """Every cell of the manifest, in grid order (axes in the order written, last varying fastest)."""
    crossed = list(manifest.axes.items())
    grid = [dict(zip([k for k, _ in crossed], values, strict=True))
            for values in itertools.product(*(v for _, v in crossed))] if crossed else [{}]
    if manifest.zipped:
        n = len(next(iter(manifest.zipped.values())))
        pairs = [{k: v[i] for k, v in manifest.zipped.items()} for i in range(n)]
        grid = [{**g, **p} for g in grid for p in pairs]
    kept = [g for g in grid if not any(all(g.get(k) == v for k, v in rule.items()) for rule in manifest.exclude)]
    if not kept and not manifest.extra:
        raise error(manifest, "exclude", None, "every cell of the grid is excluded: the study has no cells",
                    field="exclude", hint="loosen the [[exclude]] rules")
    cells: list[Cell] = []
    position = {k: i for i, k in enumerate([*manifest.axes, *manifest.zipped])}
    for values in kept:
        raw = {**manifest.settings, **values}
        cells.append(_cell(manifest, manifest.experiment, raw, values, position, extra_index=None))
    for i, extra in enumerate(manifest.extra):
        raw = {**{k: v for k, v in extra.items() if k != "experiment"}}
        experiment = extra.get("experiment", manifest.experiment)
        if experiment == manifest.experiment:
            raw = {**manifest.settings, **raw}
        cells.append(_cell(manifest, experiment, raw, {}, position, extra_index=i))
    seen: dict[str, int] = {}
    for c in cells:
        seen[c.id] = seen.get(c.id, 0) + 1
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        raise error(manifest, "cells", None, f"two cells are the same run ({dup[0]})", field="cells",
                    hint="remove the duplicate value or [[cells]] block")
    return cells


def _cell(manifest: Manifest, experiment: str, raw: dict[str, Any], values: dict[str, Any],
          position: dict[str, int], *, extra_index: int | None) -> Cell:
    study = get_study(experiment)
    how = {k: raw.pop(k) for k in CELL_HOW if k in raw}

    def where(key: str) -> tuple[str, str, int, str]:
        if extra_index is not None and key in manifest.extra[extra_index]:
            return "cells", key, extra_index, f"cells[{extra_index}].{key}"
        for section, table in (("axes", manifest.axes), ("zip", manifest.zipped)):
            if key in table:
                i = table[key].index(values[key]) if key in values and values[key] in table[key] else 0
                return section, key, 0, f"{section}.{key}[{i}]"
        return "settings", key, 0, f"settings.{key}"

    try:
        settings = study.settings_type.from_dict(raw)
    except TypeError as exc:  # a value the dataclass cannot take
        raise error(manifest, "settings", None, f"cannot build {experiment} settings ({exc})",
                    hint="check the values' types") from exc
    try:
        settings.validate()
    except SettingError as exc:
        section, key, index, name = where(exc.param)
        raise error(manifest, section, key, f"{exc.value!r}: {exc.reason}", index=index, field=name,
                    hint=exc.hint) from exc
    model = getattr(settings, "model", None)
    kind = _kind(experiment, model)
    if isinstance(model, str) and model and experiment in ("bell", "words-generate"):
        from probe.providers import parse_model

        try:
            parse_model(model)
        except ProbeError as exc:
            section, key, index, name = where("model")
            raise error(manifest, section, key, exc.message, index=index, field=name, hint=exc.hint) from exc
    data = settings.to_dict()
    shown = {k: _show(v) for k, v in sorted(values.items(), key=lambda kv: position.get(kv[0], 99))
             if k not in CELL_HOW}
    if extra_index is not None:
        shown = {k: _show(v) for k, v in manifest.extra[extra_index].items() if k not in ("experiment", *CELL_HOW)}
    digest = hashlib.sha256(json.dumps({"experiment": experiment, "settings": data, "how": how},
                                       sort_keys=True, default=str).encode()).hexdigest()[:8]
    label = "-".join(slug(str(v).rsplit("/", 1)[-1].removesuffix(".toml")) for v in shown.values())[:60]
    cell_id = f"{experiment}-{label}-{digest}" if label else f"{experiment}-{digest}"
    return Cell(id=cell_id, experiment=experiment, settings=data, how=how, axes=shown, kind=kind)


def _show(value: Any) -> Any:
    """A table-friendly axis value: file paths by their name."""
    if isinstance(value, str) and value.startswith("/"):
        return value.rsplit("/", 1)[-1]
    if isinstance(value, list):
        return ",".join(str(_show(v)) for v in value)
    return value


def _kind(experiment: str, model: Any) -> str:
    """``api`` for paid API models, ``compute`` for local models and the compute-bound studies, else ``light``."""
    provider = ""
    if isinstance(model, str) and model:
        from probe.providers import parse_model

        try:
            provider = parse_model(model).provider
        except ProbeError:
            provider = ""
    if provider in API_PROVIDERS:
        return "api"
    if provider in COMPUTE_PROVIDERS:
        return "compute"
    if experiment.startswith(("entangle-", "quantum-")) or experiment == "words":
        return "compute"
    return "light"


__all__ = ["API_PROVIDERS", "COMPUTE_PROVIDERS", "Cell", "build_cells"]
