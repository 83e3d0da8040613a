"""What every ``probe quantum`` sub-command shares: the common flags and the one library call."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def run_command(args: argparse.Namespace) -> int:
    """Settings from the parsed flags, one study call (report included), a few lines of results."""
    from probe.api import run_study
    from probe.protocol import How, get_study

    study = get_study(args.experiment)
    names = {f.name for f in dataclasses.fields(study.settings_type)}
    settings = study.settings_type(**{k: v for k, v in vars(args).items() if k in names})
    if args.experiment == "quantum-classify":  # the one quantum study that can run for long: say so first
        for note in study.plan(settings, How(out=Path(args.out) if args.out else None)).notes:
            print(f"probe: {note}", flush=True)
    result = run_study(args.experiment, settings, How(out=Path(args.out) if args.out else None, progress=None))
    if args.experiment in ("quantum-power", "quantum-expressibility", "quantum-capability", "quantum-mie"):
        from probe.report.quantum import summary_lines
    else:
        from probe.report.quantum_models import summary_lines
    print("\n".join(summary_lines(result.to_json())))
    print(f"run folder: {result.path}  (report.md, result.json)")
    return 0


def add_common(p: argparse.ArgumentParser, experiment: str) -> None:
    p.add_argument("--out", metavar="DIR", default=None, help="run folder (default runs/<experiment>-<name>-<time>/); "
                                                              "the same folder resumes an interrupted run")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampled number (default 0)")
    p.set_defaults(func=run_command, experiment=experiment)


__all__ = ["add_common", "run_command"]
