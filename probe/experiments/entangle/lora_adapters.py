"""peft LoRA adapters: ``adapter_config.json`` + ``adapter_model.safetensors`` (or ``.bin``).

For every adapted module the update is ``ΔW = s · B A`` with ``A = lora_A.weight``
(``r × d_in``), ``B = lora_B.weight`` (``d_out × r``) and ``s = lora_alpha / r``, or
``lora_alpha / √r`` when ``use_rslora`` is true; ``rank_pattern`` / ``alpha_pattern``
override ``r`` / ``lora_alpha`` per module the way peft matches them (the key, as a
regular expression, matching the end of the module name after a dot). ``r`` is read
from the tensors and checked against the config. DoRA adapters (``use_dora``) carry a
magnitude vector that changes ``ΔW``, so they are refused rather than misread.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from probe.errors import DataError
from probe.experiments.entangle.tensors import TensorRef, checkpoint_files, list_tensors

_SUFFIX_A = ".lora_A.weight"
_SUFFIX_B = ".lora_B.weight"


@dataclass(frozen=True, slots=True)
class LoraModule:
    """One adapted module: where its factors live and the scale of ``B A``."""

    name: str  # the base weight's name, e.g. "encoder.layer.0.attention.self.query.weight"
    module: str  # the key prefix in the adapter file
    a: TensorRef
    b: TensorRef
    rank: int
    alpha: float
    scale: float

    @property
    def shape(self) -> tuple[int, int]:
        return (self.b.shape[0], self.a.shape[1])


def read_adapter_config(folder: Path) -> dict[str, Any]:
    path = folder / "adapter_config.json"
    if not path.exists():
        raise DataError(f"{folder}: no adapter_config.json, so lora_alpha and r are unknown",
                        hint="a peft LoRA adapter folder holds adapter_config.json and adapter_model.safetensors "
                             "(what PeftModel.save_pretrained writes)")
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(cfg, dict):
        raise DataError(f"{path}: expected a JSON object")
    kind = str(cfg.get("peft_type", "LORA")).upper()
    if kind != "LORA":
        raise DataError(f"{path}: peft_type is {kind}, not LORA", hint="only LoRA adapters have a B·A update")
    if cfg.get("use_dora"):
        raise DataError(f"{path}: use_dora is true; a DoRA update also rescales W by a magnitude vector",
                        hint="merge the adapter (merge_and_unload) and use `probe entangle delta` on base vs merged")
    for key in ("r", "lora_alpha"):
        if not isinstance(cfg.get(key), int | float) or cfg[key] <= 0:
            raise DataError(f"{path}: field {key!r} must be a positive number, got {cfg.get(key)!r}")
    return cfg


def _pattern_value(module: str, patterns: dict[str, Any] | None, default: float) -> float:
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?{key}$", module):
            return float(value)
    return float(default)


def _base_name(module: str) -> str:
    name = module
    for prefix in ("base_model.model.", "base_model."):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name + ".weight"


def lora_modules(folder: str | Path) -> tuple[list[LoraModule], dict[str, Any]]:
    """Pair ``lora_A``/``lora_B`` of every module of a peft adapter folder; return them and the config."""
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"{path}: not a folder", hint="pass the folder PeftModel.save_pretrained() wrote")
    cfg = read_adapter_config(path)
    files = [f for f in checkpoint_files(path) if f.name.startswith("adapter_model")] or checkpoint_files(path)
    refs = {r.name: r for f in files for r in list_tensors(f)}
    a_names = {n[: -len(_SUFFIX_A)]: r for n, r in refs.items() if n.endswith(_SUFFIX_A)}
    b_names = {n[: -len(_SUFFIX_B)]: r for n, r in refs.items() if n.endswith(_SUFFIX_B)}
    if not a_names:
        raise DataError(f"{path}: no '*.lora_A.weight' tensors in {', '.join(f.name for f in files)}",
                        hint="is this a LoRA adapter? (embedding LoRA uses lora_embedding_A/B, not supported)")
    unpaired = sorted(set(a_names) ^ set(b_names))
    if unpaired:
        raise DataError(f"{path}: module {unpaired[0]} has only one of lora_A / lora_B")
    out = []
    for module in sorted(a_names):
        a, b = a_names[module], b_names[module]
        if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[0] != b.shape[1]:
            raise DataError(f"{path}: {module}: lora_A {list(a.shape)} and lora_B {list(b.shape)} do not "
                            "form B·A (need (r, d_in) and (d_out, r))")
        rank = a.shape[0]
        r_cfg = _pattern_value(module, cfg.get("rank_pattern"), cfg["r"])
        if int(r_cfg) != rank:
            raise DataError(f"{path}: {module}: tensors have rank {rank} but adapter_config.json says r={int(r_cfg)}",
                            hint="the config does not belong to these weights")
        alpha = _pattern_value(module, cfg.get("alpha_pattern"), cfg["lora_alpha"])
        scale = alpha / math.sqrt(rank) if cfg.get("use_rslora") else alpha / rank
        out.append(LoraModule(_base_name(module), module, a, b, rank, alpha, scale))
    return out, cfg
