"""``--log-level`` and ``--log-format``: applied here, and passed to child processes."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner

from domain.park import bundled_park_path
from runtime.logs import configure_logging
from runtime.settings import Settings
from symbiosis.cli import app

runner = CliRunner()
KALUNDBORG = str(bundled_park_path("kalundborg"))
NAMES = ("SYMBIOSIS_LOG_LEVEL", "SYMBIOSIS_LOG_FORMAT")


@pytest.fixture(autouse=True)
def _logging_restored(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[None]:
    monkeypatch.chdir(str(tmp_path))  # no .env of the checkout
    for name in NAMES:  # recorded, so the variables the CLI exports are undone afterwards
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    yield
    for name in NAMES:
        os.environ.pop(name, None)
    configure_logging()  # what any other command leaves behind: INFO, console


def test_the_options_are_applied_and_exported_for_children(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--log-level", "debug", "--log-format", "JSON", "park", "check", KALUNDBORG]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert (os.environ["SYMBIOSIS_LOG_LEVEL"], os.environ["SYMBIOSIS_LOG_FORMAT"]) == (
        "DEBUG",
        "json",
    )
    env = Settings().child_env()  # what the pipeline's and the demo's children are given
    assert (env["SYMBIOSIS_LOG_LEVEL"], env["SYMBIOSIS_LOG_FORMAT"]) == ("DEBUG", "json")
    assert logging.getLogger().level == logging.DEBUG
    structlog.get_logger("test").debug("hello", n=1)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["event"], line["n"], line["level"]) == ("hello", 1, "debug")


def test_without_options_the_variables_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBIOSIS_LOG_LEVEL", "error")
    result = runner.invoke(app, ["park", "check", KALUNDBORG])
    assert result.exit_code == 0, result.output
    assert logging.getLogger().level == logging.ERROR


def test_a_command_default_yields_to_a_chosen_level(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(level="WARNING")  # e.g. the demo: quiet unless asked
    assert logging.getLogger().level == logging.WARNING
    monkeypatch.setenv("SYMBIOSIS_LOG_LEVEL", "DEBUG")
    configure_logging(level="WARNING")
    assert logging.getLogger().level == logging.DEBUG


def test_logs_go_to_the_stderr_of_the_moment(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    runner.invoke(app, ["park", "check", KALUNDBORG])  # swaps sys.stderr while it runs
    structlog.get_logger("test").warning("after the command")
    assert "after the command" in capsys.readouterr().err


@pytest.mark.parametrize("as_json", [False, True])
def test_a_logged_exception_shows_no_local_variables(
    capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    """Locals hold tokens, passwords and tenants' payloads: they never reach the log; the
    traceback does, in either format."""
    configure_logging(json=as_json)
    log = structlog.get_logger("test")

    def fails() -> None:
        api_token = "sk-not-for-logs"
        raise RuntimeError(f"failed after {len(api_token)} characters")

    try:
        fails()
    except RuntimeError:
        log.exception("it.failed")
    err = capsys.readouterr().err
    if as_json:
        err = json.loads(err.strip().splitlines()[-1])["exception"]
    assert "RuntimeError: failed after 15 characters" in err  # the traceback is there
    assert "in fails" in err
    assert "sk-not-for-logs" not in err
