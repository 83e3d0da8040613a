"""Entangling/disentangling power and capacities: known values, the Zanardi closed form, invariants, MC."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import unitary_group

from probe.errors import DataError
from probe.qsim.entangling_power import (
    disentangling_power,
    entangling_capacity,
    entangling_power,
    entangling_power_mc,
    gate_invariants,
    named_unitary,
    operator_entanglement,
    power,
)

X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1, -1])


def canonical(c1: float, c2: float, c3: float) -> np.ndarray:
    return expm(0.5j * (c1 * np.kron(X, X) + c2 * np.kron(Y, Y) + c3 * np.kron(Z, Z)))


@pytest.mark.parametrize(("gate", "value"), [
    ("CNOT", 2 / 9), ("CZ", 2 / 9), ("ISWAP", 2 / 9), ("B", 2 / 9), ("DCNOT", 2 / 9),
    ("SWAP", 0.0), ("I", 0.0), ("SQRTSWAP", 1 / 6),
    ("CPHASE:1.5707963267948966", 1 / 9), ("CRX:1.0", (1 - math.cos(1.0)) / 9), ("CRZ:2.5", (1 - math.cos(2.5)) / 9),
])
def test_known_values(gate, value):
    u = named_unitary(gate)
    assert entangling_power(u) == pytest.approx(value, abs=1e-12)
    assert disentangling_power(u) == pytest.approx(value, abs=1e-12)


def test_zanardi_closed_form_and_makhlin_invariant(rng):
    swap = named_unitary("SWAP")
    for seed in range(10):
        u = unitary_group.rvs(4, random_state=seed)
        ep = entangling_power(u)
        closed = (2 / 3) ** 2 * (operator_entanglement(u) + operator_entanglement(u @ swap)
                                 - operator_entanglement(swap))
        assert ep == pytest.approx(closed, abs=1e-12)
        g1, _ = gate_invariants(u)
        assert ep == pytest.approx(2 / 9 * (1 - abs(g1)), abs=1e-12)
        # local unitaries before/after do not change it
        k = np.kron(unitary_group.rvs(2, random_state=seed + 100), unitary_group.rvs(2, random_state=seed + 200))
        assert entangling_power(k @ u @ k.conj().T) == pytest.approx(ep, abs=1e-12)
        assert entangling_power(u.conj().T) == pytest.approx(ep, abs=1e-12)


def test_kak_formula_and_maximum_two_ninths():
    grid = np.linspace(0, math.pi, 7)
    best = 0.0
    for c1, c2, c3 in itertools.product(grid, repeat=3):
        ep = entangling_power(canonical(c1, c2, c3))
        formula = (3 - math.cos(2 * c1) * math.cos(2 * c2) - math.cos(2 * c2) * math.cos(2 * c3)
                   - math.cos(2 * c3) * math.cos(2 * c1)) / 18
        assert ep == pytest.approx(formula, abs=1e-12)
        best = max(best, ep)
    assert best == pytest.approx(2 / 9, abs=1e-12)
    assert max(entangling_power(unitary_group.rvs(4, random_state=s)) for s in range(200)) <= 2 / 9 + 1e-12


@pytest.mark.parametrize("dims", [(2, 2), (2, 3), (2, 4), (4, 2), (3, 3)])
def test_exact_matches_monte_carlo_for_unequal_dims(dims):
    u = unitary_group.rvs(dims[0] * dims[1], random_state=7)
    mean, se = entangling_power_mc(u, dims, samples=20000, seed=3)
    assert abs(entangling_power(u, dims) - mean) < 4.5 * se


def test_capacities():
    cnot = named_unitary("CNOT")
    assert entangling_capacity(cnot, starts=4, seed=0)[0] == pytest.approx(1.0, abs=1e-6)
    assert entangling_capacity(cnot, direction="disentangle", starts=4, seed=0)[0] == pytest.approx(1.0, abs=1e-6)
    assert entangling_capacity(named_unitary("SWAP"), starts=4, seed=0)[0] == pytest.approx(0.0, abs=1e-6)
    u = unitary_group.rvs(4, random_state=11)  # LSW: equal for two-qubit gates
    e = entangling_capacity(u, starts=8, seed=1)[0]
    d = entangling_capacity(u, direction="disentangle", starts=8, seed=1)[0]
    assert e == pytest.approx(d, abs=1e-5)
    assert 0 < e <= 1 + 1e-9


def test_power_result_frame_and_errors():
    res = power(named_unitary("CNOT"), capacity_starts=2, mc_samples=500, seed=0)
    assert res.to_dict()["entangling_power"] == pytest.approx(2 / 9)
    assert res.to_frame().loc[0, "d_A"] == 2
    assert res.qubit_maximum == pytest.approx(2 / 9)
    with pytest.raises(DataError, match=r"not unitary \(max \|U†U − I\| = 0.75"):
        entangling_power(np.diag([1, 1, 1, 0.5]))
    with pytest.raises(DataError, match="not a power of two"):
        entangling_power(np.eye(6))
    with pytest.raises(DataError, match="odd number of qubits"):
        entangling_power(np.eye(8))
    with pytest.raises(DataError, match="unknown two-qubit gate"):
        named_unitary("XYZ")
