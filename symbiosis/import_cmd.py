"""``symbiosis import``: an ERP export (CSV, JSON, JSON Lines, XLSX) into the offers topic.

Every row is validated (:mod:`ingest.erp`); good rows are published as offers and bad rows as
rejections, both acknowledged by Kafka before they count. Exit codes: 0 every row was good,
1 some rows were rejected (the good ones were published), 2 the import could not run or
stopped (file or mapping unreadable, Kafka unreachable); typer's usage errors exit 2 too.
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
from ingest.erp import ErpExport, RowError, load_mapping
from runtime.settings import get_settings
from schemas.offers import Offer
from schemas.rejections import Rejection
from topics.kafka_security import kafka_client_options

STAGE: Final = "ingest"
ACK_TIMEOUT_S: Final = 120.0
"""Longest wait for Kafka to acknowledge one chunk of records."""
SHOWN_ERRORS: Final = 10
"""Bad rows listed in the summary table; the report file has all of them."""
PROGRESS_EVERY: Final = 500
"""Rows between progress-bar updates."""
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
"""A report cell starting so is a formula to a spreadsheet program (CSV injection, OWASP)."""

HELP: Final = """Import an ERP export of surplus stock (CSV, JSON, JSON Lines or XLSX) as offers.

Each row is validated and normalised; a row without an EWC code is classified from its
description and unit, in the description's language. Good rows go to the offers topic, bad
rows to the rejected topic and to the --errors report (line,field,reason), and the first bad
rows are listed on stderr. A row the classifier is unsure of is published without a code,
with its three best candidates, and listed (stderr and report) as "needs review". The last
line on stdout is a JSON summary. Exit 0: all rows good; 1: some rejected, the rest
published; 2: the file or mapping cannot be read, or Kafka failed.

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
    decimal_comma: true    # 1.234,5
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


class _Run:
    """Counts and sinks of one import: report file, Kafka, the first errors."""

    def __init__(
        self,
        publisher: Publisher | None,
        report: IO[str] | None,
        batch: int,
        description_column: str = "description",
    ) -> None:
        settings = get_settings()
        self.offers_topic = settings.topics.offers
        self.rejected_topic = settings.topics.rejected
        self.publisher = publisher
        self.report = csv.writer(report) if report is not None else None
        self.batch = batch
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

    def offer(self, key: str, value: bytes) -> None:
        self.offers += 1
        if self.publisher is not None:
            self._offer_acks.append(self.publisher.send(self.offers_topic, key, value))
            if len(self._offer_acks) >= self.batch:
                self.wait()

    def bad_row(self, error: RowError, source: str) -> None:
        self.rejected += 1
        if len(self.first_errors) < SHOWN_ERRORS:
            self.first_errors.append(error)
        if self.report is not None:
            self.report.writerow([error.line, neutralised(error.field), neutralised(error.reason)])
        if self.publisher is not None:
            rejection = Rejection.of(
                STAGE, source, f"{error.field}: {error.reason}", error.payload()
            )
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
                run.offer(item.id, item.model_dump_json().encode())
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
    title = f"{run.rejected:,} bad row{'s' if run.rejected != 1 else ''}"
    table = Table(title=title, title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("field")
    table.add_column("reason")
    for error in run.first_errors:
        table.add_row(str(error.line), escape(error.field), escape(error.reason))
    if run.rejected > len(run.first_errors):
        table.add_row("...", "", f"{run.rejected - len(run.first_errors):,} more")
    return table


def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="ERP export: .csv, .tsv, .json, .jsonl or .xlsx.",
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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report only; publish nothing.")
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="REPORT.csv",
            help="Write every bad row's line,field,reason to this CSV file (a cell that "
            "would start a spreadsheet formula, =+-@, gets a leading ').",
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
    failure: str | None = None
    with ExitStack() as stack:
        try:
            columns = load_mapping(mapping)
            export = stack.enter_context(ErpExport(file, columns))
            report = stack.enter_context(_open_report(errors)) if errors is not None else None
            publisher = None
            if not dry_run:
                settings = get_settings()
                publisher = Publisher(settings.kafka_bootstrap, **kafka_client_options(settings))
                stack.callback(publisher.close)
        except SymbiosisError as e:
            raise _stop(str(e)) from e
        run = _Run(publisher, report, batch, columns.columns.get("description", "description"))
        try:
            _run(export, run, stderr)
        except SymbiosisError as e:
            failure = f"import stopped: {e}"
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
