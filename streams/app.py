"""The stream worker: a faust app with two agents and a registry follower.

- ``follow_registry`` (task): every worker reads the whole compacted registry topics (sites,
  needs, exchanges) into its matcher and ledger book, so a need registered while it runs is
  matched from then on. Agents start processing once the registry has been read to its end.
- ``ledger`` (agent): readings topic (batches keyed by stream) -> per-stream ledger ->
  ledger topic (compacted, keyed by stream). Window state lives in a changelog-backed table.
- ``alerts`` (agent): ledger topic -> matcher + lifecycle -> alerts topic. Lifecycle state
  lives in a changelog-backed table.

Both tables are keyed by stream id like their source topics, so partitions (and their state)
move together between workers; after a crash faust restores the tables from their changelogs
and replays uncommitted messages, which the ledger ignores (readings not newer than a meter's
newest) and the alert lifecycle turns into the same idempotency keys. Payloads are bytes on the
wire and :mod:`schemas` models in code (pydantic, not ``faust.Record``). Invalid input goes to
the rejected topic with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import faust
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from domain.errors import SymbiosisError
from domain.matching import Matcher
from runtime import metrics
from runtime.settings import Settings
from schemas.ledger import LedgerEntry
from schemas.readings import ReadingBatch
from schemas.rejections import Rejection
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.registry import RegistryView
from topics.kafka_admin import group_lag_by_topic
from topics.kafka_security import faust_broker_credentials, kafka_client_options

log = structlog.get_logger(__name__)

STAGE = "streams"
LAG_EVERY_S = 15.0  # each probe opens admin connections: keep it off the hot path

LEDGER_TABLE = "ledger-state"
ALERT_TABLE = "alert-state"


def changelog_topics(settings: Settings) -> list[str]:
    """Names of the changelog topics faust keeps for the worker's tables."""
    return [f"{settings.streams_group}-{t}-changelog" for t in (LEDGER_TABLE, ALERT_TABLE)]


def create_app(settings: Settings) -> faust.App:
    """Build the worker's faust app from ``settings`` (no environment reads).

    The app is wired from small parts: the registry follower task, the two agents and the lag
    timer, each defined by its own function around the plain stage objects of
    :class:`_Worker` (:class:`LedgerBook`, :class:`AlertBook`, :class:`RegistryView`).
    """
    app = _faust_app(settings)
    worker = _Worker.of(app, settings)
    _follow_registry(app, worker)
    _ledger_agent(app, worker)
    _alerts_agent(app, worker)
    _lag_timer(app, worker)
    t = settings.topics
    metrics.touch(STAGE, [t.readings, t.ledger, t.alerts, t.rejected])
    return app


def _faust_app(settings: Settings) -> faust.App:
    (settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)  # faust makes one level
    return faust.App(
        settings.streams_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=faust_broker_credentials(settings),
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
        datadir=str(settings.state_dir / "faust" / settings.streams_group),
        broker_commit_livelock_soft_timeout=60.0,
        consumer_max_fetch_size=8 * 1024 * 1024,  # batches are ~40 kB messages
        stream_buffer_maxsize=16_384,
        table_cleanup_interval=3600.0,
    )


@dataclass
class _Worker:
    """What the worker's tasks and agents share: topics, state tables, the stage objects."""

    settings: Settings
    options: dict[str, Any]
    readings: Any  # faust topics and tables (untyped library)
    ledger_topic: Any
    alerts_topic: Any
    rejected: Any
    ledger_state: Any
    alert_state: Any
    book: LedgerBook
    alert_book: AlertBook
    registry: RegistryView
    registry_ready: asyncio.Event

    @classmethod
    def of(cls, app: faust.App, settings: Settings) -> _Worker:
        """Declare the app's topics and tables; make the stage objects."""
        t = settings.topics

        def topic(name: str) -> Any:
            return app.topic(name, value_serializer="raw", key_serializer="raw")

        def table(name: str) -> Any:
            # bytes in, bytes out: the app's raw serializers apply to the tables' changelogs
            return app.Table(name, partitions=settings.partitions, key_type=bytes, value_type=bytes)

        matcher = Matcher()
        book = LedgerBook(settings.ledger_window_s, max_skew_s=settings.max_clock_skew_s)
        return cls(
            settings=settings, options=kafka_client_options(settings),
            readings=topic(t.readings), ledger_topic=topic(t.ledger),
            alerts_topic=topic(t.alerts), rejected=topic(t.rejected),
            ledger_state=table(LEDGER_TABLE), alert_state=table(ALERT_TABLE),
            book=book, alert_book=AlertBook(matcher, hysteresis=settings.alert_hysteresis),
            registry=RegistryView(t, matcher, book), registry_ready=asyncio.Event(),
        )  # fmt: skip

    async def reject(self, reason: str, payload: bytes | None, source: str) -> None:
        """Put one refused record on the rejected topic, with its reason and source."""
        item = Rejection.of(STAGE, source, reason, payload)
        await self.rejected.send(value=item.model_dump_json().encode())
        metrics.REJECTED.labels(STAGE).inc()
        metrics.EVENTS_OUT.labels(STAGE, self.settings.topics.rejected).inc()
        log.warning("streams.rejected", source=source, reason=reason[:200])


def _follow_registry(app: faust.App, w: _Worker) -> None:
    """Every worker reads the whole registry; agents start once it is read to its end."""
    t = w.settings.topics

    @app.task
    async def follow_registry() -> None:
        # No group: the consumer is assigned every partition of the registry topics.
        consumer = AIOKafkaConsumer(
            *t.registry(), bootstrap_servers=w.settings.kafka_bootstrap, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest", metadata_max_age_ms=5000,
            **w.options,
        )  # fmt: skip
        await consumer.start()
        try:
            ends: dict[TopicPartition, int] | None = None
            while True:
                polled = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in polled.items():
                    for rec in records:
                        for refused in w.registry.apply(tp.topic, rec.key, rec.value):
                            where = f"{tp.topic}/{tp.partition}/{rec.offset} ({refused.item_id})"
                            await w.reject(refused.reason, refused.payload, where)
                if w.registry_ready.is_set():
                    continue
                assigned = consumer.assignment()
                if {tp.topic for tp in assigned} != set(t.registry()):
                    log.info("registry.waiting_for_topics", assigned=sorted(map(str, assigned)))
                    continue
                if ends is None:
                    ends = await consumer.end_offsets(list(assigned))
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    w.registry_ready.set()
                    log.info("registry.ready", records=w.registry.applied,
                             pending_needs=len(w.registry.pending_needs))  # fmt: skip
        finally:
            await consumer.stop()


def _ledger_agent(app: faust.App, w: _Worker) -> None:
    """Readings (batches keyed by stream) -> per-stream ledger -> the ledger topic."""
    t = w.settings.topics

    @app.agent(w.readings)
    async def ledger(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await w.registry_ready.wait()
        async for event in stream.events():
            value: bytes = event.value
            metrics.EVENTS_IN.labels(STAGE, t.readings).inc()
            where = f"{t.readings}/{event.message.partition}/{event.message.offset}"
            try:
                batch = ReadingBatch.model_validate_json(value)
                key = batch.stream.encode()
                entry, snapshot = w.book.apply(batch, w.ledger_state.get(key))
            except (ValidationError, SymbiosisError) as e:
                await w.reject(str(e), value, where)
                continue
            except Exception as e:  # faust would ack and skip it silently: reject instead
                metrics.FAILURES.labels(STAGE, "internal").inc()
                log.exception("streams.ledger_failed", source=where)
                await w.reject(f"internal error: {e!r}", value, where)
                continue
            w.ledger_state[key] = snapshot
            await w.ledger_topic.send(key=key, value=entry.model_dump_json().encode())
            metrics.READINGS.labels(STAGE).inc(len(batch.readings))
            metrics.EVENTS_OUT.labels(STAGE, t.ledger).inc()
            metrics.saw_event_time(STAGE, entry.updated_at.timestamp())
            yield None


def _alerts_agent(app: faust.App, w: _Worker) -> None:
    """Ledger entries -> matcher and alert lifecycle -> the alerts topic."""
    t = w.settings.topics

    @app.agent(w.ledger_topic)
    async def alerts(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await w.registry_ready.wait()
        async for event in stream.events():
            metrics.EVENTS_IN.labels(STAGE, t.ledger).inc()
            where = f"{t.ledger}/{event.message.partition}/{event.message.offset}"
            try:
                entry = LedgerEntry.model_validate_json(event.value or b"")
                key = entry.stream.encode()
                emitted, snapshot = w.alert_book.apply(entry, w.alert_state.get(key))
            except (ValidationError, KeyError, SymbiosisError) as e:
                metrics.FAILURES.labels(STAGE, "alerting").inc()
                await w.reject(f"alerting failed: {e!r}", event.value, where)
                continue
            except Exception as e:  # faust would ack and skip it silently: reject instead
                metrics.FAILURES.labels(STAGE, "internal").inc()
                log.exception("streams.alerting_failed", source=where)
                await w.reject(f"internal error: {e!r}", event.value, where)
                continue
            # Output before state: wait until Kafka has every alert of this entry, then save
            # the lifecycle. A crash in between replays the entry and re-emits the same
            # idempotency keys (dropped downstream); the reverse order could lose an event.
            for alert in emitted:
                sent = await w.alerts_topic.send(key=key, value=alert.model_dump_json().encode())
                await sent
                metrics.EVENTS_OUT.labels(STAGE, t.alerts).inc()
                metrics.ALERTS.labels(alert.event.value).inc()
                log.info("alert.emitted", lifecycle=alert.event.value, stream=alert.stream,
                         need=alert.need)  # fmt: skip
            w.alert_state[key] = snapshot
            yield None


def _lag_timer(app: faust.App, w: _Worker) -> None:
    """Consumer lag of the worker's group, for the dashboards (never stops the worker)."""
    s = w.settings

    @app.timer(interval=LAG_EVERY_S)
    async def report_lag() -> None:
        loop = asyncio.get_running_loop()
        try:
            lag = await loop.run_in_executor(
                None, group_lag_by_topic, s.kafka_bootstrap, s.streams_group,
                [s.topics.readings, s.topics.ledger], w.options,
            )  # fmt: skip
        except KafkaError as e:
            log.warning("streams.lag_unavailable", error=str(e))
            return
        metrics.set_lag(s.streams_group, lag)
