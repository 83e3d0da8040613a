"""Layer tables of ansätze: expressibility and entangling capability (Sim, Johnson & Aspuru-Guzik 2019,
arXiv:1905.10876), ``probe quantum expressibility | capability``.

One row per (ansatz, number of layers), computed by
:func:`probe.qsim.expressibility.layer_table`. Each row draws from its own seeded
stream (:func:`~probe.experiments.quantum.values.item_seed` of the run's seed, the
ansatz and the layer count) and is saved to ``items.jsonl`` as it finishes, so an
interrupted table resumes where it stopped and a table extended with more ansätze
or layers computes only the new rows, with the numbers they would have had in one go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from probe._results import jsonable
from probe.errors import SettingError
from probe.experiments.quantum.folder_run import done_items, run_in_folder
from probe.experiments.quantum.values import check_memory, check_seed, int_values, item_seed, names, normalize
from probe.progress import Progress
from probe.protocol import How, Plan, Result, Settings, Study

_READERS = {"ansatz": lambda v: names(v, param="ansatz", lower=True),
            "layers": lambda v: int_values(v, param="layers", minimum=0)}


def _validate_table(s: Any) -> None:
    """Checks shared by both tables."""
    from probe.qsim.ansatz import ANSATZE
    check_seed(s.seed)
    ansatz = names(s.ansatz, param="ansatz", lower=True)
    for a in ansatz:
        if a not in ANSATZE:
            raise SettingError("ansatz", a, "unknown ansatz", hint=f"choose from {', '.join(ANSATZE)}")
    if isinstance(s.qubits, bool) or not isinstance(s.qubits, int) or s.qubits < 1:
        raise SettingError("qubits", s.qubits, "must be a whole number >= 1")
    if any(a.startswith("sim") for a in ansatz) and s.qubits < 2:
        raise SettingError("qubits", s.qubits, "the Sim et al. circuits need at least 2 qubits")
    check_memory(s.qubits, batch=2)
    int_values(s.layers, param="layers", minimum=0)
    if s.samples < 2:
        raise SettingError("samples", s.samples, "must be >= 2")


@dataclass(frozen=True, slots=True)
class ExpressibilitySettings(Settings):
    """Expressibility D_KL(P̂(F) ‖ P_Haar(F)) per (ansatz, layers)."""

    experiment: ClassVar[str] = "quantum-expressibility"
    what: ClassVar[str] = "expressibility"

    ansatz: tuple[str, ...] = ("ring",)
    """Ansatz names (ring, line, star, all, sim1..sim19); a list or a comma string."""
    qubits: int = 4
    layers: tuple[int, ...] = (1, 2, 3, 4, 5)
    """Layer counts: a list, or ``"A..B"``, ``"A..B:STEP"``, ``"2,4,8"``."""
    samples: int = 5000
    """Fidelity pairs per row."""
    bins: int = 75
    """Histogram bins on [0, 1] (75, as Sim et al.)."""
    seed: int = 0

    def __post_init__(self) -> None:
        normalize(self, _READERS)

    def validate(self) -> None:
        _validate_table(self)
        if self.bins < 2:
            raise SettingError("bins", self.bins, "must be >= 2")


@dataclass(frozen=True, slots=True)
class CapabilitySettings(Settings):
    """Entangling capability (mean Meyer-Wallach Q) per (ansatz, layers)."""

    experiment: ClassVar[str] = "quantum-capability"
    what: ClassVar[str] = "capability"

    ansatz: tuple[str, ...] = ("ring",)
    qubits: int = 4
    layers: tuple[int, ...] = (1, 2, 3, 4, 5)
    samples: int = 1000
    """Parameter draws per row."""
    seed: int = 0

    def __post_init__(self) -> None:
        normalize(self, _READERS)

    def validate(self) -> None:
        _validate_table(self)


TableSettings = ExpressibilitySettings | CapabilitySettings


@dataclass(frozen=True)
class TableResult(Result):
    """A layer table: ``r.table`` (one dict per (ansatz, layers)), ``r.to_frame()``."""

    @property
    def table(self) -> list[dict[str, Any]]:
        return list(self.result.get("table") or [])

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.table)

    def row(self, ansatz: str, layers: int) -> dict[str, Any]:
        """The row of one ansatz at one layer count."""
        for r in self.table:
            if r["ansatz"] == ansatz and r["layers"] == layers:
                return r
        raise KeyError((ansatz, layers))


@dataclass(frozen=True)
class ExpressibilityTableResult(TableResult):
    """``r.expressibility("ring", 2)`` -> (KL in nats, bootstrap SE); ``r.idle_maximum``."""

    experiment: ClassVar[str] = "quantum-expressibility"
    settings_type: ClassVar[type] = ExpressibilitySettings

    def expressibility(self, ansatz: str, layers: int) -> tuple[float, float]:
        r = self.row(ansatz, layers)
        return float(r["expressibility"]), float(r["expressibility_se"])

    @property
    def idle_maximum(self) -> float:
        """(N − 1) ln(bins): the value of an idle circuit."""
        return float(self.result["idle_maximum"])


@dataclass(frozen=True)
class CapabilityTableResult(TableResult):
    """``r.entangling_capability("ring", 2)`` -> (mean Q, SE over draws)."""

    experiment: ClassVar[str] = "quantum-capability"
    settings_type: ClassVar[type] = CapabilitySettings

    def entangling_capability(self, ansatz: str, layers: int) -> tuple[float, float]:
        r = self.row(ansatz, layers)
        return float(r["entangling_capability"]), float(r["entangling_capability_se"])


def _item_id(ansatz: str, layers: int) -> str:
    return f"{ansatz}/{layers}"


def plan(settings: TableSettings, how: How | None = None) -> Plan:
    how = how or How()
    settings.validate()
    how.validate()
    n = len(settings.ansatz) * len(settings.layers)
    done = done_items(how)
    return Plan(settings.experiment, f"{settings.what} of {', '.join(settings.ansatz)} on {settings.qubits} qubits, "
                                     f"layers {', '.join(map(str, settings.layers))}: {n} rows", items=n,
                notes=(f"{done} rows already in {how.out}/items.jsonl",) if done else ())


def run(settings: TableSettings, how: How | None = None) -> Any:
    """Compute (or resume) the table and write the run folder."""
    from probe.qsim.ansatz import build_ansatz
    from probe.qsim.expressibility import layer_table

    how = how or How()
    settings.validate()
    how.validate()
    what = settings.what
    bins = getattr(settings, "bins", 75)
    n = settings.qubits

    def compute(items: Any) -> dict[str, Any]:
        todo = [(a, layer) for a in settings.ansatz for layer in settings.layers if _item_id(a, layer) not in items]
        with Progress(what, total=len(todo), enabled=how.progress, unit="rows") as bar:
            for a, layer in todo:
                tab = layer_table(lambda k, a=a: build_ansatz(a, n, k), [layer], name=a, n_qubits=n,
                                  pairs=settings.samples, samples=settings.samples, bins=bins, what=what,
                                  seed=item_seed(settings.seed, a, layer))
                items.add(_item_id(a, layer), jsonable({"ansatz": a, **tab.rows[0]}))
                bar.advance(info=f"{a} L={layer}")
        body: dict[str, Any] = {"table": [items.get(_item_id(a, layer)) for a in settings.ansatz
                                          for layer in settings.layers], "qubits": n}
        if what == "expressibility":
            body["idle_maximum"] = (2.0**n - 1) * math.log(bins)
        return body

    result_type = ExpressibilityTableResult if what == "expressibility" else CapabilityTableResult
    return run_in_folder(settings, how, name=f"{'+'.join(settings.ansatz)}-{n}q", result_type=result_type,
                         compute=compute, extendable=("ansatz", "layers"))


EXPRESSIBILITY = Study(ExpressibilitySettings.experiment, ExpressibilitySettings, ExpressibilityTableResult, plan, run,
                       summary="Sim et al. expressibility (KL to Haar) per number of layers")
CAPABILITY = Study(CapabilitySettings.experiment, CapabilitySettings, CapabilityTableResult, plan, run,
                   summary="Sim et al. entangling capability (mean Meyer-Wallach Q) per number of layers")

__all__ = ["CAPABILITY", "EXPRESSIBILITY", "CapabilitySettings", "CapabilityTableResult", "ExpressibilitySettings",
           "ExpressibilityTableResult", "TableResult", "plan", "run"]
