"""ERP import: mapping files, the four formats, normalisation, classification, bad rows, CLI.

No Kafka, no database: the CLI runs with ``--dry-run``, or with a fake publisher.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import json
import os
import re
import threading
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from domain.errors import ErpImportError
from domain.ewc import catalogue
from ingest.erp import (
    DEFAULT_LIMITS,
    ROW_FIELD,
    ColumnMapping,
    ErpExport,
    ImportLimits,
    RowError,
    load_mapping,
    normalise_ewc,
    normalised_defaults,
    parse_datetime,
    parse_quantity,
    read_offers,
    slugify,
)
from ingest.erp.samples import MAPPING, expected_bad_field, write_erp_file, write_sample_park
from schemas.common import SLUG_PATTERN
from schemas.offers import Offer
from schemas.rejections import Rejection
from symbiosis import import_cmd
from symbiosis.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "erp"
BERLIN = {"timezone": "Europe/Berlin"}


def mapping(**overrides: Any) -> ColumnMapping:
    return ColumnMapping.model_validate({**MAPPING, **overrides})


def write_mapping(tmp_path: Path, data: object, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_csv(tmp_path: Path, text: str, name: str = "stock.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def split(items: list[Offer | RowError]) -> tuple[list[Offer], list[RowError]]:
    offers = [i for i in items if isinstance(i, Offer)]
    errors = [i for i in items if isinstance(i, RowError)]
    return offers, errors


SIMPLE = {
    "columns": {
        "id": "No",
        "site": "Plant",
        "description": "Text",
        "ewc": "EWC",
        "kind": "Kind",
        "quantity": "Qty",
        "unit": "Unit",
        "available_from": "From",
        "available_until": "Until",
    }
}
HEADER = "No,Plant,Text,EWC,Kind,Qty,Unit,From,Until\n"


def read_simple(tmp_path: Path, rows: str, **overrides: Any) -> list[Offer | RowError]:
    path = write_csv(tmp_path, HEADER + rows)
    return list(read_offers(path, ColumnMapping.model_validate({**SIMPLE, **overrides})))


# --- mapping files -----------------------------------------------------------------------------


def test_mapping_loads_yaml_and_json(tmp_path: Path) -> None:
    from_yaml = load_mapping(write_mapping(tmp_path, MAPPING))
    json_path = tmp_path / "mapping.json"
    json_path.write_text(json.dumps(MAPPING), encoding="utf-8")
    assert load_mapping(json_path) == from_yaml
    assert from_yaml.columns["site"] == "Plant"
    assert from_yaml.id_template == "{stem}-{line}"


def test_documented_example_mapping_reads_the_documented_example_file() -> None:
    items = list(
        read_offers(DOCS / "stock-example.csv", load_mapping(DOCS / "mapping-example.yaml"))
    )
    offers, errors = split(items)
    assert len(offers) == 6
    assert [(e.line, e.field) for e in errors] == [(8, "Qty")]
    by_id = {o.id: o for o in offers}
    assert by_id["gyp-0001"].quantity == 1240.5  # 1.240,5 with decimal_comma
    assert by_id["gyp-0001"].ewc == "100105"
    acid = by_id["acd-0003"]  # spent sulfuric acid: 06 01 01 or 10 01 09 (power station)?
    assert acid.classification is not None
    assert acid.classification.needs_review
    assert (acid.ewc, acid.classification.candidates[0]) == (None, "060101")
    assert by_id["hea-0005"].kind == "heat"
    assert by_id["slg-0006"].classification is not None
    assert by_id["slg-0006"].classification.method == "classifier"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"columns": {**MAPPING["columns"], "qty": "Qty"}}, r"columns: unknown target .*'qty'"),
        (
            {"columns": {**MAPPING["columns"], "quantty": "Qty"}},
            r"unknown target field 'quantty' \(did you mean 'quantity'\?\)",
        ),
        ({"defaults": {"colour": "red"}}, r"defaults: unknown target field 'colour'"),
        ({"columns": {"site": "Plant"}}, r"no column or default for required .*description"),
        ({"timezone": "Mars/Olympus"}, r"timezone: 'Mars/Olympus' is not an IANA timezone"),
        ({"encoding": "klingon"}, r"encoding: unknown encoding 'klingon'"),
        ({"id_template": "{plant}-{line}"}, r"id_template: .* may use only"),
        ({"id_template": "{line"}, r"id_template: .* not a valid template"),
        ({"defaults": {"id": "x"}}, r"'id' cannot be a constant"),
        ({"defaults": {"unit": "tonnez"}}, r"defaults\.unit: 'tonnez' is not a unit"),
        ({"defaults": {"available_from": "soon"}}, r"defaults\.available_from: 'soon' is not a"),
        ({"format": "xls"}, r"format: must be one of: csv, json, jsonl, xlsx"),
        ({"delimiter": ";;"}, r"delimiter: .*at most 1 character"),
        ({"decimal_comma": "maybe"}, r"decimal_comma: must be true or false"),
        ({"colums": {}}, r"colums: unknown key \(did you mean 'columns'\?\)"),
    ],
)
def test_mapping_errors_name_the_file_and_field(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    path = write_mapping(tmp_path, {**MAPPING, **change})
    with pytest.raises(ErpImportError) as info:
        load_mapping(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert re.search(expected, message), message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", r"top level must be a mapping .* got nothing"),
        ("- a\n- b\n", r"top level must be a mapping .* got list"),
        ("columns: {site: [\n", r"mapping.yaml:\d+: YAML syntax error"),
    ],
)
def test_mapping_file_that_is_not_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ErpImportError, match=expected):
        load_mapping(path)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ErpImportError, match=r"nope\.yaml: no such file"):
        load_mapping(tmp_path / "nope.yaml")


def test_tab_delimiter_survives_whitespace_stripping(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text('delimiter: "\\t"\ncolumns: {site: a, description: b, quantity: c, unit: d}\n')
    assert load_mapping(path).delimiter == "\t"


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "xlsx"])
def test_every_format_reads_offers_and_reports_bad_rows_by_line(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"stock.{fmt}"
    bad_lines = write_erp_file(path, 60, fmt, bad_every=7)
    extra = {"records": "items"} if fmt == "json" else {}
    offers, errors = split(list(read_offers(path, mapping(**extra))))
    assert [e.line for e in errors] == bad_lines
    assert [e.field for e in errors] == [expected_bad_field(k) for k in range(len(errors))]
    assert len(offers) == 60 - len(bad_lines)
    first = offers[0]
    assert first.id == "m0000000"
    assert first.site == "board-plant"
    assert first.ewc == "100105"
    assert first.source == f"stock.{fmt}:{1 if fmt.startswith('json') else 2}"
    # Row 0 is available from 2025-01-01 00:00 in Berlin (UTC+1 in winter).
    assert first.available_from == datetime(2024, 12, 31, 23, 0, tzinfo=UTC)


def test_csv_line_numbers_are_physical_lines_with_multiline_cells_and_blank_lines(
    tmp_path: Path,
) -> None:
    items = read_simple(
        tmp_path,
        'a1,p,"Fly ash\nfrom silo 2",,,5,t,,\n'  # lines 2-3
        "\n"  # line 4: blank, skipped
        "a2,p,Gypsum,,,-1,t,,\n",  # line 5
    )
    offers, errors = split(items)
    assert [o.source for o in offers] == ["stock.csv:2"]
    assert offers[0].description == "Fly ash\nfrom silo 2"
    assert [(e.line, e.field) for e in errors] == [(5, "Qty")]


def test_tsv_uses_a_tab(tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER.replace(",", "\t") + "a\tp\tGypsum\t\t\t5\tt\t\t\n", "s.tsv")
    offers, errors = split(list(read_offers(path, ColumnMapping.model_validate(SIMPLE))))
    assert not errors
    assert offers[0].description == "Gypsum"
    assert offers[0].classification is not None
    assert offers[0].classification.candidates[0] == "100105"


def test_json_top_level_list_and_jsonl_with_bad_lines(tmp_path: Path) -> None:
    record = {"No": "a", "Plant": "p", "Text": "FGD gypsum", "Qty": 3, "Unit": "t"}
    cols = {k: v for k, v in SIMPLE["columns"].items() if v in record}
    m = ColumnMapping(columns=cols)
    listed = tmp_path / "s.json"
    listed.write_text(json.dumps([record, 7, {**record, "No": "b"}]))
    offers, errors = split(list(read_offers(listed, m)))
    assert [o.id for o in offers] == ["a", "b"]
    assert [(e.line, e.field) for e in errors] == [(2, ROW_FIELD)]
    lines = tmp_path / "s.jsonl"
    lines.write_text(json.dumps(record) + "\n\n{not json\n" + json.dumps({**record, "No": "c"}))
    offers, errors = split(list(read_offers(lines, m)))
    assert [o.source for o in offers] == ["s.jsonl:1", "s.jsonl:4"]
    assert [(e.line, e.field) for e in errors] == [(3, ROW_FIELD)]
    assert errors[0].reason.startswith("not JSON")


def test_xlsx_date_cells_serials_numbers_and_sheet_choice(tmp_path: Path) -> None:
    path = tmp_path / "stock.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Info"
    book.active.append(["exported by SAP"])
    sheet = book.create_sheet("Stock")
    sheet.append([None])  # a blank first row: the header is the first non-blank row
    sheet.append(list(SIMPLE["columns"].values()))
    sheet.append(
        [1001, "Board Plant", "FGD gypsum", 100105, None, 12, "t", datetime(2025, 7, 1, 8)]
    )
    sheet.append([1002.0, "Board Plant", "Fly ash", 20101, None, 3.5, "t", 45839])  # 2025-07-01
    sheet.append([None] * 9)
    sheet.append([1003, "Board Plant", "Sawdust", None, "material", "x", "t", None])
    book.save(path)
    items = list(
        read_offers(path, ColumnMapping.model_validate({**SIMPLE, **BERLIN, "sheet": "Stock"}))
    )
    offers, errors = split(items)
    assert [(o.id, o.ewc, o.quantity) for o in offers] == [
        ("1001", "100105", 12.0),
        ("1002", "020101", 3.5),
    ]
    assert offers[0].available_from == datetime(2025, 7, 1, 6, tzinfo=UTC)  # CEST
    assert offers[1].available_from == datetime(2025, 6, 30, 22, tzinfo=UTC)
    assert [(e.line, e.field) for e in errors] == [(6, "Qty")]
    with ErpExport(path, ColumnMapping.model_validate({**SIMPLE, "sheet": "Stock"})) as export:
        assert export.progress() == (2, 6)  # header read; the sheet's stored dimension
        assert sum(1 for _ in export) == 3  # the blank row 5 is skipped
        assert export.progress() == (6, 6)


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    for fmt in ("csv", "xlsx", "json"):
        path = tmp_path / f"s.{fmt}"
        write_erp_file(path, 50, fmt)
        with ErpExport(path, mapping(**({"records": "items"} if fmt == "json" else {}))) as export:
            assert export.progress()[0] <= 1 or fmt == "csv"
            assert sum(1 for _ in export) == 50
            done, total = export.progress()
            # openpyxl's write-only mode stores no sheet dimension: rows read, total unknown
            assert done == (total if fmt != "xlsx" else 51), fmt
            assert (total is None) == (fmt == "xlsx")
            assert export.rows_read == 50
            assert export.progress_unit == {"csv": "bytes", "xlsx": "rows", "json": "records"}[fmt]


# --- file-level errors -------------------------------------------------------------------------


def test_file_level_errors_raise_before_any_row(tmp_path: Path) -> None:
    m = ColumnMapping.model_validate(SIMPLE)
    with pytest.raises(ErpImportError, match="no such file"):
        read_offers(tmp_path / "missing.csv", m)
    with pytest.raises(ErpImportError, match=r"empty: no header"):
        read_offers(write_csv(tmp_path, "\n\n"), m)
    renamed = write_csv(tmp_path, HEADER.replace("Qty", "Quantity") + "a,p,x,,,1,t,,\n")
    with pytest.raises(ErpImportError) as info:
        read_offers(renamed, m)
    assert str(info.value).startswith(f"{renamed}:1: column 'Qty' (mapped to quantity) is not in")
    assert "did you mean 'Quantity'" in str(info.value)
    twice = write_csv(tmp_path, HEADER.replace("Unit", "Qty"))
    with pytest.raises(ErpImportError, match=r"'Qty' .* appears more than once"):
        read_offers(twice, m)
    with pytest.raises(ErpImportError, match="cannot tell the format"):
        read_offers(write_csv(tmp_path, HEADER, "stock.dat"), m)
    fake = write_csv(tmp_path, HEADER, "stock.xlsx")
    with pytest.raises(ErpImportError, match=r"text, not an XLSX workbook .* .format: csv."):
        read_offers(fake, m)
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ErpImportError, match="not a readable XLSX workbook"):
        read_offers(fake, m)
    obj = tmp_path / "s.json"
    obj.write_text(json.dumps({"meta": {}, "items": [], "more": []}))
    with pytest.raises(ErpImportError, match=r"set 'records' .* \(lists here: items, more\)"):
        read_offers(obj, m)
    with pytest.raises(ErpImportError, match="not JSON"):
        read_offers(write_csv(tmp_path, "{", "bad.json"), m)


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    write_erp_file(path, 3, "xlsx")
    with pytest.raises(ErpImportError, match=r"no sheet 'Stok' \(did you mean 'Stock'\?\)"):
        read_offers(path, mapping(sheet="Stok"))


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("10 01 05", "100105"),
        ("10.01.05", "100105"),
        ("100105*", "100105"),
        ("10 01 05 *", "100105"),
        ("10-01-05", "100105"),
        ("EWC 10 01 05", "100105"),
        ("  160601* ", "160601"),
        ("20101", "020101"),
        (20101, "020101"),
        (100105, "100105"),
        (100105.0, "100105"),
    ],
)
def test_ewc_codes_as_erps_write_them(written: object, code: str) -> None:
    assert normalise_ewc(written) == code


@pytest.mark.parametrize(
    "junk", ["", "1001", "10 01 05 01", "ten", "10:01:05", True, 1_000_000, 1.5]
)
def test_malformed_ewc_codes_are_rejected(junk: object) -> None:
    with pytest.raises(ValueError, match="not an EWC code"):
        normalise_ewc(junk)


EWC_CODES = sorted(catalogue().entries)


@given(
    code=st.sampled_from(EWC_CODES),
    sep=st.sampled_from(["", " ", ".", "-", "/"]),
    star=st.sampled_from(["", "*", " *"]),
    pad=st.sampled_from(["", " ", "  "]),
    prefix=st.sampled_from(["", "EWC ", "ewc:", "LoW "]),
)
def test_every_listed_code_round_trips_in_any_notation(
    code: str, sep: str, star: str, pad: str, prefix: str
) -> None:
    written = f"{pad}{prefix}{code[:2]}{sep}{code[2:4]}{sep}{code[4:]}{star}{pad}"
    assert normalise_ewc(written) == code


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=True)))
def test_ewc_normaliser_answers_six_digits_or_value_error(value: object) -> None:
    try:
        code = normalise_ewc(value)
    except ValueError:
        return
    assert re.fullmatch(r"\d{6}", code)


@pytest.mark.parametrize(
    ("written", "decimal_comma", "number"),
    [
        ("12", False, 12.0),
        ("12.5", False, 12.5),
        ("1,234.5", False, 1234.5),
        ("1 234.5", False, 1234.5),
        (" 7 ", False, 7.0),
        ("1e3", False, 1000.0),
        (3, False, 3.0),
        ("12,5", True, 12.5),
        ("1.234,5", True, 1234.5),
        ("1.234", True, 1234.0),
        ("1\u00a0234,75", True, 1234.75),
        ("-2,0", True, -2.0),
        (2.5, True, 2.5),
    ],
)
def test_quantities(written: object, decimal_comma: bool, number: float) -> None:
    assert parse_quantity(written, decimal_comma=decimal_comma) == number


@pytest.mark.parametrize(
    ("written", "decimal_comma", "expected"),
    [
        ("2,5", False, "decimal_comma: true"),  # a decimal comma is never read as 25
        ("12.5", True, "decimal comma"),
        ("abc", False, "not a number"),
        ("nan", False, "not a number"),
        ("inf", False, "not a number"),
        ("1_000", False, "not a number"),
        (float("inf"), False, "not a finite number"),
        (True, False, "not a number"),
        ("", True, "decimal comma"),
    ],
)
def test_bad_quantities(written: object, decimal_comma: bool, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_quantity(written, decimal_comma=decimal_comma)


@given(st.decimals(min_value=0, max_value=10**9, places=3))
def test_decimal_comma_round_trip(value: Any) -> None:
    grouped_point = f"{value:,.3f}"
    grouped_comma = grouped_point.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_quantity(grouped_point) == pytest.approx(float(value))
    assert parse_quantity(grouped_comma, decimal_comma=True) == pytest.approx(float(value))


def test_decimal_comma_file(tmp_path: Path) -> None:
    rows = 'a,p,Gypsum,,,"1.250,5",t,,\nb,p,Gypsum,,,"2,5",t,,\n'
    with pytest.raises(ErpImportError, match="writes quantities with a decimal comma"):
        read_simple(tmp_path, rows)  # decimal_comma not set: the file shows it, nothing read
    _, errors = split(read_simple(tmp_path, rows, decimal_comma=False))  # said: refused rows
    assert [(e.line, e.field) for e in errors] == [(2, "Qty"), (3, "Qty")]
    offers, _ = split(read_simple(tmp_path, 'a,p,Gypsum,,,"1.250,5",t,,\n', decimal_comma=True))
    assert offers[0].quantity == 1250.5


def test_naive_dates_take_the_mapping_timezone_aware_ones_keep_theirs(tmp_path: Path) -> None:
    rows = (
        "a,p,Gypsum,,,1,t,2025-01-15,2025-07-15T12:30\n"
        "b,p,Gypsum,,,1,t,2025-01-15T08:00+00:00,2025-01-16T08:00Z\n"
    )
    offers, errors = split(read_simple(tmp_path, rows, **BERLIN))
    assert not errors
    assert offers[0].available_from == datetime(2025, 1, 14, 23, tzinfo=UTC)
    assert offers[0].available_until == datetime(2025, 7, 15, 10, 30, tzinfo=UTC)
    assert offers[1].available_from == datetime(2025, 1, 15, 8, tzinfo=UTC)
    utc = split(read_simple(tmp_path, rows))[0]
    assert utc[0].available_from == datetime(2025, 1, 15, tzinfo=UTC)


def test_date_format_and_date_errors() -> None:
    berlin = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    assert parse_datetime("31.03.2025", tz=UTC, date_format="%d.%m.%Y") == datetime(
        2025, 3, 31, tzinfo=UTC
    )
    assert parse_datetime(date(2025, 3, 31), tz=berlin).utcoffset() is not None
    with pytest.raises(ValueError, match="not a date in ISO 8601"):
        parse_datetime("31.03.2025", tz=UTC)
    with pytest.raises(ValueError, match="a number, not a date"):
        parse_datetime(45000, tz=UTC)


@given(st.text(max_size=40))
def test_slugify_gives_a_slug_or_nothing(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or re.fullmatch(SLUG_PATTERN, slug)


def test_slugify_examples() -> None:
    assert slugify("Board Plant") == "board-plant"
    assert slugify("Müller Zement GmbH") == "muller-zement-gmbh"
    assert slugify("board_plant") == "board_plant"
    assert slugify("MAT-0001/A") == "mat-0001-a"


# --- classification ----------------------------------------------------------------------------


def test_rows_without_ewc_are_classified(tmp_path: Path) -> None:
    rows = (
        "a,p,Spent sulfuric acid,,,1,t,,\n"  # no kind, no code: kind and code from the text
        "b,p,Waste heat from kiln exhaust,,,2,MW,,\n"  # classified as heat: no code
        "c,p,Sawdust,,Material,3,t,,\n"  # kind given: code from the text
        "d,p,Sawdust,10 01 05,,3,t,,\n"  # code given: kept, kind material
        "e,p,Cooling water,,Heat,3,MW,,\n"  # kind other than material: not classified
        "f,p,Electricity,,,3,MW,,\n"  # not a resource: bad row
    )
    offers, errors = split(read_simple(tmp_path, rows))
    by_id = {o.id: o for o in offers}
    a = by_id["a"]
    assert (a.kind, a.ewc) == ("material", None)  # two chapters fit: a question, not a guess
    assert a.classification is not None
    assert a.classification.method == "classifier"
    assert a.classification.needs_review
    assert a.classification.language == "en"
    assert a.classification.candidates[:2] == ("060101", "100109")  # the two chapters that fit
    assert len(a.classification.candidates) == 3  # the three best, for the person asked
    assert a.classification.confidence is not None
    assert 0 < a.classification.confidence <= 1
    b = by_id["b"]
    assert (b.kind, b.ewc, b.classification and b.classification.method) == (
        "heat",
        None,
        "classifier",
    )
    assert (by_id["c"].kind, by_id["c"].ewc) == ("material", "030105")
    d = by_id["d"]
    assert (d.kind, d.ewc, d.classification and d.classification.method) == (
        "material",
        "100105",
        "erp",
    )
    assert (by_id["e"].kind, by_id["e"].ewc) == ("heat", None)
    assert [(e.line, e.field) for e in errors] == [(7, "Text")]
    assert "not a heat, steam, water, material or gas resource" in errors[0].reason


def test_offers_without_classification_still_validate() -> None:
    offer = Offer(id="a", site="p", description="x", quantity=1, unit="t", source="s:1")
    assert offer.classification is None
    assert "classification" in Offer.model_json_schema()["properties"]


# --- bad rows ----------------------------------------------------------------------------------


def test_bad_rows_name_the_source_column_and_every_problem(tmp_path: Path) -> None:
    rows = (
        "a,p,Gypsum,99 99 99,,0,tonnez,,\n"  # 2: three problems, first by field order
        "b,Bad Plant!,Gypsum,,,1,t,2025-02-01,2025-01-01\n"  # 3: window (model-level check)
        "c,p,,,,1,t,,\n"  # 4: description missing
        "d,p,Gypsum,,sludge,1,t,,\n"  # 5: unknown kind
        "e,p,Gypsum,,,1,t,soon,\n"  # 6: bad date
        "f,p,Gypsum,,,1,t,,,surplus\n"  # 7: more cells than the header
        "g,p,Gypsum,,,1,t,,\n"  # 8: fine
        "G,p,Gypsum,,,2,t,,\n"  # 9: the same id once a slug
        "a,p,Gypsum,,,1,t,,\n"  # 10: fine: line 2 was not an offer
    )
    offers, errors = split(read_simple(tmp_path, rows))
    assert [o.id for o in offers] == ["g", "a"]
    found = {e.line: e for e in errors}
    assert [p.field for p in found[2].problems] == ["EWC", "Qty", "Unit"]  # each on its own
    ewc, qty, unit = (p.reason for p in found[2].problems)
    assert ewc == "99 99 99 is not on the European List of Waste"
    assert qty.startswith("must be greater than 0")
    assert unit.startswith("'tonnez' is not a unit")
    assert (
        found[2].summary().startswith("EWC: 99 99 99 is not on the European List of Waste; Qty: ")
    )
    assert (found[3].field, found[3].reason) == (
        "Until",
        "available_until is not after available_from",
    )
    assert (found[4].field, found[4].reason) == ("Text", "required, but the cell is empty")
    assert found[5].field == "Kind"
    assert found[6].field == "From"
    assert (found[7].field, found[7].reason) == (
        ROW_FIELD,
        "10 cells, but the header has 9 columns",
    )
    assert (found[9].field, found[9].reason) == ("No", "duplicate id 'g', first on line 8")
    assert found[6].raw["From"] == "soon"
    assert json.loads(found[6].payload())["No"] == "e"


def test_bytes_not_in_the_encoding_are_a_bad_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        (HEADER + "a,p,Gips für Platten,,,1,t,,\nb,p,Gypsum,,,1,t,,\n").encode("cp1252")
    )
    told = ColumnMapping.model_validate({**SIMPLE, "encoding": "utf-8"})
    offers, errors = split(list(read_offers(path, told)))
    assert [o.id for o in offers] == ["b"]
    assert (errors[0].line, errors[0].field) == (2, "Text")
    assert "encoding" in errors[0].reason
    for fixed in (
        ColumnMapping.model_validate({**SIMPLE, "encoding": "cp1252"}),
        ColumnMapping.model_validate(SIMPLE),
    ):
        offers, errors = split(list(read_offers(path, fixed)))  # given, or detected
        assert not errors
        assert offers[0].description == "Gips für Platten"


def test_defaults_fill_missing_columns_and_empty_cells(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "Text,Qty,Unit\nGypsum,1,\nFly ash,2,t/d\n", "Stock 2025.csv")
    m = ColumnMapping.model_validate(
        {
            "columns": {"description": "Text", "quantity": "Qty", "unit": "Unit"},
            "defaults": {"site": "Board Plant", "unit": "t"},
        }
    )
    offers, errors = split(list(read_offers(path, m)))
    assert not errors
    assert [(o.id, o.site, o.unit) for o in offers] == [
        ("stock-2025-2", "board-plant", "t"),
        ("stock-2025-3", "board-plant", "t/d"),
    ]


# --- a large file ------------------------------------------------------------------------------


def test_100k_row_csv_gives_exactly_the_bad_lines_and_the_rest_as_offers(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    bad_lines = write_erp_file(path, 100_000, "csv", bad_every=997)
    started = time.perf_counter()
    offers = 0
    errors: list[RowError] = []
    for item in read_offers(path, mapping()):
        if isinstance(item, RowError):
            errors.append(item)
        else:
            offers += 1
    elapsed = time.perf_counter() - started
    assert len(bad_lines) == 100
    assert [e.line for e in errors] == bad_lines
    assert [e.field for e in errors] == [expected_bad_field(k) for k in range(100)]
    assert offers == 100_000 - 100
    assert elapsed < 15, f"reading 100k rows took {elapsed:.1f} s"


# --- CLI ---------------------------------------------------------------------------------------


def cli_files(tmp_path: Path, rows: int = 40, bad_every: int = 9) -> tuple[Path, Path, list[int]]:
    data = tmp_path / "stock.csv"
    bad = write_erp_file(data, rows, "csv", bad_every=bad_every)
    return data, write_mapping(tmp_path, MAPPING), bad


def company(tmp_path: Path) -> list[str]:
    """``--company`` and ``--park``: the sample exports' company and its sites."""
    return ["--company", "board-co", "--park", str(write_sample_park(tmp_path / "park.yaml"))]


def last_json(stdout: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def test_cli_dry_run_reports_bad_rows_and_exits_1(tmp_path: Path) -> None:
    data, mapping_path, bad = cli_files(tmp_path)
    report = tmp_path / "errors.csv"
    result = runner.invoke(
        app,
        ["import", str(data), "--mapping", str(mapping_path), "--dry-run", "--errors", str(report),
         *company(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    offers = [o for o in read_offers(data, load_mapping(mapping_path)) if isinstance(o, Offer)]
    review = [o for o in offers if o.classification and o.classification.needs_review]
    assert review  # the sample has descriptions that fit two chapters
    assert last_json(result.stdout) == {
        "file": str(data),
        "rows": 40,
        "offers": 36,
        "rejected": 4,
        "needs_review": len(review),
        "published": 0,
        "dry_run": True,
    }
    with report.open(newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    assert lines[0] == ["line", "field", "reason"]
    asked = [r for r in lines[1:] if r[2].startswith("needs review:")]
    assert sorted(int(r[0]) for r in asked) == sorted(
        int(o.source.rsplit(":", 1)[1]) for o in review
    )
    assert all(r[1] == MAPPING["columns"]["description"] for r in asked)
    assert all("EWC candidates" in r[2] for r in asked)
    assert [(int(r[0]), r[1]) for r in lines[1:] if r not in asked] == [
        (line, expected_bad_field(k)) for k, line in enumerate(bad)
    ]
    assert "to review" in result.stderr
    assert "4 bad rows" in result.stderr
    assert "tonnez" in result.stderr


def test_cli_clean_file_exits_0(tmp_path: Path) -> None:
    data, mapping_path, _ = cli_files(tmp_path, rows=10, bad_every=0)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping_path), "--dry-run", *company(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["offers"] == 10


def test_cli_file_level_errors_exit_2_naming_file_and_column(tmp_path: Path) -> None:
    data, _, _ = cli_files(tmp_path, rows=3)
    broken = write_mapping(
        tmp_path, {"columns": {**MAPPING["columns"], "quantity": "Quantity"}}, "broken.yaml"
    )
    result = runner.invoke(
        app, ["import", str(data), "-m", str(broken), "--dry-run", *company(tmp_path)]
    )
    assert result.exit_code == 2
    assert f"{data}:1: column 'Quantity' (mapped to quantity) is not in the header" in result.stderr
    assert result.stdout == ""
    result = runner.invoke(
        app, ["import", str(tmp_path / "no.csv"), "-m", str(broken), *company(tmp_path)]
    )
    assert result.exit_code == 2
    assert "no.csv: no such file" in result.stderr


def test_cli_help_explains_the_mapping_file() -> None:
    result = runner.invoke(app, ["import", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for text in ("--mapping", "--company", "--park", "--dry-run", "--json", "--encoding",
                 "--delimiter", "--errors", "--batch", "columns:", "defaults:"):  # fmt: skip
        assert text in result.stdout


class FakeFuture:
    pass


class FakePublisher:
    """Records what would go to Kafka; acknowledges everything."""

    instances: ClassVar[list[FakePublisher]] = []

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.sent: list[tuple[str, str | None, bytes]] = []
        self.waits: list[int] = []
        self.closed = False
        FakePublisher.instances.append(self)

    def send(self, topic: str, key: str | None, value: bytes) -> FakeFuture:
        self.sent.append((topic, key, value))
        return FakeFuture()

    def wait(self, futures: list[FakeFuture], timeout_s: float) -> int:
        self.waits.append(len(futures))
        return len(futures)

    def close(self) -> None:
        self.closed = True


def test_cli_publishes_offers_and_rejections_in_acknowledged_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_cmd, "open_publisher", lambda settings: FakePublisher("kafka"))
    monkeypatch.setattr(import_cmd, "check_authority", lambda url, token, company: None)
    FakePublisher.instances.clear()
    data, mapping_path, bad = cli_files(tmp_path, rows=25, bad_every=5)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping_path), "--batch", "8", *company(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    summary = last_json(result.stdout)
    assert summary["offers"] == summary["published"] == 20
    assert summary["rejected"] == 5
    (publisher,) = FakePublisher.instances
    assert publisher.closed
    offers = [v for t, _, v in publisher.sent if t == "symbiosis.offers"]
    rejected = [v for t, _, v in publisher.sent if t == "symbiosis.rejected"]
    assert len(offers) == 20
    assert max(publisher.waits) <= 8
    first = Offer.model_validate_json(offers[0])
    assert first.source == "stock.csv:2"
    rejections = [Rejection.model_validate_json(v) for v in rejected]
    assert [r.source for r in rejections] == [f"stock.csv:{line}" for line in bad]
    assert rejections[0].stage == "ingest"
    assert rejections[0].reason.startswith("Qty: ")
    assert json.loads(rejections[0].payload)["Qty"] == "-5"


# --- hostile exports ---------------------------------------------------------------------------


def test_a_json_document_over_the_cap_is_refused_naming_the_file_and_cap(tmp_path: Path) -> None:
    record = {"No": "a", "Plant": "p", "Text": "FGD gypsum", "Qty": 3, "Unit": "t"}
    m = ColumnMapping(columns={k: v for k, v in SIMPLE["columns"].items() if v in record})
    path = tmp_path / "s.json"
    path.write_text(json.dumps([record] * 200))
    assert path.stat().st_size > 2000
    with pytest.raises(ErpImportError) as info:
        read_offers(path, m, limits=ImportLimits(json_bytes=2000))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "over the 2,000 bytes cap" in message
    assert "JSON Lines (.jsonl" in message
    assert DEFAULT_LIMITS.json_bytes == 64 * 2**20
    # Under the cap it reads; the same records as JSON Lines have no document cap.
    assert len(list(read_offers(path, m, limits=ImportLimits(json_bytes=10**6)))) == 200
    lines = tmp_path / "s.jsonl"
    lines.write_text("".join(json.dumps(record | {"No": f"r{i}"}) + "\n" for i in range(200)))
    offers, errors = split(list(read_offers(lines, m, limits=ImportLimits(json_bytes=2000))))
    assert (len(offers), errors) == (200, [])


def test_a_json_stream_without_a_size_is_cut_at_the_cap(tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)  # st_size 0: only the bounded read catches it

    def write() -> None:
        with contextlib.suppress(BrokenPipeError):  # the reader stopped at the cap
            fifo.write_text("[" + "1," * 5000 + "1]")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(ErpImportError, match=r"the file is over the 1,000 bytes cap"):
        read_offers(fifo, mapping(), limits=ImportLimits(json_bytes=1000))
    writer.join(10)


def test_over_long_lines_are_bad_rows_and_reading_goes_on(tmp_path: Path) -> None:
    limits = ImportLimits(line_bytes=1000)
    long_text = "x" * 5000
    path = write_csv(tmp_path, HEADER + f"a,p,{long_text},,,1,t,,\nb,p,Gypsum,,,1,t,,\n")
    offers, errors = split(
        list(read_offers(path, ColumnMapping.model_validate(SIMPLE), limits=limits))
    )
    assert [o.source for o in offers] == ["stock.csv:3"]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (2, ROW_FIELD, "line 2 is longer than 1,000 characters")
    ]
    record = {"No": "a", "Plant": "p", "Text": long_text, "Qty": 1, "Unit": "t"}
    lines = tmp_path / "s.jsonl"
    lines.write_text(json.dumps(record) + "\n" + json.dumps(record | {"No": "b", "Text": "ash"}))
    m = ColumnMapping(columns={k: v for k, v in SIMPLE["columns"].items() if v in record})
    offers, errors = split(list(read_offers(lines, m, limits=limits)))
    assert [o.id for o in offers] == ["b"]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (1, ROW_FIELD, "line 1 is longer than 1,000 bytes")
    ]


def workbook_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "stock.xlsx"
    write_erp_file(path, 3, "xlsx")
    return path


def add_member(path: Path, name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "a", compression=method) as archive:
        archive.writestr(name, data)


def test_an_xlsx_zip_bomb_is_refused_before_openpyxl_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook_bytes(tmp_path)
    assert len(list(read_offers(path, mapping()))) == 3
    # A sheet-sized member of repeated bytes: 2 MiB deflated to about 2 KiB (1000:1).
    add_member(path, "xl/media/padding.xml", b"<c>0</c>" * (2**18))
    assert path.stat().st_size < 50_000

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a refused workbook")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ErpImportError) as info:
        read_offers(path, mapping())
    message = str(info.value)
    assert message.startswith(f"{path}: refused as a zip bomb: member 'xl/media/padding.xml'")
    assert "(the cap is 200:1)" in message
    # Over the total cap, whatever the ratio.
    with pytest.raises(ErpImportError, match=r"would inflate to 2 MiB, over the 1 MiB cap"):
        read_offers(path, mapping(), limits=ImportLimits(xlsx_uncompressed_bytes=2**20,
                                                         xlsx_ratio=10**6))  # fmt: skip


def test_an_xlsx_member_compressed_other_than_by_deflate_is_refused(tmp_path: Path) -> None:
    path = workbook_bytes(tmp_path)
    add_member(path, "xl/media/x.bin", b"0" * 100, zipfile.ZIP_BZIP2)
    with pytest.raises(ErpImportError, match=r"member 'xl/media/x.bin' uses compression method 12"):
        read_offers(path, mapping())


def test_invalid_utf8_in_one_row_rejects_that_row_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(
        HEADER.encode()
        + b"a,p,Gypsum,,,1,t,,\n"
        + b"b,p,Gips f\xc3\x28r Platten,,,1,t,,\n"  # 3: an invalid two-byte sequence
        + b"c,p,Gypsum,,,1,t,,\xff\n"  # 4: in the last column
        + b"d,p,Ash \xef\xbf\xbd,,,2,t,,\n"  # 5: a real U+FFFD is text, not a bad byte
    )
    utf8 = ColumnMapping.model_validate({**SIMPLE, "encoding": "utf-8"})  # else: cp1252
    offers, errors = split(list(read_offers(path, utf8)))
    assert [o.id for o in offers] == ["a", "d"]
    assert offers[1].description == "Ash \ufffd"
    assert [(e.line, e.field) for e in errors] == [(3, "Text"), (4, "Until")]
    assert errors[0].reason == (
        "not valid utf-8: byte 0xC3 in \"Gips f\\xc3(r Platten\"; set --encoding or 'encoding' in "
        "the mapping (e.g. cp1252)"
    )
    assert errors[1].reason.startswith('not valid utf-8: byte 0xFF in "\\xff"')
    assert errors[0].raw["Text"] == "Gips f\\xc3(r Platten"  # the bytes shown, not replaced
    assert json.loads(errors[0].payload())["Text"] == "Gips f\\xc3(r Platten"


def test_invalid_bytes_in_the_header_or_a_json_lines_record(tmp_path: Path) -> None:
    header = tmp_path / "h.csv"
    header.write_bytes(HEADER.encode().replace(b"Text", b"T\xe4xt") + b"a,p,x,,,1,t,,\n")
    utf8 = {**SIMPLE, "encoding": "utf-8"}  # told UTF-8 (otherwise: detected as cp1252)
    with pytest.raises(ErpImportError) as info:
        read_offers(header, ColumnMapping.model_validate(utf8))
    assert str(info.value) == (
        f'{header}:1: the header is not valid utf-8: byte 0xE4 in "T\\xe4xt"; set --encoding '
        "or 'encoding' in the mapping (e.g. cp1252)"
    )
    with pytest.raises(ErpImportError, match=r"column 'Text' .* \(did you mean 'Täxt'\?\)"):
        read_offers(header, ColumnMapping.model_validate(SIMPLE))
    lines = tmp_path / "s.jsonl"
    lines.write_bytes(
        b'{"No": "a", "Plant": "p", "Text": "Gips f\xfcr", "Qty": 1, "Unit": "t"}\n'
        b"{not json \xfc\n"
        b'{"No": "b", "Plant": "p", "Text": "Gypsum", "Qty": 1, "Unit": "t"}\n'
    )
    keys = {"No", "Plant", "Text", "Qty", "Unit"}
    m = ColumnMapping(
        columns={k: v for k, v in SIMPLE["columns"].items() if v in keys}, encoding="utf-8"
    )
    offers, errors = split(list(read_offers(lines, m)))
    assert [o.id for o in offers] == ["b"]
    assert [(e.line, e.field) for e in errors] == [(1, "Text"), (2, ROW_FIELD)]
    assert all(e.reason.startswith("not valid utf-8: byte 0xFC") for e in errors)
    assert errors[0].raw["Text"] == "Gips f\\xfcr"


def test_a_utf16_export_still_reads_and_its_bad_sequences_are_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "u.tsv"
    good = (HEADER + "a,p,Gips für,,,1,t,,\n").replace(",", "\t").encode("utf-16-le")
    bad = "b\tp\tx".encode("utf-16-le") + b"\x00\xd8" + "\t\t\t1\tt\t\t\n".encode("utf-16-le")
    path.write_bytes(good + bad + "c\tp\tAsh\t\t\t1\tt\t\t\n".encode("utf-16-le"))
    m = ColumnMapping.model_validate({**SIMPLE, "encoding": "utf-16-le"})
    offers, errors = split(list(read_offers(path, m)))
    assert [o.description for o in offers] == ["Gips für", "Ash"]
    assert [(e.line, e.field) for e in errors] == [(3, "Text")]
    assert errors[0].reason.startswith("not valid utf-16-le: byte 0x00")


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-5 is not", "'-5 is not"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Qty", "Qty"),
        ("'-5' is not a number", "'-5' is not a number"),
        ("", ""),
    ],
)
def test_report_cells_are_formula_neutralised(cell: str, written: str) -> None:
    assert import_cmd.neutralised(cell) == written


def test_cli_errors_report_does_not_carry_formulas(tmp_path: Path) -> None:
    hostile = {"id": "=cmd|' /C calc'!A0", "site": "@Plant", "description": "+Text",
               "quantity": "-Qty", "unit": "Unit"}  # fmt: skip
    data = write_csv(
        tmp_path,
        ",".join(f'"{c}"' for c in hostile.values()) + "\n"
        "a,p,Gypsum,0,t\n"  # 2: quantity not > 0 -> field -Qty
        "b,p,,1,t\n"  # 3: description empty -> field +Text
        "c,p,Gypsum,1,t\n"  # 4: fine
        "=1+1,p,Gypsum,1,t,extra\n",  # 5: a row-level problem
    )
    mapping_path = write_mapping(tmp_path, {"columns": hostile})
    report = tmp_path / "errors.csv"
    park = {"park": "p", "sites": [{"id": "p", "name": "p", "company": "c", "lat": 1, "lon": 1}]}
    park_path = write_mapping(tmp_path, park, "park.yaml")
    result = runner.invoke(
        app,
        ["import", str(data), "-m", str(mapping_path), "--dry-run", "--errors", str(report),
         "--company", "c", "--park", str(park_path)],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [r if not r[2].startswith("needs review:") else r[:2] for r in rows[1:]] == [
        ["2", "'-Qty", "must be greater than 0 (got 0.0)"],
        ["3", "'+Text", "required, but the cell is empty"],
        ["4", "'+Text"],  # Gypsum: FGD (10 01 05) or construction (17 08 02)? a question
        ["5", "(row)", "6 cells, but the header has 5 columns"],
    ]
    assert not any(cell.startswith(import_cmd.FORMULA_STARTS) for row in rows for cell in row)


def test_values_does_not_import_mapping() -> None:
    """The mapping imports the normalisers; they take a protocol, not the mapping (no cycle)."""
    tree = ast.parse((ROOT / "ingest" / "erp" / "values.py").read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "ingest.erp.mapping" not in imported
    assert normalised_defaults(mapping(defaults={"unit": "t", "site": "Board Plant"})) == {
        "unit": "t",
        "site": "board-plant",
    }


def test_a_description_too_long_for_an_offer_is_refused_before_it_is_classified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.erp import convert

    read: list[str] = []
    real = convert._classify

    def spy(description: str, unit: str | None) -> Any:
        read.append(description)
        return real(description, unit)

    monkeypatch.setattr(convert, "_classify", spy)
    long_text = "fly ash from the boiler " * 40  # 960 characters, over the offer's 500
    offers, errors = split(read_simple(tmp_path, f"a,p,{long_text},,,1,t,,\nb,p,Gypsum,,,1,t,,\n"))
    assert [o.id for o in offers] == ["b"]
    assert [(e.line, [p.field for p in e.problems]) for e in errors] == [(2, ["Text"])]
    assert "at most 500 characters" in errors[0].problems[0].reason
    assert read == ["Gypsum"]  # the long one was never read by the classifier
