"""Conversion: an export's raw rows -> offers (classified when needed) or row errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from domain.classify import Classification, classify
from domain.errors import ClassificationError, ErpImportError
from ingest.erp.limits import DEFAULT_LIMITS, ImportLimits
from ingest.erp.mapping import _ORDER, ColumnMapping, ExportFormat
from ingest.erp.sources import _READ_ERRORS, RawRow, _open_source, _XlsxSource
from ingest.erp.values import _cell, _normalisers, normalised_defaults, slugify
from schemas.offers import Offer

ROW_FIELD: Final = "(row)"
"""The field of a :class:`RowError` for a row that could not be split into fields."""


REVIEW_CANDIDATES: Final = 3
"""Candidates kept on an offer the classifier is unsure of (the question put to a person)."""


@lru_cache(maxsize=16_384)
def _classify(description: str, unit: str | None) -> Classification:
    return classify(description, unit=unit)


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row: where, which field, why, and the row as read.

    Attributes:
        line: as :attr:`RawRow.line`.
        field: the source column at fault; the offer field's name when no column feeds it,
            ``"(row)"`` when the row as a whole is at fault (it could not be split into
            fields, or a line is over the length cap).
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


class _Converter:
    """Turns :class:`RawRow` s into offers or row errors; remembers ids to catch repeats."""

    def __init__(self, path: Path, mapping: ColumnMapping, fmt: ExportFormat) -> None:
        self._name = path.name[:180]
        self._stem = slugify(path.stem) or "row"
        self._columns: dict[str, str] = dict(mapping.columns)
        self._template = mapping.id_template
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
            field = ROW_FIELD if row.field is None else row.field
            return RowError(row.line, field, row.problem, row.values)
        values: dict[str, Any] = {}
        issues: dict[str, str] = {}
        for target, column in self._columns.items():
            cell = _cell(row.values.get(column))
            if cell is None:
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
        unit = values.get("unit") if "unit" not in issues else None
        try:
            found = _classify(description, unit if isinstance(unit, str) else None)
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
            confidence = found.candidates[0].confidence
            if found.needs_review:  # a question, not a wrong code given with confidence
                codes = codes[:REVIEW_CANDIDATES]
            else:
                values["ewc"] = codes[0]
        values["classification"] = {
            "method": "classifier",
            "confidence": confidence,
            "candidates": codes,
            "needs_review": found.needs_review,
            "language": found.language,
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

    def __init__(
        self, path: Path, mapping: ColumnMapping, *, limits: ImportLimits = DEFAULT_LIMITS
    ) -> None:
        """Open the file and check the mapping against it; converts no row yet.

        Args:
            path: the export.
            mapping: how to read it.
            limits: caps on what the export may make the import hold (see
                :class:`~ingest.erp.limits.ImportLimits`).

        Raises:
            ErpImportError: unknown format, the file is missing or unreadable (not CSV, not
                JSON, not an XLSX workbook, no such sheet, no header, undecodable JSON or CSV
                header), over a cap (a JSON document over ``limits.json_bytes``, an XLSX
                workbook inflating past its caps), a mapped column is not in the header (or in
                none of the first JSON records) or appears twice, or a ``defaults`` value is
                invalid.
        """
        self.path = path
        self.mapping = mapping
        self.format: ExportFormat = mapping.resolve_format(path)
        self._convert = _Converter(path, mapping, self.format)
        self._source = _open_source(path, mapping, self.format, limits)
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


def read_offers(
    path: Path, mapping: ColumnMapping, *, limits: ImportLimits = DEFAULT_LIMITS
) -> Iterator[Offer | RowError]:
    """Every data row of an export as an :class:`Offer` or a :class:`RowError`, in file order.

    The file is opened and checked now, so file-level problems raise here, before any row is
    read; the file is closed when the iterator is exhausted or closed.

    Raises:
        ErpImportError: as :class:`ErpExport`; while iterating, as :meth:`ErpExport.rows`.
    """
    export = ErpExport(path, mapping, limits=limits)

    def iterate() -> Iterator[Offer | RowError]:
        with export:
            yield from export

    return iterate()
