"""Quantum kernels: closed forms, PSD/unit diagonal, agreement with PennyLane and qiskit-machine-learning."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest

from probe.qml import kernels


@pytest.mark.parametrize("feature_map", kernels.FEATURE_MAPS)
def test_gram_is_symmetric_psd_with_unit_diagonal(feature_map: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (40, 4))
    k = kernels.fidelity_kernel(x, feature_map=feature_map)
    assert np.array_equal(k, k.T)
    np.testing.assert_allclose(np.diag(k), 1.0)
    assert np.linalg.eigvalsh(k)[0] > -1e-10
    assert k.min() >= 0 and k.max() <= 1 + 1e-12
    cross = kernels.fidelity_kernel(x[:5], x, feature_map=feature_map)
    np.testing.assert_allclose(cross, k[:5], atol=1e-13)


def test_closed_forms_angle_and_amplitude() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-2, 2, (7, 3)), rng.uniform(-2, 2, (5, 3))
    expected = np.prod(np.cos((x[:, None, :] - y[None, :, :]) / 2) ** 2, axis=-1)
    np.testing.assert_allclose(kernels.fidelity_kernel(x, y, feature_map="angle"), expected, atol=1e-13)
    a, b = rng.normal(size=(6, 5)), rng.normal(size=(4, 5))  # 5 features pad to 8 amplitudes, 3 qubits
    amp = (a @ b.T) ** 2 / np.outer((a**2).sum(1), (b**2).sum(1))
    np.testing.assert_allclose(kernels.fidelity_kernel(a, b, feature_map="amplitude"), amp, atol=1e-13)
    np.testing.assert_allclose(kernels.fidelity_kernel([[0.0], [np.pi]]), [[1, 0], [0, 1]], atol=1e-15)


def test_zz_diagonal_form_equals_gate_circuit() -> None:
    rng = np.random.default_rng(2)
    for q, reps in ((1, 1), (2, 2), (3, 3), (5, 2)):
        x = rng.uniform(0, np.pi, (9, q))
        a = kernels.feature_states(x, feature_map="zz", reps=reps, method="circuit")
        b = kernels.feature_states(x, feature_map="zz", reps=reps, method="diagonal")
        assert float((a - b).abs().max()) < 1e-13


def _pennylane_zz_kernel(x: np.ndarray, reps: int = 2) -> np.ndarray:
    n = x.shape[1]
    dev = qml.device("default.qubit", wires=n)

    def zz_map(v):
        for _ in range(reps):
            for w in range(n):
                qml.Hadamard(wires=w)
            for w in range(n):
                qml.PhaseShift(2 * v[w], wires=w)
            for i in range(n):
                for j in range(i + 1, n):
                    qml.CNOT(wires=[i, j])
                    qml.PhaseShift(2 * (np.pi - v[i]) * (np.pi - v[j]), wires=j)
                    qml.CNOT(wires=[i, j])

    @qml.qnode(dev)
    def overlap(a, b):
        zz_map(a)
        qml.adjoint(zz_map)(b)
        return qml.probs(wires=range(n))

    return np.asarray(qml.kernels.square_kernel_matrix(x, lambda a, b: overlap(a, b)[0]))


def test_zz_kernel_matches_pennylane() -> None:
    x = np.random.default_rng(3).uniform(0, np.pi, (5, 3))
    np.testing.assert_allclose(kernels.fidelity_kernel(x, feature_map="zz"), _pennylane_zz_kernel(x), atol=1e-10)


def test_angle_kernel_matches_pennylane_angle_embedding() -> None:
    x = np.random.default_rng(4).uniform(0, np.pi, (5, 3))
    dev = qml.device("default.qubit", wires=3)

    @qml.qnode(dev)
    def overlap(a, b):
        qml.AngleEmbedding(a, wires=range(3), rotation="Y")
        qml.adjoint(qml.AngleEmbedding)(b, wires=range(3), rotation="Y")
        return qml.probs(wires=range(3))

    ref = qml.kernels.square_kernel_matrix(x, lambda a, b: overlap(a, b)[0])
    np.testing.assert_allclose(kernels.fidelity_kernel(x, feature_map="angle"), ref, atol=1e-10)


def test_zz_kernel_matches_qiskit_machine_learning() -> None:
    pytest.importorskip("qiskit_machine_learning")
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    x = np.random.default_rng(5).uniform(0, np.pi, (12, 4))
    ref = FidelityStatevectorKernel(feature_map=zz_feature_map(4, reps=2), enforce_psd=False).evaluate(x)
    np.testing.assert_allclose(kernels.fidelity_kernel(x, feature_map="zz"), ref, atol=1e-10)


def test_projected_kernel_closed_form_for_angle_encoding() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.uniform(0, np.pi, (6, 3)), rng.uniform(0, np.pi, (4, 3))
    # RY(x)|0> has Bloch vector (sin x, 0, cos x): ||rho - sigma||_F^2 = 1 - cos(x - y)
    expected = np.exp(-0.7 * (1 - np.cos(x[:, None, :] - y[None, :, :])).sum(-1))
    np.testing.assert_allclose(kernels.projected_kernel(x, y, gamma=0.7), expected, atol=1e-12)
    k = kernels.projected_kernel(x, feature_map="zz")
    np.testing.assert_allclose(np.diag(k), 1.0)
    assert np.linalg.eigvalsh(k)[0] > -1e-10


def test_alignment_matches_pennylane_and_ideal_kernel() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (16, 2))
    y = np.where(x[:, 0] > np.pi / 3, 1, -1)
    k = kernels.fidelity_kernel(x)
    ref = qml.kernels.target_alignment(x, y, lambda a, b: kernels.fidelity_kernel(a[None], b[None])[0, 0],
                                       assume_normalized_kernel=True, rescale_class_labels=False)
    assert (y == 1).sum() != (y == -1).sum()  # unbalanced, so label rescaling would matter
    assert kernels.kernel_target_alignment(k, y) == pytest.approx(float(ref), rel=1e-10)
    ideal = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    assert kernels.kernel_target_alignment(ideal, y) == pytest.approx(1.0)
    labels3 = np.repeat([0, 1, 2], 4)
    ideal3 = np.where(labels3[:, None] == labels3[None, :], 1.0, -0.5)
    assert kernels.kernel_target_alignment(ideal3, labels3) == pytest.approx(1.0)


def test_concentration_of_haar_states_is_one_over_dimension() -> None:
    rng = np.random.default_rng(8)
    q = 6
    psi = rng.normal(size=(300, 2**q)) + 1j * rng.normal(size=(300, 2**q))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    k = np.abs(psi.conj() @ psi.T) ** 2
    stats = kernels.kernel_concentration(k)
    assert stats.mean_offdiag == pytest.approx(kernels.haar_kernel_mean(q), rel=0.05)
    # Haar fidelities follow Beta(1, d-1): variance (d-1)/(d^2 (d+1))
    d = 2**q
    assert stats.var_offdiag == pytest.approx((d - 1) / (d**2 * (d + 1)), rel=0.1)


def test_shot_kernel_is_unbiased_and_psd_projection_reports_the_shift() -> None:
    x = np.random.default_rng(9).uniform(0, np.pi, (10, 3))
    k = kernels.fidelity_kernel(x, feature_map="zz")
    draws = np.mean([kernels.shot_kernel(k, shots=200, seed=s) for s in range(300)], axis=0)
    np.testing.assert_allclose(draws, k, atol=0.01)
    noisy = kernels.shot_kernel(k, shots=20, seed=0)
    assert np.array_equal(noisy, noisy.T) and np.all(np.diag(noisy) == 1)
    fixed, shift = kernels.nearest_psd(noisy)
    assert np.linalg.eigvalsh(fixed)[0] > -1e-12
    if np.linalg.eigvalsh(noisy)[0] < 0:
        assert shift > 0
    _, zero = kernels.nearest_psd(k)
    assert zero < 1e-12
