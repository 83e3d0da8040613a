"""The file-level steps behind ``--contexts``, ``--system``, ``--audit``, ``--temperatures`` and ``--versus-human``.

Each is one function the CLI calls (the integrator folds them into the study shape):

* :func:`analyse_system_counts` -- ``--counts FILE --contexts cyclic:N`` or ``--system FILE.toml``:
  counts of any system through :func:`probe.analysis.bell.general.analyse_system`, into a run folder;
* :func:`add_audit` -- ``--audit``: the null respondents on a finished run (its counts and N);
* :func:`add_temperature_surface` -- ``--temperatures LO..HI:N`` on a finished exact run;
* :func:`add_versus_human` -- ``--versus-human FILE`` on a finished exact run.

The ``add_*`` functions read the run folder's ``result.json`` (and ``trials.jsonl``), add one key
(``audit``, ``temperature_surface``, ``versus_human``), rewrite ``result.json`` atomically and append a
section to ``report.md`` (plus ``audit.png`` for the audit).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from probe import __version__
from probe.analysis.bell.general import analyse_system
from probe.analysis.bell.null_models import audit
from probe.analysis.bell.system import ContextSystem, chsh_system, make_system
from probe.analysis.bell.temperature import parse_temperatures, s_surface, tempering_validity
from probe.analysis.bell.versus_human import versus_human
from probe.errors import DataError
from probe.experiments.bell.counts_file import read_system_counts_csv
from probe.experiments.bell.design import load_system_file, parse_contexts_spec
from probe.io import atomic_write_json, atomic_write_text, read_jsonl
from probe.runs import RunFolder, default_run_dir

CELLS = ("++", "+-", "-+", "--")


def resolve_system(contexts: str | None = None, system_file: str | None = None) -> ContextSystem:
    """The system named by ``--contexts cyclic:N`` or ``--system FILE.toml`` (exactly one)."""
    if (contexts is None) == (system_file is None):
        raise DataError("give exactly one of --contexts cyclic:N and --system FILE.toml")
    return parse_contexts_spec(contexts) if contexts is not None else load_system_file(system_file)  # type: ignore[arg-type]


def analyse_system_counts(path: str | Path, *, contexts: str | None = None, system_file: str | None = None,
                          out: Path | None = None, n_boot: int = 2000, prior: float = 1.0, seed: int = 0,
                          report: bool = True, label: str = "human") -> tuple[Path, dict[str, Any]]:
    """Counts of any system (human data, any rank) -> run folder with result.json and report.md."""
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
    result: dict[str, Any] = {
        "experiment": "bell", "probe_version": __version__, "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "model": label, "provider": "counts", "model_version": None, "mode": "counts", "seed": seed,
        "counts_file": str(path),
        "design": {"name": system_file or contexts, "title": f"external counts ({system_file or contexts})",
                   "system_kind": "cyclic" if cyc else "general", "contexts": block["system"]["contexts"]},
        "S_odd": cyc["s_odd"] if cyc else None, "E": e,
        "counts": ({c: dict(zip(CELLS, t.astype(int).tolist(), strict=True)) for c, t in zip(system.names, tables,
                                                                                          strict=True)}
                   if system.is_pairwise else {c: t.astype(int).tolist() for c, t in zip(system.names, tables, strict=True)}),
        "n": dict(zip(system.names, [int(t.sum()) for t in tables], strict=True)),
        "cbd": ({"delta": cyc["delta"], "s_odd": cyc["s_odd"], "cnt1": cyc["cnt1"], "cnt1_ci95": cyc["cnt1_ci95_boot"],
                 "contextual": cyc["contextual"], "rank": cyc["rank"]} if cyc else
                {"cnt2": (block.get("cbd_lp") or {}).get("cnt2"), "contextual": (block.get("cbd_lp") or {}).get("contextual")}),
        "category": None, "contextuality": block, "warnings": list(res.warnings),
        "run": {"calls": 0, "cached": 0, "rows": data.rows},
    }
    out = out or default_run_dir("bell", label)
    folder = RunFolder(out, {"experiment": "bell", "counts_file": str(path), "system": system.to_dict(), "seed": seed},
                       identity=("experiment", "counts_file", "system", "seed"))
    folder.check_resume()
    folder.ensure()
    try:
        atomic_write_json(out / "result.json", result)
        if report:
            from probe.report.contextuality import render_rank_n

            render_rank_n(out, result)
    finally:
        folder.release()
    return out, result


def _load(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "result.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no result.json (run the study first)") from None


def _system_of(result: dict[str, Any]) -> ContextSystem:
    d = result.get("design") or {}
    if d.get("system_kind") in (None, "chsh"):
        return chsh_system()
    pairs = d["contexts"]
    contents = list(dict.fromkeys(m for p in pairs for m in p))
    return make_system(contents, pairs, names=d.get("context_names") or list(result["n"] or result["E"]))


def _append_report(run_dir: Path, text: str) -> None:
    report = Path(run_dir) / "report.md"
    if report.exists():
        atomic_write_text(report, report.read_text() + "\n" + text + "\n")


def _counts_of(result: dict[str, Any], system: ContextSystem) -> np.ndarray:
    counts = result.get("counts")
    if not counts:
        raise DataError("this run has no counts (exact mode?); --audit needs a sampled run or --counts")
    return np.array([[counts[c][k] for k in CELLS] for c in system.names], dtype=float)


def add_audit(run_dir: Path, *, n_sims: int = 500, seed: int = 0) -> dict[str, Any]:
    """``--audit``: null respondents through the run's design with its N; result.json ``audit``, audit.png."""
    from probe.report.contextuality import audit_figure, audit_rows
    from probe.report.format import markdown_table

    result = _load(run_dir)
    system = _system_of(result)
    res = audit(system, counts=_counts_of(result, system), n_sims=n_sims, seed=seed)
    block = res.to_dict()
    result["audit"] = block
    result["warnings"] = [*result.get("warnings", []), *block["warnings"]]
    atomic_write_json(Path(run_dir) / "result.json", result)
    audit_figure(res, Path(run_dir) / "audit.png")
    header = ["respondent", "statistic", "2.5%", "median", "97.5%", "max", "P(null ≥ observed)", "share > bound"]
    _append_report(run_dir, "\n".join([
        "## Audit: the design and estimators on null respondents", "",
        f"{n_sims} simulated studies per respondent with the run's N per context ({', '.join(map(str, res.n_per_context))}); "
        f"classical bound of s_odd {res.bounds['classical_s_odd']:g}, quantum {res.bounds['quantum_s_odd']:.3f}. "
        "Figure: `audit.png`.", "", markdown_table(header, audit_rows(block)),
        *[f"> **Caution:** {w}" for w in block["warnings"]]]))
    return block


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


def add_temperature_surface(run_dir: Path, temperatures: str) -> dict[str, Any]:
    """``--temperatures``: S(T) from the run's exact pass, refused where re-tempering is invalid."""
    from probe.report.contextuality import surface_rows
    from probe.report.format import markdown_table

    result = _load(run_dir)
    system = _system_of(result)
    temps = parse_temperatures(temperatures)
    probs, coverage, missing = _exact_probs(run_dir, system)
    validity = tempering_validity(str(result.get("provider")), temperature=result.get("temperature"),
                                  top_p=result.get("top_p"), coverage=coverage, missing=missing)
    minus_on = result.get("minus_on") or (result.get("design") or {}).get("minus_on")
    surface = s_surface(probs, system, temps, validity=validity,
                        minus_index=system.names.index(minus_on) if minus_on in system.names else 0)
    block = surface.to_dict()
    result["temperature_surface"] = block
    atomic_write_json(Path(run_dir) / "result.json", result)
    _append_report(run_dir, "\n".join([
        "## S as a function of temperature (from the exact pass)", "",
        "p_T ∝ p^(1/T) over the option tokens, per ordering, then averaged: the distribution sampling at T gives "
        "conditional on a valid label (not a simulation of other answers).", "",
        markdown_table(["T", "S", "s_odd", "Δ", "CNT1"], surface_rows(block)),
        *[f"> **Note:** {w}" for w in block["warnings"]]]))
    return block


def add_versus_human(run_dir: Path, human_csv: str | Path, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """``--versus-human``: log-likelihood of human counts under the run's exact distributions."""
    from probe.report.contextuality import versus_human_rows
    from probe.report.format import markdown_table

    result = _load(run_dir)
    system = _system_of(result)
    probs, _, _ = _exact_probs(run_dir, system)
    human = read_system_counts_csv(human_csv, system)
    res = versus_human(np.stack(human.tables), probs.mean(axis=0), system, n_boot=n_boot, seed=seed)
    block = {**res.to_dict(), "human_file": str(human_csv)}
    result["versus_human"] = block
    atomic_write_json(Path(run_dir) / "result.json", result)
    _append_report(run_dir, "\n".join([
        "## Model versus human answers", "",
        f"Log-likelihood (nats) of the human answers in `{human_csv}` under the model's exact distributions, against "
        "the human data's own multinomial ceiling (the saturated model); skill = (model − uniform) / "
        "(ceiling − uniform); 95% intervals from a multinomial bootstrap of the human counts.", "",
        markdown_table(["context", "N", "log-lik", "ceiling", "KL(human‖model)"], versus_human_rows(block))]))
    return block
