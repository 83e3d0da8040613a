"""Validation at the public boundary: unitarity, powers of two, memory, state vectors."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from probe.errors import DataError

MAX_QUBITS = 30
"""Hard ceiling: one complex128 state of 31 qubits is 32 GiB."""


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def available_memory() -> int:
    """Bytes of RAM available now (``MemAvailable``), or total RAM where that is unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


def check_qubits(n_qubits: int, *, batch: int = 1, itemsize: int = 16, copies: int = 4,
                 what: str = "the simulation") -> None:
    """Refuse a qubit count whose state vectors would not fit in memory.

    ``copies`` state vectors of ``batch × 2^n`` amplitudes (``itemsize`` bytes each)
    are needed at once (input, output, adjoint and a work buffer for gradients).
    """
    if not isinstance(n_qubits, int | np.integer) or n_qubits < 1:
        raise DataError(f"qubit count must be a positive whole number; got {n_qubits!r}")
    need = float(copies) * batch * itemsize * 2.0 ** int(n_qubits)
    if n_qubits <= MAX_QUBITS and need < 2**26:  # under 64 MiB: always fits; skip reading /proc/meminfo
        return
    have = available_memory()
    if n_qubits > MAX_QUBITS or need > 0.8 * have:
        raise DataError(
            f"{what}: {n_qubits} qubits × batch {batch} needs about {fmt_bytes(need)} of memory "
            f"for state vectors; {fmt_bytes(have)} is available",
            hint="use fewer qubits or a smaller batch",
        )


def check_power_of_two(dim: int, *, name: str) -> int:
    """Return ``log2(dim)`` or raise a :class:`DataError` naming ``name``."""
    if dim < 2 or dim & (dim - 1):
        raise DataError(f"{name}: dimension {dim} is not a power of two (2, 4, 8, ...)",
                        hint="pad to the next power of two or give a qubit operator")
    return dim.bit_length() - 1


def check_unitary(matrix: Any, *, name: str = "matrix", atol: float = 1e-10) -> np.ndarray:
    """A complex128 copy of ``matrix`` after checking it is square and unitary.

    The error states the deviation ``max |U†U − I|`` so the user can tell a
    rounding problem from a wrong matrix.
    """
    try:
        u = np.array(matrix, dtype=np.complex128)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: not a numeric matrix ({exc})") from exc
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise DataError(f"{name}: must be a square matrix; got shape {u.shape}")
    if not np.all(np.isfinite(u)):
        raise DataError(f"{name}: contains NaN or infinite entries")
    dev = float(np.max(np.abs(u.conj().T @ u - np.eye(u.shape[0]))))
    if dev > atol:
        raise DataError(f"{name}: not unitary (max |U†U − I| = {dev:.3g} > tolerance {atol:g})",
                        hint="check the matrix; orthonormalise it (e.g. polar decomposition) if it is only rounded")
    u.setflags(write=False)
    return u


def check_state_array(psi: Any, *, name: str = "state", atol: float = 1e-8) -> np.ndarray:
    """A normalised complex128 array of shape ``(..., 2^n)``; raises on bad length or norm."""
    a = np.asarray(psi, dtype=np.complex128)
    if a.ndim == 0:
        raise DataError(f"{name}: must be a vector of 2^n amplitudes")
    check_power_of_two(a.shape[-1], name=name)
    norms = np.linalg.norm(a, axis=-1)
    if not np.all(np.abs(norms - 1) <= atol):
        worst = float(np.max(np.abs(norms - 1)))
        raise DataError(f"{name}: not normalised (max | ‖ψ‖ − 1 | = {worst:.3g})", hint="divide by its norm")
    return a
