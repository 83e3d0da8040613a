"""One job per tensor: read it, profile it, compare it with Page and Marchenko–Pastur.

Jobs are plain picklable dicts, so ``--workers N`` can spread them over processes
(``concurrent.futures`` with the ``spawn`` start method), and a cluster engine can
map :func:`run_job` the same way (``dask.bag.from_sequence(jobs).map(run_job, settings=...)``
or ``ray.remote(run_job)``): each job reads only its own tensor(s), memory-mapped.
"""

from __future__ import annotations

import functools
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
    done: dict[str, dict[str, Any]] | None = None, on_record: Callable[[dict[str, Any]], None] | None = None,
    progress: bool | None = False, cluster: str | None = None,
) -> list[dict[str, Any]]:
    """Run jobs in order (``workers=1``), over ``workers`` processes, or as one Dask task each on
    ``cluster`` (``local:N`` or a scheduler address, :mod:`probe.cluster`); results keep the jobs' order.

    Jobs whose name is in ``done`` are not run again (their saved record is used);
    ``on_record`` gets every new record as it finishes, in completion order.
    """
    from probe.progress import Progress

    done = done or {}
    results: list[dict[str, Any] | None] = [done.get(job["name"]) for job in jobs]
    todo = [i for i, r in enumerate(results) if r is None]

    def finish(i: int, record: dict[str, Any]) -> None:
        results[i] = record
        if on_record is not None:
            on_record(record)

    with Progress(f"entangle {label}", len(jobs), enabled=progress, unit="tensors") as bar:
        bar.advance(len(jobs) - len(todo))
        if cluster is not None and todo:
            from probe.cluster import map_tasks

            def landed(k: int, record: dict[str, Any]) -> None:
                finish(todo[k], record)
                bar.advance()

            map_tasks(cluster, functools.partial(run_job, settings=settings), [jobs[i] for i in todo],
                      on_result=landed)
        elif workers <= 1:
            for i in todo:
                bar.update(info=jobs[i]["name"][-30:])
                finish(i, run_job(jobs[i], settings))
                bar.advance()
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(run_job, jobs[i], settings): i for i in todo}
                for fut in as_completed(futures):
                    finish(futures[fut], fut.result())
                    bar.advance()
    return [r for r in results if r is not None]


def tensor_jobs(refs: Sequence[TensorRef]) -> list[dict[str, Any]]:
    return [{"kind": "weights", "name": r.name, "ref": r, "dtype": r.dtype, "file": r.file} for r in refs]
