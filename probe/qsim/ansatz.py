"""Parameterised circuit families (ansätze).

- :func:`ring_vqc`: the ring-topology variational circuit of VQR-DQN (Nguyen,
  Nguyen & Cao 2025, arXiv:2512.05946): per layer, single-qubit rotations on
  every wire, then CNOT(i, i+1 mod n) for i = 0..n-1.
- :func:`hardware_efficient`: rotations + a fixed entangler pattern on a chosen
  topology (line, ring, star, all-to-all), the family compared by Correr et al.
  (2024, arXiv:2405.02265).
- :func:`sim_circuit`: circuits 1–19 of Sim, Johnson & Aspuru-Guzik (2019,
  arXiv:1905.10876, Fig. 2), written for any n ≥ 2 (the paper uses n = 4).

Every builder returns a :class:`Circuit` whose angle slots are numbered in gate
order; sample parameters uniformly in [0, 2π) for the expressibility studies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from probe.errors import DataError
from probe.qsim.circuit import Circuit

__all__ = ["ANSATZE", "basic_entangler_layers", "build_ansatz", "hardware_efficient", "ring_vqc", "sim_circuit"]

TOPOLOGIES = ("line", "ring", "star", "all")


def _check(n: int, layers: int, minimum: int = 1) -> None:
    if not isinstance(n, int) or n < minimum:
        raise DataError(f"the ansatz needs at least {minimum} qubit(s); got {n!r}")
    if not isinstance(layers, int) or layers < 0:
        raise DataError(f"layers must be a whole number >= 0; got {layers!r}")


def _rot_layer(c: Circuit, rotations: Sequence[str], wires: Sequence[int] | None = None) -> None:
    wires = range(c.n_qubits) if wires is None else wires
    for name in rotations:
        for w in wires:
            c.gate(name, w)


def pairs(n: int, topology: str) -> list[tuple[int, int]]:
    """(control, target) pairs of one entangling layer on ``topology``."""
    if topology == "line":
        return [(i, i + 1) for i in range(n - 1)]
    if topology == "ring":
        return [(i, (i + 1) % n) for i in range(n)] if n > 1 else []
    if topology == "star":
        return [(0, i) for i in range(1, n)]
    if topology == "all":
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    raise DataError(f"unknown topology {topology!r}", hint=f"choose one of {', '.join(TOPOLOGIES)}")


def ring_vqc(n: int, layers: int, *, rotations: Sequence[str] = ("RY", "RZ"), entangler: str = "CNOT") -> Circuit:
    """Ring-topology VQC: ``layers`` × [rotations on every wire; entangler(i, i+1 mod n) for all i].

    For n = 2 the ring is CNOT(0,1)·CNOT(1,0) (locally equivalent to iSWAP). Angle
    slots per layer: ``len(rotations) * n``; for parametric entanglers (CRX, CRZ)
    one more per pair.
    """
    return hardware_efficient(n, layers, rotations=rotations, entangler=entangler, topology="ring")


def basic_entangler_layers(n: int, layers: int, *, rotation: str = "RY") -> Circuit:
    """PennyLane's ``BasicEntanglerLayers``: per layer one ``rotation`` on every wire, then a CNOT ring.

    The ring is CNOT(i, i+1 mod n) for i = 0..n−1 when n > 2, a single CNOT(0, 1) when
    n = 2 and nothing when n = 1 (PennyLane's convention). Angle slot ``l·n + i`` is
    PennyLane's ``weights[l, i]``. Daskin (2025, arXiv:2505.06774) uses it with
    ``rotation="RY"`` and 2 layers for both unitaries of the QLSTM cell.
    """
    _check(n, layers)
    c = Circuit(n)
    ring = pairs(n, "ring") if n > 2 else pairs(n, "line")
    for _ in range(layers):
        _rot_layer(c, (rotation,))
        for a, b in ring:
            c.cnot(a, b)
    return c


def hardware_efficient(n: int, layers: int, *, rotations: Sequence[str] = ("RY", "RZ"),
                       entangler: str = "CNOT", topology: str = "line") -> Circuit:
    """Hardware-efficient ansatz on a topology (``line``, ``ring``, ``star``, ``all``)."""
    _check(n, layers)
    c = Circuit(n)
    ent = pairs(n, topology)
    for _ in range(layers):
        _rot_layer(c, rotations)
        for a, b in ent:
            c.gate(entangler, a, b)
    return c


def _ring_down(n: int) -> list[tuple[int, int]]:
    """Sim et al.'s first ring: (n-1 → 0), (n-2 → n-1), ..., (0 → 1)."""
    return [(i, (i + 1) % n) for i in range(n - 1, -1, -1)]


def _ring_up(n: int) -> list[tuple[int, int]]:
    """Sim et al.'s second ring: (n-1 → n-2), (0 → n-1), (1 → 0), ..., (n-2 → n-3)."""
    order = [n - 1, *range(n - 1)]
    return [(i, (i - 1) % n) for i in order]


def _ladder(n: int) -> list[tuple[int, int]]:
    """(n-1 → n-2), ..., (1 → 0)."""
    return [(i, i - 1) for i in range(n - 1, 0, -1)]


def _even_pairs(n: int) -> list[tuple[int, int]]:
    return [(i + 1, i) for i in range(0, n - 1, 2)]


def _odd_pairs(n: int) -> list[tuple[int, int]]:
    return [(i + 1, i) for i in range(1, n - 1, 2)]


def _all_pairs(n: int) -> list[tuple[int, int]]:
    return [(c, t) for c in range(n - 1, -1, -1) for t in range(n - 1, -1, -1) if t != c]


def sim_circuit(index: int, n: int = 4, layers: int = 1) -> Circuit:
    """Circuit ``index`` (1–19) of Sim, Johnson & Aspuru-Guzik (2019), ``layers`` repetitions.

    Written from the paper's Fig. 2 for n = 4 and generalised to n wires
    (ladders run from the last wire up; rings close between wires n-1 and 0).
    Per layer (X/Z = RX/RZ on all wires, Y = RY on all wires):

    ==  ===================================================================
     1  X Z
     2  X Z, CNOT ladder          3  X Z, CRZ ladder     4  X Z, CRX ladder
     5  X Z, CRZ all-to-all, X Z  6  as 5 with CRX
     7  X Z, CRZ on (1,0),(3,2); X Z, CRZ on (2,1)       8  as 7 with CRX
     9  H, CZ ladder, RX
    10  (RY once before the first layer) CZ ladder + CZ(n-1, 0), Y
    11  Y Z, CNOT (1,0),(3,2); RY RZ on inner wires, CNOT (2,1)   12  as 11 with CZ
    13  Y, CRZ ring down; Y, CRZ ring up   14  as 13 with CRX   15  as 13 with CNOT
    16  X Z, CRZ (1,0),(3,2),(2,1)   17  as 16 with CRX
    18  X Z, CRZ ring down            19  X Z, CRX ring down
    ==  ===================================================================

    Angle slots per layer for n = 4: 8, 8, 11, 11, 28, 28, 19, 19, 4, 4 (+4), 12,
    12, 16, 16, 8, 11, 11, 12, 12.
    """
    if not isinstance(index, int) or not 1 <= index <= 19:
        raise DataError(f"Sim et al. circuits are numbered 1..19; got {index!r}")
    _check(n, layers, minimum=2)
    c = Circuit(n)
    xz, yz, y = ("RX", "RZ"), ("RY", "RZ"), ("RY",)
    ent2 = {3: "CRZ", 4: "CRX", 5: "CRZ", 6: "CRX", 7: "CRZ", 8: "CRX", 13: "CRZ", 14: "CRX", 15: "CNOT",
            16: "CRZ", 17: "CRX", 18: "CRZ", 19: "CRX"}.get(index, "CNOT")
    if index == 10:
        _rot_layer(c, y)
    for _ in range(layers):
        if index == 1:
            _rot_layer(c, xz)
        elif index in (2, 3, 4):
            _rot_layer(c, xz)
            _gates(c, ent2, _ladder(n))
        elif index in (5, 6):
            _rot_layer(c, xz)
            _gates(c, ent2, _all_pairs(n))
            _rot_layer(c, xz)
        elif index in (7, 8):
            _rot_layer(c, xz)
            _gates(c, ent2, _even_pairs(n))
            _rot_layer(c, xz)
            _gates(c, ent2, _odd_pairs(n))
        elif index == 9:
            for w in range(n):
                c.h(w)
            _gates(c, "CZ", _ladder(n))
            _rot_layer(c, ("RX",))
        elif index == 10:
            _gates(c, "CZ", [*_ladder(n), (n - 1, 0)] if n > 2 else _ladder(n))
            _rot_layer(c, y)
        elif index in (11, 12):
            ent = "CNOT" if index == 11 else "CZ"
            _rot_layer(c, yz)
            _gates(c, ent, _even_pairs(n))
            _rot_layer(c, yz, wires=range(1, n - 1))
            _gates(c, ent, _odd_pairs(n))
        elif index in (13, 14, 15):
            _rot_layer(c, y)
            _gates(c, ent2, _ring_down(n))
            _rot_layer(c, y)
            _gates(c, ent2, _ring_up(n))
        elif index in (16, 17):
            _rot_layer(c, xz)
            _gates(c, ent2, [*_even_pairs(n), *_odd_pairs(n)])
        else:  # 18, 19
            _rot_layer(c, xz)
            _gates(c, ent2, _ring_down(n))
    return c


def _gates(c: Circuit, name: str, pairs_: list[tuple[int, int]]) -> None:
    seen: set[tuple[int, int]] = set()
    for a, b in pairs_:
        if (a, b) in seen:  # n = 2 rings repeat a pair
            continue
        seen.add((a, b))
        c.gate(name, a, b)


ANSATZE: dict[str, Callable[[int, int], Circuit]] = {
    "ring": lambda n, layers: ring_vqc(n, layers),
    "line": lambda n, layers: hardware_efficient(n, layers, topology="line"),
    "star": lambda n, layers: hardware_efficient(n, layers, topology="star"),
    "all": lambda n, layers: hardware_efficient(n, layers, topology="all"),
    **{f"sim{k}": functools.partial(lambda k, n, layers: sim_circuit(k, n, layers), k) for k in range(1, 20)},
}
"""Ansatz names accepted by the CLI: ``ring``, ``line``, ``star``, ``all`` (RY+RZ layers with
CNOT entanglers on that topology) and ``sim1`` … ``sim19``."""


def build_ansatz(name: str, n: int, layers: int) -> Circuit:
    """Build a named ansatz (see :data:`ANSATZE`)."""
    key = name.lower()
    if key not in ANSATZE:
        raise DataError(f"unknown ansatz {name!r}", hint=f"choose one of {', '.join(ANSATZE)}")
    return ANSATZE[key](n, layers)
