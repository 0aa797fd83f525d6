"""Exit codes: 0 ok, 1 problems found, 2 usage or environment; errors: one line, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from domain.errors import StackError, UnavailableError
from domain.park import bundled_park_path
from symbiosis import api_cmds, cli, stack
from symbiosis.cli import app

runner = CliRunner()
KALUNDBORG = str(bundled_park_path("kalundborg"))
SYMBIOSIS = Path(sys.executable).with_name("symbiosis")
LONG = "/srv/symbiosis/" + "a-rather-long-directory-name/" * 5 + "postgresql.log"


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["park", "check", "--bogus", KALUNDBORG],
        ["match", KALUNDBORG, "--bogus"],
        ["token", "list", "--bogus"],
        ["stack", "status", "--bogus"],
        ["classify", "steam", "--bogus"],
    ],
)
def test_an_unknown_option_is_a_usage_error(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert "No such option" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["park", "check"],
        ["match"],
        ["classify"],
        ["token", "revoke"],
        ["schemas", "export"],
        ["token", "issue"],  # COMPANY or --operator
    ],
)
def test_a_missing_argument_is_a_usage_error(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-format", "yaml", "park", "check", KALUNDBORG],
        ["--log-level", "loud", "park", "check", KALUNDBORG],
        ["classify", "steam", "--top", "0"],
    ],
)
def test_a_bad_choice_or_value_is_a_usage_error(argv: list[str]) -> None:
    assert runner.invoke(app, argv).exit_code == 2


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["token", "issue", "acme", "--operator"], "give a COMPANY, or --operator (not both)"),
        (["token", "issue", "Not A Slug"], "'Not A Slug' is not a slug"),
    ],
)
def test_token_issue_misuse_is_a_usage_error(argv: list[str], says: str) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2_at_the_real_entry_point() -> None:
    for argv in (["--bogus"], ["park", "check"]):
        done = subprocess.run([SYMBIOSIS, *argv], capture_output=True, text=True, check=False)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr


def test_a_stack_that_cannot_start_exits_2_in_one_unwrapped_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reason = f"PostgreSQL did not start: see {LONG}"

    def refuse(settings: object) -> None:
        raise StackError(reason)

    monkeypatch.setattr(stack, "stack_up", refuse)
    result = runner.invoke(app, ["stack", "up"], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    assert f"stack up failed: {reason}" in result.stderr.splitlines()


def test_an_unreachable_database_exits_2_in_one_unwrapped_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reason = f'connection failed: could not open "{LONG}": no such file'

    def unreachable(*args: object, **kwargs: object) -> None:
        raise psycopg.OperationalError(reason)

    monkeypatch.setattr(api_cmds.psycopg, "connect", unreachable)
    result = runner.invoke(app, ["token", "revoke", "abcdef1234"], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {reason}"]


def test_an_environment_error_no_command_caught_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def kafka_away(*args: object, **kwargs: object) -> None:
        raise UnavailableError("Kafka at 127.0.0.1:19092 did not answer within 10 s")

    monkeypatch.setattr(api_cmds, "migrate", lambda url: [])
    monkeypatch.setattr(api_cmds, "serve", kafka_away)
    monkeypatch.setattr("sys.argv", ["symbiosis", "api"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: Kafka at 127.0.0.1:19092 did not answer within 10 s"


def test_a_bug_still_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api_cmds, "migrate", lambda url: [])
    monkeypatch.setattr(api_cmds, "serve", bug)
    monkeypatch.setattr("sys.argv", ["symbiosis", "api"])
    with pytest.raises(ZeroDivisionError):
        cli.main()


def test_a_demo_failure_is_one_unwrapped_line(tmp_path: Path) -> None:
    missing = tmp_path / "parks-kept-somewhere-rather-deep" / ("b" * 60) / "park.yaml"
    result = runner.invoke(
        app, ["demo", "--no-stack", "--park", str(missing)], env={"COLUMNS": "60"}
    )
    assert result.exit_code == 2  # the file cannot be read: not a problem in a park
    assert result.stderr.splitlines() == [f"demo failed: {missing}: no such file"]


def test_a_demo_on_an_invalid_park_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "park.yaml"
    bad.write_text("park: x\nsites: 3\n")
    result = runner.invoke(app, ["demo", "--no-stack", "--park", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith("demo failed: ")
