"""probe.entangle: the entanglement-profile studies (``probe entangle ...``).

Each function takes its source's inputs and then the study's settings (``order``,
``factors``, ``max_bond``, ``seed``, ``baseline_samples``, ``mp``, ``layers``, ...) and
the run options of :class:`probe.How` (``out``, ``workers``, ``progress``, ``report``)
as keyword arguments, with the CLI's defaults; it writes a run folder with its report
and returns an :class:`~probe.experiments.entangle.study.EntangleResult`::

    import probe
    r = probe.entangle.lora("adapter/")
    r.summary["valley_depth_mean"], r.to_frame()            # one row per tensor and cut
    probe.entangle.weights("model.safetensors", layers=["encoder.layer.*.attention.*.weight"])
    probe.entangle.delta("base/", "tuned/")
    probe.entangle.attention("embed:minilm", "prompts/attention.txt", tokens=32)
    probe.entangle.random((64, 64), samples=20)             # or "64x64"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _layers(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``layers`` as a tuple of patterns (one glob or a list of them)."""
    layers = kwargs.get("layers")
    if isinstance(layers, str):
        kwargs["layers"] = (layers,)
    elif layers is not None:
        kwargs["layers"] = tuple(str(x) for x in layers)
    return kwargs


def _call(experiment: str, kwargs: dict[str, Any]) -> Any:
    from probe.api import call

    return call(experiment, **kwargs)


def weights(path: str | Path, **kwargs: Any) -> Any:
    """Entanglement profiles of the weight matrices of a checkpoint (``probe entangle weights``)."""
    return _call("entangle-weights", {"path": str(path), **_layers(kwargs)})


def delta(base: str | Path, tuned: str | Path, **kwargs: Any) -> Any:
    """Profiles of full fine-tuning updates W_tuned − W_base, per tensor (``probe entangle delta``)."""
    return _call("entangle-delta", {"base": str(base), "tuned": str(tuned), **_layers(kwargs)})


def lora(adapter: str | Path, **kwargs: Any) -> Any:
    """Profiles of a peft LoRA adapter's updates s·B·A, never densified (``probe entangle lora``)."""
    return _call("entangle-lora", {"adapter": str(adapter), **_layers(kwargs)})


def attention(model: str, text: str | Path, **kwargs: Any) -> Any:
    """Profiles of the attention matrices of a local model on a text file (``probe entangle attention``).

    ``model``: ``hf:PATH``, ``embed:minilm`` or ``embed:PATH``; ``text``: a UTF-8 file, cut into windows of
    ``tokens`` tokens (32), at most ``max_windows`` (16).
    """
    return _call("entangle-attention", {"model": model, "text": str(text), **kwargs})


def random(shape: str | tuple[int, int], **kwargs: Any) -> Any:
    """Gaussian random matrices of ``shape`` (``(rows, cols)`` or ``"ROWSxCOLS"``): the Page-curve baseline
    (``probe entangle random``); ``samples`` (20), ``rank`` (also rank-R products B·A)."""
    if isinstance(shape, str):
        from probe.experiments.entangle.plan import parse_shape

        shape = parse_shape(shape)
    return _call("entangle-random", {"shape": (int(shape[0]), int(shape[1])), **kwargs})


__all__ = ["attention", "delta", "lora", "random", "weights"]
