"""Compute-bound cells of a study on Dask: one task per cell (the cluster itself: :mod:`probe.cluster`).

Each cell is one task, :func:`probe.sweep.execute.run_cell`, that writes its own run folder; Dask
retries a task whose worker died (``retries``), and the retried cell resumes from what its folder
holds. Results are read back from the folders, so they are the same bytes a local run writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from probe.cluster import THREAD_VARIABLES, connect, distributed_module, local_cluster, parse_cluster


def submit(client: Any, run_cell: Any, cell: dict[str, Any], how: dict[str, Any], *, report: bool,
           retries: int) -> Any:
    """One cell as one task of ``run_cell`` (a fresh key, so a rerun is a new task; the folder makes it resume)."""
    return client.submit(run_cell, cell, how, report=report, key=f"probe-cell-{cell['id']}-{uuid.uuid4().hex[:8]}",
                         pure=False, retries=retries)


def wait_cells(futures: dict[Any, Any]) -> Iterator[tuple[Any, dict[str, Any] | None, str | None]]:
    """``(cell, outcome, problem)`` as the tasks finish; ``problem`` is the error line of a failed cell."""
    distributed = distributed_module()
    for future in distributed.as_completed(list(futures)):
        cell = futures[future]
        try:
            yield cell, future.result(), None
        except Exception as exc:  # the cell's own error (ProbeError) or a worker lost for good
            yield cell, None, f"{type(exc).__name__}: {exc}"


__all__ = ["THREAD_VARIABLES", "connect", "local_cluster", "parse_cluster", "submit", "wait_cells"]
