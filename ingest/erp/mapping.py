"""The column mapping: which source column feeds which offer field, constants, and its checks."""

from __future__ import annotations

import codecs
import difflib
import string
from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from domain.errors import ErpImportError
from domain.files import read_text
from domain.wording import reason_of
from ingest.erp.values import normalised_defaults
from schemas.common import StrictModel
from schemas.units import parse_unit

TargetField = Literal[
    "id",
    "site",
    "stream",
    "kind",
    "description",
    "ewc",
    "quantity",
    "unit",
    "available_from",
    "available_until",
]
"""An :class:`Offer` field a source column (or a default) can feed."""

TARGETS: Final[tuple[str, ...]] = get_args(TargetField)
REQUIRED_TARGETS: Final = ("site", "description", "quantity", "unit")
"""Targets every row needs, from a column or a default (``id`` has ``id_template``)."""

ExportFormat = Literal["csv", "json", "jsonl", "xlsx"]
EXTENSIONS: Final[Mapping[str, ExportFormat]] = MappingProxyType(
    {
        ".csv": "csv",
        ".tsv": "csv",
        ".txt": "csv",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".xlsx": "xlsx",
        ".xlsm": "xlsx",
    }
)
"""Format by data-file extension, when the mapping does not name one."""

TEMPLATE_FIELDS: Final = frozenset({"stem", "line", "site"})
HEADER_SEARCH_LINES: Final = 50
"""Without ``header_row``, the header is the first of this many lines (CSV records, XLSX rows)
that holds every mapped column."""
_INVISIBLE: Final = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"))

_ORDER: Final = {t: i for i, t in enumerate(TARGETS)}

Scalar = str | int | float | datetime | date
ColumnName = Annotated[str, StringConstraints(min_length=1)]


def _did_you_mean(name: str, choices: Collection[str]) -> str:
    folded = {str(c).casefold(): str(c) for c in choices}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.5)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


def header_key(name: str) -> str:
    """A column name as headers and mappings are matched (``Menge<NBSP>[t]`` is ``Menge [t]``).

    Every run of whitespace (no-break, narrow, thin and ideographic spaces, tabs, line breaks)
    becomes one space, none is left at the ends, and invisible characters (byte-order mark,
    zero-width space and joiners) are dropped.
    """
    return " ".join(name.translate(_INVISIBLE).split())


def check_encoding(name: str) -> str:
    """``name`` when Python knows the encoding.

    Raises:
        ValueError: it does not (``unknown encoding 'x'``).
    """
    try:
        codecs.lookup(name)
    except LookupError as e:
        raise ValueError(f"unknown encoding {name!r}") from e
    return name


def _check_targets(names: Collection[str]) -> None:
    for name in names:
        if name not in _ORDER:
            raise ValueError(
                f"unknown target field {name!r}{_did_you_mean(name, TARGETS)}; "
                f"targets are: {', '.join(TARGETS)}"
            )


class ColumnMapping(StrictModel):
    """How to read one ERP's exports: which column feeds which offer field, and constants.

    Loaded by :func:`load_mapping`; every check below runs there, naming the field at fault.
    """

    format: ExportFormat | None = Field(
        default=None,
        description="Unset: from the data file's extension (.csv .tsv .txt .json .jsonl "
        ".ndjson .xlsx .xlsm). 'json' on a .jsonl file reads JSON Lines.",
    )
    sheet: str | None = Field(default=None, description="XLSX: the worksheet; unset: the first.")
    delimiter: (
        Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=1)] | None
    ) = Field(
        default=None,
        description="CSV: one character; unset: detected from the first lines (csv.Sniffer), "
        "else ',' (a tab for .tsv).",
    )
    encoding: str | None = Field(
        default=None,
        description="CSV and JSON: text encoding; unset: detected (UTF-8 with or without a "
        "BOM, UTF-16 with a BOM, else charset-normalizer's guess, e.g. cp1252).",
    )
    records: str | None = Field(
        default=None,
        description="JSON whose top level is an object: the key (dotted path) of the records.",
    )
    columns: dict[str, ColumnName] = Field(
        default_factory=dict, description="Target offer field -> source column or key."
    )
    defaults: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Target offer field -> constant, used when there is no column or its cell "
        "is empty.",
    )
    id_template: str = Field(
        default="{stem}-{line}",
        description="Offer id without an id column; placeholders {stem} (file name without "
        "extension), {line}, {site}. Made a slug.",
    )
    decimal_comma: bool | None = Field(
        default=None,
        description="true: quantities are written 1.234,5; false: 1,234.5. Unset: 1,234.5, "
        "but an export whose quantities show a decimal comma (1.234,5, 0,75, 012,500), or "
        "hold ambiguous ones (1.500, 12,500) and none only a decimal point reads (12.5), is "
        "refused before any row is converted.",
    )
    header_row: Annotated[int, Strict()] | None = Field(
        default=None,
        ge=1,
        description="CSV and XLSX: the line (sheet row) of the header, 1-based; unset: the "
        f"first of the first {HEADER_SEARCH_LINES} lines that holds every mapped column.",
    )
    units: dict[Annotated[str, StringConstraints(min_length=1)], str] = Field(
        default_factory=dict,
        description="The export's unit codes -> units, applied before a unit is read (e.g. "
        "{TNE: t, LTR: l}); SAP/ISO codes such as TO, KGM, MTQ are known without it. Each code "
        "once (after stripping spaces), each unit non-empty.",
    )
    timezone: str = Field(default="UTC", description="IANA zone of dates without one.")
    date_format: str | None = Field(
        default=None, description="strptime format of text dates; unset: ISO 8601."
    )

    @field_validator("columns", "defaults")
    @classmethod
    def _known_targets(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_targets(value)
        return value

    @field_validator("header_row", mode="before")
    @classmethod
    def _line_number(cls, value: object) -> object:
        """Refuse ``true``/``false``, which pydantic would read as line 1 or 0.

        Raises:
            ValueError: a boolean.
        """
        if isinstance(value, bool):
            raise ValueError(f"a line number (1-based, e.g. 3), not {str(value).lower()}")
        return value

    @field_validator("units", mode="before")
    @classmethod
    def _codes_once(cls, value: object) -> object:
        """Refuse a code given twice once stripped (``TO`` and `` TO``).

        Checked before the model strips the keys, which would keep only one of them.

        Raises:
            ValueError: such a code (naming both spellings).
        """
        if not isinstance(value, dict):
            return value
        codes: dict[str, object] = {}
        for code in value:
            key = code.strip() if isinstance(code, str) else code
            if key in codes:
                raise ValueError(
                    f"the code {key!r} is given twice ({codes[key]!r} and {code!r}); spaces "
                    "around a code do not count, so give it once"
                )
            codes[key] = code
        return value

    @field_validator("units")
    @classmethod
    def _known_units(cls, value: dict[str, str]) -> dict[str, str]:
        """Each unit non-empty text pint reads (codes are stripped and non-empty already).

        Raises:
            ValueError: a unit empty, or not a unit (naming the code).
        """
        for code, unit in value.items():
            if not unit.strip():
                raise ValueError(f"{code!r}: the unit is empty; write the unit it means (e.g. t)")
            try:
                parse_unit(unit)
            except ValueError as e:
                raise ValueError(f"{code!r}: {e}") from e
        return {code.strip(): unit.strip() for code, unit in value.items()}

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            check_encoding(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"{value!r} is not an IANA timezone (e.g. 'Europe/Berlin')") from e
        return value

    @field_validator("id_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as e:
            raise ValueError(f"{value!r} is not a valid template: {e}") from e
        unknown = names - TEMPLATE_FIELDS
        if unknown or not names:
            raise ValueError(
                f"{value!r} may use only {{stem}}, {{line}} and {{site}} and must use one"
            )
        return value

    @model_validator(mode="after")
    def _defaults_valid(self) -> ColumnMapping:
        normalised_defaults(self)  # raises ValueError naming the default
        return self

    @model_validator(mode="after")
    def _required_covered(self) -> ColumnMapping:
        if "id" in self.defaults:
            raise ValueError("defaults: 'id' cannot be a constant; use id_template")
        missing = [t for t in REQUIRED_TARGETS if t not in self.columns and t not in self.defaults]
        if missing:
            raise ValueError(
                f"columns: no column or default for required field(s) {', '.join(missing)}"
            )
        return self

    def resolve_format(self, path: Path) -> ExportFormat:
        """The format of a data file: the mapping's, else from its extension.

        Raises:
            ErpImportError: no format in the mapping and an unknown extension.
        """
        suffix = path.suffix.lower()
        if self.format is None:
            fmt = EXTENSIONS.get(suffix)
            if fmt is None:
                raise ErpImportError(
                    f"{path}: cannot tell the format from the extension {suffix!r}; set "
                    "'format: csv|json|jsonl|xlsx' in the mapping"
                )
            return fmt
        if self.format == "json" and EXTENSIONS.get(suffix) == "jsonl":
            return "jsonl"
        return self.format


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a column-mapping file (YAML, or JSON which YAML reads too).

    Raises:
        ErpImportError: the file is missing or unreadable, not YAML/JSON, not a mapping at the
            top, or fails a check of :class:`ColumnMapping` (every problem listed, each as
            ``file: field: reason``).
    """
    text = read_text(path, what="a mapping file", error=ErpImportError)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ErpImportError(f"{where}: YAML syntax error: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise ErpImportError(f"{path}: YAML syntax error: {e}") from e
    if not isinstance(data, dict):
        raise ErpImportError(
            f"{path}: the top level must be a mapping with 'columns', 'defaults', ...; "
            f"got {'nothing' if data is None else type(data).__name__}"
        )
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as e:
        issues = [_mapping_issue(path, err) for err in e.errors(include_url=False)]
        raise ErpImportError("\n".join(issues)) from e


def _mapping_issue(path: Path, err: ErrorDetails) -> str:
    where = ".".join(str(p) for p in err["loc"])
    message = reason_of(err)
    if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
        keys = ColumnMapping.model_fields
        message = f"unknown key{_did_you_mean(where, keys)}; keys are: {', '.join(keys)}"
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"
