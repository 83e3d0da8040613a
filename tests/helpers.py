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


def compile_latex(tables: list[Path], workdir: Path) -> str:
    """Compile LaTeX tables in a minimal article with pdflatex; return the log (raises on failure).

    Fails on an error, and on an overfull box wider than 15 pt (a table running off the page).
    """
    import shutil
    import subprocess

    exe = shutil.which("pdflatex")
    if exe is None:  # .ci/run installs Debian's texlive-latex-recommended; a developer machine may lack it
        import pytest

        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-recommended)")
    workdir.mkdir(parents=True, exist_ok=True)
    body = "\n".join(f"\\input{{{t.resolve()}}}\n\\clearpage" for t in tables)
    (workdir / "main.tex").write_text("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
                                      "\\usepackage{booktabs,graphicx,longtable}\n\\begin{document}\n" + body
                                      + "\n\\end{document}\n")
    proc = subprocess.run([exe, "-halt-on-error", "-interaction=nonstopmode", "main.tex"], cwd=workdir,
                          capture_output=True, text=True, timeout=300)
    log = (workdir / "main.log").read_text(errors="replace") if (workdir / "main.log").exists() else proc.stdout
    if proc.returncode != 0:
        raise AssertionError(f"pdflatex failed on {[t.name for t in tables]}:\n{log[-3000:]}")
    wide = [float(m.group(1)) for m in re.finditer(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    if any(w > 15 for w in wide):
        raise AssertionError(f"overfull boxes {wide} pt in {[t.name for t in tables]}")
    return log
