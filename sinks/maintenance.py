"""Periodic storage maintenance for readings, ledger and alerts (see migrations 002 and 003).

TimescaleDB runs its own policies in background workers (compression, retention, continuous
aggregate refresh), so production needs nothing from here; :func:`run_policies_now` runs those
jobs at once (tests, and engines without background workers). On plain PostgreSQL the sink
calls :func:`run_maintenance` every :data:`RECOMMENDED_INTERVAL_S` (any process, any number of
them: every step is idempotent and serialised in the database). It

1. recomputes the availability aggregates for the ledger ranges changed since the last run,
2. drops partitions past their retention (and DEFAULT-partition rows older than it),
3. moves rows that landed in the DEFAULT partition into partitions of their own,
4. creates the partitions of the next days (readings) or month (ledger, alerts).

Every step runs in its own short transaction with a ``lock_timeout``: a step that cannot get
its lock in time (a long query holds the DEFAULT partition, say) is skipped and reported, and
the next run retries it. Nothing here blocks inserts for longer than that timeout.

The writer calls :func:`ensure_partitions_for` before each batch so that rows go to their own
partition even when maintenance has not run: a per-process cache of the partitions known to
exist makes that a dictionary lookup and two comparisons per table and batch; only a batch
outside the cached coverage costs a round trip (and DDL if a partition is missing).
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final, Literal, TypeVar

import psycopg
import structlog
from psycopg import errors
from psycopg.pq import TransactionStatus

from domain.errors import PipelineError, UnavailableError

log = structlog.get_logger(__name__)

Engine = Literal["timescaledb", "postgresql"]
Conn = psycopg.Connection[Any]
T = TypeVar("T")

TABLES: Final = ("readings", "ledger", "alerts")
"""The time-partitioned tables, in the order maintenance visits them."""
AGGREGATES: Final = ("availability_15m", "availability_1h")
"""The per-stream availability aggregates (continuous aggregates on TimescaleDB)."""
RECOMMENDED_INTERVAL_S: Final = 300.0
"""How often the sink should call :func:`run_maintenance` on plain PostgreSQL."""
LOCK_TIMEOUT_S: Final = 2.0
"""Longest wait for a lock in a maintenance step before it is skipped."""

# Lock contention: the step is skipped, rows wait in the DEFAULT partition, the next run retries.
_BUSY = (errors.LockNotAvailable, errors.DeadlockDetected, errors.QueryCanceled)
# A policy job runs in this order: aggregates see rows before retention drops them, and
# compression does not spend work on chunks about to be dropped.
_JOB_ORDER: Final = (
    "policy_refresh_continuous_aggregate",
    "policy_retention",
    "policy_compression",
)


def engine(conn: Conn) -> Engine:
    """Which storage engine the connection's database has.

    Returns:
        ``"timescaledb"`` if the extension is installed in the database, else ``"postgresql"``.

    Raises:
        UnavailableError: the query failed.
    """
    try:
        with conn.transaction():
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
            ).fetchone()
    except psycopg.Error as e:
        raise UnavailableError(f"cannot tell the storage engine: {e}") from e
    return "timescaledb" if row is not None and row[0] else "postgresql"


def partitioned_tables(conn: Conn) -> frozenset[str]:
    """Which of :data:`TABLES` are range-partitioned (plain PostgreSQL); empty on TimescaleDB.

    Raises:
        UnavailableError: the query failed.
    """
    try:
        with conn.transaction():
            rows = conn.execute(
                "SELECT t FROM unnest(%s::text[]) t"
                " JOIN pg_class c ON c.oid = to_regclass(t) WHERE c.relkind = 'p'",
                (list(TABLES),),
            ).fetchall()
    except psycopg.Error as e:
        raise UnavailableError(f"cannot list partitioned tables: {e}") from e
    return frozenset(str(r[0]) for r in rows)


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one :func:`run_maintenance` call did."""

    engine: Engine
    aggregate_ranges: int = 0
    """Changed ledger ranges whose aggregates were recomputed."""
    partitions_dropped: tuple[str, ...] = ()
    partitions_created: int = 0
    """Created for DEFAULT-partition rows and ahead of now."""
    skipped: tuple[str, ...] = ()
    """Steps skipped because a lock was busy (``"<step>:<table>"``); the next run retries."""
    elapsed_s: float = 0.0


def run_maintenance(
    conn: Conn, *, now: datetime | None = None, lock_timeout_s: float = LOCK_TIMEOUT_S
) -> MaintenanceReport:
    """Run every plain-PostgreSQL maintenance step once; on TimescaleDB, do nothing.

    Long because: the maintenance steps in their required order, each in its own transaction
    with its own failure record.

    Safe to call from several processes at once and at any frequency; cheap when there is
    nothing to do (a few catalog queries). The connection must not be inside a transaction.

    Args:
        conn: Connection to the pipeline's database, idle (autocommit or not).
        now: The time retention and partitions-ahead are computed from (default: the
            server's ``now()``); tests pass a fixed time.
        lock_timeout_s: Longest wait for a lock per step before skipping it.

    Returns:
        What was done, and which steps were skipped for a busy lock.

    Raises:
        UnavailableError: a step failed for another reason than a busy lock (its transaction is
            rolled back; earlier steps stay done).
    """
    started = time.monotonic()
    which = engine(conn)
    if which == "timescaledb":
        return MaintenanceReport(which, elapsed_s=time.monotonic() - started)
    skipped: list[str] = []

    def attempt(step: str, table: str, run: Callable[[], T], nothing: T) -> T:
        try:
            return _guarded(conn, lock_timeout_s, f"{step} {table}", run)
        except _BUSY as e:
            log.warning("storage.maintenance_busy", step=step, table=table, error=str(e)[:200])
            skipped.append(f"{step}:{table}")
            return nothing

    tables = [t for t in TABLES if t in partitioned_tables(conn)]
    ranges = attempt("refresh", "aggregates", partial(_refresh_pending, conn, now), 0)
    none_dropped: list[str] = []
    dropped = [
        name
        for t in tables
        for name in attempt("drop", t, partial(_drop, conn, t, now), none_dropped)
    ]
    _forget(conn)
    created = sum(attempt("drain", t, partial(_drain, conn, t), 0) for t in tables)
    created += sum(attempt("ahead", t, partial(_ahead, conn, t, now), 0) for t in tables)
    report = MaintenanceReport(
        which,
        aggregate_ranges=ranges,
        partitions_dropped=tuple(dropped),
        partitions_created=created,
        skipped=tuple(skipped),
        elapsed_s=time.monotonic() - started,
    )
    log.info(
        "storage.maintenance",
        aggregate_ranges=report.aggregate_ranges,
        dropped=len(report.partitions_dropped),
        created=report.partitions_created,
        skipped=report.skipped,
        elapsed_s=round(report.elapsed_s, 3),
    )
    return report


def drain_default_partitions(conn: Conn) -> int:
    """Move DEFAULT-partition rows into partitions of their own (PostgreSQL).

    Returns:
        Partitions created (0 on TimescaleDB).

    Raises:
        UnavailableError: the database failed, or a lock stayed busy past :data:`LOCK_TIMEOUT_S`.
    """
    tables = sorted(partitioned_tables(conn))
    return sum(_strict(conn, f"drain {t}", partial(_drain, conn, t)) for t in tables)


def drop_expired_partitions(conn: Conn, *, now: datetime | None = None) -> list[str]:
    """Drop partitions that end before ``now`` - the table's ``drop_after`` (PostgreSQL).

    DEFAULT-partition rows older than that are deleted too. On TimescaleDB the retention
    policies do this (see :func:`run_policies_now`).

    Returns:
        The dropped partitions' names (empty on TimescaleDB).

    Raises:
        UnavailableError: the database failed, or a lock stayed busy past :data:`LOCK_TIMEOUT_S`.
    """
    dropped: list[str] = []
    for table in sorted(partitioned_tables(conn)):
        dropped += _strict(conn, f"drop {table}", partial(_drop, conn, table, now))
    _forget(conn)
    return dropped


def refresh_aggregates(
    conn: Conn, start: datetime | None = None, end: datetime | None = None
) -> None:
    """Bring the availability aggregates up to date with the ledger.

    With a window, every 15-minute and 1-hour bucket in ``[start, end)`` is recomputed
    (TimescaleDB: ``refresh_continuous_aggregate`` of each, in order; PostgreSQL: the window is
    widened to whole hours). Without one, TimescaleDB refreshes everything that changed and
    PostgreSQL the ranges its invalidation log holds. The connection must not be inside a
    transaction (TimescaleDB's refresh commits as it goes).

    Raises:
        UnavailableError: the refresh failed, or the connection is inside a transaction.
    """
    try:
        if engine(conn) == "timescaledb":
            with _autocommit(conn):
                for view in AGGREGATES:
                    conn.execute(
                        "CALL refresh_continuous_aggregate(%s, %s::timestamptz, %s::timestamptz)",
                        (view, start, end),
                    )
        elif start is None or end is None:
            _strict(conn, "refresh", partial(_refresh_pending, conn, None))
        else:
            with conn.transaction():
                conn.execute("SELECT symbiosis_refresh_aggregates(%s, %s)", (start, end))
    except psycopg.Error as e:
        raise UnavailableError(f"refreshing the availability aggregates failed: {e}") from e


def run_policies_now(conn: Conn) -> list[int]:
    """Run our TimescaleDB policy jobs once, now (``CALL run_job``), in a safe order.

    Order: aggregate refreshes (15 min before 1 h), then retention, then compression. In
    production the background workers run them on their schedules; this is for tests and for
    engines without background workers. On plain PostgreSQL it runs :func:`run_maintenance`
    instead (the equivalent) and returns no job ids. The connection must not be inside a
    transaction.

    Returns:
        The ids of the jobs run, in order.

    Raises:
        UnavailableError: a job failed, or the connection is inside a transaction.
    """
    if engine(conn) == "postgresql":
        report = run_maintenance(conn)
        if report.skipped:
            raise UnavailableError(f"maintenance steps skipped for busy locks: {report.skipped}")
        return []
    try:
        with conn.transaction():
            jobs = conn.execute(
                "SELECT job_id FROM timescaledb_information.jobs"
                " WHERE hypertable_schema = current_schema() AND hypertable_name = ANY(%s)"
                " ORDER BY array_position(%s::text[], proc_name::text),"
                " array_position(%s::text[], hypertable_name::text)",
                (list(TABLES + AGGREGATES), list(_JOB_ORDER), list(AGGREGATES + TABLES)),
            ).fetchall()
        ids = [int(r[0]) for r in jobs]
        with _autocommit(conn):
            for job in ids:
                conn.execute("CALL run_job(%s)", (job,))
    except psycopg.Error as e:
        raise UnavailableError(f"running the TimescaleDB policy jobs failed: {e}") from e
    log.info("storage.policies_run", jobs=ids)
    return ids


# ---------------------------------------------------------------------------------------------
# Partitions for the writer, with a per-process cache.


@dataclass(frozen=True, slots=True)
class _Coverage:
    """Contiguous time spans covered by partitions: ``[starts[i], ends[i])``, sorted."""

    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]

    def covers(self, lo: datetime, hi: datetime) -> bool:
        i = bisect_right(self.starts, lo) - 1
        return i >= 0 and hi < self.ends[i]


_coverage: dict[tuple[str, str, str, str], _Coverage] = {}
_coverage_lock = threading.Lock()


def _key(conn: Conn, table: str) -> tuple[str, str, str, str]:
    info = conn.info
    return (info.host, str(info.port), info.dbname, table)


def _forget(conn: Conn | None = None) -> None:
    """Drop the cached partition coverage (of one database, or all)."""
    with _coverage_lock:
        if conn is None:
            _coverage.clear()
            return
        for table in TABLES:
            _coverage.pop(_key(conn, table), None)


def forget_partition_cache() -> None:
    """Forget every cached partition coverage of this process (tests, or after manual DDL)."""
    _forget(None)


WIDE_SPAN: Final = timedelta(days=7)
"""A batch spanning more than this gets partitions per distinct hour of its rows, not a range."""


def ensure_partitions_for(
    conn: Conn,
    table: str,
    min_ts: datetime,
    max_ts: datetime,
    *,
    instants: Callable[[], Iterable[datetime]] | None = None,
) -> int:
    """Make sure partitions of ``table`` cover ``[min_ts, max_ts]`` before rows are written.

    Long because: the partition arithmetic and its two database paths (create, or detach the
    default's rows) belong together.

    For the writer on plain PostgreSQL (do not call it for a hypertable). Cost: when the span
    lies inside the partitions this process already knows (the normal case: maintenance keeps
    partitions ahead), a dictionary lookup and a bisection, no round trip. Otherwise one short
    transaction runs ``symbiosis_ensure_partitions`` (DDL only if a partition is missing; rows
    of its range already in the DEFAULT partition move into it) and reloads the coverage.

    A batch spanning more than :data:`WIDE_SPAN` (a meter whose clock says 1970 next to
    today's readings) must not create every partition in between: with ``instants`` the
    partitions of the distinct hours of the rows are created (one pass over the rows, only on
    this rare path); without, only those of the span's two ends and of at most 64 partitions
    in between, and rows elsewhere wait in the DEFAULT partition for :func:`run_maintenance`.

    Guarantees: never makes an insert fail. If the DDL cannot get its locks within
    :data:`LOCK_TIMEOUT_S` it gives up (logged) and the rows land in the DEFAULT partition,
    from which :func:`run_maintenance` moves them later. The cache can only be stale in the
    safe direction for inserts: a partition dropped by another process sends rows to DEFAULT.

    Args:
        conn: The writer's connection, outside a transaction (the DDL commits on its own).
        table: One of :data:`TABLES`.
        min_ts: Earliest time of the batch's rows for that table.
        max_ts: Latest time.
        instants: Gives every row's time again, if the span turns out to be wide.

    Returns:
        Partitions created.

    Raises:
        psycopg.OperationalError: the connection failed (unchanged, so the sink's reconnect
            loop handles it like any other write failure).
        UnavailableError: the database rejected the call (e.g. no storage policy for the table).
    """
    key = _key(conn, table)
    with _coverage_lock:
        known = _coverage.get(key)
    if known is not None and known.covers(min_ts, max_ts):
        return 0
    hours: list[datetime] | None = None
    if instants is not None and max_ts - min_ts > WIDE_SPAN:
        distinct = {int(t.timestamp()) // 3600 for t in instants()}
        hours = [datetime.fromtimestamp(h * 3600, UTC) for h in sorted(distinct)]
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{int(LOCK_TIMEOUT_S * 1000)}ms'".encode())
            if hours is None:
                row = conn.execute(
                    "SELECT symbiosis_ensure_partitions(%s::regclass, %s, %s)",
                    (table, min_ts, max_ts),
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT symbiosis_ensure_partitions_at(%s::regclass, %s::timestamptz[])",
                    (table, hours),
                ).fetchone()
            created = int(row[0]) if row is not None else 0
            coverage = _load_coverage(conn, table)
    except _BUSY as e:
        log.warning("storage.partition_ddl_busy", table=table, error=str(e).strip()[:200])
        return 0
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise
    except psycopg.Error as e:
        raise UnavailableError(f"cannot ensure partitions of {table}: {e}") from e
    with _coverage_lock:
        _coverage[key] = coverage
    if created:
        log.info("storage.partitions_created", table=table, created=created,
                 min_ts=min_ts.isoformat(), max_ts=max_ts.isoformat())  # fmt: skip
    return created


def _load_coverage(conn: Conn, table: str) -> _Coverage:
    rows = conn.execute(
        "SELECT lo, hi FROM symbiosis_partitions(%s::regclass) WHERE NOT is_default ORDER BY lo",
        (table,),
    ).fetchall()
    starts: list[datetime] = []
    ends: list[datetime] = []
    for lo, hi in rows:
        if ends and ends[-1] == lo:
            ends[-1] = hi
        else:
            starts.append(lo)
            ends.append(hi)
    return _Coverage(tuple(starts), tuple(ends))


# ---------------------------------------------------------------------------------------------
# Steps (plain PostgreSQL). Each runs in its own transaction, with a lock timeout.


def _scalar(conn: Conn, query: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(query.encode(), params).fetchone()
    return None if row is None else row[0]


def _refresh_pending(conn: Conn, now: datetime | None) -> int:
    horizon = _scalar(
        conn,
        "SELECT coalesce(%s::timestamptz, now()) - drop_after FROM storage_policies"
        " WHERE table_name = 'ledger'",
        (now,),
    )
    ranges = _scalar(conn, "SELECT symbiosis_refresh_pending_aggregates(%s)", (horizon,))
    return int(ranges or 0)


def _drop(conn: Conn, table: str, now: datetime | None) -> list[str]:
    rows = conn.execute(
        "SELECT symbiosis_drop_partitions_older_than(%s::regclass,"
        " coalesce(%s::timestamptz, now()) - (SELECT drop_after FROM storage_policies"
        " WHERE table_name = %s))",
        (table, now, table),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _drain(conn: Conn, table: str) -> int:
    return int(_scalar(conn, "SELECT symbiosis_drain_default(%s::regclass)", (table,)) or 0)


def _ahead(conn: Conn, table: str, now: datetime | None) -> int:
    created = _scalar(
        conn,
        "SELECT symbiosis_ensure_partitions(%s::regclass, coalesce(%s::timestamptz, now()),"
        " coalesce(%s::timestamptz, now()) + (SELECT premake FROM storage_policies"
        " WHERE table_name = %s))",
        (table, now, now, table),
    )
    return int(created or 0)


@contextmanager
def _transaction(conn: Conn, lock_timeout_s: float) -> Iterator[None]:
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'".encode())
        yield


def _guarded(conn: Conn, lock_timeout_s: float, what: str, run: Callable[[], T]) -> T:
    """Run one step in its own transaction; busy-lock errors pass unchanged, others wrap."""
    try:
        with _transaction(conn, lock_timeout_s):
            return run()
    except _BUSY:
        raise
    except psycopg.Error as e:
        raise UnavailableError(f"storage maintenance ({what}) failed: {e}") from e


def _strict(conn: Conn, what: str, run: Callable[[], T]) -> T:
    """Run one step in its own transaction; any failure, a busy lock included, raises."""
    try:
        return _guarded(conn, LOCK_TIMEOUT_S, what, run)
    except _BUSY as e:
        raise UnavailableError(f"storage maintenance ({what}): lock busy: {e}") from e


@contextmanager
def _autocommit(conn: Conn) -> Iterator[None]:
    """Run the block in autocommit mode (procedures that commit need it)."""
    if conn.autocommit:
        yield
        return
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise PipelineError(
            "this TimescaleDB call commits as it goes: use a connection outside a transaction"
        )
    conn.autocommit = True
    try:
        yield
    finally:
        conn.autocommit = False


def stale_streams(conn: Conn, stale_after_s: float) -> int:
    """Streams that reported in the last day but not in the last ``stale_after_s``.

    Read from the 15-minute availability aggregate (cheap at any scale), so a stream counts as
    stale once its newest bucket ended more than ``stale_after_s`` ago: detection lags by up to
    one bucket plus the aggregate's refresh interval.
    """
    found = _scalar(
        conn,
        "SELECT count(*) FROM (SELECT stream, max(bucket) AS newest FROM availability_15m"
        " WHERE bucket > now() - interval '1 day' GROUP BY stream) s"
        " WHERE newest + interval '15 minutes' < now() - make_interval(secs => %s)",
        (stale_after_s,),
    )
    return int(found or 0)
