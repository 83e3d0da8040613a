"""Sim et al. expressibility and entangling capability: estimator facts, Haar limits, PennyLane fidelities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from probe.qsim import Circuit, hardware_efficient, ring_vqc, sim_circuit
from probe.qsim.expressibility import (
    entangling_capability,
    expressibility,
    fidelity_samples,
    haar_bin_logmass,
    layer_table,
    sample_states,
)

qml = pytest.importorskip("pennylane")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_idle_circuit_gives_the_maximum(n):
    res = expressibility(fidelity_samples(Circuit(n).h(0), 500, seed=0), n)
    assert res.expressibility == pytest.approx((2**n - 1) * math.log(75), rel=1e-12)
    assert res.idle_maximum == pytest.approx(res.expressibility)
    assert res.se == pytest.approx(0.0, abs=1e-12)


def test_equator_states_match_the_exact_binned_arcsine_law():
    # H then RZ(θ): F = cos²(Δ/2) with Δ uniform, CDF 1 − (2/π) arccos √F; Haar is uniform for one qubit.
    edges = np.linspace(0, 1, 76)
    cdf = 1 - 2 / math.pi * np.arccos(np.sqrt(edges))
    p = np.diff(cdf)
    exact_binned = float((p * np.log(p * 75)).sum())
    assert exact_binned < math.log(4 / math.pi)  # binning can only lose information
    res = expressibility(fidelity_samples(Circuit(1).h(0).rz(0), 100_000, seed=1), 1, seed=2)
    assert abs(res.expressibility - exact_binned) < 4 * res.se + (74 / 2e5)
    assert res.ci_low < exact_binned + 74 / 2e5 < res.ci_high + 2 * res.se


def test_haar_fidelities_sit_at_the_estimator_floor():
    rng = np.random.default_rng(5)
    for n in (1, 3, 5):
        f = rng.beta(1.0, 2.0**n - 1, size=5000)  # exact Haar law of F
        res = expressibility(f, n, seed=6)
        assert abs(res.expressibility - res.haar_reference) < 4 * res.se
        assert abs(res.expressibility_corrected) < 4 * res.se
        assert res.expressibility < 0.02


def test_haar_bin_masses_are_a_distribution():
    for n in (1, 4, 12):
        q = np.exp(haar_bin_logmass(n, 75))
        assert q.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(np.isfinite(haar_bin_logmass(n, 75)))


def test_fidelities_match_pennylane_states():
    c = sim_circuit(14, 4, 1)
    rng = np.random.default_rng(3)
    states = sample_states(c, 6, rng=np.random.default_rng(3)).numpy()
    thetas = np.random.default_rng(3).uniform(0, 2 * np.pi, size=(6, c.n_params))
    dev = qml.device("default.qubit", wires=4)
    names = {"RY": qml.RY, "CRX": qml.CRX}

    @qml.qnode(dev)
    def f(theta):
        for op in c.ops:
            names[op.name](theta[op.param], wires=list(op.wires))
        return qml.state()

    ref = np.array([np.asarray(f(t)) for t in thetas])
    np.testing.assert_allclose(states, ref, atol=1e-10)
    assert rng is not None


def test_entangling_capability_limits():
    assert entangling_capability(sim_circuit(1, 4, 3), 200, seed=0).entangling_capability == pytest.approx(0, abs=1e-12)
    deep = entangling_capability(ring_vqc(4, 10), 2000, seed=1)
    assert abs(deep.entangling_capability - 14 / 17) < 0.03  # Haar average (d−2)/(d+1), d = 16
    ring = entangling_capability(ring_vqc(4, 1), 3000, seed=2)
    line = entangling_capability(hardware_efficient(4, 1, topology="line"), 3000, seed=2)
    assert ring.entangling_capability > line.entangling_capability + 3 * math.hypot(ring.se, line.se)


def test_layer_table_expressibility_improves_with_depth():
    tab = layer_table(lambda layer: ring_vqc(3, layer), [1, 4], name="ring", n_qubits=3, pairs=3000, samples=300,
                      seed=0)
    rows = tab.rows
    assert [r["layers"] for r in rows] == [1, 4]
    assert rows[1]["expressibility"] < rows[0]["expressibility"]
    assert set(tab.to_frame().columns) >= {"layers", "expressibility", "expressibility_se", "entangling_capability"}
    again = layer_table(lambda layer: ring_vqc(3, layer), [1, 4], name="ring", n_qubits=3, pairs=3000, samples=300,
                        seed=0)
    assert again.rows == rows  # seeded


@pytest.mark.parametrize(("index", "edges"), [
    (3, [(3, 2), (2, 1), (1, 0)]),                                  # CRZ ladder
    (16, [(1, 0), (3, 2), (2, 1)]),                                 # CRZ even then odd pairs
    (18, [(3, 0), (2, 3), (1, 2), (0, 1)]),                         # CRZ ring
    (5, [(c, t) for c in range(4) for t in range(4) if c != t]),    # CRZ all-to-all (then a local layer)
])
def test_crz_circuits_match_the_closed_form(index, edges):
    """Sim et al. circuits with RX(+RZ) then CRZ gates: Ent = (1/2n) Σ_k [1 − (3/4)^{d_k}] exactly."""
    from probe.qsim.expressibility import rx_diagonal_capability

    exact = rx_diagonal_capability(4, edges)
    mc = entangling_capability(sim_circuit(index, 4, 1), 6000, seed=index)
    assert abs(mc.entangling_capability - exact) < 4 * mc.se
    # Sim et al.'s Table II prints 0.34 (circuit 3) and 0.44 (circuit 18): ≥ 30 SE away from these values
    if index in (3, 18):
        assert abs({3: 0.34, 18: 0.44}[index] - mc.entangling_capability) > 30 * mc.se


def test_meyer_wallach_of_sim_circuits_matches_qiskit_state_by_state():
    """An independent simulator and partial trace (qiskit) give the same Q for the same angles."""
    qiskit = pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector, partial_trace, purity

    from probe.qsim.measures import meyer_wallach

    rng = np.random.default_rng(11)
    for index in (3, 6, 18):
        c = sim_circuit(index, 4, 1)
        thetas = rng.uniform(0, 2 * np.pi, size=(8, c.n_params))
        ours = np.asarray(meyer_wallach(statevector_of(c, thetas)))
        for theta, q in zip(thetas, ours, strict=True):
            qc = qiskit.QuantumCircuit(4)
            for op in c.ops:
                getattr(qc, op.name.lower())(theta[op.param], *op.wires)
            sv = Statevector(qc)
            ref = 2 * (1 - np.mean([purity(partial_trace(sv, [j for j in range(4) if j != k])).real
                                    for k in range(4)]))
            assert q == pytest.approx(ref, abs=1e-10)


def statevector_of(circuit, thetas):
    import torch

    from probe.qsim import statevector

    return statevector(circuit, torch.as_tensor(thetas))
