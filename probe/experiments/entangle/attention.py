"""``probe entangle attention``: entanglement profiles of attention matrices.

Each attention matrix ``A`` (``T × T``, rows summing to 1) of every layer and head is
read as a state exactly like a weight (``vec(A)/‖A‖_F``, query-token sites then
key-token sites), on every window of the text. Profiles are averaged over windows
(with standard errors), and the area / log-corrected / volume laws are compared by
AIC, with a bootstrap over windows for the log coefficient.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from probe.analysis.entangle.baselines import valley_metrics
from probe.analysis.entangle.laws import compare_laws
from probe.analysis.entangle.profile import entanglement_profile, single_threaded_blas, site_layout
from probe.errors import ConfigError, DataError
from probe.experiments.entangle.plan import Plan
from probe.experiments.entangle.transformer_attention import (
    attention_maps,
    load_model,
    resolve_model,
    token_windows,
)


def plan_attention(spec: str, text_path: str, *, tokens: int, max_windows: int) -> Plan:
    folder = resolve_model(spec)
    path = Path(text_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--text {path}: no such file", hint="a UTF-8 text file; it is cut into token windows") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"--text {path}: cannot read as UTF-8 text ({exc})") from exc
    if tokens < 4:
        raise ConfigError(f"--tokens {tokens}: need at least 4 tokens (2 sites per side)")
    if max_windows < 2:
        raise ConfigError(f"--max-windows {max_windows}: need at least 2 windows for standard errors")
    site_layout((tokens, tokens))  # raises if the window has no cut
    tokenizer, _ = load_model(folder)
    windows = token_windows(tokenizer, text, tokens=tokens, max_windows=max_windows, where=f"--text {path}")
    if len(windows) < 2:
        raise DataError(f"--text {path}: only one window of {tokens} tokens", hint="give more text or a smaller --tokens")
    return Plan("attention", spec.split(":", 1)[-1].rstrip("/").split("/")[-1] or "model",
                {"model": spec, "model_path": str(folder), "text": str(path), "tokens": tokens,
                 "max_windows": max_windows}, extra={"folder": folder, "windows": windows})


def attention_profiles(weights: np.ndarray, *, order: str, factors: str) -> np.ndarray:
    """Entropy profiles, shape ``(n_windows, n_layers, n_heads, n_cuts)``, of attention weights ``(w, l, h, T, T)``."""
    n_w, n_l, n_h, t, _ = weights.shape
    n_cuts = len(site_layout((t, t), order=order, factors=factors).dims) - 1
    out = np.empty((n_w, n_l, n_h, n_cuts))
    with single_threaded_blas():  # thousands of tiny eigensolves: threads only add overhead
        for idx in np.ndindex(n_w, n_l, n_h):
            out[idx] = entanglement_profile(weights[idx], order=order, factors=factors).entropy
    return out


def execute_attention(plan: Plan, settings: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    batch = attention_maps(plan.extra["folder"], plan.extra["windows"], spec=plan.inputs["model"])
    order, factors = settings["order"], settings["factors"]
    profiles = attention_profiles(batch.weights, order=order, factors=factors)
    n_w, n_l, n_h, _ = profiles.shape
    t = int(batch.weights.shape[-1])
    template = entanglement_profile(batch.weights[0, 0, 0], order=order, factors=factors)
    layers = []
    for li in range(n_l):
        for hi in range(n_h):
            prof = profiles[:, li, hi]
            mean = prof.mean(0)
            layers.append({
                "name": f"layer.{li}.head.{hi}", "layer": li, "head": hi, "shape": [t, t],
                "n_qubits": template.n_qubits, "site_dims": list(template.site_dims), "order": order,
                "boundary_cut": template.boundary_cut, "cuts": list(template.cuts), "entropy": mean.tolist(),
                "entropy_se": (prof.std(0, ddof=1) / np.sqrt(n_w)).tolist(), "page": list(template.page),
                "n_windows": n_w, "valley": valley_metrics(mean, template.page,
                                                           boundary_cut=template.boundary_cut).to_dict(),
            })
    seed = np.random.SeedSequence(settings.get("seed", 0))
    per_window = profiles.mean(axis=(1, 2))  # (n_windows, n_cuts)
    overall = compare_laws(per_window, rng=np.random.default_rng(seed.spawn(1)[0]))
    by_layer = [compare_laws(profiles[:, li].mean(1), rng=np.random.default_rng(seed.spawn(1)[0])).to_dict()
                for li in range(n_l)]
    w = batch.weights
    row_entropy = -(np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)).sum(-1).mean(-1)  # (w, l, h)
    attention = {
        "model": plan.inputs["model"], "architecture": batch.architecture, "tokens": t, "n_windows": n_w,
        "n_layers": n_l, "n_heads": n_h, "laws": overall.to_dict(), "laws_by_layer": by_layer,
        "profile_mean": per_window.mean(0).tolist(),
        "profile_se": (per_window.std(0, ddof=1) / np.sqrt(n_w)).tolist(),
        "row_entropy_by_layer": row_entropy.mean(axis=(0, 2)).tolist(),
        "profiles": profiles.tolist(), "input_ids": batch.input_ids.tolist(),
    }
    if not np.all(np.isfinite(profiles)):
        raise DataError(f"{plan.inputs['model']}: non-finite attention entropies", hint="check the model weights")
    from probe.experiments.entangle.plan import summarise

    return {"experiment": "entangle", "source": "attention", "label": plan.label, "inputs": plan.inputs,
            "settings": settings, "layers": layers, "skipped": [], "summary": summarise(layers),
            "attention": attention, "elapsed_s": time.perf_counter() - start}
