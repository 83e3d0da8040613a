"""One job per tensor: read it, profile it, compare it with Page and Marchenko–Pastur.

Jobs are plain picklable dicts, so ``--workers N`` can spread them over processes
(``concurrent.futures`` with the ``spawn`` start method), and a cluster engine can
map :func:`run_job` the same way (``dask.bag.from_sequence(jobs).map(run_job, settings=...)``
or ``ray.remote(run_job)``): each job reads only its own tensor(s), memory-mapped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

import numpy as np

from probe.analysis.entangle.baselines import valley_metrics
from probe.analysis.entangle.lowrank import lora_cut_spectra
from probe.analysis.entangle.profile import cut_spectra, profile_from_spectra, site_layout
from probe.analysis.entangle.random_matrix import (
    marchenko_pastur_compare,
    marchenko_pastur_from_singular_values,
)
from probe.errors import DataError
from probe.experiments.entangle.tensors import TensorRef, read_tensor


def _matrix(job: dict[str, Any]) -> np.ndarray:
    kind = job["kind"]
    if kind == "weights":
        return read_tensor(job["ref"])
    if kind == "delta":
        base, tuned = read_tensor(job["base"]), read_tensor(job["tuned"])
        tuned -= base  # both already float64: no 16-bit cancellation
        return tuned
    if kind == "lora-dense":
        return job["scale"] * (read_tensor(job["b"]) @ read_tensor(job["a"]))
    if kind == "random":
        gen = np.random.default_rng(job["seed"])
        shape = tuple(job["shape"])
        rank = job.get("rank")
        if rank:
            return gen.standard_normal((shape[0], rank)) @ gen.standard_normal((rank, shape[1]))
        return gen.standard_normal(shape)
    raise ValueError(f"unknown job kind {kind!r}")


def run_job(job: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Profile one tensor; return its JSON-ready layer record, or ``{"name", "skipped"}``."""
    order, factors = settings.get("order", "sequential"), settings.get("factors", "ascending")
    max_bond, rank_tol = settings.get("max_bond"), settings.get("rank_tol", 1e-10)
    name = job["name"]
    if job["kind"] == "lora" and order == "sequential":
        a, b = read_tensor(job["a"]), read_tensor(job["b"])
        try:
            spectra = lora_cut_spectra(a, b, factors=factors)
        except DataError as exc:
            return {"name": name, "skipped": exc.message}
        layout = site_layout((b.shape[0], a.shape[1]), order=order, factors=factors)
        # ‖B A‖_F² = tr((BᵀB)(A Aᵀ)): r × r products, never the dense update
        norm = abs(job["scale"]) * float(np.sqrt(max(np.sum((b.T @ b) * (a @ a.T)), 0.0)))
        method = "lowrank"
    else:
        m = _matrix(job if job["kind"] != "lora" else {**job, "kind": "lora-dense"})
        if not np.any(m):
            return {"name": name, "skipped": "all entries are zero (unchanged tensor)"}
        if not np.all(np.isfinite(m)):
            return {"name": name, "skipped": "contains NaN or infinite entries"}
        layout = site_layout(m.shape, order=order, factors=factors)
        spectra = cut_spectra(m, order=order, factors=factors)
        norm = float(np.linalg.norm(m))
        method = "gram"
    prof = profile_from_spectra(spectra, layout, name=name, norm=norm, method=method, max_bond=max_bond,
                                rank_tol=rank_tol)
    record = prof.to_dict()
    record["valley"] = valley_metrics(prof.entropy, prof.page, boundary_cut=prof.boundary_cut).to_dict()
    if settings.get("mp", True):
        if layout.boundary_cut is not None:
            # the row/column cut's Schmidt values are the singular values / ‖M‖_F: no extra SVD
            sv = np.sqrt(spectra[layout.boundary_cut - 1]) * norm
            mp = marchenko_pastur_from_singular_values(sv, layout.shape)
        else:
            mp = marchenko_pastur_compare(_matrix(job if job["kind"] != "lora" else {**job, "kind": "lora-dense"}))
        record["mp"] = mp.to_dict()
    for key in ("rank", "alpha", "scale", "dtype", "file"):
        if key in job:
            record[key] = job[key]
    return record


def run_jobs(
    jobs: Sequence[dict[str, Any]], settings: dict[str, Any], *, workers: int = 1, label: str = "profiling",
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run jobs in order (``workers=1``) or over ``workers`` processes; results keep the jobs' order."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list[dict[str, Any] | None] = [None] * len(jobs)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), disable=not sys.stderr.isatty(), transient=True)
    with progress:
        task = progress.add_task(label, total=len(jobs))
        if workers <= 1:
            for i, job in enumerate(jobs):
                progress.update(task, description=f"{label} {job['name']}")
                results[i] = run_job(job, settings)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(run_job, job, settings): i for i, job in enumerate(jobs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    progress.advance(task)
    out = [r for r in results if r is not None]
    if on_done:
        for r in out:
            on_done(r)
    return out


def tensor_jobs(refs: Sequence[TensorRef]) -> list[dict[str, Any]]:
    return [{"kind": "weights", "name": r.name, "ref": r, "dtype": r.dtype, "file": r.file} for r in refs]
