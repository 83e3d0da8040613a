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

Gradients follow torch's convention for complex tensors: ``g = ∂L/∂Re ψ + i ∂L/∂Im ψ``;
``grad_U = Σ g_out ψ_inᴴ``; for a real gate only the real part is kept (exact for
a real-valued matrix function).
"""

from __future__ import annotations

import numba as nb
import numpy as np

GATE, GATE_REAL, DIAG, PERM = 0, 1, 2, 3
START_ZERO, START_PRODUCT, START_STATE = 0, 1, 2

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
