"""``symbiosis token issue | list``: a warning for an unknown company, tables that never truncate.

The database and Kafka stay out: the decisions and the formatting are plain functions, and the
commands are run with their storage replaced.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console
from typer.testing import CliRunner

from domain.errors import UnavailableError
from domain.park import bundled_park_path
from symbiosis import api_cmds
from symbiosis.cli import app

runner = CliRunner()
KALUNDBORG = str(bundled_park_path("kalundborg"))
LONG_COMPANY = "the-very-long-named-industrial-symbiosis-holding-company-a-s"
assert len(LONG_COMPANY) == 60


def company_column(rendered: str) -> str:
    """The company cells of a rendered token table (body rows), joined: folded lines whole."""
    cells = [
        line.split("│")[2].strip()
        for line in rendered.splitlines()
        if line.startswith("│") and len(line.split("│")) > 2
    ]
    return "".join(cells)


def rows() -> list[object]:
    from symbiosis.api_cmds import TokenRow

    created = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    return [TokenRow("sym_abcdef", LONG_COMPANY, "company", "ERP import", created, None)]


# --- token issue: unknown companies ------------------------------------------------------------


def test_a_known_company_gets_no_warning() -> None:
    from symbiosis.api_cmds import company_warning

    assert company_warning("novo-nordisk", {"novo-nordisk", "orsted"}) is None


def test_an_unknown_company_is_named_with_the_closest_known_one() -> None:
    from symbiosis.api_cmds import company_warning

    assert company_warning("novo-nordsk", {"novo-nordisk", "orsted"}) == (
        "no registered site or park names company 'novo-nordsk'; did you mean 'novo-nordisk'?"
    )
    assert company_warning("acme", {"novo-nordisk", "orsted"}) == (
        "no registered site or park names company 'acme'"
    )
    assert company_warning("acme", set()) == "no registered site or park names company 'acme'"


def _issue_without_storage(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    issued: list[object] = []

    def issue(company: str | None, label: str) -> str:
        issued.append(company)
        return "sym_token"

    monkeypatch.setattr(api_cmds, "_issue_token", issue, raising=False)
    return issued


def test_token_issue_warns_about_an_unknown_company_and_still_issues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = _issue_without_storage(monkeypatch)
    known = {"novo-nordisk", "orsted"}
    monkeypatch.setattr(api_cmds, "registry_companies", lambda s: known, raising=False)
    result = runner.invoke(app, ["token", "issue", "novo-nordsk"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "sym_token\n"
    assert result.stderr.strip() == (
        "warning: no registered site or park names company 'novo-nordsk'; "
        "did you mean 'novo-nordisk'?"
    )
    assert issued == ["novo-nordsk"]


def test_token_issue_checks_park_files_without_kafka(monkeypatch: pytest.MonkeyPatch) -> None:
    _issue_without_storage(monkeypatch)

    def no_kafka(settings: object) -> set[str]:
        raise AssertionError("the registry must not be read when --park is given")

    monkeypatch.setattr(api_cmds, "registry_companies", no_kafka, raising=False)
    ok = runner.invoke(app, ["token", "issue", "orsted", "--park", KALUNDBORG])
    assert (ok.exit_code, ok.stderr) == (0, "")
    typo = runner.invoke(app, ["token", "issue", "orstedd", "--park", KALUNDBORG])
    assert typo.exit_code == 0
    assert "did you mean 'orsted'?" in typo.stderr


def test_token_issue_without_a_registry_says_so_and_still_issues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = _issue_without_storage(monkeypatch)

    def kafka_away(settings: object) -> set[str]:
        raise UnavailableError("Kafka at 127.0.0.1:19092 did not answer")

    monkeypatch.setattr(api_cmds, "registry_companies", kafka_away, raising=False)
    result = runner.invoke(app, ["token", "issue", "acme"])
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: cannot check company 'acme': Kafka at")
    assert issued == ["acme"]


def test_operator_tokens_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    issued = _issue_without_storage(monkeypatch)
    monkeypatch.setattr(api_cmds, "registry_companies", lambda s: set(), raising=False)
    result = runner.invoke(app, ["token", "issue", "--operator"])
    assert (result.exit_code, result.stderr, issued) == (0, "", [None])


# --- token list: whole values ------------------------------------------------------------------


def test_the_token_table_never_truncates_a_long_company() -> None:
    from symbiosis.api_cmds import token_table

    out = io.StringIO()
    Console(file=out, width=80).print(token_table(rows()))
    rendered = out.getvalue()
    assert "…" not in rendered
    assert company_column(rendered) == LONG_COMPANY
    assert max(len(line) for line in rendered.splitlines()) <= 80
    assert "2026-05-04 09:30" in rendered  # dates are never folded


def test_token_list_at_80_columns_shows_the_whole_company(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api_cmds, "_token_rows", rows, raising=False)
    result = runner.invoke(app, ["token", "list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert company_column(result.stdout) == LONG_COMPANY


def test_token_list_json_has_every_field_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_cmds, "_token_rows", rows, raising=False)
    result = runner.invoke(app, ["token", "list", "--json"], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "prefix": "sym_abcdef",
            "company": LONG_COMPANY,
            "role": "company",
            "label": "ERP import",
            "created_at": "2026-05-04T09:30:00+00:00",
            "revoked_at": None,
        }
    ]
