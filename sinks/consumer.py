"""The sink process: readings, ledger and alert topics -> PostgreSQL, exactly once.

Loop: poll records, decode and validate them (invalid ones go to the rejected topic), gather
rows until ``sink_batch_rows`` or ``sink_flush_s``, write them in one transaction
(:class:`~sinks.writer.PostgresWriter`), and only then commit the consumed offsets. A crash
between the database commit and the offset commit replays records whose rows are already
stored; the writer's ``ON CONFLICT DO NOTHING`` skips them, so every row is stored once.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

import psycopg
import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from pydantic import ValidationError

from schemas.alerts import Alert
from schemas.ledger import LedgerEntry
from schemas.readings import ReadingBatch
from schemas.rejections import Rejection
from sinks.migrate import migrate
from sinks.writer import Batch, PostgresWriter
from symbiosis import metrics
from symbiosis.kafka_admin import group_lag_by_topic
from symbiosis.settings import Settings

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
    flushes: int = 0


class Sink:
    """Consume the pipeline's topics and store them; see the module docstring for guarantees."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = SinkStats()
        self._stop = False
        t = settings.topics
        self.consumer = KafkaConsumer(
            t.readings,
            t.ledger,
            t.alerts,
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.sink_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        self.rejects = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.writer: PostgresWriter | None = None

    def stop(self, *_: object) -> None:
        """Ask the loop to flush, commit and exit."""
        self._stop = True

    def _connect(self) -> PostgresWriter:
        if self.writer is None or self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.settings.database_url)
            self.writer = PostgresWriter(self.conn)
        return self.writer

    def _decode(self, topic: str, value: bytes, source: str, batch: Batch) -> None:
        t = self.settings.topics
        metrics.EVENTS_IN.labels(STAGE, topic).inc()
        try:
            if topic == t.readings:
                readings = ReadingBatch.model_validate_json(value)
                batch.add_readings(readings)
                metrics.READINGS.labels(STAGE).inc(len(readings.readings))
            elif topic == t.ledger:
                batch.add_ledger(LedgerEntry.model_validate_json(value))
            elif topic == t.alerts:
                batch.add_alert(Alert.model_validate_json(value))
        except ValidationError as e:
            self._reject(source, value, str(e))

    def _reject(self, source: str, value: bytes, reason: str) -> None:
        self.stats.rejected += 1
        metrics.REJECTED.labels(STAGE).inc()
        rejection = Rejection(
            stage="sink",
            source=source,
            reason=reason[:4000],
            payload=value[:65_536].decode("utf-8", errors="replace"),
            ts=datetime.now(UTC),
        )
        self.rejects.send(self.settings.topics.rejected, rejection.model_dump_json().encode())
        log.warning("sink.rejected", source=source, reason=reason[:200])

    def _flush(self, batch: Batch) -> None:
        """Write the batch (retrying while the database is away), then commit offsets."""
        delay = 0.5
        while True:
            try:
                with metrics.DB_WRITE_SECONDS.time():
                    result = self._connect().write(batch)
                break
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                metrics.FAILURES.labels(STAGE, "database_unavailable").inc()
                log.warning("sink.db_unavailable", error=str(e).strip()[:200], retry_in_s=delay)
                if self.conn is not None:
                    self.conn.close()
                self.writer = None
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.rejects.flush()
        self.consumer.commit()
        for table, rows in (("readings", result.readings), ("ledger", result.ledger),
                            ("alerts", result.alerts)):  # fmt: skip
            metrics.ROWS_WRITTEN.labels(table).inc(rows)
        if batch.readings:
            metrics.saw_event_time(STAGE, max(r[1] for r in batch.readings).timestamp())
        self.stats.readings += result.readings
        self.stats.ledger += result.ledger
        self.stats.alerts += result.alerts
        self.stats.flushes += 1

    def run(self) -> SinkStats:
        """Consume until :meth:`stop`; flushes and commits what it holds before returning."""
        migrate(self.settings.database_url)
        batch = Batch()
        pending = 0  # records consumed since the last offset commit
        last_flush = last_lag = time.monotonic()
        t = self.settings.topics
        metrics.touch(STAGE, [t.readings, t.ledger, t.alerts])
        try:
            while not self._stop:
                if time.monotonic() - last_lag >= LAG_EVERY_S:
                    last_lag = time.monotonic()
                    self._report_lag()
                polled = self.consumer.poll(timeout_ms=200)
                for tp, records in polled.items():
                    for rec in records:
                        pending += 1
                        source = f"{tp.topic}/{tp.partition}/{rec.offset}"
                        self._decode(tp.topic, rec.value, source, batch)
                due = time.monotonic() - last_flush >= self.settings.sink_flush_s
                if len(batch) >= self.settings.sink_batch_rows or (due and pending):
                    self._flush(batch)
                    self.stats.records += pending
                    batch, pending = Batch(), 0
                    last_flush = time.monotonic()
                elif due:
                    last_flush = time.monotonic()
            if pending:
                self._flush(batch)
                self.stats.records += pending
        finally:
            self.consumer.close(autocommit=False)
            self.rejects.close()
            if self.conn is not None:
                self.conn.close()
        return self.stats

    def _report_lag(self) -> None:
        t = self.settings.topics
        try:
            lag = group_lag_by_topic(
                self.settings.kafka_bootstrap, self.settings.sink_group,
                [t.readings, t.ledger, t.alerts],
            )  # fmt: skip
        except KafkaError as e:  # lag is for dashboards: never stop the sink for it
            log.warning("sink.lag_unavailable", error=str(e))
            return
        metrics.set_lag(self.settings.sink_group, lag)


def run_sink(settings: Settings) -> SinkStats:
    """Run a sink until SIGTERM/SIGINT; returns its totals."""
    metrics.serve(settings.metrics_port)
    sink = Sink(settings)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        sink.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stats = sink.run()
    log.info("sink.stopped", **vars(stats))
    return stats
