"""``probe quantum``: entangling power, expressibility, entangling capability and MIE of quantum circuits.

::

    probe quantum power --gate CNOT
    probe quantum power --unitary u.npy --cut 1
    probe quantum expressibility --ansatz ring --qubits 4 --layers 1..5 --samples 5000
    probe quantum capability --ansatz ring,line --qubits 4 --layers 1..5
    probe quantum mie --qubits 12 --depth 1..20 --measure-rate 0.0..0.5

Each sub-command is argument parsing plus one library call (:mod:`probe.experiments.quantum`);
``dest`` of every flag is the study's setting name. The ``classify``, ``compare``, ``rl`` and
``overlap`` sub-commands are registered by ``probe/commands/quantum_models.py``.
"""

from __future__ import annotations

from typing import Any

from probe.commands.quantum_common import add_common


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "quantum", help="entangling power, expressibility, entangling capability, MIE, quantum models",
        description="Quantum-circuit measures on probe's batched statevector simulator.")
    sub = parser.add_subparsers(dest="quantum_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])

    p = sub.add_parser("power", help="entangling and disentangling power (and capacities) of a unitary",
                       description="Zanardi entangling power (CNOT = 2/9), e_p(U†), operator entanglement, "
                                   "and Linden-Smolin-Winter capacities of a bipartite unitary.")
    p.add_argument("--gate", help="a two-qubit gate: CNOT, CZ, SWAP, ISWAP, SQRTSWAP, B, DCNOT, I, CRX:ANGLE, ...")
    p.add_argument("--unitary", metavar="FILE", help="a unitary as .npy (or text/.csv of complex numbers)")
    p.add_argument("--cut", type=int, default=None, help="qubits in part A (default: half)")
    p.add_argument("--dims", default=None, help="d_A,d_B for a non-qubit bipartition, e.g. 2,3")
    p.add_argument("--ancilla", default="1,1", help="local ancilla dimensions for the capacities (default 1,1)")
    p.add_argument("--starts", dest="capacity_starts", type=int, default=16,
                   help="random starts of the capacity search (0 = skip)")
    p.add_argument("--mc-samples", type=int, default=4000, help="product inputs of the Monte Carlo check")
    p.add_argument("--tolerance", type=float, default=1e-8, help="largest |U†U − I| accepted (default 1e-8)")
    add_common(p, "quantum-power")

    for what, helptext, default in (
        ("expressibility", "Sim et al. expressibility (KL to Haar) per number of layers", 5000),
        ("capability", "Sim et al. entangling capability (mean Meyer-Wallach Q) per number of layers", 1000),
    ):
        p = sub.add_parser(what, help=helptext, description=helptext + ". Rows are saved as they finish; "
                                                                        "rerun with the same --out to resume.")
        p.add_argument("--ansatz", default="ring", help="ansatz name(s), comma-separated: ring, line, star, all, "
                                                        "sim1..sim19 (default ring)")
        p.add_argument("--qubits", type=int, default=4, help="qubits of the circuit (default 4)")
        p.add_argument("--layers", default="1..5", help="layer counts: A..B, A..B:STEP or a list (default 1..5)")
        p.add_argument("--samples", type=int, default=default,
                       help=f"{'fidelity pairs' if what == 'expressibility' else 'parameter draws'} per row "
                            f"(default {default})")
        if what == "expressibility":
            p.add_argument("--bins", type=int, default=75, help="histogram bins on [0, 1] (default 75, as Sim et al.)")
        add_common(p, f"quantum-{what}")

    p = sub.add_parser("mie", help="measurement-induced entanglement of random circuits, and its learnability",
                       description="Average entanglement between two unmeasured qubits after measuring all others "
                                   "(Qian & Wang 2025, arXiv:2512.01317), with optional mid-circuit measurements "
                                   "and a learned upper/lower bound gap. Cells are saved as they finish; rerun "
                                   "with the same --out to resume.")
    p.add_argument("--qubits", type=int, default=8, help="qubits of the random circuits (default 8)")
    p.add_argument("--depth", dest="depths", default="1..8",
                   help="circuit depths: A..B, A..B:STEP or a list (default 1..8)")
    p.add_argument("--measure-rate", dest="rates", default="0",
                   help="mid-circuit measurement probability per qubit and layer (A..B[:STEP], default step 0.1, "
                        "or a list; default 0)")
    p.add_argument("--geometry", default="all",
                   help="all (all-to-all random pairings, default), chain (nearest-neighbour brickwork) or 2d-nn "
                        "(2-D nearest-neighbour brickwork on the most nearly square grid); the paper's two are all "
                        "and 2d-nn")
    p.add_argument("--pair", default=None, help="the two unmeasured qubits A,B (default 0,N-1)")
    p.add_argument("--circuits", type=int, default=10, help="random circuits per (depth, rate) (default 10)")
    p.add_argument("--trajectories", type=int, default=16,
                   help="measurement trajectories per circuit when the rate is > 0 (default 16)")
    p.add_argument("--learn", action="store_true", help="also train the record-only learner and report its bound gap")
    p.add_argument("--records", type=int, default=4000, help="measurement records per learner (default 4000)")
    p.add_argument("--epochs", type=int, default=60, help="learner training epochs (default 60)")
    p.add_argument("--hidden", type=int, default=64, help="learner hidden width (default 64)")
    p.add_argument("--learn-circuits", type=int, default=2, help="circuits per depth for the learner (default 2)")
    add_common(p, "quantum-mie")

    from probe.commands import quantum_models

    quantum_models.register(sub)
