"""Storage layout on TimescaleDB (the PGlite test engine, port 25434), and the query surface
shared with plain PostgreSQL: the same queries give the same answers on both engines.

The engine is one database and one session shared by the module's tests, and its policies use
the real clock, so each test uses streams and meters of its own prefix and data placed relative
to now. Tests that run the policy jobs (compression, retention) come last.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from sinks import maintenance
from sinks.migrate import migrate
from sinks.writer import Batch, PostgresWriter
from tests.integration.test_storage_postgres import (
    DAY,
    aggregate_batch,
    alert_row,
    assert_rows_close,
    expected_aggregates,
    ledger_row,
    one,
    query_surface,
    read_aggregates,
    reading,
    scratch_database,
    surface_batch,
)
from tests.tsdb_engine import TsdbEngine, start_tsdb_engine

pytestmark = pytest.mark.integration

PORT = 25434
# Yesterday, midnight UTC: inside every policy's window (aggregate refresh: 3 days), younger
# than any compression or retention horizon.
ANCHOR = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - DAY
SURFACE_TABLES = ("readings", "ledger", "alerts", "availability_15m", "availability_1h",
                  "availability_by_kind_15m", "availability_by_kind_1h")  # fmt: skip


@pytest.fixture(scope="module")
def tsdb() -> Iterator[TsdbEngine]:
    engine = start_tsdb_engine(PORT)
    try:
        started = time.perf_counter()
        assert migrate(engine.url) == [1, 2, 3, 4, 5, 6, 7]
        print(
            f"\nTimescaleDB {engine.timescaledb_version} engine ready in "
            f"{engine.start_seconds:.2f} s; migrations 001-007: "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def conn(tsdb: TsdbEngine) -> Iterator[psycopg.Connection[Any]]:
    with tsdb.connect(autocommit=True) as c:
        yield c


def chunks_of(conn: psycopg.Connection[Any], table: str, column: str, like: str) -> list[str]:
    """The chunks holding the rows whose ``column`` matches ``like``."""
    rows = conn.execute(
        f"SELECT DISTINCT tableoid::regclass::text FROM {table} WHERE {column} LIKE %s ORDER BY 1",
        (like,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def columns(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[str, str]]]:
    rows = conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s)"
        " ORDER BY table_name, ordinal_position",
        (list(SURFACE_TABLES),),
    ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        out.setdefault(table, []).append((column, kind))
    return out


# ---------------------------------------------------------------------------------------------
# The query surface, on both engines


@pytest.fixture(scope="module")
def surfaces(tsdb: TsdbEngine) -> dict[str, dict[str, Any]]:
    """The same batch written and the same queries run on PostgreSQL and on TimescaleDB."""
    base = ANCHOR + timedelta(hours=2)
    out: dict[str, dict[str, Any]] = {}

    def run(c: psycopg.Connection[Any], name: str) -> None:
        maintenance.forget_partition_cache()
        writer = PostgresWriter(c)
        batch = surface_batch("qs", base)
        first = writer.write(batch)
        again = writer.write(batch)  # replayed
        maintenance.refresh_aggregates(c, base - timedelta(hours=1), base + timedelta(hours=4))
        out[name] = query_surface(c, "qs", base)
        out[name]["written"] = [(first.readings, first.ledger, first.alerts),
                                (again.readings, again.ledger, again.alerts)]  # fmt: skip
        out[name]["columns"] = columns(c)
        out[name]["engine"] = maintenance.engine(c)

    with scratch_database() as url:
        migrate(url)
        with psycopg.connect(url, autocommit=True) as c:
            run(c, "postgresql")
    with tsdb.connect(autocommit=True) as c:
        run(c, "timescaledb")
    return out


@pytest.mark.parametrize("engine", ["postgresql", "timescaledb"])
def test_query_surface_gives_the_hand_computed_answers(
    surfaces: dict[str, dict[str, Any]], engine: str
) -> None:
    got = surfaces[engine]
    base = ANCHOR + timedelta(hours=2)
    assert got["engine"] == engine
    # 2 meters x 180 readings, a replayed slice skipped; 9 ledger entries; 3 alerts.
    assert got["written"] == [(360, 9, 3), (0, 0, 0)]
    for view, rows in expected_aggregates("qs", base).items():
        assert_rows_close(got[view], rows)
    per_hour = got["readings_per_hour"]
    assert [(h, m, n) for h, m, n, *_ in per_hour[:2]] == [(base, "qs-m0", 60), (base, "qs-m1", 60)]
    assert per_hour[1][3:] == (0.0, 118.0, float(sum(range(0, 120, 2))))
    assert got["latest_reading"] == [
        ("qs-m0", base + timedelta(minutes=179), 179.0),
        ("qs-m1", base + timedelta(minutes=179, seconds=1), 358.0),
    ]
    assert [e for _, e, *_ in got["alerts"]] == ["opened", "updated", "resolved"]


def test_query_surface_is_identical_on_both_engines(surfaces: dict[str, dict[str, Any]]) -> None:
    pg, ts = surfaces["postgresql"], surfaces["timescaledb"]
    assert pg["columns"] == ts["columns"]
    assert set(pg["columns"]) == set(SURFACE_TABLES)
    for key in pg:
        if key in ("engine", "columns"):
            continue
        if key.startswith("availability"):
            assert_rows_close(ts[key], pg[key])
        else:
            assert ts[key] == pg[key], key


# ---------------------------------------------------------------------------------------------
# TimescaleDB specifics


def test_migrations_are_idempotent_and_set_up_policies(
    tsdb: TsdbEngine, conn: psycopg.Connection[Any]
) -> None:
    assert migrate(tsdb.url) == []
    assert maintenance.engine(conn) == "timescaledb"
    assert maintenance.partitioned_tables(conn) == frozenset()
    assert maintenance.run_maintenance(conn).partitions_created == 0  # nothing to do here
    intervals = dict(
        conn.execute(
            "SELECT d.hypertable_name, d.time_interval FROM timescaledb_information.dimensions d"
            " WHERE d.hypertable_name IN ('readings', 'ledger', 'alerts')"
        ).fetchall()
    )
    policies = dict(conn.execute("SELECT table_name, chunk_interval FROM storage_policies"))
    assert intervals == policies == {
        "readings": timedelta(hours=1), "ledger": timedelta(days=1), "alerts": timedelta(days=30),
    }  # fmt: skip
    segmentby = conn.execute(
        "SELECT hypertable_name, string_agg(attname, ', ' ORDER BY segmentby_column_index)"
        " FROM timescaledb_information.compression_settings"
        " WHERE segmentby_column_index IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert segmentby == [("alerts", "stream"), ("ledger", "stream"), ("readings", "stream, meter")]
    readings_indexes = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'readings'"
        " ORDER BY 1"
    ).fetchall()
    assert [d for (d,) in readings_indexes if "USING btree" in d] == [
        "CREATE UNIQUE INDEX readings_pkey ON public.readings USING btree (meter, ts)"
    ]  # the (stream, ts) btree is gone (007)
    jobs = conn.execute(
        "SELECT hypertable_name, proc_name, config->>'drop_after', config->>'compress_after',"
        " config->>'start_offset' FROM timescaledb_information.jobs"
        " WHERE hypertable_name IS NOT NULL ORDER BY 1, 2"
    ).fetchall()
    assert jobs == [
        ("alerts", "policy_compression", None, "30 days", None),
        ("alerts", "policy_retention", "730 days", None, None),
        ("availability_15m", "policy_refresh_continuous_aggregate", None, None, "3 days"),
        ("availability_1h", "policy_refresh_continuous_aggregate", None, None, "3 days"),
        ("ledger", "policy_compression", None, "7 days", None),
        ("ledger", "policy_retention", "400 days", None, None),
        ("readings", "policy_compression", None, "2 days", None),
        ("readings", "policy_retention", "90 days", None, None),
    ]
    caggs = conn.execute(
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
        " ORDER BY 1"
    ).fetchall()
    assert caggs == [("availability_15m", True), ("availability_1h", True)]


def test_writer_exactly_once_across_chunks_with_old_and_far_future_rows(
    conn: psycopg.Connection[Any],
) -> None:
    writer = PostgresWriter(conn)
    b = Batch()
    for m in range(2):  # 3 hours of readings a minute apart: 3 one-hour chunks
        b.readings += [reading(f"w-m{m}", ANCHOR + timedelta(minutes=i)) for i in range(180)]
    b.readings.append(reading("w-m0", datetime(2019, 5, 4, 3, 2, 1, tzinfo=UTC)))
    b.readings.append(reading("w-m0", datetime(2099, 12, 31, 23, 59, tzinfo=UTC)))
    for i in range(20):
        b.ledger.append(ledger_row("w-s", ANCHOR + i * timedelta(hours=3), i, i + 1))
        b.alerts.append(alert_row("w-s", "w-n", ANCHOR + i * timedelta(hours=3)))
    result = writer.write(b)
    assert (result.readings, result.ledger, result.alerts) == (362, 20, 20)
    for _ in range(3):  # a replayed batch (Kafka redelivery) stores nothing twice
        again = writer.write(b)
        assert (again.readings, again.ledger, again.alerts) == (0, 0, 0)
    assert one(conn, "SELECT count(*) FROM readings WHERE meter LIKE 'w-%%'") == 362
    assert len(chunks_of(conn, "readings", "meter", "w-%")) == 3 + 2
    assert len(chunks_of(conn, "ledger", "stream", "w-%")) == 3  # 60 hours, 1-day chunks
    assert one(conn, "SELECT count(*) FROM alerts WHERE stream = 'w-s'") == 20


def test_aggregates_match_hand_computed_numbers(conn: psycopg.Connection[Any]) -> None:
    base = ANCHOR + timedelta(hours=10)
    PostgresWriter(conn).write(aggregate_batch("agg", base))
    assert read_aggregates(conn, "agg")["availability_15m"] == []  # materialized only
    window = (base - timedelta(hours=1), base + timedelta(hours=3))
    maintenance.refresh_aggregates(conn, *window)
    got = read_aggregates(conn, "agg")
    for view, rows in expected_aggregates("agg", base).items():
        assert_rows_close(got[view], rows)
    # A late ledger entry: the next refresh of its window picks it up.
    PostgresWriter(conn).write(Batch(ledger=[ledger_row("agg-a", base + timedelta(minutes=14),
                                                        100, 100)]))  # fmt: skip
    maintenance.refresh_aggregates(conn, *window)
    first = read_aggregates(conn, "agg")["availability_15m"][:1]
    assert_rows_close(first, [(base, "agg-a", "heat", 40.0, 10.0, 100.0, 41.6, 5)])


def test_compression_keeps_every_row_and_the_natural_key(conn: psycopg.Connection[Any]) -> None:
    start = ANCHOR - 4 * DAY  # older than compress_after (2 days)
    writer = PostgresWriter(conn)
    rows = [reading(f"cmp-m{m}", start + timedelta(minutes=i), float(i)) for m in range(2)
            for i in range(240)]  # fmt: skip
    assert writer.write(Batch(readings=rows)).readings == 480
    per_meter = (
        "SELECT meter, count(*), sum(value), min(ts), max(ts) FROM readings"
        " WHERE meter LIKE 'cmp-%%' GROUP BY 1 ORDER BY 1"
    )
    before = conn.execute(per_meter).fetchall()
    chunks = chunks_of(conn, "readings", "meter", "cmp-%")
    assert len(chunks) == 4

    maintenance.run_policies_now(conn)

    compressed = conn.execute(
        "SELECT chunk_schema || '.' || chunk_name, is_compressed"
        " FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'"
        " AND chunk_schema || '.' || chunk_name = ANY(%s)",
        (chunks,),
    ).fetchall()
    assert sorted(compressed) == [(c, True) for c in chunks]
    stats = conn.execute(
        "SELECT sum(before_compression_total_bytes), sum(after_compression_total_bytes)"
        " FROM chunk_compression_stats('readings') WHERE chunk_schema || '.' || chunk_name"
        " = ANY(%s)",
        (chunks,),
    ).fetchone()
    assert stats is not None
    print(f"\ncompressed 4 chunks of readings: {stats[0]} -> {stats[1]} bytes")
    assert conn.execute(per_meter).fetchall() == before
    point = start + timedelta(minutes=77)
    assert (
        one(conn, "SELECT value FROM readings WHERE meter = 'cmp-m1' AND ts = %s", (point,)) == 77
    )
    # Replaying into compressed chunks stores nothing twice; a late new row still goes in.
    assert writer.write(Batch(readings=rows)).readings == 0
    late = reading("cmp-m0", start + timedelta(minutes=30, seconds=30), -1.0)
    assert writer.write(Batch(readings=[*rows[:50], late])).readings == 1
    assert one(conn, "SELECT count(*) FROM readings WHERE meter LIKE 'cmp-%%'") == 481


def test_retention_drops_old_chunks_and_keeps_recent_ones(conn: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    writer = PostgresWriter(conn)
    b = Batch(
        readings=[reading("ret-m", now - 100 * DAY), reading("ret-m", now - timedelta(hours=1))],
        ledger=[ledger_row("ret-s", now - 500 * DAY, 1, 1), ledger_row("ret-s", now - DAY, 4, 5)],
        alerts=[alert_row("ret-s", "ret-n", now - 800 * DAY),
                alert_row("ret-s", "ret-n", now - 10 * DAY)],
    )  # fmt: skip
    assert writer.write(b) is not None
    jobs = maintenance.run_policies_now(conn)
    assert len(jobs) == 8
    assert [r[0] for r in conn.execute("SELECT ts FROM readings WHERE meter = 'ret-m'")] == [
        b.readings[1][1]
    ]
    assert one(conn, "SELECT count(*) FROM ledger WHERE stream = 'ret-s'") == 1
    assert one(conn, "SELECT count(*) FROM alerts WHERE stream = 'ret-s'") == 1
    old = "SELECT count(*) FROM show_chunks(%s, older_than => %s::interval)"
    assert one(conn, old, ("readings", "90 days")) == 0
    assert one(conn, old, ("ledger", "400 days")) == 0
    # The refresh policies ran too (first in order): yesterday's ledger entry is aggregated.
    assert one(conn, "SELECT samples FROM availability_1h WHERE stream = 'ret-s'") == 1
