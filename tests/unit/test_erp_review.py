"""ERP import: the shapes a review of the real-export rework found silently misread.

Zero-padded quantities read as thousands, subtotal rows of SAP ALV lists and Excel's Data >
Subtotal published as offers, decimal-comma evidence past the first rows, files whose every
quantity is ambiguous, UTF-8 files with few umlauts and a stray byte, code pages guessed
silently, unit codes pint misreads (SAP's ``ML``), and loose mapping keys. No Kafka.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.errors import ErpImportError
from ingest.erp import ColumnMapping, ErpExport, RowError, parse_quantity
from ingest.erp.dialect import UnclearEncodingError, detect_encoding
from ingest.erp.mapping import load_mapping
from ingest.erp.notation import LOOKAHEAD_ROWS, evidence
from ingest.erp.values import parse_unit_code
from schemas.offers import Offer

TOTALS = "a totals row, not an offer"
SAP_COLUMNS = {
    "id": "Material",
    "site": "Werk",
    "description": "Materialkurztext",
    "ewc": "Abfallschl.",
    "quantity": "Menge",
    "unit": "BME",
}
SAP_HEADER = "Material\tWerk\tMaterialkurztext\tAbfallschl.\tMenge\tBME\n"


def read(path: Path, data: dict[str, Any]) -> tuple[list[Offer], list[RowError]]:
    with ErpExport(path, ColumnMapping.model_validate(data)) as export:
        items = list(export)
    return [i for i in items if isinstance(i, Offer)], [i for i in items if isinstance(i, RowError)]


def sap_list(tmp_path: Path, quantities: list[str]) -> Path:
    path = tmp_path / "bestand.txt"
    rows = "".join(
        f"{100001 + i}\tBoard Plant\tREA-Gips\t10 01 05\t{q}\tt\n" for i, q in enumerate(quantities)
    )
    path.write_text(SAP_HEADER + rows, encoding="utf-8")
    return path


# --- 1. zero-padded quantities are decimals, never thousands -------------------------------------


@pytest.mark.parametrize(
    ("written", "decimal_comma"),
    [("012,500", False), ("001,250", False), ("012.500", True), ("012 500", True)],
)
def test_a_zero_padded_first_group_is_never_thousands(written: str, decimal_comma: bool) -> None:
    with pytest.raises(ValueError, match="never follow"):
        parse_quantity(written, decimal_comma=decimal_comma)


def test_zero_padded_quantities_read_as_decimals_and_are_evidence() -> None:
    assert parse_quantity("012,500", decimal_comma=True) == 12.5
    assert parse_quantity("012.500") == 12.5
    assert evidence("012,500") == "comma"
    assert evidence("001.250") == "point"


def test_a_zero_padded_tsv_without_decimal_comma_stops(tmp_path: Path) -> None:
    path = sap_list(tmp_path, ["012,500", "001,250"])
    with pytest.raises(ErpImportError, match=r"bestand.txt:2: .*decimal comma \('012,500'\)"):
        read(path, {"columns": SAP_COLUMNS})
    offers, _ = read(path, {"columns": SAP_COLUMNS, "decimal_comma": True})
    assert [o.quantity for o in offers] == [12.5, 1.25]


# --- 2. subtotal rows ----------------------------------------------------------------------------


def test_sap_alv_subtotals_with_the_plant_filled_are_totals_rows(tmp_path: Path) -> None:
    path = tmp_path / "ash.txt"
    path.write_text(
        "\tMaterial\tWerk\tFrei verwendbar\tBME\n"
        "\t100001\tBoard Plant\t12,500\tTO\n"
        "\t100002\tBoard Plant\t7,500\tTO\n"
        "*\t\tBoard Plant\t20,000\tTO\n"
        "\t100003\tSawmill North\t3,000\tTO\n"
        "*\t\tSawmill North\t3,000\tTO\n"
        "**\t\t\t23,000\tTO\n",
        encoding="utf-8",
    )
    data = {
        "decimal_comma": True,
        "columns": {"id": "Material", "site": "Werk", "quantity": "Frei verwendbar",
                    "unit": "BME"},
        "defaults": {"description": "Flugasche", "ewc": "10 01 02"},
    }  # fmt: skip
    offers, errors = read(path, data)
    assert [o.id for o in offers] == ["100001", "100002", "100003"]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (4, "(row)", TOTALS),
        (6, "(row)", TOTALS),
        (7, "(row)", TOTALS),
    ]


def test_excel_subtotals_in_german_are_totals_rows(tmp_path: Path) -> None:
    path = tmp_path / "de.csv"
    path.write_text(
        "Bezeichnung;AVV;Menge;Einheit\n"
        "REA-Gips;10 01 05;12,5;t\n"
        "REA-Gips;10 01 05;7,5;t\n"
        "REA-Gips Ergebnis;;20;\n"
        "Flugasche;10 01 02;3;t\n"
        "Flugasche Ergebnis;;3;\n"
        "Gesamtergebnis;;23;\n",
        encoding="utf-8",
    )
    data = {
        "decimal_comma": True,
        "columns": {"description": "Bezeichnung", "ewc": "AVV", "quantity": "Menge"},
        "defaults": {"site": "board-plant", "unit": "t", "kind": "material"},
    }
    offers, errors = read(path, data)
    assert [o.quantity for o in offers] == [12.5, 7.5, 3.0]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (4, "Bezeichnung", TOTALS),
        (6, "Bezeichnung", TOTALS),
        (7, "Bezeichnung", TOTALS),
    ]


def test_excel_subtotals_in_english_and_a_description_starting_with_total(tmp_path: Path) -> None:
    path = tmp_path / "en.csv"
    path.write_text(
        "Plant,Description,EWC,Qty,Unit\n"
        "Board Plant,FGD gypsum,10 01 05,12.5,t\n"
        ",FGD gypsum Total,,12.5,t\n"
        "Board Plant,Fly ash,10 01 02,3,t\n"
        ",Total Fly ash,,3,t\n"
        "Board Plant Total,,,15.5,t\n"  # an outer group's subtotal below an inner one
        "Board Plant,Total organic carbon sludge,19 08 05,4,t\n"
        ",Grand Total,,19.5,t\n",
        encoding="utf-8",
    )
    data = {
        "columns": {"site": "Plant", "description": "Description", "ewc": "EWC",
                    "quantity": "Qty", "unit": "Unit"},
        "defaults": {"site": "board-plant"},
    }  # fmt: skip
    offers, errors = read(path, data)
    assert [o.description for o in offers] == [
        "FGD gypsum",
        "Fly ash",
        "Total organic carbon sludge",
    ]
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (3, "Description", TOTALS),
        (5, "Description", TOTALS),
        (6, "Plant", TOTALS),
        (8, "Description", TOTALS),
    ]


def test_a_row_with_an_id_is_never_a_totals_row(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "Material,Plant,Description,EWC,Qty,Unit\n"
        "M1,Board Plant,Fly ash,10 01 02,3,t\n"
        "M2,Board Plant,Fly ash Total,10 01 02,3,t\n",
        encoding="utf-8",
    )
    data = {
        "columns": {"id": "Material", "site": "Plant", "description": "Description",
                    "ewc": "EWC", "quantity": "Qty", "unit": "Unit"},
    }  # fmt: skip
    offers, errors = read(path, data)
    assert [o.id for o in offers] == ["m1", "m2"]
    assert not errors


# --- 3. decimal notation decided on the whole file --------------------------------------------


def test_decimal_comma_evidence_past_the_read_ahead_stops_before_anything(tmp_path: Path) -> None:
    quantities = ["850", "1.500"] * LOOKAHEAD_ROWS + ["2,5", "1.500"]
    path = sap_list(tmp_path, quantities)
    line = 2 + 2 * LOOKAHEAD_ROWS
    with pytest.raises(ErpImportError, match=rf"bestand.txt:{line}: .*decimal comma \('2,5'\)"):
        read(path, {"columns": SAP_COLUMNS})


def test_a_stated_notation_refuses_ambiguous_rows_before_the_late_evidence(tmp_path: Path) -> None:
    quantities = ["1.500"] * (LOOKAHEAD_ROWS + 5) + ["2,5"]
    path = sap_list(tmp_path, quantities)
    offers, errors = read(path, {"columns": SAP_COLUMNS, "decimal_comma": False})
    assert not offers  # every 1.500 refused: the file writes a decimal comma further down
    assert "is ambiguous" in errors[0].reason
    assert errors[0].line == 2


def test_a_file_of_only_ambiguous_quantities_asks_which_notation(tmp_path: Path) -> None:
    path = sap_list(tmp_path, ["1.500", "12.000", "850"])
    with pytest.raises(ErpImportError, match=r"bestand.txt:2: .*'1.500'.* no quantity in the"):
        read(path, {"columns": SAP_COLUMNS})
    offers, _ = read(path, {"columns": SAP_COLUMNS, "decimal_comma": True})
    assert [o.quantity for o in offers] == [1500.0, 12000.0, 850.0]
    offers, _ = read(path, {"columns": SAP_COLUMNS, "decimal_comma": False})
    assert [o.quantity for o in offers] == [1.5, 12.0, 850.0]


def test_sap_three_decimals_without_the_setting_ask_too(tmp_path: Path) -> None:
    path = sap_list(tmp_path, ["12,500", "7,500"])  # 12.5 t in SAP, 12500 t as English
    with pytest.raises(ErpImportError, match="say which: set 'decimal_comma: true'"):
        read(path, {"columns": SAP_COLUMNS})


def test_a_semicolon_file_with_decimal_point_evidence_reads_ambiguous_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "Material;Werk;Materialkurztext;Abfallschl.;Menge;BME\n"
        "1;Board Plant;REA-Gips;10 01 05;12.5;t\n"
        "2;Board Plant;REA-Gips;10 01 05;12.500;t\n",
        encoding="utf-8",
    )
    offers, errors = read(path, {"columns": SAP_COLUMNS})
    assert [o.quantity for o in offers] == [12.5, 12.5]
    assert not errors


# --- 4. encodings ---------------------------------------------------------------------------------


def test_utf8_with_few_umlauts_and_one_stray_byte_stays_utf8(tmp_path: Path) -> None:
    text = (
        "Material;Werk;Text;AVV;Menge;Einheit\n"
        "M-1;Board Plant;Holzsp\u00e4ne;03 01 05;12,5;t\n"
        "M-2;Board Plant;Gie\u00dfereisand;10 09 08;3,5;t\n"
        "M-3;Board Plant;Glasbruch gr\u00fcn;10 11 12;4;t\n"
    )
    data = text.encode() + b"M-4;Board Plant;REA-Gips\xa0Silo;10 01 05;7;t\n"
    assert detect_encoding(data) == "utf-8"
    path = tmp_path / "bestand.csv"
    path.write_bytes(data)
    columns = {"id": "Material", "site": "Werk", "description": "Text", "ewc": "AVV",
               "quantity": "Menge", "unit": "Einheit"}  # fmt: skip
    offers, errors = read(path, {"columns": columns, "decimal_comma": True})
    assert offers[0].description == "Holzsp\u00e4ne"
    assert [(e.line, e.field) for e in errors] == [(5, "Text")]
    assert "byte 0xA0" in errors[0].reason


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (  # Big5: fly ash, FGD gypsum, slag
            "Kod;Text\r\nA1;\u98db\u7070\r\nA2;\u812b\u786b\u77f3\u818f\r\nA3;\u7210\u6e23\r\n",
            "cp950",
        ),
        ("Kod;Text\nA1;Pernye sz\u00e9n\u00e9get\u00e9sb\u0151l\nA2;K\u0151zetgyapot\n", "cp1250"),
        ("Kod;Text\nA1;\u0417\u043e\u043b\u0430\n", "cp1251"),  # short Russian: not "\u00c7..."
        ("Kod;Text\nA1;Lidojo\u0161ie pelni\nA2;\u0122ipsis un \u0161\u0137embas\n", "cp1257"),
    ],
)
def test_code_pages_that_were_guessed_wrong(text: str, encoding: str) -> None:
    assert detect_encoding(text.encode(encoding)) == encoding


def test_an_encoding_the_evidence_cannot_tell_is_asked_for(tmp_path: Path) -> None:
    data = "Nr;Text;Menge;Einheit\n1;F\u0171r\u00e9szpor;3;t\n".encode("cp1250")
    with pytest.raises(UnclearEncodingError) as caught:
        detect_encoding(data)
    assert [c for c, _ in caught.value.candidates] == ["cp1250", "cp1252"]
    path = tmp_path / "hu.csv"
    path.write_bytes(data)
    columns = {"site": "Nr", "description": "Text", "quantity": "Menge", "unit": "Einheit"}
    with pytest.raises(ErpImportError, match=r"cp1250 \('F\u0171r\u00e9szpor'\).*--encoding"):
        read(path, {"columns": columns})
    offers, _ = read(
        path, {"columns": columns, "encoding": "cp1250", "defaults": {"kind": "material"}}
    )
    assert offers[0].description == "F\u0171r\u00e9szpor"


# --- 5, 7. unit codes -----------------------------------------------------------------------------


def test_an_unknown_unit_code_is_never_told_it_is_tonnes() -> None:
    with pytest.raises(ValueError, match=r"units: \{ZZ: <unit>\}") as caught:
        parse_unit_code("ZZ")
    assert "ZZ: t}" not in str(caught.value)


def test_the_documented_unit_examples_are_no_sap_pieces() -> None:
    from symbiosis.import_cmd import HELP

    docs = Path(__file__).parents[2] / "docs"
    texts = [HELP, (docs / "erp/mapping-example.yaml").read_text(encoding="utf-8")]
    texts.append((docs / "user-guide.md").read_text(encoding="utf-8"))
    assert not any("ST: t" in text for text in texts)  # SAP's ST is a piece


def test_sap_ml_is_refused_unless_the_mapping_says_what_it_is() -> None:
    with pytest.raises(ValueError, match=r"'ML' is ambiguous: .* millilitre.*units: \{ML: ml\}"):
        parse_unit_code("ML")
    assert parse_unit_code("ML", {"ML": "ml"}) == "ml"
    assert parse_unit_code("ml") == "ml"
    assert parse_unit_code("MLT") == "ml"


def test_a_water_offer_in_ml_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("Werk,Text,Menge,Einheit\nBoard Plant,Process water,500,ML\n", "utf-8")
    columns = {"site": "Werk", "description": "Text", "quantity": "Menge", "unit": "Einheit"}
    data = {"columns": columns, "defaults": {"kind": "water"}}
    offers, errors = read(path, data)
    assert not offers
    assert errors[0].field == "Einheit"
    offers, errors = read(path, {**data, "units": {"ML": "ml"}})
    assert offers[0].unit == "ml"
    assert not errors


# --- 6. mapping keys ----------------------------------------------------------------------------

COLUMNS = {"site": "Werk", "description": "Text", "quantity": "Menge", "unit": "Einheit"}


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"units": {"TO": "t", " TO": "kg"}}, r"units: the code 'TO' is given twice"),
        ({"units": {"TO": ""}}, r"units: 'TO': the unit is empty"),
        ({"units": {"TO": "  "}}, r"units: 'TO': the unit is empty"),
        ({"header_row": True}, r"header_row: a line number \(1-based, e.g. 3\), not true"),
        ({"header_row": 0}, r"header_row: "),
    ],
)
def test_loose_mapping_keys_are_refused(tmp_path: Path, extra: dict[str, Any], why: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"columns": COLUMNS, **extra}), encoding="utf-8")
    with pytest.raises(ErpImportError, match=why):
        load_mapping(path)


def test_units_are_kept_stripped() -> None:
    mapping = ColumnMapping.model_validate({"columns": COLUMNS, "units": {" TNE ": " t "}})
    assert dict(mapping.units) == {"TNE": "t"}


# --- 8. multi-page SAP lists, .xls that is markup, dates, lakh ------------------------------------


def test_a_multi_page_sap_list_skips_its_page_titles_and_repeated_headers(tmp_path: Path) -> None:
    ruler = "-" * 60 + "\n"
    header = "|Material|Werk         |Materialkurztext|Abfallschl.|Menge    |BME|\n"

    def page(number: int, first: int) -> str:
        rows = "".join(
            f"|{first + i}  |Board Plant  |REA-Gips        |10 01 05   |  1.234,5|t  |\n"
            for i in range(3)
        )
        return f"05.12.2026     Bestandsliste     {number}\n{ruler}{header}{ruler}{rows}{ruler}"

    path = tmp_path / "liste.txt"
    path.write_text(page(1, 100001) + page(2, 100004) + "|*  | | | |  7.407,0|t  |\n", "utf-8")
    offers, errors = read(path, {"columns": SAP_COLUMNS, "decimal_comma": True})
    assert [o.id for o in offers] == [str(100001 + i) for i in range(6)]
    assert [(e.field, e.reason) for e in errors] == [("Material", TOTALS)]


@pytest.mark.parametrize(
    "head",
    [
        "<html><body><table><tr><td>Material</td></tr></table></body></html>\n",
        '\ufeff<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:'
        'spreadsheet"></Workbook>\n',
    ],
)
def test_a_xls_that_is_html_or_xml_says_save_as_xlsx(tmp_path: Path, head: str) -> None:
    path = tmp_path / "export.xls"
    path.write_text(head, encoding="utf-8")
    with pytest.raises(ErpImportError, match=r"HTML or XML spreadsheet .* save it as \.xlsx"):
        read(path, {"columns": COLUMNS})


def test_midnight_empty_dates_are_no_date() -> None:
    from datetime import time

    from ingest.erp.values import is_no_date

    assert is_no_date("00.00.0000 00:00:00")
    assert is_no_date("0000-00-00 00:00")
    assert is_no_date(time())  # an XLSX date cell holding 0, as openpyxl reads it
    assert not is_no_date(time(8))
    assert not is_no_date("01.01.2026 00:00:00")


def test_indian_grouping_is_not_told_to_set_decimal_comma() -> None:
    with pytest.raises(ValueError, match="lakh") as caught:
        parse_quantity("1,23,456.78")
    assert "decimal_comma" not in str(caught.value)
