"""Checkpoint tensors, read one at a time.

safetensors files are memory-mapped and each tensor is read alone (a 7B checkpoint
is never loaded whole); sharded checkpoints are followed through their
``*.safetensors.index.json``; PyTorch ``.bin``/``.pt`` files are opened with
``torch.load(mmap=True, weights_only=True)``. Every tensor comes back as float64
(bf16/fp16 upcast before any arithmetic, so ``W_ft − W_0`` does not cancel in 16 bits).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from probe.analysis.entangle.profile import prime_factors
from probe.errors import ConfigError, DataError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True, slots=True)
class TensorRef:
    """Where one tensor lives: its file, its name, shape and stored dtype."""

    file: str
    name: str
    shape: tuple[int, ...]
    dtype: str


def checkpoint_files(path: str | Path) -> list[Path]:
    """The weight files of a checkpoint: a file, or a folder (sharded index, ``*.safetensors`` or ``*.bin``)."""
    p = Path(path)
    if p.is_file():
        if p.suffix not in WEIGHT_SUFFIXES:
            raise DataError(f"{p}: not a weights file (expected one of {', '.join(WEIGHT_SUFFIXES)})")
        return [p]
    if not p.is_dir():
        raise DataError(f"{p}: no such file or folder", hint="pass a .safetensors file or a checkpoint folder")
    for index in sorted(p.glob("*.safetensors.index.json")) + sorted(p.glob("*.bin.index.json")):
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise DataError(f"{index}: not a valid shard index ({exc})") from exc
        missing = [s for s in shards if not (p / s).exists()]
        if missing:
            raise DataError(f"{index}: shard {missing[0]} is missing", hint="download or copy every shard")
        return [p / s for s in shards]
    for pattern in ("*.safetensors", "*.bin", "*.pt", "*.pth"):
        files = sorted(f for f in p.glob(pattern) if f.is_file())
        if files:
            return files
    raise DataError(f"{p}: no .safetensors or .bin weights in this folder",
                    hint="point at the folder a transformers save_pretrained() wrote, or at a weights file")


def _torch_state(file: Path) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(file, map_location="cpu", mmap=True, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise DataError(f"{file}: cannot read PyTorch weights ({exc.__class__.__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise DataError(f"{file}: expected a state dict of tensors, got {type(state).__name__}")
    return state


def list_tensors(path: str | Path) -> list[TensorRef]:
    """Every tensor of a checkpoint, in file order, without reading its data."""
    refs: list[TensorRef] = []
    for file in checkpoint_files(path):
        if file.suffix == ".safetensors":
            from safetensors import safe_open

            try:
                with safe_open(str(file), framework="pt") as fh:
                    for name in fh.keys():  # noqa: SIM118 - safe_open has keys(), no __iter__
                        sl = fh.get_slice(name)
                        refs.append(TensorRef(str(file), name, tuple(int(x) for x in sl.get_shape()), str(sl.get_dtype())))
            except Exception as exc:  # safetensors raises SafetensorError / OSError
                raise DataError(f"{file}: cannot read safetensors header ({exc})") from exc
        else:
            for name, t in _torch_state(file).items():
                if hasattr(t, "shape"):
                    refs.append(TensorRef(str(file), name, tuple(int(x) for x in t.shape), str(t.dtype).replace("torch.", "")))
    return refs


def read_tensor(ref: TensorRef) -> np.ndarray:
    """The tensor's data as a float64 array (memory-mapped read of this tensor only)."""
    import torch

    file = Path(ref.file)
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="pt") as fh:
            t = fh.get_tensor(ref.name)
    else:
        t = _torch_state(file)[ref.name]
    return t.detach().to(torch.float64).numpy()


def is_float(dtype: str) -> bool:
    """Floating-point storage ("F32", "BF16", "float16", ...); integer buffers such as position ids are not weights."""
    return dtype.lower().startswith(("f", "bf", "complex"))


def matches_pattern(name: str, pattern: str) -> bool:
    if pattern.startswith("re:"):
        return re.search(pattern[3:], name) is not None
    return fnmatch.fnmatchcase(name, pattern)


def select_tensors(
    refs: Sequence[TensorRef], patterns: Iterable[str] | None, *, where: str,
) -> tuple[list[TensorRef], list[dict[str, str]]]:
    """Tensors whose names match any pattern (glob, or ``re:REGEX``) and that are matrices.

    Returns the selected refs and the skipped ones with a reason. Raises
    :class:`ConfigError` naming ``where`` when nothing matches.
    """
    pats = [p for p in (patterns or []) if p]
    for p in pats:
        if p.startswith("re:"):
            try:
                re.compile(p[3:])
            except re.error as exc:
                raise ConfigError(f"--layers {p!r}: bad regular expression ({exc})") from exc
    chosen = [r for r in refs if not pats or any(matches_pattern(r.name, p) for p in pats)]
    if not chosen:
        sample = ", ".join(r.name for r in refs[:5])
        raise ConfigError(f"{where}: no tensor matches --layers {' '.join(repr(p) for p in pats)}",
                          hint=f"glob like 'encoder.layer.*.attention.*.weight' or 're:REGEX'; first names: {sample}")
    keep, skipped = [], []
    for r in chosen:
        if not is_float(r.dtype):
            skipped.append({"name": r.name, "reason": f"{r.dtype} buffer, not a weight"})
        elif len(r.shape) != 2:
            skipped.append({"name": r.name, "reason": f"{len(r.shape)}-D tensor {list(r.shape)}, not a matrix"})
        elif len(prime_factors(r.shape[0])) + len(prime_factors(r.shape[1])) < 2:
            skipped.append({"name": r.name, "reason": f"shape {list(r.shape)} gives fewer than 2 sites, so no cut"})
        else:
            keep.append(r)
    if not keep:
        first = skipped[0]
        raise ConfigError(f"{where}: none of the {len(chosen)} selected tensor(s) can be profiled "
                          f"({first['name']}: {first['reason']})",
                          hint="select 2-D weight matrices, e.g. '*.weight' of linear layers; a size with a single "
                               "prime factor per side cannot be cut (zero-padding would add sites but change the Page baseline)")
    return keep, skipped
