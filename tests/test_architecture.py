"""The package's boundaries, checked by a real tool (import-linter) and by the AST where it cannot look."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_the_import_graph_sees_imports_inside_functions():
    """Commands import the library inside their run functions; a checker blind to that would miss cycles."""
    graph = grimp.build_graph("probe")
    source = (ROOT / "probe" / "commands" / "bell.py").read_text()
    inner = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)
             for m in ast.walk(n) if isinstance(m, ast.ImportFrom) and m.module == "probe.api"]
    assert inner, "probe.commands.bell should import probe.api inside a function"
    assert graph.direct_import_exists(importer="probe.commands.bell", imported="probe.api")


def _python_files(*folders: str) -> list[Path]:
    return [p for f in folders for p in (ROOT / f).rglob("*.py")]


def test_no_private_name_is_imported_from_another_module():
    """``from probe.x import _helper`` ties two modules to an internal detail: make it public or move it."""
    bad = []
    for path in _python_files("probe", "analyses", "bench"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("probe") and node.level == 0:
                bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, "\n".join(bad)


def test_analysis_scripts_use_the_public_api_only():
    """The reproductions in analyses/ import no private module (``probe.x._y``) and no private name."""
    bad = []
    for path in _python_files("analyses"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("probe"):
                parts = (node.module or "").split(".")
                if any(p.startswith("_") for p in parts):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}")
    assert not bad, "\n".join(bad)


def test_command_modules_stay_thin():
    """Commands parse, call the library once and print: no command module grows past ~180 lines of code (aim: 150)."""
    sizes = {}
    for path in (ROOT / "probe" / "commands").glob("*.py"):
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#")]
        sizes[path.name] = len(code)
    fat = {k: v for k, v in sizes.items() if v > 180}
    assert not fat, fat
