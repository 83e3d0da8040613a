"""One resolver for the prompt and design files of every study.

A name is a path to a file, or a bare stem looked up among the shipped files:
``prompts/`` of a source checkout, or ``probe/_prompts`` inside an installed wheel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from probe.errors import ConfigError

SOURCE_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
PACKAGED_PROMPTS = Path(__file__).resolve().parent / "_prompts"


def shipped_dirs() -> tuple[Path, ...]:
    """Folders that hold the shipped prompt files, in lookup order."""
    return (SOURCE_PROMPTS, PACKAGED_PROMPTS)


def resolve_prompt_file(name_or_path: str, *, param: str = "prompt", suffix: str = ".toml",
                        shipped: Sequence[str] = ()) -> Path:
    """The file a study's ``prompt`` setting names.

    Parameters
    ----------
    name_or_path : str
        A path to a file, or a bare stem (``animal-acts``) of a shipped file.
    param : str
        The setting's name, for the error message.
    suffix : str
        Added to a bare stem.
    shipped : sequence of str
        Names listed in the hint when nothing is found.
    """
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    if p.exists():
        raise ConfigError(f"{param} {name_or_path}: not a file", hint=f"pass a {suffix} file")
    stem = p.name if p.suffix == suffix else p.name + suffix
    if p.parent == Path("."):
        for folder in shipped_dirs():
            if (folder / stem).is_file():
                return folder / stem
    names = f", or a shipped one: {', '.join(shipped)}" if shipped else ""
    raise ConfigError(f"{param} {name_or_path}: file not found", hint=f"give a path to a {suffix} file{names}")
