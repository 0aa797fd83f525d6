"""``symbiosis import``: an ERP export (CSV, JSON, JSON Lines, XLSX) into the offers topic.

Every row is validated (:mod:`ingest.erp`): normalised, its kind, unit and EWC code consistent
as ``park check`` requires, its site one of the importing company's (``--company``, sites from
the registry or ``--park``). Good rows are published as offers and bad rows as rejections,
both acknowledged by Kafka before they count. ``--dry-run`` publishes nothing and lists the
offers it would publish. Exit codes: 0 every row was good, 1 some rows were rejected (the good
ones were published), 2 the import could not run or stopped (file, mapping or park file
unreadable, the company has no site, Kafka unreachable within seconds); typer's usage errors
exit 2 too.
"""

from __future__ import annotations

import csv
import json
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Annotated, Final

import typer
from kafka.producer.future import FutureRecordMetadata
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from domain.errors import ErpImportError, SymbiosisError
from ingest.acked_publisher import Publisher
from ingest.erp import ErpExport, RowError, TextDialect, load_mapping
from ingest.erp.authority import TOKEN_VARIABLE, check_authority
from ingest.erp.connect import open_publisher
from ingest.erp.mapping import check_encoding
from ingest.erp.sites import sites_in_park, sites_in_registry
from runtime.settings import get_settings
from schemas.offers import Offer
from schemas.rejections import Rejection

STAGE: Final = "ingest"
ACK_TIMEOUT_S: Final = 120.0
"""Longest wait for Kafka to acknowledge one chunk of records."""
SHOWN_ERRORS: Final = 10
"""Bad rows listed in the summary table; the report file has all of them."""
SHOWN_OFFERS: Final = 50
"""Offers a dry run lists in its table; ``--json`` lists every one."""
LISTING_WIDTH: Final = 200
"""Width of the dry run's table when stdout is not a terminal."""
PROGRESS_EVERY: Final = 500
"""Rows between progress-bar updates."""
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
"""A report cell starting so is a formula to a spreadsheet program (CSV injection, OWASP)."""
TAB_NAMES: Final = frozenset({"\\t", "tab", "TAB"})
"""How a tab can be written for --delimiter."""

HELP: Final = """Import an ERP export of surplus stock (CSV, JSON, JSON Lines or XLSX) as offers.

Each row is validated and normalised; a row without an EWC code is classified from its
description and unit, in the description's language. A row is bad when a value is wrong, when
its kind, unit and EWC code cannot be true together (the rules of `park check`: a material in
t or t/d, heat in MW or MWh, an EWC code for materials only), when no kind is given and the
description does not say it surely, or when its site is not one of the --company's sites
(registered on Kafka, or in the --park file). Publishing needs the company's API token
(--token, or SYMBIOSIS_TOKEN) or an operator's. Good rows go to the offers topic, bad rows to
the rejected topic and to the --errors report (line,field,reason: one line per problem), and
the first bad rows are listed on stderr. A material whose EWC code the classifier is unsure
of is published without a code, with its three best candidates, and listed (stderr and
report) as "needs review". --dry-run publishes nothing and lists the offers it would publish
(a table; with --json one JSON object per line). The encoding and the CSV delimiter are
detected unless given (--encoding, --delimiter, or the mapping), and said on stderr. The last
line on stdout is a JSON summary. Exit 0: all rows good; 1: some rejected, the rest
published; 2: the file, mapping or park file cannot be read, the company has no site, the
token is missing or not the company's, or Kafka failed.

The mapping file (YAML or JSON) names the source column of each offer field (id, site,
stream, kind, description, ewc, quantity, unit, available_from, available_until) and
constants for the rest; site, description, quantity and unit are required:

    columns:
      id: Material No
      site: Plant
      description: Material text
      ewc: Waste code
      quantity: Qty
      unit: UoM
      available_from: Avail. from
    defaults:
      unit: t
    delimiter: ";"         # csv; also: encoding, sheet (xlsx), records (json)
    decimal_comma: true    # 1.234,5 (unset: a file showing a decimal comma, or only
                           # ambiguous 1.500 / 12,500, stops before importing)
    header_row: 3          # below title lines (unset: found among the first 50)
    units: {TNE: t, LTR: l}  # the export's unit codes -> units (SAP's TO, KG, M3
                           # and ISO's TNE, KGM, MTQ are known; SAP's ML is asked)
    timezone: Europe/Berlin

See docs/erp/mapping-example.yaml for every key.
"""


def register(app: typer.Typer) -> None:
    """Add ``symbiosis import`` to the ``symbiosis`` app."""
    app.command("import", help=HELP)(import_file)


def _stop(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def neutralised(cell: str) -> str:
    """A report cell a spreadsheet program shows as text: ``'`` before a formula start.

    The field and reason of a bad row come from the export (column names, cell values), so a
    hostile export could otherwise plant ``=HYPERLINK(...)`` in the report.
    """
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _open_report(path: Path) -> IO[str]:
    """The report file, its header written.

    Raises:
        ErpImportError: it cannot be written.
    """
    try:
        report = path.open("w", encoding="utf-8", newline="")
        csv.writer(report).writerow(["line", "field", "reason"])
    except OSError as e:
        raise ErpImportError(f"{path}: cannot write the report: {e.strerror or e}") from e
    return report


def _text_options(encoding: str | None, delimiter: str | None) -> tuple[str | None, str | None]:
    r"""``--encoding`` and ``--delimiter`` checked (a tab may be written ``\t`` or ``tab``).

    Raises:
        ErpImportError: an unknown encoding, or a delimiter that is not one character.
    """
    if encoding is not None:
        try:
            check_encoding(encoding)
        except ValueError as e:
            raise ErpImportError(f"--encoding: {e}") from e
    if delimiter in TAB_NAMES:
        delimiter = "\t"
    if delimiter is not None and len(delimiter) != 1:
        raise ErpImportError(f"--delimiter: one character, or \\t for a tab (got {delimiter!r})")
    return encoding, delimiter


class _Listing:
    """What a dry run would publish, on stdout: a table of the first offers, or JSON lines."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.offers = 0
        self.first: list[Offer] = []

    def add(self, offer: Offer, value: bytes) -> None:
        self.offers += 1
        if self.as_json:
            typer.echo(value.decode())
        elif len(self.first) < SHOWN_OFFERS:
            self.first.append(offer)

    def table(self) -> Table | None:
        """The table of the first offers (None with ``--json``, or without offers)."""
        if self.as_json or not self.first:
            return None
        title = f"{self.offers:,} offer{'s' if self.offers != 1 else ''} to publish (dry run)"
        table = Table(title=title, title_justify="left")
        for name in ("line", "id", "site", "kind", "ewc", "quantity", "unit", "from (UTC)"):
            table.add_column(name, justify="right" if name in ("line", "quantity") else "left")
        table.add_column("description")
        for o in self.first:
            found = o.classification
            ewc = f"{o.ewc[:2]} {o.ewc[2:4]} {o.ewc[4:]}" if o.ewc is not None else ""
            if found is not None and found.needs_review:
                ewc = "to review"
            start = o.available_from.strftime("%Y-%m-%d %H:%M") if o.available_from else ""
            kind = o.kind.value if o.kind is not None else ""
            cells = (o.source.rsplit(":", 1)[-1], o.id, o.site, kind, ewc,
                     f"{o.quantity:g}", o.unit, start, o.description)  # fmt: skip
            table.add_row(*(escape(c) for c in cells))
        if self.offers > len(self.first):
            more = f"{self.offers - len(self.first):,} more (--json lists every offer)"
            table.add_row("...", "", "", "", "", "", "", "", more)
        return table


class _Run:
    """Counts and sinks of one import: report file, Kafka (or the dry run's listing)."""

    def __init__(
        self,
        publisher: Publisher | None,
        report: IO[str] | None,
        batch: int,
        description_column: str = "description",
        listing: _Listing | None = None,
    ) -> None:
        settings = get_settings()
        self.offers_topic = settings.topics.offers
        self.rejected_topic = settings.topics.rejected
        self.publisher = publisher
        self.report = csv.writer(report) if report is not None else None
        self.batch = batch
        self.listing = listing
        self.offers = 0
        self.rejected = 0
        self.published = 0
        self.first_errors: list[RowError] = []
        self.review = 0
        self.first_reviews: list[Offer] = []
        self.description_column = description_column
        self._offer_acks: list[FutureRecordMetadata] = []
        self._rejection_acks: list[FutureRecordMetadata] = []

    def needs_review(self, offer: Offer) -> None:
        """Count (and report) an offer whose classification awaits a person's choice."""
        self.review += 1
        if len(self.first_reviews) < SHOWN_ERRORS:
            self.first_reviews.append(offer)
        if self.report is not None:
            line = offer.source.rsplit(":", 1)[-1]
            field = neutralised(self.description_column)
            self.report.writerow([line, field, neutralised(_review_reason(offer))])

    def offer(self, offer: Offer) -> None:
        self.offers += 1
        value = offer.model_dump_json().encode()
        if self.listing is not None:
            self.listing.add(offer, value)
        if self.publisher is not None:
            self._offer_acks.append(self.publisher.send(self.offers_topic, offer.id, value))
            if len(self._offer_acks) >= self.batch:
                self.wait()

    def bad_row(self, error: RowError, source: str) -> None:
        """Count, report (one line per problem) and publish a bad row as a rejection."""
        self.rejected += 1
        if len(self.first_errors) < SHOWN_ERRORS:
            self.first_errors.append(error)
        if self.report is not None:
            for p in error.problems:
                self.report.writerow([error.line, neutralised(p.field), neutralised(p.reason)])
        if self.publisher is not None:
            rejection = Rejection.of(STAGE, source, error.summary(), error.payload())
            value = rejection.model_dump_json().encode()
            self._rejection_acks.append(self.publisher.send(self.rejected_topic, None, value))
            if len(self._rejection_acks) >= self.batch:
                self.wait()

    def wait(self) -> None:
        """Wait for every pending acknowledgement; only acknowledged offers count published."""
        if self.publisher is None:
            return
        self.publisher.wait(self._rejection_acks, ACK_TIMEOUT_S)
        self._rejection_acks.clear()
        self.published += self.publisher.wait(self._offer_acks, ACK_TIMEOUT_S)
        self._offer_acks.clear()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        redirect_stdout=False,  # stdout carries the listing and the summary, never the bar
    )


class _PlainProgress:
    """Progress as plain lines on stderr when it is not a terminal (CI logs, pipes).

    One line per tenth of the file, or per 10,000 rows when the size is unknown.
    """

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.name = name
        self.step = -1

    def update(self, done: int, total: int | None, rows: int) -> None:
        step = done * 10 // total if total else rows // 10_000
        if step > self.step:
            self.step = step
            share = f"{done * 100 // total:3d} % " if total else ""
            self.console.print(f"importing {escape(self.name)}: {share}{rows:,} rows")


def _run(export: ErpExport, run: _Run, console: Console) -> None:
    name = export.path.name
    plain = None if console.is_terminal else _PlainProgress(console, name)
    with _progress(console) as progress:
        done, total = export.progress()
        task = progress.add_task(escape(f"importing {name}"), total=total, rows=0)
        for n, item in enumerate(export, start=1):
            if isinstance(item, RowError):
                run.bad_row(item, f"{name}:{item.line}")
            else:
                run.offer(item)
                if item.classification is not None and item.classification.needs_review:
                    run.needs_review(item)
            if n % PROGRESS_EVERY == 0:
                done, total = export.progress()
                progress.update(task, completed=done, total=total, rows=n)
                if plain is not None:
                    plain.update(done, total, n)
        run.wait()
        done, total = export.progress()
        progress.update(task, completed=total or done, total=total or done, rows=export.rows_read)
        if plain is not None:
            plain.update(total or done, total or done, export.rows_read)


def _review_reason(offer: Offer) -> str:
    """Why an offer awaits review, and the choice put to the person."""
    found = offer.classification
    codes = ", ".join(found.candidates) if found is not None and found.candidates else "none"
    kind = offer.kind.value if offer.kind is not None else "unknown"
    return f"needs review: read as {kind}, EWC candidates {codes} (published without a code)"


def _review_table(run: _Run) -> Table:
    title = f"{run.review:,} row{'s' if run.review != 1 else ''} to review (published, no EWC code)"
    table = Table(title=title, title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("description")
    table.add_column("candidates")
    for offer in run.first_reviews:
        found = offer.classification
        codes = ", ".join(found.candidates) if found is not None else ""
        table.add_row(offer.source.rsplit(":", 1)[-1], escape(offer.description), codes)
    if run.review > len(run.first_reviews):
        table.add_row("...", f"{run.review - len(run.first_reviews):,} more", "")
    return table


def _error_table(run: _Run) -> Table:
    """The first bad rows, one table row per problem."""
    title = f"{run.rejected:,} bad row{'s' if run.rejected != 1 else ''}"
    table = Table(title=title, title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("field")
    table.add_column("reason")
    for error in run.first_errors:
        for p in error.problems:
            table.add_row(str(error.line), escape(p.field), escape(p.reason))
    if run.rejected > len(run.first_errors):
        table.add_row("...", "", f"{run.rejected - len(run.first_errors):,} more rows")
    return table


def _open(
    stack: ExitStack,
    file: Path,
    mapping: Path,
    options: tuple[str | None, str | None, Path | None],
    stderr: Console,
) -> tuple[ErpExport, IO[str] | None]:
    """The export opened (its encoding and delimiter said on stderr first) and the report file.

    Raises:
        SymbiosisError: the mapping, the file or the report cannot be read or written.
    """
    encoding, delimiter, errors = options
    encoding, delimiter = _text_options(encoding, delimiter)
    columns = load_mapping(mapping)

    def say(dialect: TextDialect) -> None:  # before the header is read: its errors come after
        stderr.print(escape(f"{file.name}: {dialect.describe()}"), soft_wrap=True)

    export = stack.enter_context(
        ErpExport(file, columns, encoding=encoding, delimiter=delimiter, on_dialect=say)
    )
    if export.format_note is not None:
        stderr.print(escape(f"{file.name}: {export.format_note}"), soft_wrap=True)
    report = stack.enter_context(_open_report(errors)) if errors is not None else None
    return export, report


def _connect(
    stack: ExitStack, export: ErpExport, company: str, source: tuple[Path | None, str | None],
    dry_run: bool,
) -> Publisher | None:  # fmt: skip
    """Kafka's publisher (none for a dry run), and the company's sites checked on every row.

    ``source`` is the park file (or None: the registry) and the API token; publishing needs
    the company's own token or an operator's.

    Raises:
        SymbiosisError: no token, or one not the company's; Kafka or the database not reached
            within seconds (one line naming the address and its setting); the park file is
            invalid, or the company has no site.
    """
    park, token = source
    publisher = None
    if not dry_run:
        check_authority(get_settings().database_url, token, company)
        publisher = open_publisher(get_settings())
        stack.callback(publisher.close)
    sites = sites_in_park(park, company) if park else sites_in_registry(get_settings(), company)
    export.check_sites(company, sites)
    return publisher


def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="ERP export: .csv, .tsv, .txt, .json, .jsonl or .xlsx (a .xls that is text, "
            "as SAP's Spreadsheet export, is read as CSV; a legacy .xls is not read).",
            show_default=False,
        ),
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping",
            "-m",
            metavar="MAPPING",
            help="Column-mapping file (YAML or JSON), see above.",
            show_default=False,
        ),
    ],
    company: Annotated[
        str,
        typer.Option(
            "--company",
            metavar="ID",
            help="The company whose stock this is: a row's site must be one of its sites.",
            show_default=False,
        ),
    ],
    park: Annotated[
        Path | None,
        typer.Option(
            "--park",
            metavar="PARK.yaml",
            help="Take the company's sites from this park file; unset: from the registry on Kafka.",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_VARIABLE,
            metavar="TOKEN",
            help="The company's API token (or an operator's), needed to publish; from "
            f"{TOKEN_VARIABLE} when not given. A --dry-run needs none.",
            show_default=False,
            show_envvar=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Validate and list the offers it would publish; publish nothing."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="With --dry-run: list the offers as JSON, one object per line."
        ),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            metavar="NAME",
            help="Text encoding of a CSV or JSON export (e.g. cp1252), over the mapping's; "
            "unset: detected.",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter",
            metavar="CHAR",
            help="CSV delimiter (\\t for a tab), over the mapping's; unset: detected.",
            show_default=False,
        ),
    ] = None,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="REPORT.csv",
            help="Write every bad row's problems as line,field,reason to this CSV file, one "
            "line per problem (a cell that would start a spreadsheet formula, =+-@, gets a "
            "leading ').",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            "--batch", min=1, help="Offers sent between waits for Kafka's acknowledgement."
        ),
    ] = 5000,
) -> None:
    """Import an ERP export as offers (the full help is :data:`HELP`).

    \f
    Long because: a CLI command: most lines declare its options and their help.
    """  # noqa: D301 - \f ends what --help shows
    stderr = Console(stderr=True, highlight=False)
    if as_json and not dry_run:
        raise _stop("--json lists the offers a dry run would publish: add --dry-run")
    failure: str | None = None
    with ExitStack() as stack:
        try:
            export, report = _open(stack, file, mapping, (encoding, delimiter, errors), stderr)
            publisher = _connect(stack, export, company, (park, token), dry_run)
        except SymbiosisError as e:
            raise _stop(str(e)) from e
        description = export.mapping.columns.get("description", "description")
        listing = _Listing(as_json) if dry_run else None
        run = _Run(publisher, report, batch, description, listing)
        try:
            _run(export, run, stderr)
        except SymbiosisError as e:
            failure = f"import stopped: {e}"
    table = listing.table() if listing is not None else None
    if table is not None:
        stdout = Console(highlight=False)
        # A pipe has no width: the table gets room for whole ids rather than 80 columns.
        (stdout if stdout.is_terminal else Console(highlight=False, width=LISTING_WIDTH)).print(
            table
        )
    if run.first_reviews:
        stderr.print(_review_table(run))
    if run.first_errors:
        stderr.print(_error_table(run))
    if failure is not None:
        stderr.print(escape(failure), soft_wrap=True)
    summary = {
        "file": str(file),
        "rows": export.rows_read,
        "offers": run.offers,
        "rejected": run.rejected,
        "needs_review": run.review,
        "published": run.published,
        "dry_run": dry_run,
    }
    typer.echo(json.dumps(summary, ensure_ascii=False))
    if failure is not None:
        raise typer.Exit(2)
    if run.rejected:
        raise typer.Exit(1)
