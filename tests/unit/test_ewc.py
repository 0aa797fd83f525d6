"""The bundled European List of Waste: lookup, normalisation, hazardous flag, acceptance."""

from __future__ import annotations

import pytest

from domain.errors import ClassificationError, SymbiosisError
from domain.ewc import EwcEntry, accepts, catalogue, normalise_code


def test_catalogue_holds_the_whole_list() -> None:
    ewc = catalogue()
    assert len(ewc.entries) == 842
    assert sum(e.hazardous for e in ewc.entries.values()) == 408
    assert len([p for p in ewc.titles if len(p) == 2]) == 20
    assert len([p for p in ewc.titles if len(p) == 4]) == 111
    assert catalogue() is ewc  # loaded once


def test_every_entry_is_consistent_with_its_code() -> None:
    ewc = catalogue()
    for code, entry in ewc.entries.items():
        assert code == entry.code
        assert len(code) == 6
        assert code.isdigit()
        assert entry.chapter == code[:2]
        assert entry.sub_chapter == code[:4]
        assert entry.chapter in ewc.titles
        assert entry.sub_chapter in ewc.titles
        assert entry.display.replace(" ", "").rstrip("*") == code
        assert entry.display.endswith("*") == entry.hazardous
        assert entry.entry_type.endswith("_hazardous") == entry.hazardous
        assert entry.description


def test_lookup_returns_the_entry() -> None:
    entry = catalogue().get("100105")
    assert entry == EwcEntry(
        code="100105",
        display="10 01 05",
        hazardous=False,
        entry_type="absolute_non-hazardous",
        chapter="10",
        sub_chapter="1001",
        description="calcium-based reaction wastes from flue-gas desulphurisation in solid form",
    )


@pytest.mark.parametrize("written", ["100105", "10 01 05", " 10 01 05 ", "100105*", "10 01 05*"])
def test_lookup_accepts_the_written_forms(written: str) -> None:
    assert catalogue().get(written).code == "100105"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("10 01 05", "100105"), ("17 05 03*", "170503"), ("170504", "170504"), ("010101", "010101")],
)
def test_normalise_code(written: str, expected: str) -> None:
    assert normalise_code(written) == expected


@pytest.mark.parametrize("bad", ["", "1001", "1001051", "10-01-05", "10 01 0x", "abcdef", "*"])
def test_normalise_rejects_malformed_codes(bad: str) -> None:
    with pytest.raises(ClassificationError, match="six digits"):
        normalise_code(bad)


@pytest.mark.parametrize("unknown", ["999999", "100100", "000000"])
def test_unknown_code_is_an_error(unknown: str) -> None:
    with pytest.raises(ClassificationError, match="not on the European List of Waste") as info:
        catalogue().get(unknown)
    assert isinstance(info.value, SymbiosisError)
    assert isinstance(info.value.__cause__, KeyError)


def test_malformed_code_is_an_error_on_lookup() -> None:
    with pytest.raises(ClassificationError):
        catalogue().get("10 01")


@pytest.mark.parametrize(
    ("code", "hazardous"),
    [
        ("100105", False),  # absolute non-hazardous
        ("130205", True),  # absolute hazardous
        ("170503", True),  # mirror hazardous
        ("170504", False),  # mirror non-hazardous
        ("17 05 03*", True),
    ],
)
def test_is_hazardous(code: str, hazardous: bool) -> None:
    assert catalogue().is_hazardous(code) is hazardous


def test_is_hazardous_of_unknown_code_is_an_error() -> None:
    with pytest.raises(ClassificationError):
        catalogue().is_hazardous("999999")


def test_title_of_chapter_sub_chapter_and_code() -> None:
    ewc = catalogue()
    assert ewc.title("10") == "WASTES FROM THERMAL PROCESSES"
    assert ewc.title("1001") == "wastes from power stations and other combustion plants (except 19)"
    assert ewc.title("100102") == "coal fly ash"


@pytest.mark.parametrize("unknown", ["99", "1099", "00", "1"])
def test_title_of_unknown_prefix_is_an_error(unknown: str) -> None:
    with pytest.raises(ClassificationError, match="unknown"):
        catalogue().title(unknown)


def test_title_of_unknown_code_is_an_error() -> None:
    with pytest.raises(ClassificationError):
        catalogue().title("999999")


@pytest.mark.parametrize(
    ("accepted", "expected"),
    [
        (["10"], True),  # chapter
        (["1001"], True),  # sub-chapter
        (["100105"], True),  # the code itself
        (["17", "1001"], True),  # any of several
        (["1002"], False),  # another sub-chapter
        (["100102"], False),  # another code
        (["17"], False),  # another chapter
        ([], False),  # accepts nothing
    ],
)
def test_accepts_by_chapter_sub_chapter_and_code(accepted: list[str], expected: bool) -> None:
    assert accepts("100105", accepted, hazardous=False, accepts_hazardous=False) is expected


def test_hazardous_material_is_rejected_unless_allowed() -> None:
    assert not accepts("170503", ["17"], hazardous=True, accepts_hazardous=False)
    assert accepts("170503", ["17"], hazardous=True, accepts_hazardous=True)
    # A need that allows hazardous material still takes non-hazardous material.
    assert accepts("170504", ["17"], hazardous=False, accepts_hazardous=True)


def test_hazardous_rejection_comes_before_the_prefix_check() -> None:
    assert not accepts("170503", ["170503"], hazardous=True, accepts_hazardous=False)


def test_accepts_takes_any_iterable() -> None:
    assert accepts("100105", iter(["1001"]), hazardous=False, accepts_hazardous=False)
    assert accepts("100105", ("10",), hazardous=False, accepts_hazardous=False)
