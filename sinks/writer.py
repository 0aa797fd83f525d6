"""Idempotent batched writes into PostgreSQL/TimescaleDB.

Binary COPY into staging tables, then ``INSERT ... SELECT ... ON CONFLICT`` into the real
tables, in one transaction.

Guarantee: after :meth:`PostgresWriter.write` returns, every row given is stored exactly once
(rows already present, e.g. from a replayed Kafka batch, are skipped); if it raises, nothing of
the call is stored. Events (readings, alerts, offers) are never changed once stored. A ledger
entry is a stream's state at one instant: one written later for the same stream and instant
(a meter of the stream reporting that instant in another record, counted after the first
entry was sent) replaces the stored one, so the newest version wins, as on the compacted
ledger topic; a replay of the same entries changes nothing.

On plain PostgreSQL the tables are range-partitioned (migration 002): before the write
transaction the writer makes sure partitions cover each table's time span
(:func:`sinks.maintenance.ensure_partitions_for`, cached per process, so normally free). Rows
for which no partition could be created in time go to the DEFAULT partition, so an insert never
fails for a missing partition. On TimescaleDB, chunks are created by the insert itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any, Final

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.errors import InvalidRecordError
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry
from schemas.ledger_wire import WireLedgerEntry
from schemas.offers import Offer
from schemas.readings import EARLIEST_READING_TS, LATEST_READING_TS, BatchFields
from sinks.maintenance import ensure_partitions_for, partitioned_tables

ReadingRow = tuple[str, datetime, str, float, str, str, str]
LedgerRow = tuple[
    str, datetime, str, str, str, float, float, float, float, float, int, datetime | None, bool
]
OfferRow = tuple[
    str, str, str | None, str | None, str, str | None, float, str, datetime | None,
    datetime | None, str, Jsonb,
]  # fmt: skip
AlertRow = tuple[
    datetime, str, str, str, str, str, str, float, str, float, str, float, float, Jsonb
]


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key: tuple[str, ...]
    time_index: int  # position of the partitioning (time) column in a row
    replace: bool = False
    """A row whose key is stored already replaces it (the newest version of a state at one
    instant); ``False``: it is skipped (an event, stored once)."""

    def _cols(self) -> sql.Composed:
        return sql.SQL(", ").join(map(sql.Identifier, self.columns))

    def stage_ddl(self) -> sql.Composed:
        return sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(sql.Identifier(f"stage_{self.name}"), sql.Identifier(self.name))

    def copy_sql(self) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(f"stage_{self.name}"), self._cols()
        )

    def copy_direct_sql(self) -> sql.Composed:
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.name), self._cols()
        )

    def last_per_key(self, rows: list[Any]) -> list[Any]:
        """``rows`` with one row per key, the last one given.

        A replacing merge may not touch one row twice; rows keep their first key's place.
        """
        if not self.replace:
            return rows
        where = [self.columns.index(k) for k in self.key]
        last = {tuple(row[i] for i in where): row for row in rows}
        return rows if len(last) == len(rows) else list(last.values())

    def merge_sql(self) -> sql.Composed:
        """Staging -> table: a key stored already is skipped, or replaced.

        Replaced (:attr:`replace`) only when a value differs, so a replay changes and counts
        nothing.
        """
        action: sql.Composable = sql.SQL("DO NOTHING")
        if self.replace:
            rest = [sql.Identifier(c) for c in self.columns if c not in self.key]
            mine = sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(self.name), c)
                                      for c in rest)  # fmt: skip
            theirs = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in rest)
            update = "DO UPDATE SET ({}) = ROW({}) WHERE ({}) IS DISTINCT FROM ({})"
            action = sql.SQL(update).format(sql.SQL(", ").join(rest), theirs, mine, theirs)
        return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            sql.Identifier(self.name),
            self._cols(),
            self._cols(),
            sql.Identifier(f"stage_{self.name}"),
            sql.SQL(", ").join(map(sql.Identifier, self.key)),
            action,
        )


READINGS: Final = _Table(
    "readings",
    ("meter", "ts", "stream", "value", "unit", "quality", "batch_id"),
    ("text", "timestamptz", "text", "float8", "text", "text", "text"),
    ("meter", "ts"),
    1,
)
LEDGER: Final = _Table(
    "ledger",
    ("stream", "updated_at", "site", "kind", "unit", "window_s", "measured", "committed",
     "available", "steadiness", "samples", "available_since", "stale"),
    ("text", "timestamptz", "text", "text", "text", "float8", "float8", "float8", "float8",
     "float8", "int4", "timestamptz", "bool"),
    ("stream", "updated_at"),
    1,
    replace=True,
)  # fmt: skip
ALERTS: Final = _Table(
    "alerts",
    ("ts", "idempotency_key", "alert_id", "event", "stream", "need", "kind", "available", "unit",
     "quantity", "need_unit", "distance_km", "co2e_t_per_yr", "payload"),
    ("timestamptz", "text", "text", "text", "text", "text", "text", "float8", "text", "float8",
     "text", "float8", "float8", "jsonb"),
    ("idempotency_key", "ts"),
    0,
)  # fmt: skip


OFFERS: Final = _Table(
    "offers",
    ("id", "site", "stream", "kind", "description", "ewc", "quantity", "unit", "available_from",
     "available_until", "source", "payload"),
    ("text", "text", "text", "text", "text", "text", "float8", "text", "timestamptz",
     "timestamptz", "text", "jsonb"),
    ("id",),
    -1,  # not partitioned
)  # fmt: skip


@dataclass(slots=True)
class Batch:
    """Rows collected from Kafka records, waiting for one database transaction."""

    readings: list[ReadingRow] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    offers: list[OfferRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.readings) + len(self.ledger) + len(self.alerts) + len(self.offers)

    def tables(self) -> list[tuple[_Table, list[Any]]]:
        """Each table with its queued rows, in write order."""
        return [(READINGS, self.readings), (LEDGER, self.ledger), (ALERTS, self.alerts),
                (OFFERS, self.offers)]  # fmt: skip

    def add_offer(self, o: Offer) -> None:
        """Queue one ERP offer."""
        self.offers.append(
            (o.id, o.site, o.stream, o.kind.value if o.kind else None, o.description, o.ewc,
             o.quantity, o.unit, o.available_from, o.available_until, o.source,
             Jsonb(orjson.loads(o.model_dump_json())))
        )  # fmt: skip

    def add_readings(self, batch: BatchFields) -> None:
        """Queue every reading of a batch (one row each)."""
        self.readings.extend(
            (r.meter, r.ts, batch.stream, r.value, r.unit, r.quality.value, batch.batch_id)
            for r in batch.readings
        )

    def add_ledger(self, e: LedgerEntry | WireLedgerEntry) -> None:
        """Queue one ledger entry."""
        self.ledger.append(
            (e.stream, e.updated_at, e.site, e.kind.value, e.unit, e.window_s, e.measured,
             e.committed, e.available, e.steadiness, e.samples, e.available_since, e.stale)
        )  # fmt: skip

    def add_alert(self, a: Alert) -> None:
        """Queue one alert event."""
        self.alerts.append(
            (a.ts, a.idempotency_key, a.alert_id, a.event.value, a.stream, a.need, a.kind.value,
             a.available, a.unit, a.quantity, a.need_unit, a.distance_km, a.benefit.co2e_t_per_yr,
             Jsonb(orjson.loads(a.model_dump_json())))
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Rows newly inserted per table (duplicates skipped are not counted).

    Ledger rows replaced by a different version of the same entry count as written.
    """

    readings: int
    ledger: int
    alerts: int
    offers: int = 0


class PostgresWriter:
    """Writes :class:`Batch` es over one connection (reconnects are the caller's policy)."""

    def __init__(
        self, conn: psycopg.Connection[tuple[object, ...]], *, optimistic: bool = True
    ) -> None:
        """Learn which tables are partitioned (staging tables are made on first use).

        Args:
            conn: a connection outside any transaction.
            optimistic: write readings with a direct COPY into the table and fall back to
                staging + ``ON CONFLICT`` only when that COPY hits a duplicate (a replay).
                Stores exactly the same rows; ``False`` always takes the staging path.

        Raises:
            psycopg.Error: the tables do not exist (migrations not applied) or the database
                failed.
            InvalidRecordError: the catalog query failed.
        """
        self.conn = conn
        self.optimistic = optimistic
        self.fallbacks = 0
        """Batches whose direct COPY met a duplicate and took the staging path instead."""
        self._staged: set[str] = set()
        """Tables whose session staging table exists (made on first use, see write())."""
        with conn.transaction():
            self._partitioned = partitioned_tables(conn)

    def write(self, batch: Batch) -> WriteResult:
        """Store a batch in one transaction.

        The connection must be outside a transaction: on plain PostgreSQL a missing partition
        is created (and committed) in a short transaction of its own first.

        Raises:
            psycopg.Error: the transaction failed and was rolled back.
            InvalidRecordError: the database refused to create a partition for a reason other than
                a busy lock (a busy lock only sends the rows to the DEFAULT partition); a
                reading's time lies outside the schema's window
                (:data:`~schemas.readings.EARLIEST_READING_TS` ..
                :data:`~schemas.readings.LATEST_READING_TS`: only rows that bypassed validation);
                or the rows' times cannot be placed in partitions (Python cannot convert them).
        """
        for table, rows in batch.tables():
            partitioned = table.name in self._partitioned
            if not rows or not (partitioned or table is READINGS):
                continue
            at = itemgetter(table.time_index)
            lo, hi = min(map(at, rows)), max(map(at, rows))  # aware datetimes: never raises
            if table is READINGS and (lo < EARLIEST_READING_TS or hi > LATEST_READING_TS):
                # year 1 at +23:59 is year 0 in UTC, which Python's datetime cannot convert
                raise InvalidRecordError(
                    f"reading times must lie within {EARLIEST_READING_TS.isoformat()} .. "
                    f"{LATEST_READING_TS.isoformat()}, got {lo.isoformat()} .. {hi.isoformat()}"
                )
            if partitioned:
                try:
                    ensure_partitions_for(
                        self.conn, table.name, lo, hi, instants=partial(map, at, rows)
                    )
                except (ArithmeticError, ValueError) as e:
                    raise InvalidRecordError(
                        f"cannot place {table.name} rows in partitions: {type(e).__name__}: {e}"
                    ) from e
        for table, rows in batch.tables():
            if rows and table.name not in self._staged:
                with self.conn.transaction():
                    self.conn.execute(table.stage_ddl())
                self._staged.add(table.name)
        counts = []
        with self.conn.transaction(), self.conn.cursor() as cur:
            for table, rows in batch.tables():
                if not rows:
                    counts.append(0)
                    continue
                direct = table is READINGS and self.optimistic
                if direct and self._copy_direct(cur, batch.readings):
                    counts.append(len(rows))
                    continue
                with cur.copy(table.copy_sql()) as copy:
                    copy.set_types(list(table.types))
                    for row in table.last_per_key(rows):
                        copy.write_row(row)
                cur.execute(table.merge_sql())
                counts.append(cur.rowcount)
        return WriteResult(*counts)

    def _copy_direct(self, cur: psycopg.Cursor[tuple[object, ...]], rows: list[ReadingRow]) -> bool:
        """COPY rows straight into ``readings`` under a savepoint; False if one already exists.

        The common case (new readings) then costs one COPY into the indexed table instead of a
        COPY into staging plus an ``INSERT ... SELECT ... ON CONFLICT``. A duplicate (Kafka
        redelivery after a crash, a historian re-sending) aborts the COPY; the savepoint is
        rolled back and the caller takes the staging path, which skips the duplicates.
        """
        try:
            with self.conn.transaction(), cur.copy(READINGS.copy_direct_sql()) as copy:
                copy.set_types(list(READINGS.types))
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            self.fallbacks += 1
            return False
        return True
