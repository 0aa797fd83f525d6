"""ERP import of files shaped like real SAP, Excel, Oracle and Dynamics exports.

Each test holds a shape a probe of real exports found misread or refused: decimal commas after
a leading zero, German files without ``decimal_comma``, GBK and cp1252 files taken for UTF-8
or cp1250, totals rows, title lines above the header, SAP's empty dates, unit codes, trailing
minus, BOMs, ``.xls`` files, no-break spaces in headers. No Kafka: ``--dry-run`` and ``--park``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from domain.errors import ErpImportError
from ingest.erp import ColumnMapping, ErpExport, ImportLimits, RowError, parse_quantity
from ingest.erp.dialect import detect_encoding
from schemas.offers import Offer
from symbiosis.cli import app

runner = CliRunner()

GERMAN_COLUMNS = {
    "id": "Materialnr.",
    "site": "Werk",
    "description": "Bezeichnung",
    "ewc": "AVV",
    "quantity": "Menge",
    "unit": "Einheit",
}
GERMAN_HEADER = "Materialnr.;Werk;Bezeichnung;AVV;Menge;Einheit\r\n"
SAP_ROWS = [
    ["", "Material", "Werk", "Materialkurztext", "Abfallschl.", "Frei verwendbar", "BME", "Ab"],
    ["", "100001", "Board Plant", "REA-Gips", "10 01 05", "1.234,500", "TO", "05.12.2026"],
    ["", "100002", "Board Plant", "Flugasche", "10 01 02", "12,500", "t", "06.12.2026"],
    ["", "100003", "Board Plant", "Holzhackschnitzel", "03 01 05", "0,750", "t", "00.00.0000"],
    ["", "100004", "Board Plant", "Schrott Drehspäne", "12 01 01", "1.234,500-", "t", ""],
    ["", "100005", "Board Plant", "Altpapier Ballen", "15 01 01", "850,000", "KG", ""],
    ["*", "", "", "", "", "3.331,250", "", ""],
]
SAP_MAPPING: dict[str, Any] = {
    "decimal_comma": True,
    "date_format": "%d.%m.%Y",
    "timezone": "Europe/Berlin",
    "columns": {
        "id": "Material",
        "site": "Werk",
        "description": "Materialkurztext",
        "ewc": "Abfallschl.",
        "quantity": "Frei verwendbar",
        "unit": "BME",
        "available_from": "Ab",
    },
}


def read(path: Path, data: dict[str, Any], **options: Any) -> list[Offer | RowError]:
    with ErpExport(path, ColumnMapping.model_validate(data), **options) as export:
        return list(export)


def split(items: list[Offer | RowError]) -> tuple[list[Offer], list[RowError]]:
    return [i for i in items if isinstance(i, Offer)], [i for i in items if isinstance(i, RowError)]


def german(tmp_path: Path, rows: str, encoding: str = "cp1252") -> Path:
    path = tmp_path / "bestand.csv"
    path.write_bytes((GERMAN_HEADER + rows).encode(encoding))
    return path


def cli(tmp_path: Path, data: Path, mapping: dict[str, Any], *extra: str) -> Any:
    sites = [
        {"id": s, "name": s, "company": "board-co", "lat": 55.6, "lon": 11.1}
        for s in ("board-plant", "sawmill-north")
    ]
    park = tmp_path / "park.yaml"
    park.write_text(yaml.safe_dump({"park": "p", "sites": sites}), encoding="utf-8")
    m = tmp_path / "mapping.yaml"
    m.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    args = ["import", str(data), "-m", str(m), "--company", "board-co", "--park", str(park)]
    return runner.invoke(app, [*args, "--dry-run", "--json", *extra])


# --- 1. a group separator never follows a leading zero ---------------------------------------


@pytest.mark.parametrize(
    ("written", "decimal_comma", "why"),
    [
        ("0,750", False, r"decimal comma \(0,750 is 0\.750\), not 0750; set 'decimal_comma"),
        ("00,500", False, "never follows a leading 0"),
        ("0.750", True, "so this is a decimal point; .* remove 'decimal_comma: true'"),
        ("00.500", True, "never follows a leading 0"),
        ("0 750", False, "digit groups never follow a leading 0"),
        ("0'750", False, "digit groups never follow a leading 0"),
        ("12 34", False, "not a number"),  # groups are of three digits
        ("1,234 567", False, "not a number"),  # one kind of separator in a number
        ("1.234.5", False, "not a number"),
    ],
)
def test_a_separator_after_a_leading_zero_is_never_thousands(
    written: str, decimal_comma: bool, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        parse_quantity(written, decimal_comma=decimal_comma)


@pytest.mark.parametrize(
    ("written", "decimal_comma", "number"),
    [
        ("0,750", True, 0.75),
        ("00,500", True, 0.5),
        ("0.750", False, 0.75),
        ("1,234", False, 1234.0),  # right only if the file writes a decimal point
        ("1,234", True, 1.234),  # right only if the file writes a decimal comma
        ("1.234.567,5", True, 1234567.5),
        ("1\u202f234,5", True, 1234.5),
        ("1'234.5", False, 1234.5),
        ("1.234,500-", True, -1234.5),  # SAP's trailing minus
        ("12-", False, -12.0),
    ],
)
def test_quantity_notations(written: str, decimal_comma: bool, number: float) -> None:
    assert parse_quantity(written, decimal_comma=decimal_comma) == number


def test_a_trailing_minus_is_refused_by_the_sign_rule_not_as_not_a_number(tmp_path: Path) -> None:
    path = german(tmp_path, "M-1;Board Plant;Schrott;12 01 01;1.234,500-;t\r\n")
    _, errors = split(read(path, {"columns": GERMAN_COLUMNS, "decimal_comma": True}))
    assert [(e.field, e.reason) for e in errors] == [
        ("Menge", "must be greater than 0 (got -1234.5)")
    ]


# --- 2. encoding: decided on the whole sample ---------------------------------------------------

CHINESE = "".join(
    f"C-{i:03d},Board Plant,{text},{10 + i},t\r\n"
    for i, text in enumerate(["\u7c89\u7164\u7070", "\u7089\u6e23", "\u6728\u5c51", "\u6c61\u6ce5"])
)  # fly ash, slag, sawdust (valid UTF-8 as GBK bytes), sludge
RUSSIAN = "N;\u041e\u043f\u0438\u0441\u0430\u043d\u0438\u0435\n1;\u0417\u043e\u043b\u0430\n"
FRENCH = (
    "Article;Site;D\u00e9signation;Quantit\u00e9;Unit\u00e9\r\n"
    "A-001;Board Plant;M\u00e2chefer \u00e0 maturer;1 234,5;t\r\n"
    "A-002;Board Plant;Copeaux de h\u00eatre, \u00e9corces;35,5;t\r\n"
    "A-003;Board Plant;D\u00e9chets de bois trait\u00e9s \u00e0 la cr\u00e9osote;2;t\r\n"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (("Material,Plant,Description,Qty,UoM\r\n" + CHINESE).encode("gbk"), "gb18030"),
        ("a,\u6728\u5c51,\u7c89\u7164\u7070\n".encode("gbk"), "gb18030"),
        (FRENCH.encode("cp1252"), "cp1252"),  # not cp1250: a would be r-acute
        ("Nr;Opis\n1;Dřevěné štěpky, řízené\n".encode("cp1250"), "cp1250"),
        (RUSSIAN.encode("cp1251"), "cp1251"),
        (
            "No,\u54c1\u540d\n1,\u77f3\u3053\u3046\u30dc\u30fc\u30c9\u304f\u305a\n".encode("cp932"),
            "cp932",
        ),
    ],
)
def test_legacy_encodings_are_told_apart_by_the_whole_sample(data: bytes, expected: str) -> None:
    assert detect_encoding(data) == expected


def test_a_gbk_export_reads_its_chinese_not_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(("Material,Plant,Description,Qty,UoM\r\n" + CHINESE).encode("gbk"))
    columns = {"id": "Material", "site": "Plant", "description": "Description"}
    data = {
        "columns": {**columns, "quantity": "Qty", "unit": "UoM"},
        "defaults": {"kind": "material"},
    }
    items = read(path, data)
    assert [i.raw["Description"] for i in items if isinstance(i, RowError)] == []
    texts = [i.description for i in items if isinstance(i, Offer)]
    assert texts == ["\u7c89\u7164\u7070", "\u7089\u6e23", "\u6728\u5c51", "\u6c61\u6ce5"]


def test_bytes_that_look_like_gbk_suggest_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(("Material,Plant,Description,Qty,UoM\r\n" + CHINESE).encode("gbk"))
    data = {
        "encoding": "utf-8",
        "columns": {"id": "Material", "site": "Plant", "description": "Description",
                    "quantity": "Qty", "unit": "UoM"},
    }  # fmt: skip
    _, errors = split(read(path, data))
    reasons = [e.reason for e in errors if e.field == "Description"]
    assert len(reasons) == 3  # the fourth, sawdust, is valid UTF-8 by chance
    assert all(r.endswith("in the mapping (e.g. gb18030)") for r in reasons), reasons


def test_bytes_past_the_sample_name_the_encoding_used_and_the_likely_one(tmp_path: Path) -> None:
    rows = "".join(f"M-{i};Board Plant;Gips;10 01 05;1,5;t\r\n" for i in range(50))
    path = german(tmp_path, rows, "ascii")
    with path.open("ab") as f:
        f.write("M-9;Board Plant;Gießereialtsand;10 09 08;2;t\r\n".encode("cp1252"))
    data = {"columns": GERMAN_COLUMNS, "decimal_comma": True}
    _, errors = split(read(path, data, limits=ImportLimits(sniff_bytes=1024)))
    assert [(e.line, e.field) for e in errors] == [(52, "Bezeichnung")]
    assert errors[0].reason.startswith(
        "not valid utf-8 (detected from the file's first 1,024 bytes): byte 0xDF"
    )
    assert errors[0].reason.endswith("(e.g. cp1252)")


def test_the_encoding_is_said_before_a_header_error(tmp_path: Path) -> None:
    path = german(tmp_path, "M-1;Board Plant;Holzspäne;10 01 05;1,5;t\r\n")
    broken = {"columns": {**GERMAN_COLUMNS, "quantity": "Bestand"}, "decimal_comma": True}
    result = cli(tmp_path, path, broken)
    assert result.exit_code == 2
    said, error = result.stderr.splitlines()[:2]
    assert said.startswith("bestand.csv: encoding cp1252 (detected")
    assert "column 'Bestand' (mapped to quantity) is not in the header" in error


def test_a_utf8_bom_is_skipped_when_the_mapping_says_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bestand.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (GERMAN_HEADER + "M-1;Board Plant;Gips;;1;t\r\n").encode())
    offers, errors = split(read(path, {"columns": GERMAN_COLUMNS, "encoding": "utf-8"}))
    assert [o.id for o in offers] == ["m-1"]
    assert not errors


# --- 3. a decimal-comma file without decimal_comma ----------------------------------------------

C3_ROWS = (
    "M-001;Board Plant;REA-Gips;10 01 05;1.500;t\r\n"
    "M-002;Board Plant;Flugasche;10 01 02;12.000;t\r\n"
    "M-003;Board Plant;Holzspäne;03 01 05;850;t\r\n"
    "M-004;Board Plant;Glasbruch;19 12 05;12,500;t\r\n"
    "M-005;Board Plant;Kalkschlamm;03 03 09;0,750;t\r\n"
)


def test_quantities_showing_a_decimal_comma_stop_an_import_without_decimal_comma(
    tmp_path: Path,
) -> None:
    path = german(tmp_path, C3_ROWS)
    with pytest.raises(ErpImportError) as info:
        read(path, {"columns": GERMAN_COLUMNS})
    assert str(info.value).startswith(
        f"{path}:6: column 'Menge' writes quantities with a decimal comma ('0,750'), but the "
        "mapping does not set decimal_comma, so they would be read with a decimal point "
        "('1.500' on line 2 would be read as 1.5, not 1500); set 'decimal_comma: true'"
    )
    offers, _ = split(read(path, {"columns": GERMAN_COLUMNS, "decimal_comma": True}))
    assert [o.quantity for o in offers] == [1500, 12000, 850, 12.5, 0.75]


def test_ambiguous_quantities_in_a_semicolon_file_stop_until_the_mapping_says(
    tmp_path: Path,
) -> None:
    path = german(tmp_path, C3_ROWS.split("M-004")[0])  # only 1.500, 12.000 and 850
    with pytest.raises(ErpImportError, match=r":2: column 'Menge' .* '1\.500', 1\.5 .* say which"):
        read(path, {"columns": GERMAN_COLUMNS})
    offers, _ = split(read(path, {"columns": GERMAN_COLUMNS, "decimal_comma": False}))
    assert [o.quantity for o in offers] == [1.5, 12.0, 850]  # said: read as written


def test_a_stated_notation_the_file_contradicts_refuses_its_ambiguous_rows(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "No,Plant,Text,EWC,Qty,Unit\n"
        'M-1,Board Plant,FGD gypsum,10 01 05,"1,234",t\n'
        "M-2,Board Plant,Fly ash,10 01 02,0.750,t\n"
        "M-3,Board Plant,Glass,19 12 05,850,t\n"
    )
    columns = {"id": "No", "site": "Plant", "description": "Text", "ewc": "EWC",
               "quantity": "Qty", "unit": "Unit"}  # fmt: skip
    offers, errors = split(read(path, {"columns": columns, "decimal_comma": True}))
    assert [o.quantity for o in offers] == [850]
    assert errors[0].reason.startswith(
        "'1,234' is ambiguous: 1234 with a decimal point, 1.234 with a decimal comma, and the "
        "file writes a decimal point ('0.750' on line 3)"
    )
    assert "remove 'decimal_comma: true'" in errors[1].reason


def test_evidence_past_the_first_rows_refuses_the_ambiguous_rows_after_it(tmp_path: Path) -> None:
    rows = "".join(f"G-{i};Board Plant;Gips;10 01 05;850;t\r\n" for i in range(40))
    path = german(tmp_path, rows + "M-2;Board Plant;Gips;10 01 05;2,5;t\r\n" + C3_ROWS)
    m = {"columns": GERMAN_COLUMNS, "decimal_comma": False, "encoding": "cp1252"}
    offers, errors = split(read(path, m, limits=ImportLimits(sniff_bytes=256)))
    assert [(e.line, e.reason.split(":")[0]) for e in errors] == [
        (42, "'2,5' is not a number; if the export writes 2,5 for 2.5, set 'decimal_comma"),
        (43, "'1.500' is ambiguous"),
        (44, "'12.000' is ambiguous"),
        (46, "'12,500' is ambiguous"),
        (47, "'0,750' is not a number"),
    ]
    assert len(offers) == 41  # 40 x 850, and 850 on line 45


def test_cli_stops_before_publishing_a_misread_decimal_comma_file(tmp_path: Path) -> None:
    result = cli(tmp_path, german(tmp_path, C3_ROWS), {"columns": GERMAN_COLUMNS})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "set 'decimal_comma: true' in the mapping" in result.stderr


# --- 4. totals rows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "decimal_comma"),
    [
        ("Bezeichnung;AVV;Menge;Einheit\r\nREA-Gips;10 01 05;1.500;t\r\nSumme;;1.500;t\r\n",
         "cp1252", True),
        ("\u7269\u6599\u63cf\u8ff0,EWC,Qty,Unit\n\u8131\u786b\u77f3\u818f,10 01 05,1200,t\n"
         "\u5408\u8ba1,,1200,t\n", "gbk", False),
        ("Bezeichnung;AVV;Menge;Einheit\r\nREA-Gips;10 01 05;1,5;t\r\nTotal:;;1,5;t\r\n",
         "cp1252", True),
    ],
)  # fmt: skip
def test_a_totals_row_is_refused_even_when_defaults_fill_site_and_kind(
    tmp_path: Path, text: str, encoding: str, decimal_comma: bool
) -> None:
    path = tmp_path / "bestand.csv"
    path.write_bytes(text.encode(encoding))
    header = text.splitlines()[0].replace(";", ",").split(",")
    data = {
        "decimal_comma": decimal_comma,
        "columns": dict(zip(("description", "ewc", "quantity", "unit"), header, strict=True)),
        "defaults": {"site": "board-plant", "kind": "material"},
    }
    offers, errors = split(read(path, data))
    assert len(offers) == 1
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (3, header[0], "a totals row, not an offer")
    ]


def test_a_row_that_names_itself_is_no_totals_row(tmp_path: Path) -> None:
    path = german(tmp_path, "T-1;Board Plant;Total;10 01 05;1;t\r\n;;Summe;;3;t\r\n")
    offers, errors = split(read(path, {"columns": GERMAN_COLUMNS, "decimal_comma": True}))
    assert [o.description for o in offers] == ["Total"]  # it has an id, a site, a code
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (3, "Bezeichnung", "a totals row, not an offer")
    ]


# --- 5. title lines, SAP's unconverted list format, header_row ---------------------------------


def test_sap_list_export_with_title_lines_finds_its_header(tmp_path: Path) -> None:
    title = "05.12.2026     Bestandsliste Reststoffe     1\r\n\r\nWerk 1000\r\n\r\n"
    path = tmp_path / "bestand.txt"
    path.write_bytes((title + "".join("\t".join(r) + "\r\n" for r in SAP_ROWS)).encode("cp1252"))
    offers, errors = split(read(path, SAP_MAPPING))
    assert [(o.source, o.quantity, o.unit) for o in offers] == [
        ("bestand.txt:6", 1234.5, "t"),  # SAP's TO
        ("bestand.txt:7", 12.5, "t"),
        ("bestand.txt:8", 0.75, "t"),
        ("bestand.txt:10", 850, "kg"),  # SAP's KG
    ]
    assert offers[2].available_from is None  # 00.00.0000: no date
    assert [(e.line, e.reason) for e in errors] == [
        (9, "must be greater than 0 (got -1234.5)"),
        (11, "a totals row, not an offer"),
    ]


def test_sap_unconverted_list_with_pipes_and_ruler_lines(tmp_path: Path) -> None:
    ruler = "-" * 60 + "\r\n"
    text = (
        "05.12.2026       Bestandsliste\r\n" + ruler
        + "|Material|Werk       |Materialkurztext|Abfallschl.|Frei verwendbar|BME|Ab|\r\n" + ruler
        + "|100001  |Board Plant|REA-Gips        |10 01 05   |      1.234,500|t  |  |\r\n"
        + "|100002  |Board Plant|Flugasche       |10 01 02   |         12,500|t  |  |\r\n" + ruler
    )  # fmt: skip
    path = tmp_path / "bestand.txt"
    path.write_bytes(text.encode("cp1252"))
    offers, errors = split(read(path, SAP_MAPPING))
    assert [(o.id, o.quantity, o.source) for o in offers] == [
        ("100001", 1234.5, "bestand.txt:5"),
        ("100002", 12.5, "bestand.txt:6"),
    ]
    assert not errors


def test_a_header_not_found_names_the_line_and_hints_at_title_lines(tmp_path: Path) -> None:
    path = german(tmp_path, "M-1;Board Plant;Gips;10 01 05;1,5;t\r\n")
    m = {"columns": {**GERMAN_COLUMNS, "quantity": "Bestand"}, "decimal_comma": True}
    with pytest.raises(ErpImportError) as info:
        read(path, m)
    assert str(info.value).startswith(f"{path}:1: column 'Bestand' (mapped to quantity) is not")
    assert "no line among the first 50 holds every mapped column" in str(info.value)
    assert "set header_row to the header's line" in str(info.value)
    titled = tmp_path / "titled.csv"
    titled.write_text(
        "Bestand 2026;;\r\nMenge;x\r\n" + GERMAN_HEADER + "M-1;Board Plant;Gips;;1;t\r\n"
    )
    offers, _ = split(read(titled, {"columns": GERMAN_COLUMNS, "header_row": 3}))
    assert [o.source for o in offers] == ["titled.csv:4"]
    with pytest.raises(ErpImportError, match=r":2: column 'Materialnr.' .* header is line 2"):
        read(titled, {"columns": GERMAN_COLUMNS, "header_row": 2})


def test_an_xlsx_report_with_title_rows_finds_its_header(tmp_path: Path) -> None:
    path = tmp_path / "stock.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Bestandsliste Reststoffe - Stichtag 05.12.2026"])
    sheet.append([None])
    sheet.append(["Materialnr.", "Werk", "Bezeichnung", "AVV", "Menge\u00a0", "Einheit"])
    sheet.append(["M-1", "Board Plant", "REA-Gips", "10 01 05", 1234.5, "TO"])
    book.save(path)
    offers, errors = split(read(path, {"columns": GERMAN_COLUMNS}))
    assert [(o.source, o.quantity, o.unit) for o in offers] == [("stock.xlsx:4", 1234.5, "t")]
    assert not errors


# --- 6. empty dates, 7. unit codes, 11. spaces in headers --------------------------------------


@pytest.mark.parametrize(
    "cell", ["00.00.0000", "0000-00-00", "00000000", "1900-01-01T00:00:00Z", "1900-01-01"]
)
def test_erp_empty_dates_are_no_date(cell: str) -> None:
    from ingest.erp.values import is_no_date

    assert is_no_date(cell)


def test_empty_dates_leave_the_offer_without_a_date(tmp_path: Path) -> None:
    path = tmp_path / "onhand.csv"
    path.write_text(
        '\ufeff"ITEM","SITE","NAME","EWC","QTY","UNIT","FROM"\r\n'
        '"M-1","Board Plant","FGD gypsum","10 01 05","1234.5","t","2026-12-05T00:00:00Z"\r\n'
        '"M-2","Board Plant","Fly ash","10 01 02","320.0","t","1900-01-01T00:00:00Z"\r\n'
        '"M-3","Board Plant","Fly ash","10 01 02","320.0","t","1900-01-01T08:00:00Z"\r\n',
        encoding="utf-8",
    )
    columns = {"id": "ITEM", "site": "SITE", "description": "NAME", "ewc": "EWC",
               "quantity": "QTY", "unit": "UNIT", "available_from": "FROM"}  # fmt: skip
    offers, errors = split(read(path, {"columns": columns}))
    assert [(o.id, o.available_from is None) for o in offers] == [
        ("m-1", False),
        ("m-2", True),
        ("m-3", False),  # a time of day: a real date, if an odd one
    ]
    assert not errors


def test_unit_codes_translate_by_the_mapping_then_the_sap_iso_table() -> None:
    from ingest.erp.values import parse_unit_code

    assert parse_unit_code("TO") == "t"
    assert parse_unit_code("KGM") == "kg"
    assert parse_unit_code("KG") == "kg"  # never "did you mean kg/s" for a stock
    assert parse_unit_code("TONNE", {"TONNE": "t"}) == "t"
    with pytest.raises(ValueError, match=r"say which unit it is in the mapping \(units: \{ZZ:"):
        parse_unit_code("ZZ")
    with pytest.raises(ValueError, match="units"):
        ColumnMapping.model_validate({"columns": GERMAN_COLUMNS, "units": {"ZZ": "pieces"}})


def test_a_no_break_space_in_a_header_matches_a_plain_space(tmp_path: Path) -> None:
    path = tmp_path / "nb.csv"
    path.write_bytes(
        "Material;Werk;Text;Menge\u00a0[t];BME\r\nM-1;Board Plant;Gips;1,5;t\r\n".encode("cp1252")
    )
    columns = {"id": "Material", "site": "Werk", "description": "Text",
               "quantity": "Menge  [t]", "unit": "BME"}  # fmt: skip
    offers, _ = split(read(path, {"columns": columns, "decimal_comma": True}))
    assert [o.quantity for o in offers] == [1.5]


# --- 10. .xls files -----------------------------------------------------------------------------


def test_a_legacy_xls_is_refused_plainly_and_a_text_xls_is_read_as_csv(tmp_path: Path) -> None:
    biff = tmp_path / "stock.xls"
    biff.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504)
    with pytest.raises(ErpImportError, match=r"legacy Excel workbook \(.xls, BIFF\), which is not"):
        read(biff, SAP_MAPPING)
    renamed = tmp_path / "stock.xlsx"
    renamed.write_bytes(biff.read_bytes())
    with pytest.raises(ErpImportError, match=r"save it as \.xlsx or CSV"):
        read(renamed, SAP_MAPPING)
    text = tmp_path / "EXPORT.XLS"
    text.write_bytes("".join("\t".join(r) + "\r\n" for r in SAP_ROWS).encode("cp1252"))
    with ErpExport(text, ColumnMapping.model_validate(SAP_MAPPING)) as export:
        items = list(export)
        assert export.format == "csv"
        assert export.format_note is not None
        assert "tab-separated" in export.format_note
    assert len(split(items)[0]) == 4


def test_cli_says_a_text_xls_is_read_as_csv(tmp_path: Path) -> None:
    text = tmp_path / "EXPORT.XLS"
    text.write_bytes("".join("\t".join(r) + "\r\n" for r in SAP_ROWS[:3]).encode("cp1252"))
    sap = {**SAP_MAPPING, "columns": {**SAP_MAPPING["columns"]}}
    result = cli(tmp_path, text, sap)
    assert result.exit_code == 0, result.output
    assert "EXPORT.XLS: a .xls file that is text, read as CSV" in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["offers"] == 2
