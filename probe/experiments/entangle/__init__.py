"""Sources for ``probe entangle``: checkpoints read tensor by tensor, peft LoRA adapters,
base/tuned pairs, and attention matrices of local transformers models.

Running across many checkpoints on a cluster: build jobs with
:func:`probe.experiments.entangle.plan.plan_weights` (or ``plan_delta`` / ``plan_lora``) per
checkpoint and map :func:`probe.experiments.entangle.jobs.run_job` with the engine you have,
e.g. ``dask.bag.from_sequence(jobs).map(run_job, settings=settings).compute()`` or
``ray.get([ray.remote(run_job).remote(j, settings) for j in jobs])``; each job reads only
its own tensor (memory-mapped), so workers need the checkpoint files on shared storage.
"""

from __future__ import annotations

from probe.experiments.entangle.lora_adapters import LoraModule, lora_modules, read_adapter_config
from probe.experiments.entangle.tensors import (
    TensorRef,
    checkpoint_files,
    list_tensors,
    read_tensor,
    select_tensors,
)
from probe.experiments.entangle.transformer_attention import (
    AttentionBatch,
    attention_maps,
    resolve_model,
    token_windows,
)

__all__ = [
    "AttentionBatch",
    "LoraModule",
    "TensorRef",
    "attention_maps",
    "checkpoint_files",
    "list_tensors",
    "lora_modules",
    "read_adapter_config",
    "read_tensor",
    "resolve_model",
    "select_tensors",
    "token_windows",
]
