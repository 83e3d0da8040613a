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


def p_eq(p: float | None) -> str:
    """``= 0.0241`` or ``< 0.0001``: a p-value after its name ("p-value = 0.0241", "p-value < 0.0001")."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; cells are formatted with :func:`fmt`."""
    def cell(v: Any) -> str:
        return (v if isinstance(v, str) else fmt(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
# Unicode that pdflatex (inputenc utf8, T1) cannot set as text: written as math
_LATEX_SYMBOLS = {
    "−": r"$-$", "±": r"$\pm$", "×": r"$\times$", "·": r"$\cdot$", "≤": r"$\leq$", "≥": r"$\geq$", "≈": r"$\approx$",
    "≠": r"$\neq$", "→": r"$\rightarrow$", "←": r"$\leftarrow$", "∞": r"$\infty$", "√": r"$\surd$", "†": r"$^\dagger$",
    "′": r"$'$", "‖": r"$\|$", "∑": r"$\sum$", "Σ": r"$\Sigma$", "Δ": r"$\Delta$", "Φ": r"$\Phi$", "Ψ": r"$\Psi$",
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "ε": r"$\varepsilon$", "θ": r"$\theta$",
    "λ": r"$\lambda$", "μ": r"$\mu$", "ν": r"$\nu$", "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$",
    "φ": r"$\varphi$", "χ": r"$\chi$", "ψ": r"$\psi$", "ω": r"$\omega$", "²": r"$^2$", "³": r"$^3$", "⊗": r"$\otimes$",
    "⟨": r"$\langle$", "⟩": r"$\rangle$", "—": "---", "–": "--", "…": r"\ldots{}", "“": "``", "”": "''",
    "‘": "`", "’": "'",
}

LATEX_PACKAGES = ("booktabs", "graphicx", "longtable")
"""What a report's tables need in the preamble: ``\\usepackage{booktabs,graphicx,longtable}``."""

LONG_TABLE_ROWS = 40
"""Tables longer than this become a ``longtable`` that breaks across pages (never cut)."""

WIDE_TABLE_COLUMNS = 6
"""Tables wider than this are scaled to the text width with ``\\resizebox``."""


def latex_escape(text: str) -> str:
    """Text for a LaTeX table cell: specials escaped, Greek and math symbols as math (pdflatex-safe)."""
    return "".join(_LATEX_ESCAPES.get(c) or _LATEX_SYMBOLS.get(c) or c for c in text)


def latex_math(text: str) -> str:
    """A raw LaTeX cell or header (already math) with any stray Unicode symbol made pdflatex-safe."""
    out = []
    in_math = False
    for c in text:
        if c == "$":
            in_math = not in_math
            out.append(c)
        elif c in _LATEX_SYMBOLS:
            sym = _LATEX_SYMBOLS[c]
            out.append(sym.strip("$") if in_math and sym.startswith("$") else sym)
        else:
            out.append(c)
    return "".join(out)


def latex_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str, label: str,
                raw_header: bool = False, raw_cells: bool = False) -> str:
    """A booktabs LaTeX table that compiles under pdflatex (see :data:`LATEX_PACKAGES`).

    Wide tables are scaled to ``\\linewidth``; long ones become a ``longtable`` with the
    header repeated on every page: nothing is ever cut. ``raw_header`` / ``raw_cells``
    pass strings through as LaTeX (for math such as ``$E \\pm$``), Unicode made safe.
    """
    def cell(v: Any) -> str:
        if isinstance(v, str):
            return latex_math(v) if raw_cells else latex_escape(v)
        return latex_escape(fmt(v))

    cols = "l" + "r" * (len(header) - 1)
    head = " & ".join(latex_math(h) if raw_header else latex_escape(h) for h in header)
    body = "\n".join("    " + " & ".join(cell(v) for v in row) + r" \\" for row in rows)
    needs = f"% needs \\usepackage{{{','.join(LATEX_PACKAGES)}}}\n"
    # about 75 characters of 10 pt text fit the width of an article page
    widths = [max([len(_plain(str(h)))] + [len(_plain(v if isinstance(v, str) else fmt(v))) for v in col])
              for h, col in zip(header, zip(*rows, strict=False) if rows else [()] * len(header), strict=False)]
    wide = len(header) > WIDE_TABLE_COLUMNS or sum(widths) + 2 * len(widths) > 75
    if len(rows) > LONG_TABLE_ROWS:
        size = ("\\scriptsize\n" if sum(widths) > 110 else "\\small\n") if wide else ""
        return (needs + "{" + size +
                f"\\begin{{longtable}}{{{cols}}}\n  \\caption{{{latex_escape(caption)}}}\\label{{{label}}}\\\\\n"
                f"  \\toprule\n  {head} \\\\\n  \\midrule\n  \\endfirsthead\n"
                f"  \\toprule\n  {head} \\\\\n  \\midrule\n  \\endhead\n  \\bottomrule\n  \\endfoot\n"
                f"{body}\n\\end{{longtable}}}}\n")
    tabular = (f"  \\begin{{tabular}}{{{cols}}}\n    \\toprule\n    {head} \\\\\n    \\midrule\n{body}\n"
               "    \\bottomrule\n  \\end{tabular}\n")
    if wide:
        tabular = f"  \\resizebox{{\\linewidth}}{{!}}{{%\n{tabular}  }}\n"
    return (needs + "\\begin{table}[ht]\n  \\centering\n"
            f"  \\caption{{{latex_escape(caption)}}}\n  \\label{{{label}}}\n{tabular}\\end{{table}}\n")


def csv_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The same table as CSV (full precision), for a paper's supplement or a spreadsheet."""
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def write_table(run_dir: str | os.PathLike[str], stem: str, header: Sequence[str], rows: Sequence[Sequence[Any]], *,
                caption: str, label: str, csv_header: Sequence[str] | None = None,
                csv_rows: Sequence[Sequence[Any]] | None = None, raw_header: bool = False,
                raw_cells: bool = False) -> list[Path]:
    """Write ``<stem>.tex`` and ``<stem>.csv`` (the CSV may carry raw numbers where the .tex has formatted ones)."""
    from probe.io import atomic_write_text

    base = Path(run_dir)
    tex = latex_table(header, rows, caption=caption, label=label, raw_header=raw_header, raw_cells=raw_cells)
    return [atomic_write_text(base / f"{stem}.tex", tex),
            atomic_write_text(base / f"{stem}.csv", csv_table(csv_header or [_plain(h) for h in header],
                                                               csv_rows if csv_rows is not None else rows))]


def _plain(header: str) -> str:
    return header.replace("$", "").replace("\\pm", "±").replace("\\", "")


FIGURE_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Any, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically in the format of the suffix and close it (reproducible bytes)."""
    import matplotlib.pyplot as plt

    _save(fig, Path(path), dpi=dpi)
    plt.close(fig)
    return Path(path)


def save_figures(fig: Any, stem: str | os.PathLike[str], *, dpi: int = 150) -> list[Path]:
    """Save a figure as ``<stem>.png``, ``.pdf`` and ``.svg`` (vector formats for a paper) and close it."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    out = []
    for ext in FIGURE_FORMATS:
        path = stem.with_suffix(f".{ext}")
        _save(fig, path, dpi=dpi)
        out.append(path)
    plt.close(fig)
    return out


def _save(fig: Any, path: Path, *, dpi: int) -> None:
    atomic_write_bytes(path, figure_bytes(fig, path.suffix.lstrip(".") or "png", dpi=dpi))


def figure_bytes(fig: Any, fmt: str = "svg", *, dpi: int = 150) -> bytes:
    """A figure's file content in ``fmt`` (png, pdf, svg) with reproducible bytes; the figure stays open."""
    import matplotlib

    # no dates or random ids in the files: `probe report` rebuilds them byte for byte
    metadata = {"pdf": {"CreationDate": None, "ModDate": None}, "svg": {"Date": None}}.get(fmt)
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "probe", "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=metadata)
    return buf.getvalue()


def fmt_estimate(value: Any, se: Any = None, *, digits: int = 3, exact_tol: float = 1e-12) -> str:
    """``value ± se``; a zero-variance case says ``(exact)`` instead of ``± 1e-17``; a rounding-noise zero is ``0``."""
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) < exact_tol:
        value = 0.0
    if se is None:
        return fmt(value, digits)
    if isinstance(se, float) and se < exact_tol:
        return f"{fmt(value, digits)} (exact)"
    return f"{fmt(value, digits)} ± {fmt(se, digits)}"


def interval_note(estimate: Any, interval: Any, *, what: str, why: str) -> str | None:
    """A sentence when an interval does not contain its point estimate (a report must say why), else ``None``."""
    if estimate is None or not interval:
        return None
    lo, hi = interval
    if lo is None or hi is None or lo - 1e-12 <= estimate <= hi + 1e-12:
        return None
    return (f"Note: the {what} [{fmt(lo)}, {fmt(hi)}] does not contain the point estimate {fmt(estimate)}: {why}")


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
