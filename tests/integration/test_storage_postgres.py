"""Storage layout on plain PostgreSQL 15: partitions, DEFAULT partition, BRIN, aggregates.

Every test works in a database of its own (``symbiosis_sql_<uuid8>``, dropped afterwards) on
the local stack's PostgreSQL; the shared ``symbiosis`` and ``symbiosis_test`` databases are
never touched. The helpers at the top (scratch databases, row builders, the query surface) are
shared with ``test_storage_timescaledb.py``, which runs the same queries on TimescaleDB.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.errors import StackError
from sinks import maintenance
from sinks.migrate import migrate, migrations
from sinks.writer import AlertRow, Batch, LedgerRow, PostgresWriter, ReadingRow
from symbiosis.local_postgres import LocalPostgres
from symbiosis.stack_settings import StackSettings

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
# Fixed instants for tests that pass `now` to maintenance; tests on TimescaleDB (whose
# policies use the server's clock) build their data relative to the real now instead.
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 6, 15, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _admin_url() -> str:
    pg = LocalPostgres(StackSettings())
    try:
        with psycopg.connect(pg.admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        try:
            pg.up()  # idempotent: starts the stack's PostgreSQL if it is not running
        except StackError as e:
            pytest.fail(f"PostgreSQL could not start: {e}", pytrace=False)
    return pg.admin_url


@contextmanager
def scratch_database(prefix: str = "symbiosis_sql") -> Iterator[str]:
    """A new, empty database on the local PostgreSQL, dropped on exit; yields its URL."""
    admin = _admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def one(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return row[0]


def reading(meter: str, ts: datetime, value: float = 1.0, stream: str | None = None) -> ReadingRow:
    return (meter, ts, stream or f"{meter}-s", value, "MW", "good", f"b-{meter}")


def ledger_row(
    stream: str, ts: datetime, available: float, measured: float, *, kind: str = "heat",
    site: str = "site-a", unit: str = "MW",
) -> LedgerRow:  # fmt: skip
    return (stream, ts, site, kind, unit, 60.0, measured, measured - available, available,
            0.9, 60, None, False)  # fmt: skip


def alert_row(stream: str, need: str, ts: datetime, event: str = "opened") -> AlertRow:
    key = f"{stream}:{need}:{event}:{ts.isoformat()}"
    return (ts, key, f"{stream}:{need}", event, stream, need, "heat", 8.0, "MW", 8.0, "MW",
            2.5, 1234.5, Jsonb({"alert_id": f"{stream}:{need}", "event": event}))  # fmt: skip


def aggregate_batch(prefix: str, base: datetime) -> Batch:
    """Ledger rows with hand-computed aggregates (see :data:`EXPECTED_AGGREGATES`).

    ``{prefix}-a`` (heat, MW): 4 entries in the 15-minute bucket at ``base`` (available 10, 20,
    30, 40; measured 12, 22, 32, 42) and 2 in the one at ``base`` + 15 min (available 50, 70;
    measured 55, 75). ``{prefix}-b`` (heat, MW): 1 entry at ``base`` + 50 min (available 5,
    measured 6). ``{prefix}-c`` (water, m^3/h): 2 entries in the next hour (available 3, 9).
    """
    b = Batch()
    for i, avail in enumerate((10, 20, 30, 40)):
        b.ledger.append(
            ledger_row(f"{prefix}-a", base + timedelta(minutes=3 * i), avail, avail + 2)
        )
    for i, avail in enumerate((50, 70)):
        b.ledger.append(
            ledger_row(f"{prefix}-a", base + timedelta(minutes=20 + i), avail, avail + 5)
        )
    b.ledger.append(ledger_row(f"{prefix}-b", base + timedelta(minutes=50), 5, 6, site="site-b"))
    for i, avail in enumerate((3, 9)):
        b.ledger.append(ledger_row(f"{prefix}-c", base + timedelta(minutes=70 + i), avail, avail,
                                   kind="water", unit="m^3/h", site="site-c"))  # fmt: skip
    return b


def expected_aggregates(prefix: str, base: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """By hand, for :func:`aggregate_batch`: (bucket, stream, kind, avg, min, max, avg measured,
    samples) per stream; (bucket, kind, unit, streams, total available, total measured, samples)
    per kind."""
    q = timedelta(minutes=15)
    h = timedelta(hours=1)
    a, b, c = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    return {
        "availability_15m": [
            (base, a, "heat", 25.0, 10.0, 40.0, 27.0, 4),
            (base + q, a, "heat", 60.0, 50.0, 70.0, 65.0, 2),
            (base + 3 * q, b, "heat", 5.0, 5.0, 5.0, 6.0, 1),
            (base + h, c, "water", 6.0, 3.0, 9.0, 6.0, 2),
        ],
        "availability_1h": [
            (base, a, "heat", 220 / 6, 10.0, 70.0, 238 / 6, 6),
            (base, b, "heat", 5.0, 5.0, 5.0, 6.0, 1),
            (base + h, c, "water", 6.0, 3.0, 9.0, 6.0, 2),
        ],
        "availability_by_kind_1h": [
            (base, "heat", "MW", 2, 220 / 6 + 5, 238 / 6 + 6, 7),
            (base + h, "water", "m^3/h", 1, 6.0, 6.0, 2),
        ],
    }


def read_aggregates(conn: psycopg.Connection[Any], prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    """The aggregate rows of the streams named ``{prefix}-*``, in a stable order."""
    like = f"{prefix}-%"
    per_stream = (
        "SELECT bucket, stream, kind, avg_available, min_available, max_available, avg_measured,"
        " samples FROM {} WHERE stream LIKE %s ORDER BY bucket, stream"
    )
    out = {
        view: conn.execute(per_stream.format(view).encode(), (like,)).fetchall()
        for view in ("availability_15m", "availability_1h")
    }
    out["availability_by_kind_1h"] = conn.execute(
        "SELECT k.bucket, k.kind, k.unit, k.streams, k.total_available, k.total_measured,"
        " k.samples FROM availability_by_kind_1h k WHERE EXISTS (SELECT 1 FROM availability_1h a"
        " WHERE a.bucket = k.bucket AND a.kind = k.kind AND a.stream LIKE %s)"
        " ORDER BY k.bucket, k.kind",
        (like,),
    ).fetchall()
    return out


def assert_rows_close(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w), (g, w)
        for gv, wv in zip(g, w, strict=True):
            if isinstance(wv, float):
                assert gv == pytest.approx(wv, rel=1e-12), (g, w)
            else:
                assert gv == wv, (g, w)


def surface_batch(prefix: str, base: datetime) -> Batch:
    """The query-surface data set: readings over three hours and two meters, a replayed slice,
    ledger entries (:func:`aggregate_batch`) and alerts, all after ``base``."""
    b = aggregate_batch(prefix, base)
    for m in range(2):
        for i in range(3 * 60):  # one reading a minute for 3 hours
            ts = base + timedelta(minutes=i, seconds=m)
            b.readings.append(reading(f"{prefix}-m{m}", ts, float(i * (m + 1)), f"{prefix}-a"))
    b.readings.extend(b.readings[:30])  # a replayed slice inside the same batch
    for i, event in enumerate(("opened", "updated", "resolved")):
        b.alerts.append(alert_row(f"{prefix}-a", f"{prefix}-need", base + timedelta(minutes=i * 40),
                                  event))  # fmt: skip
    return b


def query_surface(conn: psycopg.Connection[Any], prefix: str, base: datetime) -> dict[str, Any]:
    """The queries the dashboard and API run, restricted to one prefix's streams."""
    like = f"{prefix}-%"
    end = base + timedelta(hours=3)
    q: dict[str, Any] = read_aggregates(conn, prefix)
    q["readings_per_hour"] = conn.execute(
        "SELECT date_bin('1 hour', ts, timestamptz '2000-01-01 00:00+00') AS h, meter, count(*),"
        " min(value), max(value), sum(value) FROM readings WHERE stream LIKE %s AND ts >= %s"
        " AND ts < %s GROUP BY 1, 2 ORDER BY 1, 2",
        (like, base, end),
    ).fetchall()
    q["latest_reading"] = conn.execute(
        "SELECT DISTINCT ON (meter) meter, ts, value FROM readings WHERE meter LIKE %s"
        " ORDER BY meter, ts DESC",
        (like,),
    ).fetchall()
    q["latest_ledger"] = conn.execute(
        "SELECT DISTINCT ON (stream) stream, updated_at, available FROM ledger"
        " WHERE stream LIKE %s ORDER BY stream, updated_at DESC",
        (like,),
    ).fetchall()
    q["alerts"] = conn.execute(
        "SELECT ts, event, stream, need, payload->>'event' FROM alerts WHERE stream LIKE %s"
        " ORDER BY ts",
        (like,),
    ).fetchall()
    return q


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def db() -> Iterator[str]:
    """A fresh database with the migrations applied."""
    with scratch_database() as url:
        started = time.perf_counter()
        migrate(url)
        print(
            f"\nmigrations 001-007 on PostgreSQL: {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        yield url


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection[Any]]:
    maintenance.forget_partition_cache()
    with psycopg.connect(db) as c:
        yield c


def partition_counts(conn: psycopg.Connection[Any], table: str) -> dict[str, int]:
    rows = conn.execute(
        sql.SQL("SELECT tableoid::regclass::text, count(*) FROM {} GROUP BY 1").format(
            sql.Identifier(table)
        )
    ).fetchall()
    conn.commit()
    return {str(name): int(n) for name, n in rows}


def partition_names(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT partition::text FROM symbiosis_partitions(%s) ORDER BY lo NULLS LAST", (table,)
    ).fetchall()
    conn.commit()
    return [str(r[0]) for r in rows]


# ---------------------------------------------------------------------------------------------
# Tests


def test_migrations_apply_on_empty_database_and_are_idempotent(db: str) -> None:
    assert migrate(db) == []  # the fixture applied them all
    with psycopg.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == [m.version for m in migrations()] == [1, 2, 3, 4, 5, 6, 7]
        assert maintenance.engine(conn) == "postgresql"
        assert maintenance.partitioned_tables(conn) == {"readings", "ledger", "alerts"}
        strategy = conn.execute(
            "SELECT c.relname, p.partstrat, a.attname FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
            " ORDER BY 1"
        ).fetchall()
        assert strategy == [("alerts", "r", "ts"), ("ledger", "r", "updated_at"),
                            ("readings", "r", "ts")]  # fmt: skip
        # A DEFAULT partition each, and partitions from today to the premake horizon.
        today = one(conn, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
        readings = partition_names(conn, "readings")
        assert readings[-1] == "readings_default"
        assert readings[0] == f"readings_p{today}"
        assert len(readings) == 1 + 4  # today + 3 days ahead
        assert partition_names(conn, "ledger")[0] == f"ledger_p{today[:6]}"
        assert partition_names(conn, "alerts")[-1] == "alerts_default"
        # BRIN on the time column and the natural-key btree, on every partition; nothing else
        # (each btree costs the sink's COPY about as much as the heap write, 007).
        for table in ("readings", "readings_default", f"readings_p{today}"):
            indexes = conn.execute(
                "SELECT am.amname, pg_get_indexdef(i.indexrelid) LIKE '%%(meter, ts)'"
                " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = %s::regclass ORDER BY 1",
                (table,),
            ).fetchall()
            assert indexes == [("brin", False), ("btree", True)], table
        # The aggregates: tables of the agreed names, and the per-kind views.
        kinds = dict(
            conn.execute(
                "SELECT relname, relkind FROM pg_class WHERE relname LIKE 'availability%%'"
                " AND relkind IN ('r', 'v', 'm')"
            ).fetchall()
        )
        assert kinds == {
            "availability_15m": "r", "availability_1h": "r", "availability_invalidations": "r",
            "availability_by_kind_15m": "v", "availability_by_kind_1h": "v",
        }  # fmt: skip


LEGACY_001 = """
CREATE TABLE readings (meter text NOT NULL, ts timestamptz NOT NULL, stream text NOT NULL,
    value double precision NOT NULL, unit text NOT NULL, quality text NOT NULL,
    batch_id text NOT NULL, PRIMARY KEY (meter, ts));
CREATE INDEX readings_stream_ts ON readings (stream, ts DESC);
CREATE TABLE ledger (stream text NOT NULL, updated_at timestamptz NOT NULL, site text NOT NULL,
    kind text NOT NULL, unit text NOT NULL, window_s double precision NOT NULL,
    measured double precision NOT NULL, committed double precision NOT NULL,
    available double precision NOT NULL, steadiness double precision NOT NULL,
    samples integer NOT NULL, available_since timestamptz, PRIMARY KEY (stream, updated_at));
CREATE TABLE alerts (ts timestamptz NOT NULL, idempotency_key text NOT NULL,
    alert_id text NOT NULL, event text NOT NULL, stream text NOT NULL, need text NOT NULL,
    kind text NOT NULL, available double precision NOT NULL, unit text NOT NULL,
    quantity double precision NOT NULL, need_unit text NOT NULL,
    distance_km double precision NOT NULL, co2e_t_per_yr double precision NOT NULL,
    payload jsonb NOT NULL, PRIMARY KEY (idempotency_key, ts));
CREATE INDEX alerts_pair ON alerts (stream, need, ts DESC);
CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version, name) VALUES (1, 'core');
"""


def test_database_of_the_first_001_is_upgraded_with_its_rows() -> None:
    """symbiosis/symbiosis_test were made by the first 001 (plain tables): 002 converts them."""
    with scratch_database() as url:
        with psycopg.connect(url) as conn:
            conn.execute(LEGACY_001.encode())
            b = Batch()
            b.readings += [reading("old-m", MIDNIGHT - 40 * DAY + i * DAY) for i in range(3)]
            b.alerts.append(alert_row("old-s", "old-n", MIDNIGHT - 40 * DAY))
            assert PostgresWriter(conn).write(b).readings == 3  # unpartitioned: no DDL
            old = ledger_row("old-s", MIDNIGHT - 40 * DAY, 1, 2)
            conn.execute(  # the ledger of the first 001 had no stale column (006)
                "INSERT INTO ledger VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                old[:12],
            )
            b.ledger.append(old)
            conn.commit()
        assert migrate(url) == [2, 3, 4, 5, 6, 7]
        with psycopg.connect(url) as conn:
            assert maintenance.partitioned_tables(conn) == {"readings", "ledger", "alerts"}
            counts = partition_counts(conn, "readings")
            assert counts == {
                f"readings_p{(MIDNIGHT - (40 - i) * DAY):%Y%m%d}": 1 for i in range(3)
            }
            assert one(conn, "SELECT count(*) FROM ledger_default") == 0
            assert one(conn, "SELECT count(*) FROM alerts") == 1
            # Keys, indexes and the writer work on the converted tables.
            assert (
                one(conn, "SELECT count(*) FROM pg_indexes WHERE tablename = 'readings'") == 2
            )  # pkey, BRIN (007)
            again = PostgresWriter(conn).write(b)
            assert (again.readings, again.ledger, again.alerts) == (0, 0, 0)


def test_writer_exactly_once_across_partitions_with_old_and_far_future_rows(
    conn: psycopg.Connection[Any],
) -> None:
    writer = PostgresWriter(conn)
    b = Batch()
    for d in range(3):  # three days of readings, 2 meters, every 10 minutes
        for i in range(144):
            for m in range(2):
                b.readings.append(
                    reading(f"w-m{m}", MIDNIGHT + d * DAY + i * timedelta(minutes=10))
                )
    b.readings.append(reading("w-m0", datetime(2019, 5, 4, 3, 2, 1, tzinfo=UTC)))  # older than
    b.readings.append(reading("w-m0", datetime(2099, 12, 31, 23, 59, tzinfo=UTC)))  # any partition
    for i in range(20):
        b.ledger.append(ledger_row("w-s", MIDNIGHT + i * timedelta(hours=3), i, i + 1))
        b.alerts.append(alert_row("w-s", "w-n", MIDNIGHT + i * timedelta(hours=3)))
    b.ledger.append(ledger_row("w-s", datetime(2019, 5, 4, tzinfo=UTC), 1, 1))
    result = writer.write(b)
    assert (result.readings, result.ledger, result.alerts) == (866, 21, 20)
    for _ in range(3):  # a replayed batch (Kafka redelivery) stores nothing twice
        again = writer.write(b)
        assert (again.readings, again.ledger, again.alerts) == (0, 0, 0)
    counts = partition_counts(conn, "readings")
    assert "readings_default" not in counts  # every row found its own partition
    assert counts["readings_p20190504"] == 1
    assert counts["readings_p20991231"] == 1
    assert counts[f"readings_p{MIDNIGHT:%Y%m%d}"] == 288
    assert sum(counts.values()) == 866
    assert partition_counts(conn, "ledger") == {"ledger_p201905": 1, "ledger_p202606": 20}
    assert partition_counts(conn, "alerts") == {"alerts_p202606": 20}
    # A batch overlapping stored rows, with new ones: only the new rows go in.
    more = Batch(readings=[*b.readings[:100], reading("w-m9", MIDNIGHT + 5 * DAY)])
    assert writer.write(more).readings == 1


def test_a_later_ledger_entry_for_the_same_instant_replaces_the_stored_one(
    conn: psycopg.Connection[Any],
) -> None:
    """Two records of one stream at one instant (two meters pushed separately): the entry
    counted after both is what stays, as on the compacted ledger topic; alerts never change."""
    writer = PostgresWriter(conn)
    at = MIDNIGHT + timedelta(hours=1)
    first = Batch(ledger=[ledger_row("r-s", at, 3.0, 4.0)], alerts=[alert_row("r-s", "n", at)])
    assert (writer.write(first).ledger, writer.write(first).ledger) == (1, 0)
    newer = ledger_row("r-s", at, 7.0, 8.0)
    conn.execute("DELETE FROM availability_invalidations")
    assert writer.write(Batch(ledger=[newer])).ledger == 1
    # the replaced row's hour is logged, so the availability aggregates are recomputed
    assert one(conn, "SELECT count(*) FROM availability_invalidations"
                     " WHERE lo <= %s AND hi >= %s", (at, at)) >= 1  # fmt: skip
    assert writer.write(Batch(ledger=[newer])).ledger == 0  # a replay changes nothing
    # Both versions in one batch (one sink poll): the last one given wins.
    both = Batch(ledger=[ledger_row("r-s", at, 1.0, 2.0), ledger_row("r-s", at, 5.0, 6.0),
                         ledger_row("r-s", at + DAY, 1.0, 1.0)])  # fmt: skip
    assert writer.write(both).ledger == 2
    stored = conn.execute(
        "SELECT updated_at, measured, available FROM ledger WHERE stream = 'r-s' ORDER BY 1"
    ).fetchall()
    assert stored == [(at, 6.0, 5.0), (at + DAY, 1.0, 1.0)]
    changed = (alert_row("r-s", "n", at)[0], alert_row("r-s", "n", at)[1], "other-id",
               *alert_row("r-s", "n", at)[3:])  # fmt: skip
    assert writer.write(Batch(alerts=[changed])).alerts == 0  # an event is stored once
    assert one(conn, "SELECT alert_id FROM alerts WHERE stream = 'r-s'") == "r-s:n"


def test_rows_in_the_default_partition_move_when_their_partition_is_created(
    conn: psycopg.Connection[Any],
) -> None:
    far = datetime(2031, 2, 3, 4, 5, tzinfo=UTC)
    # Written past the writer (no partition yet): the rows land in DEFAULT, nothing fails.
    conn.execute(
        "INSERT INTO readings SELECT 'd-m', %s + i * interval '1 hour', 'd-s', i, 'MW', 'good',"
        " 'b' FROM generate_series(0, 47) i",
        (far,),
    )
    conn.commit()
    assert partition_counts(conn, "readings") == {"readings_default": 48}
    # Creating a partition whose range has rows in DEFAULT moves them (PostgreSQL alone would
    # refuse the new partition).
    assert maintenance.ensure_partitions_for(conn, "readings", far, far) == 1
    counts = partition_counts(conn, "readings")
    assert counts == {"readings_p20310203": 20, "readings_default": 28}
    # The maintenance job drains the rest.
    report = maintenance.run_maintenance(conn, now=NOW)
    assert report.skipped == ()
    assert partition_counts(conn, "readings") == {
        "readings_p20310203": 20, "readings_p20310204": 24, "readings_p20310205": 4,
    }  # fmt: skip

    # A batch with far-apart outliers gets the partitions of its rows, not 60 years of them.
    writer = PostgresWriter(conn)
    b = Batch(readings=[reading("o-m", datetime(2001, 1, 1, tzinfo=UTC)),
                        reading("o-m", datetime(2030, 1, 1, tzinfo=UTC)),
                        reading("o-m", datetime(2060, 1, 1, tzinfo=UTC))])  # fmt: skip
    before = len(partition_names(conn, "readings"))
    assert writer.write(b).readings == 3
    assert len(partition_names(conn, "readings")) == before + 3
    assert "readings_default" not in partition_counts(conn, "readings")
    # Without the rows' times, a wide span gets the partitions of its ends only; rows in
    # between wait in DEFAULT for the maintenance job.
    conn.execute("INSERT INTO readings VALUES ('o-m', '2040-06-01', 'o-s', 1, 'MW', 'good', 'b')")
    conn.commit()
    wide = (datetime(2002, 1, 1, tzinfo=UTC), datetime(2050, 1, 1, tzinfo=UTC))
    assert maintenance.ensure_partitions_for(conn, "readings", *wide) == 2
    assert partition_counts(conn, "readings")["readings_default"] == 1
    assert maintenance.drain_default_partitions(conn) == 1
    assert "readings_default" not in partition_counts(conn, "readings")
    assert one(conn, "SELECT count(*) FROM readings WHERE meter = 'o-m'") == 4


def test_a_busy_lock_delays_partitions_but_never_fails_a_write(
    conn: psycopg.Connection[Any], db: str
) -> None:
    day = datetime(2032, 7, 1, tzinfo=UTC)
    with psycopg.connect(db) as reader:
        # A long query holding the DEFAULT partition: ATTACH needs ACCESS EXCLUSIVE on it.
        reader.execute("SELECT count(*) FROM readings_default").fetchone()
        started = time.monotonic()
        result = PostgresWriter(conn).write(Batch(readings=[reading("busy-m", day)]))
        waited = time.monotonic() - started
        assert result.readings == 1
        assert maintenance.LOCK_TIMEOUT_S <= waited < maintenance.LOCK_TIMEOUT_S + 3
        assert partition_counts(conn, "readings") == {"readings_default": 1}
        report = maintenance.run_maintenance(conn, now=NOW, lock_timeout_s=0.2)
        assert "drain:readings" in report.skipped
        reader.rollback()
    # Once the lock is free, the next run moves the row.
    assert maintenance.run_maintenance(conn, now=NOW).skipped == ()
    assert partition_counts(conn, "readings") == {"readings_p20320701": 1}


def test_concurrent_writers_create_the_same_partitions(db: str) -> None:
    day = datetime(2033, 3, 3, tzinfo=UTC)
    errors: list[BaseException] = []
    stored: list[int] = []

    def write(n: int) -> None:
        try:
            with psycopg.connect(db) as c:
                rows = [reading(f"c-m{n}", day + i * timedelta(hours=1)) for i in range(72)]
                stored.append(PostgresWriter(c).write(Batch(readings=rows)).readings)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    maintenance.forget_partition_cache()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert stored == [72] * 4
    with psycopg.connect(db) as conn:
        assert partition_counts(conn, "readings") == {
            "readings_p20330303": 96, "readings_p20330304": 96, "readings_p20330305": 96,
        }  # fmt: skip


def test_aggregates_match_hand_computed_numbers(conn: psycopg.Connection[Any]) -> None:
    base = datetime(2026, 6, 14, 10, 0, tzinfo=UTC)
    PostgresWriter(conn).write(aggregate_batch("agg", base))
    # Nothing until a refresh ("materialized only", as on TimescaleDB).
    assert read_aggregates(conn, "agg")["availability_15m"] == []
    conn.commit()
    report = maintenance.run_maintenance(conn, now=NOW)
    assert report.aggregate_ranges == 1
    want = expected_aggregates("agg", base)
    got = read_aggregates(conn, "agg")
    for view in want:
        assert_rows_close(got[view], want[view])
    conn.commit()

    # A late ledger entry (a replay after an outage): the next run recomputes its bucket only.
    late = ledger_row("agg-a", base + timedelta(minutes=14), 100, 100)
    assert PostgresWriter(conn).write(Batch(ledger=[late])).ledger == 1
    assert one(conn, "SELECT count(*) FROM availability_invalidations") == 1
    conn.commit()
    assert maintenance.run_maintenance(conn, now=NOW).aggregate_ranges == 1
    first = read_aggregates(conn, "agg")["availability_15m"][:1]
    assert_rows_close(first, [(base, "agg-a", "heat", 40.0, 10.0, 100.0, 41.6, 5)])
    conn.commit()

    # An explicit window recomputes whatever is in it (like refresh_continuous_aggregate).
    conn.execute("TRUNCATE availability_15m, availability_1h")
    conn.commit()
    maintenance.refresh_aggregates(conn, base, base + timedelta(hours=2))
    assert len(read_aggregates(conn, "agg")["availability_1h"]) == 3
    conn.commit()

    # Retention drops the ledger's partitions; the aggregates keep their history.
    report = maintenance.run_maintenance(conn, now=datetime(2027, 8, 10, tzinfo=UTC))
    assert "ledger_p202606" in report.partitions_dropped
    assert one(conn, "SELECT count(*) FROM ledger WHERE stream LIKE 'agg-%%'") == 0
    assert len(read_aggregates(conn, "agg")["availability_1h"]) == 3


def test_retention_drops_expired_partitions_and_keeps_recent_ones(
    conn: psycopg.Connection[Any],
) -> None:
    writer = PostgresWriter(conn)
    old = [reading("r-m", NOW - (100 + i) * DAY) for i in range(3)]
    recent = [reading("r-m", NOW - i * DAY) for i in range(3)]
    ledger = [ledger_row("r-s", NOW - 500 * DAY, 1, 1), ledger_row("r-s", NOW - 2 * DAY, 1, 1)]
    writer.write(Batch(readings=old + recent, ledger=ledger))
    # A row older than retention that sits in DEFAULT is deleted too.
    conn.execute(
        "INSERT INTO readings_default VALUES ('r-m', %s, 'r-m-s', 1, 'MW', 'good', 'b')",
        (NOW - 200 * DAY,),
    )
    conn.commit()
    report = maintenance.run_maintenance(conn, now=NOW)
    assert sorted(report.partitions_dropped) == sorted(
        [f"readings_p{row[1]:%Y%m%d}" for row in old] + [f"ledger_p{NOW - 500 * DAY:%Y%m}"]
    )
    remaining = [r[0] for r in conn.execute("SELECT ts FROM readings ORDER BY ts")]
    assert remaining == sorted(r[1] for r in recent)
    assert one(conn, "SELECT count(*) FROM ledger") == 1
    # Partitions ahead of NOW were made by the same run.
    assert f"readings_p{NOW + 3 * DAY:%Y%m%d}" in partition_names(conn, "readings")
    assert maintenance.drop_expired_partitions(conn, now=NOW) == []  # idempotent


def test_time_bounded_query_prunes_partitions(conn: psycopg.Connection[Any]) -> None:
    PostgresWriter(conn).write(
        Batch(readings=[reading("e-m", MIDNIGHT + i * timedelta(hours=6)) for i in range(12)])
    )
    conn.commit()
    query = sql.SQL(
        "EXPLAIN (COSTS OFF) SELECT count(*) FROM readings WHERE ts >= {} AND ts < {}"
    ).format(sql.Literal(MIDNIGHT + DAY), sql.Literal(MIDNIGHT + DAY + timedelta(hours=12)))
    plan = "\n".join(r[0] for r in conn.execute(query))
    scanned = {p for p in partition_names(conn, "readings") if p in plan}
    assert scanned == {f"readings_p{MIDNIGHT + DAY:%Y%m%d}"}, plan
    # With a parameter (a generic plan), pruning happens at execution time.
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.execute("PREPARE q(timestamptz) AS SELECT count(*) FROM readings WHERE ts >= $1"
                 " AND ts < $1 + interval '12 hours'")  # fmt: skip
    explain = conn.execute(
        sql.SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q({})").format(
            sql.Literal(MIDNIGHT + DAY)
        )
    )
    generic = "\n".join(r[0] for r in explain)
    assert "Subplans Removed" in generic, generic
    execute = sql.SQL("EXECUTE q({})").format(sql.Literal(MIDNIGHT + DAY))
    assert conn.execute(execute).fetchone() == (2,)


def test_cached_partition_check_costs_microseconds(conn: psycopg.Connection[Any]) -> None:
    lo, hi = MIDNIGHT + timedelta(hours=1), MIDNIGHT + timedelta(hours=2)
    maintenance.ensure_partitions_for(conn, "readings", lo, hi)  # fills the cache
    rows = [reading(f"p-m{i % 50}", lo + timedelta(milliseconds=i)) for i in range(20_000)]
    n = 200
    started = time.perf_counter()
    for _ in range(n):
        maintenance.ensure_partitions_for(conn, "readings", lo, hi)
    per_call = (time.perf_counter() - started) / n
    started = time.perf_counter()
    at = itemgetter(1)
    for _ in range(n // 10):
        min(map(at, rows)), max(map(at, rows))
    span = (time.perf_counter() - started) / (n // 10)
    print(f"\ncached partition check: {per_call * 1e6:.1f} us per table and batch;"
          f" min/max over 20,000 rows: {span * 1e3:.2f} ms")  # fmt: skip
    assert per_call < 0.001


def test_stale_streams_are_those_silent_longer_than_the_threshold(db: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(db) as conn:
        rows = [
            ledger_row("quiet", now - timedelta(hours=3), 5, 5),  # reported, then silent
            ledger_row("lively", now - timedelta(minutes=1), 5, 5),
            ledger_row("gone", now - timedelta(days=3), 5, 5),  # silent too long: not counted
        ]
        PostgresWriter(conn).write(Batch(ledger=rows))
        conn.commit()
        maintenance.refresh_aggregates(conn, now - timedelta(days=4), now + timedelta(hours=1))
        conn.commit()
        assert maintenance.stale_streams(conn, 900) == 1
        assert maintenance.stale_streams(conn, 6 * 3600) == 0
