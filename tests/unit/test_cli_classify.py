"""``symbiosis classify``: a readable answer for a person, JSON for a script, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from symbiosis.cli import app

runner = CliRunner()


def test_json_answer_has_language_kind_candidates_and_review() -> None:
    result = runner.invoke(app, ["classify", "popiół lotny z kotła", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["language"] == "pl"
    assert answer["kind"] == "material"
    assert answer["candidates"][0]["code"][:2] == "10"
    assert set(answer["candidates"][0]) == {
        "code", "description", "hazardous", "confidence", "source"
    }  # fmt: skip
    assert isinstance(answer["needs_review"], bool)


def test_the_unit_is_evidence() -> None:
    result = runner.invoke(app, ["classify", "Überschuss Linie 3", "--unit", "MW", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "heat"


def test_a_person_gets_a_table_with_the_kind_and_codes() -> None:
    result = runner.invoke(app, ["classify", "FGD gypsum", "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "material" in result.stdout
    assert "10 01 05" in result.stdout
    assert "read as en" in result.stdout


def test_a_refused_text_exits_1_with_the_reason() -> None:
    result = runner.invoke(app, ["classify", "Strom", "--json"])
    assert result.exit_code == 1
    assert (
        "not a heat, steam, water, material or gas resource" in json.loads(result.stdout)["error"]
    )
    plain = runner.invoke(app, ["classify", "electricity"])
    assert plain.exit_code == 1
    assert "refused:" in plain.stderr


def test_a_bad_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["classify", "steam", "--top", "0"])
    assert result.exit_code == 2
