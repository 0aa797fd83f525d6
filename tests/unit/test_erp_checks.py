"""ERP import, what a row must be to become an offer (issue 17): the kind, unit and EWC rules
``park check`` applies, the importing company's sites, mapping typos, one problem per line.

No Kafka: the CLI runs with ``--dry-run`` and ``--park``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from domain.errors import ErpImportError
from domain.park import ParkValidationError, parse_park
from ingest.erp import ColumnMapping, RowError, load_mapping, read_offers
from schemas.offers import Offer
from symbiosis.cli import app

runner = CliRunner()

COLUMNS = {
    "id": "No",
    "site": "Plant",
    "description": "Text",
    "ewc": "EWC",
    "kind": "Kind",
    "quantity": "Qty",
    "unit": "Unit",
}
HEADER = "No,Plant,Text,EWC,Kind,Qty,Unit\n"


def read(tmp_path: Path, rows: str, **mapping: Any) -> tuple[list[Offer], list[RowError]]:
    path = tmp_path / "stock.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    items = list(read_offers(path, ColumnMapping.model_validate({"columns": COLUMNS, **mapping})))
    return [i for i in items if isinstance(i, Offer)], [i for i in items if isinstance(i, RowError)]


def park_file(tmp_path: Path) -> Path:
    """Company board-co has board-plant and kiln-2; other-co has sawmill-north."""

    def site(site_id: str, company: str) -> dict[str, Any]:
        return {"id": site_id, "name": site_id, "company": company, "lat": 55.6, "lon": 11.1}

    park = {
        "park": "Test park",
        "sites": [
            site("board-plant", "board-co"),
            site("kiln-2", "board-co"),
            site("sawmill-north", "other-co"),
        ],
    }
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump(park, sort_keys=False), encoding="utf-8")
    return path


def write_mapping(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- 1. kind, unit and EWC code fit together, as park check requires -------------------------


def test_a_material_in_mw_is_refused_naming_the_unit_column(tmp_path: Path) -> None:
    offers, errors = read(tmp_path, "a,p,Fly ash,10 01 02,material,5,MW\n")
    assert offers == []
    (error,) = errors
    assert error.field == "Unit"
    assert "'MW' is not a rate a material offer can be given in" in error.reason


def test_heat_with_an_ewc_code_in_tonnes_is_refused_for_both(tmp_path: Path) -> None:
    offers, errors = read(tmp_path, "b,p,Waste heat from kiln,10 01 05,heat,5,t\n")
    assert offers == []
    (error,) = errors
    assert [p.field for p in error.problems] == ["EWC", "Unit"]
    assert "a heat offer has no EWC code" in error.problems[0].reason
    assert "'t' is not a rate a heat offer can be given in" in error.problems[1].reason


def test_rates_and_stocks_of_the_right_kind_pass(tmp_path: Path) -> None:
    rows = (
        "a,p,FGD gypsum,10 01 05,material,5,t\n"  # a stock
        "b,p,FGD gypsum,10 01 05,material,5,t/week\n"  # a rate
        "c,p,Waste heat from kiln,,heat,5,MW\n"
        "d,p,Waste heat from kiln,,heat,5,MWh\n"  # an amount of heat
        "e,p,Cooling water return,,water,5,m3/h\n"
        "f,p,Cooling water return,,water,5,m^3\n"
        "g,p,CO2 from fermentation,,gas,5,Nm3/h\n"
    )
    offers, errors = read(tmp_path, rows)
    assert errors == []
    assert [o.id for o in offers] == list("abcdefg")


def test_the_offer_rule_is_the_park_rule(tmp_path: Path) -> None:
    """The same words as ``park check`` gives a material stream in MW: one rule, shared."""
    text = (
        "park: p\nsites:\n  - {id: s, name: s, company: c, lat: 1, lon: 1, streams: "
        "[{id: x, kind: material, unit: MW, nominal: 1, ewc: '100102'}]}\n"
    )
    with pytest.raises(ParkValidationError) as info:
        parse_park(text, "park.yaml")
    (issue,) = info.value.issues
    _, errors = read(tmp_path, "a,p,Fly ash,10 01 02,material,5,MW\n")
    assert issue.message.replace(" stream ", " offer ") in errors[0].reason


def test_an_unsure_kind_is_not_published_as_a_material(tmp_path: Path) -> None:
    offers, errors = read(tmp_path, "a,p,Rest,,,5,t\nb,p,FGD gypsum,,,5,t\n")
    assert [o.id for o in offers] == ["b"]
    assert offers[0].kind == "material"
    (error,) = errors
    assert error.field == "Kind"
    assert "kind" in error.reason
    assert "'Rest'" in error.reason


def test_kind_rules_as_a_function() -> None:
    from ingest.erp.consistency import kind_problems
    from schemas.common import ResourceKind

    assert kind_problems(ResourceKind.MATERIAL, "t/d", "100105") == {}
    assert set(kind_problems(ResourceKind.MATERIAL, "MW", None)) == {"unit"}
    assert set(kind_problems(ResourceKind.HEAT, "t", "100105")) == {"ewc", "unit"}
    assert kind_problems(ResourceKind.STEAM, "t/h", None) == {}
    assert kind_problems(ResourceKind.STEAM, "t", None) == {}


# --- 2. sites: the importing company's, from the registry or a park file --------------------


def test_site_check_is_a_plain_function() -> None:
    from ingest.erp.sites import site_problem

    sites = {"board-plant", "kiln-2"}
    assert site_problem("kiln-2", "board-co", sites) is None
    problem = site_problem("kiln-3", "board-co", sites)
    assert problem is not None
    assert "'kiln-3' is not a site of company 'board-co'" in problem
    assert "did you mean 'kiln-2'?" in problem
    assert site_problem("anywhere", "board-co", set()) is not None


def test_sites_of_a_company_from_a_park_file(tmp_path: Path) -> None:
    from ingest.erp.sites import sites_in_park

    assert sites_in_park(park_file(tmp_path), "board-co") == frozenset({"board-plant", "kiln-2"})
    with pytest.raises(ErpImportError, match=r"company 'nobody' has no site in .*park\.yaml"):
        sites_in_park(park_file(tmp_path), "nobody")


def test_cli_needs_a_company(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    data.write_text(HEADER + "a,Board Plant,FGD gypsum,10 01 05,,5,t\n", encoding="utf-8")
    mapping = write_mapping(tmp_path, {"columns": COLUMNS})
    result = runner.invoke(app, ["import", str(data), "-m", str(mapping), "--dry-run"])
    assert result.exit_code == 2
    assert "--company" in result.stderr


def test_cli_refuses_rows_of_sites_the_company_does_not_have(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    data.write_text(
        HEADER
        + "a,Board Plant,FGD gypsum,10 01 05,,5,t\n"  # board-co's
        + "b,sawmill-north,FGD gypsum,10 01 05,,5,t\n"  # other-co's
        + "c,Nowhere Works,FGD gypsum,10 01 05,,5,t\n",  # nobody's
        encoding="utf-8",
    )
    mapping = write_mapping(tmp_path, {"columns": COLUMNS})
    report = tmp_path / "bad.csv"
    result = runner.invoke(
        app,
        ["import", str(data), "-m", str(mapping), "--dry-run", "--company", "board-co",
         "--park", str(park_file(tmp_path)), "--errors", str(report)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["line"], r["field"]) for r in rows] == [("3", "Plant"), ("4", "Plant")]
    assert "'sawmill-north' is not a site of company 'board-co'" in rows[0]["reason"]


def test_cli_company_without_sites_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    data.write_text(HEADER + "a,Board Plant,FGD gypsum,10 01 05,,5,t\n", encoding="utf-8")
    mapping = write_mapping(tmp_path, {"columns": COLUMNS})
    result = runner.invoke(
        app,
        ["import", str(data), "-m", str(mapping), "--dry-run", "--company", "nobody",
         "--park", str(park_file(tmp_path))],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "company 'nobody' has no site in" in result.stderr


# --- 5. mapping typos get a suggestion -------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("colums", "columns"), ("decimal_coma", "decimal_comma"), ("delimeter", "delimiter")],
)
def test_a_mistyped_mapping_key_gets_a_suggestion(tmp_path: Path, typo: str, meant: str) -> None:
    path = write_mapping(tmp_path, {"columns": COLUMNS, typo: ";"})
    with pytest.raises(ErpImportError) as info:
        load_mapping(path)
    assert re.search(rf"{typo}: unknown key \(did you mean '{meant}'\?\)", str(info.value))


# --- 6. each problem of a row on its own line --------------------------------------------------


def test_each_problem_of_a_row_is_its_own_report_line(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    data.write_text(HEADER + "a,Board Plant,FGD gypsum,99 99 99,,0,tonnez\n", encoding="utf-8")
    mapping = write_mapping(tmp_path, {"columns": COLUMNS})
    report = tmp_path / "bad.csv"
    result = runner.invoke(
        app,
        ["import", str(data), "-m", str(mapping), "--dry-run", "--company", "board-co",
         "--park", str(park_file(tmp_path)), "--errors", str(report)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "field", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("2", "EWC"), ("2", "Qty"), ("2", "Unit")]
    assert "99 99 99 is not on the European List of Waste" in rows[1][2]
    assert not any(f"{field}: " in r[2] for r in rows[1:] for field in ("Qty", "Unit"))


def test_only_the_companys_own_token_or_an_operators_may_publish_its_offers() -> None:
    from ingest.api.tokens import Principal
    from ingest.erp.authority import authority_problem

    own = Principal(role="company", company="board-co", prefix="sym_aaaaa")
    rival = Principal(role="company", company="rival-co", prefix="sym_bbbbb")
    operator = Principal(role="operator", company=None, prefix="sym_ccccc")
    assert authority_problem(own, "board-co") is None
    assert authority_problem(operator, "board-co") is None
    assert authority_problem(rival, "board-co") == (
        "the token is 'rival-co''s, not 'board-co''s: a company imports only its own stock "
        "(use its token, or an operator's)"
    )
    assert "not valid (unknown or revoked)" in (authority_problem(None, "board-co") or "")
