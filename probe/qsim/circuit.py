"""A circuit: a list of gate operations on ``n_qubits`` wires, with numbered angle slots.

A parametric gate reads its angle from slot ``param`` of one flat parameter
vector; by default every parametric gate gets a new slot, in the order the
gates are added. Circuits compose with ``+``: the right-hand circuit's slots
are renumbered after the left-hand ones, so ``angle_encoding(n) + ring_vqc(n, 3)``
takes ``n`` input angles followed by the ansatz weights. When simulating, the
parameter vector may be passed in several pieces (``x`` then ``weights``), each
either shared or batched; see :func:`probe.quantum.statevector`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probe.errors import DataError
from probe.qsim.gates import GATES
from probe.qsim.validation import check_unitary

__all__ = ["Circuit", "Op"]

NEW = -1
"""Sentinel for ``param=``: give the gate a fresh angle slot."""


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: a named gate, a fixed unitary (``name="UNITARY"``) or a measurement."""

    name: str
    wires: tuple[int, ...]
    param: int | None = None
    matrix: np.ndarray | None = field(default=None, compare=False)

    @property
    def is_measure(self) -> bool:
        return self.name == "MEASURE"


class Circuit:
    """A quantum circuit on ``n_qubits`` wires.

    Parameters
    ----------
    n_qubits : int
        Number of wires; wire 0 is the most significant bit of a basis index.

    Examples
    --------
    >>> c = Circuit(2).h(0).cnot(0, 1)          # Bell-state preparation
    >>> c = Circuit(1).ry(0).rz(0)              # two angle slots: 0 and 1
    >>> c.n_params
    2
    """

    def __init__(self, n_qubits: int) -> None:
        if not isinstance(n_qubits, int | np.integer) or n_qubits < 1:
            raise DataError(f"a circuit needs a positive whole number of qubits; got {n_qubits!r}")
        self.n_qubits = int(n_qubits)
        self.ops: list[Op] = []
        self.n_params = 0
        self._cache: dict[Any, Any] = {}

    # -- building ---------------------------------------------------------------
    def gate(self, name: str, *wires: int, param: int | None = NEW) -> Circuit:
        """Append a named gate (see :data:`probe.qsim.gates.GATES`); returns ``self``.

        ``param``: ``NEW`` (default) takes the next free angle slot, an int reuses a
        slot (shared angle), ``None`` is only valid for gates without an angle.
        """
        key = name.upper()
        spec = GATES.get(key)
        if spec is None:
            raise DataError(f"unknown gate {name!r}", hint=f"known gates: {', '.join(sorted(GATES))}")
        self._check_wires(key, wires, spec.n_wires)
        slot: int | None = None
        if spec.n_params:
            if param is None:
                raise DataError(f"gate {key} on wires {wires} needs an angle slot")
            if param == NEW:
                slot = self.n_params
                self.n_params += 1
            else:
                if param < 0:
                    raise DataError(f"gate {key}: angle slot must be >= 0; got {param}")
                slot = int(param)
                self.n_params = max(self.n_params, slot + 1)
        self.ops.append(Op(key, tuple(int(w) for w in wires), slot))
        self._cache.clear()
        return self

    def unitary(self, matrix: Any, *wires: int, atol: float = 1e-10) -> Circuit:
        """Append a fixed unitary on ``wires`` (the first wire is the most significant)."""
        u = check_unitary(matrix, name="unitary", atol=atol)
        if u.shape[0] != 2 ** len(wires):
            raise DataError(f"a {u.shape[0]}x{u.shape[0]} unitary cannot act on {len(wires)} wire(s)",
                            hint=f"give {int(np.log2(u.shape[0]))} wires")
        self._check_wires("UNITARY", wires, len(wires))
        self.ops.append(Op("UNITARY", tuple(int(w) for w in wires), None, u))
        self._cache.clear()
        return self

    def measure(self, *wires: int) -> Circuit:
        """Append a projective computational-basis measurement of ``wires`` (sampled by :func:`run`)."""
        self._check_wires("MEASURE", wires, len(wires))
        self.ops.append(Op("MEASURE", tuple(int(w) for w in wires)))
        self._cache.clear()
        return self

    def h(self, w: int) -> Circuit:
        return self.gate("H", w)

    def x(self, w: int) -> Circuit:
        return self.gate("X", w)

    def rx(self, w: int, param: int | None = NEW) -> Circuit:
        return self.gate("RX", w, param=param)

    def ry(self, w: int, param: int | None = NEW) -> Circuit:
        return self.gate("RY", w, param=param)

    def rz(self, w: int, param: int | None = NEW) -> Circuit:
        return self.gate("RZ", w, param=param)

    def cnot(self, control: int, target: int) -> Circuit:
        return self.gate("CNOT", control, target)

    def cz(self, a: int, b: int) -> Circuit:
        return self.gate("CZ", a, b)

    # -- queries ----------------------------------------------------------------
    @property
    def has_measurements(self) -> bool:
        return any(op.is_measure for op in self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, n_params={self.n_params})"

    def __add__(self, other: Circuit) -> Circuit:
        """Run ``self`` then ``other``; ``other``'s angle slots come after ``self``'s."""
        if not isinstance(other, Circuit):
            return NotImplemented
        if other.n_qubits > self.n_qubits:
            raise DataError(f"cannot append a {other.n_qubits}-qubit circuit to a {self.n_qubits}-qubit one")
        out = self.copy()
        shift = self.n_params
        for op in other.ops:
            p = None if op.param is None else op.param + shift
            out.ops.append(Op(op.name, op.wires, p, op.matrix))
        out.n_params = shift + other.n_params
        return out

    def copy(self) -> Circuit:
        out = Circuit(self.n_qubits)
        out.ops = list(self.ops)
        out.n_params = self.n_params
        return out

    def gate_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
        return counts

    def _check_wires(self, name: str, wires: Sequence[int], k: int) -> None:
        if len(wires) != k or k == 0:
            raise DataError(f"gate {name} acts on {k} wire(s); got wires {tuple(wires)}")
        if len(set(wires)) != len(wires):
            raise DataError(f"gate {name}: wires must be distinct; got {tuple(wires)}")
        for w in wires:
            if not isinstance(w, int | np.integer) or not 0 <= w < self.n_qubits:
                raise DataError(f"gate {name}: wire {w!r} is outside 0..{self.n_qubits - 1}")
