"""Settings problems at the CLI: one line naming the variable, exit 2; typos warned about."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.settings import get_settings
from symbiosis import cli
from symbiosis.config_errors import unknown_variables, variable_names
from symbiosis.stack_settings import StackSettings, get_stack_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Each test in its own working directory (its own .env), settings read afresh."""
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    get_stack_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_stack_settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int | str | None:
    monkeypatch.setattr("sys.argv", ["symbiosis", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code


def test_a_bad_value_is_one_line_naming_the_variable_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYMBIOSIS_API_PORT", "abc")
    monkeypatch.setattr("sys.argv", ["symbiosis", "token", "list"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: SYMBIOSIS_API_PORT: " in err
    assert "(got 'abc')" in err
    assert "Traceback" not in err


def test_a_typo_in_a_variable_name_is_warned_about_with_the_closest_name() -> None:
    env = {"SYMBIOSIS_KAFKA_BOOTSTRAPP": "x", "SYMBIOSIS_TOPICS__READINGS": "r", "HOME": "/"}
    assert unknown_variables(env, StackSettings) == [
        ("SYMBIOSIS_KAFKA_BOOTSTRAPP", "SYMBIOSIS_KAFKA_BOOTSTRAP")
    ]
    assert "SYMBIOSIS_TOPICS__ALERTS" in variable_names(StackSettings)


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.argv", ["symbiosis", "--version"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("symbiosis ")


def test_a_bad_log_level_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYMBIOSIS_LOG_LEVEL", "loud")
    assert run(monkeypatch, "classify", "steam") == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "error: SYMBIOSIS_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' "
        "(got 'loud')"
    ]
    assert out == ""  # the command did not run


def test_the_log_level_is_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYMBIOSIS_LOG_LEVEL", "warning")
    monkeypatch.setenv("SYMBIOSIS_LOG_FORMAT", "JSON")
    assert run(monkeypatch, "classify", "steam", "--json") == 0
    assert "not a symbiosis setting" not in capsys.readouterr().err


def test_a_typo_in_dotenv_is_warned_about_and_other_tools_names_are_not(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_settings: Path
) -> None:
    (fresh_settings / ".env").write_text(
        "SYMBIOSIS_KAFKA_BOOTSTRAPP=kafka:9092\nPOSTGRES_PASSWORD=secret\n"
    )
    assert run(monkeypatch, "--version") == 0
    assert capsys.readouterr().err.splitlines() == [
        "warning: SYMBIOSIS_KAFKA_BOOTSTRAPP (in .env) is not a symbiosis setting; "
        "did you mean SYMBIOSIS_KAFKA_BOOTSTRAP?"
    ]


def test_a_bad_value_in_dotenv_names_the_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_settings: Path
) -> None:
    (fresh_settings / ".env").write_text("SYMBIOSIS_API_PORT=abc\n")
    assert run(monkeypatch, "token", "list") == 2
    err = capsys.readouterr().err
    assert "error: SYMBIOSIS_API_PORT in .env: " in err
    assert "(got 'abc')" in err
    assert "Traceback" not in err


def test_a_bad_log_level_in_dotenv_stops_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_settings: Path
) -> None:
    (fresh_settings / ".env").write_text("SYMBIOSIS_LOG_LEVEL=loud\n")
    assert run(monkeypatch, "classify", "steam") == 2
    assert capsys.readouterr().err.startswith("error: SYMBIOSIS_LOG_LEVEL in .env: ")
