"""Conversion: an export's raw rows -> offers (classified when needed) or row errors."""

from __future__ import annotations

import codecs
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from domain.classify import KIND_REVIEW_BELOW, Classification, classify
from domain.errors import ClassificationError, ErpImportError
from domain.wording import reason_of
from ingest.erp.consistency import kind_problems
from ingest.erp.dialect import Setting, TextDialect
from ingest.erp.limits import DEFAULT_LIMITS, ImportLimits
from ingest.erp.mapping import _ORDER, ColumnMapping, ExportFormat, header_key
from ingest.erp.notation import LOOKAHEAD_ROWS, DecimalCheck
from ingest.erp.sites import site_problem
from ingest.erp.sources import (
    _READ_ERRORS,
    Given,
    RawRow,
    _open_source,
    _XlsxSource,
    resolve_format,
)
from ingest.erp.values import _cell, _normalisers, normalised_defaults, slugify
from schemas.common import ResourceKind, max_length
from schemas.offers import Offer

ROW_FIELD: Final = "(row)"
"""The field of a :class:`RowError` for a row that could not be split into fields."""


TOTALS_ROW: Final = "a totals row, not an offer"
TOTALS_WORDS: Final = frozenset(
    [
        # German, English, Dutch, Scandinavian, Italian, French, Spanish, Polish, Czech, ...
        "summe",
        "gesamt",
        "gesamtsumme",
        "zwischensumme",
        "endsumme",
        "teilsumme",
        "total",
        "totals",
        "subtotal",
        "sub-total",
        "sum",
        "totaal",
        "subtotaal",
        "totalt",
        "totale",
        "subtotale",
        "somme",
        "sous-total",
        "suma",
        "razem",
        "celkem",
        "summa",
        "toplam",
        "grand total",
        "sub total",
        "ergebnis",  # German Excel's Data > Subtotal: "<value> Ergebnis", "Gesamtergebnis"
        "gesamtergebnis",
        "total general",
        "totale complessivo",
        "eindtotaal",
        "i alt",
        "total g\u00e9n\u00e9ral",
        "so\u010det",  # Czech
        "\u00f6sszesen",  # Hungarian
        "yhteens\u00e4",  # Finnish
        "\u0438\u0442\u043e\u0433\u043e",  # Russian
        "\u0432\u0441\u0435\u0433\u043e",  # Russian
        "\u5408\u8ba1",  # Chinese: total
        "\u603b\u8ba1",  # Chinese: grand total
        "\u5c0f\u8ba1",  # Chinese: subtotal
        "\u5408\u8a08",  # Japanese, traditional Chinese: total
        "\u7dcf\u8a08",  # Japanese: grand total
        "\u5c0f\u8a08",  # Japanese, traditional Chinese: subtotal
        "\ud569\uacc4",  # Korean: total
        "\ucd1d\uacc4",  # Korean: grand total
        "*",  # SAP list exports mark a total row with *, a higher total with **
        "**",
        "***",
    ]
)
"""What a totals row of a spreadsheet or list export says, case-folded: a cell holding only one
of these (a trailing ``:`` aside) marks a totals row unless the row has an id."""
SUBTOTAL_SUFFIXES: Final = ("total", "ergebnis", "totaal", "summe")
"""Excel's Data > Subtotal labels a group's row ``<value> Total`` (German ``<value> Ergebnis``):
a cell so, whose ``<value>`` is the cell above it in the group, marks a subtotal row."""
SUBTOTAL_PREFIXES: Final = ("total", "totale", "totaal", "summe")
"""Excel in other languages (French, Spanish, Italian, Dutch) writes ``Total <value>``."""

DESCRIPTION_MAX: Final = max_length(Offer, "description")
"""The longest description an offer holds; a longer one is refused before the classifier reads
it (an export's line may hold a megabyte, and reading costs time in proportion)."""

REVIEW_CANDIDATES: Final = 3
"""Candidates kept on an offer the classifier is unsure of (the question put to a person)."""


@lru_cache(maxsize=16_384)
def _classify(description: str, unit: str | None) -> Classification:
    return classify(description, unit=unit)


def _folded(text: str) -> str:
    """``text`` as totals labels are compared: NFKC, whitespace runs as one space, case-folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def is_totals_word(cell: object) -> bool:
    """Whether a cell holds only a totals word (:data:`TOTALS_WORDS`): ``Summe``, ``Total:``."""
    if not isinstance(cell, str) or len(cell) > 40:
        return False
    text = _folded(cell)
    return text in TOTALS_WORDS or text.rstrip(":. ") in TOTALS_WORDS


def is_subtotal_label(cell: object, above: object) -> bool:
    """Whether ``cell`` labels the subtotal of a group whose rows hold ``above`` in its column.

    ``Fly ash Total``, ``REA-Gips Ergebnis`` or ``Total Fly ash`` (:data:`SUBTOTAL_SUFFIXES`,
    :data:`SUBTOTAL_PREFIXES`) below a row holding ``Fly ash`` / ``REA-Gips`` there, compared
    as :func:`_folded`. ``Total organic carbon sludge`` below ``Fly ash`` is no such label.
    Never raises.
    """
    if not isinstance(cell, str) or not isinstance(above, str) or len(cell) > 300:
        return False
    text, value = _folded(cell), _folded(above)
    if not value or value == text:
        return False
    return any(text == f"{value} {word}" for word in SUBTOTAL_SUFFIXES) or any(
        text == f"{word} {value}" for word in SUBTOTAL_PREFIXES
    )


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of a bad row.

    Attributes:
        field: the source column at fault; the offer field's name when no column feeds it,
            ``"(row)"`` when the row as a whole is at fault (it could not be split into
            fields, or a line is over the length cap).
        reason: why, in words; one problem only.
    """

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row: where, each problem (field and why), and the row as read.

    Attributes:
        line: as :attr:`RawRow.line`.
        problems: every problem of the row, at least one, in offer-field order.
        raw: the row as read, source column -> cell.
    """

    line: int
    problems: tuple[RowProblem, ...]
    raw: Mapping[str, Any]

    @classmethod
    def one(cls, line: int, field: str, reason: str, raw: Mapping[str, Any]) -> RowError:
        """A bad row with a single problem."""
        return cls(line, (RowProblem(field, reason),), raw)

    @property
    def field(self) -> str:
        """The field of the first problem."""
        return self.problems[0].field

    @property
    def reason(self) -> str:
        """Why, for the first problem."""
        return self.problems[0].reason

    def summary(self) -> str:
        """Every problem on one line: ``field: reason; field: reason`` (a rejection's reason)."""
        return "; ".join(f"{p.field}: {p.reason}" for p in self.problems)

    def payload(self) -> bytes:
        """The row as read, as a JSON object (dates as ISO text); never raises."""
        try:
            return orjson.dumps(dict(self.raw), default=str, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            return repr(dict(self.raw)).encode()


class _Converter:
    """Turns :class:`RawRow` s into offers or row errors; remembers ids to catch repeats.

    Each row is checked as its offer must be: every field normalised, the kind decided (given,
    or read surely from the description), kind, unit and EWC code consistent as ``park check``
    requires (:mod:`.consistency`), the site one of the importing company's when
    :attr:`sites` is set (:mod:`.sites`), the model's checks, and an id not seen before.
    """

    def __init__(self, path: Path, mapping: ColumnMapping, fmt: ExportFormat) -> None:
        self._name = path.name[:180]
        self._stem = slugify(path.stem) or "row"
        self._columns: dict[str, str] = dict(mapping.columns)
        tabular = fmt in ("csv", "xlsx")
        self._keys: dict[str, str] = {
            target: header_key(column) if tabular else column
            for target, column in mapping.columns.items()
        }
        """Target -> the key of its column in a row (names whitespace-normalised, CSV/XLSX)."""
        self.decimals: DecimalCheck | None = None
        """Set by :class:`ErpExport`: refuses ambiguous quantities once the file showed the
        other decimal notation."""
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
        self._above: Mapping[str, Any] = {}
        """The cells of the last data row that was no totals row (a subtotal's group)."""
        self.sites: tuple[str, frozenset[str]] | None = None
        """The importing company and its site ids; None: sites are not checked."""

    def _field(self, target: str) -> str:
        return self._columns.get(target, target)

    def __call__(self, row: RawRow) -> Offer | RowError:
        if row.problem is not None:
            field = ROW_FIELD if row.field is None else row.field
            return RowError.one(row.line, field, row.problem, row.values)
        totals = self._totals_column(row)
        if totals is not None:
            return RowError.one(row.line, totals, TOTALS_ROW, row.values)
        self._above = row.values
        values: dict[str, Any] = {}
        issues: dict[str, str] = {}
        self._read(row, values, issues)
        self._decide_kind(values, issues)
        self._check_kind(values, issues)
        self._check_site(values, issues)
        values["source"] = f"{self._name}:{row.line}"
        return self._offer(row, values, issues)

    def _read(self, row: RawRow, values: dict[str, Any], issues: dict[str, str]) -> None:
        """Each target's value from its cell (or default) into ``values``, or why not."""
        for target, key in self._keys.items():
            cell = _cell(row.values.get(key))
            if cell is None:
                continue
            if target == "quantity" and self.decimals is not None:
                refused = self.decimals.refusal(cell)
                if refused is not None:
                    issues[target] = refused
                    continue
            try:
                value = self._normalisers[target](cell)
            except ValueError as e:
                issues[target] = str(e)
                if target == "quantity" and self.decimals is not None:
                    self.decimals.observe(row.line, cell)
                continue
            if value is not None:  # None: an ERP's "no date" (00.00.0000), an empty cell
                values[target] = value
        for target, value in self._defaults.items():
            if target not in values and target not in issues:
                values[target] = value
        if "id" not in values and "id" not in issues:
            template_id = slugify(
                self._template.format(stem=self._stem, line=row.line, site=values.get("site", ""))
            )
            values["id"] = template_id or f"{self._stem}-{row.line}"

    def _totals_column(self, row: RawRow) -> str | None:
        """The column of a totals row's label (:data:`ROW_FIELD` if unnamed), or None.

        A totals row has, in a column not mapped to ``id``, a cell holding only a totals word
        (:data:`TOTALS_WORDS`: ``Summe``, ``Gesamtergebnis``, ``Total:``, SAP's ``*``, ``**``,
        ``***`` marker) or a subtotal label of the group above (:func:`is_subtotal_label`:
        ``Fly ash Total`` below ``Fly ash``), and an empty ``id`` cell (no id column: empty);
        or an ``id`` cell holding only a totals word (SAP's list format puts its ``*`` there).
        Its other cells do not count: SAP's ALV subtotal keeps the grouping column (the
        plant) filled, Excel's the description. A row with an id names itself: no totals row.
        """
        id_key = self._keys.get("id")
        label: str | None = None
        if id_key is not None and _cell(row.values.get(id_key)) is not None:
            if not is_totals_word(row.values.get(id_key)):
                return None
            label = id_key  # SAP's list format writes its * in the first column: the id's
        above = self._above
        label = label or next(
            (
                k
                for k, v in row.values.items()
                if k != id_key and (is_totals_word(v) or is_subtotal_label(v, above.get(k)))
            ),
            None,
        )
        if label is None:
            return None
        named = next((c for t, c in self._columns.items() if self._keys[t] == label), label)
        return named or ROW_FIELD

    def _offer(
        self, row: RawRow, values: dict[str, Any], issues: dict[str, str]
    ) -> Offer | RowError:
        """The offer of ``values``, or the row error listing ``issues`` and the model's."""
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
        if description is None or len(description) > DESCRIPTION_MAX:
            return  # too long for an offer: refused for its length, not read first (its cost)
        unit = values.get("unit") if "unit" not in issues else None
        try:
            found = _classify(description, unit if isinstance(unit, str) else None)
        except ClassificationError as e:
            if kind is None:
                issues["description"] = str(e)
            values["classification"] = {"method": "erp"}
            return
        if kind is None:
            if found.kind_confidence < KIND_REVIEW_BELOW:  # a question, not a material
                issues["kind"] = _unsure_kind(description, found)
                return
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

    def _check_kind(self, values: dict[str, Any], issues: dict[str, str]) -> None:
        """Add why kind, unit and EWC code cannot be true together (``park check``'s rules)."""
        kind, unit = values.get("kind"), values.get("unit")
        if "kind" in issues or "unit" in issues or kind is None or not isinstance(unit, str):
            return
        try:
            resource = ResourceKind(kind)
        except ValueError:
            return  # the model reports an unknown kind
        ewc = values.get("ewc") if "ewc" not in issues else None
        for target, problem in kind_problems(resource, unit, ewc).items():
            issues.setdefault(target, problem)

    def _check_site(self, values: dict[str, Any], issues: dict[str, str]) -> None:
        """Add why the site is not the importing company's (when sites are checked)."""
        site = values.get("site")
        if self.sites is None or not isinstance(site, str) or "site" in issues:
            return
        company, ids = self.sites
        problem = site_problem(site, company, ids)
        if problem is not None:
            issues["site"] = problem

    def _add_issue(self, issues: dict[str, str], err: ErrorDetails) -> None:
        loc = err["loc"]
        # The model's only check without a location is the availability window.
        target = str(loc[0]) if loc else "available_until"
        if target in issues:
            return
        if err["type"] == "missing":
            message = "required, but the cell is empty" if target in self._columns else "required"
        else:
            message = reason_of(err)
            shown = repr(err["input"])
            shown = shown if len(shown) <= 80 else shown[:76] + "...'"
            if loc and shown not in message:
                message += f" (got {shown})"
        issues[target] = message

    def _row_error(self, row: RawRow, issues: dict[str, str]) -> RowError:
        ordered = sorted(issues.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER)))
        problems = tuple(RowProblem(self._field(t), m) for t, m in ordered)
        return RowError(row.line, problems, row.values)


def _unsure_kind(description: str, found: Classification) -> str:
    shown = repr(description) if len(description) <= 60 else repr(description[:56]) + "..."
    return (
        f"no kind given, and {shown} does not say which: read as {found.kind} with confidence "
        f"{found.kind_confidence:.2f}, under {KIND_REVIEW_BELOW:g}; give the kind (heat, steam, "
        "water, material or gas)"
    )


class ErpExport:
    """An open ERP export: format known, mapped columns checked; rows converted as iterated.

    Iterate once to get an :class:`Offer` or a :class:`RowError` per non-blank data row, in
    file order. :meth:`progress` tells how far reading got, for a progress bar. Use as a
    context manager (or call :meth:`close`).
    """

    def __init__(
        self,
        path: Path,
        mapping: ColumnMapping,
        *,
        limits: ImportLimits = DEFAULT_LIMITS,
        encoding: str | None = None,
        delimiter: str | None = None,
        on_dialect: Callable[[TextDialect], None] | None = None,
    ) -> None:
        """Open the file and check the mapping against it; converts no row yet.

        Args:
            path: the export.
            mapping: how to read it.
            limits: caps on what the export may make the import hold (see
                :class:`~ingest.erp.limits.ImportLimits`).
            encoding: the text encoding, over the mapping's (``--encoding``); with neither,
                it is detected (see :mod:`~ingest.erp.dialect`). ``utf-8`` reads a BOM as
                one, not as part of the first column's name.
            delimiter: the CSV delimiter, over the mapping's (``--delimiter``); with neither,
                it is detected.
            on_dialect: called with the encoding and delimiter as soon as they are known,
                before the header is read (so that a header error follows them).

        The quantity column is read now for its evidence of the decimal notation
        (:mod:`~ingest.erp.notation`): of the whole file in a streaming second pass when the
        file is a regular file (or JSON), else of the first rows
        (:data:`~ingest.erp.notation.LOOKAHEAD_ROWS`, at most ``limits.sniff_bytes`` of a
        text file), read ahead and converted, like the rest, as the export is iterated.

        Raises:
            ErpImportError: unknown format (a legacy .xls names itself), the file is missing
                or unreadable (not CSV, not JSON, not an XLSX workbook, no such sheet, no
                header, undecodable JSON or CSV header), over a cap (a JSON document over
                ``limits.json_bytes``, an XLSX workbook inflating past its caps), a mapped
                column is not in the header (or in none of the first JSON records; a
                one-column CSV header names the delimiter it seems to use) or appears twice,
                a ``defaults`` value is invalid, or the mapping does not set
                ``decimal_comma`` and the quantities show a decimal comma or are ambiguous
                with nothing in the file to tell which notation they are in.

        Long because: the docstring lists every file-level failure; the body is short.
        """
        self.path = path
        self.mapping = mapping
        self.format: ExportFormat
        self.format, self.format_note = resolve_format(path, mapping)
        """The format read, and why when it is not the extension's (a .xls that is text)."""
        self._convert = _Converter(path, mapping, self.format)
        self._source = _open_source(
            path, mapping, self.format, limits, _given(mapping, encoding, delimiter, on_dialect)
        )
        if isinstance(self._source, _XlsxSource):
            self._convert.excel_epoch = self._source.epoch
        self.rows_read = 0
        """Non-blank data rows read so far."""
        self._raw_rows = self._source.rows()
        self._ahead: deque[tuple[RawRow, int]] = deque()
        """Rows read ahead, each with the progress reading had made when it was read."""
        self._done = self._source.done()
        """Progress as of the last row handed out, while rows read ahead remain."""
        self._ended = False
        self._failure: ErpImportError | None = None
        try:
            self._check_decimals(limits)
        except BaseException:
            self._source.close()
            raise

    def _pull(self) -> RawRow | None:
        """The next raw row from the file (None at its end).

        Raises:
            ErpImportError: reading failed part-way.
        """
        try:
            return next(self._raw_rows)
        except StopIteration:
            return None
        except _READ_ERRORS as e:
            read = self.rows_read + len(self._ahead)
            raise ErpImportError(f"{self.path}: reading stopped after {read} rows: {e}") from e

    def _check_decimals(self, limits: ImportLimits) -> None:
        """Check the quantities' decimal notation: the whole file's, else the first rows'.

        A file that can be read twice (:meth:`~ingest.erp.sources._Source.rescan`: a regular
        file, or JSON, which is in memory) has its quantity column streamed through once now,
        holding no rows; otherwise the first rows are read ahead (and converted later, as the
        rest).

        Raises:
            ErpImportError: the mapping does not set ``decimal_comma`` and the quantities
                show a decimal comma, or are ambiguous with nothing to tell (see
                :meth:`~ingest.erp.notation.DecimalCheck.scan`); the second pass failed.
        """
        column = self.mapping.columns.get("quantity")
        if column is None:
            return
        dialect = self._source.dialect
        delimiter = dialect.delimiter.value if dialect and dialect.delimiter else None
        check = DecimalCheck(self.mapping.decimal_comma, column, delimiter)
        key = header_key(column) if self.format in ("csv", "xlsx") else column
        again = self._source.rescan()
        if again is not None:
            try:
                stop = check.scan(
                    ((r.line, r.values.get(key)) for r in again if r.problem is None), whole=True
                )
            except _READ_ERRORS as e:
                raise ErpImportError(
                    f"{self.path}: reading the quantities ahead of the import failed: {e}"
                ) from e
            finally:
                close = getattr(again, "close", None)
                if close is not None:
                    close()
            if stop is not None:
                line, reason = stop
                raise ErpImportError(f"{self.path}:{line}: {reason}")
            self._convert.decimals = check
            return
        self._read_ahead(limits)
        cells = ((r.line, r.values.get(key)) for r, _ in self._ahead if r.problem is None)
        stop = check.scan(cells)
        if stop is not None:
            line, reason = stop
            raise ErpImportError(f"{self.path}:{line}: {reason}")
        self._convert.decimals = check

    def _read_ahead(self, limits: ImportLimits) -> None:
        """Read the first rows (:data:`LOOKAHEAD_ROWS`, at most the sniffed bytes) ahead.

        A read error is kept and raised where the rows reach it, as without reading ahead.
        """
        try:
            while len(self._ahead) < LOOKAHEAD_ROWS and not (
                self._source.unit == "bytes" and self._source.done() > limits.sniff_bytes
            ):
                row = self._pull()
                if row is None:
                    self._ended = True
                    break
                self._ahead.append((row, self._source.done()))
        except ErpImportError as e:
            self._failure = e

    @property
    def dialect(self) -> TextDialect | None:
        """The encoding and (CSV) delimiter the export is read with; None for XLSX."""
        return self._source.dialect

    def check_sites(self, company: str, site_ids: Iterable[str]) -> None:
        """From now on, a row whose site is not among ``site_ids`` (``company``'s) is bad.

        Call before iterating; the check is :func:`~ingest.erp.sites.site_problem`.
        """
        self._convert.sites = (company, frozenset(site_ids))

    @property
    def progress_unit(self) -> Literal["bytes", "rows", "records"]:
        """What :meth:`progress` counts: bytes (CSV, JSON Lines), sheet rows, JSON records."""
        return self._source.unit

    def progress(self) -> tuple[int, int | None]:
        """``(done, total)`` in :attr:`progress_unit`; total is None when unknown (XLSX).

        Rows read ahead count once handed out, not when read.
        """
        done = self._done if self._ahead else self._source.done()
        return done, self._source.total

    def rows(self) -> Iterator[RawRow]:
        """The non-blank data rows as read, unconverted.

        Raises:
            ErpImportError: reading failed part-way (I/O error, corrupt workbook); the rows
                before it were yielded.
        """
        while True:
            if self._ahead:
                row: RawRow | None
                row, self._done = self._ahead.popleft()
            elif self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            elif self._ended:
                return
            else:
                row = self._pull()
            if row is None:
                return
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


def _given(
    mapping: ColumnMapping,
    encoding: str | None,
    delimiter: str | None,
    report: Callable[[TextDialect], None] | None = None,
) -> Given:
    """The encoding and delimiter given: the command line's, else the mapping's, else None.

    UTF-8 given is read as ``utf-8-sig``: a byte-order mark is skipped, not read into the
    first column's name (it is still said as ``utf-8``).
    """

    def pick(option: str | None, name: str, mapped: str | None) -> Setting | None:
        if option is not None:
            return Setting(option, "--encoding" if name == "encoding" else "--delimiter")
        return Setting(mapped, "mapping") if mapped is not None else None

    given = pick(encoding, "encoding", mapping.encoding)
    if given is not None and codecs.lookup(given.value).name == "utf-8":
        given = Setting("utf-8-sig", given.origin)
    return Given(given, pick(delimiter, "delimiter", mapping.delimiter), report)


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
