"""Reading ERP exports (CSV, JSON, JSON Lines, XLSX) into :class:`~schemas.offers.Offer` s.

A *column mapping* (YAML or JSON, :func:`load_mapping`) says which source column feeds which
offer field, which constants fill the rest, and how the export writes numbers and dates. An
export is read as a stream (:class:`ErpExport`): CSV and JSON Lines line by line, XLSX through
openpyxl's read-only mode, so memory stays flat on a 100,000-row file (a JSON array is parsed
whole: the format allows nothing else). Each data row becomes an :class:`Offer` or a
:class:`RowError` naming the row's line and the source column at fault; a bad row never stops
the import. Problems with the file itself (missing, unreadable, a mapped column not in the
header) raise :class:`~symbiosis.errors.ErpImportError` when the export is opened, before any
row is read.

Normalisation, per offer field:

* every cell: text is stripped; an empty cell is no value, which a ``defaults`` entry fills;
* ``id``, ``site``, ``stream``: lower-case slugs (``"Board Plant"`` -> ``board-plant``); without
  an id column, ``id_template`` (default ``{stem}-{line}``) names the offer;
* ``kind``: lower case;
* ``ewc``: ``10 01 05``, ``10.01.05``, ``100105*`` or a number that lost its leading zero
  (``20101``) -> ``"100105"``/``"020101"``; the code must be on the List of Waste;
* ``quantity``: a number; ``1,234.5`` (thousands commas) or, with ``decimal_comma``,
  ``1.234,5``;
* dates: ISO 8601, Excel date cells (or serial numbers in an XLSX), or ``date_format``
  (``strptime``); a time without a timezone is taken in the mapping's ``timezone``, a date
  alone as midnight at its start.

A row without an EWC code whose kind is empty or ``material`` is classified from its
description (:func:`domain.classify.classify`): the kind is taken from it when the export has
none, and for a material the best candidate becomes the EWC code. A row with an EWC code but no
kind is a material. ``Offer.classification`` records which way each offer was decided.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import math
import os
import re
import string
import unicodedata
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import IO, Annotated, Any, Final, Literal, NamedTuple, get_args
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import openpyxl  # type: ignore[import-untyped,unused-ignore]
import orjson
import yaml
from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from domain.classify import Classification, classify
from domain.ewc import catalogue
from schemas.common import SLUG_PATTERN, StrictModel
from schemas.offers import Offer
from schemas.units import parse_unit
from symbiosis.errors import ClassificationError, ErpImportError

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
KEY_SCAN_RECORDS: Final = 1000
"""JSON: a mapped key none of the first this-many records has is a file-level error."""
ROW_FIELD: Final = "(row)"
"""The field of a :class:`RowError` for a row that could not be split into fields."""

_ORDER: Final = {t: i for i, t in enumerate(TARGETS)}
_SLUG = re.compile(SLUG_PATTERN)
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_EWC = re.compile(
    r"(?:(?:ewc|eak|avv|low)\s*[:#-]?\s*)?(\d{2})[\s./-]?(\d{2})[\s./-]?(\d{2})\s*\*?", re.I
)
_EWC_LOST_ZERO = re.compile(r"(\d{5})\s*\*?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d*)?")
_EXCEL_MAX_SERIAL: Final = 2_958_466  # 9999-12-31
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, ParseError, EOFError)

Scalar = str | int | float | datetime | date
ColumnName = Annotated[str, StringConstraints(min_length=1)]


def _did_you_mean(name: str, choices: Collection[str]) -> str:
    folded = {str(c).casefold(): str(c) for c in choices}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.5)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


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
    ) = Field(default=None, description="CSV: one character; unset: ',' (a tab for .tsv).")
    encoding: str = Field(default="utf-8-sig", description="CSV and JSON: text encoding.")
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
    decimal_comma: bool = Field(default=False, description="Quantities are written 1.234,5.")
    timezone: str = Field(default="UTC", description="IANA zone of dates without one.")
    date_format: str | None = Field(
        default=None, description="strptime format of text dates; unset: ISO 8601."
    )

    @field_validator("columns", "defaults")
    @classmethod
    def _known_targets(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_targets(value)
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as e:
            raise ValueError(f"unknown encoding {value!r}") from e
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
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise ErpImportError(f"{path}: no such mapping file") from e
    except IsADirectoryError as e:
        raise ErpImportError(f"{path}: is a directory, not a mapping file") from e
    except UnicodeDecodeError as e:
        raise ErpImportError(f"{path}: not UTF-8 text (bad byte at offset {e.start})") from e
    except OSError as e:
        raise ErpImportError(f"{path}: cannot read: {e.strerror or e}") from e
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
    message = err["msg"].removeprefix("Value error, ")
    return f"{path}: {where}: {message}" if where else f"{path}: {message}"


# --- value normalisers (raise ValueError with a reason a user understands) ---------------------


def slugify(text: str) -> str:
    """A slug of ``text``: ASCII, lower case, other runs -> ``-`` (a lone ``_`` is kept).

    Returns ``""`` when the text has no letters or digits; otherwise the result matches
    :data:`schemas.common.SLUG_PATTERN` (length aside).
    """
    if _SLUG.fullmatch(text):
        return text
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NON_SLUG.sub(lambda m: "_" if m.group() == "_" else "-", folded).strip("-_")


def normalise_ewc(value: object) -> str:
    """An EWC code as six digits: ``"10 01 05*"``, ``"10.01.05"``, ``"EWC 100105"``, ``100105``.

    A five-digit value is a code that lost its leading zero on the way through a spreadsheet
    (``20101`` -> ``"020101"``). Does not check that the code is on the List of Waste.

    Raises:
        ValueError: the value is not written like an EWC code.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an EWC code")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if 0 < value < 1_000_000:
            return f"{value:06d}"
        raise ValueError(f"{value!r} is not an EWC code (six digits, e.g. 10 01 05)")
    text = str(value).strip()
    found = _EWC.fullmatch(text)
    if found:
        return "".join(found.groups())
    lost_zero = _EWC_LOST_ZERO.fullmatch(text)
    if lost_zero:
        return "0" + lost_zero.group(1)
    raise ValueError(f"{text!r} is not an EWC code (six digits, e.g. 10 01 05)")


def parse_quantity(value: object, *, decimal_comma: bool = False) -> float:
    """A finite number from a cell: ``12``, ``12.5``, ``1,234.5``; ``1.234,5`` with a comma.

    Spaces (also non-breaking) and ``'`` between digit groups are ignored. Without
    ``decimal_comma`` a comma is only accepted as a thousands separator (``1,234``), so
    ``2,5`` is an error rather than silently 25.

    Raises:
        ValueError: not a number in the expected notation, or not finite.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        for sep in (" ", "\u00a0", "\u202f", "'"):
            text = text.replace(sep, "")
        if decimal_comma:
            if not _DECIMAL_COMMA.fullmatch(text) or not any(c.isdigit() for c in text):
                raise ValueError(f"{value!r} is not a number written with a decimal comma")
            text = text.replace(".", "").replace(",", ".")
        elif "," in text:
            if not _GROUPED.fullmatch(text):
                raise ValueError(
                    f"{value!r} is not a number; if the export writes 2,5 for 2.5, set "
                    "'decimal_comma: true' in the mapping"
                )
            text = text.replace(",", "")
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{value!r} is not a number")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def parse_datetime(
    value: object,
    *,
    tz: tzinfo,
    date_format: str | None = None,
    excel_serials: bool = False,
    excel_epoch: datetime | None = None,
) -> datetime:
    """A timezone-aware timestamp from a cell.

    Args:
        value: a ``datetime``/``date`` (XLSX date cells), an ISO 8601 text (or one in
            ``date_format``), or with ``excel_serials`` an Excel serial day number.
        tz: the zone of a value without one.
        date_format: ``strptime`` format of text values; ``None``: ISO 8601.
        excel_serials: accept numbers as Excel serial dates (XLSX cells formatted as numbers).
        excel_epoch: the workbook's epoch (1900 or 1904 date system); ``None``: 1900.

    Raises:
        ValueError: not a date in the expected notation.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not excel_serials:
            raise ValueError(f"{value!r} is a number, not a date")
        if not 1 <= value < _EXCEL_MAX_SERIAL:
            raise ValueError(f"{value!r} is not an Excel date serial number")
        from openpyxl.utils.datetime import (  # type: ignore[import-untyped,unused-ignore]
            CALENDAR_WINDOWS_1900,
            from_excel,
        )

        converted: datetime = from_excel(value, excel_epoch or CALENDAR_WINDOWS_1900)
        moment = converted
    else:
        text = str(value).strip()
        try:
            if date_format is not None:
                moment = datetime.strptime(text, date_format)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError as e:
            expected = (
                f"in the mapping's date_format {date_format!r}"
                if date_format is not None
                else "in ISO 8601 (2025-03-01 or 2025-03-01T08:00); set date_format in the "
                "mapping for another notation"
            )
            raise ValueError(f"{text!r} is not a date {expected}") from e
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        raise ValueError("expected a single value, not a list or object")
    return str(value)


def _slug_value(value: object) -> str:
    slug = slugify(_text(value))
    if not slug:
        raise ValueError(f"{value!r} has no letters or digits to make an id of")
    return slug


def _ewc_value(value: object) -> str:
    code = normalise_ewc(value)
    if code not in catalogue().entries:
        raise ValueError(f"{code[:2]} {code[2:4]} {code[4:]} is not on the European List of Waste")
    return code


def _cell(value: object) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _normalisers(
    mapping: ColumnMapping,
    *,
    excel_serials: bool = False,
    epoch: Callable[[], datetime | None] = lambda: None,
) -> dict[str, Callable[[object], Any]]:
    """Per target field: cell -> normalised value (raises ValueError with the reason)."""
    zone = ZoneInfo(mapping.timezone)

    def when(value: object) -> datetime:
        return parse_datetime(
            value,
            tz=zone,
            date_format=mapping.date_format,
            excel_serials=excel_serials,
            excel_epoch=epoch(),
        )

    def quantity(value: object) -> float:
        return parse_quantity(value, decimal_comma=mapping.decimal_comma)

    def unit(value: object) -> str:
        text = _text(value)
        parse_unit(text)
        return text

    return {
        "id": _slug_value,
        "site": _slug_value,
        "stream": _slug_value,
        "kind": lambda v: _text(v).lower(),
        "description": _text,
        "ewc": _ewc_value,
        "quantity": quantity,
        "unit": unit,
        "available_from": when,
        "available_until": when,
    }


def normalised_defaults(mapping: ColumnMapping) -> dict[str, Any]:
    """The mapping's ``defaults``, normalised as cells are.

    Raises:
        ValueError: a default is invalid (``defaults.<field>: reason``).
    """
    normalisers = _normalisers(mapping)
    defaults: dict[str, Any] = {}
    for target, value in mapping.defaults.items():
        try:
            defaults[target] = normalisers[target](value)
        except ValueError as e:
            raise ValueError(f"defaults.{target}: {e}") from e
    return defaults


@lru_cache(maxsize=16_384)
def _classify(description: str) -> Classification:
    return classify(description)


# --- rows and errors ---------------------------------------------------------------------------


class RawRow(NamedTuple):
    """One data row as read, before conversion.

    Attributes:
        line: the line a user sees: CSV and JSON Lines physical line (the first, for a quoted
            value spanning lines), XLSX sheet row, JSON record number (1-based).
        values: source column (or key) -> cell.
        problem: why the row could not be split into fields (extra cells, not JSON), or None.
    """

    line: int
    values: dict[str, Any]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row: where, which field, why, and the row as read.

    Attributes:
        line: as :attr:`RawRow.line`.
        field: the source column at fault; the offer field's name when no column feeds it,
            ``"(row)"`` when the row could not be split into fields.
        reason: why; lists every problem of the row when there are several.
        raw: the row as read, source column -> cell.
    """

    line: int
    field: str
    reason: str
    raw: Mapping[str, Any]

    def payload(self) -> bytes:
        """The row as read, as a JSON object (dates as ISO text); never raises."""
        try:
            return orjson.dumps(dict(self.raw), default=str, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            return repr(dict(self.raw)).encode()


# --- sources: one per format, streaming RawRows ------------------------------------------------


class _Source(ABC):
    """A data file opened and its header read; rows streamed by :meth:`rows`."""

    unit: Literal["bytes", "rows", "records"]
    total: int | None
    keys: Collection[str]
    """What mapped columns must be among: the header, or the keys seen in the first records."""
    duplicates: Collection[str] = ()

    @abstractmethod
    def rows(self) -> Iterator[RawRow]:
        """Data rows, blank ones skipped."""

    @abstractmethod
    def done(self) -> int:
        """Progress so far, in :attr:`unit`."""

    @abstractmethod
    def close(self) -> None:
        """Release the file."""


def _header(cells: Collection[object]) -> tuple[list[str], set[str]]:
    names = ["" if c is None else _text(c).strip() for c in cells]
    seen: set[str] = set()
    duplicates: set[str] = set()
    for name in names:
        (duplicates if name in seen else seen).add(name)
    return names, duplicates


def _split(line: int, names: list[str], cells: Sequence[Any]) -> RawRow:
    """A row's cells by header name; short rows padded with None, extra cells a problem."""
    if len(cells) < len(names):
        cells = (*cells, *(None,) * (len(names) - len(cells)))
    problem = None
    if len(cells) > len(names) and any(_cell(c) is not None for c in cells[len(names) :]):
        problem = f"{len(cells)} cells, but the header has {len(names)} columns"
    return RawRow(line, dict(zip(names, cells, strict=False)), problem)


class _CsvSource(_Source):
    unit = "bytes"

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        self._raw: IO[bytes] = path.open("rb")
        self.total = os.fstat(self._raw.fileno()).st_size
        self._text = io.TextIOWrapper(
            self._raw, encoding=mapping.encoding, errors="replace", newline=""
        )
        delimiter = mapping.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
        self._reader = csv.reader(self._text, delimiter=delimiter)
        try:
            cells = next((row for row in self._reader if any(c.strip() for c in row)), None)
        except csv.Error as e:
            self._text.close()
            raise ErpImportError(f"{path}:{self._reader.line_num}: not CSV: {e}") from e
        except BaseException:
            self._text.close()
            raise
        if cells is None:
            self._text.close()
            raise ErpImportError(f"{path}: the file is empty: no header line")
        self._names, self.duplicates = _header(cells)
        self.keys = self._names

    def rows(self) -> Iterator[RawRow]:
        names = self._names
        end = self._reader.line_num
        while True:
            start = end + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as e:
                end = self._reader.line_num
                yield RawRow(start, {}, f"not CSV: {e}")
                continue
            end = self._reader.line_num
            if not any(c.strip() for c in cells):
                continue
            yield _split(start, names, cells)

    def done(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


class _XlsxSource(_Source):
    unit = "rows"

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise
        except (*_READ_ERRORS, KeyError, ValueError, TypeError) as e:
            raise ErpImportError(f"{path}: not a readable XLSX workbook: {e}") from e
        try:
            if mapping.sheet is None:
                if not self._book.worksheets:
                    raise ErpImportError(f"{path}: the workbook has no worksheet")
                sheet = self._book.worksheets[0]
            elif mapping.sheet in self._book.sheetnames:
                sheet = self._book[mapping.sheet]
            else:
                names = self._book.sheetnames
                raise ErpImportError(
                    f"{path}: sheet: no sheet {mapping.sheet!r}"
                    f"{_did_you_mean(mapping.sheet, names)}; the workbook has: {', '.join(names)}"
                )
            self.epoch: datetime = self._book.epoch
            # The stored dimension is only an estimate for progress: read-only sheets stop at
            # it, and some exporters write a stale one, so reading goes on to the last row.
            max_row = sheet.max_row
            self.total = max_row if isinstance(max_row, int) and max_row > 0 else None
            sheet.reset_dimensions()
            self._rows: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
            self._line = 0
            cells = None
            for row in self._rows:
                self._line += 1
                if any(_cell(c) is not None for c in row):
                    cells = row
                    break
        except ErpImportError:
            self._book.close()
            raise
        except _READ_ERRORS as e:
            self._book.close()
            raise ErpImportError(f"{path}: not a readable XLSX workbook: {e}") from e
        if cells is None:
            self._book.close()
            raise ErpImportError(f"{path}: the sheet is empty: no header row")
        self._names, self.duplicates = _header(cells)
        self.keys = self._names

    def rows(self) -> Iterator[RawRow]:
        names = self._names
        for cells in self._rows:
            self._line += 1
            if all(_cell(c) is None for c in cells):
                continue
            yield _split(self._line, names, cells)

    def done(self) -> int:
        return self._line if self.total is None else min(self._line, self.total)

    def close(self) -> None:
        self._book.close()


def _record_keys(records: Iterator[object]) -> set[str]:
    keys: set[str] = set()
    for _, record in zip(range(KEY_SCAN_RECORDS), records, strict=False):
        if isinstance(record, dict):
            keys.update(record)
    return keys


def _record_row(line: int, record: object) -> RawRow:
    if isinstance(record, dict):
        return RawRow(line, record)
    return RawRow(line, {"(record)": record}, f"not an object but {type(record).__name__}")


class _JsonSource(_Source):
    unit = "records"

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        data = path.read_bytes()
        try:
            document = orjson.loads(data.decode(mapping.encoding))
        except UnicodeDecodeError as e:
            raise ErpImportError(
                f"{path}: not {mapping.encoding} text (bad byte at offset {e.start}); "
                "set encoding in the mapping"
            ) from e
        except orjson.JSONDecodeError as e:
            raise ErpImportError(f"{path}: not JSON: {e}") from e
        records = document
        if isinstance(document, dict):
            if mapping.records is None:
                lists = [k for k, v in document.items() if isinstance(v, list)]
                raise ErpImportError(
                    f"{path}: the top level is an object: set 'records' in the mapping to the "
                    f"key of the list of records (lists here: {', '.join(lists) or 'none'})"
                )
            for key in mapping.records.split("."):
                if not isinstance(records, dict) or key not in records:
                    raise ErpImportError(f"{path}: records: no key {mapping.records!r}")
                records = records[key]
        if not isinstance(records, list):
            raise ErpImportError(
                f"{path}: expected a list of records, got {type(records).__name__}"
            )
        self._records: list[object] = records
        self.total = len(records)
        self._index = 0
        self.keys = _record_keys(iter(records))

    def rows(self) -> Iterator[RawRow]:
        for index, record in enumerate(self._records, start=1):
            self._index = index
            yield _record_row(index, record)

    def done(self) -> int:
        return self._index

    def close(self) -> None:
        self._records = []


class _JsonLinesSource(_Source):
    unit = "bytes"

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        self._raw: IO[bytes] = path.open("rb")
        self.total = os.fstat(self._raw.fileno()).st_size
        self._encoding = mapping.encoding
        try:
            self.keys = _record_keys(record for _, record, _ in self._parsed())
            self._raw.seek(0)
        except BaseException:
            self._raw.close()
            raise

    def _parsed(self) -> Iterator[tuple[int, object, str | None]]:
        for line, data in enumerate(self._raw, start=1):
            text = data.decode(self._encoding, errors="replace").strip()
            if not text:
                continue
            try:
                yield line, orjson.loads(text), None
            except orjson.JSONDecodeError as e:
                yield line, text, f"not JSON: {e}"

    def rows(self) -> Iterator[RawRow]:
        for line, record, problem in self._parsed():
            if problem is None:
                yield _record_row(line, record)
            else:
                yield RawRow(line, {"(line)": record}, problem)

    def done(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


_SOURCES: Final[Mapping[ExportFormat, Callable[[Path, ColumnMapping], _Source]]] = {
    "csv": _CsvSource,
    "json": _JsonSource,
    "jsonl": _JsonLinesSource,
    "xlsx": _XlsxSource,
}


def _open_source(path: Path, mapping: ColumnMapping, fmt: ExportFormat) -> _Source:
    try:
        source = _SOURCES[fmt](path, mapping)
    except FileNotFoundError as e:
        raise ErpImportError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise ErpImportError(f"{path}: is a directory, not an export file") from e
    except OSError as e:
        raise ErpImportError(f"{path}: cannot read: {e.strerror or e}") from e
    try:
        _check_columns(path, mapping, source, fmt)
    except ErpImportError:
        source.close()
        raise
    return source


def _check_columns(path: Path, mapping: ColumnMapping, source: _Source, fmt: str) -> None:
    where = (
        "the header" if fmt in ("csv", "xlsx") else f"any of the first {KEY_SCAN_RECORDS:,} records"
    )
    for target, column in mapping.columns.items():
        if column not in source.keys:
            shown = ", ".join(repr(k) for k in sorted(source.keys, key=str)[:30])
            raise ErpImportError(
                f"{path}: column {column!r} (mapped to {target}) is not in {where}"
                f"{_did_you_mean(column, source.keys)}; found: {shown or 'nothing'}"
            )
        if column in source.duplicates:
            raise ErpImportError(
                f"{path}: column {column!r} (mapped to {target}) appears more than once in {where}"
            )


# --- conversion --------------------------------------------------------------------------------


class _Converter:
    """Turns :class:`RawRow` s into offers or row errors; remembers ids to catch repeats."""

    def __init__(self, path: Path, mapping: ColumnMapping, fmt: ExportFormat) -> None:
        self._name = path.name[:180]
        self._stem = slugify(path.stem) or "row"
        self._columns: dict[str, str] = dict(mapping.columns)
        self._template = mapping.id_template
        self._encoding = mapping.encoding
        self._check_replacement = fmt in ("csv", "jsonl")
        self.excel_epoch: datetime | None = None
        self._normalisers = _normalisers(
            mapping, excel_serials=fmt == "xlsx", epoch=lambda: self.excel_epoch
        )
        try:
            self._defaults = normalised_defaults(mapping)
        except ValueError as e:  # checked by load_mapping; here for hand-built mappings
            raise ErpImportError(f"mapping: {e}") from e
        self._seen: dict[str, int] = {}

    def _field(self, target: str) -> str:
        return self._columns.get(target, target)

    def __call__(self, row: RawRow) -> Offer | RowError:
        if row.problem is not None:
            return RowError(row.line, ROW_FIELD, row.problem, row.values)
        values: dict[str, Any] = {}
        issues: dict[str, str] = {}
        for target, column in self._columns.items():
            cell = _cell(row.values.get(column))
            if cell is None:
                continue
            if self._check_replacement and isinstance(cell, str) and "\ufffd" in cell:
                issues[target] = (
                    f"has bytes that are not {self._encoding}; set 'encoding' in the mapping "
                    "(e.g. cp1252)"
                )
                continue
            try:
                values[target] = self._normalisers[target](cell)
            except ValueError as e:
                issues[target] = str(e)
        for target, value in self._defaults.items():
            if target not in values and target not in issues:
                values[target] = value
        if "id" not in values and "id" not in issues:
            template_id = slugify(
                self._template.format(stem=self._stem, line=row.line, site=values.get("site", ""))
            )
            values["id"] = template_id or f"{self._stem}-{row.line}"
        self._decide_kind(values, issues)
        values["source"] = f"{self._name}:{row.line}"
        if not issues:
            try:
                offer = Offer.model_validate(values)
            except ValidationError as e:
                for err in e.errors(include_url=False):
                    self._add_issue(issues, err)
            else:
                first = self._seen.setdefault(offer.id, row.line)
                if first == row.line:
                    return offer
                issues["id"] = f"duplicate id {offer.id!r}, first on line {first}"
        else:  # report model problems of the other fields too, in one go
            rest = {k: v for k, v in values.items() if k not in issues}
            try:
                Offer.model_validate(rest)
            except ValidationError as e:
                for err in e.errors(include_url=False):
                    if err["type"] != "missing":
                        self._add_issue(issues, err)
        return self._row_error(row, issues)

    def _decide_kind(self, values: dict[str, Any], issues: dict[str, str]) -> None:
        kind = values.get("kind")
        if "ewc" in values or "ewc" in issues or "kind" in issues or kind not in (None, "material"):
            if "ewc" in values and kind is None:
                values["kind"] = "material"
            values["classification"] = {"method": "erp"}
            return
        description = values.get("description")
        if description is None:
            return
        try:
            found = _classify(description)
        except ClassificationError as e:
            if kind is None:
                issues["description"] = str(e)
            values["classification"] = {"method": "erp"}
            return
        if kind is None:
            kind = values["kind"] = found.kind.value
        codes = tuple(c.code for c in found.candidates)
        confidence = found.kind_confidence
        if kind == "material" and found.candidates:
            values["ewc"] = codes[0]
            confidence = found.candidates[0].confidence
        values["classification"] = {
            "method": "classifier",
            "confidence": confidence,
            "candidates": codes,
        }

    def _add_issue(self, issues: dict[str, str], err: ErrorDetails) -> None:
        loc = err["loc"]
        # The model's only check without a location is the availability window.
        target = str(loc[0]) if loc else "available_until"
        if target in issues:
            return
        if err["type"] == "missing":
            message = "required, but the cell is empty" if target in self._columns else "required"
        else:
            message = err["msg"].removeprefix("Value error, ")
            shown = repr(err["input"])
            shown = shown if len(shown) <= 80 else shown[:76] + "...'"
            if loc and shown not in message:
                message += f" (got {shown})"
        issues[target] = message

    def _row_error(self, row: RawRow, issues: dict[str, str]) -> RowError:
        ordered = sorted(issues.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER)))
        (target, reason), *rest = ordered
        if rest:
            reason += "; " + "; ".join(f"{self._field(t)}: {m}" for t, m in rest)
        return RowError(row.line, self._field(target), reason, row.values)


class ErpExport:
    """An open ERP export: format known, mapped columns checked; rows converted as iterated.

    Iterate once to get an :class:`Offer` or a :class:`RowError` per non-blank data row, in
    file order. :meth:`progress` tells how far reading got, for a progress bar. Use as a
    context manager (or call :meth:`close`).
    """

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        """Open the file and check the mapping against it; converts no row yet.

        Raises:
            ErpImportError: unknown format, the file is missing or unreadable (not CSV, not
                JSON, not an XLSX workbook, no such sheet, no header, undecodable JSON), a
                mapped column is not in the header (or in none of the first JSON records) or
                appears twice, or a ``defaults`` value is invalid.
        """
        self.path = path
        self.mapping = mapping
        self.format: ExportFormat = mapping.resolve_format(path)
        self._convert = _Converter(path, mapping, self.format)
        self._source = _open_source(path, mapping, self.format)
        if isinstance(self._source, _XlsxSource):
            self._convert.excel_epoch = self._source.epoch
        self.rows_read = 0
        """Non-blank data rows read so far."""

    @property
    def progress_unit(self) -> Literal["bytes", "rows", "records"]:
        """What :meth:`progress` counts: bytes (CSV, JSON Lines), sheet rows, JSON records."""
        return self._source.unit

    def progress(self) -> tuple[int, int | None]:
        """``(done, total)`` in :attr:`progress_unit`; total is None when unknown (XLSX)."""
        return self._source.done(), self._source.total

    def rows(self) -> Iterator[RawRow]:
        """The non-blank data rows as read, unconverted.

        Raises:
            ErpImportError: reading failed part-way (I/O error, corrupt workbook); the rows
                before it were yielded.
        """
        rows = self._source.rows()
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except _READ_ERRORS as e:
                raise ErpImportError(
                    f"{self.path}: reading stopped after {self.rows_read} rows: {e}"
                ) from e
            self.rows_read += 1
            yield row

    def __iter__(self) -> Iterator[Offer | RowError]:
        """Each data row as an offer or a row error (see :meth:`rows` for what raises)."""
        convert = self._convert
        for row in self.rows():
            yield convert(row)

    def close(self) -> None:
        """Release the file."""
        self._source.close()

    def __enter__(self) -> ErpExport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_offers(path: Path, mapping: ColumnMapping) -> Iterator[Offer | RowError]:
    """Every data row of an export as an :class:`Offer` or a :class:`RowError`, in file order.

    The file is opened and checked now, so file-level problems raise here, before any row is
    read; the file is closed when the iterator is exhausted or closed.

    Raises:
        ErpImportError: as :class:`ErpExport`; while iterating, as :meth:`ErpExport.rows`.
    """
    export = ErpExport(path, mapping)

    def iterate() -> Iterator[Offer | RowError]:
        with export:
            yield from export

    return iterate()
