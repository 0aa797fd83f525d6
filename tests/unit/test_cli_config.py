"""Settings problems at the CLI: one line naming the variable, exit 2; typos warned about."""

from __future__ import annotations

import pytest

from symbiosis import cli
from symbiosis.config_errors import unknown_variables, variable_names
from symbiosis.stack_settings import StackSettings


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
