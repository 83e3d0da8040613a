"""The sample-blocked engine: each sample's state stays in cache through the whole circuit.

The torch engine applies one block to the whole batch at a time, so every block
streams the batch of states (16 MiB at 12 qubits, batch 256) through memory. Here
a compiled kernel (:mod:`probe.qsim.kernels`, numba) takes one sample at a time
through every gate, forward and then backward, with its 64 KiB state (and 64 KiB
adjoint) in the core's cache; the two cores take halves of the batch.

The plan is compiled with ``split_diagonals=True``: per layer, the real rotations
(RY, H) are applied as real 2x2 gates, every RZ/PHASE/CZ/... of the layer as one
diagonal, and a CNOT ring as one index permutation. The backward is reversible
(each block is un-computed with its inverse), so memory does not grow with depth.

The small tensors (2x2 matrices, phase vectors, product-start vectors) are built in
torch with autograd from the angle columns, once per call; the kernel returns the
gradients of these tensors and torch carries them to the angles.

Used by :func:`probe.qsim.statevector` for ``method="reversible"``, complex128, CPU,
when numba is installed and every block is supported (one-qubit layers, diagonals,
permutations); otherwise the torch engine runs. ``PROBE_QSIM_ENGINE=torch`` forces it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from probe.qsim.circuit import Circuit
from probe.qsim.fusion import (
    SMALL,
    Diagonal,
    OneQubitLayer,
    Permutation,
    Plan,
    ProductStart,
    compile_circuit,
    wire_matrices,
)

__all__ = ["available", "blocked_statevector", "expval_z", "one_torch_thread", "supports"]

_REAL = {"RY", "H", "X", "Z"}
"""One-qubit gates with real matrices: a wire whose fused gates are all here is a real gate."""


@functools.cache
def _kernels() -> Any:
    try:
        from probe.qsim import kernels
    except ImportError:  # numba missing or broken
        return None
    return kernels


def available() -> bool:
    """Whether the blocked engine can run here (numba importable, not switched off)."""
    return os.environ.get("PROBE_QSIM_ENGINE", "").lower() != "torch" and _kernels() is not None


def supports(circuit: Circuit, dtype: torch.dtype, device: Any, start_zero: bool) -> bool:
    if dtype != torch.complex128 or (device is not None and torch.device(device).type != "cpu"):
        return False
    if not available():
        return False
    plan = compile_circuit(circuit, start_zero=start_zero, split_diagonals=True)
    return _lowered(plan) is not None


@dataclass
class _Lowered:
    """A plan as kernel program rows, minus the per-call tensors."""

    n: int
    start: Any  # ProductStart or None
    steps: list[tuple[str, Any]]  # ("gates", layer) | ("diag", block) | ("perm", block)
    perms: np.ndarray  # (P, 2, 2^n) int64: index and inverse


def _lowered(plan: Plan) -> _Lowered | None:
    cached = getattr(plan, "_lowered", False)
    if cached is not False:
        return cached
    steps: list[tuple[str, Any]] = []
    perms = []
    start = None
    for i, blk in enumerate(plan.blocks):
        if isinstance(blk, ProductStart) and i == 0:
            start = blk
        elif isinstance(blk, OneQubitLayer):
            steps.append(("gates", blk))
        elif isinstance(blk, Diagonal):
            steps.append(("diag", blk))
        elif isinstance(blk, Permutation):
            idx = np.asarray(blk.index, dtype=np.int64)
            inv = np.empty_like(idx)
            inv[idx] = np.arange(idx.size)
            steps.append(("perm", len(perms)))
            perms.append(np.stack([idx, inv]))
        else:
            plan._lowered = None  # type: ignore[attr-defined]
            return None
    size = 2**plan.n
    out = _Lowered(plan.n, start, steps, np.stack(perms) if perms else np.zeros((0, 2, size), np.int64))
    plan._lowered = out  # type: ignore[attr-defined]
    return out


def _is_real(ops: list[Any]) -> bool:
    return all(op.name in _REAL or (op.name == "UNITARY" and not np.iscomplexobj(op.matrix)) for op in ops)


@dataclass
class _Call:
    """The tensors of one call, their pools and program rows."""

    rows: np.ndarray
    ms: list[torch.Tensor]
    mb: list[torch.Tensor]
    ds: list[torch.Tensor]
    db: list[torch.Tensor]
    vecs: list[torch.Tensor]
    start_wires: list[int]


def _build(low: _Lowered, cols: list[torch.Tensor], dtype: torch.dtype) -> _Call:
    from probe.qsim.kernels import DIAG, GATE, GATE_REAL, PERM

    rows: list[tuple[int, int, int, int]] = []
    ms: list[torch.Tensor] = []
    mb: list[torch.Tensor] = []
    ds: list[torch.Tensor] = []
    db: list[torch.Tensor] = []
    vecs: list[torch.Tensor] = []
    start_wires: list[int] = []
    if low.start is not None:
        mats = wire_matrices(low.start.wire_ops, cols, dtype)
        start_wires = sorted(mats)
        vecs = [mats[w][..., :, 0] for w in start_wires]
    for kind, blk in low.steps:
        if kind == "gates":
            mats = wire_matrices(blk.wire_ops, cols, dtype)
            for w in sorted(mats):
                m = mats[w]
                code = GATE_REAL if _is_real(blk.wire_ops[w]) else GATE
                pool = mb if m.dim() == 3 else ms
                rows.append((code, w, len(pool), int(m.dim() == 3)))
                pool.append(m)
        elif kind == "diag":
            phi = blk.phases(cols, dtype)
            pool = db if phi.dim() == 2 else ds
            rows.append((DIAG, 0, len(pool), int(phi.dim() == 2)))
            pool.append(phi)
        else:
            rows.append((PERM, 0, blk, 0))
    return _Call(np.asarray(rows, dtype=np.int64).reshape(-1, 4), ms, mb, ds, db, vecs, start_wires)


def _pack(call: _Call, low: _Lowered, batch: int) -> dict[str, np.ndarray]:
    size = 2**low.n
    with torch.no_grad():
        ms = torch.stack(call.ms) if call.ms else torch.zeros((0, 2, 2), dtype=torch.complex128)
        mb = (torch.stack([m.expand(batch, 2, 2) for m in call.mb], 1) if call.mb
              else torch.zeros((1, 0, 2, 2), dtype=torch.complex128))

        def cos_sin(phi: torch.Tensor) -> torch.Tensor:
            return torch.stack([torch.cos(phi), torch.sin(phi)], -2)

        ds = torch.stack([cos_sin(p) for p in call.ds]) if call.ds else torch.zeros((0, 2, size), dtype=torch.float64)
        db = (torch.stack([cos_sin(p.expand(batch, size)) for p in call.db], 1) if call.db
              else torch.zeros((1, 0, 2, size), dtype=torch.float64))
        if call.vecs:
            e0 = torch.tensor([1, 0], dtype=torch.complex128)
            per = dict(zip(call.start_wires, call.vecs, strict=True))
            vb = max([v.shape[0] for v in call.vecs if v.dim() == 2] + [1])
            prod = torch.stack([per.get(w, e0).expand(vb, 2) for w in range(low.n)], 1)
        else:
            prod = torch.zeros((1, low.n, 2), dtype=torch.complex128)
    return {"ms": ms.contiguous().numpy(), "mb": mb.contiguous().numpy(), "ds": ds.contiguous().numpy(),
            "db": db.contiguous().numpy(), "prod": prod.contiguous().numpy()}


def _chunks(batch: int, amplitudes: int) -> int:
    import numba

    threads = 1 if amplitudes < SMALL else numba.get_num_threads()
    return max(1, min(batch, threads))


class _Blocked(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, low: _Lowered, batch: int, state0: torch.Tensor | None,
                *groups: torch.Tensor) -> torch.Tensor:
        k = _kernels()
        leaves = [g.detach().requires_grad_(g.requires_grad) for g in groups]
        need = any(g.requires_grad for g in groups)
        with torch.set_grad_enabled(need), one_torch_thread():
            cols = [g[..., j] for g in leaves for j in range(g.shape[-1])]
            call = _build(low, cols, torch.complex128)
            packed = _pack(call, low, batch)
        size = 2**low.n
        mode = k.START_PRODUCT if low.start is not None else (k.START_STATE if state0 is not None else k.START_ZERO)
        s0 = (state0.detach().to(torch.complex128).contiguous().numpy() if state0 is not None
              else np.zeros((1, size), np.complex128))
        out = np.empty((batch, size), np.complex128)
        chunks = _chunks(batch, batch * size)
        args = (low.n, call.rows, packed["ms"], packed["mb"], packed["ds"], packed["db"], low.perms, mode,
                packed["prod"], s0, out)
        if chunks == 1:  # a parallel launch wakes the thread pool: milliseconds on a busy machine
            k.forward_range(*args, 0, batch)
        else:
            k.forward(*args, chunks)
        result = torch.from_numpy(out)
        ctx.low, ctx.call, ctx.packed, ctx.mode, ctx.leaves = low, call, packed, mode, leaves
        ctx.state_shape = None if state0 is None else tuple(state0.shape)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        k = _kernels()
        (psi,) = ctx.saved_tensors
        low, call, packed = ctx.low, ctx.call, ctx.packed
        batch, size = psi.shape
        chunks = _chunks(batch, batch * size)
        gms = np.zeros((chunks, len(call.ms), 2, 2), np.complex128)
        gmb = np.zeros((batch if call.mb else 1, len(call.mb), 2, 2), np.complex128)
        gds = np.zeros((chunks, len(call.ds), size))
        gdb = np.zeros((batch if call.db else 1, len(call.db), size))
        gprod = np.zeros((batch if call.vecs else 1, low.n, 2), np.complex128)
        want_state = ctx.mode == k.START_STATE and ctx.needs_input_grad[2]
        gstate = np.zeros((batch if want_state else 1, size), np.complex128)
        g = grad.to(torch.complex128).expand(batch, size).contiguous().numpy()
        args = (low.n, call.rows, packed["ms"], packed["mb"], packed["ds"], packed["db"], low.perms,
                ctx.mode if ctx.mode != k.START_STATE or want_state else k.START_ZERO, packed["prod"],
                psi.numpy(), g, gms, gmb, gds, gdb, gprod, gstate)
        if chunks == 1:
            k.backward_range(*args, 0, 0, batch)
        else:
            k.backward(*args)
        tensors, grads = [], []

        def add(t: torch.Tensor, gr: np.ndarray | torch.Tensor) -> None:
            if t.requires_grad:
                gt = torch.as_tensor(gr)
                tensors.append(t)
                grads.append(gt if gt.shape == t.shape else gt.sum(0))

        for i, m in enumerate(call.ms):
            add(m, gms[:, i].sum(0))
        for i, m in enumerate(call.mb):
            add(m, gmb[:, i])
        for i, p in enumerate(call.ds):
            add(p, gds[:, i].sum(0))
        for i, p in enumerate(call.db):
            add(p, gdb[:, i])
        for w, v in zip(call.start_wires, call.vecs, strict=True):
            add(v, gprod[:, w])
        if tensors:
            with one_torch_thread():
                torch.autograd.backward(tensors, grads)
        gg = [lf.grad if nd else None for lf, nd in zip(ctx.leaves, ctx.needs_input_grad[3:], strict=True)]
        grad_state = None
        if want_state:
            grad_state = torch.from_numpy(gstate)
            if ctx.state_shape is not None and grad_state.shape != ctx.state_shape:
                grad_state = grad_state.sum(0, keepdim=True)
        return (None, None, grad_state, *gg)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread for the small tensors around the kernel.

    Ops on a few thousand numbers gain nothing from a second thread, and on a shared
    2-core machine waking it can cost milliseconds (2.4 ms for a cos of 2048 numbers).
    """
    old = torch.get_num_threads()
    if old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def blocked_statevector(circuit: Circuit, groups: list[torch.Tensor], state0: torch.Tensor | None,
                        batch: int) -> torch.Tensor:
    """Final states (B, 2^n) by the blocked engine; :func:`supports` must have said yes."""
    plan = compile_circuit(circuit, start_zero=state0 is None, split_diagonals=True)
    low = _lowered(plan)
    assert low is not None
    return _Blocked.apply(low, batch, state0, *groups)


class _ExpvalZ(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, state: torch.Tensor, wires: tuple[int, ...]) -> torch.Tensor:
        k = _kernels()
        psi = state.detach().contiguous()
        w = np.asarray(wires, dtype=np.int64)
        out = np.empty((psi.shape[0], len(wires)))
        n, chunks = psi.shape[1].bit_length() - 1, _chunks(psi.shape[0], psi.numel())
        if chunks == 1:
            k.expval_z_range(n, psi.numpy(), w, out, 0, psi.shape[0])
        else:
            k.expval_z(n, psi.numpy(), w, out, chunks)
        ctx.save_for_backward(psi)
        ctx.wires = w
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        k = _kernels()
        (psi,) = ctx.saved_tensors
        out = np.empty(tuple(psi.shape), np.complex128)
        g = grad.to(torch.float64).expand(psi.shape[0], len(ctx.wires)).contiguous().numpy()
        n, chunks = psi.shape[1].bit_length() - 1, _chunks(psi.shape[0], psi.numel())
        if chunks == 1:
            k.expval_z_back_range(n, psi.numpy(), ctx.wires, g, out, 0, psi.shape[0])
        else:
            k.expval_z_back(n, psi.numpy(), ctx.wires, g, out, chunks)
        return torch.from_numpy(out), None


def expval_z(state: torch.Tensor, wires: tuple[int, ...]) -> torch.Tensor | None:
    """``⟨Z_w⟩`` of complex128 CPU states (B, 2^n) by the compiled kernel; None where it does not apply."""
    if (state.dtype != torch.complex128 or state.device.type != "cpu" or state.dim() != 2 or not available()
            or state.shape[-1] < 2):
        return None
    return _ExpvalZ.apply(state, wires)
