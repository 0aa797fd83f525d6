"""File readers: one per format, each opening an export, checking its header and streaming rows."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Literal, NamedTuple
from xml.etree.ElementTree import ParseError

import openpyxl  # type: ignore[import-untyped,unused-ignore]
import orjson

from ingest.erp.mapping import ColumnMapping, ExportFormat, _did_you_mean
from ingest.erp.values import _cell, _text
from symbiosis.errors import ErpImportError
from symbiosis.files import file_errors

KEY_SCAN_RECORDS: Final = 1000
"""JSON: a mapped key none of the first this-many records has is a file-level error."""
_READ_ERRORS: Final = (OSError, zipfile.BadZipFile, ParseError, EOFError)


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
    with file_errors(path, what="an export file", error=ErpImportError):
        source = _SOURCES[fmt](path, mapping)
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
