"""The TimescaleDB-specific SQL on a real TimescaleDB engine (PGlite + TimescaleDB 2.23).

The engine (``deploy/tsdb-test-engine``) is started once for the module on 127.0.0.1:25433.
Every connection shares one PostgreSQL session there, so each test uses its own tables and
autocommit connections (or commits before using another connection from the same thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.common import ResourceKind
from schemas.ledger import LedgerEntry
from sinks.migrate import migrate, migrations
from sinks.writer import Batch, PostgresWriter
from tests.helpers import T0, batch
from tests.tsdb_engine import TsdbEngine, start_tsdb_engine

pytestmark = pytest.mark.integration

PORT = 25433
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tsdb() -> Iterator[TsdbEngine]:
    engine = start_tsdb_engine(PORT)
    print(
        f"\nTimescaleDB test engine: ready in {engine.start_seconds:.2f} s, "
        f"RSS {engine.rss_bytes() / 2**20:.0f} MiB, timescaledb {engine.timescaledb_version}"
    )
    try:
        yield engine
        print(f"\nTimescaleDB test engine: peak RSS {engine.rss_bytes(peak=True) / 2**20:.0f} MiB")
    finally:
        engine.stop()


@pytest.fixture
def conn(tsdb: TsdbEngine) -> Iterator[psycopg.Connection[Any]]:
    with tsdb.connect(autocommit=True) as c:
        yield c


def one(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def make_metrics(conn: psycopg.Connection[Any], name: str, *, chunk: str = "1 day") -> None:
    """A hypertable like ours: natural key including the time column, 1-day chunks."""
    conn.execute(
        f"CREATE TABLE {name} (device text NOT NULL, ts timestamptz NOT NULL,"
        f" value double precision NOT NULL, PRIMARY KEY (device, ts))"
    )
    conn.execute(f"SELECT create_hypertable('{name}', by_range('ts', interval '{chunk}'))")


def copy_rows(conn: psycopg.Connection[Any], table: str, rows: list[tuple[Any, ...]]) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} (device, ts, value) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["text", "timestamptz", "float8"])
        for row in rows:
            copy.write_row(row)


def series(
    n: int, *, start: datetime = DAY0, step: timedelta = timedelta(minutes=1), devices: int = 4
) -> list[tuple[str, datetime, float]]:
    return [(f"d{i % devices}", start + i * step, float(i)) for i in range(n)]


def test_extension_is_real_timescaledb(conn: psycopg.Connection[Any], tsdb: TsdbEngine) -> None:
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    version = one(conn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    assert version == tsdb.timescaledb_version
    assert version.startswith("2.")
    assert one(conn, "SHOW server_version_num") >= "170000"
    # The community (TSL) features are there, not only the Apache-licensed core.
    assert one(conn, "SHOW timescaledb.license") == "timescale"


def test_create_hypertable_on_timestamptz_column(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_basic")
    # The older signature, as used by sinks/migrations/001_core.sql, works too.
    conn.execute("CREATE TABLE ht_old (ts timestamptz NOT NULL, v int)")
    conn.execute(
        "SELECT create_hypertable('ht_old', 'ts', chunk_time_interval => interval '7 days')"
    )
    hypertables = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
    names = {r[0] for r in hypertables}
    assert {"ht_basic", "ht_old"} <= names
    conn.execute(
        "INSERT INTO ht_basic SELECT 'd', t, 1 FROM generate_series("
        "%s::timestamptz, %s::timestamptz - interval '1 s', interval '1 hour') t",
        (DAY0, DAY0 + timedelta(days=3)),
    )
    assert one(conn, "SELECT count(*) FROM show_chunks('ht_basic')") == 3


def test_binary_copy_of_10k_rows(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_copy")
    rows = series(10_000)
    started = time.perf_counter()
    copy_rows(conn, "ht_copy", rows)
    elapsed = time.perf_counter() - started
    print(f"\nbinary COPY of 10,000 rows: {elapsed * 1000:.0f} ms")
    assert one(conn, "SELECT count(*) FROM ht_copy") == 10_000
    assert one(conn, "SELECT sum(value) FROM ht_copy") == sum(r[2] for r in rows)
    assert one(conn, "SELECT max(ts) FROM ht_copy") == rows[-1][1]
    assert one(conn, "SELECT count(*) FROM show_chunks('ht_copy')") == 7  # 10k minutes
    # The session is still healthy after the COPY.
    assert one(conn, "SELECT 1") == 1


def test_staging_copy_and_merge_in_one_transaction(tsdb: TsdbEngine) -> None:
    """What sinks/writer.py does: temp staging table, COPY, INSERT ... ON CONFLICT DO NOTHING."""
    with tsdb.connect() as conn:
        make_metrics(conn, "ht_merge")
        conn.commit()

        def write(rows: list[tuple[Any, ...]]) -> int:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_ht_merge"
                    " (LIKE ht_merge INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
                copy_rows(conn, "stage_ht_merge", rows)
                cur.execute(
                    "INSERT INTO ht_merge (device, ts, value)"
                    " SELECT device, ts, value FROM stage_ht_merge"
                    " ON CONFLICT (device, ts) DO NOTHING"
                )
                return cur.rowcount

        first = series(3_000)
        assert write(first) == 3_000
        # A replayed batch overlapping the first: only the new rows go in.
        assert write(first[2_000:] + series(1_000, start=DAY0 + timedelta(minutes=3_000))) == 1_000
        assert write(first) == 0
        assert one(conn, "SELECT count(*) FROM ht_merge") == 4_000
        assert one(conn, "SELECT count(*) FROM stage_ht_merge") == 0  # ON COMMIT DELETE ROWS
        conn.commit()

        # A failing transaction leaves nothing behind, and the connection recovers.
        def failing() -> None:
            with conn.transaction():
                copy_rows(conn, "stage_ht_merge", series(10, start=DAY0 + timedelta(days=30)))
                conn.execute("INSERT INTO ht_merge SELECT * FROM stage_ht_merge")
                conn.execute("SELECT 1 / 0")

        with pytest.raises(psycopg.errors.DivisionByZero):
            failing()
        assert one(conn, "SELECT count(*) FROM ht_merge") == 4_000
        conn.commit()


def _ledger(i: int) -> LedgerEntry:
    return LedgerEntry(
        stream="ps-steam", site="asnaes", kind=ResourceKind.STEAM, unit="MW", window_s=60,
        measured=10 + i, committed=2, available=8 + i, steadiness=0.9, samples=60,
        available_since=T0, updated_at=T0 + timedelta(minutes=i),
    )  # fmt: skip


def _alert(i: int) -> Alert:
    return Alert(
        alert_id=f"ps-steam:kf-heat:{i}", idempotency_key=f"ps-steam:kf-heat:{i}:opened",
        event=AlertEvent.OPENED, stream="ps-steam", need="kf-heat", kind=ResourceKind.STEAM,
        available=8, unit="MW", quantity=8000, need_unit="kW", distance_km=2.5,
        benefit=Benefit(co2e_t_per_yr=1234.5), ts=T0 + timedelta(minutes=i),
    )  # fmt: skip


def test_our_migrations_and_postgres_writer(tsdb: TsdbEngine) -> None:
    """sinks.migrate + sinks.writer.PostgresWriter, unchanged, on TimescaleDB."""
    assert migrate(tsdb.url) == [m.version for m in migrations()]
    assert migrate(tsdb.url) == []
    # As sinks/consumer.py connects: psycopg's default prepare_threshold (5).
    with tsdb.connect(prepare_threshold=5) as conn:
        intervals = conn.execute(
            "SELECT h.hypertable_name, d.time_interval FROM timescaledb_information.hypertables h"
            " JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name)"
            " WHERE h.hypertable_name IN ('readings', 'ledger', 'alerts')"
        )
        hypertables = dict(intervals.fetchall())
        assert hypertables == {
            "readings": timedelta(hours=1),
            "ledger": timedelta(days=1),
            "alerts": timedelta(days=30),
        }
        conn.commit()

        writer = PostgresWriter(conn)
        b = Batch()
        for i in range(5):  # 5 x 2,000 readings over ~23 h: 7 hourly chunks
            b.add_readings(batch(f"s{i}", 2_000, start=i * 20_000))
        for i in range(20):
            b.add_ledger(_ledger(i))
            b.add_alert(_alert(i))
        result = writer.write(b)
        assert (result.readings, result.ledger, result.alerts) == (10_000, 20, 20)

        # Replaying the same batch (a Kafka redelivery) stores nothing twice; after 5 writes
        # psycopg runs the merge statements as prepared statements.
        for _ in range(6):
            again = writer.write(b)
            assert (again.readings, again.ledger, again.alerts) == (0, 0, 0)
        # A replay's failed direct COPY rolls back a savepoint, and psycopg forgets its prepared
        # statements on any rollback: fresh ledger-only writes show preparing works here.
        for i in range(6):
            fresh = Batch()
            fresh.add_ledger(_ledger(100 + i))
            assert writer.write(fresh).ledger == 1
        prepared = [r[0] for r in conn.execute("SELECT statement FROM pg_prepared_statements")]
        assert any(s.startswith('INSERT INTO "ledger"') for s in prepared), prepared

        assert one(conn, "SELECT count(*) FROM readings") == 10_000
        assert one(conn, "SELECT count(*) FROM show_chunks('readings')") == 7
        assert one(conn, "SELECT count(*) FROM ledger") == 26  # 20 + the 6 fresh ones
        # A newer version of a stored entry (same stream and instant) replaces it, on a
        # hypertable too.
        newer = Batch()
        newer.add_ledger(_ledger(3).model_copy(update={"measured": 99.0}))
        assert (writer.write(newer).ledger, writer.write(newer).ledger) == (1, 0)
        assert one(conn, "SELECT measured FROM ledger WHERE updated_at = %s",
                   (T0 + timedelta(minutes=3),)) == 99.0  # fmt: skip
        assert one(conn, "SELECT count(*) FROM ledger") == 26
        assert one(conn, "SELECT payload->>'alert_id' FROM alerts ORDER BY ts LIMIT 1") == (
            "ps-steam:kf-heat:0"
        )
        conn.commit()


def test_time_bucket(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_bucket")
    copy_rows(conn, "ht_bucket", series(600, devices=1))  # 10 hours, 1 row/min, value = i
    rows = conn.execute(
        "SELECT time_bucket('1 hour', ts) AS b, count(*), min(value), max(value)"
        " FROM ht_bucket GROUP BY b ORDER BY b"
    ).fetchall()
    assert len(rows) == 10
    assert rows[0] == (DAY0, 60, 0.0, 59.0)
    assert rows[9] == (DAY0 + timedelta(hours=9), 60, 540.0, 599.0)
    # Gap filling across a window wider than the data.
    filled = conn.execute(
        "SELECT time_bucket_gapfill('1 hour', ts) AS b, count(*) FROM ht_bucket"
        " WHERE ts >= %s AND ts < %s GROUP BY b ORDER BY b",
        (DAY0 - timedelta(hours=2), DAY0 + timedelta(hours=12)),
    ).fetchall()
    assert len(filled) == 14
    assert filled[0][1] is None
    assert filled[2][1] == 60


def test_continuous_aggregate_and_refresh(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_cagg")
    copy_rows(conn, "ht_cagg", series(2 * 24 * 60, devices=2))  # 2 days, 2 devices
    conn.execute(
        "CREATE MATERIALIZED VIEW ht_cagg_hourly WITH (timescaledb.continuous) AS"
        " SELECT time_bucket('1 hour', ts) AS bucket, device, count(*) AS n, avg(value) AS avg"
        " FROM ht_cagg GROUP BY bucket, device WITH NO DATA"
    )
    assert one(conn, "SELECT count(*) FROM _timescaledb_catalog.continuous_agg") >= 1
    refresh = (
        "CALL refresh_continuous_aggregate('ht_cagg_hourly', %s::timestamptz, %s::timestamptz)"
    )
    conn.execute(refresh, (DAY0, DAY0 + timedelta(days=2)))
    assert one(conn, "SELECT count(*) FROM ht_cagg_hourly") == 2 * 24 * 2
    assert one(conn, "SELECT sum(n) FROM ht_cagg_hourly") == 2 * 24 * 60
    first = conn.execute(
        "SELECT bucket, device, n, avg FROM ht_cagg_hourly ORDER BY bucket, device LIMIT 1"
    ).fetchone()
    assert first == (DAY0, "d0", 30, sum(range(0, 60, 2)) / 30)
    # Late data is picked up by the next refresh of its window.
    conn.execute(
        "UPDATE ht_cagg SET value = value + 1000 WHERE ts < %s", (DAY0 + timedelta(hours=1),)
    )
    conn.execute(refresh, (DAY0, DAY0 + timedelta(hours=1)))
    assert one(
        conn, "SELECT avg FROM ht_cagg_hourly WHERE bucket = %s AND device = 'd0'", (DAY0,)
    ) == (1000 + sum(range(0, 60, 2)) / 30)


def test_compression(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_comp")
    copy_rows(conn, "ht_comp", series(3 * 24 * 60))  # 3 days -> 3 chunks
    per_device = "SELECT device, count(*), sum(value) FROM ht_comp GROUP BY 1 ORDER BY 1"
    before = conn.execute(per_device).fetchall()
    conn.execute(
        "ALTER TABLE ht_comp SET (timescaledb.compress, timescaledb.compress_segmentby = 'device',"
        " timescaledb.compress_orderby = 'ts DESC')"
    )
    compressed = conn.execute(
        "SELECT compress_chunk(c) FROM show_chunks('ht_comp', older_than => %s::timestamptz) c",
        (DAY0 + timedelta(days=2),),
    ).fetchall()
    assert len(compressed) == 2
    flags = conn.execute(
        "SELECT is_compressed FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'ht_comp' ORDER BY range_start"
    ).fetchall()
    assert flags == [(True,), (True,), (False,)]
    stats = conn.execute(
        "SELECT before_compression_total_bytes, after_compression_total_bytes"
        " FROM hypertable_compression_stats('ht_comp')"
    ).fetchone()
    assert stats is not None
    assert stats[1] < stats[0]
    # Queries see the same rows, whether the chunk is compressed or not.
    assert conn.execute(per_device).fetchall() == before
    at = DAY0 + timedelta(minutes=5)
    assert one(conn, "SELECT value FROM ht_comp WHERE device = 'd1' AND ts = %s", (at,)) == 5.0
    # A compression policy is a job too; it compresses the remaining chunk when run.
    job = one(conn, "SELECT add_compression_policy('ht_comp', compress_after => interval '1 day')")
    conn.execute("CALL run_job(%s)", (job,))
    compressed_chunks = (
        "SELECT count(*) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'ht_comp' AND is_compressed"
    )
    assert one(conn, compressed_chunks) == 3


def test_retention_policy_drops_old_chunks(conn: psycopg.Connection[Any]) -> None:
    make_metrics(conn, "ht_ret")
    now = one(conn, "SELECT now()")
    old = [("d", now - timedelta(days=60 + i), 1.0) for i in range(5)]
    recent = [("d", now - timedelta(hours=1 + i), 2.0) for i in range(5)]
    copy_rows(conn, "ht_ret", old + recent)
    chunks_before = one(conn, "SELECT count(*) FROM show_chunks('ht_ret')")
    assert chunks_before >= 6
    job = one(conn, "SELECT add_retention_policy('ht_ret', drop_after => interval '30 days')")
    proc = one(conn, "SELECT proc_name FROM timescaledb_information.jobs WHERE job_id = %s", (job,))
    assert proc == "policy_retention"
    # No background workers in this engine: run the job explicitly.
    conn.execute("CALL run_job(%s)", (job,))
    assert one(conn, "SELECT count(*) FROM ht_ret") == 5
    assert one(conn, "SELECT min(value) FROM ht_ret") == 2.0
    assert one(conn, "SELECT count(*) FROM show_chunks('ht_ret')") < chunks_before
    old_chunks = "SELECT count(*) FROM show_chunks('ht_ret', older_than => interval '30 days')"
    assert one(conn, old_chunks) == 0


def test_two_connections_used_alternately(tsdb: TsdbEngine) -> None:
    with tsdb.connect(autocommit=True) as a, tsdb.connect() as b:
        make_metrics(a, "ht_alt")
        for i in range(20):
            a.execute("INSERT INTO ht_alt VALUES ('a', %s, %s)", (DAY0 + timedelta(minutes=i), 0))
            with b.transaction():
                b.execute(
                    "INSERT INTO ht_alt VALUES ('b', %s, %s)", (DAY0 + timedelta(minutes=i), 0)
                )
                assert one(b, "SELECT count(*) FROM ht_alt") == 2 * i + 2
            b.commit()
            assert one(a, "SELECT count(*) FROM ht_alt WHERE device = 'b'") == i + 1
        # COPY on one connection, then the other reads it, then the other way round.
        copy_rows(a, "ht_alt", [("c", DAY0 + timedelta(minutes=i), 1.0) for i in range(500)])
        assert one(b, "SELECT count(*) FROM ht_alt WHERE device = 'c'") == 500
        b.commit()
        with b.transaction():
            copy_rows(b, "ht_alt", [("e", DAY0 + timedelta(minutes=i), 1.0) for i in range(500)])
        b.commit()
        assert one(a, "SELECT count(*) FROM ht_alt") == 40 + 1_000
        # A failed transaction on one connection does not affect the other.
        with pytest.raises(psycopg.errors.UniqueViolation), b.transaction():
            b.execute("INSERT INTO ht_alt VALUES ('a', %s, 0)", (DAY0,))
        b.commit()
        assert one(a, "SELECT count(*) FROM ht_alt") == 1_040


def test_concurrent_connections_do_not_interleave(tsdb: TsdbEngine) -> None:
    """Threads writing and reading at once: every exchange and transaction stays whole."""
    with tsdb.connect(autocommit=True) as setup:
        make_metrics(setup, "ht_conc")
    errors: list[Exception] = []

    def worker(n: int) -> None:
        try:
            with tsdb.connect(prepare_threshold=2) as c:  # prepared statements per connection
                for j in range(10):
                    start = DAY0 + timedelta(minutes=j * 100)
                    rows = series(100, start=start, devices=1)
                    rows = [(f"w{n}", ts, value) for _, ts, value in rows]
                    with c.transaction():
                        copy_rows(c, "ht_conc", rows)
                        got = one(c, "SELECT count(*) FROM ht_conc WHERE device = %s", (f"w{n}",))
                        assert got == (j + 1) * 100
                    c.commit()
        except (psycopg.Error, AssertionError) as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with tsdb.connect(autocommit=True) as c:
        assert one(c, "SELECT count(*) FROM ht_conc") == 4_000
