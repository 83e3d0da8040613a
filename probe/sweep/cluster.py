"""Compute-bound cells on Dask (``dask.distributed``): ``local:N`` or a scheduler address.

``local:N`` starts a :class:`distributed.LocalCluster` of N worker *processes*, one thread each
(the cells are CPU-bound NumPy/torch work that holds the GIL in parts). Unlike Dask's default, the
workers keep this process's BLAS/OpenMP thread settings (``OMP_NUM_THREADS`` ...): the number of BLAS
threads changes the last bits of large matrix products, and a study must give the numbers a local run
gives. For speed on a busy machine, set ``OMP_NUM_THREADS=1`` for the whole command (local run and
workers alike). A remote cluster's numbers equal a local run's when its workers have the same BLAS
and thread settings. Any other value is a
scheduler address (``tcp://host:8786``), e.g. one started by ``dask-jobqueue`` on SLURM/PBS; its
workers must import the same probe and see the study folder on a shared filesystem.

Each cell is one task, :func:`probe.sweep.execute.run_cell`, that writes its own run folder; Dask
retries a task whose worker died (``retries``), and the retried cell resumes from what its folder
holds. Results are read back from the folders, so they are the same bytes a local run writes.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

from probe.errors import ConfigError, MissingDependency

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def parse_cluster(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` or ``("address", ADDR)``; a bad value is one line."""
    if spec.startswith("local:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ConfigError(f"--cluster {spec}: local:N needs a whole number of workers >= 1", hint="e.g. local:4")
        return "local", n
    if "://" in spec or ":" in spec:
        return "address", spec
    raise ConfigError(f"--cluster {spec!r}: use local:N or a scheduler address such as tcp://host:8786")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # a core dependency, but say how to get it back
        raise MissingDependency("dask.distributed is not installed",
                                hint="pip install 'dask[distributed]'") from exc
    return distributed


def local_cluster(n_workers: int, *, blas_threads: int | None = None) -> Any:
    """A :class:`distributed.LocalCluster` of ``n_workers`` processes, one thread each, whose BLAS/OpenMP
    thread settings are this process's (``blas_threads`` sets them instead).

    Dask pins workers to one BLAS thread by default; a different thread count changes the last bits of
    large matrix products, so by default the workers keep this process's setting (identical numbers).
    """
    import dask

    distributed = _distributed()
    environ = {k: v for k, v in dict(dask.config.get("distributed.nanny.pre-spawn-environ", {})).items()
               if k not in THREAD_VARIABLES}
    if blas_threads is not None:
        environ.update({k: str(blas_threads) for k in THREAD_VARIABLES})
    else:
        environ.update({k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ})
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(n_workers=n_workers, processes=True, threads_per_worker=1,
                                        dashboard_address=None)


@contextlib.contextmanager
def connect(spec: str) -> Iterator[Any]:
    """A :class:`distributed.Client` for ``spec``; a local cluster is closed on exit."""
    kind, value = parse_cluster(spec)
    distributed = _distributed()
    if kind == "local":
        cluster = local_cluster(int(value))
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = distributed.Client(str(value), timeout="30s")
    except OSError as exc:
        raise ConfigError(f"--cluster {value}: cannot reach the Dask scheduler ({exc})",
                          hint="check the address and that the scheduler is running") from exc
    try:
        yield client
    finally:
        client.close()


def submit(client: Any, run_cell: Any, cell: dict[str, Any], how: dict[str, Any], *, report: bool,
           retries: int) -> Any:
    """One cell as one task of ``run_cell`` (a fresh key, so a rerun is a new task; the folder makes it resume)."""
    return client.submit(run_cell, cell, how, report=report, key=f"probe-cell-{cell['id']}-{uuid.uuid4().hex[:8]}",
                         pure=False, retries=retries)


def wait_cells(futures: dict[Any, Any]) -> Iterator[tuple[Any, dict[str, Any] | None, str | None]]:
    """``(cell, outcome, problem)`` as the tasks finish; ``problem`` is the error line of a failed cell."""
    distributed = _distributed()
    for future in distributed.as_completed(list(futures)):
        cell = futures[future]
        try:
            yield cell, future.result(), None
        except Exception as exc:  # the cell's own error (ProbeError) or a worker lost for good
            yield cell, None, f"{type(exc).__name__}: {exc}"


__all__ = ["THREAD_VARIABLES", "connect", "local_cluster", "parse_cluster", "submit", "wait_cells"]
