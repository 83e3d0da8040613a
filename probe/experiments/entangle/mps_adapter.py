"""MPS adaptation: a PEFT adapter whose update ``ΔW`` is a chain of trainable cores (bond dimension χ).

Chen et al. (2026, arXiv:2601.06788, section IX) compare LoRA and full fine-tuning with an
"MPS Adaptation" PEFT method and report qualitatively similar entanglement behaviour. Their
section IX text was not readable through our tools (only the abstract and the Fig. 1 caption
were), so the layout below is **our choice**, written down here and in the analysis README:

* ``ΔW`` (``d_out × d_in``) is the matrix-state of :mod:`probe.analysis.entangle.profile` written
  as a matrix product state: on the same prime-factor sites (``order="sequential"``: the factors
  of ``d_out``, then those of ``d_in``; mixed local dimensions such as 384 = 2^7 · 3 are kept),

      vec(ΔW)[i_1 … i_L] = s · G_1[:, i_1, :] G_2[:, i_2, :] ⋯ G_L[:, i_L, :],

  with cores ``G_k`` of shape ``(χ_{k-1}, d_k, χ_k)``, ``χ_0 = χ_L = 1`` and
  ``χ_k = min(χ, Π_{j≤k} d_j, Π_{j>k} d_j)``. It is the literal "MPS" reading of the paper's
  framework: LoRA is the special case with one bond of dimension r at the row/column cut and
  unrestricted bonds elsewhere; here every bond is at most χ, so every bond entropy of ΔW is at
  most ``ln χ``. ``order="interleaved"`` gives the MPO / TT-matrix layout ``(i_1 j_1)(i_2 j_2)…``
  of tensor-train adapters (e.g. QuanTA, arXiv:2406.00132; TT-LoRA) instead.
* Parameter count: ``P = Σ_{k=1}^{L} χ_{k-1} d_k χ_k`` (:func:`probe.analysis.entangle.mps.chain_parameter_count`),
  against ``r (d_out + d_in)`` for LoRA. For a 384 × 384 query projection (16 sites
  2,…,2,3 | 2,…,2,3): χ = 8 gives P = 1 569, χ = 16 gives 5 265, χ = 32 gives 16 977; LoRA r = 4
  has 3 072, r = 16 has 12 288.
* Scale and initialisation mirror LoRA (Hu et al. 2021): ``s = alpha / χ``; the first core (the
  output side, like LoRA's ``B``) starts at zero, so ``ΔW = 0`` and the model is unchanged at step
  0; the other cores start as i.i.d. normals with variance ``1/χ_{k-1}`` (the contraction keeps
  an O(1) scale).

The forward pass contracts the cores into ``ΔW`` and adds ``x ΔWᵀ`` to the frozen layer: exact, and
cheap for the matrices of a small encoder (a 384 × 384 update costs one contraction per step).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from probe.analysis.entangle.mps import bond_dimensions, chain_parameter_count
from probe.analysis.entangle.profile import site_layout
from probe.errors import ConfigError, DataError


class MPSLinear(torch.nn.Module):
    """A frozen ``nn.Linear`` plus an MPS update: ``y = x Wᵀ + b + x ΔWᵀ`` (see the module docstring).

    Parameters
    ----------
    base : torch.nn.Linear
        The layer to adapt; its weight and bias are frozen.
    chi : int
        Maximum bond dimension χ (≥ 1).
    alpha : float, optional
        ``ΔW`` is scaled by ``alpha / chi`` (default ``alpha = 2 chi``, i.e. scale 2, as LoRA with
        ``lora_alpha = 2r``).
    order : {"sequential", "interleaved"}
    factors : {"ascending", "descending"}
        The site layout, as in :func:`probe.analysis.entangle.profile.site_layout`.
    generator : torch.Generator, optional
        Source of the initial cores (for reproducible adapters).

    Attributes
    ----------
    cores : torch.nn.ParameterList
        ``G_k``, shapes ``(χ_{k-1}, d_k, χ_k)``.
    dims, bonds : tuple of int
        Site dimensions and all ``L + 1`` bond dimensions (with the two 1s at the ends).
    """

    def __init__(self, base: torch.nn.Linear, *, chi: int, alpha: float | None = None, order: str = "sequential",
                 factors: str = "ascending", generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(base, torch.nn.Linear):
            raise ConfigError(f"an MPS adapter wraps torch.nn.Linear layers, not {type(base).__name__}")
        if int(chi) < 1:
            raise ConfigError(f"chi={chi} must be at least 1")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        d_out, d_in = base.weight.shape
        self.layout = site_layout((d_out, d_in), order=order, factors=factors)
        self.chi = int(chi)
        self.alpha = float(2 * self.chi if alpha is None else alpha)
        self.scale = self.alpha / self.chi
        self.dims = tuple(int(d) for d in self.layout.dims)
        self.bonds = (1, *bond_dimensions(self.dims, self.chi), 1)
        dtype, device = base.weight.dtype, base.weight.device
        cores = []
        for k, d in enumerate(self.dims):
            shape = (self.bonds[k], d, self.bonds[k + 1])
            if k == 0:
                core = torch.zeros(shape, dtype=dtype, device=device)
            else:
                core = torch.randn(shape, generator=generator, dtype=dtype) / math.sqrt(self.bonds[k])
            cores.append(torch.nn.Parameter(core.to(device)))
        self.cores = torch.nn.ParameterList(cores)
        # the permutation from site order back to (row factors, column factors)
        self._inverse_axes = None if self.layout.axes is None else tuple(int(a) for a in np.argsort(self.layout.axes))

    @property
    def n_parameters(self) -> int:
        """``Σ_k χ_{k-1} d_k χ_k``: the trainable parameters (see the module docstring)."""
        return chain_parameter_count(self.dims, self.chi)

    def delta_weight(self) -> torch.Tensor:
        """``ΔW = (alpha/χ) · contract(G_1 … G_L)`` reshaped to ``(d_out, d_in)``."""
        out = self.cores[0].reshape(self.dims[0], self.bonds[1])
        for k in range(1, len(self.dims)):
            g = self.cores[k]
            out = (out @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
        tensor = out.reshape(self.dims)
        if self._inverse_axes is not None:
            tensor = tensor.permute(self._inverse_axes)
        return self.scale * tensor.reshape(self.base.weight.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + torch.nn.functional.linear(x, self.delta_weight())

    def core_arrays(self) -> list[np.ndarray]:
        """The cores as float64 arrays, the scale folded into the first (for ``core_spectra``)."""
        arrays = [c.detach().cpu().double().numpy().copy() for c in self.cores]
        arrays[0] *= self.scale
        return arrays

    def merged(self) -> torch.nn.Linear:
        """A plain ``nn.Linear`` with weight ``W + ΔW`` (same bias), for saving and inference."""
        out = torch.nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                              device=self.base.weight.device, dtype=self.base.weight.dtype)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


@dataclass(frozen=True, slots=True)
class MPSAdapterInfo:
    """What :func:`add_mps_adapters` did: the adapted modules and their sizes."""

    modules: tuple[str, ...]
    chi: int
    alpha: float
    order: str
    n_parameters: int
    n_parameters_lora_equivalent: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {"modules": list(self.modules), "chi": self.chi, "alpha": self.alpha, "order": self.order,
                "n_parameters": self.n_parameters,
                "n_parameters_lora": {str(k): v for k, v in self.n_parameters_lora_equivalent.items()}}


def _targets_match(name: str, targets: Iterable[str]) -> bool:
    last = name.rsplit(".", 1)[-1]
    return any(last == t or fnmatch.fnmatch(name, t) for t in targets)


def add_mps_adapters(model: torch.nn.Module, targets: Iterable[str], *, chi: int, alpha: float | None = None,
                     order: str = "sequential", factors: str = "ascending", seed: int = 0) -> MPSAdapterInfo:
    """Freeze ``model`` and replace every ``nn.Linear`` named by ``targets`` with an :class:`MPSLinear`.

    Parameters
    ----------
    model : torch.nn.Module
        Changed in place.
    targets : iterable of str
        Module names: the last component (``"query"``, ``"q_proj"``) or a glob on the full name.
    chi, alpha, order, factors
        See :class:`MPSLinear`.
    seed : int
        Seeds the initial cores (one generator, modules in named order).

    Returns
    -------
    MPSAdapterInfo
        ``n_parameters`` summed over modules, and what LoRA would train for r = 4, 8, 16.

    Raises
    ------
    ConfigError
        No module matches ``targets``.
    """
    targets = tuple(targets)
    gen = torch.Generator().manual_seed(int(seed))
    for p in model.parameters():
        p.requires_grad_(False)
    found = [(name, mod) for name, mod in model.named_modules()
             if isinstance(mod, torch.nn.Linear) and _targets_match(name, targets)]
    if not found:
        raise ConfigError(f"no torch.nn.Linear module matches {', '.join(targets)}",
                          hint="name the last part of the module (query, value, q_proj) or a glob")
    total, lora = 0, {4: 0, 8: 0, 16: 0}
    for name, mod in found:
        parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        adapter = MPSLinear(mod, chi=chi, alpha=alpha, order=order, factors=factors, generator=gen)
        setattr(parent, name.rsplit(".", 1)[-1], adapter)
        total += adapter.n_parameters
        for r in lora:
            lora[r] += r * (mod.in_features + mod.out_features)
    first = model.get_submodule(found[0][0])
    return MPSAdapterInfo(tuple(n for n, _ in found), int(chi), float(first.alpha), order, total, lora)


def mps_adapters(model: torch.nn.Module) -> dict[str, MPSLinear]:
    """The :class:`MPSLinear` modules of ``model`` by name."""
    return {name: mod for name, mod in model.named_modules() if isinstance(mod, MPSLinear)}


def merge_mps_adapters(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """Replace every :class:`MPSLinear` by its merged ``nn.Linear``; return ``ΔW`` (float64) by weight name.

    After merging, ``model.save_pretrained`` writes the usual tensor names, so the saved model
    and the base model form a base/tuned pair for ``probe entangle delta``.
    """
    deltas = {}
    adapters = mps_adapters(model)
    if not adapters:
        raise DataError("the model has no MPS adapters to merge")
    for name, adapter in adapters.items():
        with torch.no_grad():
            deltas[f"{name}.weight"] = adapter.delta_weight().detach().cpu().double().numpy()
        parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        setattr(parent, name.rsplit(".", 1)[-1], adapter.merged())
    return deltas
