"""A Dask cluster for compute-bound work: ``local:N`` (a :class:`distributed.LocalCluster`) or a scheduler address.

Used by studies (:mod:`probe.sweep`: one task per cell), and inside one run for work that splits
into independent pieces with mergeable results: the texts of ``probe words`` (each one counted on a
worker, counts summed here) and the tensors of ``probe entangle`` (each one profiled on a worker).

``local:N`` starts N worker *processes*, one thread each (the work is CPU-bound NumPy/pyarrow/torch
that holds the GIL in parts). Unlike Dask's default, the workers keep this process's BLAS/OpenMP
thread settings (``OMP_NUM_THREADS`` ...): the number of BLAS threads changes the last bits of large
matrix products, and a cluster run must give the numbers a local run gives. For speed on a busy
machine, set ``OMP_NUM_THREADS=1`` for the whole command (local run and workers alike). Any other
value is a scheduler address (``tcp://host:8786``), e.g. one started by ``dask-jobqueue`` on
SLURM/PBS; its workers must import the same probe and see the input files on a shared filesystem.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
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


def distributed_module() -> Any:
    """``distributed``, or a one-line :class:`MissingDependency`."""
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

    distributed = distributed_module()
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
    distributed = distributed_module()
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


def map_tasks(spec: str, fn: Callable[[Any], Any], items: Sequence[Any], *, retries: int = 2,
              on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(item) for item in items]`` with one task per item on the cluster ``spec``.

    Results come back in the items' order; ``on_result(i, result)`` is called here as each task
    finishes (progress, journals). A task whose worker died is retried by Dask (``retries``); an
    error raised by ``fn`` itself (a :class:`~probe.errors.ProbeError` with its one line) is raised
    here, after the other tasks are cancelled.
    """
    distributed = distributed_module()
    with connect(spec) as client:
        futures = client.map(fn, list(items), pure=False, retries=retries,
                             key=[f"probe-{getattr(fn, '__name__', 'task')}-{uuid.uuid4().hex}" for _ in items])
        where = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            for future in distributed.as_completed(futures):
                i = where[future.key]
                results[i] = future.result()
                if on_result is not None:
                    on_result(i, results[i])
        finally:
            client.cancel([f for f in futures if not f.done()])
    return results


__all__ = ["THREAD_VARIABLES", "connect", "distributed_module", "local_cluster", "map_tasks", "parse_cluster"]
