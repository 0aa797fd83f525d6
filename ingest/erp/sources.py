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
    encoding_name,
    likely_delimiter,
    resolve_delimiter,
    resolve_encoding,
    whole_lines,
)
from ingest.erp.limits import ImportLimits, size_text
from ingest.erp.mapping import ColumnMapping, ExportFormat, _did_you_mean
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
    """The encoding and delimiter given (command line, else mapping); None: detect them."""

    encoding: Setting | None = None
    delimiter: Setting | None = None


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


def _undecodable_reason(text: str, encoding: str) -> str:
    first = _MARKS.search(text)
    if first is None:
        return f"not valid {encoding}"
    start, end = first.span()
    shown = _escaped(text[max(0, start - 20) : end + 20])
    shown = "..." * (start > 20) + shown + "..." * (end + 20 < len(text))
    hint = " (e.g. cp1252)" if encoding == "utf-8" else ""
    return (
        f'not valid {encoding}: byte 0x{ord(first.group()) - 0xDC00:02X} in "{shown}"; set '
        f"--encoding or 'encoding' in the mapping{hint}"
    )


def _undecodable_row(row: RawRow, encoding: str) -> RawRow:
    """``row`` rejected for its first cell with undecodable bytes (unchanged if it has none)."""
    for column, cell in row.values.items():
        field: str | None = column
        text = _marked(cell)
        if _MARKS.search(column):
            field, text = None, column
        if text is not None:
            reason = _undecodable_reason(text, encoding)
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
            encoding = resolve_encoding(given.encoding, sample)
            default = "\t" if path.suffix.lower() == ".tsv" else ","
            head = whole_lines(sample).decode(encoding.value, errors="replace")
            delimiter = resolve_delimiter(given.delimiter, head, default)
        except BaseException:
            self._raw.close()
            raise
        self.dialect = TextDialect(encoding, delimiter)
        self._text = io.TextIOWrapper(
            self._raw, encoding=encoding.value, errors=_UNDECODABLE, newline=""
        )
        self._encoding = encoding_name(encoding.value)
        self._max_line = limits.line_bytes
        self._line = 0
        """Physical lines read."""
        self._long_line: int | None = None
        """A line of the current record over the length cap (the CSV reader saw it blank)."""
        self._undecodable = False
        """The current record has bytes not in the encoding."""
        self._reader = csv.reader(self._lines(), delimiter=delimiter.value)
        try:
            line, cells = self._header(path)
        except BaseException:
            self._text.close()
            raise
        self._names, self.duplicates = _header(cells)
        self.keys = self._names
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

    def _header(self, path: Path) -> tuple[int, list[str]]:
        """The header's line and cells: the first record with a non-blank cell."""
        while True:
            start = self._line + 1
            try:
                cells = self._next()
            except csv.Error as e:
                raise ErpImportError(f"{path}:{self._line}: not CSV: {e}") from e
            if self._long_line is not None:
                raise ErpImportError(f"{path}:{start}: the header: {self._too_long()}")
            if cells is None:
                raise ErpImportError(f"{path}: the file is empty: no header line")
            if self._undecodable:
                reason = _undecodable_reason(next(filter(_MARKS.search, cells), ""), self._encoding)
                raise ErpImportError(f"{path}:{start}: the header is {reason}")
            if any(c.strip() for c in cells):
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
            if not any(c.strip() for c in cells):
                continue
            row = _split(start, names, cells)
            yield _undecodable_row(row, self._encoding) if self._undecodable else row

    def done(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._text.close()


def _open_peekable(path: Path, limits: ImportLimits) -> io.BufferedReader:
    """The file, buffered so that its first ``limits.sniff_bytes`` can be peeked at.

    Peeked, not read and read again: a pipe cannot be read twice.
    """
    size = max(limits.sniff_bytes, io.DEFAULT_BUFFER_SIZE)
    return io.BufferedReader(path.open("rb", buffering=0), buffer_size=size)


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
        encoding = resolve_encoding(given.encoding, data[: limits.sniff_bytes])
        self.dialect = TextDialect(encoding)
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
            encoding = resolve_encoding(given.encoding, sample)
            self.dialect = TextDialect(encoding)
            self._codec = encoding.value
            self._encoding = encoding_name(encoding.value)
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
            return RawRow(
                line, {"(line)": _escaped(text)}, _undecodable_reason(text, self._encoding)
            )
        return _undecodable_row(RawRow(line, record), self._encoding)

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


def _open_source(
    path: Path, mapping: ColumnMapping, fmt: ExportFormat, limits: ImportLimits, given: Given
) -> _Source:
    with file_errors(path, what="an export file", error=ErpImportError):
        source = _SOURCES[fmt](path, mapping, limits, given)
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
        if column not in source.keys and source.one_column is not None:
            line, instead = source.one_column
            raise ErpImportError(
                f"{path}:{line}: the header is one column: is the delimiter {instead!r}? "
                "(use --delimiter)"
            )
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
