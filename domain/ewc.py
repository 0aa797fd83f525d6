"""The European List of Waste (EWC) as project data: lookup, hazardous flag, acceptance.

Data: ``domain/data/ewc-codes.csv`` and ``ewc-chapters.csv`` (sources in ``data/SOURCES.md``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain.errors import ClassificationError


@dataclass(frozen=True, slots=True)
class EwcEntry:
    """One six-digit EWC code."""

    code: str
    display: str
    hazardous: bool
    entry_type: str
    chapter: str
    sub_chapter: str
    description: str


@dataclass(frozen=True, slots=True)
class EwcCatalogue:
    """All EWC codes, with chapter and sub-chapter titles."""

    entries: dict[str, EwcEntry]
    titles: dict[str, str]

    def get(self, code: str) -> EwcEntry:
        """The entry for a six-digit code (spaces and a trailing ``*`` are ignored).

        Raises:
            ClassificationError: the code is malformed or not on the list.
        """
        normalised = normalise_code(code)
        try:
            return self.entries[normalised]
        except KeyError as e:
            raise ClassificationError(
                f"EWC code {code!r} is not on the European List of Waste"
            ) from e

    def is_hazardous(self, code: str) -> bool:
        """Whether the code is marked hazardous (absolute or mirror entry).

        Raises:
            ClassificationError: unknown code.
        """
        return self.get(code).hazardous

    def title(self, prefix: str) -> str:
        """Title of a chapter (2 digits) or sub-chapter (4 digits), or a code's description.

        Raises:
            ClassificationError: unknown prefix.
        """
        if len(prefix) == 6:
            return self.get(prefix).description
        try:
            return self.titles[prefix]
        except KeyError as e:
            raise ClassificationError(f"EWC chapter or sub-chapter {prefix!r} is unknown") from e


def normalise_code(code: str) -> str:
    """``'10 01 05*'`` -> ``'100105'``.

    Raises:
        ClassificationError: not six digits after removing spaces and ``*``.
    """
    digits = code.replace(" ", "").rstrip("*")
    if len(digits) != 6 or not digits.isdigit():
        raise ClassificationError(f"EWC code {code!r} is not six digits")
    return digits


def accepts(
    code: str, accepted: Iterable[str], *, hazardous: bool, accepts_hazardous: bool
) -> bool:
    """Whether a material with EWC ``code`` fits a need accepting ``accepted`` prefixes.

    A prefix of 2 digits accepts a chapter, 4 a sub-chapter, 6 one code. Hazardous material is
    accepted only when ``accepts_hazardous``.
    """
    if hazardous and not accepts_hazardous:
        return False
    return any(code.startswith(prefix) for prefix in accepted)


@cache
def catalogue() -> EwcCatalogue:
    """The bundled list, loaded once per process."""
    data = resources.files("domain") / "data"
    entries: dict[str, EwcEntry] = {}
    with (data / "ewc-codes.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            entries[row["code"]] = EwcEntry(
                code=row["code"],
                display=row["code_display"],
                hazardous=row["hazardous"] == "true",
                entry_type=row["entry_type"],
                chapter=row["chapter"],
                sub_chapter=row["sub_chapter"],
                description=row["description"],
            )
    titles: dict[str, str] = {}
    with (data / "ewc-chapters.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            titles[row["code"]] = row["title"]
    return EwcCatalogue(entries=entries, titles=titles)
