"""Batched statevector simulation in torch, with a memory-light reversible backward.

A circuit is compiled once into a short list of fused blocks:

- a *one-qubit layer*: every run of single-qubit gates on a wire is multiplied
  into one 2x2 matrix, and neighbouring wires are grouped into Kronecker chunks
  of up to ``CHUNK`` qubits, each applied by one small matrix product on a
  reshaped view of the state (never a 2^n x 2^n matrix);
- a *permutation*: consecutive CNOT / SWAP / X / CCX gates become one gather;
- a *diagonal*: consecutive RZ-type, CZ, CRZ, CPHASE, RZZ gates become one phase
  vector ``exp(i φ)`` with ``φ`` linear in the angles;
- a *dense* multi-qubit gate (CRX, CRY, RXX, a fixed unitary, ...).

Starting from ``|0...0⟩`` the first one-qubit layer is a product state and is
built directly as a Kronecker product.

Gradients: :func:`statevector` is a ``torch.autograd.Function`` whose backward
pass walks the blocks in reverse, *un-computing* the state with each block's
inverse (all blocks are unitary) instead of storing it. Memory stays at a few
state vectors whatever the depth, and the cost is about three forward passes.
``method="backprop"`` runs plain torch autograd instead (stores every
intermediate state; supports higher derivatives).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from probe.errors import DataError
from probe.quantum._check import check_power_of_two, check_qubits
from probe.quantum.circuit import Circuit, Op
from probe.quantum.gates import GATES

__all__ = ["CHUNK", "apply_matrix", "real_dtype", "statevector", "threads_for", "zero_state"]

CHUNK = 4
"""Largest number of neighbouring qubits fused into one Kronecker chunk (16x16 matrix)."""
CHUNK_BATCHED = 2
"""The same when the chunk's matrices differ across the batch ((B, 4, 4) matrices)."""


SMALL = 2**18
"""Below this many amplitudes (batch x 2^n) a simulation runs on one thread: thread start-up and
barriers cost more than they save there, and far more when other processes share the cores."""


@contextlib.contextmanager
def threads_for(amplitudes: int) -> Iterator[None]:
    if amplitudes >= SMALL or torch.get_num_threads() == 1:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype == torch.complex64 else torch.float64


def zero_state(n_qubits: int, *, batch: int | None = None, dtype: torch.dtype = torch.complex128,
               device: torch.device | str | None = None) -> torch.Tensor:
    """``|0...0⟩`` as a tensor of shape ``(2^n,)``, or ``(batch, 2^n)``."""
    check_qubits(n_qubits, batch=batch or 1, copies=1)
    psi = torch.zeros((batch or 1, 2**n_qubits), dtype=dtype, device=device)
    psi[:, 0] = 1
    return psi if batch else psi[0]


def apply_matrix(state: torch.Tensor, matrix: Any, wires: tuple[int, ...] | list[int]) -> torch.Tensor:
    """Apply a small matrix (d, d) or a batch (B, d, d) to ``wires`` of states (2^n,) or (B, 2^n).

    The functional entry for circuits built on the fly (random circuits, measurements);
    differentiable. The first wire is the most significant index of the matrix.
    """
    n = check_power_of_two(int(state.shape[-1]), name="state")
    w = tuple(int(x) for x in wires)
    m = torch.as_tensor(matrix, dtype=state.dtype, device=state.device)
    if m.shape[-1] != 2 ** len(w) or len(set(w)) != len(w) or any(not 0 <= x < n for x in w):
        raise DataError(f"a {m.shape[-1]}x{m.shape[-1]} matrix cannot act on wires {w} of {n} qubits")
    squeeze = state.dim() == 1 and m.dim() == 2
    out = _move_apply(state if state.dim() == 2 else state[None], m, w, n)
    return out[0] if squeeze else out


# --------------------------------------------------------------------------- blocks
def _wire_matrices(wire_ops: dict[int, list[Op]], cols: list[torch.Tensor],
                    dtype: torch.dtype) -> dict[int, torch.Tensor]:
    """Per wire, the product (last gate on the left) of its single-qubit gates.

    Parametric gates of one name are built in one vectorised call (one sin/cos for
    the whole layer), separately for shared and batched angles so that shared
    gates stay (2, 2) matrices.
    """
    groups: dict[tuple[str, bool], list[Op]] = {}
    for ops in wire_ops.values():
        for op in ops:
            if op.param is not None:
                groups.setdefault((op.name, cols[op.param].dim() > 0), []).append(op)
    mats: dict[int, torch.Tensor] = {}  # id(op) -> matrix
    for (name, _), ops in groups.items():
        theta = torch.stack(torch.broadcast_tensors(*[cols[op.param] for op in ops]))
        built = _named_matrix(name, theta, dtype)
        for i, op in enumerate(ops):
            mats[id(op)] = built[i]
    out = {}
    for w, ops in wire_ops.items():
        m: torch.Tensor | None = None
        for op in ops:
            g = mats[id(op)] if id(op) in mats else _op_matrix(op, cols, dtype)
            m = g if m is None else g @ m
        assert m is not None
        out[w] = m
    return out


def _named_matrix(name: str, theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    from probe.quantum.gates import gate_matrix

    spec = GATES[name]
    if spec.kind == "dense":
        assert spec.dense is not None
        return spec.dense(theta, dtype)
    return gate_matrix(name, theta, dtype=dtype)


def _op_matrix(op: Op, cols: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    from probe.quantum.gates import gate_matrix

    if op.name == "UNITARY":
        return torch.as_tensor(op.matrix, dtype=dtype, device=cols[0].device if cols else None)
    spec = GATES[op.name]
    theta = cols[op.param] if op.param is not None else None
    if spec.kind == "dense":
        assert spec.dense is not None
        m = spec.dense(theta, dtype)
        return m.to(theta.device) if theta is not None else m
    m = gate_matrix(op.name, theta, dtype=dtype)
    return m


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product of (..., p, p) and (..., q, q) with broadcast batch dims."""
    p, q = a.shape[-1], b.shape[-1]
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(*out.shape[:-4], p * q, p * q)


def _apply_chunk(x: torch.Tensor, k_mat: torch.Tensor, start: int, k: int, n: int) -> torch.Tensor:
    """Apply a (…, d, d) matrix to wires ``start .. start+k-1`` of states ``x`` (…, 2^n)."""
    d, left, right = 2**k, 2**start, 2 ** (n - start - k)
    if k_mat.dim() == 2:
        y = k_mat @ x.reshape(-1, d, right)
        return y.reshape(*x.shape[:-1], -1)
    y = k_mat.unsqueeze(-3) @ x.reshape(*x.shape[:-1], left, d, right)
    return y.reshape(*y.shape[:-3], -1)


def _chunk_grad(pair: torch.Tensor, k_mat: torch.Tensor, start: int, k: int, n: int) -> torch.Tensor:
    """``Σ g ψ_out^H`` over everything but the chunk axis (and the batch axis if K is batched)."""
    d, left, right = 2**k, 2**start, 2 ** (n - start - k)
    if k_mat.dim() == 2:
        p = pair.reshape(2, -1, d, right)
        return torch.einsum("mir,mjr->ij", p[1], p[0].conj())
    p = pair.reshape(2, *pair.shape[1:-1], left, d, right)
    return torch.einsum("...blir,...bljr->bij", p[1], p[0].conj())


def _move_apply(x: torch.Tensor, k_mat: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """Apply a (…, d, d) matrix to arbitrary ``wires`` by moving them to the last axes."""
    k = len(wires)
    lead = x.shape[:-1]
    y = x.reshape(*lead, *([2] * n))
    src = [len(lead) + w for w in wires]
    dst = list(range(y.dim() - k, y.dim()))
    y = y.movedim(src, dst).reshape(*lead, 2 ** (n - k), 2**k)
    y = y @ k_mat.mT  # batch dims of a (B, d, d) matrix align with the trailing batch axis of y
    lead = y.shape[:-2]
    y = y.reshape(*lead, *([2] * n)).movedim(dst, src)
    return y.reshape(*lead, 2**n)


def _move_grad(pair: torch.Tensor, k_mat: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    k = len(wires)
    lead = pair.shape[:-1]
    y = pair.reshape(*lead, *([2] * n))
    src = [len(lead) + w for w in wires]
    dst = list(range(y.dim() - k, y.dim()))
    y = y.movedim(src, dst).reshape(*lead, 2 ** (n - k), 2**k)
    if k_mat.dim() == 2:
        y = y.reshape(2, -1, 2**k)
        return torch.einsum("mi,mj->ij", y[1], y[0].conj())
    return torch.einsum("...bmi,...bmj->bij", y[1], y[0].conj())


def _rot_apply(x: torch.Tensor, k_mat: torch.Tensor) -> torch.Tensor:
    """Apply K to the leading ``log2 d`` wires and rotate them to the back (one GEMM, no transpose copy).

    With x viewed as (M, d, A): ``out_m = x_m^T K^T`` of shape (A, d), so the wire
    order becomes [k..n) + [0..k). A full sweep over the wires restores the order.
    """
    d = k_mat.shape[-1]
    lead = x.shape[:-1]
    if k_mat.dim() == 2:
        x3 = x.reshape(-1, d, x.shape[-1] // d)
        return torch.bmm(x3.mT, k_mat.mT.expand(x3.shape[0], d, d)).reshape(*lead, -1)
    else:
        y = torch.matmul(x.reshape(*lead, d, x.shape[-1] // d).mT, k_mat.mT)
    return y.reshape(*y.shape[:-2], -1)


def _rot_inverse(x: torch.Tensor, k_mat: torch.Tensor) -> torch.Tensor:
    """Undo :func:`_rot_apply`: wires move from the back to the front, through K^H."""
    d = k_mat.shape[-1]
    lead = x.shape[:-1]
    if k_mat.dim() == 2:
        x3 = x.reshape(-1, x.shape[-1] // d, d)
        return torch.bmm(k_mat.mH.expand(x3.shape[0], d, d), x3.mT).reshape(*lead, -1)
    else:
        y = torch.matmul(k_mat.mH, x.reshape(*lead, x.shape[-1] // d, d).mT)
    return y.reshape(*y.shape[:-2], -1)


def _rot_grad(pair: torch.Tensor, k_mat: torch.Tensor) -> torch.Tensor:
    """dL/dK (torch's conjugate convention) of one rotated chunk, from output state and output grad.

    With out_m = x_m^T K^T: dL/dK = (Σ_m out_m^H G_m)^T K, one GEMM over all rows.
    """
    d = k_mat.shape[-1]
    if k_mat.dim() == 2:
        p = pair.reshape(2, -1, d)
    else:
        p = pair.reshape(2, k_mat.shape[0], -1, d)
    return (p[0].mH @ p[1]).mT @ k_mat


@dataclass
class _OneQubitLayer:
    """Single-qubit gates of one layer, fused per wire and applied in Kronecker chunks.

    ``sweep`` layers (most wires busy) cover all wires with chunks applied by
    :func:`_rot_apply`; sparse layers apply chunks in place on runs of busy wires.
    """

    wire_ops: dict[int, list[Op]]
    n: int
    sweep: bool = False
    chunks: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sweep = 2 * len(self.wire_ops) >= self.n
        if self.sweep:
            self.chunks = _sweep_layout(self.n, CHUNK)
        else:
            self.chunks = _chunk_layout(sorted(self.wire_ops))

    def tensors(self, cols: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
        mats = _wire_matrices(self.wire_ops, cols, dtype)
        eye = torch.eye(2, dtype=dtype, device=cols[0].device if cols else None)
        if self.sweep:  # batched matrices make large Kronecker chunks costly: use pairs for them
            self.chunks = _sweep_layout(self.n, CHUNK_BATCHED if any(m.dim() == 3 for m in mats.values()) else CHUNK)
        out = []
        for start, k in self.chunks:
            m = mats.get(start, eye)
            for w in range(start + 1, start + k):
                m = _kron(m, mats.get(w, eye))
            out.append(m)
        return out

    def apply(self, x: torch.Tensor, ts: list[torch.Tensor]) -> torch.Tensor:
        for (start, k), m in zip(self.chunks, ts, strict=True):
            x = _rot_apply(x, m) if self.sweep else _apply_chunk(x, m, start, k, self.n)
        return x

    def backward(self, pair: torch.Tensor, ts: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        grads: list[torch.Tensor] = [torch.empty(0)] * len(ts)
        for i in reversed(range(len(ts))):
            start, k = self.chunks[i]
            m = ts[i]
            if self.sweep:
                grads[i] = _rot_grad(pair, m)
                pair = _rot_inverse(pair, m)
            else:
                grads[i] = _chunk_grad(pair, m, start, k, self.n) @ m
                pair = _apply_chunk(pair, m.mH, start, k, self.n)
        return pair, grads


def _sweep_layout(n: int, limit: int) -> list[tuple[int, int]]:
    """Near-equal consecutive pieces of at most ``limit`` wires covering 0..n-1."""
    pieces = -(-n // limit)
    size = -(-n // pieces)
    return [(s, min(size, n - s)) for s in range(0, n, size)]


def _chunk_layout(wires: list[int]) -> list[tuple[int, int]]:
    """Split sorted wires into runs of neighbours of at most CHUNK qubits."""
    chunks: list[tuple[int, int]] = []
    run: list[int] = []
    for w in wires:
        if run and (w != run[-1] + 1 or len(run) >= CHUNK):
            chunks.append((run[0], len(run)))
            run = []
        run.append(w)
    if run:
        chunks.append((run[0], len(run)))
    return chunks


@dataclass
class _Product:
    """|0...0⟩ followed by a one-qubit layer: a product state, built as a Kronecker product."""

    wire_ops: dict[int, list[Op]]
    n: int

    def tensors(self, cols: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
        mats = _wire_matrices(self.wire_ops, cols, dtype)
        return [mats[w][..., :, 0] for w in sorted(self.wire_ops)]

    def apply(self, x: torch.Tensor | None, ts: list[torch.Tensor]) -> torch.Tensor:
        vecs = dict(zip(sorted(self.wire_ops), ts, strict=True))
        e0 = torch.zeros(2, dtype=ts[0].dtype, device=ts[0].device)
        e0[0] = 1
        out: torch.Tensor | None = None
        for w in range(self.n):
            v = vecs.get(w, e0)
            out = v if out is None else (out[..., :, None] * v[..., None, :]).reshape(
                *torch.broadcast_shapes(out.shape[:-1], v.shape[:-1]), -1)
        assert out is not None
        return out if out.dim() == 2 else out[None]


@dataclass
class _Perm:
    index: np.ndarray
    _t: dict[Any, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def _idx(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._t:
            idx = torch.as_tensor(self.index, device=device)
            inv = torch.empty_like(idx)
            inv[idx] = torch.arange(idx.numel(), device=device)
            self._t[device] = (idx, inv)
        return self._t[device]

    def tensors(self, cols: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
        return []

    def apply(self, x: torch.Tensor, ts: list[torch.Tensor]) -> torch.Tensor:
        return self._gather(x, 0)

    def backward(self, pair: torch.Tensor, ts: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self._gather(pair, 1), []

    def _gather(self, x: torch.Tensor, which: int) -> torch.Tensor:
        idx = self._idx(x.device)[which]
        if x.device.type == "cpu" and not x.requires_grad:
            # numpy's take is ~2x faster than torch's complex index_select on CPU
            return torch.from_numpy(np.take(x.resolve_conj().numpy(), idx.numpy(), axis=-1))
        return x.index_select(-1, idx)


@dataclass
class _Diag:
    const: np.ndarray
    slots: list[int] = field(default_factory=list)
    patterns: list[np.ndarray] = field(default_factory=list)

    def tensors(self, cols: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
        rd = real_dtype(dtype)
        device = cols[0].device if cols else None
        phi = torch.as_tensor(self.const, dtype=rd, device=device)
        if self.slots:
            angles = torch.stack(torch.broadcast_tensors(*[cols[s] for s in self.slots]), -1)
            pat = torch.as_tensor(np.stack(self.patterns), dtype=rd, device=device)
            phi = phi + angles @ pat
        return [torch.polar(torch.ones_like(phi), phi).to(dtype)]

    def apply(self, x: torch.Tensor, ts: list[torch.Tensor]) -> torch.Tensor:
        return x * ts[0]

    def backward(self, pair: torch.Tensor, ts: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        d = ts[0]
        g = pair[1] * pair[0].conj() * d
        g = g.reshape(-1, g.shape[-1]).sum(0) if d.dim() == 1 else g.reshape(-1, *d.shape).sum(0)
        return pair * d.conj(), [g]


@dataclass
class _Dense:
    op: Op
    n: int

    def tensors(self, cols: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
        return [_op_matrix(self.op, cols, dtype)]

    def apply(self, x: torch.Tensor, ts: list[torch.Tensor]) -> torch.Tensor:
        return _move_apply(x, ts[0], self.op.wires, self.n)

    def backward(self, pair: torch.Tensor, ts: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        m = ts[0]
        grad = _move_grad(pair, m, self.op.wires, self.n) @ m
        return _move_apply(pair, m.mH, self.op.wires, self.n), [grad]


# --------------------------------------------------------------------------- compile
def _embed_local(n: int, wires: tuple[int, ...]) -> np.ndarray:
    """For every global basis index, the index of its bits on ``wires`` (first wire most significant)."""
    idx = np.arange(2**n)
    local = np.zeros(2**n, dtype=np.int64)
    for w in wires:
        local = (local << 1) | ((idx >> (n - 1 - w)) & 1)
    return local


def _perm_index(n: int, op: Op) -> np.ndarray:
    spec = GATES[op.name]
    assert spec.perm is not None
    idx = np.arange(2**n)
    local = _embed_local(n, op.wires)
    src_local = np.asarray(spec.perm)[local]
    out = idx.copy()
    for j, w in enumerate(op.wires):
        bit = (src_local >> (len(op.wires) - 1 - j)) & 1
        shift = n - 1 - w
        out = (out & ~(1 << shift)) | (bit << shift)
    return out


@dataclass
class Plan:
    n: int
    blocks: list[Any]
    start_zero: bool


def compile_circuit(circuit: Circuit, *, start_zero: bool) -> Plan:
    """Fuse a circuit into blocks (cached on the circuit)."""
    key = ("plan", start_zero)
    if key in circuit._cache:
        return circuit._cache[key]
    n = circuit.n_qubits
    blocks: list[Any] = []
    pending: dict[int, list[Op]] = {}

    def flush() -> None:
        if pending:
            blocks.append(_OneQubitLayer({w: list(v) for w, v in sorted(pending.items())}, n))
            pending.clear()

    for op in circuit.ops:
        if op.is_measure:
            raise DataError("circuit has mid-circuit measurements", hint="simulate it with probe.quantum.run()")
        if len(op.wires) == 1:
            pending.setdefault(op.wires[0], []).append(op)
            continue
        flush()
        kind = "dense" if op.name == "UNITARY" else GATES[op.name].kind
        last = blocks[-1] if blocks else None
        if kind == "perm":
            idx = _perm_index(n, op)
            if isinstance(last, _Perm):
                last.index = last.index[idx]
            else:
                blocks.append(_Perm(idx))
        elif kind == "diag":
            spec = GATES[op.name]
            local = _embed_local(n, op.wires)
            const = np.asarray(spec.phase_const)[local]
            if not isinstance(last, _Diag):
                last = _Diag(np.zeros(2**n))
                blocks.append(last)
            last.const = last.const + const
            if op.param is not None:
                last.slots.append(op.param)
                last.patterns.append(np.asarray(spec.phase_coef)[local])
        else:
            blocks.append(_Dense(op, n))
    flush()
    if start_zero and blocks and isinstance(blocks[0], _OneQubitLayer):
        blocks[0] = _Product(blocks[0].wire_ops, n)
    plan = Plan(n, blocks, start_zero)
    circuit._cache[key] = plan
    return plan


# --------------------------------------------------------------------------- running
def _columns(groups: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    return [g[..., j] for g in groups for j in range(g.shape[-1])]


def _run_blocks(plan: Plan, state0: torch.Tensor | None, groups: tuple[torch.Tensor, ...],
                dtype: torch.dtype) -> torch.Tensor:
    cols = _columns(groups)
    x = state0
    for blk in plan.blocks:
        ts = blk.tensors(cols, dtype)
        if isinstance(blk, _Product):
            x = blk.apply(None, ts)
        else:
            if x is None:
                x = zero_state(plan.n, batch=1, dtype=dtype, device=groups[0].device if groups else None)
            x = blk.apply(x, ts)
    if x is None:
        x = zero_state(plan.n, batch=1, dtype=dtype, device=groups[0].device if groups else None)
    return x


class _Simulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, plan: Plan, dtype: torch.dtype, state0: torch.Tensor | None,
                *groups: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = _run_blocks(plan, state0, groups, dtype)
        ctx.plan, ctx.dtype, ctx.has_state = plan, dtype, state0 is not None
        ctx.state_shape = None if state0 is None else state0.shape
        ctx.save_for_backward(out, *groups)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        with threads_for(ctx.saved_tensors[0].numel()):
            return _Simulate._backward(ctx, grad)

    @staticmethod
    def _backward(ctx: Any, grad: torch.Tensor) -> Any:
        out, *groups = ctx.saved_tensors
        plan, dtype = ctx.plan, ctx.dtype
        need = ctx.needs_input_grad[3:]
        leaves = [g.detach().requires_grad_(bool(nd)) for g, nd in zip(groups, need, strict=True)]
        pair = torch.stack(torch.broadcast_tensors(out, grad))
        for blk in reversed(plan.blocks):
            with torch.enable_grad():
                ts = blk.tensors(_columns(tuple(leaves)), dtype)
            if isinstance(blk, _Product):
                if any(t.requires_grad for t in ts):
                    with torch.enable_grad():
                        prod = blk.apply(None, ts)
                        g = pair[1]
                        g = g.sum(0, keepdim=True) if prod.shape[0] == 1 and g.shape[0] != 1 else g
                        torch.autograd.backward(prod, g)
                pair = None
                break
            pair, gts = blk.backward(pair, [t.detach() for t in ts])
            live = [(t, g) for t, g in zip(ts, gts, strict=True) if t.requires_grad]
            if live:
                torch.autograd.backward([t for t, _ in live], [g for _, g in live])
        grad_state = None
        if ctx.has_state and ctx.needs_input_grad[2] and pair is not None:
            grad_state = pair[1]
            if grad_state.shape != ctx.state_shape:
                grad_state = grad_state.sum(0, keepdim=True)
        gg = [lf.grad if nd else None for lf, nd in zip(leaves, need, strict=True)]
        gg = [None if g is None else g.to(grp.dtype) for g, grp in zip(gg, groups, strict=True)]
        return (None, None, grad_state, *gg)


def statevector(circuit: Circuit, *params: Any, state: Any = None, dtype: torch.dtype = torch.complex128,
                method: str = "reversible") -> torch.Tensor:
    """Final state of ``circuit`` for one parameter set or a batch.

    Parameters
    ----------
    circuit : Circuit
        Without measurements (use :func:`probe.quantum.run` for those).
    *params : array-like, each of shape (P_i,) or (B, P_i)
        The circuit's flat angle vector (radians), possibly split in pieces that are
        concatenated along the last axis, e.g. ``statevector(enc + ansatz, x, weights)``
        with ``x`` of shape (B, n) and ``weights`` of shape (P,) shared by the batch.
        The pieces' lengths must add up to ``circuit.n_params``.
    state : array-like of shape (2^n,) or (B, 2^n), optional
        Initial state; default ``|0...0⟩``. May require grad (amplitude encoding).
    dtype : torch.complex128 (default) or torch.complex64
    method : {"reversible", "backprop"}
        How gradients are computed: ``reversible`` (default) recomputes states
        backwards through inverse gates, O(1) states of memory; ``backprop`` is
        plain torch autograd (stores every intermediate; allows double backward).

    Returns
    -------
    torch.Tensor of shape (2^n,) or (B, 2^n)
        Batched when any input is batched. Differentiable w.r.t. every param piece
        and ``state``.
    """
    if not isinstance(circuit, Circuit):
        raise DataError(f"statevector needs a probe.quantum.Circuit; got {type(circuit).__name__}")
    rows = max([1] + [int(np.shape(p)[0]) for p in (*params, state) if p is not None and np.ndim(p) == 2])
    with threads_for(rows * 2**circuit.n_qubits):
        return _statevector(circuit, params, state, dtype, method)


def _statevector(circuit: Circuit, params: tuple[Any, ...], state: Any, dtype: torch.dtype,
                 method: str) -> torch.Tensor:
    if dtype not in (torch.complex64, torch.complex128):
        raise DataError(f"dtype must be torch.complex64 or torch.complex128; got {dtype}")
    rd = real_dtype(dtype)
    groups, batch = _check_params(circuit, params, rd)
    state0 = None
    if state is not None:
        state0 = torch.as_tensor(state)
        if not state0.is_complex():
            state0 = state0.to(rd)
        state0 = state0.to(dtype)
        if state0.dim() not in (1, 2) or state0.shape[-1] != 2**circuit.n_qubits:
            check_power_of_two(state0.shape[-1], name="state")
            raise DataError(f"state has {state0.shape[-1]} amplitudes; a {circuit.n_qubits}-qubit circuit needs "
                            f"{2**circuit.n_qubits}")
        if state0.dim() == 2:
            if batch not in (1, state0.shape[0]) and state0.shape[0] != 1:
                raise DataError(f"state batch {state0.shape[0]} does not match parameter batch {batch}")
            batch = max(batch, state0.shape[0])
    check_qubits(circuit.n_qubits, batch=batch, itemsize=torch.empty((), dtype=dtype).element_size())
    batched = (state0 is not None and state0.dim() == 2) or any(g.dim() == 2 for g in groups)
    if state0 is not None and state0.dim() == 1:
        state0 = state0[None]
    plan = compile_circuit(circuit, start_zero=state0 is None)
    if method not in ("reversible", "backprop"):
        raise DataError(f"method must be 'reversible' or 'backprop'; got {method!r}")
    if method == "reversible":
        out = _Simulate.apply(plan, dtype, state0, *groups)
    else:
        out = _run_blocks(plan, state0, tuple(groups), dtype)
    if out.shape[0] != batch:
        out = out.expand(batch, -1)
    return out if batched else out[0]


def _check_params(circuit: Circuit, params: tuple[Any, ...], rd: torch.dtype) -> tuple[list[torch.Tensor], int]:
    groups: list[torch.Tensor] = []
    batch = 1
    for i, p in enumerate(params):
        t = torch.as_tensor(p)
        if t.is_complex():
            raise DataError(f"parameter piece {i} is complex; angles must be real")
        t = t.to(rd)
        if t.dim() == 0:
            t = t[None]
        if t.dim() not in (1, 2):
            raise DataError(f"parameter piece {i} must have shape (P,) or (B, P); got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise DataError(f"parameter piece {i} contains NaN or infinite angles")
        if t.dim() == 2:
            if batch not in (1, t.shape[0]) and t.shape[0] != 1:
                raise DataError(f"parameter piece {i} has batch {t.shape[0]}, another piece has {batch}")
            batch = max(batch, t.shape[0])
        groups.append(t)
    total = sum(g.shape[-1] for g in groups)
    if total != circuit.n_params:
        raise DataError(f"circuit has {circuit.n_params} angle slot(s) but {total} angle(s) were given",
                        hint="pass inputs and weights whose lengths add up to circuit.n_params")
    return groups, batch
