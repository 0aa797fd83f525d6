"""The sink process: readings, ledger and alert topics -> PostgreSQL, exactly once.

Loop: poll records, decode and validate them (invalid ones go to the rejected topic), gather
rows until ``sink_batch_rows`` or ``sink_flush_s``, write them in one transaction
(:class:`~sinks.writer.PostgresWriter`), and only then commit the consumed offsets. A crash
between the database commit and the offset commit replays records whose rows are already
stored; the writer's ``ON CONFLICT DO NOTHING`` skips them, so every row is stored once.

One record can never stop the sink: a record that fails to decode, or that the write path
raises on for any reason other than a lost database connection, goes to the rejected topic with
the reason, and the others are stored. Offsets are committed only after every consumed record
is stored or its rejection acknowledged by Kafka.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import psycopg
import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import CommitFailedError, KafkaError
from psycopg.pq import TransactionStatus
from pydantic import ValidationError

from domain.errors import SymbiosisError, UnavailableError
from domain.wording import summary
from runtime import metrics
from runtime.probe_server import Heartbeat
from runtime.settings import Settings
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry
from schemas.ledger_wire import WireLedgerEntry, wire_ledger_entry
from schemas.offers import Offer
from schemas.readings import RECORD_SHAPES, BatchFields, ReadingsRecord
from schemas.readings_wire import wire_batches
from schemas.rejections import Rejection
from sinks import maintenance
from sinks.migrate import migrate
from sinks.writer import Batch, PostgresWriter, WriteResult
from topics.catalogue import decode, index
from topics.kafka_admin import group_lag_by_topic
from topics.kafka_security import kafka_client_options

log = structlog.get_logger(__name__)

STAGE = "sink"
LAG_EVERY_S = 15.0


@dataclass
class SinkStats:
    """Totals since the process started."""

    records: int = 0
    rejected: int = 0
    readings: int = 0
    ledger: int = 0
    alerts: int = 0
    offers: int = 0
    flushes: int = 0


@dataclass(frozen=True, slots=True)
class _Readings:
    """A valid readings record: its stream batches (models or their fast-decoded twins)."""

    batches: Sequence[BatchFields]
    count: int


@dataclass(frozen=True, slots=True)
class _Item:
    """One valid record waiting for the next flush."""

    source: str
    value: bytes
    model: _Readings | LedgerEntry | WireLedgerEntry | Alert | Offer

    @property
    def rows(self) -> int:
        return self.model.count if isinstance(self.model, _Readings) else 1


class _StopRequestedError(Exception):
    """Raised inside the write loop when asked to stop while the database is away."""


def _batch_of(items: list[_Item]) -> Batch:
    batch = Batch()
    for it in items:
        if isinstance(it.model, _Readings):
            for one in it.model.batches:
                batch.add_readings(one)
        elif isinstance(it.model, LedgerEntry | WireLedgerEntry):
            batch.add_ledger(it.model)
        elif isinstance(it.model, Offer):
            batch.add_offer(it.model)
        else:
            batch.add_alert(it.model)
    return batch


def _newest_event_time(items: list[_Item], refused: list[_Item]) -> float | None:
    """Unix time of the newest stored reading batch, for the freshness gauge; never raises.

    Each stream batch's last reading stands for it: historians send in time order, and a per-reading
    pass here would cost more than the gauge is worth. Refused records do not count.
    """
    skip = {id(it) for it in refused}
    newest: float | None = None
    for it in items:
        if not isinstance(it.model, _Readings) or id(it) in skip:
            continue
        try:
            t = max(b.readings[-1].ts for b in it.model.batches).timestamp()
        except (ArithmeticError, ValueError, OSError):  # the schema's window makes this moot
            continue
        if newest is None or t > newest:
            newest = t
    return newest


class Sink:
    """Consume the pipeline's topics and store them; see the module docstring for guarantees."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = SinkStats()
        self._stop = False
        t = settings.topics
        self._topics = index(t)
        # the labelled counters counted per record, looked up once (labels() costs a lock and
        # a tuple per call: 6 % of the sink's CPU on TEDA's shape)
        self._events_in = {name: metrics.EVENTS_IN.labels(STAGE, name) for name in self._topics}
        self._readings_in = metrics.READINGS.labels(STAGE)
        self._readings_topic = t.readings
        self._ledger_topic = t.ledger
        self._kafka_options = kafka_client_options(settings)
        self.consumer = KafkaConsumer(
            t.readings,
            t.ledger,
            t.alerts,
            t.offers,
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.sink_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            session_timeout_ms=int(settings.kafka_session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.kafka_session_timeout_s * 1000 / 3),
            fetch_max_bytes=64 * 1024 * 1024,
            **self._kafka_options,
        )
        self.rejects = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
            **self._kafka_options,
        )  # fmt: skip
        self._reject_futures: list[Any] = []
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.writer: PostgresWriter | None = None
        self.heartbeat = Heartbeat(max_age_s=120.0)
        """Beats every poll and every retry while the database is away (waiting is alive)."""

    def stop(self, *_: object) -> None:
        """Ask the loop to flush, commit and exit."""
        self._stop = True

    def _connect(self) -> PostgresWriter:
        if self.writer is None or self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.settings.database_url)
            self.writer = PostgresWriter(self.conn)
        return self.writer

    def _decode(self, topic: str, value: bytes | None, source: str) -> _Item | None:
        """Validate one record; invalid ones go to the rejected topic (``None`` returned).

        Any exception, not only a validation error, rejects the record: a payload that makes
        a validator raise something else (e.g. ``OverflowError`` converting an extreme
        timestamp to UTC) must not stop the sink on every restart.
        """
        model: _Readings | LedgerEntry | WireLedgerEntry | Alert | Offer | None
        try:
            model = self._fast(topic, value)
            if model is None:
                decoded = decode(self._topics, topic, value)
                if isinstance(decoded, ReadingsRecord):
                    model = _Readings(decoded.batches, decoded.readings)
                else:
                    assert isinstance(decoded, LedgerEntry | Alert | Offer)
                    model = decoded
        except ValidationError as e:
            payload = self._topics[topic].payload if topic in self._topics else None
            tags = RECORD_SHAPES if payload is ReadingsRecord else None
            self._reject(source, value, summary(e, model=payload, tags=tags))
            return None
        except Exception as e:  # noqa: BLE001 - any failure of one record rejects that record
            metrics.FAILURES.labels(STAGE, "decode_error").inc()
            self._reject(source, value, f"cannot decode: {type(e).__name__}: {e}")
            return None
        return _Item(source, value or b"", model)

    def _count_in(self, topic: str, records: int) -> None:
        """Count records consumed, once per partition and poll.

        A labelled counter takes a lock per call: per record it cost 5 % of the sink's CPU on
        TEDA's shape.
        """
        counted = self._events_in.get(topic)
        (counted if counted is not None else metrics.EVENTS_IN.labels(STAGE, topic)).inc(records)

    def _fast(self, topic: str, value: bytes | None) -> _Readings | WireLedgerEntry | None:
        """A readings or ledger record through its fast reader; ``None``: ask the models.

        The fast readers answer only with what the models would hold (``schemas/*_wire.py``).
        """
        if not value:
            return None
        if topic == self._readings_topic:
            wire = wire_batches(value)
            return None if wire is None else _Readings(wire, sum(len(b.readings) for b in wire))
        if topic == self._ledger_topic:
            return wire_ledger_entry(value)
        return None

    def _reject(self, source: str, value: bytes | None, reason: str) -> None:
        self.stats.rejected += 1
        metrics.REJECTED.labels(STAGE).inc()
        rejection = Rejection.of(STAGE, source, reason, value)
        self._reject_futures.append(
            self.rejects.send(self.settings.topics.rejected, rejection.model_dump_json().encode())
        )
        log.warning("sink.rejected", source=source, reason=reason[:200])

    def _write_retrying(self, batch: Batch) -> WriteResult:
        """Write one batch, waiting out database outages (until :meth:`stop`).

        Raises:
            _StopRequestedError: asked to stop while the database was away (nothing committed).
            psycopg.Error, InvalidRecordError: the database refused the data itself.
        """
        delay = 0.5
        while True:
            try:
                with metrics.DB_WRITE_SECONDS.time():
                    return self._connect().write(batch)
            except (psycopg.OperationalError, psycopg.InterfaceError, UnavailableError) as e:
                failure: Exception = e
            # the database is away: wait and retry
            metrics.FAILURES.labels(STAGE, "database_unavailable").inc()
            log.warning("sink.db_unavailable", error=str(failure).strip()[:200], retry_in_s=delay)
            if self.conn is not None:
                self.conn.close()
            self.writer = None
            if self._stop:
                raise _StopRequestedError from failure
            self.heartbeat.beat()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _write(self, items: list[_Item], refused: list[_Item] | None = None) -> WriteResult:
        """Write items; if the database or the write path refuses the data, reject the culprits.

        A record can be valid for the schema and still be refused (a NUL byte in a text, a
        timestamp out of range), or make the write path raise (any exception other than a lost
        connection, which :meth:`_write_retrying` waits out): the batch is split in halves until
        the refused records are isolated; they go to the rejected topic with the reason (and
        into ``refused``), the rest is stored.

        Raises:
            _StopRequestedError: asked to stop while the database was away.
        """
        try:
            return self._write_retrying(_batch_of(items))
        except _StopRequestedError:
            raise
        except Exception as e:  # noqa: BLE001 - isolate the records the write path raises on
            self._discard_dirty_connection()
            database = isinstance(e, psycopg.Error) or isinstance(e.__cause__, psycopg.Error)
            metrics.FAILURES.labels(STAGE, "database_refused" if database else "write_error").inc()
            if len(items) == 1:
                reason = (
                    f"the database refused it: {e}"
                    if database
                    else f"cannot be stored: {e if isinstance(e, SymbiosisError) else repr(e)}"
                )
                self._reject(items[0].source, items[0].value, reason)
                if refused is not None:
                    refused.append(items[0])
                return WriteResult(0, 0, 0, 0)
            mid = len(items) // 2
            first = self._write(items[:mid], refused)
            second = self._write(items[mid:], refused)
            return WriteResult(
                first.readings + second.readings,
                first.ledger + second.ledger,
                first.alerts + second.alerts,
                first.offers + second.offers,
            )

    def _discard_dirty_connection(self) -> None:
        """Drop the connection if a failed write left it inside a transaction or broken.

        The writer's transactions roll back on any exception, so this is a safety net: a
        connection in an odd state would make the next (innocent) write fail and be rejected.
        """
        conn = self.conn
        if conn is None or conn.closed:
            return
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.close()
            self.writer = None

    def _commit_retrying(self) -> None:
        """Commit the consumed offsets, waiting out a Kafka outage (until :meth:`stop`).

        The rows are stored before this is called, so a commit that never happens (stopped,
        or a rebalance took the partitions away) only makes their records be read again, and
        the natural keys keep them stored once.
        """
        delay = 0.5
        while True:
            try:
                self.consumer.commit()
                return
            except CommitFailedError as e:
                # A rebalance took partitions away: the new owner re-reads from the last commit.
                metrics.FAILURES.labels(STAGE, "commit_failed").inc()
                log.warning("sink.commit_failed", error=str(e)[:200])
                return
            except KafkaError as e:
                if not e.retriable:
                    raise
                failure = e
            metrics.FAILURES.labels(STAGE, "kafka_unavailable").inc()
            log.warning("sink.commit_retrying", error=str(failure)[:200], retry_in_s=delay)
            if self._stop:
                return  # stored; re-read after the restart
            self.heartbeat.beat()
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _flush(self, items: list[_Item]) -> None:
        """Store ``items`` (rejecting what the database refuses), then commit offsets."""
        refused: list[_Item] = []
        result = self._write(items, refused) if items else WriteResult(0, 0, 0, 0)
        self.rejects.flush()
        failed = [f.exception for f in self._reject_futures if f.failed()]
        self._reject_futures.clear()
        if failed:  # never commit past a rejection that did not reach its topic
            raise UnavailableError(
                f"{len(failed)} rejections were not accepted by Kafka: {failed[:3]}"
            )
        self._commit_retrying()
        for table, rows in (("readings", result.readings), ("ledger", result.ledger),
                            ("alerts", result.alerts), ("offers", result.offers)):  # fmt: skip
            metrics.ROWS_WRITTEN.labels(table).inc(rows)
        newest = _newest_event_time(items, refused)
        if newest is not None:
            metrics.saw_event_time(STAGE, newest)
        self.stats.readings += result.readings
        self.stats.ledger += result.ledger
        self.stats.alerts += result.alerts
        self.stats.offers += result.offers
        self.stats.flushes += 1

    def run(self) -> SinkStats:
        """Consume until :meth:`stop`; flushes and commits what it holds before returning."""
        migrate(self.settings.database_url)
        items: list[_Item] = []
        rows = 0  # rows held in items
        pending = 0  # records consumed since the last offset commit (incl. rejected ones)
        last_flush = last_lag = time.monotonic()
        last_maintenance = -math.inf  # once at start-up: partitions ahead, DEFAULT drained
        t = self.settings.topics
        metrics.touch(STAGE, [t.readings, t.ledger, t.alerts, t.offers])
        try:
            while not self._stop:
                self.heartbeat.beat()
                if time.monotonic() - last_lag >= LAG_EVERY_S:
                    last_lag = time.monotonic()
                    self._report_lag()
                if time.monotonic() - last_maintenance >= maintenance.RECOMMENDED_INTERVAL_S:
                    last_maintenance = time.monotonic()
                    self._maintain()
                polled = self.consumer.poll(timeout_ms=200)
                readings = 0
                for tp, records in polled.items():
                    self._count_in(tp.topic, len(records))
                    for rec in records:
                        pending += 1
                        item = self._decode(
                            tp.topic, rec.value, f"{tp.topic}/{tp.partition}/{rec.offset}"
                        )
                        if item is not None:
                            items.append(item)
                            rows += item.rows
                            if isinstance(item.model, _Readings):
                                readings += item.model.count
                if readings:
                    self._readings_in.inc(readings)
                due = time.monotonic() - last_flush >= self.settings.sink_flush_s
                if rows >= self.settings.sink_batch_rows or (due and pending):
                    self._flush(items)
                    self.stats.records += pending
                    items, rows, pending = [], 0, 0
                    last_flush = time.monotonic()
                elif due:
                    last_flush = time.monotonic()
            if pending:
                self._flush(items)
                self.stats.records += pending
        except _StopRequestedError:
            log.warning("sink.stopped_during_outage", uncommitted_records=pending)
        finally:
            self.consumer.close(autocommit=False)
            self.rejects.close()
            if self.conn is not None:
                self.conn.close()
        return self.stats

    def _maintain(self) -> None:
        """Partition and aggregate upkeep on plain PostgreSQL; the stale-streams gauge.

        Runs on its own short-lived connection, between flushes; a failure is logged and
        retried at the next interval, it never stops the sink.
        """
        try:
            with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
                report = maintenance.run_maintenance(conn)
                stale = maintenance.stale_streams(conn, self.settings.stale_after_s)
        except (psycopg.Error, SymbiosisError) as e:
            metrics.FAILURES.labels(STAGE, "maintenance").inc()
            log.warning("sink.maintenance_failed", error=str(e).strip()[:300])
            return
        metrics.STALE_STREAMS.set(stale)
        if report.partitions_created or report.partitions_dropped or report.aggregate_ranges:
            log.info("sink.maintenance", engine=report.engine, created=report.partitions_created,
                     dropped=len(report.partitions_dropped), aggregates=report.aggregate_ranges,
                     skipped=list(report.skipped))  # fmt: skip

    def _report_lag(self) -> None:
        t = self.settings.topics
        try:
            lag = group_lag_by_topic(
                self.settings.kafka_bootstrap, self.settings.sink_group,
                [t.readings, t.ledger, t.alerts, t.offers], self._kafka_options,
            )  # fmt: skip
        except KafkaError as e:  # lag is for dashboards: never stop the sink for it
            log.warning("sink.lag_unavailable", error=str(e))
            return
        metrics.set_lag(self.settings.sink_group, lag)


def run_sink(settings: Settings) -> SinkStats:
    """Run a sink until SIGTERM/SIGINT; returns its totals."""
    sink = Sink(settings)
    port, addr = settings.metrics_port, settings.metrics_host
    metrics.serve(port, process="sink", addr=addr, healthy=sink.heartbeat.healthy)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        sink.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stats = sink.run()
    log.info("sink.stopped", **vars(stats))
    return stats
