"""Shared fixtures for probe.quantum tests: seeded generators and random circuits."""

from __future__ import annotations

import numpy as np
import pytest

from probe.qsim import Circuit

ONE_WIRE = ["RX", "RY", "RZ", "PHASE", "H", "X", "Y", "Z", "S", "T", "SX"]
TWO_WIRE = ["CNOT", "CZ", "SWAP", "CRX", "CRY", "CRZ", "CPHASE", "RZZ", "RXX", "RYY", "ISWAP", "CY"]


def random_circuit(n: int, gates: int, rng: np.random.Generator) -> Circuit:
    """A circuit drawing from every gate kind (dense, diagonal, permutation; 1-3 wires)."""
    c = Circuit(n)
    for _ in range(gates):
        u = rng.random()
        if u < 0.5 or n == 1:
            c.gate(str(rng.choice(ONE_WIRE)), int(rng.integers(n)))
        elif u < 0.92 or n < 3:
            a, b = rng.choice(n, 2, replace=False)
            c.gate(str(rng.choice(TWO_WIRE)), int(a), int(b))
        else:
            a, b, t = rng.choice(n, 3, replace=False)
            c.gate("CCX", int(a), int(b), int(t))
    return c


@pytest.fixture
def make_circuit():
    """The :func:`random_circuit` builder."""
    return random_circuit


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
