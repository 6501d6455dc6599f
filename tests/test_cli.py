"""The `krelectra` command line: every stage is registered, and a stage that fails to import is an error."""

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


def test_a_stage_that_cannot_be_imported_is_not_silently_left_out(monkeypatch):
    # sys.modules[name] = None makes `import name` raise ModuleNotFoundError, as a broken install would
    monkeypatch.setitem(sys.modules, "krelectra.paper.cli", None)
    with pytest.raises(ModuleNotFoundError) as error:
        cli.build_parser()
    assert error.value.name == "krelectra.paper.cli"
