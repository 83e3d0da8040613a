"""The measurement-induced entanglement study (``probe quantum mie``, ``probe.quantum.mie``).

MIE of random circuits over a grid of depths and mid-circuit measurement rates,
and optionally the learned upper/lower bound gap (Qian & Wang 2025,
arXiv:2512.01317), computed by :func:`probe.qsim.mie.mie_scan` one cell at a
time. Each (depth, rate) cell draws from its own seeded stream and is saved to
``items.jsonl`` as it finishes: an interrupted scan resumes, an extended grid
computes only its new cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from probe._results import jsonable
from probe.errors import DataError, SettingError
from probe.experiments.quantum.folder_run import done_items, run_in_folder
from probe.experiments.quantum.values import (
    check_memory,
    check_seed,
    float_values,
    int_pair,
    int_values,
    item_seed,
    normalize,
)
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study


def geometries() -> tuple[str, ...]:
    """The circuit geometries :mod:`probe.qsim.mie` knows."""
    from probe.qsim import mie

    return tuple(getattr(mie, "GEOMETRIES", ("all", "chain")))


@dataclass(frozen=True, slots=True)
class MieSettings(Settings):
    """What is scanned: circuit size and geometry, the (depth, rate) grid, circuits per cell, the learner."""

    experiment: ClassVar[str] = "quantum-mie"

    qubits: int = 8
    depths: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    """Circuit depths: a list, or ``"A..B"``, ``"A..B:STEP"``, ``"2,4,8"``."""
    rates: tuple[float, ...] = (0.0,)
    """Mid-circuit measurement probability per qubit and layer: a list, or ``"A..B[:STEP]"`` (step 0.1)."""
    geometry: str = "all"
    """Random all-to-all pairings, or a nearest-neighbour brickwork (see :func:`geometries`)."""
    pair: tuple[int, int] | None = None
    """The two unmeasured qubits A, B (default 0, N−1)."""
    circuits: int = 10
    """Random circuits per (depth, rate)."""
    trajectories: int = 16
    """Measurement trajectories per circuit when the rate is > 0."""
    learn: bool = False
    """Also train the record-only learner and report its bound gap."""
    records: int = 4000
    epochs: int = 60
    hidden: int = 64
    learn_circuits: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        normalize(self, {"depths": lambda v: int_values(v, param="depths", minimum=0),
                         "rates": lambda v: float_values(v, param="rates"),
                         "pair": lambda v: int_pair(v, param="pair")})

    @property
    def ab(self) -> tuple[int, int]:
        """The unmeasured pair with the default filled in."""
        return (0, self.qubits - 1) if self.pair is None else (int(self.pair[0]), int(self.pair[1]))

    def validate(self) -> None:
        check_seed(self.seed)
        n = self.qubits
        if isinstance(n, bool) or not isinstance(n, int) or n < 3:
            raise SettingError("qubits", n, "must be >= 3 (two unmeasured qubits and at least one measured)")
        check_memory(n, batch=max(1, self.trajectories))
        int_values(self.depths, param="depths", minimum=0)
        float_values(self.rates, param="rates")
        if self.geometry not in geometries():
            raise SettingError("geometry", self.geometry, f"use one of {', '.join(geometries())}")
        if self.geometry == "2d-nn":
            from probe.qsim import mie

            try:
                mie.grid_shape(n)
            except DataError as exc:
                raise SettingError("qubits", n, exc.message, hint=exc.hint) from None
        if self.pair is not None:
            int_pair(self.pair, param="pair")
        a, b = self.ab
        if not (0 <= a < n and 0 <= b < n and a != b):
            raise SettingError("pair", f"{a},{b}", f"must be two different qubits in 0..{n - 1}")
        if self.circuits < 2:
            raise SettingError("circuits", self.circuits, "must be >= 2 (for a standard error)")
        if self.trajectories < 1:
            raise SettingError("trajectories", self.trajectories, "must be >= 1")
        if self.learn:
            if self.records < 100:
                raise SettingError("records", self.records, "must be >= 100 for the learner")
            if self.epochs < 1:
                raise SettingError("epochs", self.epochs, "must be >= 1 for the learner")
            if self.hidden < 1 or self.learn_circuits < 1:
                raise SettingError("hidden" if self.hidden < 1 else "learn_circuits",
                                   min(self.hidden, self.learn_circuits), "must be >= 1")


@dataclass(frozen=True)
class MieResult(Result):
    """``r.mie(depth, rate)`` -> (MIE in bits, SE over circuits); ``r.table``; ``r.to_frame()``."""

    experiment: ClassVar[str] = "quantum-mie"
    settings_type: ClassVar[type] = MieSettings

    @property
    def table(self) -> list[dict[str, Any]]:
        return list(self.result.get("table") or [])

    def row(self, depth: int, rate: float = 0.0) -> dict[str, Any]:
        for r in self.table:
            if r["depth"] == depth and abs(r["rate"] - rate) < 1e-12:
                return r
        raise KeyError((depth, rate))

    def mie(self, depth: int, rate: float = 0.0) -> tuple[float, float]:
        r = self.row(depth, rate)
        return float(r["mie"]), float(r["mie_se"])

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.table)


def _item_id(depth: int, rate: float) -> str:
    return f"{depth}/{rate!r}"


def plan(settings: MieSettings, how: How | None = None) -> Plan:
    how = how or How()
    settings.validate()
    how.validate()
    cells = len(settings.depths) * len(settings.rates)
    done = done_items(how)
    learn = f", with the learner on {settings.learn_circuits} circuits per cell" if settings.learn else ""
    return Plan(MieSettings.experiment, f"MIE of {settings.geometry} circuits on {settings.qubits} qubits: {cells} "
                                        f"(depth, rate) cells x {settings.circuits} circuits{learn}", items=cells,
                notes=(f"{done} cells already in {how.out}/items.jsonl",) if done else ())


def run(settings: MieSettings, how: How | None = None) -> MieResult:
    """Scan (or resume) the grid and write the run folder."""
    from probe.qsim.mie import mie_scan

    how = how or How()
    settings.validate()
    how.validate()
    n, pair = settings.qubits, settings.ab

    def compute(items: Any) -> dict[str, Any]:
        todo = [(d, r) for d in settings.depths for r in settings.rates if _item_id(d, r) not in items]
        per_cell = settings.circuits + (settings.learn_circuits if settings.learn else 0)
        with Progress("MIE", total=len(todo) * per_cell, enabled=how.progress, unit="circuits") as bar:
            for depth, rate in todo:
                bar.update(info=f"depth {depth} rate {rate}")
                scan = mie_scan(n, [depth], [rate], pair=pair, geometry=settings.geometry, circuits=settings.circuits,
                                trajectories=settings.trajectories, learn=settings.learn, records=settings.records,
                                epochs=settings.epochs, hidden=settings.hidden,
                                learn_circuits=settings.learn_circuits, seed=item_seed(settings.seed, depth, rate),
                                progress=bar.advance)
                items.add(_item_id(depth, rate), jsonable(scan.table[0]))
        return {"qubits": n, "pair": list(pair), "geometry": settings.geometry,
                "table": [items.get(_item_id(d, r)) for d in settings.depths for r in settings.rates]}

    return run_in_folder(settings, how, name=f"{settings.geometry}-{n}q", result_type=MieResult, compute=compute,
                         extendable=("depths", "rates"))


STUDY = Study(MieSettings.experiment, MieSettings, MieResult, plan, run,
              summary="measurement-induced entanglement of random circuits, and its learnability")

__all__ = ["STUDY", "MieResult", "MieSettings", "geometries", "plan", "run"]
