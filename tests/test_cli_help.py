"""Every command's --help shows examples, and every option says what it does."""

from __future__ import annotations

import argparse

from probe.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_command_has_examples_and_every_option_a_description():
    missing_examples, missing_help = [], []
    for path, parser in _parsers(build_parser()):
        if not path:
            continue
        has_sub = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if not has_sub and "examples:" not in (parser.epilog or ""):
            missing_examples.append(" ".join(path))
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if action.help is None or (action.help != argparse.SUPPRESS and not action.help.strip()):
                missing_help.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert not missing_examples, missing_examples
    assert not missing_help, missing_help
