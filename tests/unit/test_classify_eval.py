"""The held-out multilingual evaluation set, and the floors the classifier holds on its test split.

The set and its split are described in ``bench/classify_eval.py``; the table in
docs/classification.md comes from ``python bench/classify_eval.py``. Floors are checked on
``test`` only (never tuned on).

The floors below are the targets of issue 13 (kind 0.95, chapter 0.90, exact code 0.70,
chapter 0.95 on the rows not abstained), pinned so that the classifier cannot fall back. The
chapter target is held by one row (0.901, 210 of 233 on 2026-12-08): see
docs/classification.md.
"""

from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from domain.ewc import catalogue

BENCH = Path(__file__).resolve().parents[2] / "bench"
EVAL: dict[str, Any] = runpy.run_path(str(BENCH / "classify_eval.py"), run_name="imported")
KINDS = {"heat", "steam", "water", "gas", "material"}


@pytest.fixture(scope="module")
def rows() -> list[Any]:
    return list(EVAL["load"]("all"))


@pytest.fixture(scope="module")
def test_figures() -> dict[str, float | int]:
    tallies, _ = EVAL["run"](EVAL["load"]("test"))
    figures: dict[str, float | int] = tallies["all"].figures()
    return figures


def test_the_set_is_large_multilingual_and_not_mostly_english(rows: list[Any]) -> None:
    by_lang = Counter(r.lang for r in rows)
    assert len(rows) >= 400
    assert len(by_lang) >= 8
    assert by_lang["en"] <= len(rows) / 2


def test_every_row_is_well_formed(rows: list[Any]) -> None:
    ewc = catalogue()
    for row in rows:
        assert row.kind in KINDS, row.id
        assert all(code in ewc.entries for code in row.codes), row.id
        assert bool(row.codes) == (row.kind == "material"), row.id
    assert len({r.id for r in rows}) == len(rows)
    assert len({r.text for r in rows}) == len(rows)


def test_the_split_is_fixed_by_id_and_covers_every_language(rows: list[Any]) -> None:
    dev = {(r.lang, r.id) for r in rows if r.split == "dev"}
    test = {(r.lang, r.id) for r in rows if r.split == "test"}
    assert dev.isdisjoint(test)
    assert {lang for lang, _ in dev} == {lang for lang, _ in test} == {r.lang for r in rows}
    again = {r.id for r in EVAL["load"]("test")}
    assert again == {i for _, i in test}


def test_kind_floor(test_figures: dict[str, float | int]) -> None:
    assert test_figures["kind"] >= 0.95


def test_chapter_floor(test_figures: dict[str, float | int]) -> None:
    assert test_figures["chapter"] >= 0.90  # the target


def test_exact_code_floor(test_figures: dict[str, float | int]) -> None:
    assert test_figures["exact"] >= 0.70  # the target


def test_chapter_floor_on_the_rows_not_abstained(test_figures: dict[str, float | int]) -> None:
    assert test_figures["kept_chapter"] >= 0.95  # the target


def test_abstaining_stays_a_minority(test_figures: dict[str, float | int]) -> None:
    assert test_figures["abstain"] <= 0.35
