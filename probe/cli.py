"""``probe`` command line: parses, calls the library, prints. No analysis lives here.

Each command lives in ``probe/commands/<name>.py`` with ``register(subparsers)``
(which sets ``func`` on its parser) and a ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from probe import __version__
from probe.commands.flags import flag_message
from probe.errors import ProbeError, RunStopped, SettingError
from probe.secrets import redact_text

COMMANDS = ("bell", "words", "entangle", "quantum", "report", "view", "batch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="probe",
        description="Quantum-cognition tests of language models; entanglement measures of models and circuits.",
    )
    parser.add_argument("--version", action="version", version=f"probe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"probe.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"probe.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    _add_examples(parser)
    return parser


def _add_examples(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Every command's --help ends with examples (probe/commands/examples.py)."""
    from probe.commands.examples import epilog

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                text = epilog((*path, name))
                if text:
                    child.epilog = text
                    child.formatter_class = argparse.RawDescriptionHelpFormatter
                _add_examples(child, (*path, name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted before or after the sub-command
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    args.argv = argv  # commands print resume commands from it
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("probe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `probe ... | head`
        return 141
    except RunStopped as exc:
        print(f"probe: stopped: {redact_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ProbeError as exc:
        if args.debug:
            _print_traceback(exc)
        text = flag_message(exc, args.command) if isinstance(exc, SettingError) else str(exc)
        print(f"probe: error: {redact_text(text)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: one line for the user, the traceback with --debug
        if args.debug:
            _print_traceback(exc)
            return 1
        where = _origin(exc)
        print(f"probe: internal error: {type(exc).__name__}: {redact_text(str(exc))}{where} "
              "(hint: run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return 1


def _print_traceback(exc: BaseException) -> None:
    """The full traceback, with secrets redacted (exception messages may quote a server's echo of the key)."""
    import traceback

    print(redact_text("".join(traceback.format_exception(exc))), file=sys.stderr, end="")


def _origin(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    return f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"


if __name__ == "__main__":
    raise SystemExit(main())
