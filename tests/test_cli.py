"""The `krelectra` command line: every stage is registered, a stage that fails to import is an
error, and every command and option says what it is in `--help`."""

from __future__ import annotations

import sys

import pytest

from krelectra import cli


def test_every_stage_is_a_subcommand():
    parser = cli.build_parser()
    for stage in cli.STAGES:
        # argparse exits 0 after printing a subcommand's help only when the subcommand exists
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([stage, "--help"])
        assert exit_info.value.code == 0, stage


def _commands(parser, prefix=("krelectra",)):
    """(command words, its parser) of every command, subcommands included."""
    import argparse

    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))


def test_every_command_and_option_has_help_text():
    """Issue 22: `krelectra finetune train --help` listed --seed with nothing beside it."""
    import argparse

    missing = []
    commands = list(_commands(cli.build_parser()))
    assert len(commands) > 20  # the walk reached the stages' commands
    for words, parser in commands:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                missing += [f"{' '.join(words)} {name}" for name in action.choices if name not in helped]
            elif not action.help:
                missing.append(f"{' '.join(words)} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
    train = dict(commands)[("krelectra", "finetune", "train")]
    assert "random seed" in train.format_help()


def test_a_stage_that_cannot_be_imported_is_not_silently_left_out(monkeypatch):
    # sys.modules[name] = None makes `import name` raise ModuleNotFoundError, as a broken install would
    monkeypatch.setitem(sys.modules, "krelectra.paper.cli", None)
    with pytest.raises(ModuleNotFoundError) as error:
        cli.build_parser()
    assert error.value.name == "krelectra.paper.cli"


def test_numbers_a_config_may_leave_out_are_a_number_or_json_null():
    import argparse

    from krelectra.cli import optional_number

    as_int, as_float = optional_number(int), optional_number(float)
    assert (as_int("null"), as_int("12"), as_float("0.5"), as_float("1")) == (None, 12, 0.5, 1.0)
    for parse, text in ((as_int, "0.5"), (as_int, "none"), (as_float, "true"), (as_float, "[1]")):
        with pytest.raises(argparse.ArgumentTypeError, match="or null"):
            parse(text)
