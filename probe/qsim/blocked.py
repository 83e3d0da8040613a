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

The small arrays (fused 2x2 matrices, phase vectors, product-start vectors) are built
by the kernel module from the raw angle columns, and the gradients of the angles come
back from them analytically (:func:`probe.qsim.kernels.chain`): a call is one
``torch.autograd.Function`` whatever the number of gates, and costs a few tens of
microseconds of Python at 4 qubits. Everything that does not depend on the angles (the
fused plan, the kernel rows, the gate recipes, the diagonal patterns, the constant
matrices) is lowered once per circuit structure and per pattern of shared / per-sample
angle pieces, and cached (on the plan, which :func:`~probe.qsim.fusion.compile_circuit`
caches per circuit and per structure).

Used by :func:`probe.qsim.statevector` for ``method="reversible"``, complex128, CPU,
when numba is installed and every block is supported (one-qubit layers, diagonals,
permutations); otherwise the torch engine runs. ``PROBE_QSIM_ENGINE=torch`` forces it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
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
)
from probe.qsim.gates import gate_matrix

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
    """A plan as kernel steps, plus its programs (one per pattern of shared / per-sample angle pieces)."""

    n: int
    start: Any  # ProductStart or None
    steps: list[tuple[str, Any]]  # ("gates", layer) | ("diag", block) | ("perm", perm index)
    perms: np.ndarray  # (P, 2, 2^n) int64: index and inverse
    programs: dict[Any, _Program] = field(default_factory=dict)


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
class _Program:
    """Everything a call needs but the angles: kernel rows, gate recipes, diagonal patterns.

    Built once per circuit structure and pattern of shared / per-sample angle columns
    (``colb``); a call only fills the pools from the angles (:func:`kernels.build`).
    """

    rows: np.ndarray  # (R, 4) kernel rows (kind, wire, pool slot, batched)
    colb: np.ndarray  # (P,) 1 where the angle column is per sample
    sops: np.ndarray  # (K, 3) elementary gates (code, column or -1, constant index)
    consts: np.ndarray  # (C, 2, 2) constant one-qubit matrices
    slots: np.ndarray  # (S, 5) fused matrices (start, length, to, pool, batched)
    diags: np.ndarray  # (D, 4) diagonals (first pattern, count, pool, batched)
    dcol: np.ndarray  # (Q,) angle column of each pattern row
    dpat: np.ndarray  # (Q, 2^n) phase patterns
    dconst: np.ndarray  # (D, 2^n) constant phases
    n_ms: int
    n_mb: int
    n_ds: int
    n_db: int
    prod_batched: bool


_PARAMETRIC = {"RX": 1, "RY": 2, "RZ": 3, "PHASE": 4}  # kernels.OP_RX ... OP_PHASE


def _program(low: _Lowered, colb: np.ndarray) -> _Program:
    """Lower the steps of ``low`` for one pattern of per-sample angle columns (cached by the caller)."""
    from probe.qsim.kernels import DIAG, GATE, GATE_REAL, PERM, TO_BATCHED, TO_PRODUCT, TO_SHARED

    size = 2**low.n
    sops: list[tuple[int, int, int]] = []
    consts: list[np.ndarray] = [np.eye(2, dtype=np.complex128)]
    const_index: dict[Any, int] = {}
    slots: list[tuple[int, int, int, int, int]] = []
    rows: list[tuple[int, int, int, int]] = []
    pools = {"ms": 0, "mb": 0, "ds": 0, "db": 0}

    def recipe(ops: list[Any]) -> tuple[int, int, bool]:
        first = len(sops)
        batched = False
        for op in ops:
            if op.param is not None:
                sops.append((_PARAMETRIC[op.name], op.param, 0))
                batched = batched or bool(colb[op.param])
                continue
            key = op.name if op.name != "UNITARY" else ("UNITARY", op.matrix.tobytes())
            if key not in const_index:
                m = op.matrix if op.name == "UNITARY" else gate_matrix(op.name).numpy()
                const_index[key] = len(consts)
                consts.append(np.asarray(m, dtype=np.complex128))
            sops.append((0, -1, const_index[key]))  # kernels.OP_CONST
        return first, len(sops) - first, batched

    def take(pool: str) -> int:
        pools[pool] += 1
        return pools[pool] - 1

    prod_batched = False
    if low.start is not None:
        for w in sorted(low.start.wire_ops):
            first, length, batched = recipe(low.start.wire_ops[w])
            slots.append((first, length, TO_PRODUCT, w, int(batched)))
            prod_batched = prod_batched or batched
    diags: list[tuple[int, int, int, int]] = []
    dcol: list[int] = []
    dpat: list[np.ndarray] = []
    dconst: list[np.ndarray] = []
    for kind, blk in low.steps:
        if kind == "gates":
            for w in sorted(blk.wire_ops):
                ops = blk.wire_ops[w]
                first, length, batched = recipe(ops)
                pool = take("mb" if batched else "ms")
                slots.append((first, length, TO_BATCHED if batched else TO_SHARED, pool, int(batched)))
                rows.append((GATE_REAL if _is_real(ops) else GATE, w, pool, int(batched)))
        elif kind == "diag":
            batched = any(colb[c] for c in blk.slots)
            pool = take("db" if batched else "ds")
            diags.append((len(dcol), len(blk.slots), pool, int(batched)))
            dcol.extend(blk.slots)
            dpat.extend(np.asarray(p, dtype=np.float64) for p in blk.patterns)
            dconst.append(np.asarray(blk.const, dtype=np.float64))
            rows.append((DIAG, 0, pool, int(batched)))
        else:
            rows.append((PERM, 0, blk, 0))
    i64 = np.int64
    return _Program(
        rows=np.asarray(rows, dtype=i64).reshape(-1, 4), colb=colb,
        sops=np.asarray(sops, dtype=i64).reshape(-1, 3), consts=np.stack(consts),
        slots=np.asarray(slots, dtype=i64).reshape(-1, 5), diags=np.asarray(diags, dtype=i64).reshape(-1, 4),
        dcol=np.asarray(dcol, dtype=i64), dpat=np.stack(dpat) if dpat else np.zeros((0, size)),
        dconst=np.stack(dconst) if dconst else np.zeros((0, size)),
        n_ms=pools["ms"], n_mb=pools["mb"], n_ds=pools["ds"], n_db=pools["db"], prod_batched=prod_batched)


def _angles(low: _Lowered, groups: tuple[torch.Tensor, ...], batch: int) -> tuple[_Program, np.ndarray]:
    """The call's program (cached per pattern of per-sample pieces) and its angle matrix (B or 1, P)."""
    key = tuple((g.shape[-1], g.dim() == 2 and g.shape[0] > 1) for g in groups)
    prog = low.programs.get(key)
    if prog is None:
        colb = np.concatenate([np.full(p, int(per), np.int64) for p, per in key]) if key else np.zeros(0, np.int64)
        prog = low.programs[key] = _program(low, colb)
    rows = batch if any(per for _, per in key) else 1
    theta = np.empty((rows, prog.colb.size))
    off = 0
    for g, (p, _) in zip(groups, key, strict=True):
        theta[:, off:off + p] = g.detach().numpy()
        off += p
    return prog, theta


def _chunks(batch: int, amplitudes: int) -> int:
    import numba

    threads = 1 if amplitudes < SMALL else numba.get_num_threads()
    return max(1, min(batch, threads))


class _Blocked(torch.autograd.Function):
    """States (B, 2^n) from the angle pieces (and an initial state): one Function per call.

    Gate matrices and phases are built from the angles in the kernel module
    (:func:`kernels.build`) and the gradients of the angles come back analytically
    (:func:`kernels.chain`): no torch autograd graph is built around the kernels.
    """

    @staticmethod
    def forward(ctx: Any, low: _Lowered, batch: int, state0: torch.Tensor | None,
                *groups: torch.Tensor) -> torch.Tensor:
        k = _kernels()
        prog, theta = _angles(low, groups, batch)
        size = 2**low.n
        c = np.complex128
        ms = np.empty((prog.n_ms, 2, 2), c)
        mb = np.empty((batch if prog.n_mb else 1, prog.n_mb, 2, 2), c)
        ds = np.empty((prog.n_ds, 2, size))
        db = np.empty((batch if prog.n_db else 1, prog.n_db, 2, size))
        prod = np.empty((batch if prog.prod_batched else 1, low.n, 2), c)
        k.build(theta, prog.sops, prog.consts, prog.slots, prog.diags, prog.dcol, prog.dpat, prog.dconst,
                ms, mb, ds, db, prod)
        mode = k.START_PRODUCT if low.start is not None else (k.START_STATE if state0 is not None else k.START_ZERO)
        s0 = (state0.detach().to(torch.complex128).contiguous().numpy() if state0 is not None
              else np.zeros((1, size), c))
        out = np.empty((batch, size), c)
        chunks = _chunks(batch, batch * size)
        args = (low.n, prog.rows, ms, mb, ds, db, low.perms, mode, prod, s0, out)
        if chunks == 1:  # a parallel launch wakes the thread pool: milliseconds on a busy machine
            k.forward_range(*args, 0, batch)
        else:
            k.forward(*args, chunks)
        result = torch.from_numpy(out)
        ctx.low, ctx.prog, ctx.theta, ctx.pools, ctx.mode = low, prog, theta, (ms, mb, ds, db, prod), mode
        ctx.shapes = [tuple(g.shape) for g in groups]
        ctx.state_shape = None if state0 is None else tuple(state0.shape)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        k = _kernels()
        (psi,) = ctx.saved_tensors
        low, prog, theta = ctx.low, ctx.prog, ctx.theta
        ms, mb, ds, db, prod = ctx.pools
        batch, size = psi.shape
        chunks = _chunks(batch, batch * size)
        gms = np.zeros((chunks, prog.n_ms, 2, 2), np.complex128)
        gmb = np.zeros((batch if prog.n_mb else 1, prog.n_mb, 2, 2), np.complex128)
        gds = np.zeros((chunks, prog.n_ds, size))
        gdb = np.zeros((batch if prog.n_db else 1, prog.n_db, size))
        gprod = np.zeros((batch if low.start is not None else 1, low.n, 2), np.complex128)
        want_state = ctx.mode == k.START_STATE and ctx.needs_input_grad[2]
        gstate = np.zeros((batch if want_state else 1, size), np.complex128)
        g = grad.to(torch.complex128).expand(batch, size).contiguous().numpy()
        args = (low.n, prog.rows, ms, mb, ds, db, low.perms,
                ctx.mode if ctx.mode != k.START_STATE or want_state else k.START_ZERO, prod,
                psi.numpy(), g, gms, gmb, gds, gdb, gprod, gstate)
        if chunks == 1:
            k.backward_range(*args, 0, 0, batch)
        else:
            k.backward(*args)
        gg: list[torch.Tensor | None] = [None] * len(ctx.shapes)
        if any(ctx.needs_input_grad[3:]):
            gsh = np.zeros(prog.colb.size)
            gba = np.zeros(theta.shape)
            k.chain(theta, prog.colb, prog.sops, prog.consts, prog.slots, prog.diags, prog.dcol, prog.dpat,
                    gms, gmb, gds, gdb, gprod, gsh, gba)
            off = 0
            for i, shape in enumerate(ctx.shapes):
                p = shape[-1]
                if ctx.needs_input_grad[3 + i]:
                    per = len(shape) == 2 and shape[0] > 1
                    gg[i] = torch.from_numpy((gba[:, off:off + p] if per else gsh[off:off + p]).reshape(shape))
                off += p
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
