"""``symbiosis import`` as a person meets it (issue 17): what a dry run shows, what was detected
about the file (encoding, delimiter), how fast an unreachable Kafka is told, progress.

No Kafka: ``--dry-run`` and ``--park``; the one Kafka test points at a closed local port.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from domain.errors import ErpImportError
from ingest.erp import ColumnMapping, read_offers
from ingest.erp.samples import MAPPING, write_erp_file
from runtime.settings import get_settings
from schemas.offers import Offer
from symbiosis import import_cmd
from symbiosis.cli import app

runner = CliRunner()

GERMAN = (
    "Material-Nr;Werk;Bezeichnung;AVV-Schlüssel;Menge;Einheit\n"
    "1;Board Plant;Gips für Platten aus der Rauchgasentschwefelung;10 01 05;12,5;t\n"
    "2;Board Plant;Flugasche aus der Kesselanlage;10 01 02;3;t\n"
    "3;Board Plant;Holzspäne, unbehandelt;03 01 05;4;t\n"
)


def export_text(header: str, texts: list[str]) -> str:
    """A short export: the header and a row per text (a guess needs a few lines of text)."""
    return header + "".join(f"{i};Site {i % 3};{t};{i},5;t\n" for i, t in enumerate(texts))


POLISH = export_text(
    "Nr;Zakład;Opis;Ilość;Jedn\n",
    ["Popiół lotny z kotła", "Żużel i popiół", "Gips z odsiarczania", "Zrębki drewniane",
     "Trociny i wióry", "Olej przepracowany"],
)  # fmt: skip
FRENCH = export_text(
    "No;Usine;Désignation;Qté;Unité\n",
    ["Boues de décantation", "Cendres volantes de chaudière", "Mâchefers d'incinération",
     "Gypse issu de la désulfuration", "Copeaux de bois non traités", "Huiles usagées"],
)  # fmt: skip
CZECH = export_text(
    "Číslo;Závod;Popis;Množství;Jednotka\n",
    ["Popílek z kotle", "Struska z vysoké pece", "Sádrovec z odsíření", "Dřevěné štěpky",
     "Piliny a hobliny", "Upotřebený olej"],
)  # fmt: skip
GERMAN_MAPPING: dict[str, Any] = {
    "columns": {
        "id": "Material-Nr",
        "site": "Werk",
        "description": "Bezeichnung",
        "ewc": "AVV-Schlüssel",
        "quantity": "Menge",
        "unit": "Einheit",
    },
    "decimal_comma": True,
}


def park_file(tmp_path: Path) -> Path:
    sites = [
        {"id": s, "name": s, "company": "board-co", "lat": 55.6, "lon": 11.1}
        for s in ("board-plant", "kiln-2", "sawmill-north")
    ]
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump({"park": "p", "sites": sites}), encoding="utf-8")
    return path


def write_mapping(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def company(tmp_path: Path) -> list[str]:
    return ["--company", "board-co", "--park", str(park_file(tmp_path))]


def german_export(tmp_path: Path, encoding: str = "cp1252") -> Path:
    path = tmp_path / "bestand.csv"
    path.write_bytes(GERMAN.encode(encoding))
    return path


# --- 3. a dry run shows the offers it would publish ------------------------------------------


def test_dry_run_shows_the_offers_as_a_table(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    write_erp_file(data, 12, "csv")
    mapping = write_mapping(tmp_path, MAPPING)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--dry-run", *company(tmp_path)],
        terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    offers = [o for o in read_offers(data, ColumnMapping.model_validate(MAPPING))]
    assert all(isinstance(o, Offer) for o in offers)
    for offer in offers:
        assert isinstance(offer, Offer)
        assert offer.id in result.stdout
    assert "FGD gypsum" in result.stdout
    assert "board-plant" in result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1])["offers"] == 12


def test_dry_run_json_prints_one_offer_per_line(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    write_erp_file(data, 12, "csv", bad_every=5)
    mapping = write_mapping(tmp_path, MAPPING)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--dry-run", "--json", *company(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    *lines, summary = result.stdout.strip().splitlines()
    offers = [Offer.model_validate_json(line) for line in lines]
    assert len(offers) == 10
    assert offers[0].id == "m0000000"
    assert json.loads(summary)["offers"] == 10


def test_json_goes_with_dry_run(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    write_erp_file(data, 3, "csv")
    mapping = write_mapping(tmp_path, MAPPING)
    result = runner.invoke(app, ["import", str(data), "-m", str(mapping), "--json",
                                 *company(tmp_path)])  # fmt: skip
    assert result.exit_code == 2
    assert "--json" in result.stderr


# --- 4. encoding and delimiter detected, and said --------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (GERMAN.encode("cp1252"), "cp1252"),
        (GERMAN.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + GERMAN.encode("utf-8"), "utf-8-sig"),
        (GERMAN.encode("utf-16"), "utf-16"),
        (b"No;Plant\n1;P\n", "utf-8"),  # ASCII: UTF-8, which later bytes may still use
        (("x" * 10 + "ü").encode()[:-1], "utf-8"),  # a character cut by the sample's end
        # UTF-8 with a stray corrupt byte stays UTF-8: that row is a bad row, not the file
        ("Gips für Späne\n".encode() * 2 + b"Gips f\xc3\x28r\n", "utf-8"),
        # ... so too with as many bad bytes as UTF-8 characters when no legacy reading is
        # a language ("fÃ¼r" is no cp1252 text)
        ("Gips für\n".encode() + b"Gips f\xc3\x28r\n", "utf-8"),
        (POLISH.encode("cp1250"), "cp1250"),
        (FRENCH.encode("cp1252"), "cp1252"),
        (CZECH.encode("cp1250"), "cp1250"),
    ],
)
def test_encoding_detection(data: bytes, expected: str) -> None:
    from ingest.erp.dialect import detect_encoding

    assert detect_encoding(data) == expected


def test_a_cp1252_export_is_read_without_being_told(tmp_path: Path) -> None:
    path = german_export(tmp_path)
    items = list(read_offers(path, ColumnMapping.model_validate(GERMAN_MAPPING)))
    assert all(isinstance(i, Offer) for i in items), items
    offers = [i for i in items if isinstance(i, Offer)]
    assert offers[0].description == "Gips für Platten aus der Rauchgasentschwefelung"
    assert offers[2].description == "Holzspäne, unbehandelt"
    assert offers[0].quantity == 12.5


def test_cli_says_what_it_detected(tmp_path: Path) -> None:
    data = german_export(tmp_path)
    mapping = write_mapping(tmp_path, GERMAN_MAPPING)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--dry-run", *company(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "encoding cp1252 (detected" in result.stderr
    assert "delimiter ';' (detected" in result.stderr
    assert "Schl\ufffdssel" not in result.output


def test_cli_encoding_and_delimiter_override(tmp_path: Path) -> None:
    data = german_export(tmp_path, "latin-1")
    mapping = write_mapping(tmp_path, {**GERMAN_MAPPING, "delimiter": ","})
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--dry-run", *company(tmp_path)]
    )
    assert result.exit_code == 2
    assert "the header is one column: is the delimiter ';'? (use --delimiter)" in result.stderr
    result = runner.invoke(
        app,
        ["import", str(data), "-m", str(mapping), "--dry-run", "--encoding", "latin-1",
         "--delimiter", ";", *company(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "encoding latin-1 (--encoding)" in result.stderr
    assert "delimiter ';' (--delimiter)" in result.stderr
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--encoding", "klingon",
              *company(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--encoding: unknown encoding 'klingon'" in result.stderr


def test_one_column_header_names_the_likely_delimiter(tmp_path: Path) -> None:
    path = german_export(tmp_path, "utf-8")
    m = ColumnMapping.model_validate({**GERMAN_MAPPING, "delimiter": ","})
    with pytest.raises(ErpImportError) as info:
        read_offers(path, m)
    assert str(info.value) == (
        f"{path}:1: the header is one column: is the delimiter ';'? (use --delimiter)"
    )


# --- 7. Kafka away: told in seconds; progress on long imports -------------------------------


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bootstrap = f"127.0.0.1:{port}"
    monkeypatch.setenv("SYMBIOSIS_KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setattr(import_cmd, "check_authority", lambda url, token, company: None)
    get_settings.cache_clear()
    yield bootstrap
    get_settings.cache_clear()


@pytest.mark.parametrize("mode", ["publish", "registry"])
def test_unreachable_kafka_fails_within_seconds_naming_address_and_setting(
    tmp_path: Path, closed_port: str, mode: str
) -> None:
    data = tmp_path / "stock.csv"
    write_erp_file(data, 3, "csv")
    mapping = write_mapping(tmp_path, MAPPING)
    args = [*company(tmp_path)] if mode == "publish" else ["--company", "board-co", "--dry-run"]
    started = time.monotonic()
    result = runner.invoke(app, ["import", str(data), "-m", str(mapping), *args])
    took = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert took < 10, f"took {took:.1f} s"
    lines = [ln for ln in result.stderr.splitlines() if "Kafka" in ln]
    assert len(lines) == 1, result.stderr
    assert closed_port in lines[0]
    assert "SYMBIOSIS_KAFKA_BOOTSTRAP" in lines[0]
    assert result.stdout == ""


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "stock.csv"
    write_erp_file(data, 3000, "csv")
    mapping = write_mapping(tmp_path, MAPPING)
    result = runner.invoke(
        app, ["import", str(data), "-m", str(mapping), "--dry-run", "--json", *company(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    progress = [ln for ln in result.stderr.splitlines() if ln.startswith("importing stock.csv")]
    assert len(progress) >= 3
    assert progress[-1].endswith("3,000 rows")


def test_publishing_needs_a_token_and_a_dry_run_does_not(tmp_path: Path) -> None:
    """Without a token nothing is published (not even Kafka is asked): one line, exit 2."""
    data = tmp_path / "stock.csv"
    write_erp_file(data, 3, "csv")
    mapping = write_mapping(tmp_path, MAPPING)
    result = runner.invoke(app, ["import", str(data), "-m", str(mapping), *company(tmp_path)],
                           env={"SYMBIOSIS_TOKEN": ""})  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "publishing offers needs 'board-co''s API token" in result.stderr
    assert "SYMBIOSIS_TOKEN" in result.stderr
    dry = runner.invoke(app, ["import", str(data), "-m", str(mapping), "--dry-run",
                              *company(tmp_path)], env={"SYMBIOSIS_TOKEN": ""})  # fmt: skip
    assert dry.exit_code == 0, dry.output
