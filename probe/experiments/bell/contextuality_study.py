"""The file-level steps behind ``--contexts``, ``--system``, ``--audit``, ``--temperatures`` and ``--versus-human``.

* :func:`system_counts_block` -- ``--counts FILE --contexts cyclic:N`` or ``--system FILE.toml``: counts
  of any system through :func:`probe.analysis.bell.general.analyse_system`, as the result block of the
  ``bell-counts`` study (its ``run`` calls this when ``contexts`` or ``system`` is set);
* :func:`add_extras` -- ``--audit`` / ``--temperatures LO..HI:N`` / ``--versus-human FILE`` on a
  finished run folder: each reads the folder (``result.json``, ``trials.jsonl``), adds one key to the
  result block (``audit``, ``temperature_surface``, ``versus_human``) and rewrites ``result.json``
  atomically; the report (:mod:`probe.report.contextuality`) renders them from the folder.
* :func:`check_extras` -- the flag combinations that make sense, checked before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from probe.analysis.bell.general import analyse_system
from probe.analysis.bell.null_models import audit
from probe.analysis.bell.system import ContextSystem, chsh_system, make_system
from probe.analysis.bell.temperature import parse_temperatures, s_surface, tempering_validity
from probe.analysis.bell.versus_human import versus_human
from probe.errors import ConfigError, DataError
from probe.experiments.bell.counts_file import read_system_counts_csv
from probe.experiments.bell.design import load_system_file, parse_contexts_spec
from probe.io import atomic_write_json, read_jsonl
from probe.runs import read_document

CELLS = ("++", "+-", "-+", "--")


def check_extras(*, counts: Any, contexts: str | None, system: str | None, mode: str, audit: bool,
                 temperatures: str | None, versus_human: Any) -> None:
    """Refuse flag combinations that cannot work, in one line, before anything runs."""
    if (contexts or system) and counts is None:
        raise ConfigError("--contexts and --system describe a counts file: add --counts FILE.csv")
    if contexts and system:
        raise ConfigError("--contexts and --system: give one of them")
    if (temperatures or versus_human) and (counts is not None or mode != "exact"):
        raise ConfigError("--temperatures and --versus-human read a model's exact pass: use --mode exact with --model")
    if temperatures:
        try:
            parse_temperatures(temperatures)
        except DataError as exc:
            raise ConfigError(exc.message) from None
    if audit and system:
        raise ConfigError("--audit runs cyclic systems only (the null respondents answer pairs of measurements)")


def resolve_system(contexts: str | None = None, system_file: str | None = None) -> ContextSystem:
    """The system named by ``--contexts cyclic:N`` or ``--system FILE.toml`` (exactly one)."""
    if (contexts is None) == (system_file is None):
        raise DataError("give exactly one of --contexts cyclic:N and --system FILE.toml")
    return parse_contexts_spec(contexts) if contexts is not None else load_system_file(system_file)  # type: ignore[arg-type]


def system_counts_block(path: str | Path, *, contexts: str | None = None, system_file: str | None = None,
                        n_boot: int = 2000, prior: float = 1.0, seed: int = 0) -> tuple[dict[str, Any], list[str], int]:
    """Counts of any system (human data, any rank) -> (result block, warnings, rows read)."""
    system = resolve_system(contexts, system_file)
    data = read_system_counts_csv(path, system)
    tables = list(data.tables)
    res = analyse_system(np.stack(tables) if system.is_pairwise else tables, system, n_boot=n_boot, n_post=n_boot,
                         prior=prior, seed=seed)
    block = res.summary()
    e = None
    if system.is_pairwise:
        p = np.stack(tables) / np.stack(tables).sum(axis=-1, keepdims=True)
        e = dict(zip(system.names, (p @ np.array([1.0, -1.0, -1.0, 1.0])).tolist(), strict=True))
    cyc = block.get("cyclic")
    lp_block = block.get("cbd_lp") or {}
    counts = ({c: dict(zip(CELLS, t.astype(int).tolist(), strict=True)) for c, t in zip(system.names, tables, strict=True)}
              if system.is_pairwise else {c: t.astype(int).tolist() for c, t in zip(system.names, tables, strict=True)})
    result = {
        "model": "human", "provider": "counts", "mode": "counts", "counts_file": str(path),
        "design": {"name": system_file or contexts, "title": f"external counts ({system_file or contexts})",
                   "system_kind": "cyclic" if cyc else "general", "contexts": block["system"]["contexts"],
                   "context_names": list(system.names)},
        "S_odd": cyc["s_odd"] if cyc else None, "E": e, "counts": counts,
        "n": dict(zip(system.names, [int(t.sum()) for t in tables], strict=True)),
        "cbd": ({"delta": cyc["delta"], "s_odd": cyc["s_odd"], "cnt1": cyc["cnt1"], "cnt1_ci95": cyc["cnt1_ci95_boot"],
                 "contextual": cyc["contextual"], "rank": cyc["rank"]} if cyc else
                {"cnt2": lp_block.get("cnt2"), "contextual": lp_block.get("contextual")}),
        "category": None, "contextuality": block,
    }
    return result, list(res.warnings), data.rows


def _system_of(result: dict[str, Any]) -> ContextSystem:
    d = result.get("design") or {}
    if d.get("system_kind") in (None, "chsh"):
        return chsh_system()
    pairs = d["contexts"]
    contents = list(dict.fromkeys(m for p in pairs for m in p))
    return make_system(contents, pairs, names=d.get("context_names"))


def _counts_of(result: dict[str, Any], system: ContextSystem) -> np.ndarray:
    counts = result.get("counts")
    if not counts:
        raise DataError("this run has no counts (exact mode?); --audit needs a sampled run or --counts")
    return np.array([[counts[c][k] for k in CELLS] for c in system.names], dtype=float)


def _exact_probs(run_dir: Path, system: ContextSystem) -> tuple[np.ndarray, list[float], int]:
    rows = read_jsonl(Path(run_dir) / "trials.jsonl").records
    scored = [r for r in rows if r.get("kind") == "score"]
    if not scored:
        raise DataError(f"{run_dir}: no exact-mode scores in trials.jsonl", hint="run with --mode exact first")
    groups: dict[tuple[int, int], np.ndarray] = {}
    for r in scored:
        g = groups.setdefault((r["order_id"], r["variant"]), np.full((system.n_contexts, 4), np.nan))
        g[system.names.index(r["context"])] = r["probs"]
    complete = [g for g in groups.values() if not np.isnan(g).any()]
    if not complete:
        raise DataError("exact mode: no ordering has scores for every context")
    return (np.stack(complete), [float(r.get("coverage", 1.0)) for r in scored],
            sum(len(r.get("missing", [])) for r in scored))


def audit_block(doc: dict[str, Any], *, n_sims: int = 500, seed: int = 0) -> dict[str, Any]:
    """The ``audit`` block (with the simulated values, rounded, for the report's figure)."""
    result = doc["result"]
    system = _system_of(result)
    res = audit(system, counts=_counts_of(result, system), n_sims=n_sims, seed=seed)
    block = res.to_dict()
    for d, full in zip(block["nulls"], res.nulls, strict=True):
        d["values"] = np.round(full.values, 4).tolist()
    return block


def surface_block(doc: dict[str, Any], run_dir: Path, temperatures: str) -> dict[str, Any]:
    """The ``temperature_surface`` block: S(T) from the exact pass, refused where re-tempering is invalid."""
    result, settings = doc["result"], doc.get("settings") or {}
    system = _system_of(result)
    probs, coverage, missing = _exact_probs(run_dir, system)
    validity = tempering_validity(str(result.get("provider")), temperature=settings.get("temperature"),
                                  top_p=settings.get("top_p"), coverage=coverage, missing=missing)
    minus_on = result.get("minus_on") or (result.get("design") or {}).get("minus_on")
    surface = s_surface(probs, system, parse_temperatures(temperatures), validity=validity,
                        minus_index=system.names.index(minus_on) if minus_on in system.names else 0)
    return surface.to_dict()


def versus_human_block(doc: dict[str, Any], run_dir: Path, human_csv: str | Path, *, n_boot: int = 2000,
                       seed: int = 0) -> dict[str, Any]:
    """The ``versus_human`` block: log-likelihood of human counts under the run's exact distributions."""
    system = _system_of(doc["result"])
    probs, _, _ = _exact_probs(run_dir, system)
    human = read_system_counts_csv(human_csv, system)
    res = versus_human(np.stack(human.tables), probs.mean(axis=0), system, n_boot=n_boot, seed=seed)
    return {**res.to_dict(), "human_file": str(human_csv)}


def add_extras(run_dir: str | Path, *, audit: bool = False, temperatures: str | None = None,
               versus_human: str | Path | None = None, seed: int = 0) -> list[str]:
    """Add the requested blocks to a finished run folder's result.json; returns lines for the terminal."""
    run_dir = Path(run_dir)
    doc = read_document(run_dir)
    lines: list[str] = []
    if audit:
        block = audit_block(doc, seed=seed)
        doc["result"]["audit"] = block
        doc["warnings"] = [*doc.get("warnings", []), *block["warnings"]]
        lines += [f"probe: audit: {w}" for w in block["warnings"]]
    if temperatures:
        doc["result"]["temperature_surface"] = surface_block(doc, run_dir, temperatures)
        lines.append(f"S(T) at {temperatures}: see {run_dir / 'report.md'}")
    if versus_human is not None:
        v = versus_human_block(doc, run_dir, versus_human, seed=seed)
        doc["result"]["versus_human"] = v
        lines.append(f"versus human: log-lik {v['loglik_total']:.2f} nats (ceiling {v['ceiling_total']:.2f}), "
                     f"skill {v['skill']:.3f}")
    atomic_write_json(run_dir / "result.json", doc)
    return lines
