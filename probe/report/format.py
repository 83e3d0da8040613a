"""Rendering helpers shared by every report: Markdown and LaTeX tables, figures, number formatting."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from probe.io import atomic_write_bytes


def fmt(x: Any, digits: int = 3) -> str:
    """Format a number for a table; ``None``/NaN become an en dash."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return "–"
        if x != 0 and (abs(x) < 10 ** -digits or abs(x) >= 10**6):
            return f"{x:.{digits - 1}e}"
        return f"{x:.{digits}f}"
    return str(x)


def fmt_p(p: float | None) -> str:
    """Format a p-value the way journals print it."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return "–"
    if p < 1e-4:
        return "< 0.0001"
    return f"{p:.4f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; cells are formatted with :func:`fmt`."""
    def cell(v: Any) -> str:
        return (v if isinstance(v, str) else fmt(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(c, c) for c in text)


def latex_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str, label: str,
                raw_header: bool = False, raw_cells: bool = False) -> str:
    """A booktabs LaTeX table (needs ``\\usepackage{booktabs}``).

    ``raw_header`` / ``raw_cells`` pass strings through unescaped (for math such as ``$E \\pm$``).
    """
    def cell(v: Any) -> str:
        if isinstance(v, str):
            return v if raw_cells else latex_escape(v)
        return fmt(v)

    cols = "l" + "r" * (len(header) - 1)
    head = " & ".join(h if raw_header else latex_escape(h) for h in header)
    body = "\n".join("    " + " & ".join(cell(v) for v in row) + r" \\" for row in rows)
    return (
        "\\begin{table}[ht]\n  \\centering\n"
        f"  \\caption{{{latex_escape(caption)}}}\n  \\label{{{label}}}\n"
        f"  \\begin{{tabular}}{{{cols}}}\n    \\toprule\n    {head} \\\\\n    \\midrule\n{body}\n"
        "    \\bottomrule\n  \\end{tabular}\n\\end{table}\n"
    )


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically (PNG by suffix) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fmt_ = Path(path).suffix.lstrip(".") or "png"
    fig.savefig(buf, format=fmt_, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def new_figure(*args: Any, **kwargs: Any) -> Any:
    """``plt.subplots`` on the non-interactive Agg backend (safe on servers and in tests)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def flat_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A result.json document as one dict: settings, then the result block (which wins), ``run``,
    ``warnings``, ``settings`` and the stamp keys."""
    flat = {**(doc.get("settings") or {}), **(doc.get("result") or {})}
    flat.update(run=doc.get("run") or {}, warnings=list(doc.get("warnings") or []), settings=doc.get("settings") or {},
                experiment=doc.get("experiment"))
    for key in ("probe_version", "created", "elapsed_s", "host"):
        flat[key] = doc.get(key)
    return flat
