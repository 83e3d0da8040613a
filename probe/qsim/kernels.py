"""Numba kernels of the sample-blocked engine (internal to :mod:`probe.qsim.blocked`).

One sample's state (2^n complex amplitudes, kept as ``[re | im]`` in one float64
array of length 2^(n+1)) goes through the whole program, forward or backward,
while it sits in the core's cache: at 12 qubits that is 64 KiB of state and
64 KiB of adjoint. Threads take contiguous ranges of samples (``prange`` over
chunks); gradients of tensors shared by the batch are summed per chunk.

Program rows ``(kind, wire, slot, batched)``:

- ``GATE`` / ``GATE_REAL``: a 2x2 matrix on ``wire`` (wire 0 = most significant bit),
  from the shared pool ``ms[slot]`` or the batched pool ``mb[b, slot]``; a real gate
  (RY, H, X, Z and their products) acts on re and im alike, at a third of the cost;
- ``DIAG``: multiply by ``exp(iφ)`` given as ``(cos φ, sin φ)``; its gradient is
  ``∂L/∂φ_k = Im(ḡ_k ψ_k)``-type (see :func:`_diag_back`);
- ``PERM``: ``out[k] = in[idx[k]]``, undone with the inverse index.

Gate building (:func:`build`, :func:`chain`): the pools are filled from the raw angle
matrix ``theta`` (B or 1, P) per call, and the pools' gradients are carried back to
``∂L/∂θ`` analytically, so no torch autograd runs around the kernels. A fused matrix
is the product ``U_k … U_1`` of elementary gates (rows ``(code, column, constant)`` of
``sops``: RX, RY, RZ, PHASE of an angle column, or a constant 2x2); its angle
derivative is ``∂L/∂θ_i = Re tr(P_i G^H S_i ∂U_i)`` with ``P_i = U_{i-1} … U_1``,
``S_i = U_k … U_{i+1}`` and ``G`` the pool gradient. A diagonal's phases are
``φ = const + Σ_q θ_{col q} pattern_q``, so ``∂L/∂θ_col += ⟨∂L/∂φ, pattern_q⟩``.

Gradients follow torch's convention for complex tensors: ``g = ∂L/∂Re ψ + i ∂L/∂Im ψ``;
``grad_U = Σ g_out ψ_inᴴ``; for a real gate only the real part is kept (exact for
a real-valued matrix function).
"""

from __future__ import annotations

import numba as nb
import numpy as np

GATE, GATE_REAL, DIAG, PERM = 0, 1, 2, 3
START_ZERO, START_PRODUCT, START_STATE = 0, 1, 2
OP_CONST, OP_RX, OP_RY, OP_RZ, OP_PHASE = 0, 1, 2, 3, 4
"""Elementary one-qubit gates a fused 2x2 matrix is built from (see :func:`build`)."""
TO_SHARED, TO_BATCHED, TO_PRODUCT = 0, 1, 2
"""Where a fused matrix goes: the shared pool ``ms``, the batched pool ``mb``, a product-start vector."""

_JIT = {"cache": True, "fastmath": True, "nogil": True}


@nb.njit(**_JIT)
def _gate_real(st, n, w, a, b, c, d):
    s = 1 << (n - 1 - w)
    total = 2 << n
    for base in range(0, total, 2 * s):
        for k in range(base, base + s):
            x0 = st[k]
            x1 = st[k + s]
            st[k] = a * x0 + b * x1
            st[k + s] = c * x0 + d * x1


@nb.njit(**_JIT)
def _gate(st, n, w, ar, ai, br, bi, cr, ci, dr, di):
    s = 1 << (n - 1 - w)
    size = 1 << n
    for base in range(0, size, 2 * s):
        for k in range(base, base + s):
            x0r = st[k]
            x1r = st[k + s]
            x0i = st[size + k]
            x1i = st[size + k + s]
            st[k] = ar * x0r - ai * x0i + br * x1r - bi * x1i
            st[size + k] = ar * x0i + ai * x0r + br * x1i + bi * x1r
            st[k + s] = cr * x0r - ci * x0i + dr * x1r - di * x1i
            st[size + k + s] = cr * x0i + ci * x0r + dr * x1i + di * x1r


@nb.njit(**_JIT)
def _diag(st, dre, dim):
    size = dre.shape[0]
    for k in range(size):
        xr = st[k]
        xi = st[size + k]
        st[k] = xr * dre[k] - xi * dim[k]
        st[size + k] = xr * dim[k] + xi * dre[k]


@nb.njit(**_JIT)
def _perm(src, dst, idx):
    size = idx.shape[0]
    for k in range(size):
        j = idx[k]
        dst[k] = src[j]
        dst[size + k] = src[size + j]


@nb.njit(**_JIT)
def _product(st, v):
    """Kronecker product of the per-wire 2-vectors ``v`` (n, 2) complex, wire 0 most significant."""
    n = v.shape[0]
    size = 1 << n
    st[0] = 1.0
    st[size] = 0.0
    m = 1
    for w in range(n):
        v0r, v0i = v[w, 0].real, v[w, 0].imag
        v1r, v1i = v[w, 1].real, v[w, 1].imag
        for i in range(m - 1, -1, -1):
            xr = st[i]
            xi = st[size + i]
            st[2 * i] = xr * v0r - xi * v0i
            st[size + 2 * i] = xr * v0i + xi * v0r
            st[2 * i + 1] = xr * v1r - xi * v1i
            st[size + 2 * i + 1] = xr * v1i + xi * v1r
        m *= 2


@nb.njit(**_JIT)
def _start(st, b, n, mode, prod, state0):
    size = 1 << n
    if mode == START_PRODUCT:
        _product(st, prod[b if prod.shape[0] > 1 else 0])
    elif mode == START_STATE:
        row = b if state0.shape[0] > 1 else 0
        for k in range(size):
            st[k] = state0[row, k].real
            st[size + k] = state0[row, k].imag
    else:
        st[:] = 0.0
        st[0] = 1.0


@nb.njit(**_JIT)
def _run_forward(st, tmp, b, n, ops, ms, mb, ds, db, perms):
    for i in range(ops.shape[0]):
        kind, w, slot, batched = ops[i, 0], ops[i, 1], ops[i, 2], ops[i, 3]
        if kind <= GATE_REAL:  # GATE or GATE_REAL
            m = mb[b, slot] if batched else ms[slot]
            if kind == GATE_REAL:
                _gate_real(st, n, w, m[0, 0].real, m[0, 1].real, m[1, 0].real, m[1, 1].real)
            else:
                _gate(st, n, w, m[0, 0].real, m[0, 0].imag, m[0, 1].real, m[0, 1].imag,
                      m[1, 0].real, m[1, 0].imag, m[1, 1].real, m[1, 1].imag)
        elif kind == DIAG:
            d = db[b, slot] if batched else ds[slot]
            _diag(st, d[0], d[1])
        else:
            _perm(st, tmp, perms[slot, 0])
            st[:] = tmp[:]


@nb.njit(**_JIT)
def forward_range(n, ops, ms, mb, ds, db, perms, mode, prod, state0, out, lo, hi):
    """Final states ``out[lo:hi]`` (complex) of the program, one sample at a time."""
    size = 1 << n
    st = np.empty(2 * size)
    tmp = np.empty(2 * size)
    for b in range(lo, hi):
        _start(st, b, n, mode, prod, state0)
        _run_forward(st, tmp, b, n, ops, ms, mb, ds, db, perms)
        for k in range(size):
            out[b, k] = complex(st[k], st[size + k])


@nb.njit(parallel=True, **_JIT)
def forward(n, ops, ms, mb, ds, db, perms, mode, prod, state0, out, chunks):
    """:func:`forward_range` over ``chunks`` contiguous ranges of samples, one per thread."""
    batch = out.shape[0]
    for c in nb.prange(chunks):
        forward_range(n, ops, ms, mb, ds, db, perms, mode, prod, state0, out,
                      c * batch // chunks, (c + 1) * batch // chunks)


@nb.njit(**_JIT)
def _gate_real_back(st, g, n, w, a, b, c, d):
    """Un-compute a real gate on state and adjoint; return Σ g_out ψ_inᵀ (real parts)."""
    s = 1 << (n - 1 - w)
    total = 2 << n
    g00 = 0.0
    g01 = 0.0
    g10 = 0.0
    g11 = 0.0
    for base in range(0, total, 2 * s):
        for k in range(base, base + s):
            p0 = st[k]
            p1 = st[k + s]
            q0 = a * p0 + c * p1
            q1 = b * p0 + d * p1
            st[k] = q0
            st[k + s] = q1
            h0 = g[k]
            h1 = g[k + s]
            g00 += h0 * q0
            g01 += h0 * q1
            g10 += h1 * q0
            g11 += h1 * q1
            g[k] = a * h0 + c * h1
            g[k + s] = b * h0 + d * h1
    return g00, g01, g10, g11


@nb.njit(**_JIT)
def _gate_back(st, g, n, w, ar, ai, br, bi, cr, ci, dr, di, acc):
    """Un-compute a complex gate (apply Uᴴ) on state and adjoint; add Σ g_out ψ_inᴴ to ``acc`` (2, 2)."""
    s = 1 << (n - 1 - w)
    size = 1 << n
    r00 = 0.0
    i00 = 0.0
    r01 = 0.0
    i01 = 0.0
    r10 = 0.0
    i10 = 0.0
    r11 = 0.0
    i11 = 0.0
    for base in range(0, size, 2 * s):
        for k in range(base, base + s):
            p0r = st[k]
            p1r = st[k + s]
            p0i = st[size + k]
            p1i = st[size + k + s]
            # q = Uᴴ p: q0 = ā p0 + c̄ p1, q1 = b̄ p0 + d̄ p1
            q0r = ar * p0r + ai * p0i + cr * p1r + ci * p1i
            q0i = ar * p0i - ai * p0r + cr * p1i - ci * p1r
            q1r = br * p0r + bi * p0i + dr * p1r + di * p1i
            q1i = br * p0i - bi * p0r + dr * p1i - di * p1r
            st[k] = q0r
            st[size + k] = q0i
            st[k + s] = q1r
            st[size + k + s] = q1i
            h0r = g[k]
            h1r = g[k + s]
            h0i = g[size + k]
            h1i = g[size + k + s]
            # h_i q̄_j
            r00 += h0r * q0r + h0i * q0i
            i00 += h0i * q0r - h0r * q0i
            r01 += h0r * q1r + h0i * q1i
            i01 += h0i * q1r - h0r * q1i
            r10 += h1r * q0r + h1i * q0i
            i10 += h1i * q0r - h1r * q0i
            r11 += h1r * q1r + h1i * q1i
            i11 += h1i * q1r - h1r * q1i
            g[k] = ar * h0r + ai * h0i + cr * h1r + ci * h1i
            g[size + k] = ar * h0i - ai * h0r + cr * h1i - ci * h1r
            g[k + s] = br * h0r + bi * h0i + dr * h1r + di * h1i
            g[size + k + s] = br * h0i - bi * h0r + dr * h1i - di * h1r
    acc[0, 0] += complex(r00, i00)
    acc[0, 1] += complex(r01, i01)
    acc[1, 0] += complex(r10, i10)
    acc[1, 1] += complex(r11, i11)


@nb.njit(**_JIT)
def _diag_back(st, g, dre, dim, acc):
    """Add ``∂L/∂φ_k = Im(g_k) Re(ψ_k) − Re(g_k) Im(ψ_k)`` to ``acc``; un-compute state and adjoint."""
    size = dre.shape[0]
    for k in range(size):
        pr = st[k]
        pi = st[size + k]
        hr = g[k]
        hi = g[size + k]
        acc[k] += hi * pr - hr * pi
        cr = dre[k]
        ci = dim[k]
        st[k] = pr * cr + pi * ci
        st[size + k] = pi * cr - pr * ci
        g[k] = hr * cr + hi * ci
        g[size + k] = hi * cr - hr * ci


@nb.njit(**_JIT)
def _product_back(g, v, out, right, left):
    """``out[w, j] = Σ_{k: bit_w(k) = j} g_k conj(Π_{w' ≠ w} v_{w'}[bit_{w'}(k)])`` in O(2^n).

    ``right`` holds R_m (size 2^m, offset 2^m): g contracted with v̄ on wires m..n-1;
    ``left`` the running products of v̄ on wires 0..w-1.
    """
    n = v.shape[0]
    size = 1 << n
    for k in range(size):
        right[size + k] = complex(g[k], g[size + k])
    for m in range(n - 1, 0, -1):  # R_m from R_{m+1}
        half = 1 << m
        a = np.conj(v[m, 0])
        b = np.conj(v[m, 1])
        for i in range(half):
            right[half + i] = right[2 * half + 2 * i] * a + right[2 * half + 2 * i + 1] * b
    left[0] = 1.0
    m = 1
    for w in range(n):
        s0 = 0j
        s1 = 0j
        base = 2 * m  # R_{w+1} lives at offset 2^(w+1)
        for i in range(m):
            s0 += left[i] * right[base + 2 * i]
            s1 += left[i] * right[base + 2 * i + 1]
        out[w, 0] = s0
        out[w, 1] = s1
        a = np.conj(v[w, 0])
        b = np.conj(v[w, 1])
        for i in range(m - 1, -1, -1):
            x = left[i]
            left[2 * i] = x * a
            left[2 * i + 1] = x * b
        m *= 2


@nb.njit(**_JIT)
def backward_range(n, ops, ms, mb, ds, db, perms, mode, prod, psi, grad, gms, gmb, gds, gdb, gprod, gstate,
                   c, lo, hi):
    """Reverse sweep over samples ``lo:hi`` from final states ``psi`` and their adjoints ``grad`` (B, 2^n).

    Shared-tensor gradients are summed into ``gms[c]`` (S, 2, 2) and ``gds[c]`` (D, 2^n);
    batched ones go per sample into ``gmb`` / ``gdb``; the product start's vector
    gradients into ``gprod`` (B, n, 2) and the initial-state adjoint into ``gstate``.
    """
    size = 1 << n
    st = np.empty(2 * size)
    g = np.empty(2 * size)
    tmp = np.empty(2 * size)
    right = np.empty(2 * size, dtype=np.complex128)
    left = np.empty(size, dtype=np.complex128)
    for b in range(lo, hi):
        for k in range(size):
            st[k] = psi[b, k].real
            st[size + k] = psi[b, k].imag
            g[k] = grad[b, k].real
            g[size + k] = grad[b, k].imag
        for i in range(ops.shape[0] - 1, -1, -1):
            kind, w, slot, batched = ops[i, 0], ops[i, 1], ops[i, 2], ops[i, 3]
            if kind <= GATE_REAL:  # GATE or GATE_REAL
                m = mb[b, slot] if batched else ms[slot]
                acc = gmb[b, slot] if batched else gms[c, slot]
                if kind == GATE_REAL:
                    r = _gate_real_back(st, g, n, w, m[0, 0].real, m[0, 1].real, m[1, 0].real, m[1, 1].real)
                    acc[0, 0] += r[0]
                    acc[0, 1] += r[1]
                    acc[1, 0] += r[2]
                    acc[1, 1] += r[3]
                else:
                    _gate_back(st, g, n, w, m[0, 0].real, m[0, 0].imag, m[0, 1].real, m[0, 1].imag,
                               m[1, 0].real, m[1, 0].imag, m[1, 1].real, m[1, 1].imag, acc)
            elif kind == DIAG:
                d = db[b, slot] if batched else ds[slot]
                _diag_back(st, g, d[0], d[1], gdb[b, slot] if batched else gds[c, slot])
            else:
                inv = perms[slot, 1]
                _perm(st, tmp, inv)
                st[:] = tmp[:]
                _perm(g, tmp, inv)
                g[:] = tmp[:]
        if mode == START_PRODUCT:
            _product_back(g, prod[b if prod.shape[0] > 1 else 0], gprod[b], right, left)
        elif mode == START_STATE:
            for k in range(size):
                gstate[b, k] = complex(g[k], g[size + k])


@nb.njit(parallel=True, **_JIT)
def backward(n, ops, ms, mb, ds, db, perms, mode, prod, psi, grad, gms, gmb, gds, gdb, gprod, gstate):
    """:func:`backward_range` over ``gms.shape[0]`` contiguous ranges of samples, one per thread."""
    batch = psi.shape[0]
    chunks = gms.shape[0]
    for c in nb.prange(chunks):
        backward_range(n, ops, ms, mb, ds, db, perms, mode, prod, psi, grad, gms, gmb, gds, gdb, gprod, gstate,
                       c, c * batch // chunks, (c + 1) * batch // chunks)


@nb.njit(**_JIT)
def expval_z_range(n, psi, wires, out, lo, hi):
    """``out[b, j] = Σ_k |ψ_bk|² (1 − 2 bit_{wires[j]}(k))`` for b in lo:hi, by folding halves (O(2^n))."""
    size = psi.shape[1]
    q = np.empty(size)
    ones = np.empty(n)
    for b in range(lo, hi):
        for k in range(size):
            q[k] = psi[b, k].real ** 2 + psi[b, k].imag ** 2
        total = 0.0
        for k in range(size):
            total += q[k]
        half = size
        for w in range(n):  # fold away wire w (the most significant one left)
            half //= 2
            t = 0.0
            for i in range(half):
                t += q[half + i]
                q[i] += q[half + i]
            ones[w] = t
        for j in range(wires.shape[0]):
            out[b, j] = total - 2.0 * ones[wires[j]]


@nb.njit(parallel=True, **_JIT)
def expval_z(n, psi, wires, out, chunks):
    batch = psi.shape[0]
    for c in nb.prange(chunks):
        expval_z_range(n, psi, wires, out, c * batch // chunks, (c + 1) * batch // chunks)


@nb.njit(**_JIT)
def expval_z_back_range(n, psi, wires, grad, out, lo, hi):
    """``out[b, k] = 2 ψ_bk Σ_j grad[b, j] (1 − 2 bit_{wires[j]}(k))`` (torch's complex-gradient convention)."""
    size = psi.shape[1]
    wt = np.empty(size)
    coef = np.empty(n)
    for b in range(lo, hi):
        coef[:] = 0.0
        for j in range(wires.shape[0]):
            coef[wires[j]] += grad[b, j]
        wt[0] = 0.0
        m = 1
        for w in range(n):
            g = coef[w]
            for i in range(m - 1, -1, -1):
                x = wt[i]
                wt[2 * i] = x + g
                wt[2 * i + 1] = x - g
            m *= 2
        for k in range(size):
            out[b, k] = psi[b, k] * (2.0 * wt[k])


@nb.njit(parallel=True, **_JIT)
def expval_z_back(n, psi, wires, grad, out, chunks):
    batch = psi.shape[0]
    for c in nb.prange(chunks):
        expval_z_back_range(n, psi, wires, grad, out, c * batch // chunks, (c + 1) * batch // chunks)


# --------------------------------------------------------------------------- gate matrices from angles
@nb.njit(**_JIT)
def _mul2(a, b, out):
    """``out = a @ b`` for complex 2x2 (``out`` must not alias ``a`` or ``b``)."""
    out[0, 0] = a[0, 0] * b[0, 0] + a[0, 1] * b[1, 0]
    out[0, 1] = a[0, 0] * b[0, 1] + a[0, 1] * b[1, 1]
    out[1, 0] = a[1, 0] * b[0, 0] + a[1, 1] * b[1, 0]
    out[1, 1] = a[1, 0] * b[0, 1] + a[1, 1] * b[1, 1]


@nb.njit(**_JIT)
def _elementary(code, th, consts, ci, u):
    """The 2x2 of one elementary gate into ``u``: ``R_P(θ) = exp(-iθP/2)``, ``PHASE(θ) = diag(1, e^{iθ})``."""
    if code == OP_CONST:
        u[0, 0] = consts[ci, 0, 0]
        u[0, 1] = consts[ci, 0, 1]
        u[1, 0] = consts[ci, 1, 0]
        u[1, 1] = consts[ci, 1, 1]
    elif code == OP_PHASE:
        u[0, 0] = 1.0
        u[0, 1] = 0.0
        u[1, 0] = 0.0
        u[1, 1] = complex(np.cos(th), np.sin(th))
    else:
        c = np.cos(0.5 * th)
        s = np.sin(0.5 * th)
        if code == OP_RX:
            u[0, 0] = c
            u[0, 1] = complex(0.0, -s)
            u[1, 0] = complex(0.0, -s)
            u[1, 1] = c
        elif code == OP_RY:
            u[0, 0] = c
            u[0, 1] = -s
            u[1, 0] = s
            u[1, 1] = c
        else:  # OP_RZ
            u[0, 0] = complex(c, -s)
            u[0, 1] = 0.0
            u[1, 0] = 0.0
            u[1, 1] = complex(c, s)


@nb.njit(**_JIT)
def _elementary_d(code, th, du):
    """``∂U/∂θ`` of a parametric elementary gate into ``du``."""
    if code == OP_PHASE:
        du[0, 0] = 0.0
        du[0, 1] = 0.0
        du[1, 0] = 0.0
        du[1, 1] = complex(-np.sin(th), np.cos(th))
        return
    hc = 0.5 * np.cos(0.5 * th)
    hs = 0.5 * np.sin(0.5 * th)
    if code == OP_RX:
        du[0, 0] = -hs
        du[0, 1] = complex(0.0, -hc)
        du[1, 0] = complex(0.0, -hc)
        du[1, 1] = -hs
    elif code == OP_RY:
        du[0, 0] = -hs
        du[0, 1] = -hc
        du[1, 0] = hc
        du[1, 1] = -hs
    else:  # OP_RZ
        du[0, 0] = complex(-hs, -hc)
        du[0, 1] = 0.0
        du[1, 0] = 0.0
        du[1, 1] = complex(-hs, hc)


@nb.njit(**_JIT)
def _fused(trow, sops, start, length, consts, m, u, t):
    """``m = U_k … U_1`` of the elementary rows ``sops[start:start+length]`` (application order)."""
    m[0, 0] = 1.0
    m[0, 1] = 0.0
    m[1, 0] = 0.0
    m[1, 1] = 1.0
    for i in range(start, start + length):
        col = sops[i, 1]
        _elementary(sops[i, 0], trow[col] if col >= 0 else 0.0, consts, sops[i, 2], u)
        _mul2(u, m, t)
        m[:, :] = t


@nb.njit(**_JIT)
def build(theta, sops, consts, slots, diags, dcol, dpat, dconst, ms, mb, ds, db, prod):
    """Fill the kernel pools from the angles ``theta`` (B or 1, P).

    ``slots`` rows ``(start, length, to, pool, batched)``: a fused matrix of ``sops`` rows,
    written to ``ms[pool]``, ``mb[b, pool]`` or (its first column) ``prod[b, pool]`` (pool =
    wire; wires without a vector get |0⟩). ``diags`` rows ``(first, count, pool, batched)``:
    ``φ = dconst[d] + Σ theta[:, dcol[q]] dpat[q]`` over pattern rows ``q``, stored as
    ``(cos φ, sin φ)`` in ``ds[pool]`` or ``db[b, pool]``.
    """
    m = np.empty((2, 2), np.complex128)
    u = np.empty((2, 2), np.complex128)
    t = np.empty((2, 2), np.complex128)
    prod[:, :, 0] = 1.0
    prod[:, :, 1] = 0.0
    for s in range(slots.shape[0]):
        start, length, to, pool, batched = slots[s, 0], slots[s, 1], slots[s, 2], slots[s, 3], slots[s, 4]
        for b in range(theta.shape[0] if batched else 1):
            _fused(theta[b], sops, start, length, consts, m, u, t)
            if to == TO_SHARED:
                ms[pool, :, :] = m
            elif to == TO_BATCHED:
                mb[b, pool, :, :] = m
            elif batched:
                prod[b, pool, 0] = m[0, 0]
                prod[b, pool, 1] = m[1, 0]
            else:
                for r in range(prod.shape[0]):
                    prod[r, pool, 0] = m[0, 0]
                    prod[r, pool, 1] = m[1, 0]
    size = dconst.shape[1]
    phi = np.empty(size)
    for d in range(diags.shape[0]):
        first, count, pool, batched = diags[d, 0], diags[d, 1], diags[d, 2], diags[d, 3]
        for b in range(theta.shape[0] if batched else 1):
            phi[:] = dconst[d]
            for q in range(first, first + count):
                a = theta[b, dcol[q]]
                for k in range(size):
                    phi[k] += a * dpat[q, k]
            out = db[b, pool] if batched else ds[pool]
            for k in range(size):
                out[0, k] = np.cos(phi[k])
                out[1, k] = np.sin(phi[k])


@nb.njit(**_JIT)
def _fused_back(trow, sops, start, length, consts, g, colb, gsh, gba, b, ubuf, pre, x, y, du, t):
    """Add ``Re tr(P_i G^H S_i ∂U_i)`` of every parametric row to its angle's gradient."""
    pre[0, 0, 0] = 1.0
    pre[0, 0, 1] = 0.0
    pre[0, 1, 0] = 0.0
    pre[0, 1, 1] = 1.0
    for i in range(length):
        col = sops[start + i, 1]
        _elementary(sops[start + i, 0], trow[col] if col >= 0 else 0.0, consts, sops[start + i, 2], ubuf[i])
        _mul2(ubuf[i], pre[i], pre[i + 1])
    x[0, 0] = np.conj(g[0, 0])  # X = G^H S_i, starting from S_k = I
    x[0, 1] = np.conj(g[1, 0])
    x[1, 0] = np.conj(g[0, 1])
    x[1, 1] = np.conj(g[1, 1])
    for i in range(length - 1, -1, -1):
        code, col = sops[start + i, 0], sops[start + i, 1]
        if code != OP_CONST:
            _elementary_d(code, trow[col], du)
            _mul2(pre[i], x, y)
            val = (y[0, 0] * du[0, 0] + y[0, 1] * du[1, 0] + y[1, 0] * du[0, 1] + y[1, 1] * du[1, 1]).real
            if colb[col]:
                gba[b, col] += val
            else:
                gsh[col] += val
        _mul2(x, ubuf[i], t)
        x[:, :] = t


@nb.njit(**_JIT)
def chain(theta, colb, sops, consts, slots, diags, dcol, dpat, gms, gmb, gds, gdb, gprod, gsh, gba):
    """Carry the pools' gradients (as :func:`backward` leaves them) to the angles.

    Shared angles' gradients are added to ``gsh`` (P,), per-sample ones (``colb[col]``)
    to ``gba`` (B, P). Shared pools are summed over chunks / samples first.
    """
    maxlen = 1
    for s in range(slots.shape[0]):
        maxlen = max(maxlen, slots[s, 1])
    ubuf = np.empty((maxlen, 2, 2), np.complex128)
    pre = np.empty((maxlen + 1, 2, 2), np.complex128)
    x = np.empty((2, 2), np.complex128)
    y = np.empty((2, 2), np.complex128)
    du = np.empty((2, 2), np.complex128)
    t = np.empty((2, 2), np.complex128)
    g = np.empty((2, 2), np.complex128)
    for s in range(slots.shape[0]):
        start, length, to, pool, batched = slots[s, 0], slots[s, 1], slots[s, 2], slots[s, 3], slots[s, 4]
        rows = theta.shape[0] if batched else 1
        for b in range(rows):
            g[:, :] = 0.0
            if to == TO_SHARED:
                for c in range(gms.shape[0]):
                    g[:, :] += gms[c, pool]
            elif to == TO_BATCHED:
                g[:, :] = gmb[b, pool]
            elif batched:
                g[0, 0] = gprod[b, pool, 0]
                g[1, 0] = gprod[b, pool, 1]
            else:
                for r in range(gprod.shape[0]):
                    g[0, 0] += gprod[r, pool, 0]
                    g[1, 0] += gprod[r, pool, 1]
            _fused_back(theta[b], sops, start, length, consts, g, colb, gsh, gba, b, ubuf, pre, x, y, du, t)
    size = dpat.shape[1]
    gphi = np.empty(size)
    for d in range(diags.shape[0]):
        first, count, pool, batched = diags[d, 0], diags[d, 1], diags[d, 2], diags[d, 3]
        if count == 0:
            continue
        for b in range(theta.shape[0] if batched else 1):
            if batched:
                gphi[:] = gdb[b, pool]
            else:
                gphi[:] = 0.0
                for c in range(gds.shape[0]):
                    gphi += gds[c, pool]
            for q in range(first, first + count):
                val = 0.0
                for k in range(size):
                    val += gphi[k] * dpat[q, k]
                col = dcol[q]
                if colb[col]:
                    gba[b, col] += val
                else:
                    gsh[col] += val
