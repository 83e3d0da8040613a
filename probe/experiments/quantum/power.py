"""The entangling-power study (``probe quantum power``, ``probe.quantum.power``).

Zanardi entangling power e_p (CNOT = 2/9), disentangling power e_p(U†), operator
entanglement, a Monte Carlo check of e_p, and the Linden-Smolin-Winter capacities
of one bipartite unitary, computed by :func:`probe.qsim.entangling_power.power`.
For two-qubit gates the result also lists exact e_p of reference gates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from probe.errors import DataError, SettingError
from probe.experiments.quantum.folder_run import run_in_folder
from probe.experiments.quantum.values import check_seed, int_pair, normalize
from probe.protocol import How, Plan, Result, Settings, Study

REFERENCE_GATES: tuple[tuple[str, str], ...] = (
    ("I", "I"), ("SWAP", "SWAP"), ("CPHASE(π/2)", f"CPHASE:{math.pi / 2!r}"), ("√SWAP", "SQRTSWAP"), ("CNOT", "CNOT"))
"""Two-qubit gates whose exact e_p the result lists beside the studied one: (label, gate spec)."""

MAX_CAPACITY_DIM = 4096
"""Largest d_A·x_A·d_B·x_B of the capacity search (its state has that many amplitudes per start)."""

Matrix = tuple[tuple[complex, ...], ...]


@dataclass(frozen=True, slots=True)
class PowerSettings(Settings):
    """What is studied: one unitary (a named gate, a matrix file or a matrix) and the bipartition."""

    experiment: ClassVar[str] = "quantum-power"

    gate: str | None = None
    """A two-qubit gate: CNOT, CZ, SWAP, ISWAP, SQRTSWAP, B, DCNOT, I, CRX:ANGLE, ..."""
    unitary: str | Matrix | None = None
    """A unitary: a file (.npy, or text/.csv of complex numbers) or, from Python, a square array."""
    cut: int | None = None
    """Qubits in part A (default: half)."""
    dims: tuple[int, int] | None = None
    """(d_A, d_B) for a non-qubit bipartition; replaces ``cut``."""
    ancilla: tuple[int, int] = (1, 1)
    """Local ancilla dimensions of the capacity search."""
    capacity_starts: int = 16
    """Random starts of the capacity search (0 = skip the capacities)."""
    mc_samples: int = 4000
    """Product inputs of the Monte Carlo check of e_p."""
    tolerance: float = 1e-8
    """Largest |U†U − I| accepted."""
    seed: int = 0

    def __post_init__(self) -> None:
        normalize(self, {"dims": lambda v: int_pair(v, param="dims"),
                         "ancilla": lambda v: int_pair(v, param="ancilla")})
        if self.unitary is not None and not isinstance(self.unitary, str | Path | tuple):
            object.__setattr__(self, "unitary", _as_matrix(self.unitary))
        elif isinstance(self.unitary, Path):
            object.__setattr__(self, "unitary", str(self.unitary))

    @property
    def label(self) -> str:
        """The unitary's name in reports: the gate, the file name, or ``matrix``."""
        if self.gate:
            return self.gate
        return Path(self.unitary).name if isinstance(self.unitary, str) else "matrix"

    def validate(self) -> None:
        self.prepare()

    def prepare(self) -> tuple[np.ndarray, tuple[int, int]]:
        """The checked unitary and its bipartition (d_A, d_B); raises for the first bad setting."""
        from probe.qsim.entangling_power import named_unitary
        from probe.qsim.validation import check_power_of_two, check_unitary

        check_seed(self.seed)
        if (self.gate is None) == (self.unitary is None):
            raise SettingError("gate", self.gate, "give exactly one of a gate name or a unitary",
                               hint="e.g. gate='CNOT', or unitary='u.npy'")
        for name in ("dims", "ancilla"):
            value = getattr(self, name)
            if value is not None:
                int_pair(value, param=name)
        if not self.tolerance > 0:
            raise SettingError("tolerance", self.tolerance, "must be > 0")
        where = self.gate or (self.unitary if isinstance(self.unitary, str) else "unitary")
        u = named_unitary(self.gate) if self.gate else _load_unitary(self.unitary)
        u = check_unitary(u, name=where, atol=self.tolerance)
        d = u.shape[0]
        if self.dims is not None:
            da, db = self.dims
            if da * db != d or min(da, db) < 2:
                raise SettingError("dims", f"{da},{db}", f"d_A·d_B must equal the unitary's size {d}, each >= 2")
            dims = (da, db)
        else:
            n = check_power_of_two(d, name=where)
            if n < 2:
                raise DataError(f"{where}: a {d}x{d} unitary acts on one qubit; there is no bipartition",
                                hint="give a 4x4 (two-qubit) or larger unitary")
            cut = self.cut if self.cut is not None else (n // 2 if n % 2 == 0 else None)
            if cut is None:
                raise SettingError("cut", None, f"{where}: {n} qubits cannot be split evenly",
                                   hint="say where to cut (A = the first K qubits)")
            if not 1 <= cut < n:
                raise SettingError("cut", cut, f"must be between 1 and {n - 1}")
            dims = (2**cut, 2 ** (n - cut))
        if min(self.ancilla) < 1:
            raise SettingError("ancilla", f"{self.ancilla[0]},{self.ancilla[1]}", "dimensions must be >= 1")
        if self.capacity_starts < 0:
            raise SettingError("capacity_starts", self.capacity_starts, "must be >= 0 (0 skips the capacities)")
        if self.mc_samples < 2:
            raise SettingError("mc_samples", self.mc_samples, "must be >= 2 (for a standard error)")
        size = dims[0] * self.ancilla[0] * dims[1] * self.ancilla[1]
        if self.capacity_starts > 0 and size > MAX_CAPACITY_DIM:
            raise SettingError("ancilla", f"{self.ancilla[0]},{self.ancilla[1]}",
                               f"a capacity search over {size} dimensions is too large (limit {MAX_CAPACITY_DIM})",
                               hint="use smaller ancillas, or capacity_starts=0 to skip the capacities")
        return u, dims

    def to_dict(self) -> dict[str, Any]:
        out = Settings.to_dict(self)
        if isinstance(self.unitary, tuple):
            m = np.array(self.unitary, dtype=complex)
            out["unitary"] = {"re": np.real(m).tolist(), "im": np.imag(m).tolist()}
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        data = dict(data)
        u = data.get("unitary")
        if isinstance(u, dict) and "re" in u:
            data["unitary"] = _as_matrix(np.array(u["re"]) + 1j * np.array(u["im"]))
        if data.get("unitary") is None and data.get("unitary_file"):  # run folders of probe 0.1
            data["unitary"] = data["unitary_file"]
        if isinstance(data.get("dims"), list) and data.get("gate"):
            data.pop("dims")  # 0.1 recorded the resolved bipartition; a gate's is always its halves
        return Settings.from_dict.__func__(cls, data)  # type: ignore[attr-defined]


def _as_matrix(value: Any) -> Matrix:
    try:
        m = np.asarray(value, dtype=complex)
    except (TypeError, ValueError) as exc:
        raise SettingError("unitary", "<array>", f"not a numeric matrix ({exc})") from exc
    if m.ndim != 2:
        raise SettingError("unitary", f"<array of shape {m.shape}>", "must be a square matrix")
    return tuple(tuple(complex(x) for x in row) for row in m)


def _load_unitary(source: str | Matrix | None) -> np.ndarray:
    if isinstance(source, tuple):
        return np.array(source, dtype=complex)
    p = Path(str(source))
    if not p.exists():
        raise SettingError("unitary", str(source), "no such file")
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        return np.loadtxt(p, dtype=complex, delimiter="," if p.suffix == ".csv" else None)
    except (OSError, ValueError) as exc:
        raise DataError(f"{source}: unreadable unitary ({exc})",
                        hint="save a square complex array with numpy.save") from exc


@dataclass(frozen=True)
class PowerResult(Result):
    """``r.entangling_power`` (exact e_p), ``r.mc_entangling_power`` ± ``r.mc_se``, capacities in ebits."""

    experiment: ClassVar[str] = "quantum-power"
    settings_type: ClassVar[type] = PowerSettings

    @property
    def name(self) -> str:
        return str(self.result.get("name"))

    @property
    def dims(self) -> tuple[int, int]:
        return tuple(self.result["dims"])  # type: ignore[return-value]

    @property
    def entangling_power(self) -> float:
        return float(self.result["entangling_power"])

    @property
    def disentangling_power(self) -> float:
        return float(self.result["disentangling_power"])

    @property
    def operator_entanglement(self) -> float:
        return float(self.result["operator_entanglement"])

    @property
    def mc_entangling_power(self) -> float:
        return float(self.result["mc_entangling_power"])

    @property
    def mc_se(self) -> float:
        return float(self.result["mc_se"])

    @property
    def entangling_capacity(self) -> float | None:
        return self.result.get("entangling_capacity")

    @property
    def disentangling_capacity(self) -> float | None:
        return self.result.get("disentangling_capacity")

    def to_frame(self) -> Any:
        """One row per measure: ``measure``, ``value``, ``se`` (Monte Carlo only), ``unit``."""
        import pandas as pd

        r = self.result
        rows = [("entangling_power", r["entangling_power"], None, "linear entropy"),
                ("disentangling_power", r["disentangling_power"], None, "linear entropy"),
                ("mc_entangling_power", r["mc_entangling_power"], r["mc_se"], "linear entropy"),
                ("operator_entanglement", r["operator_entanglement"], None, "linear entropy")]
        if r.get("entangling_capacity") is not None:
            rows += [("entangling_capacity", r["entangling_capacity"], None, "ebit"),
                     ("disentangling_capacity", r["disentangling_capacity"], None, "ebit")]
        return pd.DataFrame(rows, columns=["measure", "value", "se", "unit"])


def plan(settings: PowerSettings, how: How | None = None) -> Plan:
    _, dims = settings.prepare()
    (how or How()).validate()
    caps = f", capacities from {settings.capacity_starts} starts" if settings.capacity_starts else ""
    return Plan(PowerSettings.experiment, f"entangling power of {settings.label} on {dims[0]}x{dims[1]}{caps}",
                items=1)


def run(settings: PowerSettings, how: How | None = None) -> PowerResult:
    """Compute every power measure of the unitary and write the run folder."""
    from probe.qsim.entangling_power import entangling_power, named_unitary, power

    how = how or How()
    u, dims = settings.prepare()
    how.validate()

    def compute(_items: Any) -> dict[str, Any]:
        res = power(u, dims, capacity_starts=settings.capacity_starts, ancilla=settings.ancilla,
                    mc_samples=settings.mc_samples, seed=settings.seed)
        body = res.to_dict()
        body["name"] = settings.label
        if u.shape[0] <= 16:
            body["unitary"] = {"re": np.real(u).tolist(), "im": np.imag(u).tolist()}
        if dims == (2, 2):
            body["reference"] = [{"gate": label, "entangling_power": entangling_power(named_unitary(spec))}
                                 for label, spec in REFERENCE_GATES]
        return body

    name = settings.label.replace(":", "-")
    return run_in_folder(settings, how, name=Path(name).stem if settings.unitary else name,
                         result_type=PowerResult, compute=compute)


STUDY = Study(PowerSettings.experiment, PowerSettings, PowerResult, plan, run,
              summary="entangling and disentangling power (and capacities) of a unitary")

__all__ = ["REFERENCE_GATES", "STUDY", "PowerResult", "PowerSettings", "plan", "run"]
