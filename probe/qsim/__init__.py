"""probe.qsim: a batched torch statevector simulator and the entanglement measures of quantum models.

Conventions
-----------
- Wire 0 is the most significant bit of a basis index (PennyLane's order; qiskit
  is the reverse). ``R_P(θ) = exp(-iθP/2)``; controlled gates take the control first.
- States are torch tensors of shape ``(2^n,)`` or ``(B, 2^n)``, complex128 by default.
- Angles are radians. Randomness comes from an explicit ``seed`` (int or generator).

Simulator (import these; the API is stable)
-------------------------------------------
``Circuit(n)``
    Builder: ``.gate(name, *wires, param=NEW|slot|None)``, ``.rx/.ry/.rz(w)``,
    ``.h(w)``, ``.cnot(c, t)``, ``.cz(a, b)``, ``.unitary(U, *wires)``,
    ``.measure(*wires)``; ``a + b`` composes (``b``'s angle slots follow ``a``'s);
    ``.n_params``, ``.n_qubits``, ``.ops``. Gate names: :data:`GATES`.
``statevector(circuit, *params, state=None, dtype=torch.complex128, method="reversible")``
    Final states, shape (2^n,) or (B, 2^n). ``params`` pieces of shape (P_i,) (shared)
    or (B, P_i) (batched) concatenate to ``circuit.n_params`` angles. Autograd works
    w.r.t. every piece and ``state``; the default backward un-computes states through
    inverse gates, so memory does not grow with depth.
``run(circuit, *params, state=None, seed=None)`` → :class:`RunResult`
    Circuits with mid-circuit measurements: sampled outcomes + post-measurement state.
``parameter_shift(circuit, params, fn)``
    Gradient of ``fn(statevector(circuit, params))`` by the parameter-shift rule (checks).
``gate_matrix(name, theta=None)``, ``zero_state(n, batch=None)``

Reading states
--------------
``probabilities(state, wires=None)``, ``expval_z(state, wires=None)``,
``expval_pauli(state, "XZIY")``, ``sample(state, shots, wires=None, seed=None)``,
``measure(state, wires, seed=None)`` → (bits, post_state),
``reduced_density_matrix(state, keep)``.

Ansätze and encodings
---------------------
``ring_vqc(n, layers, rotations=("RY","RZ"), entangler="CNOT")``,
``hardware_efficient(n, layers, rotations, entangler, topology="line"|"ring"|"star"|"all")``,
``sim_circuit(index, n=4, layers=1)`` (Sim et al. 2019 circuits 1–19),
``build_ansatz(name, n, layers)`` with names in :data:`ANSATZE`;
``angle_encoding(n, rotation="RY")``, ``amplitude_encoding(x, n_qubits=None)``,
``zz_feature_map(n, reps)`` + ``zz_angles(x, reps)``.

Measures (import from their modules; pure functions, results are frozen dataclasses
with ``to_dict()`` / ``to_frame()``)
-------------------------------------------------------------------------------
:mod:`probe.qsim.measures` (numpy in → numpy out, torch in → torch out, differentiable):
``entanglement_entropy(state, subsystem, base=2)``, ``renyi_entropy(state, subsystem, alpha=2)``,
``linear_entropy(state, subsystem)``, ``schmidt_coefficients(state, subsystem)``,
``von_neumann(p, base=2)``, ``meyer_wallach(state)``, ``concurrence(state, density=False)``.

:mod:`probe.qsim.entangling_power`: ``entangling_power(U, dims=None)`` (Zanardi, CNOT = 2/9),
``disentangling_power(U, dims=None)`` (= e_p(U†)), ``operator_entanglement(U, dims)``,
``gate_invariants(U)`` (Makhlin G1, G2), ``entangling_power_mc(U, dims, samples, seed)``,
``entangling_capacity(U, dims, direction="entangle"|"disentangle", ancilla=(1, 1), starts, seed)``,
``power(U, dims, capacity_starts, ancilla, mc_samples, seed) -> PowerResult``, ``named_unitary("CNOT")``.

:mod:`probe.qsim.expressibility`: ``fidelity_samples(circuit, pairs, seed)``,
``expressibility(fidelities, n_qubits, bins=75, bootstrap=500, seed) -> ExpressibilityResult``,
``entangling_capability(circuit, samples, seed) -> CapabilityResult``,
``layer_table(build, layers, name, n_qubits, pairs, samples, bins, what, seed) -> LayerTable``.

:mod:`probe.qsim.mie`: ``mie_exact(state, pair, basis="Z", base=2)``,
``post_measurement_states(state, pair)``, ``random_layers(n, depth, geometry, rng)``,
``simulate(n, layers, rate, trajectories, seed)``, ``learn_bounds(n, layers, pair, ...) -> LearnResult``,
``mie_scan(n, depths, rates, ...) -> MieScan``.

Also: ``probe.qsim.simulator.apply_matrix(state, U, wires)`` (functional gate application)
and ``threads_for(amplitudes)`` (one thread for small simulations).
"""

from probe.qsim.ansatz import ANSATZE, build_ansatz, hardware_efficient, ring_vqc, sim_circuit
from probe.qsim.circuit import NEW, Circuit, Op
from probe.qsim.encoding import amplitude_encoding, angle_encoding, zz_angles, zz_feature_map
from probe.qsim.gates import GATES, gate_matrix
from probe.qsim.parameter_shift import parameter_shift
from probe.qsim.simulator import statevector, zero_state
from probe.qsim.states import (
    RunResult,
    expval_pauli,
    expval_z,
    measure,
    probabilities,
    reduced_density_matrix,
    run,
    sample,
)

__all__ = [
    "ANSATZE",
    "GATES",
    "NEW",
    "Circuit",
    "Op",
    "RunResult",
    "amplitude_encoding",
    "angle_encoding",
    "build_ansatz",
    "expval_pauli",
    "expval_z",
    "gate_matrix",
    "hardware_efficient",
    "measure",
    "parameter_shift",
    "probabilities",
    "reduced_density_matrix",
    "ring_vqc",
    "run",
    "sample",
    "sim_circuit",
    "statevector",
    "zero_state",
    "zz_angles",
    "zz_feature_map",
]
