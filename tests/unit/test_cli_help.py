"""Help renders cleanly: no ``<bool>`` beside flags, code spans shown as code, not as backticks."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
import typer.rich_utils
from typer.testing import CliRunner

from symbiosis.cli import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


PATHS = _command_paths()


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"", "match", "park check", "token list", "stack status", "classify"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "symbiosis")
def test_help_shows_no_type_beside_flags_and_no_raw_markup(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout  # typer 0.29 labels every flag so; 0.28 does not
    assert "`" not in result.stdout  # markdown code spans render as code


def test_code_spans_are_styled_as_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typer.rich_utils, "FORCE_TERMINAL", True)  # keep the ANSI styles
    result = runner.invoke(app, ["api", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    # the command is a styled span of its own, not prose between backticks
    assert re.search(r"\x1b\[[0-9;]+msymbiosis stack up\x1b\[0m", result.stdout)


def test_angle_brackets_in_help_survive_markdown() -> None:
    result = runner.invoke(app, ["schemas", "export", "--help"], env={"COLUMNS": "120"})
    assert "<Name>.schema.json" in result.stdout


def test_global_log_options_are_listed_with_their_choices() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "--log-level" in result.stdout
    assert "--log-format" in result.stdout
    assert "console|json" in result.stdout
