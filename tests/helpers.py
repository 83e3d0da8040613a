"""Small helpers shared by the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from probe.report.format import flat_view
from probe.runs import read_document


def read_result(run_dir: str | Path) -> dict[str, Any]:
    """A run folder's result.json as one flat dict (settings, the result block, ``run``, ``warnings``, stamp)."""
    return flat_view(read_document(run_dir))


_STATUS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d probe: ")


def messages(err: str) -> str:
    """stderr without the timestamped progress lines probe prints when stderr is not a terminal."""
    return "".join(line for line in err.splitlines(keepends=True) if not _STATUS.match(line))
