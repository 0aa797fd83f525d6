"""File readers: one per format, each opening an export, checking its header and streaming rows."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple
from xml.etree.ElementTree import ParseError

import openpyxl  # type: ignore[import-untyped,unused-ignore]
import orjson

from domain.errors import ErpImportError
from domain.files import file_errors
from ingest.erp.dialect import (
    Setting,
    TextDialect,
    UnclearEncodingError,
    encoding_name,
    likely_delimiter,
    likely_encoding,
    resolve_delimiter,
    resolve_encoding,
    whole_lines,
)
from ingest.erp.limits import ImportLimits, size_text
from ingest.erp.mapping import (
    HEADER_SEARCH_LINES,
    ColumnMapping,
    ExportFormat,
    _did_you_mean,
    header_key,
)
from ingest.erp.values import _cell, _text

KEY_SCAN_RECORDS: Final = 1000
"""JSON: a mapped key none of the first this-many records has is a file-level error."""
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, ParseError, EOFError)
_ZIP_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""Compression methods of XLSX members (bzip2 and lzma inflate a whole read at once)."""

# CSV and JSON Lines are decoded with this error handler: each byte that is not valid in the
# encoding becomes a lone low surrogate U+DC00 + byte, which no strict decoding yields. A row
# with one is rejected, naming the column (_undecodable_row); nothing is silently replaced.
_UNDECODABLE: Final = "ingest.erp.undecodable"
_MARKS: Final = re.compile("[\udc00-\udcff]")
_RULER: Final = re.compile(r"[-=_+|\s]*")
"""A cell of a ruler line: SAP list exports draw lines of dashes between header and data."""
OLE2_MAGIC: Final = bytes.fromhex("D0CF11E0A1B11AE1")
"""The first bytes of a legacy Excel workbook (.xls, BIFF in an OLE2 compound file)."""
ZIP_MAGIC: Final = b"PK\x03\x04"
LEGACY_XLS: Final = (
    "a legacy Excel workbook (.xls, BIFF), which is not read: save it as .xlsx or CSV"
)
MARKUP_STARTS: Final = (b"<html", b"<table", b"<?xml", b"<!doctype html", b"<meta")
"""How a .xls that is an HTML table or an XML Spreadsheet 2003 (both open in Excel) starts."""
MARKUP_XLS: Final = (
    "an HTML or XML spreadsheet named .xls (Excel opens it, but it is no workbook nor CSV), "
    "which is not read: open it in Excel and save it as .xlsx (or CSV)"
)


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_UNDECODABLE, _mark_undecodable)


class RawRow(NamedTuple):
    """One data row as read, before conversion.

    Attributes:
        line: the line a user sees: CSV and JSON Lines physical line (the first, for a quoted
            value spanning lines), XLSX sheet row, JSON record number (1-based).
        values: source column (or key) -> cell.
        problem: why the row could not be split into fields (extra cells, not JSON, bytes not
            in the encoding, a line over the length cap), or None.
        field: the source column at fault for ``problem``; None: the row as a whole.
    """

    line: int
    values: dict[str, Any]
    problem: str | None = None
    field: str | None = None


class Given(NamedTuple):
    """The encoding and delimiter given (command line, else mapping); None: detect them.

    ``report`` is called with the dialect as soon as it is known, before the header is read,
    so that a header error comes after the encoding it was read in.
    """

    encoding: Setting | None = None
    delimiter: Setting | None = None
    report: Callable[[TextDialect], None] | None = None


class _Source(ABC):
    """A data file opened and its header read; rows streamed by :meth:`rows`."""

    unit: Literal["bytes", "rows", "records"]
    total: int | None
    keys: Collection[str]
    """What mapped columns must be among: the header, or the keys seen in the first records."""
    duplicates: Collection[str] = ()
    dialect: TextDialect | None = None
    """How a text export is read (None: XLSX)."""
    one_column: tuple[int, str] | None = None
    """CSV whose header is one column: its line and the delimiter it seems to use instead."""
    header_line: int | None = None
    """CSV and XLSX: the line (sheet row) of the header."""
    header_searched: bool = False
    """CSV and XLSX: the header was searched for (no ``header_row``) and no line held every
    mapped column: :attr:`header_line` is the first non-blank one."""
    normalised_names: bool = False
    """Column names are matched by :func:`~ingest.erp.mapping.header_key` (CSV and XLSX)."""
    reopen: Callable[[], _Source] | None = None
    """Opens the same file again, read as this one is (its dialect fixed); None when it cannot
    be read twice (not a regular file: a pipe). Set by :func:`_open_source`."""

    @abstractmethod
    def rows(self) -> Iterator[RawRow]:
        """Data rows, blank ones skipped."""

    def rescan(self) -> Iterator[RawRow] | None:
        """Every data row, from a second pass that leaves :meth:`rows` where it is.

        None when the file cannot be read twice.

        The second pass is a stream (a second handle on the file, closed when the iterator is
        exhausted or closed): it holds no more than one row at a time.

        Raises (while iterating):
            ErpImportError: the file cannot be opened again, or reading it failed.
        """
        reopen = self.reopen
        if reopen is None:
            return None

        def again() -> Iterator[RawRow]:
            source = reopen()
            try:
                yield from source.rows()
            finally:
                source.close()

        return again()

    @abstractmethod
    def done(self) -> int:
        """Progress so far, in :attr:`unit`."""

    @abstractmethod
    def close(self) -> None:
        """Release the file."""


def _header(cells: Collection[object]) -> tuple[list[str], set[str]]:
    """The header's names (whitespace normalised, :func:`header_key`) and those seen twice."""
    names = ["" if c is None else header_key(_text(c)) for c in cells]
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


def _escaped(value: Any) -> Any:
    r"""``value`` with each undecodable byte written ``\xNN`` (in strings, lists, objects)."""
    if isinstance(value, str):
        return _MARKS.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value


def _marked(value: Any) -> str | None:
    """The first string in ``value`` (or in its lists and objects) with an undecodable byte."""
    if isinstance(value, str):
        return value if _MARKS.search(value) else None
    items: Iterable[Any] = ()
    if isinstance(value, dict):
        items = itertools.chain.from_iterable(value.items())
    elif isinstance(value, list):
        items = value
    return next((found for found in map(_marked, items) if found is not None), None)


def _raw_bytes(text: str, encoding: str) -> bytes | None:
    """The bytes ``text`` was decoded from (undecodable bytes marked); None if unknown."""
    try:
        if "a".encode(encoding) != b"a":  # UTF-16 and -32: not byte for byte
            return None
        return b"".join(
            bytes([ord(c) - 0xDC00]) if "\udc00" <= c <= "\udcff" else c.encode(encoding)
            for c in text
        )
    except (LookupError, UnicodeError):
        return None


def _undecodable_reason(text: str, encoding: str, note: str = "") -> str:
    """Why ``text`` (read as ``encoding``) is bad: its first byte not in the encoding.

    The byte is shown in context, with the encoding the bytes look like (``(e.g. gb18030)``)
    when there is a likelier one. ``note`` follows the encoding's name (how it was chosen).
    """
    first = _MARKS.search(text)
    if first is None:
        return f"not valid {encoding}{note}"
    start, end = first.span()
    shown = _escaped(text[max(0, start - 20) : end + 20])
    shown = "..." * (start > 20) + shown + "..." * (end + 20 < len(text))
    raw = _raw_bytes(text, encoding)
    likely = likely_encoding(raw, encoding) if raw is not None else None
    hint = f" (e.g. {likely})" if likely is not None else ""
    return (
        f'not valid {encoding}{note}: byte 0x{ord(first.group()) - 0xDC00:02X} in "{shown}"; set '
        f"--encoding or 'encoding' in the mapping{hint}"
    )


def _encoding(path: Path, given: Given, sample: bytes) -> Setting:
    """The encoding given, or the one detected from ``sample``.

    Raises:
        ErpImportError: none given and the sample's legacy encoding cannot be told (the
            message names the candidates and asks for ``--encoding``).
    """
    try:
        return resolve_encoding(given.encoding, sample)
    except UnclearEncodingError as e:
        raise ErpImportError(f"{path}: {e}") from e


def _detected_note(encoding: Setting, limits: ImportLimits) -> str:
    """How a detected encoding was chosen, for messages about bytes it cannot decode."""
    if encoding.origin != "detected":
        return ""
    return f" (detected from the file's first {size_text(limits.sniff_bytes)})"


def _undecodable_row(row: RawRow, encoding: str, note: str = "") -> RawRow:
    """``row`` rejected for its first cell with undecodable bytes (unchanged if it has none)."""
    for column, cell in row.values.items():
        field: str | None = column
        text = _marked(cell)
        if _MARKS.search(column):
            field, text = None, column
        if text is not None:
            reason = _undecodable_reason(text, encoding, note)
            return RawRow(row.line, _escaped(row.values), reason, field)
    return row


class _CsvSource(_Source):
    unit = "bytes"

    def __init__(
        self, path: Path, mapping: ColumnMapping, limits: ImportLimits, given: Given
    ) -> None:
        self._raw = _open_peekable(path, limits)
        try:
            self.total = os.fstat(self._raw.fileno()).st_size
            sample = self._raw.peek(limits.sniff_bytes)[: limits.sniff_bytes]
            encoding = _encoding(path, given, sample)
            default = "\t" if path.suffix.lower() in (".tsv", ".xls") else ","
            head = whole_lines(sample).decode(encoding.value, errors="replace")
            columns = list(mapping.columns.values())
            delimiter = resolve_delimiter(given.delimiter, head, default, columns)
        except BaseException:
            self._raw.close()
            raise
        self.dialect = TextDialect(encoding, delimiter)
        if given.report is not None:
            given.report(self.dialect)
        self._text = io.TextIOWrapper(
            self._raw, encoding=encoding.value, errors=_UNDECODABLE, newline=""
        )
        self._encoding = encoding_name(encoding.value)
        self._note = _detected_note(encoding, limits)
        self._max_line = limits.line_bytes
        self._line = 0
        """Physical lines read."""
        self._long_line: int | None = None
        """A line of the current record over the length cap (the CSV reader saw it blank)."""
        self._undecodable = False
        """The current record has bytes not in the encoding."""
        self._reader = csv.reader(self._lines(), delimiter=delimiter.value)
        self.normalised_names = True
        try:
            line, cells = self._header(path, mapping)
        except BaseException:
            self._text.close()
            raise
        self.header_line = line
        self._names, self.duplicates = _header(cells)
        self.keys = self._names
        self._list = (
            delimiter.value == "|" and len(cells) > 2 and not (cells[0] + cells[-1]).strip()
        )
        """SAP's list format (``|Material|Werk|``): its page titles are one-cell lines."""
        self._probe = next((i for i, name in enumerate(self._names) if name), 0)
        """A header column with a name: a record is compared to the header by it first."""
        if len(cells) == 1:
            instead = likely_delimiter(cells[0], delimiter.value)
            self.one_column = (line, instead) if instead is not None else None

    def _lines(self) -> Iterator[str]:
        """Physical lines for the CSV reader, never one longer than the cap held whole."""
        readline, limit = self._text.readline, self._max_line
        while line := readline(limit):
            self._line += 1
            if len(line) == limit and not line.endswith(("\n", "\r")):
                while len(rest := readline(limit)) == limit and not rest.endswith(("\n", "\r")):
                    pass
                self._long_line = self._long_line or self._line
                yield "\n"
                continue
            if _MARKS.search(line):
                self._undecodable = True
            yield line

    def _next(self) -> list[str] | None:
        """The next record (None at the end), its problem flags reset first."""
        self._long_line, self._undecodable = None, False
        return next(self._reader, None)

    def _too_long(self) -> str:
        return f"line {self._long_line} is longer than {self._max_line:,} characters"

    def _header(self, path: Path, mapping: ColumnMapping) -> tuple[int, list[str]]:
        """The header's line and cells (see :func:`_header_search`)."""
        search = _HeaderSearch(path, mapping)
        while True:
            start = self._line + 1
            if search.given_up(start):
                self.header_searched = True
                return search.fallback()
            try:
                cells = self._next()
            except csv.Error as e:
                raise ErpImportError(f"{path}:{self._line}: not CSV: {e}") from e
            if self._long_line is not None:
                raise ErpImportError(f"{path}:{start}: the header: {self._too_long()}")
            if cells is None:
                first = search.fallback()
                self.header_searched = search.searched
                return first
            if self._undecodable:
                bad = next(filter(_MARKS.search, cells), "")
                reason = _undecodable_reason(bad, self._encoding, self._note)
                raise ErpImportError(f"{path}:{start}: the header is {reason}")
            if search.found(start, cells):
                self.header_searched = search.searched
                return start, cells

    def rows(self) -> Iterator[RawRow]:
        names = self._names
        while True:
            start = self._line + 1
            try:
                cells = self._next()
            except csv.Error as e:
                yield RawRow(start, {}, f"not CSV: {e}")
                continue
            if self._long_line is not None:
                yield RawRow(start, {}, self._too_long())
                continue
            if cells is None:
                return
            if _blank_or_ruler(cells) or self._page_break(cells):
                continue
            row = _split(start, names, cells)
            yield _undecodable_row(row, self._encoding, self._note) if self._undecodable else row

    def _page_break(self, cells: list[str]) -> bool:
        """Whether a record is one a multi-page list repeats at each page.

        That is the header, or (SAP's ``|`` list format) a one-cell page title line.
        """
        if self._list and len(cells) == 1:
            return True
        names = self._names
        if len(cells) != len(names) or header_key(cells[self._probe]) != names[self._probe]:
            return False  # the cheap test first: one cell, not every row's every cell
        return _header(cells)[0] == names

    def done(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


def _blank_or_ruler(cells: Sequence[object]) -> bool:
    """A record with no value, or a ruler line (``-----``, ``|---|``) of a list export."""
    texts = ["" if c is None else str(c) for c in cells]
    if not any(t.strip() for t in texts):
        return True
    joined = "".join(texts)
    return all(_RULER.fullmatch(t) for t in texts) and joined.count("-") + joined.count("=") >= 3


class _HeaderSearch:
    """Which line of a CSV export or XLSX sheet is its header.

    With the mapping's ``header_row``: that line. Else the first of the first
    :data:`~ingest.erp.mapping.HEADER_SEARCH_LINES` lines that holds every mapped column
    (title lines and ruler lines above it skipped); when none does, the first non-blank line,
    whose missing column :func:`_check_columns` then reports.
    """

    def __init__(self, path: Path, mapping: ColumnMapping) -> None:
        self.path = path
        self.row = mapping.header_row
        self.wanted = {header_key(c) for c in mapping.columns.values()}
        self.first: tuple[int, list[str]] | None = None
        self.searched = False

    def given_up(self, line: int) -> bool:
        """Whether the search should stop before ``line`` (past its window, a first seen)."""
        if self.row is not None:
            return False
        return line > HEADER_SEARCH_LINES and self.first is not None

    def fallback(self) -> tuple[int, list[str]]:
        """The first non-blank line, the file having ended or the window passed.

        Raises:
            ErpImportError: the file has no non-blank line, or none at ``header_row``.
        """
        if self.row is not None:
            raise ErpImportError(f"{self.path}: header_row: the file has no line {self.row}")
        if self.first is None:
            raise ErpImportError(f"{self.path}: the file is empty: no header line")
        self.searched = True
        return self.first

    def found(self, line: int, cells: Sequence[object]) -> bool:
        """Whether the line starting at ``line`` is the header.

        Raises:
            ErpImportError: ``header_row`` is blank, or inside a record that starts above it.
        """
        texts = ["" if c is None else _text(c) for c in cells]
        if self.row is not None:
            if line < self.row:
                return False
            if line > self.row:
                raise ErpImportError(
                    f"{self.path}:{self.row}: header_row: line {self.row} is inside a record "
                    f"that starts on an earlier line (a quoted value spanning lines)"
                )
            if _blank_or_ruler(texts):
                raise ErpImportError(f"{self.path}:{line}: header_row: line {line} is blank")
            return True
        if _blank_or_ruler(texts):
            return False
        if self.first is None:
            self.first = (line, list(texts))
        return self.wanted <= {header_key(t) for t in texts}


def _open_peekable(path: Path, limits: ImportLimits) -> io.BufferedReader:
    """The file, buffered so that its first ``limits.sniff_bytes`` can be peeked at.

    Peeked, not read and read again: a pipe cannot be read twice.
    """
    size = max(limits.sniff_bytes, io.DEFAULT_BUFFER_SIZE)
    return io.BufferedReader(path.open("rb", buffering=0), buffer_size=size)


def file_kind(path: Path) -> Literal["ole2", "zip", "text", "other"]:
    """What a file is by its first bytes: a legacy Office file (OLE2), a zip (XLSX), text.

    Text: no NUL byte and valid UTF-8 or mostly printable in its first 4 KiB (any 8-bit code
    page passes). Raises OSError as opening the file does.
    """
    with path.open("rb") as file:
        head = file.read(4096)
    if head.startswith(OLE2_MAGIC):
        return "ole2"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head or not head:
        return "other"
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\r\n")
    return "text" if controls <= len(head) // 100 else "other"


def _check_workbook_kind(path: Path) -> None:
    """Refuse, saying what it is, a file read as XLSX that is a legacy .xls or text.

    Raises:
        ErpImportError: an OLE2 file (a BIFF .xls), or text (a CSV named .xlsx).
    """
    kind = file_kind(path)
    if kind == "ole2":
        raise ErpImportError(f"{path}: {LEGACY_XLS}")
    if kind == "text":
        raise ErpImportError(
            f"{path}: text, not an XLSX workbook (a zip file): if it is CSV or tab-separated "
            "(as SAP's 'Spreadsheet' export is), set 'format: csv' in the mapping"
        )


def _check_zip(path: Path, limits: ImportLimits) -> None:
    """Refuse a workbook whose members would inflate past the caps (a zip bomb).

    The sizes are those the zip directory declares; zipfile stops inflating a member at its
    declared size (and then fails its CRC check), so they bound what openpyxl can unpack.

    Raises:
        ErpImportError: not a zip file, a member compressed other than by deflate, a member
            over the ratio cap, or the members over the total cap.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ErpImportError(f"{path}: not a readable XLSX workbook: {e}") from e
    total = 0
    for member in members:
        name = member.filename[:100]
        if member.compress_type not in _ZIP_METHODS:
            raise ErpImportError(
                f"{path}: not a readable XLSX workbook: member {name!r} uses compression "
                f"method {member.compress_type} (XLSX uses deflate)"
            )
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.xlsx_ratio_min_bytes and ratio > limits.xlsx_ratio:
            raise ErpImportError(
                f"{path}: refused as a zip bomb: member {name!r} would inflate "
                f"{ratio:,.0f}:1 to {size_text(member.file_size)} (the cap is "
                f"{limits.xlsx_ratio:,g}:1)"
            )
    if total > limits.xlsx_uncompressed_bytes:
        raise ErpImportError(
            f"{path}: refused: the workbook would inflate to {size_text(total)}, over the "
            f"{size_text(limits.xlsx_uncompressed_bytes)} cap for XLSX exports; export CSV "
            "(read as a stream) instead, or split the export"
        )


class _XlsxSource(_Source):
    unit = "rows"

    def __init__(
        self, path: Path, mapping: ColumnMapping, limits: ImportLimits, given: Given
    ) -> None:
        _check_workbook_kind(path)
        _check_zip(path, limits)
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
            search = _HeaderSearch(path, mapping)
            cells: Sequence[object] | None = None
            for row in self._rows:
                self._line += 1
                if search.given_up(self._line):
                    break
                if search.found(self._line, row):
                    cells, self.header_line = row, self._line
                    break
            if cells is None and (search.first is not None or search.row is not None):
                self.header_line, cells = search.fallback()
                self.header_searched = search.searched
        except ErpImportError:
            self._book.close()
            raise
        except _READ_ERRORS as e:
            self._book.close()
            raise ErpImportError(f"{path}: not a readable XLSX workbook: {e}") from e
        if cells is None:
            self._book.close()
            raise ErpImportError(f"{path}: the sheet is empty: no header row")
        self.normalised_names = True
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


def _record_keys(records: Iterable[object]) -> set[str]:
    keys: set[str] = set()
    for _, record in zip(range(KEY_SCAN_RECORDS), records, strict=False):
        if isinstance(record, dict):
            keys.update(record)
    return keys


def _record_row(line: int, record: object) -> RawRow:
    if isinstance(record, dict):
        return RawRow(line, record)
    return RawRow(line, {"(record)": record}, f"not an object but {type(record).__name__}")


def _read_capped(path: Path, cap: int) -> bytes:
    """The whole file, refused when it is over ``cap`` bytes (checked before reading it)."""

    def refuse(size: str) -> ErpImportError:
        return ErpImportError(
            f"{path}: {size} is over the {size_text(cap)} cap for a JSON export, which is "
            "parsed whole in memory; export JSON Lines (.jsonl, one record per line, read as a "
            "stream) or CSV instead"
        )

    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > cap:
            raise refuse(size_text(size))
        data = file.read(cap + 1)  # not a regular file, or growing: stop past the cap
    if len(data) > cap:
        raise refuse("the file")
    return data


class _JsonSource(_Source):
    unit = "records"

    def __init__(
        self, path: Path, mapping: ColumnMapping, limits: ImportLimits, given: Given
    ) -> None:
        data = _read_capped(path, limits.json_bytes)
        encoding = _encoding(path, given, data[: limits.sniff_bytes])
        self.dialect = TextDialect(encoding)
        if given.report is not None:
            given.report(self.dialect)
        try:
            document = orjson.loads(data.decode(encoding.value))
        except UnicodeDecodeError as e:
            raise ErpImportError(
                f"{path}: not {encoding_name(encoding.value)} text (bad byte at offset "
                f"{e.start}); set --encoding or 'encoding' in the mapping"
            ) from e
        except orjson.JSONDecodeError as e:
            raise ErpImportError(f"{path}: not JSON: {e}") from e
        del data
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
        self.keys = _record_keys(records)

    def rows(self) -> Iterator[RawRow]:
        for index, record in enumerate(self._records, start=1):
            self._index = index
            yield _record_row(index, record)

    def rescan(self) -> Iterator[RawRow]:
        """The records again, from memory (the document is parsed whole)."""
        return (_record_row(i, record) for i, record in enumerate(self._records, start=1))

    def done(self) -> int:
        return self._index

    def close(self) -> None:
        self._records = []


class _JsonLinesSource(_Source):
    unit = "bytes"

    def __init__(
        self, path: Path, mapping: ColumnMapping, limits: ImportLimits, given: Given
    ) -> None:
        self._raw = _open_peekable(path, limits)
        try:
            self.total = os.fstat(self._raw.fileno()).st_size
            sample = self._raw.peek(limits.sniff_bytes)[: limits.sniff_bytes]
            encoding = _encoding(path, given, sample)
            self.dialect = TextDialect(encoding)
            if given.report is not None:
                given.report(self.dialect)
            self._codec = encoding.value
            self._encoding = encoding_name(encoding.value)
            self._note = _detected_note(encoding, limits)
            self._max_line = limits.line_bytes
            self.keys = _record_keys(row.values for row in self.rows() if row.problem is None)
            self._raw.seek(0)
        except BaseException:
            self._raw.close()
            raise

    def rows(self) -> Iterator[RawRow]:
        readline, limit = self._raw.readline, self._max_line
        line = 0
        while data := readline(limit):  # a line, or its first `limit` bytes
            line += 1
            if len(data) == limit and not data.endswith(b"\n"):
                while len(rest := readline(limit)) == limit and not rest.endswith(b"\n"):
                    pass
                yield RawRow(line, {}, f"line {line} is longer than {size_text(limit)}")
                continue
            text = data.decode(self._codec, _UNDECODABLE).strip()
            if not text:
                continue
            if _MARKS.search(text):
                yield self._undecodable(line, text)
                continue
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError as e:
                yield RawRow(line, {"(line)": text}, f"not JSON: {e}")
                continue
            yield _record_row(line, record)

    def _undecodable(self, line: int, text: str) -> RawRow:
        """The bad row of a line with bytes not in the encoding, naming the key if it can."""
        try:
            record = json.loads(text)  # orjson refuses the surrogates that mark the bytes
        except ValueError:
            record = None
        if not isinstance(record, dict):
            reason = _undecodable_reason(text, self._encoding, self._note)
            return RawRow(line, {"(line)": _escaped(text)}, reason)
        return _undecodable_row(RawRow(line, record), self._encoding, self._note)

    def done(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


_SOURCES: Final[
    Mapping[ExportFormat, Callable[[Path, ColumnMapping, ImportLimits, Given], _Source]]
] = {
    "csv": _CsvSource,
    "json": _JsonSource,
    "jsonl": _JsonLinesSource,
    "xlsx": _XlsxSource,
}


def resolve_format(path: Path, mapping: ColumnMapping) -> tuple[ExportFormat, str | None]:
    """The format to read ``path`` in, and a note when it is not what the extension says.

    A ``.xls`` without a format in the mapping is looked at: text (SAP's "Spreadsheet" export
    is tab-separated text named .xls) is read as CSV, a zip as XLSX.

    Raises:
        ErpImportError: as :meth:`ColumnMapping.resolve_format`; a legacy .xls (BIFF), which
            is not read; the file cannot be opened.
    """
    if mapping.format is not None or path.suffix.lower() != ".xls":
        return mapping.resolve_format(path), None
    with file_errors(path, what="an export file", error=ErpImportError):
        kind = file_kind(path)
    if kind == "text":
        with file_errors(path, what="an export file", error=ErpImportError):
            markup = _is_markup(path)
        if markup:
            raise ErpImportError(f"{path}: {MARKUP_XLS}")
        return "csv", (
            "a .xls file that is text, read as CSV (SAP's 'Spreadsheet' export is "
            "tab-separated text): set 'format: csv' in the mapping to say so"
        )
    if kind == "zip":
        return "xlsx", "a .xls file that is an XLSX workbook, read as one"
    if kind == "ole2":
        raise ErpImportError(f"{path}: {LEGACY_XLS}")
    raise ErpImportError(
        f"{path}: a .xls file that is neither text nor an Excel workbook; save it as .xlsx or CSV"
    )


def _is_markup(path: Path) -> bool:
    """Whether a text file starts as HTML or XML (a BOM and whitespace aside).

    Raises OSError as opening the file does.
    """
    with path.open("rb") as file:
        head = file.read(512)
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    head = head.replace(b"\x00", b"").lstrip().lower()
    return head.startswith(MARKUP_STARTS)


def _open_source(
    path: Path, mapping: ColumnMapping, fmt: ExportFormat, limits: ImportLimits, given: Given
) -> _Source:
    """The export opened, its columns checked; :attr:`_Source.reopen` set for a regular file.

    Raises:
        ErpImportError: as the format's source, or :func:`_check_columns`.
    """
    with file_errors(path, what="an export file", error=ErpImportError):
        source = _SOURCES[fmt](path, mapping, limits, given)
        regular = path.is_file()
    try:
        _check_columns(path, mapping, source, fmt)
    except ErpImportError:
        source.close()
        raise
    if regular:
        dialect = source.dialect
        fixed = Given(
            dialect.encoding if dialect is not None else None,
            dialect.delimiter if dialect is not None else None,
        )

        def reopen() -> _Source:
            with file_errors(path, what="an export file", error=ErpImportError):
                return _SOURCES[fmt](path, mapping, limits, fixed)

        source.reopen = reopen
    return source


def _check_columns(path: Path, mapping: ColumnMapping, source: _Source, fmt: str) -> None:
    """Every mapped column is in the header (CSV, XLSX) or the first records (JSON), once.

    Raises:
        ErpImportError: a column is missing (naming the header's line, the closest name, the
            names found, and a hint at title lines or ``header_row``) or appears twice.
    """
    tabular = fmt in ("csv", "xlsx")
    where = "the header" if tabular else f"any of the first {KEY_SCAN_RECORDS:,} records"
    at = f"{path}:{source.header_line}" if source.header_line is not None else str(path)
    for target, written in mapping.columns.items():
        column = header_key(written) if source.normalised_names else written
        if column not in source.keys and source.one_column is not None:
            line, instead = source.one_column
            raise ErpImportError(
                f"{path}:{line}: the header is one column: is the delimiter {instead!r}? "
                "(use --delimiter)"
            )
        if column not in source.keys:
            shown = ", ".join(repr(k) for k in sorted(source.keys, key=str)[:30])
            raise ErpImportError(
                f"{at}: column {written!r} (mapped to {target}) is not in {where}"
                f"{_did_you_mean(column, source.keys)}; found: {shown or 'nothing'}"
                f"{_header_hint(mapping, source) if tabular else ''}"
            )
        if column in source.duplicates:
            raise ErpImportError(
                f"{at}: column {written!r} (mapped to {target}) appears more than once in {where}"
            )


def _header_hint(mapping: ColumnMapping, source: _Source) -> str:
    """Where the header was looked for, and what to do if it is elsewhere."""
    if mapping.header_row is not None:
        return f" (the header is line {mapping.header_row}, as header_row says)"
    if source.header_searched:
        return (
            f"; no line among the first {HEADER_SEARCH_LINES} holds every mapped column, so "
            f"line {source.header_line} (the first that is not blank) was taken as the "
            "header: if title lines come before the header, check the column names, or set "
            "header_row to the header's line"
        )
    return ""
