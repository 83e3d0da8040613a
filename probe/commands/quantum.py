"""``probe quantum``: entangling power, expressibility, entangling capability and MIE of quantum circuits.

::

    probe quantum power --gate CNOT
    probe quantum power --unitary u.npy --cut 1
    probe quantum expressibility --ansatz ring --qubits 4 --layers 1..5 --samples 5000
    probe quantum capability --ansatz ring,line --qubits 4 --layers 1..5
    probe quantum mie --qubits 12 --depth 1..20 --measure-rate 0.0..0.5

The ``classify``, ``compare``, ``rl`` and ``overlap`` sub-commands live in
``probe/commands/quantum_models.py`` and are added here when present.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probe.commands._run import finish_run, progress_bar
from probe.errors import ConfigError, DataError

# --------------------------------------------------------------------------- parsing helpers


def parse_int_range(text: str, *, name: str, minimum: int = 0) -> list[int]:
    """``"1..5"`` → [1, 2, 3, 4, 5]; ``"1..9:2"`` → [1, 3, 5, 7, 9]; ``"2,4,8"``; ``"3"``."""
    try:
        if ".." in text:
            span, _, step = text.partition(":")
            lo, hi = (int(x) for x in span.split(".."))
            st = int(step) if step else 1
            if st < 1 or hi < lo:
                raise ValueError
            values = list(range(lo, hi + 1, st))
        else:
            values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{name}: cannot read {text!r}", hint="write A..B, A..B:STEP or a comma list") from None
    if not values or min(values) < minimum:
        raise ConfigError(f"--{name}: values must be whole numbers >= {minimum}; got {text!r}")
    return values


def parse_float_range(text: str, *, name: str, low: float = 0.0, high: float = 1.0) -> list[float]:
    """``"0.0..0.5"`` (step 0.1), ``"0..0.5:0.05"``, ``"0,0.1,0.3"``."""
    try:
        if ".." in text:
            span, _, step = text.partition(":")
            lo, hi = (float(x) for x in span.split(".."))
            st = float(step) if step else 0.1
            if st <= 0 or hi < lo:
                raise ValueError
            count = round((hi - lo) / st) + 1
            values = [round(lo + i * st, 10) for i in range(count) if lo + i * st <= hi + 1e-9]
        else:
            values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{name}: cannot read {text!r}", hint="write A..B, A..B:STEP or a comma list") from None
    if not values or min(values) < low or max(values) > high:
        raise ConfigError(f"--{name}: values must lie in [{low}, {high}]; got {text!r}")
    return values


def _pair(text: str, *, name: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"--{name}: expected two whole numbers 'A,B'; got {text!r}") from None
    return a, b


# --------------------------------------------------------------------------- run plumbing






# --------------------------------------------------------------------------- power


def _load_unitary(path: str) -> Any:
    import numpy as np

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"--unitary {path}: no such file")
    try:
        if p.suffix == ".npy":
            u = np.load(p, allow_pickle=False)
        else:
            u = np.loadtxt(p, dtype=complex, delimiter="," if p.suffix == ".csv" else None)
    except (OSError, ValueError) as exc:
        raise DataError(f"--unitary {path}: unreadable ({exc})", hint="save a square complex array with numpy.save") from exc
    return u


def run_power(args: argparse.Namespace) -> int:
    import numpy as np

    from probe.qsim.entangling_power import entangling_power, named_unitary, power
    from probe.qsim.validation import check_power_of_two, check_unitary

    if bool(args.gate) == bool(args.unitary):
        raise ConfigError("give exactly one of --gate NAME or --unitary FILE")
    if args.gate:
        u = named_unitary(args.gate)
        name = args.gate.replace(":", "-")
    else:
        u = _load_unitary(args.unitary)
        name = Path(args.unitary).stem
    u = check_unitary(u, name=args.gate or args.unitary, atol=args.tolerance)
    d = u.shape[0]
    if args.dims:
        dims = _pair(args.dims, name="dims")
        if dims[0] * dims[1] != d or min(dims) < 2:
            raise ConfigError(f"--dims {args.dims}: d_A·d_B must equal the unitary's size {d}")
    else:
        n = check_power_of_two(d, name=args.gate or args.unitary)
        if n < 2:
            raise DataError(f"{args.gate or args.unitary}: a {d}x{d} unitary acts on one qubit; there is no bipartition",
                            hint="give a 4x4 (two-qubit) or larger unitary")
        cut = args.cut if args.cut is not None else (n // 2 if n % 2 == 0 else None)
        if cut is None:
            raise ConfigError(f"{args.gate or args.unitary}: {n} qubits cannot be split evenly",
                              hint="say where to cut with --cut K (A = the first K qubits)")
        if not 1 <= cut < n:
            raise ConfigError(f"--cut {cut}: must be between 1 and {n - 1}")
        dims = (2**cut, 2 ** (n - cut))
    ancilla = _pair(args.ancilla, name="ancilla")
    if min(ancilla) < 1 or args.starts < 0 or args.mc_samples < 2:
        raise ConfigError("--ancilla dims must be >= 1, --starts >= 0 and --mc-samples >= 2")
    if dims[0] * ancilla[0] * dims[1] * ancilla[1] > 4096:
        raise ConfigError(f"capacity search over {dims[0] * ancilla[0] * dims[1] * ancilla[1]} dimensions is too large",
                          hint="use smaller --ancilla or --starts 0 to skip capacities")
    settings = {"gate": args.gate, "unitary_file": args.unitary, "dims": list(dims), "ancilla": list(ancilla),
                "capacity_starts": args.starts, "mc_samples": args.mc_samples, "seed": args.seed}

    def compute() -> dict[str, Any]:
        res = power(u, dims, capacity_starts=args.starts, ancilla=ancilla, mc_samples=args.mc_samples,
                    seed=args.seed)
        body = res.to_dict()
        body["name"] = args.gate or Path(args.unitary).name
        if d <= 16:
            body["unitary"] = {"re": np.real(u).tolist(), "im": np.imag(u).tolist()}
        if dims == (2, 2):
            body["reference"] = [{"gate": label, "entangling_power": entangling_power(named_unitary(g))}
                                 for label, g in (("I", "I"), ("SWAP", "SWAP"), ("CPHASE(π/2)", "CPHASE:1.5707963267948966"),
                                                  ("√SWAP", "SQRTSWAP"), ("CNOT", "CNOT"))]
        return body

    return _finish_run("quantum-power", name, args, settings, compute)


# --------------------------------------------------------------------------- expressibility / capability


def _ansatz_args(args: argparse.Namespace) -> tuple[list[str], list[int]]:
    from probe.qsim.ansatz import ANSATZE
    from probe.qsim.validation import check_qubits

    names = [a.strip().lower() for a in args.ansatz.split(",") if a.strip()]
    for a in names:
        if a not in ANSATZE:
            raise ConfigError(f"--ansatz {a!r} is unknown", hint=f"choose from {', '.join(ANSATZE)}")
    if args.qubits < 1:
        raise ConfigError(f"--qubits must be >= 1; got {args.qubits}")
    if any(a.startswith("sim") for a in names) and args.qubits < 2:
        raise ConfigError("the Sim et al. circuits need --qubits >= 2")
    check_qubits(args.qubits, batch=2, what=f"--qubits {args.qubits}")
    layers = parse_int_range(args.layers, name="layers", minimum=0)
    if args.samples < 2:
        raise ConfigError(f"--samples must be >= 2; got {args.samples}")
    return names, layers


def _table_command(args: argparse.Namespace, what: str) -> int:
    from probe.qsim.ansatz import build_ansatz
    from probe.qsim.expressibility import layer_table

    names, layers = _ansatz_args(args)
    experiment = f"quantum-{what}"
    bins = getattr(args, "bins", 75)
    if bins < 2:
        raise ConfigError(f"--bins must be >= 2; got {bins}")
    settings = {"ansatz": names, "qubits": args.qubits, "layers": layers, "samples": args.samples,
                "seed": args.seed, **({"bins": bins} if what == "expressibility" else {})}

    def compute() -> dict[str, Any]:
        import numpy as np

        rng = np.random.default_rng(args.seed)
        rows: list[dict[str, Any]] = []
        with progress_bar() as bar:
            task = bar.add_task(f"{what}", total=len(names) * len(layers))
            for a in names:
                tab = layer_table(lambda layer, a=a: build_ansatz(a, args.qubits, layer), layers, name=a,
                                  n_qubits=args.qubits, pairs=args.samples, samples=args.samples, bins=bins,
                                  what=what, seed=rng, progress=lambda _: bar.advance(task))
                rows += [{"ansatz": a, **r} for r in tab.rows]
        body: dict[str, Any] = {"table": rows, "qubits": args.qubits}
        if what == "expressibility":
            body["idle_maximum"] = (2.0**args.qubits - 1) * float(np.log(bins))
        return body

    return _finish_run(experiment, f"{'+'.join(names)}-{args.qubits}q", args, settings, compute)


def run_expressibility(args: argparse.Namespace) -> int:
    return _table_command(args, "expressibility")


def run_capability(args: argparse.Namespace) -> int:
    return _table_command(args, "capability")


# --------------------------------------------------------------------------- MIE


def run_mie(args: argparse.Namespace) -> int:
    from probe.qsim import mie
    from probe.qsim.validation import check_qubits

    n = args.qubits
    if n < 3:
        raise ConfigError(f"--qubits must be >= 3 (two unmeasured qubits and at least one measured); got {n}")
    check_qubits(n, batch=args.trajectories, what=f"--qubits {n}")
    depths = parse_int_range(args.depth, name="depth", minimum=0)
    rates = parse_float_range(args.measure_rate, name="measure-rate")
    a, b = (0, n - 1) if args.pair is None else _pair(args.pair, name="pair")
    if not (0 <= a < n and 0 <= b < n and a != b):
        raise ConfigError(f"--pair {a},{b}: two different qubits in 0..{n - 1}")
    if args.circuits < 2 or args.trajectories < 1:
        raise ConfigError("--circuits must be >= 2 (for a standard error) and --trajectories >= 1")
    if args.learn and (args.records < 100 or args.epochs < 1):
        raise ConfigError("--records must be >= 100 and --epochs >= 1 for --learn")
    settings = {"qubits": n, "depths": depths, "rates": rates, "pair": [a, b], "geometry": args.geometry,
                "circuits": args.circuits, "trajectories": args.trajectories, "seed": args.seed,
                "learn": args.learn, **({"records": args.records, "epochs": args.epochs, "hidden": args.hidden,
                                         "learn_circuits": args.learn_circuits} if args.learn else {})}

    def compute() -> dict[str, Any]:
        with progress_bar() as bar:
            task = bar.add_task("MIE", total=len(depths) * len(rates) * (args.circuits + (
                args.learn_circuits if args.learn else 0)))
            res = mie.mie_scan(n, depths, rates, pair=(a, b), geometry=args.geometry, circuits=args.circuits,
                               trajectories=args.trajectories, learn=args.learn, records=args.records,
                               epochs=args.epochs, hidden=args.hidden, learn_circuits=args.learn_circuits,
                               seed=args.seed, progress=lambda: bar.advance(task))
        return res.to_dict()

    return _finish_run("quantum-mie", f"{args.geometry}-{n}q", args, settings, compute)


# --------------------------------------------------------------------------- registration


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default=None, help="run folder (default runs/<experiment>-<name>-<time>/)")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampled number (default 0)")


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
    p.add_argument("--starts", type=int, default=16, help="random starts of the capacity search (0 = skip)")
    p.add_argument("--mc-samples", type=int, default=4000, help="product inputs of the Monte Carlo check")
    p.add_argument("--tolerance", type=float, default=1e-8, help="largest |U†U − I| accepted (default 1e-8)")
    _common(p)
    p.set_defaults(func=run_power)

    for what, helptext, default in (
        ("expressibility", "Sim et al. expressibility (KL to Haar) per number of layers", 5000),
        ("capability", "Sim et al. entangling capability (mean Meyer-Wallach Q) per number of layers", 1000),
    ):
        p = sub.add_parser(what, help=helptext, description=helptext + ".")
        p.add_argument("--ansatz", default="ring", help="ansatz name(s), comma-separated: ring, line, star, all, "
                                                        "sim1..sim19 (default ring)")
        p.add_argument("--qubits", type=int, default=4)
        p.add_argument("--layers", default="1..5", help="layer counts: A..B, A..B:STEP or a list (default 1..5)")
        p.add_argument("--samples", type=int, default=default,
                       help=f"{'fidelity pairs' if what == 'expressibility' else 'parameter draws'} per row "
                            f"(default {default})")
        if what == "expressibility":
            p.add_argument("--bins", type=int, default=75, help="histogram bins on [0, 1] (default 75, as Sim et al.)")
        _common(p)
        p.set_defaults(func=run_expressibility if what == "expressibility" else run_capability)

    p = sub.add_parser("mie", help="measurement-induced entanglement of random circuits, and its learnability",
                       description="Average entanglement between two unmeasured qubits after measuring all others "
                                   "(Qian & Wang 2025, arXiv:2512.01317), with optional mid-circuit measurements "
                                   "and a learned upper/lower bound gap.")
    p.add_argument("--qubits", type=int, default=8)
    p.add_argument("--depth", default="1..8", help="circuit depths: A..B, A..B:STEP or a list (default 1..8)")
    p.add_argument("--measure-rate", default="0", help="mid-circuit measurement probability per qubit and layer "
                                                        "(A..B[:STEP], default step 0.1, or a list; default 0)")
    p.add_argument("--geometry", choices=("all", "chain", "2d-nn"), default="all",
                   help="all-to-all random pairings (default), a nearest-neighbour brickwork chain, or 2-D "
                        "nearest-neighbour brickwork on the most nearly square grid (the paper's two: all, 2d-nn)")
    p.add_argument("--pair", default=None, help="the two unmeasured qubits A,B (default 0,N-1)")
    p.add_argument("--circuits", type=int, default=10, help="random circuits per (depth, rate) (default 10)")
    p.add_argument("--trajectories", type=int, default=16,
                   help="measurement trajectories per circuit when the rate is > 0 (default 16)")
    p.add_argument("--learn", action="store_true", help="also train the record-only learner and report its bound gap")
    p.add_argument("--records", type=int, default=4000, help="measurement records per learner (default 4000)")
    p.add_argument("--epochs", type=int, default=60, help="learner training epochs (default 60)")
    p.add_argument("--hidden", type=int, default=64, help="learner hidden width (default 64)")
    p.add_argument("--learn-circuits", type=int, default=2, help="circuits per depth for the learner (default 2)")
    _common(p)
    p.set_defaults(func=run_mie)

    try:
        models = importlib.import_module("probe.commands.quantum_models")
    except ModuleNotFoundError as exc:
        if exc.name != "probe.commands.quantum_models":
            raise
    else:
        models.register(sub)


def _finish_run(experiment: str, name: str, args: argparse.Namespace, settings: dict[str, Any],
                compute: Callable[[], dict[str, Any]]) -> int:
    from probe.report.quantum import render

    return finish_run(experiment, name, args.out, settings, compute, render)
