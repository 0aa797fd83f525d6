"""Synthetic ERP exports for tests and benchmarks: CSV, JSON, JSON Lines and XLSX, bad rows too.

The files look like a stock export of an ERP: realistic material texts, EWC codes written the
ways ERPs write them (``10 01 05``, ``10.01.02``, ``120101``), mostly without one, an empty
``Type`` column except for heat, quantities and dates. :data:`MAPPING` reads them;
:func:`write_erp_file` returns the line numbers of the bad rows, whose faulty column follows
:data:`BAD_KINDS` in turn. Their plants are the sites of :data:`COMPANY` in the park of
:func:`sample_park` (``symbiosis import --company board-co --park <its file>``).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped,unused-ignore]
import yaml

from ingest.erp.values import slugify

COLUMNS = (
    "Material No",
    "Plant",
    "Material text",
    "Waste code",
    "Type",
    "Qty",
    "UoM",
    "Avail. from",
)

MAPPING: dict[str, Any] = {
    "columns": {
        "id": "Material No",
        "site": "Plant",
        "description": "Material text",
        "ewc": "Waste code",
        "kind": "Type",
        "quantity": "Qty",
        "unit": "UoM",
        "available_from": "Avail. from",
    },
    "timezone": "Europe/Berlin",
}
"""The column mapping of every generated file (JSON ones also need ``records: items``)."""

# (material text, EWC code as the ERP writes it or None, Type column, unit)
MATERIALS: tuple[tuple[str, str | None, str, str], ...] = (
    ("FGD gypsum", "10 01 05", "", "t"),
    ("Fly ash from coal boiler", "10.01.02", "", "t"),
    ("Spent sulfuric acid", None, "", "t"),
    ("Wood chips, untreated", None, "", "t/week"),
    ("Sawdust and shavings", None, "", "t"),
    ("Scrap steel turnings", "120101", "", "t"),
    ("Cardboard bales", None, "", "t"),
    ("Used cooking oil", "20 01 25", "", "t"),
    ("Bottom ash and slag", None, "", "t"),
    ("Mixed plastic packaging", None, "", "t"),
    ("Filter cake from water treatment", None, "", "t"),
    ("Glass cullet", None, "", "t"),
    ("Aluminium dross", None, "", "t"),
    ("Paper sludge from pulp mill", None, "", "t/d"),
    ("Spent foundry sand", None, "", "t"),
    ("Lime mud from causticising", None, "", "t"),
    ("Waste heat from kiln exhaust", None, "Heat", "MW"),
    ("Cooling water return", None, "", "m^3/h"),
    ("Spent catalyst", "16 08 03", "Material", "t"),
)
PLANTS = ("Board Plant", "Kiln 2", "sawmill-north")
COMPANY = "board-co"
"""The company whose stock the generated exports are: it owns every plant of :data:`PLANTS`."""
MULTILINE_ROW = 2
"""0-based row whose CSV material text spans two lines (so later CSV lines shift by one)."""

BAD_KINDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Qty", {"Qty": -5}),
    ("UoM", {"UoM": "tonnez"}),
    ("Avail. from", {"Avail. from": "next week"}),
    ("Waste code", {"Waste code": "99 99 99"}),
    ("Material text", {"Material text": ""}),
)
"""The k-th bad row (0-based) breaks column ``BAD_KINDS[k % 5][0]``."""


def expected_bad_field(k: int) -> str:
    """The source column named in the error of the k-th (0-based) bad row."""
    return BAD_KINDS[k % len(BAD_KINDS)][0]


def _row(i: int, fmt: str, bad: int | None) -> dict[str, Any]:
    text, ewc, kind, unit = MATERIALS[i % len(MATERIALS)]
    if i == MULTILINE_ROW and fmt == "csv":
        text = "Fly ash\n(silo 2)"
    start = datetime(2025, 1, 1) + timedelta(days=i % 90, hours=6 * (i % 4))
    row: dict[str, Any] = {
        "Material No": f"M{i:07d}",
        "Plant": PLANTS[i % len(PLANTS)],
        "Material text": text,
        "Waste code": ewc or "",
        "Type": kind,
        "Qty": round(5 + (i * 37 % 500) * 0.5, 1),
        "UoM": unit,
        "Avail. from": start if i % 3 == 0 else None,
    }
    if bad is not None:
        row.update(BAD_KINDS[bad % len(BAD_KINDS)][1])
    return row


def _cell(value: Any, fmt: str) -> Any:
    if isinstance(value, datetime):
        return value if fmt == "xlsx" else value.isoformat(sep=" ", timespec="minutes")
    if value is None:
        return "" if fmt == "csv" else None
    return value


def write_erp_file(path: Path, rows: int, fmt: str, bad_every: int = 0) -> list[int]:
    """Write an export of ``rows`` data rows; returns the line numbers of the bad rows.

    Args:
        path: the file to write.
        rows: data rows (besides the header).
        fmt: ``csv``, ``json`` (an object with the records under ``items``), ``jsonl`` or
            ``xlsx``.
        bad_every: every this-many-th row is bad (0: none); see :data:`BAD_KINDS`.

    Returns:
        Line numbers as the importer reports them: CSV physical line (header is line 1, and
        one material text spans two lines), XLSX sheet row, JSON record number, JSON Lines line.
    """
    bad_lines: list[int] = []

    def generate() -> Any:
        for i in range(rows):
            bad = None
            if bad_every and (i + 1) % bad_every == 0:
                bad = (i + 1) // bad_every - 1
            line = {
                "csv": i + 2 + (i > MULTILINE_ROW),
                "xlsx": i + 2,
                "json": i + 1,
                "jsonl": i + 1,
            }[fmt]
            if bad is not None:
                bad_lines.append(line)
            yield {k: _cell(v, fmt) for k, v in _row(i, fmt, bad).items()}

    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(generate())
    elif fmt == "json":
        document = {"export": {"system": "SAP", "plant": "all"}, "items": list(generate())}
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as f:
            for record in generate():
                f.write(json.dumps(record) + "\n")
    elif fmt == "xlsx":
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Stock")
        sheet.append(list(COLUMNS))
        for record in generate():
            sheet.append([record[c] for c in COLUMNS])
        book.save(path)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return bad_lines


def sample_park(company: str = COMPANY) -> dict[str, Any]:
    """A park file's data whose sites are the plants of :data:`PLANTS`, all ``company``'s."""
    sites = [
        {"id": slugify(plant), "name": plant, "company": company, "lat": 55.66, "lon": 11.08}
        for plant in PLANTS
    ]
    return {"park": "ERP sample park", "sites": sites}


def write_sample_park(path: Path, company: str = COMPANY) -> Path:
    """Write :func:`sample_park` as a park file (YAML); returns ``path``."""
    path.write_text(yaml.safe_dump(sample_park(company), sort_keys=False), encoding="utf-8")
    return path
